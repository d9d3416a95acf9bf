#!/usr/bin/env python3
"""Writes jobs/models/resnet*.nn: Keras's ResNet v1 for CIFAR-10 as
keras/examples/cifar10_resnet.py builds it (resnet_v1(): a 3x3 conv + BN +
ReLU stem, three stacks of n residual blocks of two 3x3 conv + BN layers
with 16, 32 and 64 filters, a strided 1x1 conv shortcut where a stack
starts, add + ReLU, 8x8 average pooling, softmax), unrolled into the
functional lines nntrain reads (the script's loops and resnet_layer()
helper cannot be pasted as they are). Depth = 6n + 2: 20 (n = 3) and 56
(n = 9); and ResNet20 on 28x28x1 (Fashion-MNIST: 7x7 pooling).

    /usr/bin/python3 scripts/gen_resnet_spec.py      # rewrites the files
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def conv(out, src, filters, k=3, strides=1):
    s = f", strides={strides}" if strides != 1 else ""
    return (f'{out} = Conv2D({filters}, {k}{s}, padding="same", kernel_initializer="he_normal", '
            f'kernel_regularizer=l2(1e-4))({src})')


def resnet_layer(lines, out, src, filters, k=3, strides=1, bn=True, act="relu"):
    """cifar10_resnet.py's resnet_layer(), conv_first=True."""
    lines.append(conv(out, src, filters, k, strides))
    if bn:
        lines.append(f"{out} = BatchNormalization()({out})")
    if act:
        lines.append(f'{out} = Activation("{act}")({out})')


def resnet_v1(n, shape, pool, header, optimizer):
    lines = [f"# {l}" if l else "#" for l in header]
    lines.append(f"inputs = Input(shape={shape})")
    resnet_layer(lines, "x", "inputs", 16)
    filters = 16
    for stack in range(3):
        for block in range(n):
            strides = 2 if stack > 0 and block == 0 else 1
            lines.append(f"# stack {stack + 1}, block {block + 1}")
            resnet_layer(lines, "y", "x", filters, strides=strides)
            resnet_layer(lines, "y", "y", filters, act=None)
            if stack > 0 and block == 0:   # the shortcut matches the new shape
                resnet_layer(lines, "x", "x", filters, k=1, strides=strides, bn=False, act=None)
            lines.append("x = add([x, y])")
            lines.append('x = Activation("relu")(x)')
        filters *= 2
    lines.append(f"x = AveragePooling2D(pool_size={pool})(x)")
    lines.append("y = Flatten()(x)")
    lines.append('outputs = Dense(10, activation="softmax", kernel_initializer="he_normal")(y)')
    lines.append("model = Model(inputs=inputs, outputs=outputs)")
    lines.append('model.compile(loss="sparse_categorical_crossentropy", '
                 'optimizer=' + optimizer + ', metrics=["accuracy"])')
    return lines


def main():
    adam = "Adam(learning_rate=0.001)"
    plain = ["The Keras script's learning-rate schedule (lr_schedule, ReduceLROnPlateau) is",
             "not here: Adam at 1e-3 throughout."]
    # 422 steps an epoch (54,000 rows at batch 128): 1e-3 for 3 epochs, 1e-4 for the 4th.
    # The last epoch at a tenth of the rate lets BatchNormalization's moving statistics
    # catch up with the weights, so held-out accuracy stops swinging by points between
    # runs: the accuracy comparisons of precisions and convolution algorithms use it.
    decay = "Adam(learning_rate=PiecewiseConstantDecay(boundaries=[1266], values=[1e-3, 1e-4]))"
    decayed = ["Adam at 1e-3 for 3 epochs, then 1e-4 (the step schedule of Keras's script, shortened):",
               "for accuracy comparisons (scripts/accuracy_modes.sh)."]
    specs = [
        ("resnet20.nn", 3, (32, 32, 3), 8, "274,442 (trainable 273,066, non-trainable 1,376)",
         ["fit(batch_size=32, epochs=200)",
          "ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)"]),
        ("resnet56.nn", 9, (32, 32, 3), 8, "861,770 (trainable 857,706, non-trainable 4,064)",
         ["fit(batch_size=32, epochs=200)",
          "ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)"]),
        ("resnet20_fashion.nn", 3, (28, 28, 1), 7, "274,154 (trainable 272,778, non-trainable 1,376)",
         ["fit(batch_size=128, epochs=10, validation_split=0.1)"]),
        ("resnet20_fashion_decay.nn", 3, (28, 28, 1), 7, "274,154 (trainable 272,778, non-trainable 1,376)",
         ["fit(batch_size=128, epochs=4, validation_split=0.1)"], decay, decayed),
    ]
    for spec in specs:
        name, n, shape, pool, count, tail = spec[:6]
        optimizer, note = spec[6:] if len(spec) > 6 else (adam, plain)
        depth = 6 * n + 2
        header = [f"ResNet{depth} v1 (Keras's cifar10_resnet.py, resnet_v1(depth={depth})) "
                  f"on {shape[0]}x{shape[1]}x{shape[2]} inputs.",
                  f"Keras's count: {count} parameters.",
                  "Written by scripts/gen_resnet_spec.py: edit that, not this file."] + note
        lines = resnet_v1(n, shape, pool, header, optimizer) + tail
        with open(os.path.join(ROOT, "jobs", "models", name), "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
