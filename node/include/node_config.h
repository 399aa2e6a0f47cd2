/*  node_config.h — hearthd's configuration: defaults, the config file, flags.

    Precedence: built-in defaults < config file < command-line flags. The
    config file is CZMQ ZPL (zconfig), by default DIR/hearth.cfg when it
    exists, or the file named by --config (which must exist): sections at
    the left margin, "key = value" indented by 4. The keys are one table
    in node_config.c (node_config_keys), which the parser, the template
    `hearthctl init` writes (node_config_template_write) and the reference
    in docs/operations.md follow.

    Unknown sections or keys are refused, so a typo is never silently
    ignored. Paths of everything the node keeps are derived from data_dir.
*/
#ifndef HEARTH_NODE_CONFIG_H
#define HEARTH_NODE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "hearth_log.h"
#include "market.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  File name of the default config file inside the data dir. */
#define NODE_CONFIG_FILE_NAME        "hearth.cfg"
/*  A config file larger than this is refused: the template with every key
    is under 3 KiB, so 1 MiB is generous and bounds what a start or a
    SIGHUP reads into memory. */
#define NODE_CONFIG_FILE_MAX_BYTES   (1024 * 1024)
/*  Longest path we build under the data dir (PATH_MAX-sized buffers). */
#define NODE_CONFIG_PATH_MAX         4096
/*  sun_path in struct sockaddr_un is 108 bytes (incl. NUL) on Linux, so an
    ipc:// socket path may have at most 107 characters. */
#define NODE_CONFIG_IPC_PATH_MAX     107
/*  Sweep interval bounds: at least 1 s; at most one day (a sweeper that
    runs less often than that is effectively off). */
#define NODE_CONFIG_SWEEP_MIN_SECONDS 1
#define NODE_CONFIG_SWEEP_MAX_SECONDS 86400
/*  Longest stats endpoint text accepted ("tcp://127.0.0.1:65535" is 21). */
#define NODE_CONFIG_ENDPOINT_MAX     256
/*  Peer addresses "NODE_ID@tcp://HOST:PORT" at most, and their length
    (GOSSIP_MAX_PEERS and GOSSIP_MAX_ADDRESS in gossip.h). */
#define NODE_CONFIG_MAX_PEERS        64
#define NODE_CONFIG_ADDRESS_MAX      256
/*  Port of a --listen endpoint given without one (GOSSIP_DEFAULT_PORT). */
#define NODE_CONFIG_PEER_PORT        7400
/*  Anti-entropy interval bounds: 50 ms (tests and benches run that fast;
    a session costs a few hundred bytes when nothing differs) to one day. */
#define NODE_CONFIG_SYNC_MIN_MS      50
#define NODE_CONFIG_SYNC_MAX_MS      86400000
/*  Overlay links (mesh/links_out, mesh/links_in_max; GOSSIP_OVERLAY_OUT
    and GOSSIP_OVERLAY_IN_MAX of gossip_overlay.h are the defaults, shown
    here for the template): 1 to 64, the out links a node may hold
    (GOSSIP_MAX_PEERS). */
#define NODE_CONFIG_LINKS_OUT_DEFAULT    6
#define NODE_CONFIG_LINKS_IN_DEFAULT     12
#define NODE_CONFIG_LINKS_MAX            64
/*  The HTTP listener (section "http"; node_http.h, docs/http.md): its
    default address, and the longest address text ("[IPv6]:PORT"). */
#define NODE_CONFIG_HTTP_DEFAULT     "127.0.0.1:7480"
#define NODE_CONFIG_HTTP_MAX         64
/*  http/hosts: extra Host names of the page, comma-separated; the text's
    size (NODE_HTTP_HOSTS_TEXT_MAX of node_http_rules.h, plus the NUL). */
#define NODE_CONFIG_HTTP_HOSTS_MAX   1025
/*  Environment variable naming the default data dir, and the fallback
    below $HOME when it is unset. */
#define NODE_CONFIG_DATA_DIR_ENV     "HEARTH_DATA_DIR"
#define NODE_CONFIG_DATA_DIR_DEFAULT ".hearth"

/*  The semantic side of market.search (section "search"; node_embed.h,
    docs/operations.md "Semantic search"): sizes of the text keys, and the
    bounds of the numbers (node_embed.h, market_embed_cache.h). */
#define NODE_CONFIG_EMBED_URL_MAX     512
#define NODE_CONFIG_EMBED_MODEL_MAX   128
#define NODE_CONFIG_EMBED_PREFIX_MAX  64
#define NODE_CONFIG_EMBED_TIMEOUT_DEFAULT_MS 2000
#define NODE_CONFIG_EMBED_TIMEOUT_MIN_MS     10
#define NODE_CONFIG_EMBED_TIMEOUT_MAX_MS     15000
#define NODE_CONFIG_EMBED_CACHE_DEFAULT      5000
#define NODE_CONFIG_EMBED_CACHE_MAX          2000000

/*  Reconciliation modes (mesh/reconcile; gossip_reconcile_t of gossip.h). */
typedef enum {
    NODE_RECONCILE_AUTO     = 0,    /* v1 on (re)connect, rateless when scattered and periodically */
    NODE_RECONCILE_V1       = 1,    /* Negentropy v1 (NIP-77) only, like a stock peer */
    NODE_RECONCILE_RATELESS = 2     /* the rateless mode first on (re)connect too */
} node_reconcile_t;

typedef struct {
    char               data_dir [NODE_CONFIG_PATH_MAX];   /* absolute */
    char               config_file [NODE_CONFIG_PATH_MAX];/* "" if none was read */
    hearth_log_level_t log_level;
    hearth_log_format_t log_format;     /* log/format, --log-format (default text) */
    char               log_file [NODE_CONFIG_PATH_MAX];    /* log/file, --log-file; "" = stderr */
    market_config_t    market;
    char               stats_endpoint [NODE_CONFIG_ENDPOINT_MAX]; /* "" = none */
    int                rebuild_views;   /* --rebuild-views: re-fold every view from the
                                           whole log at start instead of its snapshot */
    int                recover_wal;     /* --recover-wal: start even if the write-ahead log
                                           lost acknowledged writes (eventlog_open_with);
                                           a flag only, never a config key, so it is a
                                           decision made for one start */
    /*  The mesh. */
    char               listen [NODE_CONFIG_ENDPOINT_MAX];    /* "" = no peer socket */
    char               advertise [NODE_CONFIG_ENDPOINT_MAX]; /* "" = derive from listen */
    char               peers [NODE_CONFIG_MAX_PEERS][NODE_CONFIG_ADDRESS_MAX];
    size_t             n_peers;
    int                discovery;       /* 1 = LAN discovery on */
    uint32_t           sync_interval_ms;/* 0 = the mesh default (10 s) */
    uint32_t           refused_max;     /* refused event hashes remembered; 0 = GOSSIP_REFUSED_MAX */
    node_reconcile_t   reconcile;       /* default NODE_RECONCILE_AUTO */
    uint32_t           links_out;       /* out links the overlay keeps; 0 = its default */
    uint32_t           links_in_max;    /* members' in links accepted; 0 = its default */
    uint64_t           snapshot_every;  /* events between view snapshots; 0 = the
                                           eventlog's policy (eventlog_snapshot_due) */
    /*  The HTTP listener (node_http.h). */
    char               http_listen [NODE_CONFIG_HTTP_MAX]; /* "HOST:PORT"; "" = off */
    int                http_trust_loopback; /* 1 (default): loopback clients may write
                                               without the token */
    char               http_hosts [NODE_CONFIG_HTTP_HOSTS_MAX]; /* extra Host names, comma-
                                               separated; "" = none (localhost, IPs only) */
    /*  Semantic search. */
    char               embed_url [NODE_CONFIG_EMBED_URL_MAX];     /* "" = no backend */
    char               embed_model [NODE_CONFIG_EMBED_MODEL_MAX + 1];
    uint32_t           embed_timeout_ms;
    uint32_t           embed_cache_entries;
    char               embed_query_prefix [NODE_CONFIG_EMBED_PREFIX_MAX];
    char               embed_passage_prefix [NODE_CONFIG_EMBED_PREFIX_MAX];
} node_config_t;

/*  One config key: the template shows "section / name = value  # note". */
typedef struct {
    const char *section;
    const char *name;
    const char *value;      /* its default, or an example where it has none */
    const char *note;       /* a few words for the template */
} node_config_key_t;

/*  The number of config keys; *key (if key is not NULL) gets key number
    index (static, NULL past the end). In file order. */
size_t node_config_keys (const node_config_key_t **key, size_t index);

/*  Write the commented template (every key at its default) to file.
    0 or HEARTH_EIO. */
int  node_config_template_write (FILE *file);

/*  Fill cfg with built-in defaults for data_dir (not touched on disk). */
void node_config_defaults (node_config_t *cfg, const char *data_dir);

/*  The default data dir: $HEARTH_DATA_DIR, else $HOME/.hearth, into out
    (capacity cap). Returns 0 or HEARTH_EINVAL (no HOME, or too long). */
int  node_config_default_data_dir (char *out, size_t cap);

/*  Read a ZPL config file into cfg (over what is there). `required`: a
    missing file is an error (--config), else it is skipped (DIR/hearth.cfg).
    Returns 0, or HEARTH_EINVAL / HEARTH_EIO with *message (malloc'd, caller
    frees) naming the file, key and problem. */
int  node_config_load_file (node_config_t *cfg, const char *path, int required, char **message);

/*  Parse the same keys from ZPL text in memory (tests). Same errors. */
int  node_config_load_text (node_config_t *cfg, const char *text, char **message);

/*  Set the peer listener from a flag or config value: "none" (or "")
    clears it; "tcp://HOST" gets NODE_CONFIG_PEER_PORT. 0 or HEARTH_EINVAL
    with *message. */
int  node_config_set_listen (node_config_t *cfg, const char *value, char **message);

/*  Set the HTTP listener from a flag or config value: "off" clears it;
    otherwise IPV4:PORT, [IPV6]:PORT or localhost:PORT (port 0 = any free
    port). 0 or HEARTH_EINVAL with *message. */
int  node_config_set_http (node_config_t *cfg, const char *value, char **message);

/*  Set the reconciliation mode from "auto", "v1" or "rateless". 0 or
    HEARTH_EINVAL with *message. */
int  node_config_set_reconcile (node_config_t *cfg, const char *value, char **message);

/*  Add a peer address (duplicates are ignored). 0, HEARTH_EINVAL
    (malformed) or HEARTH_ECAPACITY, with *message. */
int  node_config_add_peer (node_config_t *cfg, const char *address, char **message);

/*  Check cross-field rules (default_ttl <= max_ttl <= MARKET_MAX_TTL_SECONDS,
    sweep interval bounds, socket path lengths, stats endpoint is tcp://,
    listen/advertise are tcp://HOST:PORT, sync interval bounds).
    0 or HEARTH_EINVAL with *message. */
int  node_config_validate (const node_config_t *cfg, char **message);

/*  Paths under the data dir, written into out (capacity cap); 0 or
    HEARTH_EINVAL if they do not fit. */
int  node_config_keys_dir    (const node_config_t *cfg, char *out, size_t cap);
int  node_config_db_dir      (const node_config_t *cfg, char *out, size_t cap);
/*  "ipc://DIR/control.sock" and "ipc://DIR/stats.sock" endpoints. */
int  node_config_control_endpoint (const char *data_dir, char *out, size_t cap);
int  node_config_stats_endpoint   (const char *data_dir, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
