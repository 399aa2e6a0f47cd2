/*  fuzz_main.c — the standalone driver linked with every fuzz target in
    builds without libFuzzer (gcc, the default and the ASan build):

        fuzz_TARGET CORPUS_DIR|FILE...   run LLVMFuzzerTestOneInput once
                                         per file; exit 1 if none was read
        fuzz_TARGET --seeds DIR          write the target's seed corpus
                                         (fuzz_seeds) into DIR, one file per
                                         seed named by its content hash

    ctest replays the committed corpora this way, so every build checks
    that no stored input (seeds and past findings) crashes a decoder. A
    finding aborts inside the target, which fails the test.
*/
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz.h"

static size_t s_files;

static int
s_run_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        fprintf (stderr, "cannot open %s: %s\n", path, strerror (errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = (uint8_t *) malloc (cap);
    size_t n;
    while (buf && (n = fread (buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = (uint8_t *) realloc (buf, cap * 2);
            if (!bigger) {
                free (buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose (f);
    if (!buf)
        return -1;
    /*  An exact-size copy, so ASan catches a read one past the input. */
    uint8_t *exact = (uint8_t *) malloc (len? len: 1);
    memcpy (exact, buf, len);
    free (buf);
    LLVMFuzzerTestOneInput (exact, len);
    free (exact);
    s_files++;
    return 0;
}

static int
s_run_path (const char *path)
{
    struct stat st;
    if (stat (path, &st) != 0) {
        fprintf (stderr, "cannot stat %s: %s\n", path, strerror (errno));
        return -1;
    }
    if (!S_ISDIR (st.st_mode))
        return s_run_file (path);
    struct dirent **names;
    int n = scandir (path, &names, NULL, alphasort);
    if (n < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (names [i]->d_name [0] != '.') {
            char child [4096];
            snprintf (child, sizeof child, "%s/%s", path, names [i]->d_name);
            if (s_run_path (child) != 0)
                rc = -1;
        }
        free (names [i]);
    }
    free (names);
    return rc;
}

static const char *s_seed_dir;
static size_t s_seeds;

static void
s_emit (void *arg, const uint8_t *data, size_t size)
{
    (void) arg;
    uint8_t hash [8];
    crypto_generichash (hash, sizeof hash, data, size, NULL, 0);
    char path [4096];
    int at = snprintf (path, sizeof path, "%s/seed-", s_seed_dir);
    for (int i = 0; i < 8; i++)
        at += snprintf (path + at, sizeof path - (size_t) at, "%02x", hash [i]);
    FILE *f = fopen (path, "wb");
    if (!f || (size && fwrite (data, 1, size, f) != size) || fclose (f) != 0) {
        fprintf (stderr, "cannot write %s\n", path);
        exit (1);
    }
    s_seeds++;
}

int
main (int argc, char **argv)
{
    if (sodium_init () < 0)
        return 1;
    if (argc == 3 && strcmp (argv [1], "--seeds") == 0) {
        s_seed_dir = argv [2];
        mkdir (s_seed_dir, 0755);
        fuzz_seeds (s_emit, NULL);
        fprintf (stderr, "%zu seeds written to %s\n", s_seeds, s_seed_dir);
        return s_seeds? 0: 1;
    }
    if (argc < 2) {
        fprintf (stderr, "usage: %s CORPUS_DIR|FILE... | --seeds DIR\n", argv [0]);
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (s_run_path (argv [i]) != 0)
            rc = 1;
    fprintf (stderr, "%s: %zu inputs replayed\n", argv [0], s_files);
    return rc || s_files == 0? 1: 0;
}
