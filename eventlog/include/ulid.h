/*  ulid.h — ULIDs: 48-bit unix ms + 80 random bits, 26 chars Crockford base32.

    Monotonic within a generator: an id made in the same (or an earlier) ms as
    the previous one is the previous one's random part + 1, so ids from one
    node sort in creation order even if the wall clock steps back.
    Pure: time and randomness are arguments.
*/
#ifndef HEARTH_ULID_H
#define HEARTH_ULID_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ULID_LEN  26
#define ULID_SIZE 27   /* with NUL */

typedef struct {
    uint64_t last_ms;         /* ms of the previous id */
    uint8_t  last_rand [10];  /* random part of the previous id */
    int      started;
} ulid_gen_t;

/*  Next id into out. rand10 is 10 fresh random bytes (used only when the ms
    advances). Returns 0, or HEARTH_EINVAL if the random part would overflow
    within one ms (2^80 ids) or now_ms >= 2^48. */
int ulid_gen_next (ulid_gen_t *gen, uint64_t now_ms, const uint8_t rand10 [10], char out [ULID_SIZE]);

/*  1 if text is exactly 26 upper-case Crockford base32 chars with a first
    char <= '7' (fits 128 bits), else 0. */
int ulid_valid (const char *text);

/*  The 48-bit ms time encoded in a valid ULID. */
uint64_t ulid_time_ms (const char *text);

#ifdef __cplusplus
}
#endif
#endif
