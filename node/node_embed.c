/*  node_embed.c — providers, workers, waiting searches and the background
    filling of post embeddings; see node_embed.h.

    The loop thread owns everything here except the two workers, which own
    one CURL handle each and talk to the loop only through their actor
    pipes: a job goes out as one message, its result comes back as one.
    Job messages: "JOB", id (8 bytes), kind ("http" | "peer" | "caps"),
    target (URL or peer address), model, expected dim (4 bytes), deadline
    (monotonic ms, 8 bytes), texts... Results: id, rc (4 bytes), failure
    kind (4 bytes), message, dim (4 bytes), model (or the capabilities JSON
    of a "caps" job), vectors (n * dim floats).
*/
#include <curl/curl.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_json.h"
#include "hearth_log.h"
#include "market_semantic.h"
#include "node_embed.h"
#include "ulid.h"

#define S_LOG "embed"

typedef enum { S_UNKNOWN = 0, S_UP = 1, S_DOWN = 2 } s_state_t;
static const char *s_state_names [] = { "unknown", "up", "down" };

typedef enum { S_LANE_QUERY = 0, S_LANE_BULK = 1, S_LANES = 2 } s_lane_t;

/*  What a worker needs; shared with it, read-only but for stop. */
typedef struct {
    const identity_t *identity;     /* borrowed: peer calls are made as this member */
    atomic_int        stop;         /* set before the actor is destroyed: abandon transfers */
} s_worker_args_t;

typedef struct {
    uint64_t            job;        /* 0 = free slot */
    char               *query;      /* owned */
    size_t              k;
    market_near_t       near;       /* the location filter, if has_near */
    int                 has_near;
    node_embed_done_fn *done;
    void               *arg;
    int                 timer;
    int                 provider;   /* -1 = local, else a remote (see s_provider_now) */
    char                provider_id [HEARTH_NODE_ID_SIZE];  /* that remote's NodeID */
    uint64_t            started_ms;
} s_search_t;

typedef struct {
    uint64_t            job;
    node_embed_done_fn *done;
    void               *arg;
    int                 normalize;
    uint64_t            started_ms;
} s_serve_t;

typedef struct {
    uint64_t job;                   /* 0 = free */
    char     address [GOSSIP_MAX_ADDRESS];
} s_caps_t;

typedef struct {
    char      node_id [HEARTH_NODE_ID_SIZE];
    char      address [GOSSIP_MAX_ADDRESS];
    char      model [MARKET_EMBED_MAX_MODEL + 1];
    size_t    dim;
    s_state_t state;
} s_remote_t;

typedef struct {
    char     id [ULID_SIZE];
    uint64_t hash;
} s_post_key_t;

struct _node_embed_t {
    node_embed_config_t cfg;
    market_t         *market;           /* borrowed */
    eventlog_t       *log;              /* borrowed */
    zloop_t          *loop;             /* borrowed */
    gossip_t         *mesh;             /* borrowed, may be NULL */
    s_worker_args_t   worker_args;
    zactor_t         *lanes [S_LANES];  /* owned */
    uint64_t          next_job;
    market_embed_cache_t *cache;        /* owned */
    /*  The local backend. */
    s_state_t         local_state;
    size_t            local_dim;
    char              local_error [200];
    int               local_probing;
    uint64_t          local_probe_job;
    /*  Members advertising embed.text. */
    s_remote_t        remotes [NODE_EMBED_MAX_REMOTES];
    size_t            n_remotes;
    uint64_t          peers_probed_ms;  /* mono time of the last round, 0 = never */
    uint64_t          peer_interval_ms; /* until the next round (backs off, see s_on_probe) */
    uint64_t          peers_signature;  /* of the connected peers at the last look */
    s_caps_t          caps [NODE_EMBED_MAX_REMOTES];   /* node.capabilities calls in flight */
    size_t            caps_in_flight;
    /*  The provider in use, as last logged ("" = none yet). */
    char              chosen [NODE_EMBED_URL_MAX + GOSSIP_MAX_ADDRESS + MARKET_EMBED_MAX_MODEL + 32];
    /*  Waiting searches and served calls. */
    s_search_t        searches [NODE_EMBED_MAX_PENDING];
    s_serve_t         serves [NODE_EMBED_SERVE_MAX_CONCURRENT];
    /*  Background filling. */
    s_post_key_t     *queue;            /* owned, NODE_EMBED_BACKFILL_QUEUE */
    size_t            queue_head, queue_len;
    uint64_t          scanned_lamport;  /* view max_lamport at the last complete scan */
    char              scanned_model [MARKET_EMBED_MAX_MODEL + 1];
    int               rescan;
    uint64_t          bulk_job;         /* the batch in flight, 0 = none */
    s_post_key_t      bulk_keys [NODE_EMBED_BATCH_MAX];
    size_t            bulk_n;
    char              bulk_model [MARKET_EMBED_MAX_MODEL + 1];
    int               bulk_provider;
    char              bulk_provider_id [HEARTH_NODE_ID_SIZE];
    int               timer_backfill, timer_probe;
    /*  Counters. */
    uint64_t          calls_ok, calls_failed [NODE_EMBED_FAIL_KINDS];
    uint64_t          searches_fused, searches_lexical, searches_timeout, searches_busy, late;
    uint64_t          served_ok, served_failed, posts_embedded;
};

/* ---- the worker thread -------------------------------------------------------- */

/*  Copy a frame of exactly size bytes into v; v stays as it is if the frame
    is missing or of another size. */
static void
s_frame_copy (zframe_t *frame, void *v, size_t size)
{
    if (frame && zframe_size (frame) == size)
        memcpy (v, zframe_data (frame), size);
}

static uint64_t
s_frame_u64 (zframe_t *frame)
{
    uint64_t v = 0;
    s_frame_copy (frame, &v, sizeof v);
    return v;
}

static uint32_t
s_frame_u32 (zframe_t *frame)
{
    uint32_t v = 0;
    s_frame_copy (frame, &v, sizeof v);
    return v;
}

/*  A peer's embed.text, as this member. */
static int
s_worker_peer (s_worker_args_t *args, const char *address, const char *model,
               const char *const *texts, size_t n, size_t expected_dim, uint32_t timeout_ms,
               float **vectors, size_t *dim, char *model_out, node_embed_fail_t *kind,
               char **message)
{
    json_t *arr = json_array ();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new (arr, json_stringn (texts [i], node_embed_text_cut (
                                   texts [i], NODE_EMBED_MAX_TEXT_BYTES)));
    json_t *input = arr? json_pack ("{s:o}", "texts", arr): NULL;
    if (input && *model)
        json_object_set_new (input, "model", json_string (model));
    if (!input)
        return HEARTH_ENOMEM;
    json_t *output = NULL;
    int rc = gossip_client_call (args->identity, address, "embed.text", input, (int) timeout_ms,
                                 &output, message, NULL);
    json_decref (input);
    if (rc != HEARTH_OK) {
        *kind = rc == HEARTH_ETIMEOUT? NODE_EMBED_FAIL_TIMEOUT: NODE_EMBED_FAIL_UNREACHABLE;
        return rc;
    }
    const char *reply_model = json_string_value (json_object_get (output, "model"));
    snprintf (model_out, MARKET_EMBED_MAX_MODEL + 1, "%s", reply_model? reply_model: model);
    rc = node_embed_vectors_parse (json_object_get (output, "embeddings"), n, expected_dim, vectors,
                                   dim, kind, message);
    json_decref (output);
    return rc;
}

static void
s_worker (zsock_t *pipe, void *argp)
{
    s_worker_args_t *args = (s_worker_args_t *) argp;
    CURL *curl = curl_easy_init ();
    zsock_signal (pipe, 0);
    for (;;) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;
        char *command = zmsg_popstr (msg);
        if (!command || strcmp (command, "JOB") != 0) {
            int term = command && strcmp (command, "$TERM") == 0;
            free (command);
            zmsg_destroy (&msg);
            if (term)
                break;
            continue;
        }
        free (command);
        zframe_t *f_job = zmsg_pop (msg);
        char *kind_name = zmsg_popstr (msg);
        char *target = zmsg_popstr (msg);
        char *model = zmsg_popstr (msg);
        zframe_t *f_dim = zmsg_pop (msg);
        zframe_t *f_deadline = zmsg_pop (msg);
        size_t n = zmsg_size (msg);
        char **texts = (char **) calloc (n? n: 1, sizeof (char *));
        for (size_t i = 0; texts && i < n; i++)
            texts [i] = zmsg_popstr (msg);
        uint64_t deadline = s_frame_u64 (f_deadline);
        uint64_t now = hearth_mono_ms ();
        uint32_t timeout_ms = deadline > now? (uint32_t) (deadline - now): 0;
        float *vectors = NULL;
        size_t dim = 0;
        char model_out [MARKET_EMBED_MAX_MODEL + 1];
        snprintf (model_out, sizeof model_out, "%s", model? model: "");
        node_embed_fail_t kind = NODE_EMBED_FAIL_NONE;
        char *message = NULL;
        char *caps = NULL;
        int rc;
        if (!texts || !kind_name || !target || !model)
            rc = HEARTH_ENOMEM;
        else
        if (timeout_ms == 0) {
            rc = HEARTH_ETIMEOUT;
            kind = NODE_EMBED_FAIL_TIMEOUT;
            message = hearth_message ("its deadline passed while it waited for the worker");
        }
        else
        if (strcmp (kind_name, "http") == 0) {
            if (!curl)
                rc = HEARTH_ENOMEM;
            else
                rc = node_embed_http_call (curl, target, model, (const char *const *) texts, n,
                                           s_frame_u32 (f_dim), timeout_ms, &args->stop, &vectors,
                                           &dim, &kind, &message);
        }
        else
        if (strcmp (kind_name, "peer") == 0)
            rc = s_worker_peer (args, target, model, (const char *const *) texts, n,
                                s_frame_u32 (f_dim), timeout_ms, &vectors, &dim, model_out, &kind,
                                &message);
        else {
            json_t *output = NULL;
            json_t *input = json_object ();
            rc = gossip_client_call (args->identity, target, "node.capabilities", input,
                                     (int) timeout_ms, &output, &message, NULL);
            json_decref (input);
            caps = rc == HEARTH_OK? json_dumps (output, HEARTH_JSON_FLAGS): NULL;
            json_decref (output);
            if (rc != HEARTH_OK)
                kind = rc == HEARTH_ETIMEOUT? NODE_EMBED_FAIL_TIMEOUT: NODE_EMBED_FAIL_UNREACHABLE;
        }
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &f_job);
        int32_t rc32 = rc, kind32 = (int32_t) kind;
        uint32_t dim32 = (uint32_t) dim;
        zmsg_addmem (reply, &rc32, 4);
        zmsg_addmem (reply, &kind32, 4);
        zmsg_addstr (reply, message? message: "");
        zmsg_addmem (reply, &dim32, 4);
        zmsg_addstr (reply, caps? caps: model_out);
        zmsg_addmem (reply, vectors, rc == HEARTH_OK && vectors? n * dim * sizeof (float): 0);
        zmsg_send (&reply, pipe);
        free (caps);
        free (vectors);
        free (message);
        for (size_t i = 0; texts && i < n; i++)
            free (texts [i]);
        free (texts);
        free (kind_name);
        free (target);
        free (model);
        zframe_destroy (&f_job);
        zframe_destroy (&f_dim);
        zframe_destroy (&f_deadline);
        zmsg_destroy (&msg);
    }
    if (curl)
        curl_easy_cleanup (curl);
}

/*  Send a job to a lane; 0 or HEARTH_ENOMEM / HEARTH_EIO. */
static int
s_submit (node_embed_t *self, s_lane_t lane, uint64_t job, const char *kind, const char *target,
          const char *model, size_t expected_dim, uint64_t deadline, const char *const *texts,
          size_t n)
{
    zmsg_t *msg = zmsg_new ();
    if (!msg)
        return HEARTH_ENOMEM;
    uint32_t dim32 = (uint32_t) expected_dim;
    zmsg_addstr (msg, "JOB");
    zmsg_addmem (msg, &job, 8);
    zmsg_addstr (msg, kind);
    zmsg_addstr (msg, target);
    zmsg_addstr (msg, model);
    zmsg_addmem (msg, &dim32, 4);
    zmsg_addmem (msg, &deadline, 8);
    for (size_t i = 0; i < n; i++)
        zmsg_addstr (msg, texts [i]);
    if (zmsg_send (&msg, self->lanes [lane]) != 0) {
        zmsg_destroy (&msg);
        return HEARTH_EIO;
    }
    return HEARTH_OK;
}

/* ---- providers ------------------------------------------------------------------- */

/*  The provider to use: -1 the local backend, i a remote, -2 none. The
    local one unless it is down; else the first remote up (they are kept
    sorted by NodeID) with the configured model, if one is configured. */
static int
s_choose (node_embed_t *self)
{
    if (self->cfg.url [0] && self->local_state != S_DOWN)
        return -1;
    for (size_t i = 0; i < self->n_remotes; i++)
        if (self->remotes [i].state == S_UP
        &&  (!self->cfg.model [0] || strcmp (self->cfg.model, self->remotes [i].model) == 0))
            return (int) i;
    return -2;
}

static const char *
s_provider_model (node_embed_t *self, int provider)
{
    return provider == -1? self->cfg.model: provider >= 0? self->remotes [provider].model: "";
}

/*  Log the provider in use when it changed (once per change, never per
    query). */
static void
s_note_provider (node_embed_t *self)
{
    int p = s_choose (self);
    char now [sizeof self->chosen];
    if (p == -1)
        snprintf (now, sizeof now, "local %s (%s)", self->cfg.url, self->cfg.model);
    else
    if (p >= 0)
        snprintf (now, sizeof now, "member %s (%s)", self->remotes [p].node_id, self->remotes [p].model);
    else
        snprintf (now, sizeof now, "none");
    if (strcmp (now, self->chosen) == 0)
        return;
    snprintf (self->chosen, sizeof self->chosen, "%s", now);
    if (p == -1)
        hlog_info (S_LOG, "semantic search: using this node's embedding backend %s, model '%s'",
                   self->cfg.url, self->cfg.model);
    else
    if (p >= 0)
        hlog_info (S_LOG, "semantic search: using embed.text of member %s, model '%s' (%zu dims)",
                   self->remotes [p].node_id, self->remotes [p].model, self->remotes [p].dim);
    else
        /*  Info when no provider was ever configured or seen (nothing is
            wrong), a warning when one was lost. */
        hearth_log (self->cfg.url [0] || self->n_remotes? HEARTH_LOG_WARN: HEARTH_LOG_INFO, S_LOG,
                    "semantic search: no embed.text provider available%s; market.search ranks "
                    "lexically until one is", self->cfg.url [0]? " (this node's backend is down)": "");
}

static void
s_local_set (node_embed_t *self, s_state_t state, const char *why)
{
    if (why)
        snprintf (self->local_error, sizeof self->local_error, "%s", why);
    if (state == self->local_state)
        return;
    s_state_t was = self->local_state;
    self->local_state = state;
    if (state == S_UP)
        hlog_info (S_LOG, "embedding backend %s is up (model '%s', %zu dims)", self->cfg.url,
                   self->cfg.model, self->local_dim);
    else
    if (state == S_DOWN)
        hlog_warn (S_LOG, "embedding backend %s is down%s: %s (probed again every %d s)",
                   self->cfg.url, was == S_UNKNOWN? " at start": "", self->local_error,
                   NODE_EMBED_PROBE_MS / 1000);
    s_note_provider (self);
}

static void
s_remote_set (node_embed_t *self, int i, s_state_t state, const char *why)
{
    if (i < 0 || (size_t) i >= self->n_remotes || self->remotes [i].state == state)
        return;
    self->remotes [i].state = state;
    if (state == S_DOWN)
        hlog_warn (S_LOG, "embed.text of member %s failed: %s", self->remotes [i].node_id,
                   why? why: "no answer");
    s_note_provider (self);
}

/*  The index of a remote by NodeID now (the table is re-sorted when a
    member is added, so a call keeps the id, not the index): -1 stays -1
    (local), a remote gone is -2. */
static int
s_provider_now (node_embed_t *self, int provider, const char *node_id)
{
    if (provider < 0)
        return provider;
    for (size_t i = 0; i < self->n_remotes; i++)
        if (strcmp (self->remotes [i].node_id, node_id) == 0)
            return (int) i;
    return -2;
}

static uint64_t
s_new_job (node_embed_t *self)
{
    return ++self->next_job;
}

/*  Probe the local backend (bulk lane) with a one-word text. */
static void
s_probe_local (node_embed_t *self)
{
    if (!self->cfg.url [0] || self->local_probing)
        return;
    const char *text = "hearth";
    self->local_probe_job = s_new_job (self);
    /*  Up means answering within a search's deadline, so the probe has it.
        Once the dimension is known it is held to: a backend that changes it
        (another model behind the same name) stays down, with a message
        saying so, until hearthd restarts. */
    if (s_submit (self, S_LANE_BULK, self->local_probe_job, "http", self->cfg.url, self->cfg.model,
                  self->local_dim, hearth_mono_ms () + self->cfg.timeout_ms, &text, 1) == HEARTH_OK)
        self->local_probing = 1;
}

/*  Ask every connected peer with an address for its capabilities. */
static void
s_probe_peers (node_embed_t *self)
{
    if (!self->mesh || self->caps_in_flight)
        return;
    json_t *peers = gossip_peers_json (self->mesh);
    json_t *list = json_object_get (peers, "peers");
    size_t i;
    json_t *peer;
    json_array_foreach (list, i, peer) {
        const char *address = json_string_value (json_object_get (peer, "address"));
        if (!address || !json_is_true (json_object_get (peer, "connected")))
            continue;
        s_caps_t *slot = NULL;
        for (size_t c = 0; c < NODE_EMBED_MAX_REMOTES && !slot; c++)
            if (!self->caps [c].job)
                slot = &self->caps [c];
        if (!slot)
            break;
        uint64_t job = s_new_job (self);
        if (s_submit (self, S_LANE_BULK, job, "caps", address, "", 0,
                      hearth_mono_ms () + NODE_EMBED_CAPS_TIMEOUT_MS, NULL, 0) == HEARTH_OK) {
            slot->job = job;
            snprintf (slot->address, sizeof slot->address, "%s", address);
            self->caps_in_flight++;
        }
    }
    json_decref (peers);
    self->peers_probed_ms = hearth_mono_ms ();
}

/*  A hash of the connected peers' ids (order-free), to see the set change. */
static uint64_t
s_peers_signature (node_embed_t *self)
{
    json_t *peers = gossip_peers_json (self->mesh);
    uint64_t signature = 0;
    size_t i;
    json_t *peer;
    json_array_foreach (json_object_get (peers, "peers"), i, peer) {
        const char *id = json_string_value (json_object_get (peer, "node_id"));
        if (!id || !json_is_true (json_object_get (peer, "connected")))
            continue;
        uint64_t h = 1469598103934665603ULL;
        for (const char *c = id; *c; c++)
            h = (h ^ (uint8_t) *c) * 1099511628211ULL;
        signature += h;
    }
    json_decref (peers);
    return signature;
}

static int
s_remote_compare (const void *a, const void *b)
{
    return strcmp (((const s_remote_t *) a)->node_id, ((const s_remote_t *) b)->node_id);
}

/*  A peer's node.capabilities answer (caps: JSON text) for address. */
static void
s_on_caps (node_embed_t *self, const char *address_in, int rc, const char *caps)
{
    char address [GOSSIP_MAX_ADDRESS];
    snprintf (address, sizeof address, "%s", address_in);
    char node_id [HEARTH_NODE_ID_SIZE];
    const char *at = strchr (address, '@');
    if (!at || (size_t) (at - address) >= sizeof node_id)
        return;
    snprintf (node_id, sizeof node_id, "%.*s", (int) (at - address), address);
    json_t *doc = rc == HEARTH_OK? json_loads (caps, 0, NULL): NULL;
    const char *model = NULL;
    json_int_t dim = 0;
    size_t i;
    json_t *cap;
    json_array_foreach (json_object_get (doc, "capabilities"), i, cap) {
        const char *name = json_string_value (json_object_get (cap, "name"));
        if (name && strcmp (name, "embed.text") == 0) {
            model = json_string_value (json_object_get (cap, "model"));
            dim = json_integer_value (json_object_get (cap, "dim"));
        }
    }
    int found = -1;
    for (size_t r = 0; r < self->n_remotes; r++)
        if (strcmp (self->remotes [r].node_id, node_id) == 0)
            found = (int) r;
    int offers = model && strlen (model) <= MARKET_EMBED_MAX_MODEL
              && dim >= MARKET_EMBED_MIN_DIM && dim <= MARKET_EMBED_MAX_DIM;
    if (offers && found < 0 && self->n_remotes < NODE_EMBED_MAX_REMOTES) {
        s_remote_t *r = &self->remotes [self->n_remotes++];
        memset (r, 0, sizeof *r);
        snprintf (r->node_id, sizeof r->node_id, "%s", node_id);
        snprintf (r->address, sizeof r->address, "%s", address);
        snprintf (r->model, sizeof r->model, "%s", model);
        r->dim = (size_t) dim;
        r->state = S_UP;
        hlog_info (S_LOG, "member %s offers embed.text (model '%s', %zu dims)", node_id, model,
                   r->dim);
        qsort (self->remotes, self->n_remotes, sizeof self->remotes [0], s_remote_compare);
    }
    else
    if (offers && found >= 0) {
        s_remote_t *r = &self->remotes [found];
        snprintf (r->model, sizeof r->model, "%s", model);
        r->dim = (size_t) dim;
        if (r->state != S_UP)
            hlog_info (S_LOG, "member %s offers embed.text again", node_id);
        r->state = S_UP;
    }
    else
    if (found >= 0 && rc == HEARTH_OK)
        s_remote_set (self, found, S_DOWN, "it no longer lists embed.text");
    json_decref (doc);
    s_note_provider (self);
}

/* ---- searches ------------------------------------------------------------------ */

/*  The "meta" the node adds to a search reply. */
static json_t *
s_meta (node_embed_t *self, int provider, const char *semantic, uint64_t embed_ms,
        const char *error)
{
    json_t *meta = json_object ();
    if (!meta)
        return NULL;
    json_object_set_new (meta, "semantic", json_string (semantic));
    json_object_set_new (meta, "provider", provider == -1? json_string ("local")
                         : provider >= 0? json_string (self->remotes [provider].node_id)
                         : json_null ());
    const char *model = s_provider_model (self, provider);
    json_object_set_new (meta, "model", *model? json_string (model): json_null ());
    if (provider != -2 && strcmp (semantic, "ok") == 0)
        json_object_set_new (meta, "embed_ms", json_integer ((json_int_t) embed_ms));
    if (error)
        json_object_set_new (meta, "error", json_string (error));
    market_embed_cache_stats_t st;
    market_embed_cache_stats (self->cache, &st);
    json_object_set_new (meta, "cached_posts", json_integer ((json_int_t) st.entries));
    return meta;
}

/*  Run the search now: fused when vector is given, else lexical. */
static int
s_run (node_embed_t *self, const char *query, size_t k, const market_near_t *near,
       const float *vector, size_t dim, const char *model, json_t *meta, json_t **output)
{
    market_semantic_t sem = { vector? self->cache: NULL, model, vector, dim, meta };
    int rc = market_semantic_search_near (market_view (self->market),
                                          eventlog_membership (self->log), query, k, near, &sem,
                                          hearth_now_ms (), output);
    if (vector)
        self->searches_fused++;
    else
        self->searches_lexical++;
    return rc;
}

static void
s_search_finish (node_embed_t *self, s_search_t *s, const float *vector, size_t dim,
                 const char *model, const char *semantic, const char *error)
{
    if (s->timer >= 0)
        zloop_timer_end (self->loop, s->timer);
    json_t *meta = s_meta (self, s_provider_now (self, s->provider, s->provider_id), semantic,
                           hearth_mono_ms () - s->started_ms, error);
    json_t *output = NULL;
    int rc = s_run (self, s->query, s->k, s->has_near? &s->near: NULL, vector, dim, model, meta,
                    &output);
    json_decref (meta);
    node_embed_done_fn *done = s->done;
    void *arg = s->arg;
    free (s->query);
    memset (s, 0, sizeof *s);
    done (arg, rc, output, rc == HEARTH_OK? NULL: "search failed");
    json_decref (output);
}

static int
s_on_search_deadline (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    node_embed_t *self = (node_embed_t *) arg;
    for (size_t i = 0; i < NODE_EMBED_MAX_PENDING; i++) {
        s_search_t *s = &self->searches [i];
        if (s->job && s->timer == timer_id) {
            s->timer = -1;          /* a one-shot timer ends by itself */
            self->searches_timeout++;
            if (s->provider == -1)
                s_local_set (self, S_DOWN, "no query embedding within the search deadline");
            else
                s_remote_set (self, s_provider_now (self, s->provider, s->provider_id), S_DOWN,
                              "no query embedding within the search deadline");
            s_search_finish (self, s, NULL, 0, NULL, "timeout", "no query embedding within the deadline");
            break;
        }
    }
    return 0;
}

int
node_embed_search (node_embed_t *self, const json_t *input, node_embed_done_fn *done, void *arg,
                   json_t **output, char **message)
{
    *output = NULL;
    *message = NULL;
    const char *query;
    size_t k;
    market_near_t near;
    int has_near;
    int rc = market_search_input (input, &query, &k, &near, &has_near, message);
    if (rc != HEARTH_OK)
        return rc;
    market_search_refresh (self->market, hearth_now_ms ());
    int provider = s_choose (self);
    s_search_t *slot = NULL;
    for (size_t i = 0; provider != -2 && i < NODE_EMBED_MAX_PENDING && !slot; i++)
        if (!self->searches [i].job)
            slot = &self->searches [i];
    if (provider == -2 || !slot) {
        if (slot == NULL && provider != -2)
            self->searches_busy++;
        json_t *meta = s_meta (self, provider == -2? -2: provider,
                               provider == -2? "no_provider": "busy", 0, NULL);
        rc = s_run (self, query, k, has_near? &near: NULL, NULL, 0, NULL, meta, output);
        json_decref (meta);
        return rc;
    }
    size_t qlen = strlen (self->cfg.query_prefix) + strlen (query) + 1;
    char *text = (char *) malloc (qlen);
    if (!text)
        return HEARTH_ENOMEM;
    snprintf (text, qlen, "%s%s", self->cfg.query_prefix, query);
    uint64_t now = hearth_mono_ms ();
    uint64_t job = s_new_job (self);
    const char *texts [1] = { text };
    if (provider == -1)
        rc = s_submit (self, S_LANE_QUERY, job, "http", self->cfg.url, self->cfg.model,
                       self->local_dim, now + self->cfg.timeout_ms, texts, 1);
    else
        rc = s_submit (self, S_LANE_QUERY, job, "peer", self->remotes [provider].address,
                       self->remotes [provider].model, self->remotes [provider].dim,
                       now + self->cfg.timeout_ms, texts, 1);
    free (text);
    slot->query = strdup (query);
    if (rc != HEARTH_OK || !slot->query) {
        free (slot->query);
        slot->query = NULL;
        return rc != HEARTH_OK? rc: HEARTH_ENOMEM;
    }
    slot->job = job;
    slot->k = k;
    slot->near = near;
    slot->has_near = has_near;
    slot->done = done;
    slot->arg = arg;
    slot->provider = provider;
    if (provider >= 0)
        snprintf (slot->provider_id, sizeof slot->provider_id, "%s", self->remotes [provider].node_id);
    slot->started_ms = now;
    slot->timer = zloop_timer (self->loop, self->cfg.timeout_ms, 1, s_on_search_deadline, self);
    return NODE_EMBED_DEFERRED;
}

/* ---- embed.text served to members ------------------------------------------------ */

int
node_embed_serve (node_embed_t *self, const json_t *input, uint64_t budget_ms,
                  node_embed_done_fn *done, void *arg, json_t **output, char **message)
{
    *output = NULL;
    *message = NULL;
    const char *key;
    json_t *value;
    json_object_foreach ((json_t *) input, key, value) {
        if (strcmp (key, "texts") != 0 && strcmp (key, "model") != 0 && strcmp (key, "normalize") != 0) {
            *message = hearth_message ("unknown input field '%.64s'", key);
            return HEARTH_EINVAL;
        }
    }
    if (!self->cfg.url [0] || self->local_state == S_DOWN) {
        *message = hearth_message ("this node has no embedding backend up");
        return HEARTH_ENOTFOUND;
    }
    json_t *model = json_object_get (input, "model");
    if (model && (!json_is_string (model) || strcmp (json_string_value (model), self->cfg.model) != 0)) {
        *message = hearth_message ("this node embeds with model '%s' only", self->cfg.model);
        return HEARTH_ENOTFOUND;
    }
    json_t *normalize = json_object_get (input, "normalize");
    if (normalize && !json_is_boolean (normalize)) {
        *message = hearth_message ("'normalize' must be true or false");
        return HEARTH_EINVAL;
    }
    json_t *texts = json_object_get (input, "texts");
    size_t n = json_array_size (texts);
    if (!json_is_array (texts) || n < 1 || n > NODE_EMBED_BATCH_MAX) {
        *message = hearth_message ("'texts' must be an array of 1..%d strings", NODE_EMBED_BATCH_MAX);
        return HEARTH_EINVAL;
    }
    const char *list [NODE_EMBED_BATCH_MAX];
    for (size_t i = 0; i < n; i++) {
        list [i] = json_string_value (json_array_get (texts, i));
        if (!list [i] || strlen (list [i]) > NODE_EMBED_MAX_TEXT_BYTES) {
            *message = hearth_message ("texts[%zu] must be a string of at most %d bytes", i,
                                       NODE_EMBED_MAX_TEXT_BYTES);
            return HEARTH_EINVAL;
        }
    }
    s_serve_t *slot = NULL;
    for (size_t i = 0; i < NODE_EMBED_SERVE_MAX_CONCURRENT && !slot; i++)
        if (!self->serves [i].job)
            slot = &self->serves [i];
    if (!slot) {
        *message = hearth_message ("%d embed.text calls in flight", NODE_EMBED_SERVE_MAX_CONCURRENT);
        return HEARTH_ECAPACITY;
    }
    uint64_t timeout = budget_ms && budget_ms < NODE_EMBED_MAX_TIMEOUT_MS? budget_ms
                     : NODE_EMBED_MAX_TIMEOUT_MS;
    uint64_t job = s_new_job (self);
    int rc = s_submit (self, S_LANE_QUERY, job, "http", self->cfg.url, self->cfg.model,
                       self->local_dim, hearth_mono_ms () + timeout, list, n);
    if (rc != HEARTH_OK)
        return rc;
    slot->job = job;
    slot->done = done;
    slot->arg = arg;
    slot->normalize = !normalize || json_is_true (normalize);
    slot->started_ms = hearth_mono_ms ();
    return NODE_EMBED_DEFERRED;
}

static void
s_serve_finish (node_embed_t *self, s_serve_t *s, int rc, const char *message, const float *vectors,
                size_t n, size_t dim)
{
    json_t *output = NULL;
    if (rc == HEARTH_OK) {
        json_t *list = json_array ();
        for (size_t i = 0; list && i < n; i++) {
            const float *v = vectors + i * dim;
            double norm = 1;
            if (s->normalize) {
                double sum = 0;
                for (size_t j = 0; j < dim; j++)
                    sum += (double) v [j] * v [j];
                norm = sum > 0? sqrt (sum): 1;
            }
            json_t *vec = json_array ();
            for (size_t j = 0; vec && j < dim; j++)
                json_array_append_new (vec, json_real ((double) (float) (v [j] / norm)));
            json_array_append_new (list, vec);
        }
        output = list? json_pack ("{s:o, s:I, s:s, s:I}", "embeddings", list, "dim", (json_int_t) dim,
                                  "model", self->cfg.model,
                                  "ms", (json_int_t) (hearth_mono_ms () - s->started_ms)): NULL;
        if (!output)
            rc = HEARTH_ENOMEM;
    }
    if (rc == HEARTH_OK)
        self->served_ok++;
    else
        self->served_failed++;
    node_embed_done_fn *done = s->done;
    void *arg = s->arg;
    memset (s, 0, sizeof *s);
    done (arg, rc, output, message);
    json_decref (output);
}

/* ---- background filling of post embeddings ------------------------------------------ */

typedef struct {
    node_embed_t *self;
} s_fill_ctx_t;

static int
s_queue_post (void *arg, const market_post_t *post, uint64_t text_hash)
{
    node_embed_t *self = ((s_fill_ctx_t *) arg)->self;
    if (self->queue_len >= NODE_EMBED_BACKFILL_QUEUE) {
        self->rescan = 1;
        return 1;
    }
    s_post_key_t *key = &self->queue [(self->queue_head + self->queue_len++) % NODE_EMBED_BACKFILL_QUEUE];
    snprintf (key->id, sizeof key->id, "%s", post->event_id);
    key->hash = text_hash;
    return 0;
}

/*  The text a post is embedded from: prefix, title, a blank line, body
    (malloc'd); its hash is of title and body only. */
static char *
s_post_text (node_embed_t *self, const market_post_t *post)
{
    size_t len = strlen (self->cfg.passage_prefix) + strlen (post->title) + strlen (post->body) + 3;
    char *text = (char *) malloc (len);
    if (text)
        snprintf (text, len, "%s%s\n\n%s", self->cfg.passage_prefix, post->title, post->body);
    return text;
}

static int
s_on_backfill (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_embed_t *self = (node_embed_t *) arg;
    int provider = s_choose (self);
    if (provider == -2 || self->bulk_job)
        return 0;
    const char *model = s_provider_model (self, provider);
    market_view_t *view = market_view (self->market);
    const membership_t *members = eventlog_membership (self->log);
    uint64_t now = hearth_now_ms ();
    if (self->queue_len == 0) {
        uint64_t lamport = market_view_max_lamport (view);
        if (!self->rescan && lamport == self->scanned_lamport && strcmp (model, self->scanned_model) == 0)
            return 0;
        self->rescan = 0;
        s_fill_ctx_t ctx = { self };
        market_semantic_missing (view, members, self->cache, model, now,
                                 self->cfg.cache_entries, s_queue_post, &ctx);
        self->scanned_lamport = lamport;
        snprintf (self->scanned_model, sizeof self->scanned_model, "%s", model);
        if (self->queue_len == 0)
            return 0;
    }
    char *texts [NODE_EMBED_BATCH_MAX];
    size_t n = 0;
    while (self->queue_len && n < NODE_EMBED_BATCH_MAX) {
        s_post_key_t key = self->queue [self->queue_head];
        self->queue_head = (self->queue_head + 1) % NODE_EMBED_BACKFILL_QUEUE;
        self->queue_len--;
        market_post_t post;
        /*  Still active, with the text that was queued? */
        if (market_view_get (view, key.id, members, &post) != HEARTH_OK
        ||  market_view_is_expired (&post, now)
        ||  market_embed_text_hash (post.title, post.body) != key.hash)
            continue;
        if (!(texts [n] = s_post_text (self, &post)))
            break;
        self->bulk_keys [n++] = key;
    }
    if (n == 0)
        return 0;
    uint64_t job = s_new_job (self);
    uint64_t deadline = hearth_mono_ms () + NODE_EMBED_MAX_TIMEOUT_MS;
    int rc = provider == -1
        ? s_submit (self, S_LANE_BULK, job, "http", self->cfg.url, self->cfg.model, self->local_dim,
                    deadline, (const char *const *) texts, n)
        : s_submit (self, S_LANE_BULK, job, "peer", self->remotes [provider].address, model,
                    self->remotes [provider].dim, deadline, (const char *const *) texts, n);
    for (size_t i = 0; i < n; i++)
        free (texts [i]);
    if (rc == HEARTH_OK) {
        self->bulk_job = job;
        self->bulk_n = n;
        self->bulk_provider = provider;
        if (provider >= 0)
            snprintf (self->bulk_provider_id, sizeof self->bulk_provider_id, "%s",
                      self->remotes [provider].node_id);
        snprintf (self->bulk_model, sizeof self->bulk_model, "%s", model);
    }
    return 0;
}

static int
s_on_probe (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    node_embed_t *self = (node_embed_t *) arg;
    if (self->cfg.url [0] && self->local_state != S_UP)
        s_probe_local (self);
    /*  Peers are asked while this node's backend is not up: at once when
        the set of connected peers changed, else after an interval that
        starts at NODE_EMBED_PROBE_MS and doubles while no member offers
        embed.text, up to NODE_EMBED_PEER_REFRESH_MS (also the interval
        once one is known), so a community without any provider costs
        little. */
    if ((self->local_state != S_UP || !self->cfg.url [0]) && self->mesh) {
        uint64_t now = hearth_mono_ms ();
        uint64_t signature = s_peers_signature (self);
        int changed = signature != self->peers_signature;
        self->peers_signature = signature;
        if (changed)
            self->peer_interval_ms = NODE_EMBED_PROBE_MS;
        if (changed || !self->peers_probed_ms || now - self->peers_probed_ms >= self->peer_interval_ms) {
            s_probe_peers (self);
            self->peer_interval_ms = s_choose (self) >= 0? NODE_EMBED_PEER_REFRESH_MS
                                   : self->peer_interval_ms * 2 > NODE_EMBED_PEER_REFRESH_MS
                                   ? NODE_EMBED_PEER_REFRESH_MS: self->peer_interval_ms * 2;
        }
    }
    return 0;
}

/* ---- results from the workers ------------------------------------------------------ */

static int
s_on_result (zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    node_embed_t *self = (node_embed_t *) arg;
    zmsg_t *msg = zmsg_recv (pipe);
    if (!msg)
        return 0;
    if (zmsg_size (msg) != 7) {
        zmsg_destroy (&msg);
        return 0;
    }
    uint64_t job = s_frame_u64 (zmsg_first (msg));
    int32_t rc = (int32_t) s_frame_u32 (zmsg_next (msg));
    int32_t kind = (int32_t) s_frame_u32 (zmsg_next (msg));
    zframe_t *f_message = zmsg_next (msg);
    size_t dim = s_frame_u32 (zmsg_next (msg));
    zframe_t *f_model = zmsg_next (msg);
    zframe_t *f_vectors = zmsg_next (msg);
    char *message = zframe_strdup (f_message);
    char *model = zframe_strdup (f_model);
    /*  Copied out of the frame: a small frame's bytes need not be aligned
        for floats. */
    size_t n_vectors = dim? zframe_size (f_vectors) / (dim * sizeof (float)): 0;
    float *vectors = NULL;
    if (rc == HEARTH_OK && n_vectors) {
        vectors = (float *) malloc (n_vectors * dim * sizeof (float));
        if (vectors)
            memcpy (vectors, zframe_data (f_vectors), n_vectors * dim * sizeof (float));
        else {
            rc = HEARTH_ENOMEM;
            n_vectors = 0;
        }
    }
    if (rc == HEARTH_OK)
        self->calls_ok++;
    else
    if (kind > 0 && kind < NODE_EMBED_FAIL_KINDS)
        self->calls_failed [kind]++;
    const char *why = message && *message? message: hearth_strerror (rc);
    int handled = 0;
    /*  A peer's node.capabilities (its JSON in the model frame). */
    for (size_t i = 0; job && i < NODE_EMBED_MAX_REMOTES && !handled; i++)
        if (self->caps [i].job == job) {
            handled = 1;
            self->caps [i].job = 0;
            self->caps_in_flight--;
            s_on_caps (self, self->caps [i].address, rc, model? model: "");
        }
    /*  The local probe. */
    if (job && job == self->local_probe_job) {
        self->local_probing = 0;
        if (rc == HEARTH_OK && n_vectors == 1) {
            self->local_dim = dim;
            s_local_set (self, S_UP, "");
        }
        else
            s_local_set (self, S_DOWN, why);
        handled = 1;
    }
    /*  A waiting search. */
    for (size_t i = 0; !handled && job && i < NODE_EMBED_MAX_PENDING; i++) {
        s_search_t *s = &self->searches [i];
        if (s->job != job)
            continue;
        handled = 1;
        if (rc == HEARTH_OK && n_vectors == 1) {
            if (s->provider == -1) {
                self->local_dim = dim;
                s_local_set (self, S_UP, "");
            }
            s_search_finish (self, s, vectors, dim, model, "ok", NULL);
        }
        else {
            if (s->provider == -1)
                s_local_set (self, S_DOWN, why);
            else
                s_remote_set (self, s_provider_now (self, s->provider, s->provider_id), S_DOWN, why);
            s_search_finish (self, s, NULL, 0, NULL, rc == HEARTH_ETIMEOUT? "timeout": "error", why);
        }
    }
    /*  A served embed.text. */
    for (size_t i = 0; !handled && job && i < NODE_EMBED_SERVE_MAX_CONCURRENT; i++) {
        s_serve_t *s = &self->serves [i];
        if (s->job != job)
            continue;
        handled = 1;
        if (rc == HEARTH_OK)
            self->local_dim = dim;
        else
        if (rc != HEARTH_ETIMEOUT)
            s_local_set (self, S_DOWN, why);
        s_serve_finish (self, s, rc == HEARTH_OK? HEARTH_OK: rc == HEARTH_ETIMEOUT? HEARTH_ETIMEOUT
                        : HEARTH_EUNAVAILABLE, why, vectors, n_vectors, dim);
    }
    /*  The background batch. */
    if (!handled && job && job == self->bulk_job) {
        handled = 1;
        self->bulk_job = 0;
        if (rc == HEARTH_OK && n_vectors == self->bulk_n) {
            for (size_t i = 0; i < n_vectors; i++)
                if (market_embed_cache_put (self->cache, self->bulk_model, self->bulk_keys [i].id,
                                            self->bulk_keys [i].hash, vectors + i * dim, dim) == HEARTH_OK)
                    self->posts_embedded++;
            if (self->bulk_provider == -1) {
                self->local_dim = dim;
                s_local_set (self, S_UP, "");
            }
        }
        else {
            /*  Try again from a fresh scan once a provider is up. */
            self->queue_len = 0;
            self->rescan = 1;
            if (self->bulk_provider == -1)
                s_local_set (self, S_DOWN, why);
            else
                s_remote_set (self, s_provider_now (self, self->bulk_provider, self->bulk_provider_id),
                              S_DOWN, why);
        }
    }
    if (!handled)
        self->late++;       /* a search answered at its deadline already */
    free (vectors);
    free (message);
    free (model);
    zmsg_destroy (&msg);
    return 0;
}

/* ---- new / destroy ------------------------------------------------------------------ */

void
node_embed_config_defaults (node_embed_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->timeout_ms = NODE_EMBED_DEFAULT_TIMEOUT_MS;
    cfg->cache_entries = MARKET_EMBED_CACHE_DEFAULT_ENTRIES;
}

node_embed_t *
node_embed_new (const node_embed_config_t *cfg, market_t *market, eventlog_t *log,
                const identity_t *identity, zloop_t *loop)
{
    node_embed_t *self = (node_embed_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    if (!self->cfg.timeout_ms)
        self->cfg.timeout_ms = NODE_EMBED_DEFAULT_TIMEOUT_MS;
    if (!self->cfg.cache_entries)
        self->cfg.cache_entries = MARKET_EMBED_CACHE_DEFAULT_ENTRIES;
    self->market = market;
    self->log = log;
    self->loop = loop;
    self->worker_args.identity = identity;
    atomic_init (&self->worker_args.stop, 0);
    self->timer_backfill = self->timer_probe = -1;
    self->peer_interval_ms = NODE_EMBED_PROBE_MS;
    self->cache = market_embed_cache_new (self->cfg.cache_entries);
    self->queue = (s_post_key_t *) calloc (NODE_EMBED_BACKFILL_QUEUE, sizeof (s_post_key_t));
    if (!self->cache || !self->queue || curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        market_embed_cache_destroy (&self->cache);
        free (self->queue);
        free (self);
        return NULL;
    }
    for (int lane = 0; lane < S_LANES; lane++) {
        self->lanes [lane] = zactor_new (s_worker, &self->worker_args);
        if (!self->lanes [lane]
        ||  zloop_reader (loop, zactor_sock (self->lanes [lane]), s_on_result, self) != 0) {
            node_embed_destroy (&self);
            return NULL;
        }
    }
    self->timer_backfill = zloop_timer (loop, NODE_EMBED_BACKFILL_MS, 0, s_on_backfill, self);
    self->timer_probe = zloop_timer (loop, NODE_EMBED_PROBE_MS, 0, s_on_probe, self);
    if (self->cfg.url [0])
        s_probe_local (self);
    return self;
}

void
node_embed_destroy (node_embed_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    node_embed_t *self = *self_p;
    for (size_t i = 0; i < NODE_EMBED_MAX_PENDING; i++)
        if (self->searches [i].job)
            s_search_finish (self, &self->searches [i], NULL, 0, NULL, "error", "the node is stopping");
    for (size_t i = 0; i < NODE_EMBED_SERVE_MAX_CONCURRENT; i++)
        if (self->serves [i].job)
            s_serve_finish (self, &self->serves [i], HEARTH_EUNAVAILABLE, "the node is stopping",
                            NULL, 0, 0);
    if (self->timer_backfill >= 0)
        zloop_timer_end (self->loop, self->timer_backfill);
    if (self->timer_probe >= 0)
        zloop_timer_end (self->loop, self->timer_probe);
    atomic_store (&self->worker_args.stop, 1);
    for (int lane = 0; lane < S_LANES; lane++)
        if (self->lanes [lane]) {
            zloop_reader_end (self->loop, zactor_sock (self->lanes [lane]));
            zactor_destroy (&self->lanes [lane]);
        }
    market_embed_cache_destroy (&self->cache);
    free (self->queue);
    curl_global_cleanup ();
    free (self);
    *self_p = NULL;
}

void
node_embed_set_mesh (node_embed_t *self, gossip_t *mesh)
{
    self->mesh = mesh;
    if (mesh && !self->cfg.url [0])
        s_probe_peers (self);
}

market_embed_cache_t *
node_embed_cache (node_embed_t *self)
{
    return self->cache;
}

/* ---- capabilities and stats --------------------------------------------------------- */

json_t *
node_embed_capabilities (node_embed_t *self)
{
    json_t *list = json_array ();
    if (list && self->cfg.url [0] && self->local_state == S_UP)
        json_array_append_new (list, json_pack ("{s:s, s:s, s:I}", "name", "embed.text", "model",
                                                self->cfg.model, "dim", (json_int_t) self->local_dim));
    return list? json_pack ("{s:o}", "capabilities", list): NULL;
}

json_t *
node_embed_stats_json (node_embed_t *self)
{
    int p = s_choose (self);
    json_t *out = json_object ();
    if (!out)
        return NULL;
    json_object_set_new (out, "provider", p == -1? json_string ("local")
                         : p >= 0? json_string (self->remotes [p].node_id): json_null ());
    json_object_set_new (out, "model", p != -2? json_string (s_provider_model (self, p)): json_null ());
    if (self->cfg.url [0])
        json_object_set_new (out, "backend", json_pack ("{s:s, s:s, s:s, s:I, s:s}", "url",
                             self->cfg.url, "model", self->cfg.model, "state",
                             s_state_names [self->local_state], "dim", (json_int_t) self->local_dim,
                             "last_error", self->local_error));
    else
        json_object_set_new (out, "backend", json_null ());
    json_t *remotes = json_array ();
    for (size_t i = 0; remotes && i < self->n_remotes; i++)
        json_array_append_new (remotes, json_pack ("{s:s, s:s, s:I, s:s}", "node_id",
                               self->remotes [i].node_id, "model", self->remotes [i].model, "dim",
                               (json_int_t) self->remotes [i].dim, "state",
                               s_state_names [self->remotes [i].state]));
    json_object_set_new (out, "remotes", remotes);
    json_t *calls = json_pack ("{s:I}", "ok", (json_int_t) self->calls_ok);
    for (int kind = 1; calls && kind < NODE_EMBED_FAIL_KINDS; kind++)
        json_object_set_new (calls, node_embed_fail_name ((node_embed_fail_t) kind),
                             json_integer ((json_int_t) self->calls_failed [kind]));
    json_object_set_new (out, "calls", calls);
    json_object_set_new (out, "searches", json_pack ("{s:I, s:I, s:I, s:I, s:I}",
                         "fused", (json_int_t) self->searches_fused,
                         "lexical", (json_int_t) self->searches_lexical,
                         "timeout", (json_int_t) self->searches_timeout,
                         "busy", (json_int_t) self->searches_busy,
                         "late_replies", (json_int_t) self->late));
    json_object_set_new (out, "served", json_pack ("{s:I, s:I}", "ok", (json_int_t) self->served_ok,
                                                   "failed", (json_int_t) self->served_failed));
    market_embed_cache_stats_t st;
    market_embed_cache_stats (self->cache, &st);
    json_object_set_new (out, "cache", json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                         "entries", (json_int_t) st.entries, "capacity", (json_int_t) st.capacity,
                         "dim", (json_int_t) st.dim, "hits", (json_int_t) st.hits,
                         "misses", (json_int_t) st.misses, "inserts", (json_int_t) st.inserts,
                         "evictions", (json_int_t) st.evictions,
                         "invalidations", (json_int_t) st.invalidations,
                         "rejected", (json_int_t) st.rejected, "bytes", (json_int_t) st.bytes));
    json_object_set_new (out, "posts_embedded", json_integer ((json_int_t) self->posts_embedded));
    json_object_set_new (out, "backfill_queue", json_integer ((json_int_t) self->queue_len));
    return out;
}

char *
node_embed_stats_prometheus (node_embed_t *self)
{
    market_embed_cache_stats_t st;
    market_embed_cache_stats (self->cache, &st);
    int p = s_choose (self);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&text, &len);
    if (!f)
        return NULL;
    fprintf (f, "# HELP hearth_embed_provider_up 1 while market.search has an embed.text provider "
                "(kind: local or member).\n# TYPE hearth_embed_provider_up gauge\n"
                "hearth_embed_provider_up{kind=\"%s\"} %d\n",
             p == -1? "local": p >= 0? "member": "none", p != -2);
    fprintf (f, "# HELP hearth_embed_calls_total Embedding calls by result.\n"
                "# TYPE hearth_embed_calls_total counter\n"
                "hearth_embed_calls_total{result=\"ok\"} %" PRIu64 "\n", self->calls_ok);
    for (int kind = 1; kind < NODE_EMBED_FAIL_KINDS; kind++)
        fprintf (f, "hearth_embed_calls_total{result=\"%s\"} %" PRIu64 "\n",
                 node_embed_fail_name ((node_embed_fail_t) kind), self->calls_failed [kind]);
    fprintf (f, "# HELP hearth_embed_searches_total market.search calls by ranking.\n"
                "# TYPE hearth_embed_searches_total counter\n"
                "hearth_embed_searches_total{ranking=\"fused\"} %" PRIu64 "\n"
                "hearth_embed_searches_total{ranking=\"lexical\"} %" PRIu64 "\n",
             self->searches_fused, self->searches_lexical);
    fprintf (f, "# HELP hearth_embed_cache_entries Post embeddings cached.\n"
                "# TYPE hearth_embed_cache_entries gauge\nhearth_embed_cache_entries %zu\n"
                "# HELP hearth_embed_cache_evictions_total Post embeddings evicted (LRU).\n"
                "# TYPE hearth_embed_cache_evictions_total counter\n"
                "hearth_embed_cache_evictions_total %" PRIu64 "\n"
                "# HELP hearth_embed_cache_invalidations_total Post embeddings dropped as stale.\n"
                "# TYPE hearth_embed_cache_invalidations_total counter\n"
                "hearth_embed_cache_invalidations_total %" PRIu64 "\n",
             st.entries, st.evictions, st.invalidations);
    fclose (f);
    return text;
}
