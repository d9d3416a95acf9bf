/* Drawing on RGB canvases for `nntrain analyze` (src/cli/draw.c): images
 * upscaled by nearest neighbour, captions in a 5x7 bitmap font (upper case:
 * lower case letters are drawn as capitals, other characters as '?'), and
 * the blue-white-red colour map shared by the weight tiles and their legend,
 * so that the two cannot disagree. */
#ifndef NNTRAIN_CLI_DRAW_H
#define NNTRAIN_CLI_DRAW_H

#include <stdint.h>

#include "nntrain/tensor.h"

typedef struct cli_canvas {
    uint8_t *px;          /* (h, w, 3) */
    int w, h;
} cli_canvas;

enum { CLI_GLYPH_W = 5, CLI_GLYPH_H = 7 };

/* Blue (-1) .. white (0) .. red (+1); NaN as 0, values clipped to [-1, 1]:
 * f = round(255 (1 - |v|)), v < 0: (f, f, 255), v > 0: (255, f, f). */
void cli_diverging(float v, uint8_t rgb[3]);

/* A canvas of w x h filled with rgb (NULL px after a failed malloc). */
cli_canvas cli_canvas_new(int w, int h, const uint8_t rgb[3]);
void cli_fill(cli_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]);
/* Draws s at (x, y) (top left), each font pixel scale x scale; clipped at
 * the canvas edges. Returns the width drawn: cli_text_width(s, scale). */
int cli_text(cli_canvas *c, int x, int y, int scale, const uint8_t rgb[3], const char *s);
int cli_text_width(const char *s, int scale);
/* Model-input floats (H, W, C) in [0, 1] at (x, y), upscaled by scale: grey
 * for C = 1 or 2 (grey + alpha), the first three channels otherwise. */
void cli_draw_image(cli_canvas *c, int x, int y, const float *src, const nn_shape *img,
                    int scale);

#endif
