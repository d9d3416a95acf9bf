/* The one translation unit that compiles the stb single-file libraries
 * (Debian libstb-dev headers): stb_image decodes JPEG/PNG/BMP for the image
 * converter, stb_image_resize scales images to --size, stb_image_write
 * writes the augment-preview PNG. Everything else includes the headers for
 * their declarations only. The warnings stb triggers under -Wall -Wextra
 * are silenced here, and only here, so that -Werror builds stay clean. */
#define _POSIX_C_SOURCE 200809L

#pragma GCC diagnostic push
/* None of these fire with Debian 12's stb and GCC 12 / clang 14 today; they
 * are the ones older and newer stb releases are known to trigger. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#pragma GCC diagnostic pop
