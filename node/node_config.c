/*  node_config.c — defaults, ZPL config file and validation for hearthd.

    The file is parsed with CZMQ's zconfig; every section and key is looked
    up in a fixed table, so unknown names are reported instead of ignored.
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hearth_codec.h"
#include "node_http_rules.h"
#include "hearth_error.h"
#include "node_config.h"
#include "node_http_rules.h"
#include "node_invite.h"

/*  Strict unsigned decimal: digits only, no sign, no spaces, fits uint64. */
static int
s_parse_u64 (const char *text, uint64_t *out)
{
    if (!text || !*text || strlen (text) > 20)   /* 2^64-1 has 20 digits */
        return HEARTH_EINVAL;
    for (const char *p = text; *p; p++)
        if (*p < '0' || *p > '9')
            return HEARTH_EINVAL;
    errno = 0;
    unsigned long long value = strtoull (text, NULL, 10);
    if (errno == ERANGE)
        return HEARTH_EINVAL;
    *out = (uint64_t) value;
    return HEARTH_OK;
}

int
node_config_set_listen (node_config_t *cfg, const char *value, char **message)
{
    *message = NULL;
    if (!value || !*value || strcmp (value, "none") == 0) {
        cfg->listen [0] = '\0';
        return HEARTH_OK;
    }
    char endpoint [NODE_CONFIG_ENDPOINT_MAX];
    int n;
    /*  "tcp://HOST" without a port: the default peer port. A ':' after the
        scheme that is not followed by digits or '*' is left to the check. */
    const char *host = strncmp (value, "tcp://", 6) == 0? value + 6: NULL;
    if (host && *host && !strchr (host, ':'))
        n = snprintf (endpoint, sizeof endpoint, "%s:%d", value, NODE_CONFIG_PEER_PORT);
    else
        n = snprintf (endpoint, sizeof endpoint, "%s", value);
    if (n < 0 || (size_t) n >= sizeof endpoint || !hearth_tcp_endpoint_valid (endpoint, 1)) {
        *message = hearth_message ("listen endpoint '%.300s' must be tcp://HOST:PORT (or none)", value);
        return HEARTH_EINVAL;
    }
    snprintf (cfg->listen, sizeof cfg->listen, "%s", endpoint);
    return HEARTH_OK;
}

int
node_config_set_http (node_config_t *cfg, const char *value, char **message)
{
    *message = NULL;
    if (value && streq (value, "off")) {
        cfg->http_listen [0] = '\0';
        return HEARTH_OK;
    }
    node_http_address_t address;
    if (!value || strlen (value) >= sizeof cfg->http_listen
    ||  node_http_address_parse (value, &address) != HEARTH_OK) {
        *message = hearth_message ("http listener '%.100s' must be IPV4:PORT, [IPV6]:PORT, "
                                   "localhost:PORT (port 0 = any free port) or off",
                                   value? value: "");
        return HEARTH_EINVAL;
    }
    snprintf (cfg->http_listen, sizeof cfg->http_listen, "%s", value);
    return HEARTH_OK;
}

int
node_config_set_reconcile (node_config_t *cfg, const char *value, char **message)
{
    if (value && streq (value, "auto"))
        cfg->reconcile = NODE_RECONCILE_AUTO;
    else
    if (value && streq (value, "v1"))
        cfg->reconcile = NODE_RECONCILE_V1;
    else
    if (value && streq (value, "rateless"))
        cfg->reconcile = NODE_RECONCILE_RATELESS;
    else {
        *message = hearth_message ("'%s' is not auto, v1 or rateless", value? value: "");
        return HEARTH_EINVAL;
    }
    return HEARTH_OK;
}

int
node_config_add_peer (node_config_t *cfg, const char *address, char **message)
{
    *message = NULL;
    if (!node_invite_address_valid (address)) {
        *message = hearth_message ("peer '%.300s' must be NODE_ID@tcp://HOST:PORT with a full NodeID "
                              "(ed25519:…, see `hearthctl id`)", address? address: "");
        return HEARTH_EINVAL;
    }
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (strcmp (cfg->peers [i], address) == 0)
            return HEARTH_OK;
    if (cfg->n_peers >= NODE_CONFIG_MAX_PEERS) {
        *message = hearth_message ("more than %d peers configured", NODE_CONFIG_MAX_PEERS);
        return HEARTH_ECAPACITY;
    }
    snprintf (cfg->peers [cfg->n_peers++], NODE_CONFIG_ADDRESS_MAX, "%s", address);
    return HEARTH_OK;
}

void
node_config_defaults (node_config_t *cfg, const char *data_dir)
{
    memset (cfg, 0, sizeof *cfg);
    snprintf (cfg->data_dir, sizeof cfg->data_dir, "%s", data_dir? data_dir: "");
    cfg->log_level = HEARTH_LOG_INFO;
    market_config_defaults (&cfg->market);
    snprintf (cfg->http_listen, sizeof cfg->http_listen, "%s", NODE_CONFIG_HTTP_DEFAULT);
    cfg->http_trust_loopback = 1;
    cfg->embed_timeout_ms = NODE_CONFIG_EMBED_TIMEOUT_DEFAULT_MS;
    cfg->embed_cache_entries = NODE_CONFIG_EMBED_CACHE_DEFAULT;
    //  Search: the lexicon cache and synonyms.txt in the data dir, and the
    //  Debian packages' dictionaries (docs/operations.md, "Search dictionaries")
    snprintf (cfg->market.search_dir, sizeof cfg->market.search_dir, "%s", data_dir? data_dir: "");
    snprintf (cfg->market.dict_translations, sizeof cfg->market.dict_translations, "%s", MARKET_DICT_TRANSLATIONS);
    snprintf (cfg->market.dict_synonyms_de, sizeof cfg->market.dict_synonyms_de, "%s", MARKET_DICT_SYNONYMS_DE);
    snprintf (cfg->market.dict_synonyms_en, sizeof cfg->market.dict_synonyms_en, "%s", MARKET_DICT_SYNONYMS_EN);
    snprintf (cfg->market.dict_words_de, sizeof cfg->market.dict_words_de, "%s", MARKET_DICT_WORDS_DE);
}

int
node_config_default_data_dir (char *out, size_t cap)
{
    const char *env = getenv (NODE_CONFIG_DATA_DIR_ENV);
    int n;
    if (env && *env)
        n = snprintf (out, cap, "%s", env);
    else {
        const char *home = getenv ("HOME");
        if (!home || !*home)
            return HEARTH_EINVAL;
        n = snprintf (out, cap, "%s/%s", home, NODE_CONFIG_DATA_DIR_DEFAULT);
    }
    return (n < 0 || (size_t) n >= cap)? HEARTH_EINVAL: HEARTH_OK;
}

/*  A row of the key table (below). */
typedef struct s_key_s s_key_t;

/*  The setters of the key table: value into cfg, or HEARTH_EINVAL (or
    HEARTH_ECAPACITY) with *detail, the problem after "section/key: ". The
    generic ones (s_set_text, s_set_dict, s_set_u64, s_set_u32_in) write the
    field the row names; the others know their field and ignore the row. */
typedef int (s_setter_fn) (node_config_t *cfg, const s_key_t *row, const char *value, char **detail);

struct s_key_s {
    node_config_key_t key;
    s_setter_fn      *set;
    size_t            offset, size; /* the field of node_config_t, for generic setters */
    uint64_t          min, max;     /* s_set_u32_in's range */
    const char       *unit;         /* s_set_u64 and s_set_u32_in: what the number counts */
};

/*  The field of cfg that row names. */
static void *
s_field (node_config_t *cfg, const s_key_t *row)
{
    return (char *) cfg + row->offset;
}

static int
s_set_log_level (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    if (hearth_log_parse_level (value, &cfg->log_level) == HEARTH_OK)
        return HEARTH_OK;
    *detail = hearth_message ("'%s' is not one of error, warn, info, debug", value);
    return HEARTH_EINVAL;
}

static int
s_set_log_format (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    if (hearth_log_parse_format (value, &cfg->log_format) == HEARTH_OK)
        return HEARTH_OK;
    *detail = hearth_message ("'%s' is not one of text, json, journal", value);
    return HEARTH_EINVAL;
}

/*  A whole number of row->unit into a uint64_t field. */
static int
s_set_u64 (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    if (s_parse_u64 (value, (uint64_t *) s_field (cfg, row)) == HEARTH_OK)
        return HEARTH_OK;
    *detail = hearth_message ("'%s' is not a whole number of %s", value, row->unit);
    return HEARTH_EINVAL;
}

/*  Text into a char array field of row->size bytes. */
static int
s_set_text (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    if (strlen (value) >= row->size) {
        *detail = hearth_message ("too long (at most %zu characters)", row->size - 1);
        return HEARTH_EINVAL;
    }
    snprintf ((char *) s_field (cfg, row), row->size, "%s", value);
    return HEARTH_OK;
}

static int
s_set_discovery (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    if (streq (value, "on") || streq (value, "off")) {
        cfg->discovery = streq (value, "on");
        return HEARTH_OK;
    }
    *detail = hearth_message ("'%s' is not on or off", value);
    return HEARTH_EINVAL;
}

static int
s_set_trust_loopback (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    if (streq (value, "on") || streq (value, "off")) {
        cfg->http_trust_loopback = streq (value, "on");
        return HEARTH_OK;
    }
    *detail = hearth_message ("'%s' is not on or off", value);
    return HEARTH_EINVAL;
}

_Static_assert (NODE_CONFIG_HTTP_HOSTS_MAX == NODE_HTTP_HOSTS_TEXT_MAX + 1,
                "http/hosts: the config field holds the longest list node_http_hosts_check accepts");

static int
s_set_http_hosts (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    int rc = node_http_hosts_check (value, detail);
    if (rc != HEARTH_OK)
        return rc;
    snprintf (cfg->http_hosts, sizeof cfg->http_hosts, "%s", value);
    return HEARTH_OK;
}

static int
s_set_sync_interval (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    uint64_t number = 0;
    if (s_parse_u64 (value, &number) != HEARTH_OK || number > UINT32_MAX) {
        *detail = hearth_message ("'%s' is not a whole number of milliseconds", value);
        return HEARTH_EINVAL;
    }
    cfg->sync_interval_ms = (uint32_t) number;
    return HEARTH_OK;
}

/*  A count of links, 1..NODE_CONFIG_LINKS_MAX, into a uint32_t field. */
static int
s_set_links (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    uint64_t number = 0;
    if (s_parse_u64 (value, &number) != HEARTH_OK || number < 1 || number > NODE_CONFIG_LINKS_MAX) {
        *detail = hearth_message ("'%s' is not a number of links from 1 to %d", value, NODE_CONFIG_LINKS_MAX);
        return HEARTH_EINVAL;
    }
    *(uint32_t *) s_field (cfg, row) = (uint32_t) number;
    return HEARTH_OK;
}

/*  A whole number within [row->min, row->max] into a uint32_t field. */
static int
s_set_u32_in (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    uint64_t number = 0;
    if (s_parse_u64 (value, &number) != HEARTH_OK || number < row->min || number > row->max) {
        *detail = hearth_message ("'%s' is not a whole number of %s in %" PRIu64 "..%" PRIu64,
                                  value, row->unit, row->min, row->max);
        return HEARTH_EINVAL;
    }
    *(uint32_t *) s_field (cfg, row) = (uint32_t) number;
    return HEARTH_OK;
}

/*  The node_config_set_* / add_peer functions leave *message NULL only on
    success; a NULL detail on failure still reads well. */
static int
s_set_listen (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    return node_config_set_listen (cfg, value, detail);
}

static int
s_set_http (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    return node_config_set_http (cfg, value, detail);
}

static int
s_set_reconcile (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    return node_config_set_reconcile (cfg, value, detail);
}

static int
s_set_peer (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    (void) row;
    return node_config_add_peer (cfg, value, detail);
}

/*  A search dictionary path ("none" or "" = off) into a char array field. */
static int
s_set_dict (node_config_t *cfg, const s_key_t *row, const char *value, char **detail)
{
    if (streq (value, "none"))
        value = "";
    return s_set_text (cfg, row, value, detail);
}

#define S_STR(x)  S_STR2 (x)
#define S_STR2(x) #x

/*  The field a generic setter writes: its offset and size in node_config_t. */
#define S_FIELD(member) offsetof (node_config_t, member), sizeof (((node_config_t *) 0)->member)
/*  The rest of a row whose setter knows its field. */
#define S_OWN 0, 0, 0, 0, NULL

/*  Every config key, in the order of the file and its template (keys of a
    section together): the parser looks names up here, `hearthctl init`
    writes the template from it (node_config_template_write), and the
    reference table in docs/operations.md lists the same keys
    (test_node_config checks it). To add a key: a row (its setter, and for
    a generic setter the field and its range or unit), a field of
    node_config_t, its check in node_config_validate, and a docs row. */
static const s_key_t s_keys [] = {
    { { "log", "level", "info", "error | warn | info | debug" }, s_set_log_level, S_OWN },
    { { "log", "format", "text", "text | json | journal (JSON lines; journald <N> prefixes)" },
      s_set_log_format, S_OWN },
    { { "log", "file", "/var/log/hearth/hearthd.log", "append here, not stderr; SIGHUP reopens" },
      s_set_text, S_FIELD (log_file), 0, 0, NULL },
    { { "market", "default_ttl_seconds", S_STR (MARKET_DEFAULT_TTL_SECONDS),
        "TTL of a post sent without one" }, s_set_u64,
      S_FIELD (market.default_ttl_seconds), 0, 0, "seconds" },
    { { "market", "max_ttl_seconds", S_STR (MARKET_MAX_TTL_SECONDS),
        "largest TTL accepted (also the hard cap)" }, s_set_u64,
      S_FIELD (market.max_ttl_seconds), 0, 0, "seconds" },
    { { "market", "sweep_interval_seconds", S_STR (MARKET_SWEEP_INTERVAL_SECONDS),
        "how often the sweeper runs" }, s_set_u64,
      S_FIELD (market.sweep_interval_seconds), 0, 0, "seconds" },
    { { "stats", "endpoint", "tcp://127.0.0.1:9474", "optional extra stats endpoint" },
      s_set_text, S_FIELD (stats_endpoint), 0, 0, NULL },
    { { "mesh", "listen", "tcp://0.0.0.0:" S_STR (NODE_CONFIG_PEER_PORT),
        "peer socket; absent or none = none" }, s_set_listen, S_OWN },
    { { "mesh", "advertise", "tcp://192.168.1.20:" S_STR (NODE_CONFIG_PEER_PORT),
        "what others should dial" }, s_set_text, S_FIELD (advertise), 0, 0, NULL },
    { { "mesh", "discovery", "off", "on | off: LAN discovery" }, s_set_discovery, S_OWN },
    { { "mesh", "sync_interval_ms", "10000", "anti-entropy with one random peer" },
      s_set_sync_interval, S_OWN },
    { { "mesh", "reconcile", "auto", "auto | v1 | rateless" }, s_set_reconcile, S_OWN },
    { { "mesh", "links_out", S_STR (NODE_CONFIG_LINKS_OUT_DEFAULT),
        "links dialled to members chosen at random" }, s_set_links,
      S_FIELD (links_out), 0, 0, NULL },
    { { "mesh", "links_in_max", S_STR (NODE_CONFIG_LINKS_IN_DEFAULT),
        "members' links accepted; more are redirected" }, s_set_links,
      S_FIELD (links_in_max), 0, 0, NULL },
    { { "peers", "peer", "ed25519:NODE_ID@tcp://192.168.1.10:" S_STR (NODE_CONFIG_PEER_PORT),
        "repeatable" }, s_set_peer, S_OWN },
    { { "store", "snapshot_every", "0", "events between view snapshots; 0 = automatic" },
      s_set_u64, S_FIELD (snapshot_every), 0, 0, "events" },
    { { "http", "listen", NODE_CONFIG_HTTP_DEFAULT,
        "page, API, /metrics; HOST:PORT (port 0 = any) or off" }, s_set_http, S_OWN },
    { { "http", "trust_loopback", "on",
        "on | off: loopback clients write without the token" }, s_set_trust_loopback, S_OWN },
    { { "http", "hosts", "hearth.local",
        "more Host names the page is served under, comma-separated" }, s_set_http_hosts, S_OWN },
    { { "search", "embed_url", "http://127.0.0.1:8080/v1/embeddings",
        "OpenAI-compatible embeddings endpoint; absent = none" }, s_set_text,
      S_FIELD (embed_url), 0, 0, NULL },
    { { "search", "embed_model", "multilingual-e5-small", "model name sent to it" },
      s_set_text, S_FIELD (embed_model), 0, 0, NULL },
    { { "search", "embed_timeout_ms", S_STR (NODE_CONFIG_EMBED_TIMEOUT_DEFAULT_MS),
        "how long a search waits for the query's embedding" }, s_set_u32_in,
      S_FIELD (embed_timeout_ms), NODE_CONFIG_EMBED_TIMEOUT_MIN_MS, NODE_CONFIG_EMBED_TIMEOUT_MAX_MS,
      "milliseconds" },
    { { "search", "embed_cache_entries", S_STR (NODE_CONFIG_EMBED_CACHE_DEFAULT),
        "post embeddings cached (LRU)" }, s_set_u32_in,
      S_FIELD (embed_cache_entries), 1, NODE_CONFIG_EMBED_CACHE_MAX, "entries" },
    { { "search", "embed_query_prefix", "\"query: \"", "put before a query (e5 models)" },
      s_set_text, S_FIELD (embed_query_prefix), 0, 0, NULL },
    { { "search", "embed_passage_prefix", "\"passage: \"", "put before a post (e5 models)" },
      s_set_text, S_FIELD (embed_passage_prefix), 0, 0, NULL },
    { { "search", "dict_translations", MARKET_DICT_TRANSLATIONS, "German <-> English (trans-de-en); none = off" },
      s_set_dict, S_FIELD (market.dict_translations), 0, 0, NULL },
    { { "search", "dict_synonyms_de", MARKET_DICT_SYNONYMS_DE, "German thesaurus (mythes-de)" },
      s_set_dict, S_FIELD (market.dict_synonyms_de), 0, 0, NULL },
    { { "search", "dict_synonyms_en", MARKET_DICT_SYNONYMS_EN, "English thesaurus (mythes-en-us)" },
      s_set_dict, S_FIELD (market.dict_synonyms_en), 0, 0, NULL },
    { { "search", "dict_words_de", MARKET_DICT_WORDS_DE, "German words for compounds (hunspell-de-de)" },
      s_set_dict, S_FIELD (market.dict_words_de), 0, 0, NULL }
};
#define S_KEYS (sizeof s_keys / sizeof s_keys [0])

size_t
node_config_keys (const node_config_key_t **keys, size_t index)
{
    if (keys)
        *keys = index < S_KEYS? &s_keys [index].key: NULL;
    return S_KEYS;
}

int
node_config_template_write (FILE *file)
{
    fprintf (file,
        "#   Hearth node configuration (ZPL: sections and 'key = value', indented by 4).\n"
        "#   Every setting is shown at its default; remove the '#' to change one.\n"
        "#   Command-line flags of hearthd override this file. See docs/operations.md.\n");
    for (size_t i = 0; i < S_KEYS; i++) {
        const node_config_key_t *key = &s_keys [i].key;
        if (i == 0 || !streq (key->section, s_keys [i - 1].key.section))
            fprintf (file, "#%s\n", key->section);
        int width = fprintf (file, "#    %s = %s", key->name, key->value);
        fprintf (file, "%*s# %s\n", width < 40? 40 - width: 1, "", key->note);
    }
    return ferror (file)? HEARTH_EIO: HEARTH_OK;
}

/*  1 if a row of the key table has this section. */
static int
s_section_known (const char *section)
{
    for (size_t i = 0; i < S_KEYS; i++)
        if (section && streq (section, s_keys [i].key.section))
            return 1;
    return 0;
}

/*  Apply one "section/key = value" to cfg. */
static int
s_apply (node_config_t *cfg, const char *source, const char *section, const char *key,
         const char *value, char **message)
{
    for (size_t i = 0; i < S_KEYS; i++) {
        if (!streq (section, s_keys [i].key.section) || !streq (key, s_keys [i].key.name))
            continue;
        char *detail = NULL;
        int rc = s_keys [i].set (cfg, &s_keys [i], value, &detail);
        if (rc != HEARTH_OK)
            *message = hearth_message ("%s: %s/%s: %s", source, section, key, detail? detail: "invalid");
        free (detail);
        return rc;
    }
    *message = hearth_message ("%s: unknown setting %s/%s (see docs/operations.md)",
                               source, section, key);
    return HEARTH_EINVAL;
}

/*  Walk a parsed tree: two levels, section then key = value. */
static int
s_apply_tree (node_config_t *cfg, zconfig_t *root, const char *source, char **message)
{
    for (zconfig_t *section = zconfig_child (root); section; section = zconfig_next (section)) {
        const char *name = zconfig_name (section);
        if (!s_section_known (name)) {
            char known [256] = "";
            for (size_t i = 0; i < S_KEYS; i++)
                if (i == 0 || !streq (s_keys [i].key.section, s_keys [i - 1].key.section))
                    snprintf (known + strlen (known), sizeof known - strlen (known), "%s%s",
                              i? ", ": "", s_keys [i].key.section);
            *message = hearth_message ("%s: unknown section '%s' (known: %s)", source,
                                       name? name: "", known);
            return HEARTH_EINVAL;
        }
        const char *section_value = zconfig_value (section);
        if (section_value && *section_value) {
            *message = hearth_message ("%s: section '%s' takes no value", source, name);
            return HEARTH_EINVAL;
        }
        for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
            const char *key = zconfig_name (item);
            if (zconfig_child (item)) {
                *message = hearth_message ("%s: %s/%s must be a plain key = value", source, name, key);
                return HEARTH_EINVAL;
            }
            int rc = s_apply (cfg, source, name, key? key: "", zconfig_value (item)?
                              zconfig_value (item): "", message);
            if (rc != HEARTH_OK)
                return rc;
        }
    }
    return HEARTH_OK;
}

int
node_config_load_file (node_config_t *cfg, const char *path, int required, char **message)
{
    *message = NULL;
    if (access (path, F_OK) != 0) {
        if (!required)
            return HEARTH_OK;
        *message = hearth_message ("config file %s: %s", path, strerror (errno));
        return HEARTH_EIO;
    }
    if (access (path, R_OK) != 0) {
        *message = hearth_message ("config file %s: %s", path, strerror (errno));
        return HEARTH_EIO;
    }
    /*  Read it ourselves and parse the text: zconfig_load leaks its file
        object when the text is not valid ZPL, and reads files of any size. */
    FILE *file = fopen (path, "rb");
    char *text = file? (char *) malloc (NODE_CONFIG_FILE_MAX_BYTES + 1): NULL;
    size_t size = text? fread (text, 1, NODE_CONFIG_FILE_MAX_BYTES + 1, file): 0;
    int failed = !file || !text || ferror (file);
    int saved = errno;
    if (file)
        fclose (file);
    if (failed) {
        free (text);
        *message = hearth_message ("config file %s: %s", path, strerror (saved));
        return HEARTH_EIO;
    }
    if (size > NODE_CONFIG_FILE_MAX_BYTES) {
        free (text);
        *message = hearth_message ("config file %s is larger than %d bytes", path,
                                   NODE_CONFIG_FILE_MAX_BYTES);
        return HEARTH_EINVAL;
    }
    text [size] = 0;
    zconfig_t *root = strlen (text) == size? zconfig_str_load (text): NULL;
    free (text);
    if (!root) {
        *message = hearth_message ("config file %s is not valid ZPL (see docs/operations.md)", path);
        return HEARTH_EINVAL;
    }
    int rc = s_apply_tree (cfg, root, path, message);
    zconfig_destroy (&root);
    if (rc == HEARTH_OK)
        snprintf (cfg->config_file, sizeof cfg->config_file, "%s", path);
    return rc;
}

int
node_config_load_text (node_config_t *cfg, const char *text, char **message)
{
    *message = NULL;
    zconfig_t *root = zconfig_str_load (text);
    if (!root) {
        *message = hearth_message ("config text is not valid ZPL");
        return HEARTH_EINVAL;
    }
    int rc = s_apply_tree (cfg, root, "config", message);
    zconfig_destroy (&root);
    return rc;
}

int
node_config_validate (const node_config_t *cfg, char **message)
{
    *message = NULL;
    const market_config_t *m = &cfg->market;
    if (!cfg->data_dir [0]) {
        *message = hearth_message ("no data dir given");
        return HEARTH_EINVAL;
    }
    if (m->max_ttl_seconds < 1 || m->max_ttl_seconds > MARKET_MAX_TTL_SECONDS) {
        *message = hearth_message ("market/max_ttl_seconds must be 1..%d, not %" PRIu64,
                              MARKET_MAX_TTL_SECONDS, m->max_ttl_seconds);
        return HEARTH_EINVAL;
    }
    if (m->default_ttl_seconds < 1 || m->default_ttl_seconds > m->max_ttl_seconds) {
        *message = hearth_message ("market/default_ttl_seconds must be 1..max_ttl_seconds (%" PRIu64
                              "), not %" PRIu64, m->max_ttl_seconds, m->default_ttl_seconds);
        return HEARTH_EINVAL;
    }
    if (m->sweep_interval_seconds < NODE_CONFIG_SWEEP_MIN_SECONDS
    ||  m->sweep_interval_seconds > NODE_CONFIG_SWEEP_MAX_SECONDS) {
        *message = hearth_message ("market/sweep_interval_seconds must be %d..%d, not %" PRIu64,
                              NODE_CONFIG_SWEEP_MIN_SECONDS, NODE_CONFIG_SWEEP_MAX_SECONDS,
                              m->sweep_interval_seconds);
        return HEARTH_EINVAL;
    }
    if (cfg->stats_endpoint [0] && strncmp (cfg->stats_endpoint, "tcp://", 6) != 0) {
        *message = hearth_message ("stats endpoint '%s' must be tcp://HOST:PORT "
                              "(the ipc stats socket is always DIR/stats.sock)", cfg->stats_endpoint);
        return HEARTH_EINVAL;
    }
    if (cfg->listen [0] && !hearth_tcp_endpoint_valid (cfg->listen, 1)) {
        *message = hearth_message ("listen endpoint '%s' must be tcp://HOST:PORT", cfg->listen);
        return HEARTH_EINVAL;
    }
    if (cfg->advertise [0] && (!hearth_tcp_endpoint_valid (cfg->advertise, 1)
                               || strchr (cfg->advertise + 6, '*'))) {
        *message = hearth_message ("advertise endpoint '%s' must be tcp://HOST:PORT with a concrete "
                              "host and port others can dial", cfg->advertise);
        return HEARTH_EINVAL;
    }
    if (cfg->sync_interval_ms != 0
    &&  (cfg->sync_interval_ms < NODE_CONFIG_SYNC_MIN_MS || cfg->sync_interval_ms > NODE_CONFIG_SYNC_MAX_MS)) {
        *message = hearth_message ("sync interval must be %d..%d ms, not %" PRIu32,
                              NODE_CONFIG_SYNC_MIN_MS, NODE_CONFIG_SYNC_MAX_MS, cfg->sync_interval_ms);
        return HEARTH_EINVAL;
    }
    if (cfg->embed_url [0] && strncmp (cfg->embed_url, "http://", 7) != 0
    &&  strncmp (cfg->embed_url, "https://", 8) != 0) {
        *message = hearth_message ("search/embed_url '%.300s' must be an http:// or https:// URL "
                                   "(e.g. http://127.0.0.1:8080/v1/embeddings)", cfg->embed_url);
        return HEARTH_EINVAL;
    }
    if (cfg->embed_url [0] && !cfg->embed_model [0]) {
        *message = hearth_message ("search/embed_url needs search/embed_model: the model name the "
                                   "endpoint serves (peers match it exactly)");
        return HEARTH_EINVAL;
    }
    /*  "/control.sock" is the longer of the two socket names (13 chars). */
    size_t socket_path = strlen (cfg->data_dir) + strlen ("/control.sock");
    if (socket_path > NODE_CONFIG_IPC_PATH_MAX) {
        *message = hearth_message ("data dir path is too long for a unix socket (%zu > %d characters "
                              "for DIR/control.sock): use a shorter --data-dir",
                              socket_path, NODE_CONFIG_IPC_PATH_MAX);
        return HEARTH_EINVAL;
    }
    return HEARTH_OK;
}

/*  "<data_dir>/<leaf>" with an optional prefix. */
static int
s_path (const char *prefix, const char *data_dir, const char *leaf, char *out, size_t cap)
{
    int n = snprintf (out, cap, "%s%s/%s", prefix, data_dir, leaf);
    return (n < 0 || (size_t) n >= cap)? HEARTH_EINVAL: HEARTH_OK;
}

int
node_config_keys_dir (const node_config_t *cfg, char *out, size_t cap)
{
    return s_path ("", cfg->data_dir, "keys", out, cap);
}

int
node_config_db_dir (const node_config_t *cfg, char *out, size_t cap)
{
    return s_path ("", cfg->data_dir, "db", out, cap);
}

int
node_config_control_endpoint (const char *data_dir, char *out, size_t cap)
{
    return s_path ("ipc://", data_dir, "control.sock", out, cap);
}

int
node_config_stats_endpoint (const char *data_dir, char *out, size_t cap)
{
    return s_path ("ipc://", data_dir, "stats.sock", out, cap);
}
