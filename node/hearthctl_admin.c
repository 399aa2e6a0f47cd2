/*  hearthctl_admin.c — the commands about this node's identity, its
    community and its data dir: init, id, invite, join, repair (docs/cli.md).
    init, join and repair work on DIR's files with no node running (init
    and repair refuse while hearthd holds the log); id reads the key
    directly; invite asks the running node. Private to hearthctl.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "dbdir.h"
#include "eventlog.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_fs.h"
#include "identity.h"
#include "market.h"
#include "market_view.h"
#include "node_client.h"
#include "node_config.h"
#include "node_invite.h"
#include "node_render.h"
#include "hearthctl.h"

/*  Community name used by `init` without --community. */
#define S_DEFAULT_COMMUNITY "hearth"
/*  Directory mode for the data dir and its parents created by init. */
#define S_DIR_MODE          0700

/* ---- init / id ------------------------------------------------------------ */

/*  A commented config file documenting every key at its default, so an
    operator sees what can be set (docs/operations.md), and the default
    search synonym file. */
static void
s_write_config_template (const char *data_dir)
{
    char path [NODE_CONFIG_PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/%s", data_dir, NODE_CONFIG_FILE_NAME);
    FILE *file = access (path, F_OK) == 0? NULL: fopen (path, "wx");
    if (file) {
        node_config_template_write (file);
        fclose (file);
    }
    //  The community's search synonyms, to edit (re-read while running)
    snprintf (path, sizeof path, "%s/%s", data_dir, MARKET_SYNONYMS_FILE);
    file = access (path, F_OK) == 0? NULL: fopen (path, "wx");
    if (file) {
        fputs (market_synonyms_default, file);
        fclose (file);
    }
}

/*  Load DIR/keys; on failure print why (and what to run) and return NULL
    with *exit_code set. */
static identity_t *
s_load_identity (const hearthctl_t *ctl, int *exit_code)
{
    char keys [NODE_CONFIG_PATH_MAX + 16];
    snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
    int err = 0;
    identity_t *identity = identity_load (keys, &err);
    if (!identity) {
        if (err == HEARTH_EKEYPERM)
            *exit_code = hearthctl_failf (ctl, err, "key file %s/device.ed25519 is readable or writable by "
                                          "group or others; fix it with `chmod 600 %s/device.ed25519`",
                                          keys, keys);
        else
            *exit_code = hearthctl_failf (ctl, err? err: HEARTH_EKEYS, "no identity in %s: run `hearthctl "
                                          "--data-dir %s init` (new community) or `hearthctl --data-dir %s "
                                          "init --identity-only` (to be invited)", ctl->data_dir,
                                          ctl->data_dir, ctl->data_dir);
    }
    return identity;
}

/*  The identity in keys (seed: its seed file): loaded if the seed exists,
    else created (*created = 1). NULL after reporting why, with the exit
    code in *exit_code. Caller owns the identity. */
static identity_t *
s_identity_load_or_create (hearthctl_t *ctl, const char *keys, const char *seed, int *created,
                           int *exit_code)
{
    int err = 0;
    identity_t *identity;
    *created = 0;
    if (access (seed, F_OK) == 0)
        identity = identity_load (keys, &err);
    else {
        identity = identity_create (keys, &err);
        *created = identity != NULL;
    }
    if (!identity) {
        if (err == HEARTH_EKEYPERM)
            *exit_code = hearthctl_failf (ctl, err, "key file %s is readable or writable by group or "
                                          "others; fix it with `chmod 600 %s`", seed, seed);
        else
            *exit_code = hearthctl_failf (ctl, err? err: HEARTH_EKEYS, "identity in %s: %s", keys,
                                          hearth_strerror (err));
    }
    return identity;
}

/*  init --identity-only: the key pair and nothing else, so this node's
    NodeID can be sent to an inviter. Idempotent: an existing key is kept. */
static int
s_init_identity (hearthctl_t *ctl)
{
    if (hearth_mkdirs (ctl->data_dir, S_DIR_MODE) != 0)
        return hearthctl_failf (ctl, HEARTH_EIO, "cannot create %s: %s", ctl->data_dir, strerror (errno));
    char keys [NODE_CONFIG_PATH_MAX + 16], seed [NODE_CONFIG_PATH_MAX + 32];
    snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
    snprintf (seed, sizeof seed, "%s/" IDENTITY_SEED_FILE, keys);
    int created = 0, exit_code = 0;
    identity_t *identity = s_identity_load_or_create (ctl, keys, seed, &created, &exit_code);
    if (!identity)
        return exit_code;
    s_write_config_template (ctl->data_dir);
    if (ctl->json) {
        json_t *out = json_pack ("{s:s, s:s, s:s, s:b}", "node_id", identity_node_id (identity),
                                 "short_id", identity_short_id (identity),
                                 "data_dir", ctl->data_dir, "created", created);
        hearthctl_print_json (out);
        json_decref (out);
    }
    else {
        printf ("%s\n", identity_node_id (identity));
        fprintf (stderr, "%s identity %s in %s; send the NodeID above to a member, who runs\n"
                 "  hearthctl invite %s --out invite.json\n"
                 "then join with: hearthctl --data-dir %s join invite.json\n",
                 created? "created": "existing", identity_short_id (identity), ctl->data_dir,
                 identity_node_id (identity), ctl->data_dir);
    }
    identity_destroy (&identity);
    return HEARTHCTL_EXIT_OK;
}

int
hearthctl_cmd_init (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "community",     required_argument, NULL, 'c' },
        { "identity-only", no_argument,       NULL, 'I' },
        { "json",          no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *name = S_DEFAULT_COMMUNITY;
    int opt, identity_only = 0, community_given = 0;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'c') { name = optarg; community_given = 1; }
        else if (opt == 'I') identity_only = 1;
        else if (opt == 'j') ctl->json = 1;
        else return hearthctl_bad_option (ctl, argv, options);
    }
    if (optind < argc)
        return hearthctl_usage_error (ctl, "init takes no arguments");
    if (!ctl->data_dir [0])
        return hearthctl_usage_error (ctl, "init needs --data-dir (not --node)");
    if (identity_only && community_given)
        return hearthctl_usage_error (ctl, "init: --identity-only creates no community, so no --community");
    if (identity_only)
        return s_init_identity (ctl);
    if (!*name || strlen (name) > EVENT_MAX_LABEL_BYTES || !hearth_utf8_valid (name, strlen (name))) {
        char message [96];
        snprintf (message, sizeof message, "--community must be 1..%d bytes of UTF-8",
                  EVENT_MAX_LABEL_BYTES);
        return hearthctl_usage_error (ctl, message);
    }

    if (hearth_mkdirs (ctl->data_dir, S_DIR_MODE) != 0)
        return hearthctl_failf (ctl, HEARTH_EIO, "cannot create %s: %s", ctl->data_dir, strerror (errno));
    char keys [NODE_CONFIG_PATH_MAX + 16], seed [NODE_CONFIG_PATH_MAX + 32], db [NODE_CONFIG_PATH_MAX + 16];
    snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
    snprintf (seed, sizeof seed, "%s/" IDENTITY_SEED_FILE, keys);
    snprintf (db, sizeof db, "%s/db", ctl->data_dir);

    int err = 0, created_identity = 0, exit_code = 0;
    identity_t *identity = s_identity_load_or_create (ctl, keys, seed, &created_identity, &exit_code);
    if (!identity)
        return exit_code;
    char *problem = NULL;
    eventlog_t *log = eventlog_open_with (db, NULL, &err, &problem);
    if (!log) {
        identity_destroy (&identity);
        int exit_code;
        if (err == HEARTH_ELOCKED)
            exit_code = hearthctl_failf (ctl, HEARTH_EEXISTS, "hearthd is running for %s (its event log is "
                                         "locked), so %s is already initialised", ctl->data_dir,
                                         ctl->data_dir);
        else
        if (err == HEARTH_ECORRUPT)
            exit_code = hearthctl_failf (ctl, err, "refusing to initialise %s: %s; a new community would "
                                         "replace it. `hearthctl --data-dir %s repair` recovers it",
                                         ctl->data_dir, problem? problem: hearth_strerror (err),
                                         ctl->data_dir);
        else
            exit_code = hearthctl_failf (ctl, err, "cannot open the event log %s: %s", db,
                                         problem? problem: hearth_strerror (err));
        free (problem);
        return exit_code;
    }
    char community [HEARTH_NODE_ID_SIZE];
    if (eventlog_community_id (log)) {
        hearth_node_id_format (eventlog_community_id (log), community);
        eventlog_destroy (&log);
        int exit_code = hearthctl_failf (ctl, HEARTH_EEXISTS, "%s is already initialised (node %s, "
                                         "community %s)", ctl->data_dir, identity_short_id (identity),
                                         community);
        identity_destroy (&identity);
        return exit_code;
    }
    int rc = eventlog_community_create (log, identity, name, hearth_now_ms ());
    if (rc == HEARTH_OK)
        hearth_node_id_format (eventlog_community_id (log), community);
    eventlog_destroy (&log);
    if (rc != HEARTH_OK) {
        identity_destroy (&identity);
        return hearthctl_failf (ctl, rc, "cannot create the community: %s", hearth_strerror (rc));
    }
    s_write_config_template (ctl->data_dir);
    if (ctl->json) {
        json_t *out = json_pack ("{s:s, s:s, s:s, s:s, s:s}",
                                 "node_id", identity_node_id (identity),
                                 "short_id", identity_short_id (identity),
                                 "community_id", community,
                                 "community_name", name,
                                 "data_dir", ctl->data_dir);
        hearthctl_print_json (out);
        json_decref (out);
    }
    else {
        printf ("initialised %s\n", ctl->data_dir);
        printf ("  node      %s (%s)%s\n", identity_short_id (identity), identity_node_id (identity),
                created_identity? "": " [existing key]");
        printf ("  community \"%s\" %s (this node is its root)\n", name, community);
        printf ("start the node with: hearthd --data-dir %s --listen tcp://0.0.0.0:%d\n", ctl->data_dir,
                NODE_CONFIG_PEER_PORT);
    }
    identity_destroy (&identity);
    return HEARTHCTL_EXIT_OK;
}

int
hearthctl_cmd_id (hearthctl_t *ctl, int argc, char **argv)
{
    int rc0 = hearthctl_json_only_args (ctl, argc, argv, "id");
    if (rc0 != HEARTHCTL_EXIT_OK)
        return rc0;
    json_t *out = NULL;
    if (!ctl->data_dir [0]) {
        /*  Only an endpoint: ask the node. */
        int rc = hearthctl_call (ctl, "node.id", NULL, &out);
        if (rc != HEARTHCTL_EXIT_OK)
            return rc;
    }
    else {
        /*  Read the key directly: works whether or not hearthd runs. */
        char keys [NODE_CONFIG_PATH_MAX + 16];
        snprintf (keys, sizeof keys, "%s/keys", ctl->data_dir);
        int err = 0;
        identity_t *identity = identity_load (keys, &err);
        if (!identity) {
            if (err == HEARTH_EKEYPERM)
                return hearthctl_failf (ctl, err, "key file %s/device.ed25519 is readable or writable by "
                                        "group or others; fix it with `chmod 600 %s/device.ed25519`",
                                        keys, keys);
            return hearthctl_failf (ctl, err? err: HEARTH_EKEYS, "no identity in %s: run `hearthctl "
                                    "--data-dir %s init`", ctl->data_dir, ctl->data_dir);
        }
        /*  "address" is the peer address of the running node, if one
            answers at once (a stopped node has none). */
        json_t *address = NULL, *http_url = NULL, *reply = NULL;
        char control [NODE_CONFIG_PATH_MAX];
        node_client_t *client = NULL;
        if (node_config_control_endpoint (ctl->data_dir, control, sizeof control) == HEARTH_OK)
            client = node_client_new (control, ctl->timeout_ms);
        if (client && node_client_call (client, "node.id", NULL, &reply) == HEARTH_OK) {
            json_t *node_id = json_object_get (json_object_get (reply, "output"), "node_id");
            if (json_is_string (node_id)
            &&  strcmp (json_string_value (node_id), identity_node_id (identity)) == 0) {
                address = json_incref (json_object_get (json_object_get (reply, "output"), "address"));
                http_url = json_incref (json_object_get (json_object_get (reply, "output"), "http_url"));
            }
        }
        node_client_destroy (&client);
        json_decref (reply);
        out = json_pack ("{s:s, s:s, s:o, s:o}", "node_id", identity_node_id (identity),
                         "short_id", identity_short_id (identity),
                         "address", address? address: json_null (),
                         "http_url", http_url? http_url: json_null ());
        identity_destroy (&identity);
    }
    if (ctl->json) {
        /*  Exactly {"node_id","short_id","address","http_url"} (docs/cli.md). */
        json_t *shape = json_pack ("{s:O, s:O, s:O, s:O}",
                                   "node_id", json_object_get (out, "node_id"),
                                   "short_id", json_object_get (out, "short_id"),
                                   "address", json_object_get (out, "address")?
                                       json_object_get (out, "address"): json_null (),
                                   "http_url", json_object_get (out, "http_url")?
                                       json_object_get (out, "http_url"): json_null ());
        hearthctl_print_json (shape? shape: out);
        json_decref (shape);
    }
    else
        node_render_id (stdout, out);
    json_decref (out);
    return HEARTHCTL_EXIT_OK;
}

/* ---- invite / join --------------------------------------------------------- */

int
hearthctl_cmd_invite (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "level", required_argument, NULL, 'l' },
        { "ttl",   required_argument, NULL, 'T' },
        { "out",   required_argument, NULL, 'o' },
        { "endpoint", required_argument, NULL, 'e' },
        { "json",  no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *level = NULL, *out_path = NULL;
    uint64_t ttl = 0;
    int opt, ttl_given = 0;
    json_t *endpoints = json_array ();
    if (!endpoints)
        return hearthctl_fail_err (ctl, HEARTH_ENOMEM, NULL);
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'e') {
            if (!node_invite_address_valid (optarg)) {
                json_decref (endpoints);
                return hearthctl_usage_error (ctl, "--endpoint must be a member's peer address "
                                              "NODE_ID@tcp://HOST:PORT (its `hearthctl id`)");
            }
            json_array_append_new (endpoints, json_string (optarg));
        }
        else if (opt == 'l') level = optarg;
        else if (opt == 'o') out_path = optarg;
        else if (opt == 'j') ctl->json = 1;
        else if (opt == 'T') {
            if (hearthctl_parse_u64 (optarg, &ttl) != 0 || ttl < 1) {
                json_decref (endpoints);
                return hearthctl_usage_error (ctl, "--ttl must be a positive whole number of seconds");
            }
            ttl_given = 1;
        }
        else {
            json_decref (endpoints);
            return hearthctl_bad_option (ctl, argv, options);
        }
    }
    const char *problem = NULL;
    if (argc - optind != 1)
        problem = argc - optind == 0? "invite needs the invitee's NODE_ID (from its `hearthctl init "
                                      "--identity-only`)": "invite takes exactly one NODE_ID";
    else
    if (level && strcmp (level, "member") != 0 && strcmp (level, "trusted") != 0)
        problem = "--level must be member or trusted";
    if (problem) {
        json_decref (endpoints);
        return hearthctl_usage_error (ctl, problem);
    }
    json_t *input = json_object ();
    if (json_array_size (endpoints) > 0)
        json_object_set (input, "bootstrap_endpoints", endpoints);
    json_decref (endpoints);
    int rc = hearthctl_set_text (ctl, input, "node_id", argv [optind]);
    if (rc == HEARTHCTL_EXIT_OK && level)
        json_object_set_new (input, "level", json_string (level));
    if (rc == HEARTHCTL_EXIT_OK && ttl_given)
        json_object_set_new (input, "ttl_seconds", json_integer ((json_int_t) ttl));
    json_t *blob = NULL;
    if (rc == HEARTHCTL_EXIT_OK)
        rc = hearthctl_call (ctl, "community.invite", input, &blob);
    json_decref (input);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    char *text = node_invite_blob_text (blob);
    if (!text) {
        json_decref (blob);
        return hearthctl_fail_err (ctl, HEARTH_ENOMEM, NULL);
    }
    if (out_path && node_invite_write (out_path, text) != 0) {
        rc = hearthctl_failf (ctl, HEARTH_EIO, "the invite was created (event %s) but cannot be written to "
                              "%s: %s", json_string_value (json_object_get (blob, "invite_event_id")),
                              out_path, strerror (errno));
    }
    else
    if (ctl->json || !out_path)
        fputs (text, stdout);
    else {
        printf ("invite for %s (%s) written to %s, mode 0600\n",
                json_string_value (json_object_get (blob, "invitee_node_id")),
                json_string_value (json_object_get (blob, "initial_level")), out_path);
        printf ("  expires %s; bootstrap %zu endpoint(s)\n",
                json_string_value (json_object_get (blob, "expires_at")),
                json_array_size (json_object_get (blob, "bootstrap_endpoints")));
    }
    /*  Loopback endpoints only: usable on this machine alone. */
    size_t i_endpoint, loopback = 0;
    json_t *endpoint;
    json_array_foreach (json_object_get (blob, "bootstrap_endpoints"), i_endpoint, endpoint) {
        const char *at = strchr (json_string_value (endpoint)? json_string_value (endpoint): "", '@');
        if (at && (strncmp (at + 1, "tcp://127.", 10) == 0 || strncmp (at + 1, "tcp://localhost:", 16) == 0
               ||  strncmp (at + 1, "tcp://[::1]:", 12) == 0))
            loopback++;
    }
    if (rc == HEARTHCTL_EXIT_OK && !ctl->json && loopback
    &&  loopback == json_array_size (json_object_get (blob, "bootstrap_endpoints")))
        fprintf (stderr, "hearthctl: warning: the invite names only loopback endpoints, so only a node "
                 "on this machine can use it; for neighbours start hearthd with --advertise "
                 "tcp://THIS_HOST:PORT or give --endpoint\n");
    free (text);
    json_decref (blob);
    return rc;
}

/*  Append the bootstrap endpoints (and the n_extra addresses of join's
    --peer) missing from DIR/hearth.cfg as peers.
    Returns the number added, or -1 (errno) if the file cannot be written. */
static int
s_add_config_peers (const hearthctl_t *ctl, const node_invite_t *invite, const char *const *extra,
                    size_t n_extra)
{
    char path [NODE_CONFIG_PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/%s", ctl->data_dir, NODE_CONFIG_FILE_NAME);
    s_write_config_template (ctl->data_dir);
    node_config_t cfg;
    node_config_defaults (&cfg, ctl->data_dir);
    char *message = NULL;
    /*  A config that does not parse is left for hearthd to report. */
    node_config_load_file (&cfg, path, 0, &message);
    free (message);
    int added = 0;
    FILE *file = NULL;
    size_t n_invite = node_invite_endpoint_count (invite);
    for (size_t i = 0; i < n_invite + n_extra; i++) {
        const char *address = i < n_invite? node_invite_endpoint (invite, i): extra [i - n_invite];
        int known = 0;
        for (size_t p = 0; p < cfg.n_peers; p++)
            if (strcmp (cfg.peers [p], address) == 0)
                known = 1;
        if (known)
            continue;
        if (!file) {
            file = fopen (path, "a");
            if (!file)
                return -1;
            fprintf (file, "#   added by `hearthctl join` from the invite's bootstrap endpoints "
                     "(and --peer)\n"
                     "peers\n");
        }
        fprintf (file, "    peer = \"%s\"\n", address);
        added++;
    }
    if (file && fclose (file) != 0)
        return -1;
    return added;
}

int
hearthctl_cmd_join (hearthctl_t *ctl, int argc, char **argv)
{
    static const struct option options [] = {
        { "peer", required_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char *peers [NODE_INVITE_MAX_ENDPOINTS];
    size_t n_peers = 0;
    int opt;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        if (opt == 'j') ctl->json = 1;
        else if (opt == 'p') {
            if (!node_invite_address_valid (optarg))
                return hearthctl_usage_error (ctl, "--peer must be a member's peer address "
                                              "NODE_ID@tcp://HOST:PORT (its `hearthctl id`)");
            if (n_peers >= NODE_INVITE_MAX_ENDPOINTS)
                return hearthctl_usage_error (ctl, "too many --peer options");
            peers [n_peers++] = optarg;
        }
        else return hearthctl_bad_option (ctl, argv, options);
    }
    if (argc - optind != 1)
        return hearthctl_usage_error (ctl, argc - optind == 0? "join needs the INVITE_FILE a member "
                                      "wrote with `hearthctl invite`": "join takes exactly one INVITE_FILE");
    if (!ctl->data_dir [0])
        return hearthctl_usage_error (ctl, "join needs --data-dir (not --node)");
    int exit_code = HEARTHCTL_EXIT_OK;
    identity_t *identity = s_load_identity (ctl, &exit_code);
    if (!identity)
        return exit_code;
    int err = 0;
    char *message = NULL;
    node_invite_t *invite = node_invite_load (argv [optind], &err, &message);
    if (!invite) {
        exit_code = hearthctl_fail_err (ctl, err, message);
        goto done;
    }
    /*  An invite naming nowhere to connect to, and no --peer: the node
        would wait for ever. Refuse before changing anything. */
    if (node_invite_endpoint_count (invite) == 0 && n_peers == 0) {
        exit_code = hearthctl_failf (ctl, HEARTH_EINVAL, "the invite %s names no bootstrap endpoint, "
                                     "so this node would have nobody to connect to: ask the inviter "
                                     "for a new invite from a node that listens (hearthd --listen, "
                                     "or `hearthctl invite --endpoint`), or give --peer "
                                     "NODE_ID@tcp://HOST:PORT of a member", argv [optind]);
        goto done;
    }
    int already = 0;
    err = node_invite_join (invite, identity, ctl->data_dir, hearth_now_ms (), &already, &message);
    if (err != HEARTH_OK) {
        exit_code = hearthctl_fail_err (ctl, err, message);
        goto done;
    }
    char path [NODE_CONFIG_PATH_MAX + 32], community [HEARTH_NODE_ID_SIZE];
    snprintf (path, sizeof path, "%s/%s", ctl->data_dir, NODE_INVITE_FILE_NAME);
    hearth_node_id_format (node_invite_community_id (invite), community);
    int added = s_add_config_peers (ctl, invite, peers, n_peers);
    if (added < 0) {
        exit_code = hearthctl_failf (ctl, HEARTH_EIO, "cannot add the bootstrap peers to %s/%s: %s",
                                     ctl->data_dir, NODE_CONFIG_FILE_NAME, strerror (errno));
        goto done;
    }
    char expires [HEARTH_TIME_SIZE];
    hearth_time_format (node_invite_expires_at_ms (invite), expires);
    if (ctl->json) {
        json_t *peers = json_array ();
        for (size_t i = 0; i < node_invite_endpoint_count (invite); i++)
            json_array_append_new (peers, json_string (node_invite_endpoint (invite, i)));
        json_t *out = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:o, s:i}",
                                 "community_id", community,
                                 "community_name", node_invite_community_name (invite),
                                 "node_id", identity_node_id (identity),
                                 "invite_event_id", node_invite_event_id (invite),
                                 "expires_at", expires, "bootstrap_endpoints", peers,
                                 "peers_added", added);
        hearthctl_print_json (out);
        json_decref (out);
    }
    else {
        printf ("%s community \"%s\" %s\n", already? "already in": "joining",
                node_invite_community_name (invite), community);
        printf ("  invite %s stored in %s (expires %s)\n", node_invite_event_id (invite), path, expires);
        printf ("  %d bootstrap peer(s) added to %s/%s\n", added, ctl->data_dir, NODE_CONFIG_FILE_NAME);
        printf ("start the node with: hearthd --data-dir %s --listen tcp://0.0.0.0:%d\n"
                "it becomes a member once it has synced the invite (before %s)\n",
                ctl->data_dir, NODE_CONFIG_PEER_PORT, expires);
    }
done:
    free (message);
    node_invite_destroy (&invite);
    identity_destroy (&identity);
    return exit_code;
}

/* ---- repair ---------------------------------------------------------------- */

/*  What a repaired copy holds. */
typedef struct {
    uint64_t events;            /* events read back, one by one */
    uint64_t seq;               /* last arrival seq */
    uint64_t lamport_head;
    uint64_t posts;             /* market posts in the rebuilt view */
    char     community [HEARTH_NODE_ID_SIZE];   /* "" if none */
} s_repaired_t;

/*  Open the repaired copy, make its counters agree with its events,
    rebuild every view from the whole log (its snapshots were of the
    damaged log) and close it (which stores fresh view snapshots). */
static int
s_repair_check (const char *copy, const identity_t *identity, s_repaired_t *out, char **problem)
{
    eventlog_open_options_t options = { .recover_wal = 1, .salvage = 1 };
    int err = 0;
    eventlog_t *log = eventlog_open_with (copy, &options, &err, problem);
    if (!log)
        return err? err: HEARTH_EIO;
    market_t *market = market_new (log, identity, NULL);
    int rc = market? eventlog_recount (log, &out->events): HEARTH_ENOMEM;
    if (rc == HEARTH_OK)
        rc = eventlog_views_rebuild (log);
    if (rc == HEARTH_OK) {
        out->seq = eventlog_stats (log)->seq;
        out->lamport_head = eventlog_stats (log)->lamport_head;
        out->posts = market_view_count (market_view (market));
        out->community [0] = 0;
        if (eventlog_community_id (log))
            hearth_node_id_format (eventlog_community_id (log), out->community);
    }
    else
        *problem = hearth_message ("reading the repaired copy back failed: %s", hearth_strerror (rc));
    eventlog_destroy (&log);
    market_destroy (&market);
    return rc;
}

/*  Count the files RocksDB's repair set aside in copy/lost/. */
static size_t
s_lost_files (const char *copy)
{
    char path [NODE_CONFIG_PATH_MAX + 128];
    snprintf (path, sizeof path, "%s/lost", copy);
    DIR *dir = opendir (path);
    size_t n = 0;
    if (!dir)
        return 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (entry->d_name [0] != '.')
            n++;
    closedir (dir);
    return n;
}

/*  repair [--apply]: RocksDB's repair on a copy of DIR/db, the copy read
    back and reported; with --apply the copy becomes DIR/db and the
    original is kept as DIR/db.damaged-TIME. hearthd must be stopped. */
int
hearthctl_cmd_repair (hearthctl_t *ctl, int argc, char **argv)
{
    int apply;
    int usage = hearthctl_flag_only_args (ctl, argc, argv, "repair", "apply", &apply);
    if (usage != HEARTHCTL_EXIT_OK)
        return usage;
    if (!ctl->data_dir [0] || ctl->node_given)
        return hearthctl_usage_error (ctl, "repair needs --data-dir (it works on the files, not a node)");
    char db [NODE_CONFIG_PATH_MAX + 16], copy [NODE_CONFIG_PATH_MAX + 64],
         damaged [NODE_CONFIG_PATH_MAX + 64], stamp [32];
    snprintf (db, sizeof db, "%s/db", ctl->data_dir);
    struct stat st;
    if (stat (db, &st) != 0 || !S_ISDIR (st.st_mode))
        return hearthctl_failf (ctl, HEARTH_ENOTFOUND, "%s does not exist: nothing to repair", db);
    if (dbdir_locked (db))
        return hearthctl_failf (ctl, HEARTH_ELOCKED, "hearthd is running for %s (its event log is locked): "
                                "stop it first; repair works on a stopped node", ctl->data_dir);
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf (copy, sizeof copy, "%s/db.repair-%s", ctl->data_dir, stamp);
    snprintf (damaged, sizeof damaged, "%s/db.damaged-%s", ctl->data_dir, stamp);

    int exit_code = HEARTHCTL_EXIT_OK;
    identity_t *identity = s_load_identity (ctl, &exit_code);
    if (!identity)
        return exit_code;
    uint64_t acknowledged = 0;
    int have_mark = dbdir_mark_read (db, &acknowledged) == 0;
    char *problem = NULL;
    s_repaired_t got;
    memset (&got, 0, sizeof got);
    int rc = dbdir_copy (db, copy);
    if (rc != HEARTH_OK) {
        exit_code = hearthctl_failf (ctl, rc, "cannot copy %s to %s: %s", db, copy, hearth_strerror (rc));
        goto done;
    }
    /*  First the gentle way: CURRENT rewritten if it is missing or
        damaged (the newest manifest is usually intact), then every
        readable WAL record replayed, damaged ones skipped. RocksDB's
        repairer comes second: it rebuilds the manifest from the table
        files alone and drops WAL records of column families that have
        no table file yet. */
    const char *method = "salvage";
    if (dbdir_inspect (copy, NULL) == DBDIR_DAMAGED)
        dbdir_current_rewrite (copy);
    rc = s_repair_check (copy, identity, &got, &problem);
    if (rc != HEARTH_OK) {
        fprintf (stderr, "hearthctl: the copy does not open as it is (%s): running RocksDB's "
                 "repair on a fresh copy\n", problem? problem: hearth_strerror (rc));
        free (problem);
        problem = NULL;
        method = "rocksdb_repair";
        dbdir_remove (copy);
        rc = dbdir_copy (db, copy);
        if (rc == HEARTH_OK)
            rc = dbdir_repair (copy, &problem);
        if (rc == HEARTH_OK)
            rc = s_repair_check (copy, identity, &got, &problem);
    }
    if (rc != HEARTH_OK) {
        exit_code = hearthctl_failf (ctl, rc, "repairing the copy %s failed: %s (the original is "
                                     "untouched; the copy is kept for a closer look)", copy,
                                     problem? problem: hearth_strerror (rc));
        goto done;
    }
    size_t lost_files = s_lost_files (copy);
    /*  Every stored event took one arrival seq: the arrivals known (the
        mark's, or the highest seq read back) less the events read back
        are the ones missing, at the end or in skipped records. */
    uint64_t known = have_mark && acknowledged > got.seq? acknowledged: got.seq;
    uint64_t lost = known > got.events? known - got.events: 0;
    if (apply) {
        if (rename (db, damaged) != 0) {
            exit_code = hearthctl_failf (ctl, HEARTH_EIO, "cannot move %s aside to %s: %s", db, damaged,
                                         strerror (errno));
            goto done;
        }
        if (rename (copy, db) != 0) {
            int saved = errno;
            if (rename (damaged, db) != 0)
                exit_code = hearthctl_failf (ctl, HEARTH_EIO, "cannot move %s to %s (%s) nor the original "
                                             "back from %s: move it back by hand", copy, db,
                                             strerror (saved), damaged);
            else
                exit_code = hearthctl_failf (ctl, HEARTH_EIO, "cannot move %s to %s: %s (the original is "
                                             "back in place)", copy, db, strerror (saved));
            goto done;
        }
        int fd = open (ctl->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync (fd);
            close (fd);
        }
    }
    else
        dbdir_remove (copy);
    if (ctl->json) {
        json_t *out = json_pack ("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:b}",
                                 "data_dir", ctl->data_dir, "method", method, "applied", apply,
                                 "events", (json_int_t) got.events,
                                 "seq", (json_int_t) got.seq,
                                 "lamport_head", (json_int_t) got.lamport_head,
                                 "market_posts", (json_int_t) got.posts,
                                 "lost_files", (json_int_t) lost_files,
                                 "views_rebuilt", 1);
        json_object_set_new (out, "community_id", got.community [0]? json_string (got.community)
                                                                  : json_null ());
        json_object_set_new (out, "acknowledged_seq", have_mark? json_integer ((json_int_t) acknowledged)
                                                               : json_null ());
        json_object_set_new (out, "missing", json_integer ((json_int_t) lost));
        json_object_set_new (out, "damaged_kept", apply? json_string (damaged): json_null ());
        hearthctl_print_json (out);
        json_decref (out);
    }
    else {
        printf ("repaired a copy of %s (%s):\n", db, strcmp (method, "salvage") == 0
                ? "every readable write-ahead log record replayed"
                : "RocksDB's repair: manifest rebuilt from the table files");
        printf ("  events    %" PRIu64 " readable (arrival seq %" PRIu64 ", lamport head %" PRIu64 ")\n",
                got.events, got.seq, got.lamport_head);
        printf ("  community %s\n", got.community [0]? got.community: "(none)");
        printf ("  views     rebuilt from the whole log (%" PRIu64 " market posts)\n", got.posts);
        if (have_mark)
            printf ("  acknowledged up to arrival %" PRIu64 "\n", acknowledged);
        printf ("  missing   %" PRIu64 " of %" PRIu64 " arrival(s)%s\n", lost, known,
                lost? ": start the node with peers and it fetches what they hold": "");
        if (lost_files)
            printf ("  %zu damaged file(s) set aside in the copy's lost/\n", lost_files);
        if (apply)
            printf ("applied: %s is the repaired log; the damaged original is kept in %s\n", db, damaged);
        else
            printf ("nothing changed (the copy is removed); `hearthctl --data-dir %s repair --apply` "
                    "repairs again and swaps the result in, keeping the original\n", ctl->data_dir);
    }
done:
    free (problem);
    identity_destroy (&identity);
    return exit_code;
}
