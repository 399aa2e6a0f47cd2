/*  hearth_codec.c — text forms of binary values; see hearth_codec.h.
    All pure except hearth_now_ms/hearth_mono_ms, the shell's clocks. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <sodium.h>
#include "hearth_codec.h"
#include "hearth_error.h"

/*  base64url and hex are libsodium's (sodium_bin2base64, sodium_base642bin,
    sodium_bin2hex); these wrappers keep Hearth's contract: no padding, and
    decoding refuses padding, any other alphabet, a length no byte count
    gives and non-zero trailing bits, as libsodium's URL-safe no-padding
    variant does. Neither needs sodium_init. */
#define S_B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

size_t
hearth_b64url_len (size_t n)
{
    return (n / 3) * 4 + (n % 3 == 0? 0: n % 3 + 1);
}

void
hearth_b64url_encode (const uint8_t *in, size_t n, char *out)
{
    /*  sodium_base64_ENCODED_LEN (n, S_B64URL) is exactly
        hearth_b64url_len (n) + 1, the capacity the caller gives. */
    sodium_bin2base64 (out, hearth_b64url_len (n) + 1, in, n, S_B64URL);
}

int
hearth_b64url_decode (const char *text, uint8_t *out, size_t cap)
{
    size_t len = strlen (text), n = 0;
    if (len % 4 == 1)
        return -1;                          /* no byte count gives this length */
    if (len / 4 * 3 + (len % 4 == 0? 0: len % 4 - 1) > cap)
        return -1;
    if (sodium_base642bin (out, cap, text, len, NULL, &n, NULL, S_B64URL) != 0)
        return -1;                          /* bad character, padding, stray bits */
    return (int) n;
}

void
hearth_node_id_format (const uint8_t key [HEARTH_KEY_BYTES], char out [HEARTH_NODE_ID_SIZE])
{
    memcpy (out, HEARTH_NODE_ID_PREFIX, 8);
    hearth_b64url_encode (key, HEARTH_KEY_BYTES, out + 8);
}

int
hearth_node_id_parse (const char *text, uint8_t key [HEARTH_KEY_BYTES])
{
    if (!text || strncmp (text, HEARTH_NODE_ID_PREFIX, 8) != 0 || strlen (text) != 8 + 43)
        return HEARTH_EINVAL;
    uint8_t tmp [HEARTH_KEY_BYTES];
    if (hearth_b64url_decode (text + 8, tmp, sizeof tmp) != HEARTH_KEY_BYTES)
        return HEARTH_EINVAL;
    memcpy (key, tmp, HEARTH_KEY_BYTES);
    return HEARTH_OK;
}

void
hearth_short_id_format (const uint8_t key [HEARTH_KEY_BYTES], char out [HEARTH_SHORT_ID_SIZE])
{
    static const char alphabet [] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    /*  16 base32 chars = 80 bits = the first 10 key bytes (see header). */
    char chars [16];
    uint64_t acc = 0;
    int bits = 0, c = 0;
    for (int i = 0; i < 10; i++) {
        acc = (acc << 8) | key [i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            chars [c++] = alphabet [(acc >> bits) & 31];
        }
    }
    memcpy (out, HEARTH_NODE_ID_PREFIX, 8);
    char *o = out + 8;
    for (int i = 0; i < 16; i++) {
        if (i && i % 4 == 0)
            *o++ = '-';
        *o++ = chars [i];
    }
    *o = 0;
}

static void
s_time_format (uint64_t unix_ms, char out [HEARTH_TIME_SIZE], int with_ms)
{
    /*  Clamp to year 9999 so the text keeps its fixed width. */
    const uint64_t max_ms = UINT64_C (253402300799999);
    if (unix_ms > max_ms)
        unix_ms = max_ms;
    time_t secs = (time_t) (unix_ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    size_t n = strftime (out, HEARTH_TIME_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
    if (with_ms)
        snprintf (out + n, HEARTH_TIME_SIZE - n, ".%03uZ", (unsigned) (unix_ms % 1000));
    else
        snprintf (out + n, HEARTH_TIME_SIZE - n, "Z");
}

void
hearth_time_format (uint64_t unix_ms, char out [HEARTH_TIME_SIZE])
{
    s_time_format (unix_ms, out, 0);
}

void
hearth_time_format_ms (uint64_t unix_ms, char out [HEARTH_TIME_SIZE])
{
    s_time_format (unix_ms, out, 1);
}

void
hearth_hex_encode (const uint8_t *in, size_t n, char *out)
{
    sodium_bin2hex (out, 2 * n + 1, in, n);
}

int
hearth_utf8_valid (const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *) str;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s [i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return 0;                      /* continuation byte, C0/C1, > F4 */
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s [i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s [i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;                       /* overlong or beyond Unicode */
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return 0;                       /* UTF-16 surrogate */
        i += len;
    }
    return 1;
}

uint64_t
hearth_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

uint64_t
hearth_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int
hearth_tcp_endpoint_valid (const char *text, int any_port)
{
    if (strncmp (text, "tcp://", 6) != 0)
        return 0;
    const char *host = text + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host)
        return 0;
    for (const char *p = host; p < colon; p++)
        if (*p <= ' ' || *p == '/' || *p == '@' || (unsigned char) *p >= 0x7f)
            return 0;
    const char *port = colon + 1;
    if (any_port && strcmp (port, "*") == 0)
        return 1;
    if (!*port || strlen (port) > 5)
        return 0;
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    long number = strtol (port, NULL, 10);
    return number >= 1 && number <= 65535;
}
