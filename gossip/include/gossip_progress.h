/*  gossip_progress.h — when to log a progress line during a long sync.

    A node that fetches many events (a first sync of 50,000) logs every
    interval "sync: fetched N events (R/s), ~M remaining from PEER", and
    once the run is over "sync: done, N events in T s". A run starts when
    something is wanted (remaining > 0), or when GOSSIP_PROGRESS_BURST_EVENTS
    arrived within one interval with nothing wanted (a peer whose
    reconciliation session found what we lack pushes it to us unasked: we
    never wanted it, yet it is a sync), and ends when nothing is wanted and
    nothing arrived for an interval (sessions capped at GOSSIP_NEED_MAX
    follow each other with short gaps: one run, not many). A sync shorter
    than one interval logs nothing.

    Pure core: the caller passes the time (monotonic ms), the fetched
    counter (monotonic: events received over links, pushed or fetched) and
    what is still wanted; no I/O, no clock.
*/
#ifndef HEARTH_GOSSIP_PROGRESS_H
#define HEARTH_GOSSIP_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  A progress line at most this often during a long sync: often enough to
    show it moves, rare enough not to flood a log (12 lines a minute). */
#define GOSSIP_PROGRESS_INTERVAL_MS 5000
/*  Events arriving unasked within one interval that count as a sync: 1000
    in 5 s is 200 a second, far above a street's eager pushes of new posts
    (a handful a minute), far below a bulk transfer (tens of thousands a
    second), so everyday traffic never logs progress lines. */
#define GOSSIP_PROGRESS_BURST_EVENTS 1000

typedef enum {
    GOSSIP_PROGRESS_QUIET = 0,      /* log nothing */
    GOSSIP_PROGRESS_LINE  = 1,      /* log a progress line */
    GOSSIP_PROGRESS_DONE  = 2       /* log the end of a run that had progress lines */
} gossip_progress_say_t;

typedef struct {
    uint64_t interval_ms;           /* > 0; GOSSIP_PROGRESS_INTERVAL_MS in hearthd */
    int      active;                /* a run is on */
    uint64_t started_ms, started_fetched;
    uint64_t last_ms, last_fetched; /* of the last line (or the run's start) */
    uint64_t changed_ms, seen_fetched;  /* when the fetched counter last moved */
    uint64_t lines;                 /* progress lines of this run */
    uint64_t quiet_ms, quiet_fetched;   /* between runs: where the burst count starts */
    uint64_t look_ms, look_fetched;     /* between runs: the previous look */
    int      looked;                    /* a look happened since init */
} gossip_progress_t;

/*  What a line says (valid when gossip_progress_step returns LINE or DONE). */
typedef struct {
    uint64_t fetched;               /* events fetched in this run so far */
    uint64_t rate;                  /* events a second since the last line (LINE), or over the run (DONE) */
    uint64_t remaining;             /* still wanted (LINE) */
    uint64_t elapsed_ms;            /* since the run began */
} gossip_progress_line_t;

/*  A tracker logging at most every interval_ms (0 = GOSSIP_PROGRESS_INTERVAL_MS). */
void gossip_progress_init (gossip_progress_t *self, uint64_t interval_ms);

/*  One look at the sync at now_ms: fetched (the monotonic counter),
    remaining (what reconciliation and announcements still want). Returns
    what to log, with *line filled for LINE and DONE. */
gossip_progress_say_t gossip_progress_step (gossip_progress_t *self, uint64_t now_ms,
                                            uint64_t fetched, uint64_t remaining,
                                            gossip_progress_line_t *line);

#ifdef __cplusplus
}
#endif
#endif
