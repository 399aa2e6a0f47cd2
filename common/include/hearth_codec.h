/*  hearth_codec.h — text forms of Hearth's binary values.

    - base64url without padding (RFC 4648 §5), as the contract writes keys.
    - Full NodeID / CommunityID: "ed25519:" + b64url(32-byte key) = 51 chars.
    - Short NodeID: "ed25519:" + 16 chars of RFC 4648 base32 (A-Z2-7) in four
      groups of four: "ed25519:ABCD-EFGH-IJKL-MNOP". The spec says "first 8
      bytes" but its own regex needs 16 characters, which is 10 bytes; Hearth
      encodes the first 10 bytes (80 bits) so the regex holds. Display only.
    - RFC 3339 UTC timestamps with "Z", second precision ("2026-05-26T08:14:22Z").
    - Hex for hashes.
    All functions are pure; outputs are caller-provided buffers.
*/
#ifndef HEARTH_CODEC_H
#define HEARTH_CODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HEARTH_KEY_BYTES        32
#define HEARTH_SIG_BYTES        64
#define HEARTH_HASH_BYTES       32
#define HEARTH_NODE_ID_PREFIX   "ed25519:"
/*  "ed25519:" (8) + 43 b64url chars + NUL. */
#define HEARTH_NODE_ID_SIZE     52
/*  "ed25519:" (8) + 19 chars "XXXX-XXXX-XXXX-XXXX" + NUL. */
#define HEARTH_SHORT_ID_SIZE    28
/*  "YYYY-MM-DDTHH:MM:SSZ" + NUL; wide enough for any uint64 ms we accept. */
#define HEARTH_TIME_SIZE        32

/*  Length of the b64url (no padding) text of n bytes, without NUL. */
size_t hearth_b64url_len (size_t n);
/*  Encode n bytes into out (capacity >= hearth_b64url_len(n)+1); NUL-terminates. */
void   hearth_b64url_encode (const uint8_t *in, size_t n, char *out);
/*  Decode text into out (capacity cap). Returns bytes written, or -1 on a
    bad character, bad length or overflow. Rejects padding and non-canonical
    trailing bits. */
int    hearth_b64url_decode (const char *text, uint8_t *out, size_t cap);

/*  Full NodeID of a 32-byte key into out[HEARTH_NODE_ID_SIZE]. */
void hearth_node_id_format (const uint8_t key [HEARTH_KEY_BYTES], char out [HEARTH_NODE_ID_SIZE]);
/*  Parse a full NodeID; returns 0 or HEARTH_EINVAL. */
int  hearth_node_id_parse (const char *text, uint8_t key [HEARTH_KEY_BYTES]);
/*  Short NodeID (display only) into out[HEARTH_SHORT_ID_SIZE]. */
void hearth_short_id_format (const uint8_t key [HEARTH_KEY_BYTES], char out [HEARTH_SHORT_ID_SIZE]);

/*  Unix ms -> "YYYY-MM-DDTHH:MM:SSZ" (seconds precision, UTC). */
void hearth_time_format (uint64_t unix_ms, char out [HEARTH_TIME_SIZE]);
/*  Same with milliseconds: "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void hearth_time_format_ms (uint64_t unix_ms, char out [HEARTH_TIME_SIZE]);

/*  Lower-case hex of n bytes into out (capacity 2n+1). */
void hearth_hex_encode (const uint8_t *in, size_t n, char *out);

/*  1 if the n bytes at s are valid UTF-8 with no NUL and no overlong or
    surrogate encodings, else 0. */
int  hearth_utf8_valid (const char *s, size_t n);

/*  1 if text is "tcp://HOST:PORT" with a non-empty ASCII host (no spaces,
    control bytes, '/' or '@') and a port 1..65535, or "*" (an ephemeral
    port, for a listen address) when any_port is set; else 0. */
int  hearth_tcp_endpoint_valid (const char *text, int any_port);

/*  Wall clock now, unix ms; monotonic clock now, ms. The shell's only
    source of time: pure code takes time as an argument. */
uint64_t hearth_now_ms (void);
uint64_t hearth_mono_ms (void);

#ifdef __cplusplus
}
#endif
#endif
