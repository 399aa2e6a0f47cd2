/*  node_render.h — human-readable output of hearthctl: tables and lines a
    person can read, made from the same JSON objects --json prints.

    Renderers never fail on a missing or oddly typed field (the daemon could
    be a different version): they print what is there.
*/
#ifndef HEARTH_NODE_RENDER_H
#define HEARTH_NODE_RENDER_H

#include <stdio.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Title column width in post tables, in characters; longer titles are cut
    with an ellipsis. */
#define NODE_RENDER_TITLE_WIDTH  40
/*  Summary column width in the events listing. */
#define NODE_RENDER_SUMMARY_WIDTH 60

/*  {posts:[...], max_lamport} of market.list, or of market.search when
    with_score (adds a SCORE column). */
void node_render_posts (FILE *out, const json_t *output, int with_score);

/*  One post (the "post" object of market.get), all fields, body last. */
void node_render_post (FILE *out, const json_t *post);

/*  {event_id, lamport} of market.post / market.expire; verb is "posted" or
    "expired". */
void node_render_ack (FILE *out, const json_t *output, const char *verb);

/*  {node_id, short_id, address, ...} of `id`. */
void node_render_id (FILE *out, const json_t *output);

/*  {peers:[...]} of node.peers: one line per link (node, direction,
    connected, last seen, lag, bytes in/out, address). */
void node_render_peers (FILE *out, const json_t *output);
/*  node.peers {"known": true}: the known-peer table, one line per member
    (short id, linked now, from, seed, fails, last reached as an age,
    address) and a count. */
void node_render_known (FILE *out, const json_t *output);

/*  The node.stats object. */
void node_render_stats (FILE *out, const json_t *stats);

/*  A table header for events, then one line per JSON envelope. */
void node_render_events_header (FILE *out);
void node_render_event (FILE *out, const json_t *envelope);

/*  Print text cut/padded to width characters (UTF-8 aware; a cut ends in
    "…"). Exposed for tests. */
void node_render_cell (FILE *out, const char *text, int width);

#ifdef __cplusplus
}
#endif
#endif
