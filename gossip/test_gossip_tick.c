/*  test_gossip_tick.c — the tick's pure decisions (gossip_tick.h): which
    links keep it at GOSSIP_TICK_MS, when an out link pings, when an in
    link is silent, with the time given; and that its constants keep a
    live link from being taken for a dead one. */
#include "hearth_test.h"
#include "gossip_tick.h"

/*  An up out link, allowed, nothing pending. */
static gossip_link_t
s_out_idle (void)
{
    gossip_link_t l;
    memset (&l, 0, sizeof l);
    l.outgoing = 1;
    l.allowed = 1;
    l.connected = 1;
    l.fd = -1;
    return l;
}

static gossip_link_t
s_in_idle (void)
{
    gossip_link_t l = s_out_idle ();
    l.outgoing = 0;
    return l;
}

HT_TEST (test_idle_links_are_not_busy)
{
    gossip_link_t out = s_out_idle (), in = s_in_idle ();
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&out), 0);
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&in), 0);
    out.connected = in.connected = 0;       /* down links wait for their transport */
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&out), 0);
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&in), 0);
    out.allowed = 0;                        /* barred, not allowed: nothing to do */
    out.barred = 1;
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&out), 0);
    in.allowed = 0;                         /* closed already */
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&in), 0);
}

HT_TEST (test_pending_work_is_busy)
{
    uint8_t byte = 0;
    for (int what = 0; what < 7; what++) {
        gossip_link_t l = s_out_idle ();
        switch (what) {
            case 0: l.neg_out [0] = &byte; break;
            case 1: l.neg_out [1] = &byte; break;
            case 2: l.neg_held = &byte; break;
            case 3: l.n_fetch_held = 1; break;
            case 4: l.init = (gossip_session_t *) &byte; break;
            case 5: l.resync = 1; break;
            default: l.lost = 1; break;
        }
        HT_CHECK_EQ_INT (gossip_tick_link_busy (&l), 1);
        l.connected = 0;                    /* only a lost connection matters on a down link */
        HT_CHECK_EQ_INT (gossip_tick_link_busy (&l), what == 6);
    }
}

HT_TEST (test_membership_verdicts_are_busy)
{
    gossip_link_t out = s_out_idle ();
    out.allowed = 0;                        /* dialled, no longer allowed: to close */
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&out), 1);
    out.connected = 0;
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&out), 1);
    out.allowed = 1;                        /* barred, allowed now: to dial */
    out.barred = 1;
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&out), 1);
    gossip_link_t in = s_in_idle ();
    in.allowed = 0;                         /* up from a key no longer allowed: to close */
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&in), 1);
    in.connected = 0;
    in.fd = 7;                              /* its connection still open */
    HT_CHECK_EQ_INT (gossip_tick_link_busy (&in), 1);
}

HT_TEST (test_ping_due)
{
    gossip_link_t out = s_out_idle ();
    out.last_send_mono = 1000;
    HT_CHECK_EQ_INT (gossip_tick_ping_due (&out, 1000), 0);
    HT_CHECK_EQ_INT (gossip_tick_ping_due (&out, 1000 + GOSSIP_PING_MS - 1), 0);
    HT_CHECK_EQ_INT (gossip_tick_ping_due (&out, 1000 + GOSSIP_PING_MS), 1);
    out.connected = 0;
    HT_CHECK_EQ_INT (gossip_tick_ping_due (&out, 1000 + GOSSIP_PING_MS), 0);
    gossip_link_t in = s_in_idle ();        /* the dialling side pings, the other answers */
    HT_CHECK_EQ_INT (gossip_tick_ping_due (&in, 1000 + GOSSIP_PING_MS), 0);
}

HT_TEST (test_silent)
{
    gossip_link_t in = s_in_idle ();
    in.last_recv_mono = 500;
    HT_CHECK_EQ_INT (gossip_tick_silent (&in, 500 + GOSSIP_LINK_SILENT_MS), 0);
    HT_CHECK_EQ_INT (gossip_tick_silent (&in, 500 + GOSSIP_LINK_SILENT_MS + 1), 1);
    in.connected = 0;
    HT_CHECK_EQ_INT (gossip_tick_silent (&in, 500 + GOSSIP_LINK_SILENT_MS + 1), 0);
    gossip_link_t out = s_out_idle ();      /* an out link's death is ZMTP's to notice */
    HT_CHECK_EQ_INT (gossip_tick_silent (&out, 500 + GOSSIP_LINK_SILENT_MS + 1), 0);
}

/*  A live out link's pings, sent by an idle tick, are at most
    GOSSIP_PING_MS + GOSSIP_TICK_IDLE_MS apart and the other side checks
    silence on its own idle tick: two consecutive pings may both be late
    and the link is still not silent. Simulated over a minute of ticks on
    both sides with the ticks out of phase. */
HT_TEST (test_live_link_never_silent)
{
    HT_CHECK (2 * (GOSSIP_PING_MS + GOSSIP_TICK_IDLE_MS) + GOSSIP_TICK_IDLE_MS < GOSSIP_LINK_SILENT_MS);
    for (uint64_t phase = 0; phase < GOSSIP_TICK_IDLE_MS; phase += 37) {
        gossip_link_t out = s_out_idle (), in = s_in_idle ();
        uint64_t t0 = 100000;
        out.last_send_mono = in.last_recv_mono = t0;
        int silent = 0;
        for (uint64_t t = t0; t < t0 + 60000; t += GOSSIP_TICK_IDLE_MS) {
            if (gossip_tick_ping_due (&out, t))
                out.last_send_mono = in.last_recv_mono = t;     /* loopback: arrives at once */
            silent |= gossip_tick_silent (&in, t + phase);
        }
        HT_CHECK_EQ_INT (silent, 0);
    }
}

int
main (void)
{
    HT_RUN (test_idle_links_are_not_busy);
    HT_RUN (test_pending_work_is_busy);
    HT_RUN (test_membership_verdicts_are_busy);
    HT_RUN (test_ping_due);
    HT_RUN (test_silent);
    HT_RUN (test_live_link_never_silent);
    return ht_summary ();
}
