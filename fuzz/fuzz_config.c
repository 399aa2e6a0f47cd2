/*  fuzz_config.c — hearthd's config file (node/node_config.c: ZPL text
    parsed by CZMQ's zconfig, then every key checked).

    Input: the file's text. Properties: loading fails with a message, never
    a crash; a config that loads is validated without crashing; its peer
    list stays within NODE_CONFIG_MAX_PEERS and every string within its
    buffer. The text also goes through the single-value setters.
*/
#include <string.h>
#include "fuzz.h"
#include "hearth_error.h"
#include "node_config.h"

/*  zconfig reads at most this much in practice (a config is a few lines). */
#define S_MAX_TEXT 65536

static void
s_check_string (const char *s, size_t cap)
{
    FUZZ_CHECK (memchr (s, 0, cap) != NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static node_config_t cfg;               /* ~300 KiB: not on the stack */
    if (size > S_MAX_TEXT)
        return 0;
    fuzz_quiet ();
    char *text = (char *) malloc (size + 1);
    memcpy (text, data, size);
    text [size] = 0;
    node_config_defaults (&cfg, "/var/lib/hearth");
    char *message = NULL;
    int rc = node_config_load_text (&cfg, text, &message);
    if (rc == 0) {
        FUZZ_CHECK (cfg.n_peers <= NODE_CONFIG_MAX_PEERS);
        for (size_t i = 0; i < cfg.n_peers; i++)
            s_check_string (cfg.peers [i], NODE_CONFIG_ADDRESS_MAX);
        s_check_string (cfg.listen, NODE_CONFIG_ENDPOINT_MAX);
        s_check_string (cfg.advertise, NODE_CONFIG_ENDPOINT_MAX);
        s_check_string (cfg.stats_endpoint, NODE_CONFIG_ENDPOINT_MAX);
        free (message);
        message = NULL;
        rc = node_config_validate (&cfg, &message);
        FUZZ_CHECK (rc == 0 || (rc == HEARTH_EINVAL && message));
    }
    else
        FUZZ_CHECK ((rc == HEARTH_EINVAL || rc == HEARTH_EIO) && message);
    free (message);
    message = NULL;
    node_config_defaults (&cfg, "/var/lib/hearth");
    rc = node_config_set_listen (&cfg, text, &message);
    FUZZ_CHECK (rc == 0 || message);
    free (message);
    message = NULL;
    rc = node_config_set_reconcile (&cfg, text, &message);
    FUZZ_CHECK (rc == 0 || message);
    free (message);
    message = NULL;
    rc = node_config_add_peer (&cfg, text, &message);
    FUZZ_CHECK (rc == 0 || message);
    free (message);
    free (text);
    return 0;
}

void
fuzz_seeds (fuzz_emit_fn *emit, void *arg)
{
    static const char *const texts [] = {
        "log\n    level = info\n",
        "log\n    level = debug\nmarket\n    default_ttl_seconds = 604800\n"
        "    max_ttl_seconds = 2592000\n    sweep_interval_seconds = 60\n",
        "stats\n    endpoint = tcp://127.0.0.1:9474\n",
        "mesh\n    listen = tcp://0.0.0.0:7400\n    advertise = tcp://192.168.1.20:7400\n"
        "    discovery = off\n    sync_interval_ms = 10000\n    reconcile = auto\n",
        "mesh\n    listen = none\n    reconcile = rateless\n",
        "peers\n    peer = ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@tcp://192.168.1.10:7400\n"
        "    peer = ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@tcp://[::1]:7401\n",
        "# comment\nlog\n    level = \"warn\"   # quoted\n",
        "tcp://127.0.0.1",
        "v1",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts [0]; i++)
        emit (arg, (const uint8_t *) texts [i], strlen (texts [i]));
}
