/*  node_config.c — defaults, ZPL config file and validation for hearthd.

    The file is parsed with CZMQ's zconfig; every section and key is looked
    up in a fixed table, so unknown names are reported instead of ignored.
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "node_config.h"
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

/*  Apply one "section/key = value" to cfg. */
static int
s_apply (node_config_t *cfg, const char *source, const char *section, const char *key,
         const char *value, char **message)
{
    uint64_t number = 0;
    uint64_t *target = NULL;
    if (streq (section, "log") && streq (key, "level")) {
        if (hearth_log_parse_level (value, &cfg->log_level) != HEARTH_OK) {
            *message = hearth_message ("%s: log/level: '%s' is not one of error, warn, info, debug",
                                  source, value);
            return HEARTH_EINVAL;
        }
        return HEARTH_OK;
    }
    if (streq (section, "stats") && streq (key, "endpoint")) {
        if (strlen (value) >= sizeof cfg->stats_endpoint) {
            *message = hearth_message ("%s: stats/endpoint is too long", source);
            return HEARTH_EINVAL;
        }
        snprintf (cfg->stats_endpoint, sizeof cfg->stats_endpoint, "%s", value);
        return HEARTH_OK;
    }
    if (streq (section, "mesh") && streq (key, "listen")) {
        char *detail = NULL;
        int rc = node_config_set_listen (cfg, value, &detail);
        if (rc != HEARTH_OK)
            *message = hearth_message ("%s: mesh/listen: %s", source, detail? detail: "invalid");
        free (detail);
        return rc;
    }
    if (streq (section, "mesh") && streq (key, "advertise")) {
        if (strlen (value) >= sizeof cfg->advertise) {
            *message = hearth_message ("%s: mesh/advertise is too long", source);
            return HEARTH_EINVAL;
        }
        snprintf (cfg->advertise, sizeof cfg->advertise, "%s", value);
        return HEARTH_OK;
    }
    if (streq (section, "mesh") && streq (key, "discovery")) {
        if (streq (value, "on") || streq (value, "off")) {
            cfg->discovery = streq (value, "on");
            return HEARTH_OK;
        }
        *message = hearth_message ("%s: mesh/discovery: '%s' is not on or off", source, value);
        return HEARTH_EINVAL;
    }
    if (streq (section, "mesh") && streq (key, "reconcile")) {
        char *detail = NULL;
        int rc = node_config_set_reconcile (cfg, value, &detail);
        if (rc != HEARTH_OK)
            *message = hearth_message ("%s: mesh/reconcile: %s", source, detail? detail: "invalid");
        free (detail);
        return rc;
    }
    if (streq (section, "mesh") && streq (key, "sync_interval_ms")) {
        if (s_parse_u64 (value, &number) != HEARTH_OK || number > UINT32_MAX) {
            *message = hearth_message ("%s: mesh/sync_interval_ms: '%s' is not a whole number of "
                                  "milliseconds", source, value);
            return HEARTH_EINVAL;
        }
        cfg->sync_interval_ms = (uint32_t) number;
        return HEARTH_OK;
    }
    if (streq (section, "store") && streq (key, "snapshot_every")) {
        if (s_parse_u64 (value, &number) != HEARTH_OK) {
            *message = hearth_message ("%s: store/snapshot_every: '%s' is not a whole number of "
                                  "events", source, value);
            return HEARTH_EINVAL;
        }
        cfg->snapshot_every = number;
        return HEARTH_OK;
    }
    if (streq (section, "peers") && streq (key, "peer")) {
        char *detail = NULL;
        int rc = node_config_add_peer (cfg, value, &detail);
        if (rc != HEARTH_OK)
            *message = hearth_message ("%s: peers/peer: %s", source, detail? detail: "invalid");
        free (detail);
        return rc;
    }
    if (streq (section, "market")) {
        if (streq (key, "default_ttl_seconds"))
            target = &cfg->market.default_ttl_seconds;
        else
        if (streq (key, "max_ttl_seconds"))
            target = &cfg->market.max_ttl_seconds;
        else
        if (streq (key, "sweep_interval_seconds"))
            target = &cfg->market.sweep_interval_seconds;
    }
    if (!target) {
        *message = hearth_message ("%s: unknown setting %s/%s (see docs/operations.md)",
                              source, section, key);
        return HEARTH_EINVAL;
    }
    if (s_parse_u64 (value, &number) != HEARTH_OK) {
        *message = hearth_message ("%s: %s/%s: '%s' is not a whole number of seconds",
                              source, section, key, value);
        return HEARTH_EINVAL;
    }
    *target = number;
    return HEARTH_OK;
}

/*  Walk a parsed tree: two levels, section then key = value. */
static int
s_apply_tree (node_config_t *cfg, zconfig_t *root, const char *source, char **message)
{
    static const char *sections [] = { "log", "market", "stats", "mesh", "peers", "store" };
    for (zconfig_t *section = zconfig_child (root); section; section = zconfig_next (section)) {
        const char *name = zconfig_name (section);
        int known = 0;
        for (size_t i = 0; i < sizeof sections / sizeof sections [0]; i++)
            if (name && streq (name, sections [i]))
                known = 1;
        if (!known) {
            *message = hearth_message ("%s: unknown section '%s' (known: log, market, stats, mesh, peers, store)",
                                  source, name? name: "");
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
    zconfig_t *root = zconfig_load (path);
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
