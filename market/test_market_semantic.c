/*  test_market_semantic.c — the embedding cache (LRU, invalidation, hostile
    vectors), reciprocal rank fusion, and fused search over a real view.
*/
#include <math.h>
#include <sodium.h>
#include "test_market_util.h"
#include "market_embed_cache.h"
#include "market_fuse.h"
#include "market_semantic.h"
#include "market_view.h"

#define T0 UINT64_C (1780000000000)
#define HOUR_MS UINT64_C (3600000)
#define DAY_S   86400
#define OFFER HEARTH__CATEGORY__CATEGORY_OFFER
#define DIM 8

/*  A unit-ish vector pointing along axis `a` with a little of axis b. */
static void
s_vec (float *v, int a, int b, float mix)
{
    for (int i = 0; i < DIM; i++)
        v [i] = 0;
    v [a] = 1.0f;
    v [b] += mix;
}

HT_TEST (test_cache_put_has_evict_invalidate)
{
    market_embed_cache_t *cache = market_embed_cache_new (3);
    HT_CHECK (cache);
    HT_CHECK (market_embed_cache_new (0) == NULL);
    HT_CHECK (market_embed_cache_new (MARKET_EMBED_CACHE_MAX_ENTRIES + 1) == NULL);
    float v [DIM];
    s_vec (v, 0, 1, 0);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "A", 1, v, DIM), 0);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "B", 2, v, DIM), 0);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "C", 3, v, DIM), 0);
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "m", "A", 1), 1);     // A most recent
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "D", 4, v, DIM), 0);  // evicts B
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "m", "B", 2), 0);
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "m", "C", 3), 1);
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "other", "C", 3), 0); // other model: miss
    //  An update: another text hash is a miss and drops the stale entry
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "m", "D", 5), 0);
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "m", "D", 4), 0);
    HT_CHECK_EQ_INT (market_embed_cache_invalidate (cache, "A"), 1);
    HT_CHECK_EQ_INT (market_embed_cache_invalidate (cache, "A"), 0);
    market_embed_cache_stats_t st;
    market_embed_cache_stats (cache, &st);
    HT_CHECK_EQ_INT (st.entries, 1);
    HT_CHECK_EQ_INT (st.evictions, 1);
    HT_CHECK_EQ_INT (st.invalidations, 2);
    HT_CHECK_EQ_INT (st.hits, 2);
    HT_CHECK_EQ_INT (st.capacity, 3);
    HT_CHECK_EQ_INT (st.dim, DIM);
    //  Freed slots are reused; the cache never exceeds its capacity
    for (int i = 0; i < 50; i++) {
        char id [8];
        snprintf (id, sizeof id, "X%d", i);
        HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", id, (uint64_t) i, v, DIM), 0);
    }
    market_embed_cache_stats (cache, &st);
    HT_CHECK_EQ_INT (st.entries, 3);
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "m", "X49", 49), 1);
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "m", "X46", 46), 0);
    //  Another model or dim empties the cache
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m2", "Y", 1, v, DIM), 0);
    market_embed_cache_stats (cache, &st);
    HT_CHECK_EQ_INT (st.entries, 1);
    HT_CHECK_EQ_STR (market_embed_cache_model (cache), "m2");
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m2", "Z", 1, v, DIM - 1), 0);
    market_embed_cache_stats (cache, &st);
    HT_CHECK_EQ_INT (st.entries, 1);
    HT_CHECK_EQ_INT (st.dim, DIM - 1);
    market_embed_cache_destroy (&cache);
    HT_CHECK (cache == NULL);
    market_embed_cache_destroy (&cache);
}

HT_TEST (test_cache_refuses_hostile_vectors)
{
    market_embed_cache_t *cache = market_embed_cache_new (4);
    float v [DIM];
    s_vec (v, 0, 1, 0);
    v [3] = NAN;
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "A", 1, v, DIM), HEARTH_EINVAL);
    v [3] = INFINITY;
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "A", 1, v, DIM), HEARTH_EINVAL);
    for (int i = 0; i < DIM; i++)
        v [i] = 0;
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "A", 1, v, DIM), HEARTH_EINVAL);
    v [0] = 3e38f;  v [1] = 3e38f;      // the squared norm overflows a float, not a double
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "A", 1, v, DIM), 0);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "B", 1, v, 1), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "B", 1, v, MARKET_EMBED_MAX_DIM + 1),
                     HEARTH_EINVAL);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", "01234567890123456789012345678", 1, v, DIM),
                     HEARTH_EINVAL);
    market_embed_cache_stats_t st;
    market_embed_cache_stats (cache, &st);
    HT_CHECK_EQ_INT (st.rejected, 6);
    HT_CHECK_EQ_INT (st.entries, 1);
    //  A NaN query finds nothing
    v [0] = NAN;
    market_embed_hit_t hits [4];
    HT_CHECK_EQ_INT (market_embed_cache_nearest (cache, "m", v, DIM, 4, hits), 0);
    market_embed_cache_destroy (&cache);
}

HT_TEST (test_cache_nearest_orders_by_cosine)
{
    market_embed_cache_t *cache = market_embed_cache_new (10);
    float v [DIM];
    s_vec (v, 0, 1, 0.1f);  market_embed_cache_put (cache, "m", "NEAR", 1, v, DIM);
    s_vec (v, 0, 1, 1.0f);  market_embed_cache_put (cache, "m", "MID", 2, v, DIM);
    s_vec (v, 1, 2, 0.0f);  market_embed_cache_put (cache, "m", "FAR", 3, v, DIM);
    s_vec (v, 0, 1, 0.1f);  market_embed_cache_put (cache, "m", "TWIN", 4, v, DIM);
    float q [DIM];
    s_vec (q, 0, 1, 0.0f);
    q [0] = 5.0f;           // any length: the query is normalised
    market_embed_hit_t hits [4];
    size_t n = market_embed_cache_nearest (cache, "m", q, DIM, 4, hits);
    HT_CHECK_EQ_INT (n, 3);                             // FAR is orthogonal: no candidate
    HT_CHECK_EQ_STR (hits [0].event_id, "TWIN");        // equal to NEAR: larger id first
    HT_CHECK_EQ_STR (hits [1].event_id, "NEAR");
    HT_CHECK_EQ_STR (hits [2].event_id, "MID");
    HT_CHECK (fabsf (hits [1].similarity - 1.0f / sqrtf (1.01f)) < 0.02f);
    HT_CHECK (fabsf (hits [2].similarity - 1.0f / sqrtf (2.0f)) < 0.02f);
    HT_CHECK_EQ_INT (market_embed_cache_nearest (cache, "m", q, DIM, 2, hits), 2);
    HT_CHECK_EQ_STR (hits [1].event_id, "NEAR");
    HT_CHECK_EQ_INT (market_embed_cache_nearest (cache, "x", q, DIM, 2, hits), 0);
    HT_CHECK_EQ_INT (market_embed_cache_nearest (cache, "m", q, DIM - 1, 2, hits), 0);
    market_embed_cache_destroy (&cache);
}

/*  Above MARKET_EMBED_EXACT_MAX entries the sign-bit stage picks the
    candidates: the top 20 must still be (nearly) the exact top 20. */
HT_TEST (test_cache_two_stage_finds_the_nearest)
{
    enum { N = 3 * MARKET_EMBED_EXACT_MAX, D = 64, TOP = 20 };
    market_embed_cache_t *cache = market_embed_cache_new (N);
    static float vecs [N][D];
    uint64_t rng = 1;
    char id [16];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++)
            vecs [i][j] = (float) ((int64_t) (ht_splitmix64 (&rng) >> 40) - (1 << 23)) / (float) (1 << 23);
        snprintf (id, sizeof id, "P%05d", i);
        HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", id, 0, vecs [i], D), 0);
    }
    int hits_total = 0;
    for (int t = 0; t < 10; t++) {
        //  A query near post t*100, so there is a clear nearest
        float q [D];
        for (int j = 0; j < D; j++)
            q [j] = vecs [t * 100][j] + 0.5f * vecs [t * 100 + 1][j];
        //  Exact cosines, top 20 by selection
        static double cos [N];
        double qn = 0;
        for (int j = 0; j < D; j++)
            qn += (double) q [j] * q [j];
        for (int i = 0; i < N; i++) {
            double dot = 0, vn = 0;
            for (int j = 0; j < D; j++) {
                dot += (double) q [j] * vecs [i][j];
                vn += (double) vecs [i][j] * vecs [i][j];
            }
            cos [i] = dot / sqrt (qn * vn);
        }
        int exact [TOP];
        for (int k = 0; k < TOP; k++) {
            int best = -1;
            for (int i = 0; i < N; i++) {
                int taken = 0;
                for (int m = 0; m < k; m++)
                    taken |= exact [m] == i;
                if (!taken && (best < 0 || cos [i] > cos [best]))
                    best = i;
            }
            exact [k] = best;
        }
        market_embed_hit_t hits [TOP];
        size_t n = market_embed_cache_nearest (cache, "m", q, D, TOP, hits);
        HT_CHECK_EQ_INT (n, TOP);
        snprintf (id, sizeof id, "P%05d", t * 100);
        HT_CHECK_EQ_STR (hits [0].event_id, id);
        for (int k = 0; k < TOP; k++) {
            snprintf (id, sizeof id, "P%05d", exact [k]);
            for (size_t m = 0; m < n; m++)
                hits_total += strcmp (hits [m].event_id, id) == 0;
        }
    }
    //  Recall of the exact top 20 over 10 queries (int8 rounding reorders
    //  near-ties at the edge, so not necessarily all 200)
    HT_CHECK (hits_total >= 190);
    market_embed_cache_destroy (&cache);
}

HT_TEST (test_rrf_keeps_every_lexical_hit)
{
    const char *lex [] = { "L1", "L2", "BOTH", "L4" };
    const char *sem [] = { "BOTH", "S1", "S2" };
    market_fuse_item_t out [7];
    size_t n = market_fuse_rrf (lex, 4, sem, 3, out);
    HT_CHECK_EQ_INT (n, 6);
    HT_CHECK_EQ_STR (out [0].event_id, "BOTH");         // ranked by both sides
    HT_CHECK_EQ_INT (out [0].lexical_rank, 3);
    HT_CHECK_EQ_INT (out [0].semantic_rank, 1);
    //  L1 and S1 tie at rank 1 of one list... L1 is rank 1, S1 rank 2
    HT_CHECK_EQ_STR (out [1].event_id, "L1");
    HT_CHECK_EQ_STR (out [2].event_id, "L2");           // 1/62 == S1's 1/62: lexical first
    HT_CHECK_EQ_STR (out [3].event_id, "S1");
    HT_CHECK_EQ_STR (out [4].event_id, "S2");
    HT_CHECK_EQ_STR (out [5].event_id, "L4");
    //  No semantic side: the lexical order unchanged
    n = market_fuse_rrf (lex, 4, NULL, 0, out);
    HT_CHECK_EQ_INT (n, 4);
    for (size_t i = 0; i < 4; i++)
        HT_CHECK_EQ_STR (out [i].event_id, lex [i]);
}

static int
s_count (void *arg, const market_post_t *post, uint64_t text_hash)
{
    (void) post;
    (void) text_hash;
    (*(int *) arg)++;
    return 0;
}

/*  Fused search over a view: semantic-only hits join, lexical hits stay,
    an expired or edited post's cached vector is dropped. */
HT_TEST (test_semantic_search_fuses_and_invalidates)
{
    identity_t *root = tm_identity (0x01);
    const uint8_t *community = identity_public_key (root);
    membership_t *members = membership_new (community);
    HT_CHECK_EQ_INT (tm_member_apply (members, tm_community_created (root, T0)), 0);
    market_view_t *view = market_view_new ();
    event_t *a = tm_created (root, community, 2, T0 + 1, 1, NULL, OFFER, "Rollstuhl zu verleihen",
                             "Faltbarer Rollstuhl", NULL, 0, 7 * DAY_S);
    event_t *b = tm_created (root, community, 3, T0 + 2, 2, NULL, OFFER, "Wheelchair available",
                             "to borrow", NULL, 0, 7 * DAY_S);
    event_t *c = tm_created (root, community, 4, T0 + 3, 3, NULL, OFFER, "Crutches to lend",
                             "aluminium", NULL, 0, 1);          // expires after 1 s
    HT_CHECK_EQ_INT (market_view_apply (view, a), 0);
    HT_CHECK_EQ_INT (market_view_apply (view, b), 0);
    HT_CHECK_EQ_INT (market_view_apply (view, c), 0);
    uint64_t now = T0 + HOUR_MS;
    market_embed_cache_t *cache = market_embed_cache_new (16);
    float v [DIM];
    s_vec (v, 0, 1, 0.05f);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", event_id (a), market_embed_text_hash (
                     "Rollstuhl zu verleihen", "Faltbarer Rollstuhl"), v, DIM), 0);
    s_vec (v, 0, 1, 0.0f);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", event_id (b), market_embed_text_hash (
                     "Wheelchair available", "to borrow"), v, DIM), 0);
    HT_CHECK_EQ_INT (market_embed_cache_put (cache, "m", event_id (c), market_embed_text_hash (
                     "Crutches to lend", "aluminium"), v, DIM), 0);

    //  The missing scan finds nothing to embed: both active posts are cached
    HT_CHECK_EQ_INT (market_semantic_missing (view, members, cache, "m", now, 100, NULL, NULL), 0);

    float q [DIM];
    s_vec (q, 0, 1, 0.0f);
    json_t *meta = json_pack ("{s:s}", "provider", "local");
    market_semantic_t sem = { cache, "m", q, DIM, meta };
    json_t *out = NULL;
    HT_CHECK_EQ_INT (market_semantic_search (view, members, "rollstuhl", 10, &sem, now, &out), 0);
    json_t *posts = json_object_get (out, "posts");
    HT_CHECK_EQ_INT (json_array_size (posts), 2);   // the lexical hit and the English post; not c
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_object_get (out, "meta"), "ranking")),
                     "fused");
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_object_get (out, "meta"), "provider")),
                     "local");
    HT_CHECK_EQ_INT (json_integer_value (json_object_get (json_object_get (out, "meta"),
                                                         "semantic_dropped")), 1);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_array_get (posts, 0), "event_id")),
                     event_id (a));                 // lexical 1 + semantic 2 beats semantic 1 only
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_array_get (posts, 1), "event_id")),
                     event_id (b));
    json_decref (out);
    HT_CHECK_EQ_INT (market_embed_cache_has (cache, "m", event_id (c), market_embed_text_hash (
                     "Crutches to lend", "aluminium")), 0);     // the expired post was dropped

    //  The author edits a post: its cached vector no longer counts
    event_t *u = tm_updated (root, community, 5, T0 + 4, 4, event_id (b), "Wheelchair gone", NULL,
                             NULL, 0, 0);
    HT_CHECK_EQ_INT (market_view_apply (view, u), 0);
    HT_CHECK_EQ_INT (market_semantic_search (view, members, "rollstuhl", 10, &sem, now, &out), 0);
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 1);
    json_decref (out);
    int seen = 0;
    HT_CHECK_EQ_INT (market_semantic_missing (view, members, cache, "m", now, 100, s_count, &seen), 1);
    HT_CHECK_EQ_INT (seen, 1);                      // only the edited post is to embed again

    //  Without a semantic side: lexical only, named in meta
    HT_CHECK_EQ_INT (market_semantic_search (view, members, "rollstuhl", 10, NULL, now, &out), 0);
    HT_CHECK_EQ_STR (json_string_value (json_object_get (json_object_get (out, "meta"), "ranking")),
                     "lexical");
    HT_CHECK_EQ_INT (json_array_size (json_object_get (out, "posts")), 1);
    json_decref (out);
    json_decref (meta);
    event_destroy (&a);
    event_destroy (&b);
    event_destroy (&c);
    event_destroy (&u);
    market_embed_cache_destroy (&cache);
    market_view_destroy (&view);
    membership_destroy (&members);
    identity_destroy (&root);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    HT_RUN (test_cache_put_has_evict_invalidate);
    HT_RUN (test_cache_refuses_hostile_vectors);
    HT_RUN (test_cache_nearest_orders_by_cosine);
    HT_RUN (test_cache_two_stage_finds_the_nearest);
    HT_RUN (test_rrf_keeps_every_lexical_hit);
    HT_RUN (test_semantic_search_fuses_and_invalidates);
    return ht_summary ();
}
