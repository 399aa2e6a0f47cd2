/*  gossip_progress.c — when to log a progress line during a long sync
    (gossip_progress.h). Pure: time and counters are arguments.
*/
#include <string.h>
#include "gossip_progress.h"

void
gossip_progress_init (gossip_progress_t *self, uint64_t interval_ms)
{
    memset (self, 0, sizeof *self);
    self->interval_ms = interval_ms? interval_ms: GOSSIP_PROGRESS_INTERVAL_MS;
}

gossip_progress_say_t
gossip_progress_step (gossip_progress_t *self, uint64_t now_ms, uint64_t fetched,
                      uint64_t remaining, gossip_progress_line_t *line)
{
    memset (line, 0, sizeof *line);
    if (!self->active) {
        /*  Between runs: the burst count restarts every interval (and when
            the counter went back: a caller's reset). */
        if (!self->looked || fetched < self->quiet_fetched || now_ms < self->quiet_ms) {
            self->looked = 1;           /* the first look, or the counter went back */
            self->quiet_ms = self->look_ms = now_ms;
            self->quiet_fetched = self->look_fetched = fetched;
        }
        else
        if (now_ms - self->quiet_ms >= self->interval_ms) {
            /*  A new window starts at the previous look, so what arrived
                since then counts in it. */
            self->quiet_ms = self->look_ms;
            self->quiet_fetched = self->look_fetched;
        }
        self->look_ms = now_ms;
        self->look_fetched = fetched;
        int burst = fetched - self->quiet_fetched >= GOSSIP_PROGRESS_BURST_EVENTS;
        if (remaining == 0 && !burst)
            return GOSSIP_PROGRESS_QUIET;
        self->active = 1;
        self->changed_ms = now_ms;
        if (burst) {                        /* the run began with the burst */
            self->started_ms = self->last_ms = self->quiet_ms;
            self->started_fetched = self->last_fetched = self->quiet_fetched;
        }
        else {
            self->started_ms = self->last_ms = now_ms;
            self->started_fetched = self->last_fetched = fetched;
        }
        self->seen_fetched = fetched;
        self->lines = 0;
        return GOSSIP_PROGRESS_QUIET;
    }
    /*  A counter that went back (a caller's reset) starts the count anew. */
    if (fetched < self->seen_fetched)
        self->started_fetched = self->last_fetched = fetched;
    if (fetched != self->seen_fetched) {
        self->seen_fetched = fetched;
        self->changed_ms = now_ms;
    }
    uint64_t since_start = now_ms > self->started_ms? now_ms - self->started_ms: 0;
    line->fetched = fetched - self->started_fetched;
    line->elapsed_ms = since_start;
    if (remaining == 0 && now_ms - self->changed_ms >= self->interval_ms) {
        self->active = 0;
        self->quiet_ms = self->look_ms = now_ms;
        self->quiet_fetched = self->look_fetched = fetched;
        if (!self->lines)
            return GOSSIP_PROGRESS_QUIET;
        line->rate = since_start? line->fetched * 1000 / since_start: line->fetched;
        return GOSSIP_PROGRESS_DONE;
    }
    uint64_t since_last = now_ms > self->last_ms? now_ms - self->last_ms: 0;
    if (since_last < self->interval_ms || (remaining == 0 && fetched == self->last_fetched))
        return GOSSIP_PROGRESS_QUIET;       /* too soon, or nothing to tell */
    line->rate = (fetched - self->last_fetched) * 1000 / since_last;
    line->remaining = remaining;
    self->last_ms = now_ms;
    self->last_fetched = fetched;
    self->lines++;
    return GOSSIP_PROGRESS_LINE;
}
