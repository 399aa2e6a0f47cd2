/*  node_ratelimit.c — token buckets per client address (node_ratelimit.h).
    Tokens are kept in thousandths so refill stays in integers.
*/
#include <stdlib.h>
#include <string.h>
#include "node_ratelimit.h"

typedef struct {
    uint8_t  key [NODE_RATELIMIT_KEY_BYTES];
    uint64_t milli;         /* tokens x 1000 */
    uint64_t refilled_ms;   /* when milli was last brought up to date */
    uint64_t seen_ms;       /* last request: the LRU order */
} s_client_t;

struct _node_ratelimit_t {
    uint64_t    rate;       /* tokens per second */
    uint64_t    burst;      /* tokens at most */
    size_t      max_clients;
    size_t      n_clients;
    s_client_t *clients;    /* owned: max_clients slots, n_clients used */
};

node_ratelimit_t *
node_ratelimit_new (uint32_t rate_per_s, uint32_t burst, size_t max_clients)
{
    if (rate_per_s == 0 || burst == 0 || max_clients == 0)
        return NULL;
    node_ratelimit_t *self = (node_ratelimit_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->clients = (s_client_t *) calloc (max_clients, sizeof (s_client_t));
    if (!self->clients) {
        free (self);
        return NULL;
    }
    self->rate = rate_per_s;
    self->burst = burst;
    self->max_clients = max_clients;
    return self;
}

void
node_ratelimit_destroy (node_ratelimit_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->clients);
        free (*self_p);
        *self_p = NULL;
    }
}

/*  The client of key: found, a free slot, or the least recently seen one
    taken over (started full). */
static s_client_t *
s_client (node_ratelimit_t *self, const uint8_t *key, uint64_t now_ms)
{
    size_t oldest = 0;
    for (size_t i = 0; i < self->n_clients; i++) {
        if (memcmp (self->clients [i].key, key, NODE_RATELIMIT_KEY_BYTES) == 0)
            return &self->clients [i];
        if (self->clients [i].seen_ms < self->clients [oldest].seen_ms)
            oldest = i;
    }
    size_t slot = self->n_clients < self->max_clients? self->n_clients++: oldest;
    s_client_t *client = &self->clients [slot];
    memcpy (client->key, key, NODE_RATELIMIT_KEY_BYTES);
    client->milli = self->burst * 1000;
    client->refilled_ms = now_ms;
    client->seen_ms = now_ms;
    return client;
}

int
node_ratelimit_take (node_ratelimit_t *self, const uint8_t key [NODE_RATELIMIT_KEY_BYTES],
                     uint64_t now_ms, uint32_t *retry_after_s)
{
    s_client_t *client = s_client (self, key, now_ms);
    client->seen_ms = now_ms;
    /*  A clock that went back refills nothing. Elapsed time is capped so
        the product cannot overflow: a full refill takes burst / rate s. */
    if (now_ms > client->refilled_ms) {
        uint64_t elapsed = now_ms - client->refilled_ms;
        uint64_t full_ms = (self->burst * 1000) / self->rate + 1;
        if (elapsed > full_ms)
            elapsed = full_ms;
        client->milli += elapsed * self->rate;      /* ms x tokens/s = milli-tokens */
        if (client->milli > self->burst * 1000)
            client->milli = self->burst * 1000;
        client->refilled_ms = now_ms;
    }
    if (client->milli >= 1000) {
        client->milli -= 1000;
        return 1;
    }
    /*  Time until one whole token: (1000 - milli) / rate ms, rounded up to s. */
    uint64_t wait_ms = ((1000 - client->milli) + self->rate - 1) / self->rate;
    uint64_t seconds = (wait_ms + 999) / 1000;
    *retry_after_s = (uint32_t) (seconds? seconds: 1);
    return 0;
}

size_t
node_ratelimit_clients (const node_ratelimit_t *self)
{
    return self->n_clients;
}
