/*  gossip_query.c — remote calls read off the ROUTER; see gossip.h.

    A call passes admission (gossip_admit.h: hard rate -> dropped
    unanswered, soft rate -> rate_limited, max_concurrent or the peer's
    pending cap -> capacity_exceeded) and is queued with the time it was
    read; after the read burst the queue is served in order, one handler
    at a time, and a call that waited its whole budget is answered
    `timeout` without running. So "in flight" is read and not yet answered
    (docs/decisions/0015-peer-calls-run-one-at-a-time.md).
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gossip_internal.h"
#include "hearth_error.h"
#include "hearth_json.h"
#include "hearth_log.h"
#include "hearth_vec.h"

#define S_LOG "gossip"

static void
s_reply_error_retry (gossip_t *self, const uint8_t *rid, size_t rid_len, uint64_t request_id,
                     int err, const char *message, uint64_t retry_after_ms)
{
    Hearth__GossipReply r = HEARTH__GOSSIP_REPLY__INIT;
    r.request_id = request_id;
    r.retry_after_ms = retry_after_ms > UINT32_MAX? UINT32_MAX: (uint32_t) retry_after_ms;
    r.error = err;
    r.error_code = (char *) hearth_error_code (err);
    r.error_message = (char *) (message? message: hearth_strerror (err));
    Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
    m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REPLY;
    m.reply = &r;
    gossip_send_rid (self, rid, rid_len, &m);
}

void
gossip_reply_error (gossip_t *self, const uint8_t *rid, size_t rid_len, uint64_t request_id, int err,
                    const char *message)
{
    s_reply_error_retry (self, rid, rid_len, request_id, err, message, 0);
}

struct _gossip_deferred_t {
    gossip_t       *gossip;                 /* borrowed */
    gossip_query_t  query;                  /* its input already freed */
};

/*  Send the answer of a query: output (when rc is 0) or the error. Returns
    the result answered (an output too large for a frame is an error). */
static int
s_query_answer (gossip_t *self, const gossip_query_t *q, int rc, const json_t *output,
                const char *message)
{
    char *out_text = rc == 0 && output? json_dumps (output, HEARTH_JSON_FLAGS): NULL;
    if (rc == 0 && (!out_text || strlen (out_text) > GOSSIP_MAX_FRAME_BYTES - 1024)) {
        rc = out_text? HEARTH_ETOOBIG: HEARTH_ENOMEM;
        message = NULL;
    }
    if (rc != 0)
        gossip_reply_error (self, q->rid, q->rid_len, q->request_id, rc, message);
    else {
        Hearth__GossipReply r = HEARTH__GOSSIP_REPLY__INIT;
        r.request_id = q->request_id;
        r.output_json = out_text;
        Hearth__GossipMessage m = HEARTH__GOSSIP_MESSAGE__INIT;
        m.body_case = HEARTH__GOSSIP_MESSAGE__BODY_REPLY;
        m.reply = &r;
        gossip_send_rid (self, q->rid, q->rid_len, &m);
    }
    free (out_text);
    return rc;
}

/*  Run one admitted query through the handler and answer it. Returns the
    result (0 or the error answered), or GOSSIP_QUERY_DEFERRED if the
    handler answers later. */
static int
s_query_run (gossip_t *self, const gossip_query_t *q)
{
    json_error_t jerr;
    json_t *input = json_loads (q->input? q->input: "{}", JSON_REJECT_DUPLICATES, &jerr);
    if (!input || !json_is_object (input)) {
        json_decref (input);
        gossip_reply_error (self, q->rid, q->rid_len, q->request_id, HEARTH_EINVAL,
                            "input is not a JSON object");
        return HEARTH_EINVAL;
    }
    json_t *output = NULL;
    char *message = NULL;
    int rc;
    if (self->query_async_fn) {
        gossip_deferred_t *pending = (gossip_deferred_t *) calloc (1, sizeof *pending);
        if (!pending)
            rc = HEARTH_ENOMEM;
        else {
            pending->gossip = self;
            pending->query = *q;
            pending->query.input = NULL;
            rc = self->query_async_fn (self->query_async_arg, q->capability, input, q->key,
                                       pending, &output, &message);
            if (rc != GOSSIP_QUERY_DEFERRED)
                free (pending);
        }
    }
    else
        rc = self->query_fn (self->query_arg, q->capability, input, q->key, &output, &message);
    json_decref (input);
    if (rc != GOSSIP_QUERY_DEFERRED)
        rc = s_query_answer (self, q, rc, output, message);
    json_decref (output);
    free (message);
    return rc;
}

void
gossip_query_finish (gossip_deferred_t *pending, int rc, const json_t *output, const char *message)
{
    if (!pending)
        return;
    rc = s_query_answer (pending->gossip, &pending->query, rc, output, message);
    gossip_admit_done (pending->gossip->admit, pending->query.ticket, rc);
    free (pending);
}

uint64_t
gossip_query_budget_ms (const gossip_deferred_t *pending)
{
    return pending->query.budget_ms;
}

void
gossip_set_query_async_handler (gossip_t *self, gossip_query_async_fn *fn, void *arg)
{
    self->query_async_fn = fn;
    self->query_async_arg = arg;
}

/*  Serve the queries admitted during the last read burst, in the order
    read, one at a time; a query that waited its whole budget (behind the
    others, or behind the burst's other work) is answered `timeout` and not
    run. */
void
gossip_queries_serve (gossip_t *self)
{
    for (size_t i = 0; i < self->n_queries; i++) {
        gossip_query_t *q = &self->queries [i];
        uint64_t waited = 0;
        int rc = gossip_admit_start (self->admit, q->ticket, hearth_mono_ms (), &waited);
        if (rc == HEARTH_ETIMEOUT) {
            char message [160];
            snprintf (message, sizeof message, "waited %" PRIu64 " ms in this node's queue, its "
                      "whole budget of %" PRIu64 " ms: not run", waited, q->budget_ms);
            gossip_reply_error (self, q->rid, q->rid_len, q->request_id, HEARTH_ETIMEOUT, message);
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "query.timeout", "a remote '%s' %s",
                                q->capability, message);
        }
        else
            rc = s_query_run (self, q);
        if (rc != GOSSIP_QUERY_DEFERRED)
            gossip_admit_done (self->admit, q->ticket, rc);
        free (q->input);
        q->input = NULL;
    }
    self->n_queries = 0;
}

/*  Queue an admitted query; 0 or HEARTH_ENOMEM. */
static int
s_query_push (gossip_t *self, const uint8_t key [32], const uint8_t *rid, size_t rid_len,
              const Hearth__GossipQuery *q, const gossip_admit_result_t *admitted)
{
    if (HEARTH_VEC_GROW (self->queries, self->cap_queries, self->n_queries + 1, 16))
        return HEARTH_ENOMEM;
    gossip_query_t *e = &self->queries [self->n_queries];
    memset (e, 0, sizeof *e);
    if (q->input_json && *q->input_json && !(e->input = strdup (q->input_json)))
        return HEARTH_ENOMEM;
    e->ticket = admitted->ticket;
    memcpy (e->key, key, HEARTH_KEY_BYTES);
    memcpy (e->rid, rid, rid_len);
    e->rid_len = rid_len;
    e->request_id = q->request_id;
    e->budget_ms = admitted->budget_ms;
    snprintf (e->capability, sizeof e->capability, "%s", q->capability);
    self->n_queries++;
    return HEARTH_OK;
}

/*  A remote capability call: members only; admission (gossip_admit.h)
    drops, refuses or queues it; the handler decides the rest. */
void
gossip_on_query (gossip_t *self, const uint8_t *rid, size_t rid_len, const uint8_t key [32],
                 const char *who, const Hearth__GossipQuery *q)
{
    const membership_t *ms = eventlog_membership (self->log);
    int is_self = memcmp (key, identity_public_key (self->id), HEARTH_KEY_BYTES) == 0;
    if (!is_self && (!ms || membership_level (ms, key) < HEARTH__LEVEL__LEVEL_MEMBER)) {
        gossip_reply_error (self, rid, rid_len, q->request_id, HEARTH_EUNAUTHORIZED,
                            "queries need a member key");
        return;
    }
    if (!self->query_fn && !self->query_async_fn) {
        gossip_reply_error (self, rid, rid_len, q->request_id, HEARTH_ENOTIMPL, "this node serves no queries");
        return;
    }
    gossip_admit_result_t res;
    gossip_admit_verdict_t verdict = gossip_admit_arrive (self->admit, key, q->capability, q->timeout_ms,
                                                          hearth_mono_ms (), &res);
    const char *reason = gossip_admit_reason_name (res.reason);
    char message [200];
    switch (verdict) {
        case GOSSIP_ADMIT_DROP:
            hearth_log_limited (HEARTH_LOG_WARN, S_LOG, "query.dropped", "dropping remote calls "
                                "from %s: '%s' over the hard limit (%s); not answered (counted)",
                                who, q->capability, reason);
            return;
        case GOSSIP_ADMIT_RATE_LIMITED:
            snprintf (message, sizeof message, "rate limited: over %d requests/s for '%s' or %d "
                      "requests/s in total (%s); retry_after_ms=%" PRIu64, GOSSIP_ADMIT_SOFT_CAP_RPS,
                      q->capability, GOSSIP_ADMIT_SOFT_TOTAL_RPS, reason, res.retry_after_ms);
            hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "query.rate_limited", "%s: %s", who, message);
            s_reply_error_retry (self, rid, rid_len, q->request_id, HEARTH_ERATE, message,
                                 res.retry_after_ms);
            return;
        case GOSSIP_ADMIT_CAPACITY:
            if (res.reason == GOSSIP_ADMIT_REASON_PEER_PENDING)
                snprintf (message, sizeof message, "capacity exceeded: %d calls of this caller "
                          "already in flight; retry_after_ms=%" PRIu64, GOSSIP_ADMIT_PEER_PENDING,
                          res.retry_after_ms);
            else
                snprintf (message, sizeof message, "capacity exceeded: '%s' has its max_concurrent "
                          "calls in flight; retry_after_ms=%" PRIu64, q->capability,
                          res.retry_after_ms);
            hearth_log_limited (HEARTH_LOG_INFO, S_LOG, "query.capacity", "%s: %s", who, message);
            s_reply_error_retry (self, rid, rid_len, q->request_id, HEARTH_ECAPACITY, message,
                                 res.retry_after_ms);
            return;
        case GOSSIP_ADMIT_RUN:
            break;
    }
    int rc = HEARTH_OK;
    if (q->input_json && strlen (q->input_json) > GOSSIP_QUERY_MAX_INPUT_BYTES) {
        snprintf (message, sizeof message, "input is over %d bytes", GOSSIP_QUERY_MAX_INPUT_BYTES);
        rc = HEARTH_ETOOBIG;
    }
    else
    if ((rc = s_query_push (self, key, rid, rid_len, q, &res)) != HEARTH_OK)
        snprintf (message, sizeof message, "out of memory");
    if (rc != HEARTH_OK) {
        gossip_reply_error (self, rid, rid_len, q->request_id, rc, message);
        gossip_admit_done (self->admit, res.ticket, rc);
    }
}

void
gossip_set_query_handler (gossip_t *self, gossip_query_fn *fn, void *arg)
{
    self->query_fn = fn;
    self->query_arg = arg;
}

int
gossip_query_limits_set (gossip_t *self, const char *capability, uint32_t max_concurrent,
                         uint32_t timeout_ms)
{
    return gossip_admit_serve (self->admit, capability, max_concurrent, timeout_ms);
}

size_t
gossip_query_stats (const gossip_t *self, const gossip_admit_cap_t **caps)
{
    return gossip_admit_caps (self->admit, caps);
}
