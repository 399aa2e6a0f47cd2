/*  gossip_zap.h — the ZAP 1.0 handler (RFC 27) that admits CURVE clients to
    a gossip ROUTER, and the map from a Curve25519 public key back to the
    Ed25519 keys it can come from.

    libzmq asks the one REP socket bound at inproc://zeromq.zap.01 of the
    process's context about every CURVE handshake. The handler is shared by
    all gossip instances of a process (tests run several): each instance
    registers a ZAP domain of its own and an admit function; the request's
    domain picks the instance. Every instance must run on the same zloop
    (one thread), where the handler's socket is read, so admit functions
    may read that thread's state (the membership view) without locks.

    Decision: mechanism must be "CURVE"; the client key is mapped to its two
    possible Ed25519 keys (the Montgomery u-coordinate fixes the Edwards y,
    not the sign of x) and each is offered to the admit function. The first
    one admitted answers 200 with User-Id = its full NodeID
    ("ed25519:<b64url>"); anything else is 400 and counts a denial.
*/
#ifndef HEARTH_GOSSIP_ZAP_H
#define HEARTH_GOSSIP_ZAP_H

#include <stdint.h>
#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  The endpoint libzmq sends ZAP requests to (RFC 27). */
#define GOSSIP_ZAP_ENDPOINT   "inproc://zeromq.zap.01"
/*  ZAP domain names are "hearth.<n>", at most this long with the NUL. */
#define GOSSIP_ZAP_DOMAIN_MAX 32

/*  Return 1 to admit the Ed25519 key `key`, 0 to deny. */
typedef int (gossip_zap_admit_fn) (void *arg, const uint8_t key [32]);

typedef struct _gossip_zap_t gossip_zap_t;

/*  Register an admit function (arg borrowed until destroy) under a new
    domain. The first registration binds the handler's REP socket and reads
    it on `loop` (borrowed); later ones must pass the same loop. `denied`
    (borrowed, may be NULL) is incremented on each denial for this domain.
    NULL + *err: HEARTH_EINVAL (another loop), HEARTH_EIO (bind failed:
    something else serves ZAP in this process), HEARTH_ENOMEM. */
gossip_zap_t *gossip_zap_new (zloop_t *loop, gossip_zap_admit_fn *fn, void *arg,
                              uint64_t *denied, int *err);

/*  Unregister; the last one closes the handler. Safe on NULL; nulls *self_p. */
void gossip_zap_destroy (gossip_zap_t **self_p);

/*  The ZAP domain to set on the ROUTER (ZMQ_ZAP_DOMAIN). Borrowed. */
const char *gossip_zap_domain (const gossip_zap_t *self);

/*  The two Ed25519 public keys whose crypto_sign_ed25519_pk_to_curve25519 may
    be `curve` (same y, either sign of x) into ed[0] (sign 0) and ed[1]
    (sign 1). 0, or HEARTH_EINVAL for a u that maps to no y (u = -1) or is
    not in canonical form. */
int gossip_zap_curve_to_ed (const uint8_t curve [32], uint8_t ed [2][32]);

#ifdef __cplusplus
}
#endif
#endif
