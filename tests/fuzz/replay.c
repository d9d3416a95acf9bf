/* Replays the committed fuzz inputs through the fuzz targets' own code in the
 * normal CTest build: every file under tests/fuzz/corpus/<target>/ (the seed
 * corpus) and tests/fuzz/regressions/<target>/ (inputs that once crashed a
 * reader, each fixed since). A test fails when a target breaks an invariant
 * (fuzz_util.h) or crashes; under scripts/test.sh --sanitize ASan/UBSan
 * check every input as the fuzzer did.
 * The targets' LLVMFuzzerTestOneInput are renamed nn_fuzz_<target> at
 * compile time (tests/reliability_tests.cmake). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "testutil.h"

#define TARGETS(X) X(spec) X(keras_json) X(idx) X(cifar10) X(images) X(h5data) X(checkpoint)
#define DECL(t) int nn_fuzz_##t(const uint8_t *data, size_t size);
TARGETS(DECL)

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs fn on every file of NN_SOURCE_DIR/tests/fuzz/<kind>/<target>; returns
 * the number of files (directories that do not exist count 0). */
static int replay_dir(const char *kind, const char *target,
                      int (*fn)(const uint8_t *, size_t))
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", NN_SOURCE_DIR, kind, target);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char *names[4096];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 4096)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *f = fopen(p, "rb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        rewind(f);
        uint8_t *buf = malloc((size_t)len + 1);
        CU_ASSERT_FATAL(buf && fread(buf, 1, (size_t)len, f) == (size_t)len);
        fclose(f);
        int before = nn_fuzz_failures;
        fn(buf, (size_t)len);
        if (nn_fuzz_failures != before)
            fprintf(stderr, "  ... replaying %s\n", p);
        CU_ASSERT_EQUAL(nn_fuzz_failures, before);
        free(buf);
        free(names[i]);
    }
    return n;
}

#define TEST(t)                                                                      \
    static void test_##t(void)                                                       \
    {                                                                                \
        int seeds = replay_dir("corpus", #t, nn_fuzz_##t);                           \
        int regs = replay_dir("regressions", #t, nn_fuzz_##t);                       \
        printf("\n  %s: %d seeds, %d regression inputs replayed ", #t, seeds, regs); \
        CU_ASSERT(seeds > 0);                                                        \
    }
TARGETS(TEST)

int main(void)
{
#define ENTRY(t) {#t, test_##t},
    static const tu_test tests[] = {TARGETS(ENTRY){NULL, NULL}};
    return tu_main("fuzz_replay", tests);
}
