/*  node_members.c — the member.* capabilities; see node_members.h.
*/
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"
#include "membership.h"
#include "node_event_json.h"
#include "node_members.h"
#include "ulid.h"

#define S_LOG "members"

static const char *const s_levels [] = { "none", "member", "trusted", "anchor" };

static const char *
s_level_name (int level)
{
    return level >= 0 && level <= 3? s_levels [level]: "none";
}

static json_t *
s_short_id_json (const uint8_t *key)
{
    char text [HEARTH_SHORT_ID_SIZE];
    hearth_short_id_format (key, text);
    return json_string (text);
}

static json_t *
s_time_json (uint64_t ms)
{
    if (!ms)
        return json_null ();
    char text [HEARTH_TIME_SIZE];
    hearth_time_format (ms, text);
    return json_string (text);
}

static const char *
s_action (int type)
{
    return type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED? "promote"
         : type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED? "demote": "revoke";
}

/*  A proposal as JSON; "expired" is an open one past its expiry by this
    node's clock (display only: the fold judges by event data). */
static json_t *
s_proposal_json (const membership_proposal_t *p, uint64_t now_ms)
{
    const char *state = p->state == MEMBERSHIP_PROPOSAL_DONE? "done"
                      : p->state == MEMBERSHIP_PROPOSAL_MOOT? "moot"
                      : p->expires_at_ms < now_ms? "expired": "open";
    json_t *signers = json_array ();
    for (uint32_t i = 0; signers && i < p->n_signers; i++)
        json_array_append_new (signers, node_event_json_node_id (p->signers [i]));
    return json_pack ("{s:s, s:s, s:o, s:o, s:s, s:o, s:I, s:o, s:o, s:s, s:i, s:i, s:i, s:o}",
                      "proposal_id", p->event_id, "action", s_action (p->type),
                      "target_node_id", node_event_json_node_id (p->target),
                      "target_short_id", s_short_id_json (p->target),
                      "new_level", s_level_name (p->type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED
                                                 ? HEARTH__LEVEL__LEVEL_NONE: p->new_level),
                      "proposer", node_event_json_node_id (p->author),
                      "lamport", (json_int_t) p->lamport,
                      "created", s_time_json (p->wall_clock_ms),
                      "expires_at", s_time_json (p->expires_at_ms),
                      "state", state,
                      "signatures", (int) p->n_signers, "threshold", (int) p->threshold,
                      "eligible", (int) p->eligible,
                      "signers", signers? signers: json_array ());
}

int
node_members_list (eventlog_t *log, const json_t *input, json_t **output, char **message)
{
    (void) input;
    (void) message;
    const membership_t *m = eventlog_membership (log);
    json_t *members = json_array ();
    for (size_t i = 0; members && i < membership_members (m); i++) {
        membership_member_t mm;
        if (membership_member_at (m, i, &mm) != 0)
            break;
        json_array_append_new (members, json_pack (
            "{s:o, s:o, s:s, s:s, s:o, s:I, s:o, s:b, s:o}",
            "node_id", node_event_json_node_id (mm.key), "short_id", s_short_id_json (mm.key),
            "level", mm.revoked? "revoked": s_level_name (mm.level),
            "joined_level", s_level_name (mm.base_level),
            "added_by", node_event_json_node_id (mm.added_by),
            "since_lamport", (json_int_t) mm.since_lamport,
            "since", s_time_json (mm.since_ms),
            "revoked", mm.revoked,
            "revoked_by", mm.revoked? json_string (mm.revoked_by): json_null ()));
    }
    *output = members? json_pack ("{s:o}", "members", members): NULL;
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

/*  Optional string field (absent = dflt); HEARTH_EINVAL if not a string. */
static int
s_get_string (const json_t *input, const char *key, const char *dflt, const char **out, char **message)
{
    json_t *value = json_object_get (input, key);
    if (!value) {
        *out = dflt;
        return HEARTH_OK;
    }
    if (!json_is_string (value)) {
        *message = hearth_message ("'%s' must be a string", key);
        return HEARTH_EINVAL;
    }
    *out = json_string_value (value);
    return HEARTH_OK;
}

/*  Append a signature (a proposal if proposal_id is NULL) and answer
    with the proposal's state after it. */
static int
s_sign (eventlog_t *log, const identity_t *identity, int type, const uint8_t target [32], int new_level,
        const char *reason, const char *proposal_id, uint64_t ttl_ms, json_t **output, char **message)
{
    uint64_t now_ms = hearth_now_ms ();
    Hearth__MemberChange change = HEARTH__MEMBER_CHANGE__INIT;
    change.target.data = (uint8_t *) target;
    change.target.len = 32;
    change.new_level = (Hearth__Level) new_level;
    change.reason = (char *) (reason? reason: "");
    change.proposal_event_id = (char *) (proposal_id? proposal_id: "");
    change.expires_at_ms = proposal_id? 0: now_ms + ttl_ms;
    Hearth__Event draft = HEARTH__EVENT__INIT;
    draft.type = (Hearth__EventType) type;
    draft.payload_case = HEARTH__EVENT__PAYLOAD_MEMBER_CHANGE;
    draft.member_change = &change;
    event_t *ev = NULL;
    int rc = eventlog_append_local (log, identity, &draft, now_ms, &ev);
    if (rc != HEARTH_OK) {
        if (rc == HEARTH_EUNAUTHORIZED)
            *message = hearth_message (
                "this node may not sign this %s: %s", s_action (type),
                proposal_id? "it signed the proposal already, is not eligible (a trusted or anchor "
                             "member at least as high as the target, not the target), or the "
                             "proposal is closed or expired"
                : type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED
                ? "a promotion needs an anchor (to anchor: the community's founder), and must raise "
                  "the member's level"
                : "it needs a trusted or anchor member at least as high as the target (not the "
                  "target, not the founder); a demotion must lower the level; at most "
                  "8 open proposals per member");
        else
        if (rc == HEARTH_EREVOKED)
            *message = hearth_message ("this node's key was revoked");
        else
            *message = hearth_message ("could not append the signature: %s", hearth_strerror (rc));
        return rc;
    }
    const char *pid = proposal_id? proposal_id: event_id (ev);
    membership_proposal_t p;
    json_t *proposal = membership_proposal_find (eventlog_membership (log), pid, &p) == 0
                     ? s_proposal_json (&p, now_ms): json_null ();
    hlog_info (S_LOG, "signed %s %s (event %s)", proposal_id? "an endorsement of": "a proposal to",
               s_action (type), event_id (ev));
    *output = json_pack ("{s:s, s:o}", "event_id", event_id (ev), "proposal", proposal);
    event_destroy (&ev);
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}

/*  The common part of promote/demote/revoke: the target, its level, the
    reason, the ttl. levels: names allowed for "level" (NULL: no level). */
static int
s_propose (eventlog_t *log, const identity_t *identity, int type, const json_t *input,
           const char *dflt_level, json_t **output, char **message)
{
    uint8_t target [32];
    const char *node_id = json_string_value (json_object_get (input, "node_id"));
    if (!node_id || hearth_node_id_parse (node_id, target) != HEARTH_OK) {
        *message = hearth_message ("'node_id' must be the member's full NodeID (ed25519:…, from "
                                   "`hearthctl member list`)");
        return HEARTH_EINVAL;
    }
    int new_level = HEARTH__LEVEL__LEVEL_NONE;
    if (dflt_level) {
        const char *name;
        int rc = s_get_string (input, "level", dflt_level, &name, message);
        if (rc)
            return rc;
        int ok = 0;
        for (int l = HEARTH__LEVEL__LEVEL_MEMBER; l <= HEARTH__LEVEL__LEVEL_ANCHOR; l++)
            if (strcmp (name, s_levels [l]) == 0) {
                new_level = l;
                ok = type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED? l >= HEARTH__LEVEL__LEVEL_TRUSTED
                                                                          : l <= HEARTH__LEVEL__LEVEL_TRUSTED;
            }
        if (!ok) {
            *message = hearth_message ("'level' must be %s", type == HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED
                                       ? "\"trusted\" or \"anchor\"": "\"member\" or \"trusted\"");
            return HEARTH_EINVAL;
        }
    }
    else
    if (json_object_get (input, "level")) {
        *message = hearth_message ("'level' is not taken by a revocation");
        return HEARTH_EINVAL;
    }
    const char *reason;
    int rc = s_get_string (input, "reason", "", &reason, message);
    if (rc)
        return rc;
    if (strlen (reason) > EVENT_MAX_LABEL_BYTES) {
        *message = hearth_message ("'reason' is longer than %d bytes", EVENT_MAX_LABEL_BYTES);
        return HEARTH_ETOOBIG;
    }
    json_t *ttl_value = json_object_get (input, "ttl_seconds");
    uint64_t ttl_ms = MEMBERSHIP_PROPOSAL_TTL_MS;
    if (ttl_value) {
        if (!json_is_integer (ttl_value) || json_integer_value (ttl_value) < 1
        ||  (uint64_t) json_integer_value (ttl_value) > MEMBERSHIP_PROPOSAL_MAX_TTL_MS / 1000) {
            *message = hearth_message ("'ttl_seconds' must be an integer in 1..%" PRIu64,
                                       MEMBERSHIP_PROPOSAL_MAX_TTL_MS / 1000);
            return HEARTH_EINVAL;
        }
        ttl_ms = (uint64_t) json_integer_value (ttl_value) * 1000;
    }
    const membership_t *m = eventlog_membership (log);
    if (membership_revoked (m, target)) {
        *message = hearth_message ("%s was revoked already", node_id);
        return HEARTH_EREVOKED;
    }
    if (membership_level (m, target) == HEARTH__LEVEL__LEVEL_NONE) {
        *message = hearth_message ("%s is not a member of this community", node_id);
        return HEARTH_ENOTFOUND;
    }
    return s_sign (log, identity, type, target, new_level, reason, NULL, ttl_ms, output, message);
}

int
node_members_promote (eventlog_t *log, const identity_t *identity, const json_t *input,
                      json_t **output, char **message)
{
    return s_propose (log, identity, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED, input, "trusted",
                      output, message);
}

int
node_members_demote (eventlog_t *log, const identity_t *identity, const json_t *input,
                     json_t **output, char **message)
{
    return s_propose (log, identity, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED, input, "member",
                      output, message);
}

int
node_members_revoke (eventlog_t *log, const identity_t *identity, const json_t *input,
                     json_t **output, char **message)
{
    return s_propose (log, identity, HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED, input, NULL,
                      output, message);
}

int
node_members_endorse (eventlog_t *log, const identity_t *identity, const json_t *input,
                      json_t **output, char **message)
{
    const char *id = json_string_value (json_object_get (input, "proposal_id"));
    if (!id || !ulid_valid (id)) {
        *message = hearth_message ("'proposal_id' must be a proposal's event id (26 characters, from "
                                   "`hearthctl member proposals`)");
        return HEARTH_EINVAL;
    }
    membership_proposal_t p;
    if (membership_proposal_find (eventlog_membership (log), id, &p) != 0) {
        *message = hearth_message ("no proposal %s on this node (not synced yet, or not a proposal)", id);
        return HEARTH_ENOTFOUND;
    }
    if (p.state != MEMBERSHIP_PROPOSAL_OPEN) {
        *message = hearth_message ("proposal %s is closed (%s)", id,
                                   p.state == MEMBERSHIP_PROPOSAL_DONE? "it took effect"
                                   : "its target was revoked or is at that level already");
        return HEARTH_EEXISTS;
    }
    if (p.expires_at_ms < hearth_now_ms ()) {
        *message = hearth_message ("proposal %s expired: propose it again", id);
        return HEARTH_EEXPIRED;
    }
    return s_sign (log, identity, p.type, p.target, p.new_level, "", p.event_id, 0, output, message);
}

int
node_members_proposals (eventlog_t *log, const json_t *input, json_t **output, char **message)
{
    json_t *all_value = json_object_get (input, "all");
    if (all_value && !json_is_boolean (all_value)) {
        *message = hearth_message ("'all' must be true or false");
        return HEARTH_EINVAL;
    }
    int all = all_value && json_is_true (all_value);
    const membership_t *m = eventlog_membership (log);
    membership_proposal_t *props = (membership_proposal_t *) calloc (MEMBERSHIP_MAX_CHANGES, sizeof *props);
    long n = props? membership_proposals (m, props, MEMBERSHIP_MAX_CHANGES): HEARTH_ENOMEM;
    if (n < 0) {
        free (props);
        return (int) n;
    }
    uint64_t now_ms = hearth_now_ms ();
    json_t *list = json_array ();
    for (long i = 0; list && i < n && i < MEMBERSHIP_MAX_CHANGES; i++)
        if (all || (props [i].state == MEMBERSHIP_PROPOSAL_OPEN && props [i].expires_at_ms >= now_ms))
            json_array_append_new (list, s_proposal_json (&props [i], now_ms));
    free (props);
    *output = list? json_pack ("{s:o}", "proposals", list): NULL;
    return *output? HEARTH_OK: HEARTH_ENOMEM;
}
