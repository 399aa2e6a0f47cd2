/*  node_event_json.c — an event's JSON envelope (docs/protocol.md, "The
    JSON envelope"); see node_event_json.h.

    A pure rendering of a decoded event through event.h's accessors: the
    body passed every structure check when it was decoded or signed, so
    every string here is valid UTF-8 and every enum in range or named by its
    default. Allocation failure anywhere gives NULL, never a partial object.
*/
#include <string.h>
#include <jansson.h>
#include "hearth_codec.h"
#include "node_event_json.h"

static const char *
s_category_name (int c)
{
    switch (c) {
        case HEARTH__CATEGORY__CATEGORY_OFFER:     return "offer";
        case HEARTH__CATEGORY__CATEGORY_REQUEST:   return "request";
        case HEARTH__CATEGORY__CATEGORY_INFO:      return "info";
        case HEARTH__CATEGORY__CATEGORY_EMERGENCY: return "emergency";
        default:                                   return "unspecified";
    }
}

static const char *
s_level_name (int l)
{
    switch (l) {
        case HEARTH__LEVEL__LEVEL_MEMBER:  return "member";
        case HEARTH__LEVEL__LEVEL_TRUSTED: return "trusted";
        case HEARTH__LEVEL__LEVEL_ANCHOR:  return "anchor";
        default:                           return "none";
    }
}

static const char *
s_reason_name (int r)
{
    switch (r) {
        case HEARTH__EXPIRY_REASON__EXPIRY_REASON_FULFILLED:    return "fulfilled";
        case HEARTH__EXPIRY_REASON__EXPIRY_REASON_WITHDRAWN:    return "withdrawn";
        case HEARTH__EXPIRY_REASON__EXPIRY_REASON_USER_REQUEST: return "user_request";
        case HEARTH__EXPIRY_REASON__EXPIRY_REASON_STALE:        return "stale";
        default:                                                return "unspecified";
    }
}

json_t *
node_event_json_node_id (const uint8_t *key)
{
    char text [HEARTH_NODE_ID_SIZE];
    hearth_node_id_format (key, text);
    return json_string (text);
}

static json_t *
s_time_json (uint64_t ms)
{
    char text [HEARTH_TIME_SIZE];
    hearth_time_format (ms, text);
    return json_string (text);
}

/*  A governance signature's own fields (docs/decisions/0030): an
    endorsement names its proposal; a proposal may carry its expiry.
    (co_signers stays empty: co-signers are events of their own.) */
static void
s_change_extra (json_t *d, const Hearth__MemberChange *p)
{
    if (!d)
        return;
    if (p->proposal_event_id && *p->proposal_event_id)
        json_object_set_new (d, "proposal_event_id", json_string (p->proposal_event_id));
    if (p->expires_at_ms)
        json_object_set_new (d, "expires_at", s_time_json (p->expires_at_ms));
}

static json_t *
s_tags_json (char *const *tags, size_t n)
{
    json_t *arr = json_array ();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new (arr, json_string (tags [i]));
    return arr;
}

static json_t *
s_location_json (const Hearth__Location *loc)
{
    return json_pack ("{s:f, s:f, s:s}", "lat", loc->lat, "lng", loc->lng,
                      "label", loc->label? loc->label: "");
}

/*  The `data` object of the event's type (docs/protocol.md, "The JSON
    envelope"). */
static json_t *
s_data_json (const Hearth__Event *e)
{
    json_t *d = NULL;
    switch (e->type) {
        case HEARTH__EVENT_TYPE__COMMUNITY_CREATED: {
            const Hearth__CommunityCreated *p = e->community_created;
            d = json_pack ("{s:s, s:o}", "name", p->name, "founder_node_id",
                           node_event_json_node_id (e->author.data));
            if (d && p->policy)
                json_object_set_new (d, "policy", json_pack ("{s:I, s:I, s:I, s:b}",
                    "min_signatures_to_invite", (json_int_t) p->policy->min_signatures_to_invite,
                    "min_signatures_to_demote", (json_int_t) p->policy->min_signatures_to_demote,
                    "min_signatures_to_revoke", (json_int_t) p->policy->min_signatures_to_revoke,
                    "default_member_can_invite", (int) p->policy->default_member_can_invite));
            break;
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_INVITED: {
            const Hearth__MemberInvited *p = e->member_invited;
            d = json_pack ("{s:o, s:s, s:s, s:o}",
                           "invitee_node_id", node_event_json_node_id (p->invitee.data),
                           "display_name", p->display_name,
                           "initial_level", s_level_name (p->initial_level),
                           "expires_at", s_time_json (p->expires_at_ms));
            break;
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_JOINED: {
            const Hearth__MemberJoined *p = e->member_joined;
            d = json_pack ("{s:s, s:s}", "invite_event_id", p->invite_event_id,
                           "display_name", p->display_name);
            break;
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_REVOKED: {
            const Hearth__MemberChange *p = e->member_change;
            d = json_pack ("{s:o, s:s, s:[]}", "target_node_id", node_event_json_node_id (p->target.data),
                           "reason", p->reason, "co_signers");
            s_change_extra (d, p);
            break;
        }
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_PROMOTED:
        case HEARTH__EVENT_TYPE__COMMUNITY_MEMBER_DEMOTED: {
            const Hearth__MemberChange *p = e->member_change;
            d = json_pack ("{s:o, s:s, s:[]}", "target_node_id", node_event_json_node_id (p->target.data),
                           "new_level", s_level_name (p->new_level), "co_signers");
            if (d && p->reason && *p->reason)
                json_object_set_new (d, "reason", json_string (p->reason));
            s_change_extra (d, p);
            break;
        }
        case HEARTH__EVENT_TYPE__MARKET_POST_CREATED: {
            const Hearth__MarketPostCreated *p = e->market_post_created;
            d = json_pack ("{s:s, s:s, s:s, s:s, s:o, s:I}",
                           "client_id", p->client_id, "category", s_category_name (p->category),
                           "title", p->title, "body", p->body,
                           "tags", s_tags_json (p->tags, p->n_tags),
                           "ttl_seconds", (json_int_t) p->ttl_seconds);
            if (d && p->location)
                json_object_set_new (d, "location", s_location_json (p->location));
            break;
        }
        case HEARTH__EVENT_TYPE__MARKET_POST_UPDATED: {
            const Hearth__MarketPostUpdated *p = e->market_post_updated;
            json_t *fields = json_object ();
            if (fields && p->title && *p->title)
                json_object_set_new (fields, "title", json_string (p->title));
            if (fields && p->body && *p->body)
                json_object_set_new (fields, "body", json_string (p->body));
            if (fields && p->replace_tags)
                json_object_set_new (fields, "tags", s_tags_json (p->tags, p->n_tags));
            if (fields && p->location)
                json_object_set_new (fields, "location", s_location_json (p->location));
            if (fields && p->clear_location)
                json_object_set_new (fields, "location", json_null ());
            if (fields && p->ttl_seconds)
                json_object_set_new (fields, "ttl_seconds", json_integer ((json_int_t) p->ttl_seconds));
            d = json_pack ("{s:s, s:s, s:o}", "client_id", p->client_id,
                           "target_event_id", p->target_event_id, "fields", fields);
            break;
        }
        case HEARTH__EVENT_TYPE__MARKET_POST_EXPIRED: {
            const Hearth__MarketPostExpired *p = e->market_post_expired;
            d = json_pack ("{s:s, s:s, s:s}", "client_id", p->client_id,
                           "target_event_id", p->target_event_id,
                           "reason", s_reason_name (p->reason));
            break;
        }
        default:
            if (e->opaque)
                d = json_loadb ((const char *) e->opaque->json.data, e->opaque->json.len, 0, NULL);
            break;
    }
    return d;
}

/*  The envelope (docs/protocol.md) + "hash". */
json_t *
node_event_json (const event_t *event)
{
    const Hearth__Event *e = event_body (event);
    char sig_text [sizeof HEARTH_NODE_ID_PREFIX + 88];   /* b64url(64) = 86 chars */
    strcpy (sig_text, HEARTH_NODE_ID_PREFIX);
    hearth_b64url_encode (event_signature (event), HEARTH_SIG_BYTES,
                          sig_text + strlen (HEARTH_NODE_ID_PREFIX));
    char hash_hex [2 * HEARTH_HASH_BYTES + 1];
    hearth_hex_encode (event_hash (event), HEARTH_HASH_BYTES, hash_hex);
    json_t *data = s_data_json (e);
    if (!data)
        return NULL;
    return json_pack ("{s:i, s:s, s:I, s:o, s:o, s:o, s:s, s:o, s:s, s:s}",
                      "schema_version", (int) e->schema_version,
                      "event_id", e->event_id,
                      "lamport", (json_int_t) e->lamport,
                      "wall_clock", s_time_json (e->wall_clock_ms),
                      "community_id", node_event_json_node_id (e->community_id.data),
                      "author", node_event_json_node_id (e->author.data),
                      "event_type", event_type_name (e->type),
                      "data", data,
                      "signature", sig_text,
                      "hash", hash_hex);
}
