/* Fuzz target: the image-folder loader (nn_images_load over stb_image):
 * corrupt JPEG/PNG/BMP bytes in a one-file class folder, next to a valid
 * 4x4 PNG so that the size checks between images run too.
 * Input: one options byte (bit 0: resize to 8x6; bits 1-2: channels 0, 1,
 * 3, 4; bit 3: dedupe; bit 4: the valid image comes first), then the
 * image file. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"
#include "nntrain/images.h"

/* A valid 4x4 grey PNG (no filter, stored deflate). */
static const uint8_t png4[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x00,
    0x00, 0x8c, 0x9a, 0xc1, 0xa2, 0x00, 0x00, 0x00, 0x1f, 0x49, 0x44, 0x41, 0x54, 0x78,
    0x01, 0x01, 0x14, 0x00, 0xeb, 0xff, 0x00, 0x00, 0x10, 0x20, 0x30, 0x00, 0x40, 0x50,
    0x60, 0x70, 0x00, 0x80, 0x90, 0xa0, 0xb0, 0x00, 0xc0, 0xd0, 0xe0, 0xf0, 0x30, 0xd4,
    0x07, 0x81, 0xfb, 0xf7, 0x9c, 0x06, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned opt = data[0];
    data++, size--;
    static const int chans[4] = {0, 1, 3, 4};
    nn_images_opts o = {.h = opt & 1 ? 8 : 0, .w = opt & 1 ? 6 : 0,
                        .channels = chans[(opt >> 1) & 3], .dedupe = (opt >> 3) & 1};
    nn_fuzz_rmdir("img");
    mkdir(nn_fuzz_path(0, "img"), 0700);
    /* sorted by name: a.png before b.png, or the other way round (an image
     * name: other files are skipped without being decoded) */
    nn_fuzz_write(nn_fuzz_path(1, opt & 16 ? "img/a.png" : "img/c.png"), png4, sizeof png4);
    nn_fuzz_write(nn_fuzz_path(2, "img/b.png"), data, size);
    nn_image_class cls = {nn_fuzz_path(0, "img"), "fuzz"};
    nn_images im;
    nn_error e = {0};
    int rc = nn_images_load(&cls, 1, &o, &im, &e);
    nn_fuzz_check(rc, &e, "nn_images_load");
    if (!rc) {
        if (im.n < 1 || im.n > 2 || im.h < 1 || im.w < 1 || im.c < 1 || im.c > 4 || !im.x ||
            !im.report || (o.h && (im.h != 8 || im.w != 6)) || (o.channels && im.c != o.channels))
            nn_fuzz_fail("nn_images_load: %zu images of %dx%dx%d", im.n, im.h, im.w, im.c);
        /* every pixel is initialised (MSan/valgrind would see it; here a sum) */
        volatile unsigned sum = 0;
        for (size_t i = 0; i < im.n * (size_t)im.h * im.w * im.c; i++)
            sum += im.x[i];
        (void)sum;
        nn_images_free(&im);
    }
    return 0;
}
