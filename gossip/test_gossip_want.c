/*  test_gossip_want.c — the announced-hash tracker, deterministically:
    times are arguments, the table key is fixed, hashes are made from
    counters. Checks the limits, the move to another announcer on an
    answer without the event, on a timeout and on a peer going away, and
    that a peer still answering is not timed out; claims of a
    reconciliation's own fetches. */
#include <sodium.h>
#include "hearth_test.h"
#include "hearth_error.h"
#include "gossip_want.h"

static const uint8_t s_key [16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void
s_hash (uint32_t i, uint8_t h [32])
{
    memset (h, 0xa5, 32);
    memcpy (h, &i, sizeof i);
}

static gossip_want_t *
s_new (size_t max, size_t per_peer, size_t window, uint64_t timeout)
{
    gossip_want_limits_t l = { max, per_peer, window, timeout };
    return gossip_want_new (&l, s_key);
}

HT_TEST (test_limits_refused)
{
    HT_CHECK (s_new (0, 1, 1, 1) == NULL);
    HT_CHECK (s_new (1, 0, 1, 1) == NULL);
    HT_CHECK (s_new (1, 1, 0, 1) == NULL);
    HT_CHECK (s_new (1, 1, GOSSIP_WANT_WINDOW_MAX + 1, 1) == NULL);
    HT_CHECK (s_new (1, 1, 1, 0) == NULL);
    HT_CHECK (gossip_want_new (NULL, s_key) == NULL);
    gossip_want_destroy (NULL);
}

/*  Announce, take, arrive: the basic path, and re-announcing is harmless. */
HT_TEST (test_announce_take_arrive)
{
    gossip_want_t *w = s_new (100, 10, 2, 1000);
    uint8_t h [32], out [32 * 8];
    for (uint32_t i = 0; i < 5; i++) {
        s_hash (i, h);
        HT_CHECK_EQ_INT (gossip_want_announce (w, 7, h), 0);
        HT_CHECK_EQ_INT (gossip_want_announce (w, 7, h), 1);    /* again: known */
    }
    HT_CHECK_EQ_INT (gossip_want_count (w), 5);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 7), 5);
    HT_CHECK_EQ_INT (gossip_want_queued (w, 7), 5);
    HT_CHECK_EQ_INT (gossip_want_take (w, 7, 100, 0, out, 3), 3);
    uint8_t first [32];
    s_hash (0, first);
    HT_CHECK (memcmp (out, first, 32) == 0);                    /* oldest first */
    HT_CHECK_EQ_INT (gossip_want_take (w, 7, 101, 0, out, 8), 2);
    HT_CHECK_EQ_INT (gossip_want_take (w, 7, 102, 0, out, 8), 0);  /* none queued */
    HT_CHECK_EQ_INT (gossip_want_queued (w, 7), 0);
    HT_CHECK_EQ_INT (gossip_want_take (w, 8, 103, 0, out, 8), 0);  /* unknown peer */
    for (uint32_t i = 0; i < 5; i++) {
        s_hash (i, h);
        HT_CHECK (gossip_want_contains (w, h));
        gossip_want_arrived (w, h);
        HT_CHECK (!gossip_want_contains (w, h));
        gossip_want_arrived (w, h);                             /* twice: harmless */
    }
    HT_CHECK_EQ_INT (gossip_want_count (w), 0);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 7), 0);
    /*  Answers close the requests; nothing is left to move. */
    HT_CHECK_EQ_INT (gossip_want_answered (w, 7, 100, 1, 5), 1);
    HT_CHECK_EQ_INT (gossip_want_answered (w, 7, 100, 1, 5), 0);   /* closed already */
    HT_CHECK_EQ_INT (gossip_want_answered (w, 7, 999, 1, 5), 0);   /* never ours */
    HT_CHECK_EQ_INT (gossip_want_answered (w, 9, 101, 1, 5), 0);   /* not that peer's */
    HT_CHECK_EQ_INT (gossip_want_answered (w, 7, 101, 1, 5), 1);
    HT_CHECK_EQ_INT (gossip_want_stats (w)->retried, 0);
    HT_CHECK_EQ_INT (gossip_want_stats (w)->given_up, 0);
    HT_CHECK (!gossip_want_gave_up (w, 7));
    gossip_want_destroy (&w);
    HT_CHECK (w == NULL);
}

/*  The window: at most `window` requests out per peer. */
HT_TEST (test_window)
{
    gossip_want_t *w = s_new (100, 100, 2, 1000);
    uint8_t h [32], out [32];
    for (uint32_t i = 0; i < 4; i++) {
        s_hash (i, h);
        gossip_want_announce (w, 1, h);
    }
    HT_CHECK_EQ_INT (gossip_want_take (w, 1, 1, 0, out, 1), 1);
    HT_CHECK_EQ_INT (gossip_want_take (w, 1, 2, 0, out, 1), 1);
    HT_CHECK_EQ_INT (gossip_want_take (w, 1, 3, 0, out, 1), 0);    /* window full */
    HT_CHECK_EQ_INT (gossip_want_answered (w, 1, 1, 0, 1), 1);     /* a frame, not the last */
    HT_CHECK_EQ_INT (gossip_want_take (w, 1, 3, 0, out, 1), 0);
    s_hash (0, h);
    gossip_want_arrived (w, h);
    HT_CHECK_EQ_INT (gossip_want_answered (w, 1, 1, 1, 1), 1);
    HT_CHECK_EQ_INT (gossip_want_take (w, 1, 3, 0, out, 1), 1);
    gossip_want_destroy (&w);
}

/*  Per-peer share and table size are hard limits. */
HT_TEST (test_caps)
{
    gossip_want_t *w = s_new (10, 4, 1, 1000);
    uint8_t h [32];
    for (uint32_t i = 0; i < 6; i++) {
        s_hash (i, h);
        HT_CHECK_EQ_INT (gossip_want_announce (w, 1, h), i < 4? 0: HEARTH_ECAPACITY);
    }
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 1), 4);
    /*  Peer 1 announcing a hash peer 2 holds is only remembered. */
    for (uint32_t i = 100; i < 106; i++) {
        s_hash (i, h);
        HT_CHECK_EQ_INT (gossip_want_announce (w, 2 + (i - 100) / 4, h), 0);
    }
    HT_CHECK_EQ_INT (gossip_want_count (w), 10);
    s_hash (200, h);
    HT_CHECK_EQ_INT (gossip_want_announce (w, 9, h), HEARTH_ECAPACITY);   /* table full */
    s_hash (100, h);
    HT_CHECK_EQ_INT (gossip_want_announce (w, 1, h), 1);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 1), 4);
    gossip_want_destroy (&w);
}

/*  An answer without the event moves it to the next announcer; with none
    left it is forgotten and the peer flagged. */
HT_TEST (test_answer_without_event)
{
    gossip_want_t *w = s_new (100, 100, 4, 1000);
    uint8_t h [32], g [32], out [64];
    s_hash (1, h);
    s_hash (2, g);
    HT_CHECK_EQ_INT (gossip_want_announce (w, 10, h), 0);
    HT_CHECK_EQ_INT (gossip_want_announce (w, 10, g), 0);
    HT_CHECK_EQ_INT (gossip_want_announce (w, 11, h), 1);
    HT_CHECK_EQ_INT (gossip_want_take (w, 10, 5, 0, out, 2), 2);
    HT_CHECK_EQ_INT (gossip_want_answered (w, 10, 5, 1, 3), 1);
    /*  h went to 11, g (no one else) is forgotten. */
    HT_CHECK (gossip_want_contains (w, h));
    HT_CHECK (!gossip_want_contains (w, g));
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 11), 1);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 10), 0);
    HT_CHECK (gossip_want_gave_up (w, 10));
    HT_CHECK (!gossip_want_gave_up (w, 10));                    /* cleared */
    HT_CHECK_EQ_INT (gossip_want_stats (w)->retried, 1);
    HT_CHECK_EQ_INT (gossip_want_stats (w)->given_up, 1);
    HT_CHECK_EQ_INT (gossip_want_take (w, 11, 6, 4, out, 2), 1);
    HT_CHECK (memcmp (out, h, 32) == 0);
    gossip_want_destroy (&w);
}

/*  A silent peer times out, a peer still answering an earlier request
    does not. */
HT_TEST (test_timeout)
{
    gossip_want_t *w = s_new (100, 100, 4, 1000);
    uint8_t h [32], g [32], out [64];
    s_hash (1, h);
    s_hash (2, g);
    gossip_want_announce (w, 1, h);
    gossip_want_announce (w, 2, h);
    HT_CHECK_EQ_INT (gossip_want_take (w, 1, 10, 100, out, 4), 1);
    gossip_want_expire (w, 1099);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 1), 1);           /* not yet */
    gossip_want_expire (w, 1100);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 1), 0);
    HT_CHECK_EQ_INT (gossip_want_queued (w, 2), 1);             /* asked of the other announcer */
    HT_CHECK_EQ_INT (gossip_want_stats (w)->retried, 1);
    HT_CHECK_EQ_INT (gossip_want_answered (w, 1, 10, 1, 1200), 0);  /* a late answer: closed */
    /*  Peer 2 gets two requests; frames of the first keep the second alive. */
    gossip_want_announce (w, 2, g);
    HT_CHECK_EQ_INT (gossip_want_take (w, 2, 20, 2000, out, 1), 1);
    HT_CHECK_EQ_INT (gossip_want_take (w, 2, 21, 2000, out, 1), 1);
    HT_CHECK_EQ_INT (gossip_want_answered (w, 2, 20, 0, 2900), 1);
    gossip_want_expire (w, 3500);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 2), 2);
    gossip_want_expire (w, 3900);                               /* 1000 ms after its last frame */
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 2), 0);
    HT_CHECK_EQ_INT (gossip_want_count (w), 0);                 /* no one else had them */
    HT_CHECK (gossip_want_gave_up (w, 2));
    gossip_want_destroy (&w);
}

/*  A peer that goes away hands its hashes on, queued or requested, and is
    not chosen again. */
HT_TEST (test_peer_gone)
{
    gossip_want_t *w = s_new (100, 100, 4, 1000);
    uint8_t h [32], out [32 * 4];
    for (uint32_t i = 0; i < 4; i++) {
        s_hash (i, h);
        gossip_want_announce (w, 1, h);
        if (i < 2)
            gossip_want_announce (w, 2, h);
        gossip_want_announce (w, 3, h);
    }
    HT_CHECK_EQ_INT (gossip_want_take (w, 1, 1, 0, out, 2), 2);
    gossip_want_peer_gone (w, 2);                               /* only an alternate */
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 1), 4);
    gossip_want_peer_gone (w, 1);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 1), 0);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 3), 4);
    HT_CHECK_EQ_INT (gossip_want_stats (w)->retried, 2);        /* the two that had been asked for */
    gossip_want_peer_gone (w, 3);
    HT_CHECK_EQ_INT (gossip_want_count (w), 0);
    gossip_want_peer_gone (w, 3);                               /* twice: harmless */
    gossip_want_destroy (&w);
}

/*  A reconciliation's own fetch claims its hashes: announcements of them
    only add alternates, claims do not use the announcement window, and an
    answer without a claimed hash moves it to an announcer. */
HT_TEST (test_claim)
{
    gossip_want_t *w = s_new (100, 100, 1, 1000);
    uint8_t h [32], g [32], out [64];
    s_hash (1, h);
    s_hash (2, g);
    HT_CHECK_EQ_INT (gossip_want_claim (w, 1, 0, 0, h), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (gossip_want_claim (w, 1, 50, 0, h), 0);
    HT_CHECK_EQ_INT (gossip_want_claim (w, 1, 50, 0, g), 0);
    HT_CHECK_EQ_INT (gossip_want_claim (w, 1, 51, 0, g), 1);    /* tracked already */
    HT_CHECK (gossip_want_contains (w, h));
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 1), 2);
    HT_CHECK_EQ_INT (gossip_want_queued (w, 1), 0);
    HT_CHECK_EQ_INT (gossip_want_announce (w, 2, h), 1);        /* an alternate */
    uint8_t k [32];
    s_hash (3, k);
    HT_CHECK_EQ_INT (gossip_want_announce (w, 1, k), 0);
    HT_CHECK_EQ_INT (gossip_want_take (w, 1, 60, 0, out, 2), 1); /* the claim is not in the window */
    gossip_want_arrived (w, g);
    HT_CHECK_EQ_INT (gossip_want_answered (w, 1, 50, 1, 10), 1);
    HT_CHECK_EQ_INT (gossip_want_queued (w, 2), 1);             /* h went to its announcer */
    HT_CHECK_EQ_INT (gossip_want_stats (w)->retried, 1);
    HT_CHECK (!gossip_want_gave_up (w, 1));
    /*  A hash only queued for an announcer is taken over by a claim; the
        announcer is next in line. */
    uint8_t q [32];
    s_hash (4, q);
    HT_CHECK_EQ_INT (gossip_want_announce (w, 5, q), 0);
    HT_CHECK (gossip_want_contains (w, q) && !gossip_want_requested (w, q));
    HT_CHECK_EQ_INT (gossip_want_claim (w, 6, 70, 20, q), 0);
    HT_CHECK (gossip_want_requested (w, q));
    HT_CHECK_EQ_INT (gossip_want_queued (w, 5), 0);
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 6), 1);
    HT_CHECK_EQ_INT (gossip_want_claim (w, 7, 71, 20, q), 1);  /* asked already: left alone */
    HT_CHECK_EQ_INT (gossip_want_answered (w, 6, 70, 1, 30), 1);
    HT_CHECK_EQ_INT (gossip_want_queued (w, 5), 1);             /* back to its announcer */
    /*  GOSSIP_WANT_WINDOW_MAX requests per peer at most. */
    for (uint32_t i = 0; i < GOSSIP_WANT_WINDOW_MAX + 2; i++) {
        s_hash (100 + i, h);
        int rc = gossip_want_claim (w, 3, 1000 + i, 0, h);
        HT_CHECK_EQ_INT (rc, i < GOSSIP_WANT_WINDOW_MAX? 0: HEARTH_ECAPACITY);
    }
    gossip_want_destroy (&w);
}

/*  An event in hand (fetched, held to be stored in order) is asked of
    nobody any more but still counts as asked for until it is stored. */
HT_TEST (test_in_hand)
{
    gossip_want_t *w = s_new (100, 100, 4, 1000);
    uint8_t h [32], out [32];
    s_hash (1, h);
    HT_CHECK_EQ_INT (gossip_want_claim (w, 1, 9, 0, h), 0);
    gossip_want_announce (w, 2, h);
    HT_CHECK_EQ_INT (gossip_want_expected (w), 1);
    gossip_want_in_hand (w, h);
    gossip_want_in_hand (w, h);                                 /* twice: harmless */
    HT_CHECK_EQ_INT (gossip_want_count (w), 1);
    HT_CHECK_EQ_INT (gossip_want_expected (w), 0);              /* in hand: not expected */
    HT_CHECK (gossip_want_requested (w, h));
    HT_CHECK_EQ_INT (gossip_want_assigned (w, 1), 0);
    HT_CHECK_EQ_INT (gossip_want_claim (w, 3, 10, 0, h), 1);    /* nobody asks again */
    HT_CHECK_EQ_INT (gossip_want_answered (w, 1, 9, 1, 5), 1);
    HT_CHECK_EQ_INT (gossip_want_queued (w, 2), 0);             /* not moved on */
    HT_CHECK_EQ_INT (gossip_want_stats (w)->retried, 0);
    gossip_want_expire (w, 100000);
    gossip_want_peer_gone (w, 2);
    HT_CHECK (gossip_want_contains (w, h));
    HT_CHECK_EQ_INT (gossip_want_take (w, 2, 11, 0, out, 1), 0);
    gossip_want_arrived (w, h);
    HT_CHECK_EQ_INT (gossip_want_count (w), 0);
    HT_CHECK_EQ_INT (gossip_want_expected (w), 0);
    s_hash (2, h);
    gossip_want_in_hand (w, h);                                 /* untracked: nothing */
    HT_CHECK_EQ_INT (gossip_want_count (w), 0);
    HT_CHECK_EQ_INT (gossip_want_expected (w), 0);
    gossip_want_destroy (&w);
}

/*  Many peers, random traffic: the invariants hold and everything ends
    forgotten or arrived. */
HT_TEST (test_random)
{
    gossip_want_t *w = s_new (500, 64, 4, 50);
    uint8_t h [32], out [32 * 16];
    uint64_t now = 1, next_id = 1;
    uint32_t seed = 12345;
    for (int step = 0; step < 200000; step++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t r = seed >> 8;
        uint32_t peer = r % 8;
        switch ((r >> 4) % 6) {
            case 0: case 1:
                s_hash ((r >> 8) % 2000, h);
                gossip_want_announce (w, peer, h);
                break;
            case 2:
                gossip_want_take (w, peer, next_id++, now, out, 1 + (r >> 8) % 16);
                break;
            case 3:
                gossip_want_answered (w, peer, next_id - 1 - (r >> 8) % 8, (r >> 12) & 1, now);
                break;
            case 4:
                s_hash ((r >> 8) % 2000, h);
                if ((r >> 20) % 3 == 0)
                    gossip_want_arrived (w, h);
                else
                if ((r >> 20) % 3 == 1)
                    gossip_want_in_hand (w, h);
                else
                    gossip_want_claim (w, peer, next_id++, now, h);
                break;
            default:
                if ((r >> 8) % 64 == 0)
                    gossip_want_peer_gone (w, peer);
                now += (r >> 8) % 7;
                gossip_want_expire (w, now);
                break;
        }
        size_t sum = 0;
        for (uint32_t p = 0; p < 8; p++) {
            HT_CHECK (gossip_want_assigned (w, p) <= 64);
            HT_CHECK (gossip_want_queued (w, p) <= gossip_want_assigned (w, p));
            sum += gossip_want_assigned (w, p);
        }
        HT_CHECK (gossip_want_count (w) <= 500);
        HT_CHECK (gossip_want_expected (w) == sum);             /* assigned = tracked, not in hand */
        if (sum > gossip_want_count (w)) {                      /* the rest is in hand */
            HT_CHECK (sum <= gossip_want_count (w));
            break;
        }
    }
    for (uint32_t p = 0; p < 8; p++)
        gossip_want_peer_gone (w, p);
    for (uint32_t i = 0; i < 2000; i++) {
        s_hash (i, h);
        gossip_want_arrived (w, h);
    }
    HT_CHECK_EQ_INT (gossip_want_count (w), 0);
    gossip_want_destroy (&w);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    HT_RUN (test_limits_refused);
    HT_RUN (test_announce_take_arrive);
    HT_RUN (test_window);
    HT_RUN (test_caps);
    HT_RUN (test_answer_without_event);
    HT_RUN (test_timeout);
    HT_RUN (test_peer_gone);
    HT_RUN (test_claim);
    HT_RUN (test_in_hand);
    HT_RUN (test_random);
    return ht_summary ();
}
