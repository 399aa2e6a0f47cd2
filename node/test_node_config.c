/*  test_node_config.c — unit tests of hearthd's configuration: defaults,
    ZPL parsing, refusal of unknown keys and bad values, validation.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_error.h"
#include "hearth_test.h"
#include "node_config.h"

/*  Load text into a fresh default config; returns the code. */
static int
s_load (node_config_t *cfg, const char *text)
{
    char *message = NULL;
    node_config_defaults (cfg, "/tmp/hearth-config-test");
    int rc = node_config_load_text (cfg, text, &message);
    if (rc != HEARTH_OK) {
        HT_CHECK (message != NULL);
        fprintf (stderr, "  (expected) %s\n", message? message: "?");
    }
    free (message);
    return rc;
}

static int
s_validate (const node_config_t *cfg)
{
    char *message = NULL;
    int rc = node_config_validate (cfg, &message);
    if (rc != HEARTH_OK) {
        HT_CHECK (message != NULL);
        fprintf (stderr, "  (expected) %s\n", message? message: "?");
    }
    free (message);
    return rc;
}

HT_TEST (test_defaults)
{
    node_config_t cfg;
    node_config_defaults (&cfg, "/var/lib/hearth");
    HT_CHECK_EQ_STR (cfg.data_dir, "/var/lib/hearth");
    HT_CHECK_EQ_INT (cfg.market.default_ttl_seconds, MARKET_DEFAULT_TTL_SECONDS);
    HT_CHECK_EQ_INT (cfg.market.max_ttl_seconds, MARKET_MAX_TTL_SECONDS);
    HT_CHECK_EQ_INT (cfg.market.sweep_interval_seconds, MARKET_SWEEP_INTERVAL_SECONDS);
    HT_CHECK_EQ_INT (cfg.log_level, HEARTH_LOG_INFO);
    HT_CHECK_EQ_STR (cfg.stats_endpoint, "");
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_OK);
    char path [NODE_CONFIG_PATH_MAX];
    HT_CHECK_EQ_INT (node_config_control_endpoint (cfg.data_dir, path, sizeof path), HEARTH_OK);
    HT_CHECK_EQ_STR (path, "ipc:///var/lib/hearth/control.sock");
    HT_CHECK_EQ_INT (node_config_stats_endpoint (cfg.data_dir, path, sizeof path), HEARTH_OK);
    HT_CHECK_EQ_STR (path, "ipc:///var/lib/hearth/stats.sock");
    HT_CHECK_EQ_INT (node_config_db_dir (&cfg, path, sizeof path), HEARTH_OK);
    HT_CHECK_EQ_STR (path, "/var/lib/hearth/db");
    HT_CHECK_EQ_INT (node_config_keys_dir (&cfg, path, sizeof path), HEARTH_OK);
    HT_CHECK_EQ_STR (path, "/var/lib/hearth/keys");
    char tiny [8];
    HT_CHECK_EQ_INT (node_config_db_dir (&cfg, tiny, sizeof tiny), HEARTH_EINVAL);
}

HT_TEST (test_load_values)
{
    node_config_t cfg;
    HT_CHECK_EQ_INT (s_load (&cfg,
        "# comment\n"
        "log\n"
        "    level = debug\n"
        "market\n"
        "    default_ttl_seconds = 3600\n"
        "    max_ttl_seconds = 86400\n"
        "    sweep_interval_seconds = 5\n"
        "stats\n"
        "    endpoint = \"tcp://127.0.0.1:9474\"\n"), HEARTH_OK);
    HT_CHECK_EQ_INT (cfg.log_level, HEARTH_LOG_DEBUG);
    HT_CHECK_EQ_INT (cfg.market.default_ttl_seconds, 3600);
    HT_CHECK_EQ_INT (cfg.market.max_ttl_seconds, 86400);
    HT_CHECK_EQ_INT (cfg.market.sweep_interval_seconds, 5);
    HT_CHECK_EQ_STR (cfg.stats_endpoint, "tcp://127.0.0.1:9474");
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_OK);

    /*  An empty (or comment-only) file changes nothing. */
    HT_CHECK_EQ_INT (s_load (&cfg, "# nothing here\n"), HEARTH_OK);
    HT_CHECK_EQ_INT (cfg.market.sweep_interval_seconds, MARKET_SWEEP_INTERVAL_SECONDS);
}

HT_TEST (test_load_refusals)
{
    node_config_t cfg;
    HT_CHECK_EQ_INT (s_load (&cfg, "market\n    sweep_intervall_seconds = 5\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "gossip\n    port = 7400\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "market\n    max_ttl_seconds = -1\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "market\n    max_ttl_seconds = 1e6\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "market\n    max_ttl_seconds = \n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "market\n    max_ttl_seconds = 99999999999999999999999\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "log\n    level = loud\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "market = 5\n"), HEARTH_EINVAL);
}

HT_TEST (test_validate)
{
    node_config_t cfg;
    node_config_defaults (&cfg, "/tmp/x");
    cfg.market.default_ttl_seconds = cfg.market.max_ttl_seconds + 1;
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);
    node_config_defaults (&cfg, "/tmp/x");
    cfg.market.max_ttl_seconds = MARKET_MAX_TTL_SECONDS + 1;
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);
    node_config_defaults (&cfg, "/tmp/x");
    cfg.market.sweep_interval_seconds = 0;
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);
    node_config_defaults (&cfg, "/tmp/x");
    cfg.market.sweep_interval_seconds = NODE_CONFIG_SWEEP_MAX_SECONDS + 1;
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);
    node_config_defaults (&cfg, "/tmp/x");
    snprintf (cfg.stats_endpoint, sizeof cfg.stats_endpoint, "ipc:///tmp/stats");
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);
    /*  A data dir whose socket path would not fit in sun_path. */
    char longdir [200];
    memset (longdir, 'd', sizeof longdir - 1);
    longdir [0] = '/';
    longdir [sizeof longdir - 1] = '\0';
    node_config_defaults (&cfg, longdir);
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);
    node_config_defaults (&cfg, "");
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);
}

HT_TEST (test_files)
{
    char *dir = ht_tmpdir ("config");
    HT_CHECK (dir != NULL);
    if (!dir)
        return;
    node_config_t cfg;
    node_config_defaults (&cfg, dir);
    char path [1024];
    char *message = NULL;
    snprintf (path, sizeof path, "%s/missing.cfg", dir);
    /*  Optional file missing: fine. Required (--config) missing: an error. */
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 0, &message), HEARTH_OK);
    HT_CHECK (message == NULL);
    HT_CHECK_EQ_STR (cfg.config_file, "");
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 1, &message), HEARTH_EIO);
    HT_CHECK (message && strstr (message, "missing.cfg"));
    free (message);
    snprintf (path, sizeof path, "%s/hearth.cfg", dir);
    FILE *file = fopen (path, "w");
    fprintf (file, "market\n    sweep_interval_seconds = 7\n");
    fclose (file);
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 0, &message), HEARTH_OK);
    HT_CHECK_EQ_INT (cfg.market.sweep_interval_seconds, 7);
    HT_CHECK_EQ_STR (cfg.config_file, path);
    file = fopen (path, "w");
    fprintf (file, "market\n    colour = blue\n");
    fclose (file);
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 0, &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "colour"));
    free (message);
    /*  Not ZPL, a NUL byte inside, larger than the limit: refused, no leak
        (the ASan build checks), the file named. */
    file = fopen (path, "w");
    fprintf (file, "log\n    level = \"info\n");
    fclose (file);
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 0, &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "not valid ZPL") && strstr (message, path));
    free (message);
    file = fopen (path, "w");
    fwrite ("log\n    level = de\0bug\n", 1, 23, file);
    fclose (file);
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 0, &message), HEARTH_EINVAL);
    free (message);
    file = fopen (path, "w");
    for (size_t i = 0; i <= NODE_CONFIG_FILE_MAX_BYTES / 16; i++)
        fputs ("# comment line.\n", file);
    fclose (file);
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 0, &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "larger than"));
    free (message);
    HT_CHECK_EQ_INT (cfg.log_level, HEARTH_LOG_INFO);      /* untouched by the refusals */
    /*  log/format and log/file. */
    file = fopen (path, "w");
    fprintf (file, "log\n    format = json\n    file = /var/log/hearth/hearthd.log\n");
    fclose (file);
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 0, &message), HEARTH_OK);
    HT_CHECK_EQ_INT (cfg.log_format, HEARTH_LOG_FORMAT_JSON);
    HT_CHECK_EQ_STR (cfg.log_file, "/var/log/hearth/hearthd.log");
    file = fopen (path, "w");
    fprintf (file, "log\n    format = xml\n");
    fclose (file);
    HT_CHECK_EQ_INT (node_config_load_file (&cfg, path, 0, &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "log/format"));
    free (message);

    setenv ("HEARTH_DATA_DIR", "/srv/hearth", 1);
    HT_CHECK_EQ_INT (node_config_default_data_dir (path, sizeof path), HEARTH_OK);
    HT_CHECK_EQ_STR (path, "/srv/hearth");
    unsetenv ("HEARTH_DATA_DIR");
    setenv ("HOME", "/home/ann", 1);
    HT_CHECK_EQ_INT (node_config_default_data_dir (path, sizeof path), HEARTH_OK);
    HT_CHECK_EQ_STR (path, "/home/ann/.hearth");
    ht_rmtree (dir);
    free (dir);
}

/*  A full NodeID whose base64url text uses '-' and '_' (ZPL must keep them). */
#define S_PEER_ID "ed25519:zxoJl4-_Z4NATF4GRBACZX6EAAAAAAAAAAAAAAAAAAA"

HT_TEST (test_mesh)
{
    node_config_t cfg;
    HT_CHECK_EQ_INT (s_load (&cfg,
        "mesh\n"
        "    listen = tcp://0.0.0.0:7401\n"
        "    advertise = tcp://192.168.1.20:7401\n"
        "    discovery = on\n"
        "    sync_interval_ms = 250\n"
        "    reconcile = v1\n"
        "peers\n"
        "    peer = " S_PEER_ID "@tcp://192.168.1.10:7400\n"
        "    peer = \"" S_PEER_ID "@tcp://192.168.1.11:7400\"\n"
        "    peer = " S_PEER_ID "@tcp://192.168.1.10:7400\n"
        "peers\n"
        "    peer = " S_PEER_ID "@tcp://host.example:9\n"), HEARTH_OK);
    HT_CHECK_EQ_STR (cfg.listen, "tcp://0.0.0.0:7401");
    HT_CHECK_EQ_STR (cfg.advertise, "tcp://192.168.1.20:7401");
    HT_CHECK_EQ_INT (cfg.discovery, 1);
    HT_CHECK_EQ_INT (cfg.sync_interval_ms, 250);
    HT_CHECK_EQ_INT (cfg.reconcile, NODE_RECONCILE_V1);
    /*  Repeated keys and sections all count; duplicates collapse. */
    HT_CHECK_EQ_INT (cfg.n_peers, 3);
    HT_CHECK_EQ_STR (cfg.peers [0], S_PEER_ID "@tcp://192.168.1.10:7400");
    HT_CHECK_EQ_STR (cfg.peers [1], S_PEER_ID "@tcp://192.168.1.11:7400");
    HT_CHECK_EQ_STR (cfg.peers [2], S_PEER_ID "@tcp://host.example:9");
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_OK);

    /*  Defaults: no listener, no peers, discovery off. */
    node_config_defaults (&cfg, "/tmp/x");
    HT_CHECK_EQ_STR (cfg.listen, "");
    HT_CHECK_EQ_INT (cfg.n_peers, 0);
    HT_CHECK_EQ_INT (cfg.discovery, 0);
    HT_CHECK_EQ_INT (cfg.sync_interval_ms, 0);
    HT_CHECK_EQ_INT (cfg.reconcile, NODE_RECONCILE_AUTO);

    /*  --listen forms. */
    char *message = NULL;
    /*  --reconcile values (the same as mesh/reconcile). */
    HT_CHECK_EQ_INT (node_config_set_reconcile (&cfg, "rateless", &message), HEARTH_OK);
    HT_CHECK_EQ_INT (cfg.reconcile, NODE_RECONCILE_RATELESS);
    HT_CHECK_EQ_INT (node_config_set_reconcile (&cfg, "auto", &message), HEARTH_OK);
    HT_CHECK_EQ_INT (cfg.reconcile, NODE_RECONCILE_AUTO);
    HT_CHECK_EQ_INT (node_config_set_reconcile (&cfg, "V1", &message), HEARTH_EINVAL);
    HT_CHECK (message && strstr (message, "auto, v1 or rateless"));
    free (message);
    message = NULL;
    HT_CHECK_EQ_INT (node_config_set_listen (&cfg, "tcp://0.0.0.0", &message), HEARTH_OK);
    HT_CHECK_EQ_STR (cfg.listen, "tcp://0.0.0.0:7400");
    HT_CHECK_EQ_INT (node_config_set_listen (&cfg, "tcp://127.0.0.1:*", &message), HEARTH_OK);
    HT_CHECK_EQ_STR (cfg.listen, "tcp://127.0.0.1:*");
    HT_CHECK_EQ_INT (node_config_set_listen (&cfg, "none", &message), HEARTH_OK);
    HT_CHECK_EQ_STR (cfg.listen, "");
    HT_CHECK_EQ_INT (node_config_set_listen (&cfg, "udp://1.2.3.4:5", &message), HEARTH_EINVAL);
    free (message);
    HT_CHECK_EQ_INT (node_config_set_listen (&cfg, "tcp://1.2.3.4:99999", &message), HEARTH_EINVAL);
    free (message);
    HT_CHECK_EQ_INT (node_config_add_peer (&cfg, "tcp://1.2.3.4:5", &message), HEARTH_EINVAL);
    free (message);
    HT_CHECK_EQ_INT (node_config_add_peer (&cfg, "ed25519:short@tcp://1.2.3.4:5", &message), HEARTH_EINVAL);
    free (message);

    /*  Refusals. */
    HT_CHECK_EQ_INT (s_load (&cfg, "mesh\n    discovery = maybe\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "mesh\n    listen = 7400\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "mesh\n    sync_interval_ms = soon\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "mesh\n    gossip = yes\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "mesh\n    reconcile = iblt\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "peers\n    peer = 1.2.3.4\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "peers\n    node = " S_PEER_ID "@tcp://1.2.3.4:5\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "mesh\n    sync_interval_ms = 10\n"), HEARTH_OK);
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "mesh\n    advertise = tcp://*:7400\n"), HEARTH_OK);
    HT_CHECK_EQ_INT (s_validate (&cfg), HEARTH_EINVAL);

    /*  store/snapshot_every: events between view snapshots, 0 = automatic. */
    HT_CHECK_EQ_INT (s_load (&cfg, "store\n    snapshot_every = 2\n"), HEARTH_OK);
    HT_CHECK_EQ_INT ((int) cfg.snapshot_every, 2);
    HT_CHECK_EQ_INT (s_load (&cfg, "store\n    snapshot_every = often\n"), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (s_load (&cfg, "store\n    snapshots = 2\n"), HEARTH_EINVAL);
    node_config_defaults (&cfg, "/tmp/x");
    HT_CHECK_EQ_INT ((int) cfg.snapshot_every, 0);
}

/*  The template `hearthctl init` writes names every key of the table, and
    with every line but the example peer uncommented it loads and holds
    the defaults. */
HT_TEST (test_template)
{
    char *text = NULL;
    size_t size = 0;
    FILE *file = open_memstream (&text, &size);
    HT_CHECK_EQ_INT (node_config_template_write (file), HEARTH_OK);
    fclose (file);
    size_t n = node_config_keys (NULL, 0);
    HT_CHECK (n >= 12);
    for (size_t i = 0; i < n; i++) {
        const node_config_key_t *key = NULL;
        node_config_keys (&key, i);
        char line [256];
        snprintf (line, sizeof line, "#    %s = %s ", key->name, key->value);
        HT_CHECK (strstr (text, line) != NULL);
    }
    const node_config_key_t *past = (const node_config_key_t *) 1;
    node_config_keys (&past, n);
    HT_CHECK (past == NULL);
    /*  Uncomment: drop the leading '#' of section and key lines. */
    char *config = calloc (1, size + 1);
    char *out = config;
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
        if ((strncmp (line, "#   ", 4) == 0 && line [4] != ' ') || strstr (line, "peer = "))
            continue;
        out += sprintf (out, "%s\n", line + 1);
    }
    node_config_t loaded, defaults;
    HT_CHECK_EQ_INT (s_load (&loaded, config), HEARTH_OK);
    node_config_defaults (&defaults, "/tmp/hearth-config-test");
    HT_CHECK (loaded.market.default_ttl_seconds == defaults.market.default_ttl_seconds);
    HT_CHECK (loaded.market.max_ttl_seconds == defaults.market.max_ttl_seconds);
    HT_CHECK (loaded.market.sweep_interval_seconds == defaults.market.sweep_interval_seconds);
    HT_CHECK (loaded.log_level == defaults.log_level);
    HT_CHECK (loaded.snapshot_every == 0);
    HT_CHECK_EQ_STR (loaded.listen, "tcp://0.0.0.0:7400");
    free (config);
    free (text);
}

/*  The reference table of docs/operations.md ("| `section/key` |" rows)
    lists exactly the keys of the table. */
HT_TEST (test_docs_list_every_key)
{
    char path [512];
    snprintf (path, sizeof path, "%s/../docs/operations.md", HEARTH_TESTS_DIR);
    FILE *file = fopen (path, "r");
    HT_CHECK (file != NULL);
    if (!file)
        return;
    size_t n = node_config_keys (NULL, 0);
    int listed [64] = { 0 };
    HT_CHECK (n <= 64);
    char line [4096];
    int in_section = 0;
    while (fgets (line, sizeof line, file)) {
        if (strncmp (line, "## ", 3) == 0)
            in_section = strncmp (line, "## Configuration", 16) == 0;
        if (!in_section || strncmp (line, "| `", 3) != 0)
            continue;
        char *end = strchr (line + 3, '`');
        if (!end)
            continue;
        *end = '\0';
        int known = 0;
        for (size_t i = 0; i < n && i < 64; i++) {
            const node_config_key_t *key = NULL;
            node_config_keys (&key, i);
            char name [128];
            snprintf (name, sizeof name, "%s/%s", key->section, key->name);
            if (strcmp (name, line + 3) == 0)
                listed [i] = known = 1;
        }
        if (!known)
            fprintf (stderr, "docs/operations.md lists %s, which is no config key\n", line + 3);
        HT_CHECK (known);
    }
    fclose (file);
    for (size_t i = 0; i < n && i < 64; i++) {
        const node_config_key_t *key = NULL;
        node_config_keys (&key, i);
        if (!listed [i])
            fprintf (stderr, "docs/operations.md does not list %s/%s\n", key->section, key->name);
        HT_CHECK (listed [i]);
    }
}

int
main (void)
{
    HT_RUN (test_defaults);
    HT_RUN (test_load_values);
    HT_RUN (test_load_refusals);
    HT_RUN (test_validate);
    HT_RUN (test_files);
    HT_RUN (test_mesh);
    HT_RUN (test_template);
    HT_RUN (test_docs_list_every_key);
    return ht_summary ();
}
