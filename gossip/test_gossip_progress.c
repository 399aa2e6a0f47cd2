/*  test_gossip_progress.c — when a long sync logs progress
    (gossip_progress.h), with the time given. */
#include "hearth_test.h"
#include "gossip_progress.h"

HT_TEST (test_short_sync_is_quiet)
{
    gossip_progress_t p;
    gossip_progress_line_t line;
    gossip_progress_init (&p, 5000);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 1000, 0, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 1000, 0, 300, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 2000, 300, 0, &line), GOSSIP_PROGRESS_QUIET);
    /*  Done within one interval: no line, and no "done" either. */
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 7000, 300, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (p.active, 0);
}

HT_TEST (test_long_sync_logs_every_interval)
{
    gossip_progress_t p;
    gossip_progress_line_t line;
    gossip_progress_init (&p, 0);
    HT_CHECK_EQ_INT (p.interval_ms, GOSSIP_PROGRESS_INTERVAL_MS);
    uint64_t t = 10000;
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t, 100, 50000, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 4999, 9000, 41000, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 5000, 10100, 40000, &line), GOSSIP_PROGRESS_LINE);
    HT_CHECK (line.fetched == 10000 && line.rate == 2000 && line.remaining == 40000);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 9000, 15000, 35000, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 10000, 20100, 30000, &line), GOSSIP_PROGRESS_LINE);
    HT_CHECK (line.fetched == 20000 && line.rate == 2000 && line.elapsed_ms == 10000);
    /*  A gap between capped sessions (nothing wanted for a moment) is the
        same run: no "done" until nothing arrives for an interval. */
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 10500, 20100, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 11000, 20200, 29900, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 14000, 50100, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 18999, 50100, 0, &line), GOSSIP_PROGRESS_LINE);
    HT_CHECK (line.fetched == 50000 && line.remaining == 0);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 19000, 50100, 0, &line), GOSSIP_PROGRESS_DONE);
    HT_CHECK (line.fetched == 50000 && line.elapsed_ms == 19000 && line.rate == 50000 * 1000 / 19000);
    HT_CHECK_EQ_INT (p.active, 0);
    /*  Nothing moving, nothing wanted: no line while the run winds down. */
    gossip_progress_init (&p, 1000);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 0, 0, 10, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 1000, 10, 0, &line), GOSSIP_PROGRESS_LINE);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 1999, 10, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 2000, 10, 0, &line), GOSSIP_PROGRESS_DONE);
    gossip_progress_init (&p, 5000);
    /*  The next run counts from zero. */
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 20000, 50100, 10, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 25000, 50105, 5, &line), GOSSIP_PROGRESS_LINE);
    HT_CHECK (line.fetched == 5 && line.rate == 1 && line.remaining == 5);
}

HT_TEST (test_counter_reset_and_clock_edge)
{
    gossip_progress_t p;
    gossip_progress_line_t line;
    gossip_progress_init (&p, 100);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 0, 1000, 5, &line), GOSSIP_PROGRESS_QUIET);
    /*  The counter going back never yields a huge (wrapped) count. */
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 100, 10, 5, &line), GOSSIP_PROGRESS_LINE);
    HT_CHECK (line.fetched == 0 && line.rate == 0);
    /*  The same time again: no division by zero, no line. */
    HT_CHECK_EQ_INT (gossip_progress_step (&p, 100, 20, 5, &line), GOSSIP_PROGRESS_QUIET);
}

/*  A peer's session pushes what we lack unasked: nothing is wanted, yet a
    burst of events is a sync and gets its lines; a trickle of everyday
    posts never does. */
HT_TEST (test_pushed_burst_is_a_sync)
{
    gossip_progress_t p;
    gossip_progress_line_t line;
    gossip_progress_init (&p, 5000);
    /*  A trickle: 10 posts every 4 s for a minute, nothing wanted. */
    uint64_t t = 1000, got = 0;
    for (int i = 0; i < 15; i++, t += 4000, got += 10)
        HT_CHECK_EQ_INT (gossip_progress_step (&p, t, got, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (p.active, 0);
    /*  A burst: 20,000 events in 3 s, still nothing wanted. */
    uint64_t start = got;
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t, got += 5000, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (p.active, 1);
    /*  Lines while it lasts (the window began at the look before it: up
        to one trickle's 10 events more than the burst). */
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 1000, got += 5000, 0, &line), GOSSIP_PROGRESS_LINE);
    HT_CHECK (line.fetched >= got - start && line.fetched <= got - start + 10);
    HT_CHECK_EQ_INT (line.remaining, 0);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 3000, got += 10000, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 6000, got, 0, &line), GOSSIP_PROGRESS_LINE);
    HT_CHECK (line.fetched >= got - start && line.fetched <= got - start + 10);
    /*  It stops: an interval without arrivals ends the run. */
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 7999, got, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (gossip_progress_step (&p, t + 8000, got, 0, &line), GOSSIP_PROGRESS_DONE);
    HT_CHECK (line.fetched >= 20000);
    HT_CHECK_EQ_INT (p.active, 0);
    /*  After the run the trickle is quiet again. */
    t += 12000;
    for (int i = 0; i < 5; i++, t += 4000, got += 10)
        HT_CHECK_EQ_INT (gossip_progress_step (&p, t, got, 0, &line), GOSSIP_PROGRESS_QUIET);
    HT_CHECK_EQ_INT (p.active, 0);
}

int
main (void)
{
    HT_RUN (test_short_sync_is_quiet);
    HT_RUN (test_long_sync_logs_every_interval);
    HT_RUN (test_counter_reset_and_clock_edge);
    HT_RUN (test_pushed_burst_is_a_sync);
    return ht_summary ();
}
