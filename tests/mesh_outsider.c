/*  mesh_outsider.c — the outsiders and the odd member the mesh tests need,
    built from the project's own gossip and event-log code.

        mesh_outsider stranger ADDRESS_FILE
            A listener holding a fresh, never-invited key: a CURVE server
            that admits every client (no ZAP handler), as an attacker's
            would. Writes its address NODE_ID@tcp://127.0.0.1:PORT to
            ADDRESS_FILE, then prints one line per handshake and per frame
            it receives ("handshake", "frame BODY_CASE BYTES") until SIGTERM.
        mesh_outsider hello KEYS_DIR NODE_ADDRESS HEAD [PEER_ADDRESS...]
            Dials NODE_ADDRESS as the identity in KEYS_DIR (a member or an
            invitee) and sends one hello claiming Lamport head HEAD (any
            64-bit value) and naming PEER_ADDRESSes as its peers; then
            pings (same head) every 200 ms until SIGTERM.
        mesh_outsider revoke DATA_DIR NODE_ID
            Appends community.member.revoked of NODE_ID, signed by DATA_DIR's
            identity, to DATA_DIR's log (its hearthd must be stopped: the
            log is locked while it runs). There is no CLI for revocation.
        mesh_outsider attack junk|null|wrongkey tcp://HOST:PORT
            One connection attempt the listener must refuse: junk bytes over
            raw TCP; a ZMTP greeting asking for the NULL mechanism; a CURVE
            DEALER that expects the wrong server key. Waits until the
            listener has ended the attempt (hung up, or refused the
            handshake) or 10 s.

    Exit 0 on success, 1 on a failure (printed), 2 on bad usage.
*/
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <czmq.h>
#include <sodium.h>
#include "eventlog.h"
#include "gossip.h"
#include "gossip_wire.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "identity.h"

/*  How long an attack waits for its attempt to be refused. */
#define S_ATTACK_WAIT_MS 10000
/*  Ping interval of `hello`: well under the listener's silence limit. */
#define S_PING_MS        200

static int
s_usage (void)
{
    fprintf (stderr, "usage: mesh_outsider stranger ADDRESS_FILE\n"
                     "       mesh_outsider hello KEYS_DIR NODE_ADDRESS HEAD [PEER_ADDRESS...]\n"
                     "       mesh_outsider revoke DATA_DIR NODE_ID\n"
                     "       mesh_outsider attack junk|null|wrongkey tcp://HOST:PORT\n");
    return 2;
}

static const char *
s_body_name (int body_case)
{
    switch (body_case) {
        case HEARTH__GOSSIP_MESSAGE__BODY_HELLO:     return "hello";
        case HEARTH__GOSSIP_MESSAGE__BODY_PUSH:      return "push";
        case HEARTH__GOSSIP_MESSAGE__BODY_EVENTS:    return "events";
        case HEARTH__GOSSIP_MESSAGE__BODY_ANNOUNCE:  return "announce";
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_OPEN:  return "neg_open";
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_MSG:   return "neg_msg";
        case HEARTH__GOSSIP_MESSAGE__BODY_NEG_REPLY: return "neg_reply";
        case HEARTH__GOSSIP_MESSAGE__BODY_FETCH:     return "fetch";
        case HEARTH__GOSSIP_MESSAGE__BODY_PING:      return "ping";
        case HEARTH__GOSSIP_MESSAGE__BODY_QUERY:     return "query";
        default:                                     return "other";
    }
}

/* ---- stranger ----------------------------------------------------------------- */

static int
s_stranger (const char *address_file)
{
    uint8_t seed [32], pub [32], sec [32];
    randombytes_buf (seed, sizeof seed);
    identity_t *id = identity_from_seed (seed);
    if (!id || identity_curve_keypair (id, pub, sec) != 0)
        return 1;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_curve_server (router, 1);
    zsock_set_curve_publickey_bin (router, pub);
    zsock_set_curve_secretkey_bin (router, sec);
    zsock_set_linger (router, 0);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    if (port < 0) {
        fprintf (stderr, "stranger: cannot bind\n");
        return 1;
    }
    zactor_t *monitor = zactor_new (zmonitor, router);
    zstr_sendx (monitor, "LISTEN", "HANDSHAKE_SUCCEEDED", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
    char tmp [4096];
    snprintf (tmp, sizeof tmp, "%s.tmp", address_file);
    FILE *f = fopen (tmp, "w");
    if (!f)
        return 1;
    fprintf (f, "%s@tcp://127.0.0.1:%d\n", identity_node_id (id), port);
    fclose (f);
    if (rename (tmp, address_file) != 0)
        return 1;
    setvbuf (stdout, NULL, _IOLBF, 0);
    zpoller_t *poller = zpoller_new (router, monitor, NULL);
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, 500);
        if (which == monitor) {
            zmsg_t *ev = zmsg_recv (monitor);
            zmsg_destroy (&ev);
            printf ("handshake\n");
        }
        else
        if (which == router) {
            zmsg_t *msg = zmsg_recv (router);
            if (!msg)
                break;
            zframe_t *rid = zmsg_pop (msg);
            zframe_t *body = zmsg_pop (msg);
            gossip_wire_msg_t m;
            if (body && gossip_wire_decode (&m, zframe_data (body), zframe_size (body),
                                            GOSSIP_MAX_FRAME_BYTES) == 0) {
                printf ("frame %s %zu\n", s_body_name (m.msg->body_case), zframe_size (body));
                gossip_wire_release (&m);
            }
            else
                printf ("frame undecodable %zu\n", body? zframe_size (body): 0);
            zframe_destroy (&rid);
            zframe_destroy (&body);
            zmsg_destroy (&msg);
        }
    }
    zpoller_destroy (&poller);
    zactor_destroy (&monitor);
    zsock_destroy (&router);
    identity_destroy (&id);
    return 0;
}

/* ---- a member's hand-made hello ------------------------------------------------- */

static zsock_t *
s_dial (const identity_t *id, const char *address)
{
    uint8_t key [32], server [32], pub [32], sec [32];
    char endpoint [GOSSIP_MAX_ADDRESS];
    if (gossip_address_parse (address, key, endpoint) != 0
    ||  crypto_sign_ed25519_pk_to_curve25519 (server, key) != 0
    ||  identity_curve_keypair (id, pub, sec) != 0)
        return NULL;
    zsock_t *d = zsock_new (ZMQ_DEALER);
    zsock_set_curve_serverkey_bin (d, server);
    zsock_set_curve_publickey_bin (d, pub);
    zsock_set_curve_secretkey_bin (d, sec);
    zsock_set_linger (d, 0);
    if (zsock_connect (d, "%s", endpoint) != 0)
        zsock_destroy (&d);
    return d;
}

static int
s_send_msg (zsock_t *d, const Hearth__GossipMessage *m)
{
    size_t len;
    uint8_t *buf = gossip_wire_encode (m, &len);
    if (!buf)
        return -1;
    int rc = zmq_send (zsock_resolve (d), buf, len, 0);
    free (buf);
    return rc < 0? -1: 0;
}

static int
s_hello (const char *keys_dir, const char *address, const char *head_text, char **peers, size_t n_peers)
{
    int err = 0;
    identity_t *id = identity_load (keys_dir, &err);
    char *end = NULL;
    uint64_t head = strtoull (head_text, &end, 10);
    if (!id || !end || *end) {
        fprintf (stderr, "hello: cannot load %s or bad head '%s'\n", keys_dir, head_text);
        return 1;
    }
    zsock_t *d = s_dial (id, address);
    if (!d) {
        fprintf (stderr, "hello: bad address %s\n", address);
        return 1;
    }
    Hearth__GossipHello h = HEARTH__GOSSIP_HELLO__INIT;
    h.version = GOSSIP_WIRE_VERSION;
    h.head_lamport = head;
    h.address = (char *) "";
    h.peers = peers;
    h.n_peers = n_peers;
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_HELLO;
    m.hello = &h;
    if (s_send_msg (d, &m) != 0)
        return 1;
    printf ("hello sent\n");
    fflush (stdout);
    /*  Pings never block: once the node has closed this connection and
        refuses the redial, a blocking send on the DEALER would wait for a
        peer for ever, and a SIGTERM that came just before it would go
        unseen. */
    zsock_set_sndtimeo (d, S_PING_MS);
    uint64_t nonce = 0;
    while (!zsys_interrupted) {
        zsock_set_rcvtimeo (d, S_PING_MS);
        zframe_t *f = zframe_recv (d);          /* whatever the node says: ignored */
        zframe_destroy (&f);
        Hearth__GossipPing p = HEARTH__GOSSIP_PING__INIT;
        p.nonce = ++nonce;
        p.head_lamport = head;
        Hearth__GossipMessage pm = HEARTH__GOSSIP_MESSAGE__INIT;
        pm.body_case = HEARTH__GOSSIP_MESSAGE__BODY_PING;
        pm.ping = &p;
        s_send_msg (d, &pm);
    }
    zsock_destroy (&d);
    identity_destroy (&id);
    return 0;
}

/* ---- revocation ------------------------------------------------------------------ */

static int
s_revoke (const char *data_dir, const char *node_id)
{
    char keys [4096], db [4096];
    snprintf (keys, sizeof keys, "%s/keys", data_dir);
    snprintf (db, sizeof db, "%s/db", data_dir);
    uint8_t target [32];
    if (hearth_node_id_parse (node_id, target) != 0) {
        fprintf (stderr, "revoke: bad NodeID %s\n", node_id);
        return 2;
    }
    int err = 0;
    identity_t *id = identity_load (keys, &err);
    eventlog_t *log = id? eventlog_open (db, &err): NULL;
    if (!log) {
        fprintf (stderr, "revoke: cannot open %s: %s\n", data_dir, hearth_strerror (err));
        identity_destroy (&id);
        return 1;
    }
    Hearth__MemberChange change = HEARTH__MEMBER_CHANGE__INIT;
    change.target.data = target;
    change.target.len = sizeof target;
    change.reason = (char *) "test: revoked";
    Hearth__Event draft = HEARTH__EVENT__INIT;
    draft.type = HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED;
    draft.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE;
    draft.member_change = &change;
    event_t *ev = NULL;
    int rc = eventlog_append_local (log, id, &draft, hearth_now_ms (), &ev);
    if (rc == 0)
        printf ("%s\n", event_id (ev));
    else
        fprintf (stderr, "revoke: refused: %s\n", hearth_strerror (rc));
    event_destroy (&ev);
    eventlog_destroy (&log);
    identity_destroy (&id);
    return rc == 0? 0: 1;
}

/* ---- refused connection attempts ------------------------------------------------- */

/*  Connect over raw TCP, send `bytes`, and wait until the listener hangs
    up (so the attempt is over on its side before we leave). */
static int
s_attack_raw (const char *endpoint, const uint8_t *bytes, size_t len)
{
    char host [64];
    int port;
    if (sscanf (endpoint, "tcp://%63[^:]:%d", host, &port) != 2)
        return 2;
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset (&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons ((uint16_t) port);
    if (fd < 0 || inet_pton (AF_INET, host, &a.sin_addr) != 1
    ||  connect (fd, (struct sockaddr *) &a, sizeof a) != 0) {
        fprintf (stderr, "cannot connect to %s\n", endpoint);
        return 1;
    }
    if (write (fd, bytes, len) != (ssize_t) len)
        return 1;
    struct timeval tv = { S_ATTACK_WAIT_MS / 1000, 0 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf [256];
    ssize_t n;
    while ((n = read (fd, buf, sizeof buf)) > 0)
        ;
    close (fd);
    return n == 0 || errno == ECONNRESET? 0: 1;
}

static int
s_attack_junk (const char *endpoint)
{
    const char junk [] = "GET / HTTP/1.1\r\nHost: hearth\r\n\r\n";
    return s_attack_raw (endpoint, (const uint8_t *) junk, sizeof junk - 1);
}

/*  A ZMTP 3.0 greeting asking for the NULL mechanism (what a ZeroMQ socket
    without CURVE sends), written by hand: a libzmq client would itself
    hang up on seeing the server's CURVE greeting, racing the server's
    verdict; this one waits for the server's. */
static int
s_attack_null (const char *endpoint)
{
    uint8_t greeting [64];
    memset (greeting, 0, sizeof greeting);
    greeting [0] = 0xff;
    greeting [8] = 0x01;
    greeting [9] = 0x7f;
    greeting [10] = 3;                          /* version 3.0 */
    memcpy (greeting + 12, "NULL", 4);          /* mechanism, 20 bytes zero-padded */
    return s_attack_raw (endpoint, greeting, sizeof greeting);
}

/*  A DEALER that must fail its handshake: wait for the client side's
    verdict (a failed handshake or a disconnect) on its monitor. */
static int
s_attack_zmq (const char *kind, const char *endpoint)
{
    zsock_t *d = zsock_new (ZMQ_DEALER);
    zsock_set_linger (d, 0);
    if (streq (kind, "wrongkey")) {
        uint8_t pub [32], sec [32], wrong [32];
        crypto_box_keypair (pub, sec);
        randombytes_buf (wrong, sizeof wrong);
        crypto_scalarmult_base (wrong, wrong);  /* some valid key, not the server's */
        zsock_set_curve_serverkey_bin (d, wrong);
        zsock_set_curve_publickey_bin (d, pub);
        zsock_set_curve_secretkey_bin (d, sec);
    }
    zactor_t *monitor = zactor_new (zmonitor, d);
    zstr_sendx (monitor, "LISTEN", "HANDSHAKE_FAILED_NO_DETAIL", "HANDSHAKE_FAILED_PROTOCOL",
                "HANDSHAKE_FAILED_AUTH", "DISCONNECTED", "HANDSHAKE_SUCCEEDED", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
    zsock_connect (d, "%s", endpoint);
    zframe_t *f = zframe_new ("hello?", 6);     /* queued until a handshake succeeds: never */
    zframe_send (&f, d, ZFRAME_DONTWAIT);
    zframe_destroy (&f);
    zpoller_t *poller = zpoller_new (monitor, NULL);
    int rc = 1;
    if (zpoller_wait (poller, S_ATTACK_WAIT_MS) == monitor) {
        char *event = zstr_recv (monitor);
        printf ("%s: %s\n", kind, event? event: "?");
        rc = event && !streq (event, "HANDSHAKE_SUCCEEDED")? 0: 1;
        zstr_free (&event);
    }
    else
        fprintf (stderr, "%s: no verdict within %d ms\n", kind, S_ATTACK_WAIT_MS);
    zpoller_destroy (&poller);
    zactor_destroy (&monitor);
    zsock_destroy (&d);
    return rc;
}

int
main (int argc, char **argv)
{
    if (sodium_init () < 0)
        return 1;
    zsys_init ();                               /* its handler turns SIGTERM into zsys_interrupted */
    if (argc == 3 && streq (argv [1], "stranger"))
        return s_stranger (argv [2]);
    if (argc >= 5 && streq (argv [1], "hello"))
        return s_hello (argv [2], argv [3], argv [4], argv + 5, (size_t) (argc - 5));
    if (argc == 4 && streq (argv [1], "revoke"))
        return s_revoke (argv [2], argv [3]);
    if (argc == 4 && streq (argv [1], "attack")) {
        if (streq (argv [2], "junk"))
            return s_attack_junk (argv [3]);
        if (streq (argv [2], "null"))
            return s_attack_null (argv [3]);
        if (streq (argv [2], "wrongkey"))
            return s_attack_zmq (argv [2], argv [3]);
    }
    return s_usage ();
}
