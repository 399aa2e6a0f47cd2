/*  hostile_events.c — test driver: events a hostile member (or an older
    version) put into a node's log, stored as they are.

        hostile_events DATA_DIR KIND [COUNT]
    Signs COUNT events of KIND with DATA_DIR's identity for DATA_DIR's
    community and stores them with eventlog_store_unchecked into the
    stopped node's log (no receive rule applies), so the node serves them
    to its peers when it runs, as a modified node of a hostile member
    would, or holds them as a data dir of an older version does. KIND:
        expired-invites  invites of random keys that expired an hour before
                         they were signed, in descending event id order
        live-invites     invites of random keys valid for a day
        lamport0-post    market posts at Lamport 0
        future-post      market posts dated 9999-12-31T23:59:59Z
        forged-post      market posts whose signature is broken (one bit)
        post             valid market posts, titled "Valid N"
    Lamports (but for lamport0-post) continue from the log's head. Prints
    {"stored":N,"seconds":S}. Not a test and not part of a node.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "eventlog.h"
#include "eventlog_testing.h"
#include "../bench/hearth_bench.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "identity.h"
#include "ulid.h"

/*  9999-12-31T23:59:59Z in unix ms. */
#define S_FAR_FUTURE_MS  UINT64_C (253402300799000)
#define S_HOUR_MS        UINT64_C (3600000)

static int
s_usage (void)
{
    fprintf (stderr, "usage: hostile_events DATA_DIR expired-invites|live-invites|lamport0-post|future-post"
                     "|forged-post|post [COUNT]\n");
    return 2;
}

int
main (int argc, char **argv)
{
    if (argc < 3 || sodium_init () < 0)
        return s_usage ();
    const char *data_dir = argv [1], *kind = argv [2];
    long long count = argc > 3? atoll (argv [3]): 1;
    int invites = strcmp (kind, "expired-invites") == 0 || strcmp (kind, "live-invites") == 0;
    int forged = strcmp (kind, "forged-post") == 0, valid = strcmp (kind, "post") == 0;
    if (count < 1 || (!invites && !forged && !valid && strcmp (kind, "lamport0-post") != 0
                      && strcmp (kind, "future-post") != 0))
        return s_usage ();
    char path [4096];
    snprintf (path, sizeof path, "%s/keys", data_dir);
    int err = 0;
    identity_t *who = identity_load (path, &err);
    if (!who) {
        fprintf (stderr, "hostile_events: no identity in %s: %s\n", path, hearth_strerror (err));
        return 1;
    }
    snprintf (path, sizeof path, "%s/db", data_dir);
    eventlog_t *log = eventlog_open (path, &err);
    if (!log || !eventlog_community_id (log)) {
        fprintf (stderr, "hostile_events: cannot open %s: %s\n", path, hearth_strerror (err));
        identity_destroy (&who);
        eventlog_destroy (&log);
        return 1;
    }
    uint8_t **frames = calloc ((size_t) count, sizeof *frames);
    size_t *lens = calloc ((size_t) count, sizeof *lens);
    char (*ids) [ULID_SIZE] = calloc ((size_t) count, ULID_SIZE);
    int rc = frames && lens && ids? 0: 1;
    uint64_t now_ms = hearth_now_ms (), head = eventlog_stats (log)->lamport_head;
    ulid_gen_t gen;
    memset (&gen, 0, sizeof gen);
    for (long long i = 0; i < count && rc == 0; i++) {
        uint8_t rnd [10];
        randombytes_buf (rnd, sizeof rnd);
        ulid_gen_next (&gen, now_ms, rnd, ids [i]);
    }
    double start = hb_now_s ();
    for (long long i = 0; i < count && rc == 0; i++) {
        Hearth__Event e = HEARTH__EVENT__INIT;
        e.schema_version = 1;
        e.lamport = head + 1 + (uint64_t) i;
        e.wall_clock_ms = now_ms;
        e.community_id.data = (uint8_t *) eventlog_community_id (log);
        e.community_id.len = 32;
        e.author.data = (uint8_t *) identity_public_key (who);
        e.author.len = 32;
        Hearth__MemberInvited inv = HEARTH__MEMBER_INVITED__INIT;
        Hearth__MarketPostCreated post = HEARTH__MARKET_POST_CREATED__INIT;
        uint8_t invitee [32];
        char title [64];
        if (invites) {
            /*  Descending ids: the order that made a sorted insert quadratic. */
            e.event_id = ids [count - 1 - i];
            randombytes_buf (invitee, sizeof invitee);
            inv.invitee.data = invitee;
            inv.invitee.len = 32;
            inv.display_name = (char *) "";
            inv.initial_level = HEARTH__LEVEL__LEVEL_MEMBER;
            inv.expires_at_ms = kind [0] == 'e'? now_ms - S_HOUR_MS: now_ms + 24 * S_HOUR_MS;
            e.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED;
            e.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_INVITED;
            e.member_invited = &inv;
        }
        else {
            e.event_id = ids [i];
            if (kind [0] == 'l')
                e.lamport = 0;
            else
            if (kind [0] == 'f' && !forged)
                e.wall_clock_ms = S_FAR_FUTURE_MS;
            snprintf (title, sizeof title, "%s %lld",
                      valid? "Valid": forged? "Forged": kind [0] == 'l'? "Lamport zero": "Forever", i);
            post.category = HEARTH__CATEGORY__CATEGORY_OFFER;
            post.title = title;
            post.body = (char *) (valid? "A post its peers accept.": "A post its peers must refuse.");
            post.ttl_seconds = 86400;
            e.type = HEARTH__EVENT_TYPE__MARKET_POST_CREATED;
            e.payload_case = HEARTH__EVENT__PAYLOAD_MARKET_POST_CREATED;
            e.market_post_created = &post;
        }
        event_t *ev = event_sign (&e, who, &err);
        if (!ev) {
            fprintf (stderr, "hostile_events: signing failed: %s\n", hearth_strerror (err));
            rc = 1;
            break;
        }
        size_t len;
        const uint8_t *wire = event_wire (ev, &len);
        frames [i] = malloc (len);
        if (!frames [i])
            rc = 1;
        else {
            memcpy (frames [i], wire, len);
            lens [i] = len;
            if (forged)
                frames [i][len - 1] ^= 1;   /* SignedEvent: the signature (field 2) comes last */
        }
        event_destroy (&ev);
    }
    if (rc == 0) {
        err = eventlog_store_unchecked (log, (const uint8_t *const *) frames, lens, (size_t) count);
        if (err) {
            fprintf (stderr, "hostile_events: store failed: %s\n", hearth_strerror (err));
            rc = 1;
        }
    }
    double seconds = hb_now_s () - start;
    for (long long i = 0; frames && i < count; i++)
        free (frames [i]);
    free (frames);
    free (lens);
    free (ids);
    eventlog_destroy (&log);
    identity_destroy (&who);
    if (rc == 0)
        printf ("{\"stored\":%lld,\"seconds\":%.3f}\n", count, seconds);
    return rc;
}
