/* Image folders -> uint8 NHWC arrays (see images.h). One pass over the files
 * in a fixed order (folders as given, names sorted by strcmp): read the
 * bytes, hash them (FNV-1a 64 plus the length, confirmed byte by byte on a
 * match) to find duplicates, decode with stb_image straight into the output
 * array (converting channels and resizing as asked), then drop duplicates if
 * asked and compact. Every file is decoded, copies included, so a corrupt
 * file is always reported. Library code: errors are values, no printing. */
#define _POSIX_C_SOURCE 200809L
#include "nntrain/images.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image.h>
#include <stb_image_resize.h>

#include "nntrain/hash.h"
#include "nntrain/rng.h"
#include "nntrain/strbuf.h"
#include "image_list.h"

#define MAX_LISTED 10      /* cross-class groups named in the report */
/* Larger images are refused before stb_image allocates for them: a header
 * of a few bytes can claim 16384 x 16384 and more (found by fuzzing: a
 * corrupt GIF made stb_image allocate and clear > 2 GB). 64 megapixels is
 * 8192 x 8192, far above what a network here trains on. */
#define MAX_PIXELS ((size_t)1 << 26)

typedef struct entry {
    char *path;            /* "DIR/name" */
    size_t base;           /* offset of name in path */
    int cls;
    uint64_t hash;
    size_t size;
    size_t group;          /* index of the first entry with the same bytes */
} entry;

/* Reads a whole file; *buf is malloc'd. */
static int read_all(const char *path, uint8_t **buf, size_t *len, nn_error *e)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_err(e, NN_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return nn_err(e, NN_EIO, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (st.st_size > INT_MAX) {
        fclose(f);
        return nn_err(e, NN_EFORMAT, "%s: %lld bytes is too large for an image file", path,
                      (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        fclose(f);
        return nn_err(e, NN_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(b, 1, n, f);
    int err = ferror(f);
    fclose(f);
    if (got != n || err) {
        free(b);
        return nn_err(e, NN_EIO, "%s: read %zu of %zu bytes", path, got, n);
    }
    *buf = b;
    *len = n;
    return NN_OK;
}

/* The format a file claims by its first bytes, for messages. */
static const char *magic(const uint8_t *b, size_t n)
{
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "JPEG";
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
        return "PNG";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M')
        return "BMP";
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6)))
        return "GIF";
    return NULL;
}

static int decode_error(const char *path, const uint8_t *b, size_t n, const char *reason,
                        nn_error *e)
{
    const char *fmt = magic(b, n);
    if (!n)
        return nn_err(e, NN_EFORMAT, "%s: empty file, not an image", path);
    if (fmt)
        return nn_err(e, NN_EFORMAT, "%s: cannot decode this %s file (stb_image: %s): it is "
                      "truncated or corrupt", path, fmt, reason ? reason : "unknown error");
    return nn_err(e, NN_EFORMAT, "%s: not an image (stb_image: %s); expected JPEG, PNG or BMP",
                  path, reason ? reason : "unknown error");
}

/* Lists the image files of one class folder (sorted), appending to *ents. */
static int list_dir(const nn_image_class *k, int cls, entry **ents, size_t *n, size_t *cap,
                    img_skips *sk, nn_error *e)
{
    char **paths;
    size_t np;
    img_skips here = {0};   /* this folder's, then added to *sk */
    int rc = img_list_files(k->dir, &paths, &np, &here, e);
    if (rc) {
        free(here.example);
        return k->label[0] ? nn_err_prefix(e, "class '%s'", k->label) : rc;
    }
    char cls_txt[300] = "";
    if (k->label[0])
        snprintf(cls_txt, sizeof cls_txt, " for class '%s'", k->label);
    if (np == 0 && here.nother)
        rc = nn_err(e, NN_EINVAL, "%s: no image files%s (%zu other file%s, e.g. %s; expected "
                    "JPEG, PNG, BMP, GIF, ...)", k->dir, cls_txt, here.nother,
                    here.nother == 1 ? "" : "s", here.example);
    else if (np == 0)
        rc = nn_err(e, NN_EINVAL, "%s: empty folder: no image files%s", k->dir, cls_txt);
    sk->nother += here.nother;
    sk->nhidden += here.nhidden;
    sk->ndirs += here.ndirs;
    if (here.example && (!sk->example || strcmp(here.example, sk->example) < 0)) {
        free(sk->example);
        sk->example = here.example;
    } else {
        free(here.example);
    }
    for (size_t i = 0; i < np; i++) {
        if (!rc && *n == *cap) {
            size_t c2 = *cap ? 2 * *cap : 256;
            entry *t = realloc(*ents, c2 * sizeof *t);
            if (!t)
                rc = nn_err(e, NN_ENOMEM, "out of memory listing %s", k->dir);
            else
                *ents = t, *cap = c2;
        }
        if (rc) {
            free(paths[i]);
            continue;
        }
        entry *en = &(*ents)[(*n)++];
        memset(en, 0, sizeof *en);
        en->cls = cls;
        en->path = paths[i];
        const char *slash = strrchr(en->path, '/');
        en->base = slash ? (size_t)(slash + 1 - en->path) : 0;
    }
    free(paths);
    return rc;
}

/* One note per kind of file skipped, over every folder. */
static void skip_notes(const img_skips *sk, nn_strbuf *notes)
{
    if (sk->nother)
        nn_strbuf_printf(notes, "note: skipped %zu file%s that %s (e.g. %s)\n",
                         sk->nother, sk->nother == 1 ? "" : "s",
                         sk->nother == 1 ? "is not an image" : "are not images",
                         sk->example);
    if (sk->ndirs)
        nn_strbuf_printf(notes, "note: skipped %zu subfolder(s) or special file(s)\n", sk->ndirs);
    if (sk->nhidden)
        nn_strbuf_printf(notes, "note: skipped %zu hidden file(s)\n", sk->nhidden);
}

/* Finds an earlier entry with the same bytes (hash table with linear probing
 * over entry indices + 1). Returns the group, or i when new. */
static int find_group(entry *ents, size_t i, const uint8_t *buf, size_t *table, size_t mask,
                      size_t *group, nn_error *e)
{
    size_t s = (size_t)ents[i].hash & mask;
    for (;; s = (s + 1) & mask) {
        if (!table[s]) {
            table[s] = i + 1;
            *group = i;
            return NN_OK;
        }
        entry *o = &ents[table[s] - 1];
        if (o->hash != ents[i].hash || o->size != ents[i].size)
            continue;
        uint8_t *ob;
        size_t on;
        int rc = read_all(o->path, &ob, &on, e);
        if (rc)
            return rc;
        int same = on == ents[i].size && !memcmp(ob, buf, on);
        free(ob);
        if (same) {
            *group = table[s] - 1;
            return NN_OK;
        }
    }
}

typedef struct gci {        /* sort key: (group, class, index) */
    size_t group;
    int cls;
    size_t i;
} gci;

static int cmp_gci(const void *pa, const void *pb)
{
    const gci *a = pa, *b = pb;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Duplicate statistics, the keep flags and the report. */
static int analyse(nn_images *im, entry *ents, size_t n, int dedupe, uint8_t *keep, nn_strbuf *rep,
                   nn_error *e)
{
    int K = im->nclasses;
    gci *key = malloc(n * sizeof *key);
    size_t *order = malloc(n * sizeof *order);
    size_t *files = calloc((size_t)K, sizeof *files), *reps = calloc((size_t)K, sizeof *reps);
    size_t *groups = calloc((size_t)K, sizeof *groups);
    size_t *ex_a = malloc((size_t)K * sizeof *ex_a), *ex_b = malloc((size_t)K * sizeof *ex_b);
    if (!key || !order || !files || !reps || !groups || !ex_a || !ex_b) {
        free(key), free(order), free(files), free(reps), free(groups), free(ex_a), free(ex_b);
        return nn_err(e, NN_ENOMEM, "out of memory analysing duplicates");
    }
    for (size_t i = 0; i < n; i++) {
        key[i] = (gci){ents[i].group, ents[i].cls, i};
        files[ents[i].cls]++;
        keep[i] = !dedupe || ents[i].group == i;
    }
    for (int k = 0; k < K; k++)
        ex_a[k] = ex_b[k] = SIZE_MAX;
    qsort(key, n, sizeof *key, cmp_gci);
    for (size_t i = 0; i < n; i++)
        order[i] = key[i].i;
    free(key);
    size_t listed = 0, cross_files = 0;
    for (size_t s = 0; s < n;) {
        size_t t = s, nclass = 0;
        while (t < n && ents[order[t]].group == ents[order[s]].group)
            t++;
        im->ndistinct++;
        for (size_t u = s; u < t;) {   /* runs of one class inside the group */
            size_t v = u;
            while (v < t && ents[order[v]].cls == ents[order[u]].cls)
                v++;
            int k = ents[order[u]].cls;
            nclass++;
            if (v - u > 1) {
                reps[k] += v - u - 1;
                groups[k]++;
                if (ex_a[k] == SIZE_MAX)
                    ex_a[k] = order[u], ex_b[k] = order[u + 1];
            }
            u = v;
        }
        if (nclass > 1) {
            im->ncross++;
            cross_files += t - s;
            if (dedupe)
                for (size_t u = s; u < t; u++)
                    keep[order[u]] = 0;
            if (listed++ < MAX_LISTED) {
                nn_strbuf_printf(rep, "    in %zu classes:", nclass);
                for (size_t u = s; u < t; u++)
                    nn_strbuf_printf(rep, "%s %s (%s)", u > s ? " =" : "", ents[order[u]].path,
                              im->class_names[ents[order[u]].cls]);
                nn_strbuf_printf(rep, "\n");
            }
        }
        s = t;
    }
    if (listed > MAX_LISTED)
        nn_strbuf_printf(rep, "    ... and %zu more contents in more than one class\n",
                  listed - MAX_LISTED);
    /* the cross-class lines were written first: put the summary before them */
    nn_strbuf head = {0};
    for (int k = 0; k < K; k++)
        im->nrepeats += reps[k];
    nn_strbuf_printf(&head, "%zu files in %d class%s, %zu distinct contents", n, K,
              K == 1 ? "" : "es", im->ndistinct);
    if (im->ndistinct == n) {
        nn_strbuf_printf(&head, ": no byte-identical duplicates\n");
    } else {
        nn_strbuf_printf(&head, "; byte-identical duplicates:\n");
        for (int k = 0; k < K; k++) {
            nn_strbuf_printf(&head, "  %s: %zu of %zu files repeat another %s file", im->class_names[k],
                      reps[k], files[k], im->class_names[k]);
            if (reps[k])   /* names within the class's folder(s) */
                nn_strbuf_printf(&head, " (%zu groups; e.g. %s = %s)", groups[k],
                          ents[ex_a[k]].path + ents[ex_a[k]].base,
                          ents[ex_b[k]].path + ents[ex_b[k]].base);
            nn_strbuf_printf(&head, "\n");
        }
        if (K > 1)
            nn_strbuf_printf(&head, "  %zu content%s in more than one class%s\n", im->ncross,
                      im->ncross == 1 ? "" : "s", im->ncross ? ":" : "");
    }
    nn_strbuf_printf(&head, "%s", nn_strbuf_str(rep));
    if (im->ndistinct != n) {
        if (dedupe) {
            size_t dropped = 0;
            for (size_t i = 0; i < n; i++)
                dropped += !keep[i];
            im->ndropped = dropped;
            nn_strbuf_printf(&head, "dedupe: dropped %zu files: kept the first of each set of copies",
                      dropped);
            if (im->ncross)
                nn_strbuf_printf(&head, "; note: the %zu content%s found in more than one class "
                          "(%zu files) %s dropped from every class, as %s label is ambiguous",
                          im->ncross, im->ncross == 1 ? "" : "s", cross_files,
                          im->ncross == 1 ? "is" : "are", im->ncross == 1 ? "its" : "their");
            nn_strbuf_printf(&head, "\n");
        } else {
            nn_strbuf_printf(&head, "duplicates kept (no dedupe): a random train/validation split "
                      "puts copies of training images into validation\n");
        }
    }
    free(rep->s);
    *rep = head;
    free(order), free(files), free(reps), free(groups), free(ex_a), free(ex_b);
    return rep->oom ? nn_err(e, NN_ENOMEM, "out of memory writing the duplicate report") : NN_OK;
}

void nn_images_free(nn_images *im)
{
    if (!im)
        return;
    for (size_t i = 0; im->files && i < im->n; i++)
        free(im->files[i]);
    for (int k = 0; im->class_names && k < im->nclasses; k++)
        free(im->class_names[k]);
    free(im->files);
    free(im->class_names);
    free(im->class_count);
    free(im->x);
    free(im->y);
    free(im->report);
    free(im->skipped_example);
    memset(im, 0, sizeof *im);
}

/* Decodes entry i into im->x + i * per; the first image fixes size/channels. */
static int decode(nn_images *im, const nn_images_opts *o, entry *ents, size_t i, size_t n,
                  const uint8_t *buf, size_t len, int *w0, int *h0, nn_error *e)
{
    int w, h, comp;
    const char *path = ents[i].path;
    if (!stbi_info_from_memory(buf, (int)len, &w, &h, &comp))
        return decode_error(path, buf, len, stbi_failure_reason(), e);
    if (w < 1 || h < 1 || (size_t)w * (size_t)h > MAX_PIXELS)
        return nn_err(e, NN_EFORMAT, "%s: the header says %dx%d (HxW) pixels: expected at most "
                      "%zu megapixels (corrupt, or resize it first)", path, h, w,
                      MAX_PIXELS >> 20);
    if (i == 0) {
        *w0 = w, *h0 = h;
        im->c = o->channels ? o->channels : comp;
        im->h = o->h > 0 ? o->h : h;
        im->w = o->w > 0 ? o->w : w;
        size_t per = (size_t)im->h * (size_t)im->w * (size_t)im->c;
        if (per == 0 || n > SIZE_MAX / per)
            return nn_err(e, NN_EINVAL, "%zu images of %dx%dx%d do not fit in memory", n, im->h,
                          im->w, im->c);
        if (!(im->x = malloc(n * per)))
            return nn_err(e, NN_ENOMEM, "out of memory for %zu images of %dx%dx%d (%.1f GB)", n,
                          im->h, im->w, im->c, (double)n * (double)per / 1e9);
    } else if (o->h <= 0 && (w != *w0 || h != *h0)) {
        return nn_err(e, NN_EFORMAT, "mixed image sizes: %s is %dx%d (HxW) but %s is %dx%d; "
                      "resize them all with --size HxW", ents[0].path, *h0, *w0, path, h, w);
    }
    int dw, dh, dc;
    uint8_t *pix = stbi_load_from_memory(buf, (int)len, &dw, &dh, &dc, im->c);
    if (!pix)
        return decode_error(path, buf, len, stbi_failure_reason(), e);
    size_t per = (size_t)im->h * (size_t)im->w * (size_t)im->c;
    uint8_t *dst = im->x + i * per;
    im->nconverted += dc != im->c;
    int rc = NN_OK;
    if (dw != im->w || dh != im->h) {
        if (!stbir_resize_uint8(pix, dw, dh, 0, dst, im->w, im->h, 0, im->c))
            rc = nn_err(e, NN_ENOMEM, "%s: resizing %dx%d to %dx%d failed", path, dh, dw, im->h,
                        im->w);
        if (!im->nresized++)
            im->resized_from_h = dh, im->resized_from_w = dw;
    } else {
        memcpy(dst, pix, per);
    }
    stbi_image_free(pix);
    return rc;
}

int nn_images_load(const nn_image_class *classes, int nclasses, const nn_images_opts *opts,
                   nn_images *out, nn_error *e)
{
    nn_images_opts o = opts ? *opts : (nn_images_opts){0};
    nn_images im = {0};
    memset(out, 0, sizeof *out);
    if (nclasses < 1)
        return nn_err(e, NN_EINVAL, "no image folders given (expected DIR=label ...)");
    if (o.channels < 0 || o.channels > 4)
        return nn_err(e, NN_EINVAL, "channels must be 0 (as the first image) or 1..4, got %d",
                      o.channels);
    if ((o.h > 0) != (o.w > 0) || o.h < 0 || o.w < 0 || o.h > 65535 || o.w > 65535)
        return nn_err(e, NN_EINVAL, "bad image size %dx%d (HxW): both must be in 1..65535",
                      o.h, o.w);
    entry *ents = NULL;
    size_t n = 0, cap = 0, tsize = 0, *table = NULL;
    int *cls_of = malloc((size_t)nclasses * sizeof *cls_of);
    uint8_t *keep = NULL, *buf = NULL;
    nn_strbuf notes = {0}, rep = {0};
    img_skips sk = {0};
    int rc = NN_OK;
    im.class_names = calloc((size_t)nclasses, sizeof *im.class_names);
    if (!cls_of || !im.class_names) {
        rc = nn_err(e, NN_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < nclasses; i++) {   /* a label given twice is one class */
        int k = 0;
        while (k < im.nclasses && strcmp(im.class_names[k], classes[i].label))
            k++;
        if (k == im.nclasses && !(im.class_names[im.nclasses++] = strdup(classes[i].label))) {
            rc = nn_err(e, NN_ENOMEM, "out of memory");
            goto done;
        }
        cls_of[i] = k;
    }
    for (int i = 0; i < nclasses && !rc; i++)
        rc = list_dir(&classes[i], cls_of[i], &ents, &n, &cap, &sk, e);
    if (rc)
        goto done;
    skip_notes(&sk, &notes);
    im.nskipped = sk.nother;
    im.skipped_example = sk.example;
    sk.example = NULL;
    for (tsize = 16; tsize < 2 * n; tsize *= 2)
        ;
    table = calloc(tsize, sizeof *table);
    keep = malloc(n);
    im.y = malloc(n * sizeof *im.y);
    if (!table || !keep || !im.y) {
        rc = nn_err(e, NN_ENOMEM, "out of memory for %zu files", n);
        goto done;
    }
    int w0 = 0, h0 = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t len;
        if ((rc = read_all(ents[i].path, &buf, &len, e)))
            break;
        ents[i].hash = nn_fnv1a(NN_FNV_INIT, buf, len);
        ents[i].size = len;
        rc = find_group(ents, i, buf, table, tsize - 1, &ents[i].group, e);
        if (!rc)
            rc = decode(&im, &o, ents, i, n, buf, len, &w0, &h0, e);
        im.y[i] = ents[i].cls;
        free(buf);
        buf = NULL;
    }
    if (rc || (rc = analyse(&im, ents, n, o.dedupe, keep, &rep, e)))
        goto done;
    if (im.nconverted)
        nn_strbuf_printf(&rep, "note: %zu image%s converted to %d channel%s\n", im.nconverted,
                  im.nconverted == 1 ? "" : "s", im.c, im.c == 1 ? "" : "s");
    if (im.nresized)
        nn_strbuf_printf(&rep, "note: %zu image%s resized to %dx%d (HxW)\n", im.nresized,
                  im.nresized == 1 ? "" : "s", im.h, im.w);
    nn_strbuf_printf(&rep, "%s", nn_strbuf_str(&notes));
    im.files = malloc(n * sizeof *im.files);
    im.class_count = calloc((size_t)im.nclasses, sizeof *im.class_count);
    if (!im.files || !im.class_count || rep.oom) {
        rc = nn_err(e, NN_ENOMEM, "out of memory");
        goto done;
    }
    size_t per = (size_t)im.h * im.w * im.c;
    im.nfiles = n;
    for (size_t i = 0; i < n; i++) {   /* compact the kept images */
        if (!keep[i])
            continue;
        if (im.n != i) {
            memmove(im.x + im.n * per, im.x + i * per, per);
            im.y[im.n] = im.y[i];
        }
        im.files[im.n] = ents[i].path;
        ents[i].path = NULL;
        im.class_count[im.y[im.n]]++;
        im.n++;
    }
    if (im.n == 0) {
        rc = nn_err(e, NN_EINVAL, "no images left after dropping duplicates");
        goto done;
    }
    if (im.n < n) {   /* give back the dropped images' memory */
        uint8_t *x = realloc(im.x, im.n * per);
        if (x)
            im.x = x;
    }
    im.report = rep.s ? rep.s : calloc(1, 1);
    rep.s = NULL;
    if (!im.report)
        rc = nn_err(e, NN_ENOMEM, "out of memory");
done:
    for (size_t i = 0; i < n; i++)
        free(ents[i].path);
    free(ents);
    free(table);
    free(keep);
    free(buf);
    free(cls_of);
    free(notes.s);
    free(rep.s);
    free(sk.example);
    if (rc) {
        if (!im.files)   /* names not yet moved: nothing per image to free */
            im.n = 0;
        nn_images_free(&im);
        return rc;
    }
    *out = im;
    return NN_OK;
}

int nn_images_shuffle(nn_images *im, uint64_t seed, nn_error *e)
{
    size_t per = (size_t)im->h * (size_t)im->w * (size_t)im->c;
    uint64_t *perm = malloc(im->n * sizeof *perm);
    uint8_t *x = malloc(im->n * per);
    int32_t *y = malloc(im->n * sizeof *y);
    char **files = malloc(im->n * sizeof *files);
    if (im->n && (!perm || !x || !y || !files)) {
        free(perm), free(x), free(y), free(files);
        return nn_err(e, NN_ENOMEM, "out of memory shuffling %zu images", im->n);
    }
    nn_rng r = nn_rng_key(seed, 0x5348554646ULL /* "SHUFF" */, 0, 0);
    nn_rng_permutation(&r, perm, im->n);
    for (size_t i = 0; i < im->n; i++) {
        memcpy(x + i * per, im->x + perm[i] * per, per);
        y[i] = im->y[perm[i]];
        files[i] = im->files[perm[i]];
    }
    free(im->x), free(im->y), free(im->files), free(perm);
    im->x = x, im->y = y, im->files = files;
    return NN_OK;
}
