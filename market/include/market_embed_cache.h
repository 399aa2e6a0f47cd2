/*  market_embed_cache.h — the per-post embedding cache of market.search
    (docs/market.md, "Semantic ranking").

    An LRU of post embeddings keyed by (model, event_id, hash(title + body)):
    a post is embedded once per text and model; an update (a new text hash)
    or an expiry makes its entry invalid, and the node embeds it again only
    if it is searched as active with the new text. One model at a time:
    putting a vector of another model or dimension empties the cache first
    (vectors of two models are not comparable).

    Vectors are stored unit-normalised and quantised to int8 with one scale
    per vector (dim + 4 bytes each), so a search scans every cached vector
    with an integer dot product: cosine similarity to ~1e-2, enough to rank;
    above MARKET_EMBED_EXACT_MAX entries, their sign bits (dim / 8 bytes)
    pick the candidates first.
    Pure: no I/O, no clock.
*/
#ifndef HEARTH_MARKET_EMBED_CACHE_H
#define HEARTH_MARKET_EMBED_CACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Entries by default (HearthNet's LRU cap for embed.text clients), and the largest capacity a
    config may set: 2 million entries of a 1024-dim model are ~2 GiB, the
    most a neighbourhood node should ever spend on this. */
#define MARKET_EMBED_CACHE_DEFAULT_ENTRIES 5000
#define MARKET_EMBED_CACHE_MAX_ENTRIES     2000000
/*  Dimensions a vector may have: the multilingual models in use have 384
    (e5-small) to 1024 (bge-m3); 4096 covers the largest embedding models. */
#define MARKET_EMBED_MIN_DIM               2
#define MARKET_EMBED_MAX_DIM               4096
/*  Model names at most (bytes): the cache keeps one. */
#define MARKET_EMBED_MAX_MODEL             128
/*  Up to this many entries a search scores every one exactly; above, it
    first ranks all by the Hamming distance of their sign bits and scores
    the MARKET_EMBED_RESCORE closest exactly (8x less memory read per
    post: the scan of 100,000 posts reads 4.8 MB instead of 38 MB). */
#define MARKET_EMBED_EXACT_MAX             4096
#define MARKET_EMBED_RESCORE               2048
/*  Nearest neighbours one scan returns at most. */
#define MARKET_EMBED_MAX_NEAREST           256

typedef struct _market_embed_cache_t market_embed_cache_t;

typedef struct {
    uint64_t hits;            /* has/get found a current entry */
    uint64_t misses;          /* has found none, or a stale one */
    uint64_t inserts;
    uint64_t evictions;       /* least recently used entries dropped for room */
    uint64_t invalidations;   /* entries dropped: text changed, post expired, model changed */
    uint64_t rejected;        /* vectors refused (dimension, NaN/Inf, zero length) */
    size_t   entries;
    size_t   capacity;
    size_t   dim;             /* of the cached model, 0 when empty */
    size_t   bytes;           /* memory held for entries */
} market_embed_cache_stats_t;

typedef struct {
    const char *event_id;     /* borrowed until the cache's next change */
    uint64_t    text_hash;
    float       similarity;   /* cosine, in [-1, 1] */
} market_embed_hit_t;

/*  New empty cache of at most capacity entries (1 ..
    MARKET_EMBED_CACHE_MAX_ENTRIES); NULL on OOM or a bad capacity. */
market_embed_cache_t *market_embed_cache_new (size_t capacity);
/*  Free; safe on NULL; nulls *self_p. */
void market_embed_cache_destroy (market_embed_cache_t **self_p);

/*  The text hash of the key: 64 bits of BLAKE2b over title, a NUL, body. */
uint64_t market_embed_text_hash (const char *title, const char *body);

/*  Store the embedding of (model, event_id, text_hash): vec (dim floats,
    borrowed) is normalised and quantised. Replaces an entry of the same id.
    Evicts the least recently used entry when full. A model or dim other
    than the cached one empties the cache first. 0, HEARTH_EINVAL (dim out
    of range, NaN/Inf, zero vector, model or id too long; counted as
    rejected), HEARTH_ENOMEM. */
int  market_embed_cache_put (market_embed_cache_t *self, const char *model, const char *event_id,
                             uint64_t text_hash, const float *vec, size_t dim);

/*  1 if a current entry of (model, event_id, text_hash) is cached (it
    becomes the most recently used; a hit), 0 if not (a miss; an entry of
    the id with another text hash is dropped as invalid). */
int  market_embed_cache_has (market_embed_cache_t *self, const char *model, const char *event_id,
                             uint64_t text_hash);

/*  Drop the entry of event_id (post updated or expired); 1 if there was one. */
int  market_embed_cache_invalidate (market_embed_cache_t *self, const char *event_id);

/*  The n (<= MARKET_EMBED_MAX_NEAREST) cached entries of `model` most similar
    to query (dim floats, normalised here) with a similarity above 0, best
    first; ties by event id, descending. Returns the count written to out; 0 if the model or dim
    differs or the query is not finite. */
size_t market_embed_cache_nearest (market_embed_cache_t *self, const char *model, const float *query,
                                   size_t dim, size_t n, market_embed_hit_t *out);

/*  The cached model ("" when empty; borrowed). */
const char *market_embed_cache_model (const market_embed_cache_t *self);

void market_embed_cache_stats (const market_embed_cache_t *self, market_embed_cache_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
