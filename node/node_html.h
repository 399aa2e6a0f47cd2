/*  node_html.h — a growable text buffer for building HTML, with the escaping
    the page needs: text and attribute values, URL query parts.

    Appends never fail loudly: the first allocation failure marks the
    buffer failed, later appends do nothing, and node_html_take answers
    NULL. A renderer appends a whole page and checks once at the end.

    What comes from posts, peers or a request (attacker-controlled) goes
    through node_html_text (or node_html_url_part inside an href); only
    literals of the program go through node_html_raw / node_html_printf.
    node_html_text also replaces bytes that are not valid UTF-8 with U+FFFD,
    so the page is valid UTF-8 whatever a request carried.
*/
#ifndef HEARTH_NODE_HTML_H
#define HEARTH_NODE_HTML_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Largest buffer, bytes: a page is never bigger (500 cards of at most
    ~1.5 kB); beyond it the buffer fails as if out of memory. */
#define NODE_HTML_MAX_BYTES  (16u * 1024u * 1024u)

typedef struct _node_html_t node_html_t;

/*  New empty buffer. NULL on OOM. */
node_html_t *node_html_new (void);

/*  Free; safe on NULL; nulls *self_p. */
void node_html_destroy (node_html_t **self_p);

/*  Append trusted markup (a literal of the program) as is. */
void node_html_raw (node_html_t *self, const char *markup);
void node_html_rawn (node_html_t *self, const char *markup, size_t len);

/*  Append trusted markup made by printf; arguments must be numbers or
    trusted literals, never request or post text. */
void node_html_printf (node_html_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  Append untrusted text, escaped for element content and for quoted
    attribute values alike (& < > " ' become entities); invalid UTF-8 and
    NUL become U+FFFD. NULL appends nothing. */
void node_html_text (node_html_t *self, const char *text);
void node_html_textn (node_html_t *self, const char *text, size_t len);

/*  Append text cut to at most max_bytes on a character boundary, with "…"
    when cut, escaped as node_html_text. */
void node_html_excerpt (node_html_t *self, const char *text, size_t max_bytes);

/*  Append untrusted text percent-encoded for a URL query value (all but
    A-Z a-z 0-9 - . _ ~ become %XX), safe inside a quoted attribute as is. */
void node_html_url_part (node_html_t *self, const char *text);

/*  1 once an append failed (out of memory or over NODE_HTML_MAX_BYTES). */
int node_html_failed (const node_html_t *self);

/*  Bytes appended so far. */
size_t node_html_len (const node_html_t *self);

/*  The text (malloc'd, NUL-terminated, the caller frees) and its length;
    the buffer is left empty. NULL if an append failed. */
char *node_html_take (node_html_t *self, size_t *len);

/*  The length of the longest prefix of text[0..len) that is valid UTF-8
    without NUL, ending on a character boundary (exposed for tests). */
size_t node_html_utf8_prefix (const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
