/* RGB canvases for analyze (see draw.h). The font is drawn here as ASCII
 * art, one glyph per line, rows top to bottom separated by '|'. */
#include "draw.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    char c;
    const char *rows;
} font[] = {
    {'A', " ### |#   #|#   #|#####|#   #|#   #|#   #"},
    {'B', "#### |#   #|#   #|#### |#   #|#   #|#### "},
    {'C', " ### |#   #|#    |#    |#    |#   #| ### "},
    {'D', "#### |#   #|#   #|#   #|#   #|#   #|#### "},
    {'E', "#####|#    |#    |#### |#    |#    |#####"},
    {'F', "#####|#    |#    |#### |#    |#    |#    "},
    {'G', " ### |#   #|#    |# ###|#   #|#   #| ####"},
    {'H', "#   #|#   #|#   #|#####|#   #|#   #|#   #"},
    {'I', " ### |  #  |  #  |  #  |  #  |  #  | ### "},
    {'J', "  ###|   # |   # |   # |   # |#  # | ##  "},
    {'K', "#   #|#  # |# #  |##   |# #  |#  # |#   #"},
    {'L', "#    |#    |#    |#    |#    |#    |#####"},
    {'M', "#   #|## ##|# # #|# # #|#   #|#   #|#   #"},
    {'N', "#   #|#   #|##  #|# # #|#  ##|#   #|#   #"},
    {'O', " ### |#   #|#   #|#   #|#   #|#   #| ### "},
    {'P', "#### |#   #|#   #|#### |#    |#    |#    "},
    {'Q', " ### |#   #|#   #|#   #|# # #|#  # | ## #"},
    {'R', "#### |#   #|#   #|#### |# #  |#  # |#   #"},
    {'S', " ####|#    |#    | ### |    #|    #|#### "},
    {'T', "#####|  #  |  #  |  #  |  #  |  #  |  #  "},
    {'U', "#   #|#   #|#   #|#   #|#   #|#   #| ### "},
    {'V', "#   #|#   #|#   #|#   #|#   #| # # |  #  "},
    {'W', "#   #|#   #|#   #|# # #|# # #|# # #| # # "},
    {'X', "#   #|#   #| # # |  #  | # # |#   #|#   #"},
    {'Y', "#   #|#   #| # # |  #  |  #  |  #  |  #  "},
    {'Z', "#####|    #|   # |  #  | #   |#    |#####"},
    {'0', " ### |#   #|#  ##|# # #|##  #|#   #| ### "},
    {'1', "  #  | ##  |  #  |  #  |  #  |  #  | ### "},
    {'2', " ### |#   #|    #|   # |  #  | #   |#####"},
    {'3', "#####|   # |  #  |   # |    #|#   #| ### "},
    {'4', "   # |  ## | # # |#  # |#####|   # |   # "},
    {'5', "#####|#    |#### |    #|    #|#   #| ### "},
    {'6', "  ## | #   |#    |#### |#   #|#   #| ### "},
    {'7', "#####|    #|   # |  #  | #   | #   | #   "},
    {'8', " ### |#   #|#   #| ### |#   #|#   #| ### "},
    {'9', " ### |#   #|#   #| ####|    #|   # | ##  "},
    {'.', "     |     |     |     |     | ##  | ##  "},
    {',', "     |     |     |     | ##  |  #  | #   "},
    {':', "     | ##  | ##  |     | ##  | ##  |     "},
    {'-', "     |     |     |#####|     |     |     "},
    {'_', "     |     |     |     |     |     |#####"},
    {'=', "     |     |#####|     |#####|     |     "},
    {'+', "     |  #  |  #  |#####|  #  |  #  |     "},
    {'(', "   # |  #  | #   | #   | #   |  #  |   # "},
    {')', " #   |  #  |   # |   # |   # |  #  | #   "},
    {'<', "   # |  #  | #   |#    | #   |  #  |   # "},
    {'>', " #   |  #  |   # |    #|   # |  #  | #   "},
    {'/', "     |    #|   # |  #  | #   |#    |     "},
    {'|', "  #  |  #  |  #  |  #  |  #  |  #  |  #  "},
    {'%', "##   |##  #|   # |  #  | #   |#  ##|   ##"},
    {'#', " # # | # # |#####| # # |#####| # # | # # "},
    {'\'', "  #  |  #  |     |     |     |     |     "},
    {'?', " ### |#   #|    #|   # |  #  |     |  #  "},
    {' ', "     |     |     |     |     |     |     "},
};

static const char *glyph(char ch)
{
    char u = (char)toupper((unsigned char)ch);
    for (size_t i = 0; i < sizeof font / sizeof *font; i++)
        if (font[i].c == u)
            return font[i].rows;
    return glyph('?');
}

void cli_diverging(float v, uint8_t rgb[3])
{
    v = v != v ? 0.0f : v < -1 ? -1.0f : v > 1 ? 1.0f : v;
    uint8_t f = (uint8_t)lrintf(255.0f * (1.0f - fabsf(v)));
    rgb[0] = v < 0 ? f : 255;
    rgb[1] = f;
    rgb[2] = v > 0 ? f : 255;
}

cli_canvas cli_canvas_new(int w, int h, const uint8_t rgb[3])
{
    cli_canvas c = {malloc((size_t)w * (size_t)h * 3), w, h};
    if (c.px)
        cli_fill(&c, 0, 0, w, h, rgb);
    return c;
}

void cli_fill(cli_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3])
{
    for (int r = y < 0 ? 0 : y; r < y + h && r < c->h; r++)
        for (int k = x < 0 ? 0 : x; k < x + w && k < c->w; k++)
            memcpy(c->px + ((size_t)r * (size_t)c->w + (size_t)k) * 3, rgb, 3);
}

int cli_text_width(const char *s, int scale)
{
    size_t n = strlen(s);
    return n ? (int)n * (CLI_GLYPH_W + 1) * scale - scale : 0;
}

int cli_text(cli_canvas *c, int x, int y, int scale, const uint8_t rgb[3], const char *s)
{
    for (int i = 0; s[i]; i++) {
        const char *g = glyph(s[i]);
        int x0 = x + i * (CLI_GLYPH_W + 1) * scale;
        for (int r = 0; r < CLI_GLYPH_H; r++)
            for (int k = 0; k < CLI_GLYPH_W; k++)
                if (g[r * (CLI_GLYPH_W + 1) + k] == '#')
                    cli_fill(c, x0 + k * scale, y + r * scale, scale, scale, rgb);
    }
    return cli_text_width(s, scale);
}

void cli_draw_image(cli_canvas *c, int x, int y, const float *src, const nn_shape *img,
                    int scale)
{
    int H = img->d[0], W = img->d[1], C = img->d[2];
    for (int r = 0; r < H * scale && y + r < c->h; r++)
        for (int k = 0; k < W * scale && x + k < c->w; k++) {
            const float *s = src + ((size_t)(r / scale) * (size_t)W + (size_t)(k / scale)) * C;
            uint8_t *d = c->px + ((size_t)(y + r) * (size_t)c->w + (size_t)(x + k)) * 3;
            for (int ch = 0; ch < 3; ch++) {
                float v = s[C >= 3 ? ch : 0];
                v = v != v ? 0.0f : v < 0 ? 0.0f : v > 1 ? 1.0f : v;
                d[ch] = (uint8_t)lrintf(v * 255.0f);
            }
        }
}
