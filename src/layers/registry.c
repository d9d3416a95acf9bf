/* Owns the one table of layer kinds. Keras class names, plus the R keras function
 * names (layer_dense, ...) so R users can keep their spelling. */
#include <string.h>

#include "nntrain/layer.h"

extern const nn_layer_ops nn_dense_ops, nn_conv2d_ops, nn_maxpool2d_ops,
    nn_dropout_ops, nn_flatten_ops, nn_activation_ops;
extern const nn_layer_ops nn_conv2d_transpose_ops, nn_upsampling2d_ops;
extern const nn_layer_ops nn_embedding_ops, nn_simple_rnn_ops, nn_lstm_ops;
extern const nn_layer_ops nn_rescaling_ops, nn_batchnorm_ops;
extern const nn_layer_ops nn_avgpool2d_ops, nn_global_avgpool2d_ops, nn_global_maxpool2d_ops,
    nn_zero_padding2d_ops;
extern const nn_layer_ops nn_leaky_relu_ops, nn_relu_ops, nn_softmax_ops, nn_reshape_ops;
extern const nn_layer_ops nn_add_ops, nn_subtract_ops, nn_multiply_ops, nn_average_ops,
    nn_maximum_ops, nn_minimum_ops, nn_concatenate_ops;

static const struct {
    const char *name, *r_name;
    const nn_layer_ops *ops;
} table[] = {
    {"Dense", "layer_dense", &nn_dense_ops},
    {"Conv2D", "layer_conv_2d", &nn_conv2d_ops},
    {"MaxPooling2D", "layer_max_pooling_2d", &nn_maxpool2d_ops},
    {"Dropout", "layer_dropout", &nn_dropout_ops},
    {"Flatten", "layer_flatten", &nn_flatten_ops},
    {"Activation", "layer_activation", &nn_activation_ops},
    {"Conv2DTranspose", "layer_conv_2d_transpose", &nn_conv2d_transpose_ops},
    {"UpSampling2D", "layer_upsampling_2d", &nn_upsampling2d_ops},
    {"Embedding", "layer_embedding", &nn_embedding_ops},
    {"SimpleRNN", "layer_simple_rnn", &nn_simple_rnn_ops},
    {"LSTM", "layer_lstm", &nn_lstm_ops},
    {"Rescaling", "layer_rescaling", &nn_rescaling_ops},
    {"AveragePooling2D", "layer_average_pooling_2d", &nn_avgpool2d_ops},
    {"GlobalAveragePooling2D", "layer_global_average_pooling_2d", &nn_global_avgpool2d_ops},
    {"GlobalMaxPooling2D", "layer_global_max_pooling_2d", &nn_global_maxpool2d_ops},
    {"ZeroPadding2D", "layer_zero_padding_2d", &nn_zero_padding2d_ops},
    {"LeakyReLU", "layer_activation_leaky_relu", &nn_leaky_relu_ops},
    {"ReLU", "layer_activation_relu", &nn_relu_ops},
    {"Softmax", "layer_activation_softmax", &nn_softmax_ops},
    {"Reshape", "layer_reshape", &nn_reshape_ops},
    {"BatchNormalization", "layer_batch_normalization", &nn_batchnorm_ops},
    {"Add", "layer_add", &nn_add_ops},
    {"Subtract", "layer_subtract", &nn_subtract_ops},
    {"Multiply", "layer_multiply", &nn_multiply_ops},
    {"Average", "layer_average", &nn_average_ops},
    {"Maximum", "layer_maximum", &nn_maximum_ops},
    {"Minimum", "layer_minimum", &nn_minimum_ops},
    {"Concatenate", "layer_concatenate", &nn_concatenate_ops},
};

/* Keras's functional spellings of the merge layers: add([a, b]) is
 * Add()([a, b]). */
static const struct {
    const char *fn;
    const nn_layer_ops *ops;
} merge_fns[] = {
    {"add", &nn_add_ops},         {"subtract", &nn_subtract_ops},
    {"multiply", &nn_multiply_ops}, {"average", &nn_average_ops},
    {"maximum", &nn_maximum_ops}, {"minimum", &nn_minimum_ops},
    {"concatenate", &nn_concatenate_ops},
};

const nn_layer_ops *nn_layer_find(const char *kind)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(kind, table[i].name) || !strcmp(kind, table[i].r_name))
            return table[i].ops;
    if (!strcmp(kind, "MaxPool2D"))   /* Keras alias */
        return &nn_maxpool2d_ops;
    if (!strcmp(kind, "Convolution2D"))
        return &nn_conv2d_ops;
    if (!strcmp(kind, "AvgPool2D"))   /* Keras aliases of the pooling layers */
        return &nn_avgpool2d_ops;
    if (!strcmp(kind, "GlobalAvgPool2D"))
        return &nn_global_avgpool2d_ops;
    if (!strcmp(kind, "GlobalMaxPool2D"))
        return &nn_global_maxpool2d_ops;
    for (size_t i = 0; i < sizeof merge_fns / sizeof merge_fns[0]; i++)
        if (!strcmp(kind, merge_fns[i].fn))
            return merge_fns[i].ops;
    return NULL;
}

const char *nn_layer_known(void)
{
    return "Dense, Conv2D, MaxPooling2D, Dropout, Flatten, Activation, Conv2DTranspose, "
           "UpSampling2D, Embedding, SimpleRNN, LSTM, Rescaling, AveragePooling2D, "
           "GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, LeakyReLU, ReLU, "
           "Softmax, Reshape, BatchNormalization, Add, Subtract, Multiply, Average, Maximum, "
           "Minimum, Concatenate";
}

const char *nn_layer_name_at(int i, int r_name)
{
    if (i < 0 || (size_t)i >= sizeof table / sizeof table[0])
        return NULL;
    return r_name ? table[i].r_name : table[i].name;
}
