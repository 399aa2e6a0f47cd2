/*  fuzz.h — what every fuzz target in fuzz/ provides and may use.

    A target is one .c file with
      - LLVMFuzzerTestOneInput (data, size): feed one input to one decoder
        (or one session) and check the properties that must hold for any
        input; abort () when one does not (libFuzzer and the replay driver
        both report an abort as a failure).
      - fuzz_seeds (emit, arg): write the seed corpus, made with the
        project's own encoders (valid messages, files and requests), so the
        fuzzer starts from inputs that reach deep into each decoder.
    Built with -DHEARTH_FUZZ=ON (clang) each target is a libFuzzer binary;
    in the default build it is linked with fuzz_main.c, which replays
    corpus directories (ctest) or writes the seeds (--seeds DIR).
    Test code only: assert and abort are the point here.
*/
#ifndef HEARTH_FUZZ_H
#define HEARTH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Receives one seed (borrowed for the call). */
typedef void (fuzz_emit_fn) (void *arg, const uint8_t *data, size_t size);

/*  Every target defines these two. */
int  LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
void fuzz_seeds (fuzz_emit_fn *emit, void *arg);

/*  A property failed: print where and why, then abort (a finding). */
#define FUZZ_CHECK(cond) do {                                                  \
        if (!(cond)) {                                                         \
            fprintf (stderr, "%s:%d: fuzz property failed: %s\n",              \
                     __FILE__, __LINE__, #cond);                               \
            abort ();                                                          \
        }                                                                      \
    } while (0)

/*  A fresh scratch directory (under /dev/shm when it is writable, else
    $TMPDIR or /tmp), removed with its contents at exit. Returns its path
    (static storage) or NULL. Each call makes a new one. */
const char *fuzz_tmpdir (const char *name);

/*  Silence the project's log below errors (fuzzing is meant to be loud
    only about findings). */
void fuzz_quiet (void);

/*  A reader over the fuzz input, for targets that split it into several
    parts. Reads past the end give zeros / empty parts. */
typedef struct {
    const uint8_t *data;
    size_t         size, pos;
} fuzz_reader_t;

uint8_t  fuzz_u8  (fuzz_reader_t *r);
uint16_t fuzz_u16 (fuzz_reader_t *r);
/*  The next part: a 2-byte big-endian length then that many bytes (cut to
    what is left). *len gets its length; the pointer is into the input. */
const uint8_t *fuzz_part (fuzz_reader_t *r, size_t *len);
/*  Append a part in the format fuzz_part reads to buf (realloc'd). */
void fuzz_part_append (uint8_t **buf, size_t *size, const uint8_t *part, size_t len);

#ifdef __cplusplus
}
#endif
#endif
