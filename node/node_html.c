/*  node_html.c — a growable text buffer with HTML and URL escaping
    (node_html.h).
*/
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_vec.h"
#include "node_html.h"

struct _node_html_t {
    char   *data;                    /* owned; NUL-terminated when len > 0 */
    size_t  len;
    size_t  cap;
    int     failed;
};

node_html_t *
node_html_new (void)
{
    return (node_html_t *) calloc (1, sizeof (node_html_t));
}

void
node_html_destroy (node_html_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->data);
        free (*self_p);
        *self_p = NULL;
    }
}

/*  Room for n more bytes and a NUL; 0, or -1 with the buffer failed. */
static int
s_reserve (node_html_t *self, size_t n)
{
    if (self->failed)
        return -1;
    if (n > NODE_HTML_MAX_BYTES - self->len) {
        self->failed = 1;
        return -1;
    }
    if (HEARTH_VEC_GROW (self->data, self->cap, self->len + n + 1, 4096)) {
        self->failed = 1;
        return -1;
    }
    return 0;
}

void
node_html_rawn (node_html_t *self, const char *markup, size_t len)
{
    if (!markup || len == 0 || s_reserve (self, len))
        return;
    memcpy (self->data + self->len, markup, len);
    self->len += len;
    self->data [self->len] = '\0';
}

void
node_html_raw (node_html_t *self, const char *markup)
{
    if (markup)
        node_html_rawn (self, markup, strlen (markup));
}

void
node_html_printf (node_html_t *self, const char *fmt, ...)
{
    char small [256];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (small, sizeof small, fmt, ap);
    va_end (ap);
    if (n < 0) {
        self->failed = 1;
        return;
    }
    if ((size_t) n < sizeof small) {
        node_html_rawn (self, small, (size_t) n);
        return;
    }
    if (s_reserve (self, (size_t) n))
        return;
    va_start (ap, fmt);
    vsnprintf (self->data + self->len, (size_t) n + 1, fmt, ap);
    va_end (ap);
    self->len += (size_t) n;
}

/*  Bytes of the valid UTF-8 character (not NUL) at p (n bytes left), or 0
    if the bytes there are not one: overlong forms, surrogates and code
    points above U+10FFFF are not. */
static size_t
s_utf8_char (const unsigned char *p, size_t n)
{
    unsigned char c = p [0];
    if (c >= 0x01 && c <= 0x7F)
        return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    }
    else
        return 0;
    if (n < need || p [1] < lo || p [1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (p [i] < 0x80 || p [i] > 0xBF)
            return 0;
    return need;
}

size_t
node_html_utf8_prefix (const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *) text;
    size_t at = 0;
    while (at < len) {
        size_t k = s_utf8_char (p + at, len - at);
        if (k == 0)
            break;
        at += k;
    }
    return at;
}

void
node_html_textn (node_html_t *self, const char *text, size_t len)
{
    if (!text)
        return;
    const unsigned char *p = (const unsigned char *) text;
    size_t run = 0;                  /* start of the pending run of plain bytes */
    size_t at = 0;
    while (at < len) {
        const char *entity = NULL;
        size_t k = 1;
        switch (p [at]) {
            case '&':  entity = "&amp;";  break;
            case '<':  entity = "&lt;";   break;
            case '>':  entity = "&gt;";   break;
            case '"':  entity = "&quot;"; break;
            case '\'': entity = "&#39;";  break;
            default:
                k = s_utf8_char (p + at, len - at);
                if (k == 0) {
                    entity = "\xEF\xBF\xBD";        /* U+FFFD for one bad byte */
                    k = 1;
                }
        }
        if (entity) {
            node_html_rawn (self, text + run, at - run);
            node_html_raw (self, entity);
            run = at + k;
        }
        at += k;
    }
    node_html_rawn (self, text + run, at - run);
}

void
node_html_text (node_html_t *self, const char *text)
{
    if (text)
        node_html_textn (self, text, strlen (text));
}

void
node_html_excerpt (node_html_t *self, const char *text, size_t max_bytes)
{
    if (!text)
        return;
    size_t len = strlen (text);
    if (len <= max_bytes) {
        node_html_textn (self, text, len);
        return;
    }
    /*  Cut back to a character boundary: continuation bytes are 10xxxxxx. */
    size_t cut = max_bytes;
    while (cut > 0 && ((unsigned char) text [cut] & 0xC0) == 0x80)
        cut--;
    node_html_textn (self, text, cut);
    node_html_raw (self, "\xE2\x80\xA6");             /* … */
}

void
node_html_url_part (node_html_t *self, const char *text)
{
    static const char hex [] = "0123456789ABCDEF";
    if (!text)
        return;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        ||  c == '-' || c == '.' || c == '_' || c == '~')
            node_html_rawn (self, (const char *) p, 1);
        else {
            char enc [3] = { '%', hex [c >> 4], hex [c & 15] };
            node_html_rawn (self, enc, 3);
        }
    }
}

int
node_html_failed (const node_html_t *self)
{
    return self->failed;
}

size_t
node_html_len (const node_html_t *self)
{
    return self->len;
}

char *
node_html_take (node_html_t *self, size_t *len)
{
    if (self->failed) {
        *len = 0;
        return NULL;
    }
    char *out = self->data;
    if (!out) {
        out = (char *) calloc (1, 1);
        if (!out)
            return NULL;
    }
    *len = self->len;
    self->data = NULL;
    self->len = self->cap = 0;
    return out;
}
