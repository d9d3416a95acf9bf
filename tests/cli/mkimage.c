/* Test helper for tests/cli/eval_predict.sh: writes a small deterministic
 * image (a gradient plus seeded noise) with stb_image_write, as JPEG or PNG
 * by the file's extension, so the CLI tests need no image tools. PATTERN
 * (default 0) picks the gradient: 0 left to right, 1 top to bottom, 2
 * diagonal stripes, so that images of different patterns are separable.
 *   usage: mkimage OUT.jpg|OUT.png WIDTH HEIGHT CHANNELS SEED [PATTERN] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: mkimage OUT.jpg|OUT.png WIDTH HEIGHT CHANNELS SEED [PATTERN]\n");
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), c = atoi(argv[4]);
    int pat = argc == 7 ? atoi(argv[6]) : 0;
    uint32_t s = (uint32_t)strtoul(argv[5], NULL, 10) * 2654435761u + 1u;
    if (w < 1 || h < 1 || w > 4096 || h > 4096 || c < 1 || c > 4) {
        fprintf(stderr, "mkimage: bad size %dx%dx%d\n", w, h, c);
        return 2;
    }
    uint8_t *px = malloc((size_t)w * (size_t)h * (size_t)c);
    if (!px)
        return 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                s = s * 1664525u + 1013904223u;   /* LCG noise */
                int g = pat == 1 ? y * 255 / h : pat == 2 ? ((x + y) % 4) * 80 : x * 255 / w;
                int v = (g + k * 60) % 256 + (int)(s >> 27) - 16;
                px[((size_t)y * (size_t)w + (size_t)x) * (size_t)c + (size_t)k] =
                    (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    const char *dot = strrchr(argv[1], '.');
    int ok = dot && !strcmp(dot, ".png") ? stbi_write_png(argv[1], w, h, c, px, w * c)
                                         : stbi_write_jpg(argv[1], w, h, c, px, 90);
    free(px);
    if (!ok) {
        fprintf(stderr, "mkimage: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
