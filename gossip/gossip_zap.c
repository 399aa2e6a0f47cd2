/*  gossip_zap.c — the process's ZAP handler and the Curve25519 -> Ed25519
    key map; see gossip_zap.h.

    The registry of domains is process-wide (libzmq allows one ZAP endpoint
    per context and CZMQ has one context); a mutex guards it, though the
    handler only runs on the one loop every instance shares.

    Key map: crypto_sign_ed25519_pk_to_curve25519 computes the Montgomery
    u = (1 + y) / (1 - y) mod p, p = 2^255 - 19, from the Edwards y (the
    public key's low 255 bits; the top bit is the sign of x). The inverse is
    y = (u - 1) / (u + 1); the sign bit is lost, so both are candidates. The
    field arithmetic below (5 limbs of 51 bits, 128-bit products) is only
    used on this public data, once per handshake, so it need not be
    constant-time.
*/
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "gossip_zap.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"

#define S_LOG "gossip"
/*  ZAP request frames before the credentials (RFC 27): version, request id,
    domain, address, identity, mechanism. */
#define S_ZAP_HEAD_FRAMES 6

/* ---- field arithmetic mod 2^255 - 19 ----------------------------------------- */

#define S_MASK51 ((UINT64_C (1) << 51) - 1)

typedef struct {
    uint64_t v [5];                         /* value = sum v[i] * 2^(51 i) */
} s_fe_t;

static uint64_t
s_le64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p [i];
    return v;
}

/*  Load 255 bits (the top bit is ignored). */
static void
s_fe_load (s_fe_t *r, const uint8_t b [32])
{
    uint64_t w0 = s_le64 (b), w1 = s_le64 (b + 8), w2 = s_le64 (b + 16);
    uint64_t w3 = s_le64 (b + 24) & (UINT64_MAX >> 1);
    r->v [0] = w0 & S_MASK51;
    r->v [1] = ((w0 >> 51) | (w1 << 13)) & S_MASK51;
    r->v [2] = ((w1 >> 38) | (w2 << 26)) & S_MASK51;
    r->v [3] = ((w2 >> 25) | (w3 << 39)) & S_MASK51;
    r->v [4] = (w3 >> 12) & S_MASK51;
}

/*  Propagate carries until every limb is below 2^51 (value below 2^255,
    maybe still >= p): the third round only matters when a carry ran through
    every limb, which leaves limb 0 tiny. */
static void
s_fe_carry (s_fe_t *r)
{
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4; i++) {
            r->v [i + 1] += r->v [i] >> 51;
            r->v [i] &= S_MASK51;
        }
        r->v [0] += 19 * (r->v [4] >> 51);  /* 2^255 = 19 mod p */
        r->v [4] &= S_MASK51;
    }
}

static void
s_fe_add (s_fe_t *r, const s_fe_t *a, const s_fe_t *b)
{
    for (int i = 0; i < 5; i++)
        r->v [i] = a->v [i] + b->v [i];
    s_fe_carry (r);
}

/*  a - b as a + 2p - b (limbs of a and b below 2^52). */
static void
s_fe_sub (s_fe_t *r, const s_fe_t *a, const s_fe_t *b)
{
    static const uint64_t two_p [5] = {
        2 * (S_MASK51 - 18), 2 * S_MASK51, 2 * S_MASK51, 2 * S_MASK51, 2 * S_MASK51
    };
    for (int i = 0; i < 5; i++)
        r->v [i] = a->v [i] + two_p [i] - b->v [i];
    s_fe_carry (r);
}

static void
s_fe_mul (s_fe_t *r, const s_fe_t *a, const s_fe_t *b)
{
    typedef unsigned __int128 u128;
    const uint64_t *x = a->v, *y = b->v;
    uint64_t y1 = 19 * y [1], y2 = 19 * y [2], y3 = 19 * y [3], y4 = 19 * y [4];
    u128 t0 = (u128) x [0] * y [0] + (u128) x [1] * y4 + (u128) x [2] * y3 + (u128) x [3] * y2 + (u128) x [4] * y1;
    u128 t1 = (u128) x [0] * y [1] + (u128) x [1] * y [0] + (u128) x [2] * y4 + (u128) x [3] * y3 + (u128) x [4] * y2;
    u128 t2 = (u128) x [0] * y [2] + (u128) x [1] * y [1] + (u128) x [2] * y [0] + (u128) x [3] * y4 + (u128) x [4] * y3;
    u128 t3 = (u128) x [0] * y [3] + (u128) x [1] * y [2] + (u128) x [2] * y [1] + (u128) x [3] * y [0] + (u128) x [4] * y4;
    u128 t4 = (u128) x [0] * y [4] + (u128) x [1] * y [3] + (u128) x [2] * y [2] + (u128) x [3] * y [1] + (u128) x [4] * y [0];
    t1 += (uint64_t) (t0 >> 51);
    t2 += (uint64_t) (t1 >> 51);
    t3 += (uint64_t) (t2 >> 51);
    t4 += (uint64_t) (t3 >> 51);
    r->v [0] = ((uint64_t) t0 & S_MASK51) + 19 * (uint64_t) (t4 >> 51);
    r->v [1] = (uint64_t) t1 & S_MASK51;
    r->v [2] = (uint64_t) t2 & S_MASK51;
    r->v [3] = (uint64_t) t3 & S_MASK51;
    r->v [4] = (uint64_t) t4 & S_MASK51;
    s_fe_carry (r);
}

/*  a^(p-2) = 1/a (0 for a = 0). p - 2 = 2^255 - 21: every bit of 0..254 is
    set except bits 2 and 4. */
static void
s_fe_invert (s_fe_t *r, const s_fe_t *a)
{
    s_fe_t acc = { { 1, 0, 0, 0, 0 } };
    for (int bit = 254; bit >= 0; bit--) {
        s_fe_mul (&acc, &acc, &acc);
        if (bit != 2 && bit != 4)
            s_fe_mul (&acc, &acc, a);
    }
    *r = acc;
}

/*  Canonical 32 little-endian bytes (value fully reduced below p). */
static void
s_fe_store (uint8_t out [32], const s_fe_t *a)
{
    s_fe_t t = *a;
    s_fe_carry (&t);
    /*  t < 2^255 now; t >= p iff t + 19 >= 2^255. */
    s_fe_t u = t;
    u.v [0] += 19;
    for (int i = 0; i < 4; i++) {
        u.v [i + 1] += u.v [i] >> 51;
        u.v [i] &= S_MASK51;
    }
    if (u.v [4] >> 51) {                    /* t >= p: take t + 19 - 2^255 = t - p */
        u.v [4] &= S_MASK51;
        t = u;
    }
    uint64_t w [4] = {
        t.v [0] | (t.v [1] << 51),
        (t.v [1] >> 13) | (t.v [2] << 38),
        (t.v [2] >> 26) | (t.v [3] << 25),
        (t.v [3] >> 39) | (t.v [4] << 12)
    };
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            out [8 * i + j] = (uint8_t) (w [i] >> (8 * j));
}

static int
s_fe_is_zero (const s_fe_t *a)
{
    uint8_t b [32], z [32] = { 0 };
    s_fe_store (b, a);
    return memcmp (b, z, 32) == 0;
}

int
gossip_zap_curve_to_ed (const uint8_t curve [32], uint8_t ed [2][32])
{
    s_fe_t u, one = { { 1, 0, 0, 0, 0 } }, num, den, inv, y;
    if (curve [31] & 0x80)
        return HEARTH_EINVAL;               /* libsodium never sets it */
    s_fe_load (&u, curve);
    uint8_t canon [32];
    s_fe_store (canon, &u);
    if (memcmp (canon, curve, 32) != 0)
        return HEARTH_EINVAL;               /* u >= p: not what libsodium makes */
    s_fe_sub (&num, &u, &one);
    s_fe_add (&den, &u, &one);
    if (s_fe_is_zero (&den))
        return HEARTH_EINVAL;
    s_fe_invert (&inv, &den);
    s_fe_mul (&y, &num, &inv);
    s_fe_store (ed [0], &y);
    memcpy (ed [1], ed [0], 32);
    ed [1][31] |= 0x80;
    return 0;
}

/* ---- the shared handler -------------------------------------------------------- */

struct _gossip_zap_t {
    char                 domain [GOSSIP_ZAP_DOMAIN_MAX];
    gossip_zap_admit_fn *fn;
    void                *arg;               /* borrowed */
    uint64_t            *denied;            /* borrowed, may be NULL */
    gossip_zap_t        *next;              /* registry list */
};

static struct {
    pthread_mutex_t lock;
    zsock_t        *rep;                    /* owned while any registration lives */
    zloop_t        *loop;                   /* borrowed from the first registrant */
    gossip_zap_t   *head;                   /* registrations */
    unsigned        next_id;
} s_zap = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, NULL, 0 };

/*  Frame i of msg as a NUL-terminated string into buf, or "" if absent or
    too long. */
static void
s_frame_str (zmsg_t *msg, size_t i, char *buf, size_t cap)
{
    zframe_t *f = zmsg_first (msg);
    for (size_t k = 0; f && k < i; k++)
        f = zmsg_next (msg);
    buf [0] = '\0';
    if (f && zframe_size (f) < cap) {
        memcpy (buf, zframe_data (f), zframe_size (f));
        buf [zframe_size (f)] = '\0';
    }
}

static zframe_t *
s_frame_at (zmsg_t *msg, size_t i)
{
    zframe_t *f = zmsg_first (msg);
    for (size_t k = 0; f && k < i; k++)
        f = zmsg_next (msg);
    return f;
}

/*  Decide one request; on 200 fills user_id. Called with the lock held. */
static int
s_decide (zmsg_t *req, char user_id [HEARTH_NODE_ID_SIZE])
{
    char version [8], domain [GOSSIP_ZAP_DOMAIN_MAX], mechanism [16];
    s_frame_str (req, 0, version, sizeof version);
    s_frame_str (req, 2, domain, sizeof domain);
    s_frame_str (req, 5, mechanism, sizeof mechanism);
    gossip_zap_t *reg = s_zap.head;
    while (reg && strcmp (reg->domain, domain) != 0)
        reg = reg->next;
    if (!reg)
        return 0;                           /* not one of ours: deny, not counted */
    zframe_t *cred = s_frame_at (req, S_ZAP_HEAD_FRAMES);
    int admitted = 0;
    if (strcmp (version, "1.0") == 0 && strcmp (mechanism, "CURVE") == 0
    &&  cred && zframe_size (cred) == 32 && zmsg_size (req) == S_ZAP_HEAD_FRAMES + 1) {
        uint8_t ed [2][32];
        if (gossip_zap_curve_to_ed (zframe_data (cred), ed) == 0) {
            for (int i = 0; i < 2 && !admitted; i++)
                if (reg->fn (reg->arg, ed [i])) {
                    hearth_node_id_format (ed [i], user_id);
                    admitted = 1;
                }
        }
    }
    if (!admitted && reg->denied)
        (*reg->denied)++;
    return admitted;
}

static int
s_on_request (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void) loop;
    (void) arg;
    zmsg_t *req = zmsg_recv (sock);
    if (!req)
        return 0;                           /* interrupted; REP state unchanged */
    char request_id [256];
    s_frame_str (req, 1, request_id, sizeof request_id);
    char user_id [HEARTH_NODE_ID_SIZE] = "";
    pthread_mutex_lock (&s_zap.lock);
    int ok = s_decide (req, user_id);
    pthread_mutex_unlock (&s_zap.lock);
    if (!ok) {
        char address [64];
        s_frame_str (req, 3, address, sizeof address);
        hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "zap.denied",
                            "refused a CURVE handshake from %s: not a member", address);
    }
    zmsg_destroy (&req);
    /*  Reply: version, request id, status code, status text, user id, metadata. */
    zsock_send (sock, "ssssss", "1.0", request_id, ok? "200": "400",
                ok? "OK": "not a member", ok? user_id: "", "");
    return 0;
}

gossip_zap_t *
gossip_zap_new (zloop_t *loop, gossip_zap_admit_fn *fn, void *arg, uint64_t *denied, int *err)
{
    gossip_zap_t *self = (gossip_zap_t *) calloc (1, sizeof *self);
    if (!self) {
        *err = HEARTH_ENOMEM;
        return NULL;
    }
    self->fn = fn;
    self->arg = arg;
    self->denied = denied;
    pthread_mutex_lock (&s_zap.lock);
    int rc = 0;
    if (s_zap.rep && s_zap.loop != loop)
        rc = HEARTH_EINVAL;
    else
    if (!s_zap.rep) {
        s_zap.rep = zsock_new (ZMQ_REP);
        if (!s_zap.rep)
            rc = HEARTH_ENOMEM;
        else
        if (zsock_bind (s_zap.rep, GOSSIP_ZAP_ENDPOINT) != 0
        ||  zloop_reader (loop, s_zap.rep, s_on_request, NULL) != 0) {
            hlog_error (S_LOG, "cannot serve ZAP at %s: %s", GOSSIP_ZAP_ENDPOINT, zmq_strerror (zmq_errno ()));
            zsock_destroy (&s_zap.rep);
            rc = HEARTH_EIO;
        }
        else
            s_zap.loop = loop;
    }
    if (rc == 0) {
        snprintf (self->domain, sizeof self->domain, "hearth.%u", s_zap.next_id++);
        self->next = s_zap.head;
        s_zap.head = self;
    }
    pthread_mutex_unlock (&s_zap.lock);
    if (rc) {
        free (self);
        *err = rc;
        return NULL;
    }
    *err = 0;
    return self;
}

void
gossip_zap_destroy (gossip_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gossip_zap_t *self = *self_p;
    pthread_mutex_lock (&s_zap.lock);
    gossip_zap_t **pp = &s_zap.head;
    while (*pp && *pp != self)
        pp = &(*pp)->next;
    if (*pp)
        *pp = self->next;
    if (!s_zap.head && s_zap.rep) {
        zloop_reader_end (s_zap.loop, s_zap.rep);
        zsock_destroy (&s_zap.rep);
        s_zap.loop = NULL;
    }
    pthread_mutex_unlock (&s_zap.lock);
    free (self);
    *self_p = NULL;
}

const char *
gossip_zap_domain (const gossip_zap_t *self)
{
    return self->domain;
}
