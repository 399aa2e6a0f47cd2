/*  sim_overlay_stub.c — a stand-in for gossip/gossip_overlay.c, built into
    the simulator only while that file does not exist in the tree (see
    sim/CMakeLists.txt). It follows the contract of gossip_overlay.h in the
    simplest way that lets the simulator run; the real core replaces it as
    soon as it is merged, and the figures in docs/simulation.md are
    measured with the real one.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gossip_overlay.h"
#include "hearth_error.h"

typedef struct {
    gossip_overlay_peer_t p;
    char    *addr;
    int      out;               /* 0 none, 1 dialling, 2 up */
    int      bootstrap;         /* out link dialled as a seed */
    uint64_t out_since;
    int      in;                /* 0 none, 1 member, 2 invitee */
} s_entry_t;

struct _gossip_overlay_t {
    uint8_t  self [32];
    gossip_overlay_config_t cfg;
    uint64_t rng;
    s_entry_t *e;
    size_t   n, cap;
    uint64_t next_shuffle;
    int      dirty;
    gossip_overlay_stats_t stats;
};

static uint64_t
s_rand (gossip_overlay_t *self)
{
    uint64_t z = (self->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
gossip_overlay_config_defaults (gossip_overlay_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->out = GOSSIP_OVERLAY_OUT;
    cfg->in_max = GOSSIP_OVERLAY_IN_MAX;
    cfg->invitee_reserve = GOSSIP_OVERLAY_INVITEE_RESERVE;
    cfg->known_max = GOSSIP_OVERLAY_KNOWN_MAX;
    cfg->dial_timeout_ms = GOSSIP_OVERLAY_DIAL_TIMEOUT_MS;
    cfg->shuffle_ms = GOSSIP_OVERLAY_SHUFFLE_MS;
}

gossip_overlay_t *
gossip_overlay_new (const uint8_t self_key [32], const gossip_overlay_config_t *cfg, uint64_t rng_seed)
{
    gossip_overlay_t *self = (gossip_overlay_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    memcpy (self->self, self_key, 32);
    if (cfg)
        self->cfg = *cfg;
    else
        gossip_overlay_config_defaults (&self->cfg);
    self->rng = rng_seed;
    return self;
}

void
gossip_overlay_destroy (gossip_overlay_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gossip_overlay_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free (self->e [i].addr);
    free (self->e);
    free (self);
    *self_p = NULL;
}

static s_entry_t *
s_find (const gossip_overlay_t *self, const uint8_t key [32])
{
    for (size_t i = 0; i < self->n; i++)
        if (memcmp (self->e [i].p.key, key, 32) == 0)
            return &self->e [i];
    return NULL;
}

static void
s_remove (gossip_overlay_t *self, size_t i)
{
    free (self->e [i].addr);
    self->e [i] = self->e [--self->n];
    for (size_t k = 0; k < self->n; k++)
        self->e [k].p.address = self->e [k].addr;
}

int
gossip_overlay_learn (gossip_overlay_t *self, const uint8_t key [32], const char *address, int from,
                      uint64_t now_ms)
{
    if (!address || !*address || strlen (address) >= 256)
        return HEARTH_EINVAL;
    if (memcmp (key, self->self, 32) == 0)
        return 0;
    s_entry_t *e = s_find (self, key);
    if (e) {
        if (strcmp (e->addr, address) != 0) {
            char *a = strdup (address);
            if (!a)
                return HEARTH_ENOMEM;
            free (e->addr);
            e->addr = a;
            e->p.address = a;
        }
        e->p.learned_ms = now_ms;
        e->p.seed |= from == GOSSIP_OVERLAY_FROM_SEED;
        return 0;
    }
    size_t plain = 0;
    for (size_t i = 0; i < self->n; i++)
        plain += !self->e [i].p.seed;
    if (from != GOSSIP_OVERLAY_FROM_SEED && plain >= self->cfg.known_max) {
        for (int tries = 0; tries < 64; tries++) {
            size_t i = s_rand (self) % self->n;
            if (!self->e [i].p.seed && !self->e [i].out && !self->e [i].in) {
                s_remove (self, i);
                self->stats.known_evicted++;
                break;
            }
        }
        plain = 0;
        for (size_t i = 0; i < self->n; i++)
            plain += !self->e [i].p.seed;
        if (plain >= self->cfg.known_max)
            return 0;
    }
    if (self->n == self->cap) {
        size_t cap = self->cap? self->cap * 2: 16;
        s_entry_t *p = (s_entry_t *) realloc (self->e, cap * sizeof *p);
        if (!p)
            return HEARTH_ENOMEM;
        self->e = p;
        self->cap = cap;
        for (size_t k = 0; k < self->n; k++)
            self->e [k].p.address = self->e [k].addr;
    }
    e = &self->e [self->n];
    memset (e, 0, sizeof *e);
    e->addr = strdup (address);
    if (!e->addr)
        return HEARTH_ENOMEM;
    memcpy (e->p.key, key, 32);
    e->p.address = e->addr;
    e->p.learned_ms = now_ms;
    e->p.from = from;
    e->p.seed = from == GOSSIP_OVERLAY_FROM_SEED;
    self->n++;
    self->dirty = 1;
    return 1;
}

void
gossip_overlay_forget (gossip_overlay_t *self, const uint8_t key [32])
{
    s_entry_t *e = s_find (self, key);
    if (e)
        s_remove (self, (size_t) (e - self->e));
}

void
gossip_overlay_dialling (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms)
{
    s_entry_t *e = s_find (self, key);
    if (e && !e->out) {
        e->out = 1;
        e->bootstrap = 1;
        e->out_since = now_ms;
    }
}

void
gossip_overlay_link_up (gossip_overlay_t *self, const uint8_t key [32], int outgoing, uint64_t now_ms)
{
    s_entry_t *e = s_find (self, key);
    if (!e)
        return;
    e->p.last_reached_ms = now_ms;
    e->p.fails = 0;
    e->p.retry_at_ms = 0;
    if (outgoing && e->out)
        e->out = 2;
    self->dirty = 1;
}

void
gossip_overlay_link_down (gossip_overlay_t *self, const uint8_t key [32], int outgoing, uint64_t now_ms)
{
    s_entry_t *e = s_find (self, key);
    if (!e)
        return;
    if (outgoing && e->out) {
        e->out = 1;
        e->out_since = now_ms;
    }
    if (!outgoing)
        e->in = 0;
}

static void
s_fail (gossip_overlay_t *self, s_entry_t *e, uint64_t now_ms)
{
    uint64_t backoff = GOSSIP_OVERLAY_RETRY_MIN_MS;
    for (uint32_t i = 0; i < e->p.fails && backoff < GOSSIP_OVERLAY_RETRY_MAX_MS; i++)
        backoff *= 2;
    if (backoff > GOSSIP_OVERLAY_RETRY_MAX_MS)
        backoff = GOSSIP_OVERLAY_RETRY_MAX_MS;
    e->p.fails++;
    e->p.retry_at_ms = now_ms + backoff;
    e->out = 0;
    e->bootstrap = 0;
    self->stats.dial_failures++;
    self->dirty = 1;
}

void
gossip_overlay_dial_failed (gossip_overlay_t *self, const uint8_t key [32], uint64_t now_ms)
{
    s_entry_t *e = s_find (self, key);
    if (e)
        s_fail (self, e, now_ms);
}

int
gossip_overlay_in_admit (gossip_overlay_t *self, const uint8_t key [32], int member, uint64_t now_ms)
{
    s_entry_t *e = s_find (self, key);
    if (e && e->in)
        return 1;
    size_t members = 0, invitees = 0;
    for (size_t i = 0; i < self->n; i++) {
        members += self->e [i].in == 1;
        invitees += self->e [i].in == 2;
    }
    if (member? members >= self->cfg.in_max: invitees >= self->cfg.invitee_reserve) {
        self->stats.in_refused++;
        return 0;
    }
    if (!e) {
        char addr [32];
        snprintf (addr, sizeof addr, "in-%02x%02x%02x%02x", key [0], key [1], key [2], key [3]);
        if (gossip_overlay_learn (self, key, addr, GOSSIP_OVERLAY_FROM_LINK, now_ms) < 0)
            return 0;
        e = s_find (self, key);
        if (!e)
            return 0;
    }
    e->in = member? 1: 2;
    return 1;
}

static int
s_eligible (const gossip_overlay_t *self, const s_entry_t *e, uint64_t now_ms)
{
    (void) self;
    return !e->out && !e->in && e->p.retry_at_ms <= now_ms && !e->p.seed;
}

static s_entry_t *
s_pick (gossip_overlay_t *self, uint64_t now_ms)
{
    size_t cand = 0;
    for (size_t i = 0; i < self->n; i++)
        cand += s_eligible (self, &self->e [i], now_ms);
    if (!cand)
        return NULL;
    size_t k = s_rand (self) % cand;
    for (size_t i = 0; i < self->n; i++)
        if (s_eligible (self, &self->e [i], now_ms) && k-- == 0)
            return &self->e [i];
    return NULL;
}

size_t
gossip_overlay_plan (gossip_overlay_t *self, uint64_t now_ms, gossip_overlay_action_t *actions, size_t max)
{
    size_t n = 0, rnd = 0, rnd_up = 0, others = 0;
#define S_ACT(v, e) do { if (n < max) { actions [n].verb = (v); memcpy (actions [n].key, (e)->p.key, 32); n++; } } while (0)
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *e = &self->e [i];
        if (e->out == 1 && now_ms - e->out_since >= self->cfg.dial_timeout_ms) {
            s_fail (self, e, now_ms);
            S_ACT (GOSSIP_OVERLAY_CLOSE, e);
        }
    }
    for (size_t i = 0; i < self->n; i++) {
        s_entry_t *e = &self->e [i];
        others += !e->p.seed;
        if (e->out && !e->bootstrap) {
            rnd++;
            rnd_up += e->out == 2;
        }
    }
    if (rnd_up >= self->cfg.out)
        for (size_t i = 0; i < self->n; i++)
            if (self->e [i].out && self->e [i].bootstrap) {
                self->e [i].out = 0;
                self->e [i].bootstrap = 0;
                self->stats.closes_bootstrap++;
                S_ACT (GOSSIP_OVERLAY_CLOSE, &self->e [i]);
            }
    while (rnd < self->cfg.out && n < max) {
        s_entry_t *e = s_pick (self, now_ms);
        if (!e)
            break;
        e->out = 1;
        e->bootstrap = 0;
        e->out_since = now_ms;
        rnd++;
        self->stats.dials++;
        S_ACT (GOSSIP_OVERLAY_DIAL, e);
    }
    if (others < self->cfg.out)
        for (size_t i = 0; i < self->n; i++) {
            s_entry_t *e = &self->e [i];
            if (e->p.seed && !e->out && !e->in && e->p.retry_at_ms <= now_ms && n < max) {
                e->out = 1;
                e->bootstrap = 1;
                e->out_since = now_ms;
                self->stats.dials++;
                S_ACT (GOSSIP_OVERLAY_DIAL, e);
            }
        }
    if (self->cfg.shuffle_ms && !self->next_shuffle)
        self->next_shuffle = now_ms + self->cfg.shuffle_ms / 2 + s_rand (self) % self->cfg.shuffle_ms;
    if (self->cfg.shuffle_ms && now_ms >= self->next_shuffle && n + 2 <= max) {
        self->next_shuffle = now_ms + self->cfg.shuffle_ms / 2 + s_rand (self) % self->cfg.shuffle_ms;
        if (rnd_up == rnd && rnd == self->cfg.out) {
            s_entry_t *d = s_pick (self, now_ms);
            size_t k = s_rand (self) % rnd;
            for (size_t i = 0; i < self->n && d; i++) {
                s_entry_t *e = &self->e [i];
                if (e->out && !e->bootstrap && k-- == 0) {
                    e->out = 0;
                    self->stats.closes_shuffle++;
                    S_ACT (GOSSIP_OVERLAY_CLOSE, e);
                    d->out = 1;
                    d->out_since = now_ms;
                    self->stats.dials++;
                    S_ACT (GOSSIP_OVERLAY_DIAL, d);
                    break;
                }
            }
        }
    }
#undef S_ACT
    return n;
}

size_t
gossip_overlay_sample (gossip_overlay_t *self, const uint8_t *exclude, uint64_t now_ms,
                       const gossip_overlay_peer_t **out, size_t max)
{
    (void) now_ms;
    size_t got = 0;
    for (size_t tries = 0; tries < 4 * max && got < max && self->n; tries++) {
        s_entry_t *e = &self->e [s_rand (self) % self->n];
        if (exclude && memcmp (e->p.key, exclude, 32) == 0)
            continue;
        int dup = 0;
        for (size_t k = 0; k < got && !dup; k++)
            dup = out [k] == &e->p;
        if (!dup)
            out [got++] = &e->p;
    }
    return got;
}

const gossip_overlay_peer_t *
gossip_overlay_find (const gossip_overlay_t *self, const uint8_t key [32])
{
    s_entry_t *e = s_find (self, key);
    return e? &e->p: NULL;
}

size_t
gossip_overlay_count (const gossip_overlay_t *self)
{
    return self->n;
}

const gossip_overlay_peer_t *
gossip_overlay_at (const gossip_overlay_t *self, size_t i)
{
    return i < self->n? &self->e [i].p: NULL;
}

void
gossip_overlay_links (const gossip_overlay_t *self, size_t *out_total, size_t *out_up, size_t *in_members,
                      size_t *in_invitees)
{
    size_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i < self->n; i++) {
        a += self->e [i].out != 0;
        b += self->e [i].out == 2;
        c += self->e [i].in == 1;
        d += self->e [i].in == 2;
    }
    if (out_total) *out_total = a;
    if (out_up) *out_up = b;
    if (in_members) *in_members = c;
    if (in_invitees) *in_invitees = d;
}

const gossip_overlay_stats_t *
gossip_overlay_stats (const gossip_overlay_t *self)
{
    return &self->stats;
}

int
gossip_overlay_dirty (const gossip_overlay_t *self)
{
    return self->dirty;
}

/*  Records: key[32] len[1] address[len] last_reached[8] fails[4] from[1] seed[1]. */
int
gossip_overlay_save (gossip_overlay_t *self, uint8_t **buf_p, size_t *len_p)
{
    size_t len = 4;
    for (size_t i = 0; i < self->n; i++)
        len += 32 + 1 + strlen (self->e [i].addr) + 14;
    uint8_t *b = (uint8_t *) malloc (len);
    if (!b)
        return HEARTH_ENOMEM;
    memcpy (b, "SOV1", 4);
    size_t o = 4;
    for (size_t i = 0; i < self->n; i++) {
        const s_entry_t *e = &self->e [i];
        size_t al = strlen (e->addr);
        memcpy (b + o, e->p.key, 32); o += 32;
        b [o++] = (uint8_t) al;
        memcpy (b + o, e->addr, al); o += al;
        memcpy (b + o, &e->p.last_reached_ms, 8); o += 8;
        memcpy (b + o, &e->p.fails, 4); o += 4;
        b [o++] = (uint8_t) e->p.from;
        b [o++] = (uint8_t) e->p.seed;
    }
    *buf_p = b;
    *len_p = o;
    self->dirty = 0;
    return 0;
}

int
gossip_overlay_load (gossip_overlay_t *self, const uint8_t *buf, size_t len, uint64_t now_ms)
{
    if (len < 4 || memcmp (buf, "SOV1", 4) != 0)
        return HEARTH_ECORRUPT;
    size_t o = 4;
    int loaded = 0;
    while (o + 33 <= len) {
        const uint8_t *key = buf + o;
        size_t al = buf [o + 32];
        if (o + 33 + al + 14 > len)
            break;
        char addr [256];
        memcpy (addr, buf + o + 33, al);
        addr [al] = 0;
        const uint8_t *t = buf + o + 33 + al;
        int from = t [12], seed = t [13];
        if (!s_find (self, key)
        &&  gossip_overlay_learn (self, key, addr, seed? GOSSIP_OVERLAY_FROM_SEED: from, now_ms) == 1) {
            s_entry_t *e = s_find (self, key);
            memcpy (&e->p.last_reached_ms, t, 8);
            memcpy (&e->p.fails, t + 8, 4);
            e->p.from = from;
            loaded++;
        }
        o += 33 + al + 14;
    }
    return loaded;
}
