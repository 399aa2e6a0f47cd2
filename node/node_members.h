/*  node_members.h — the member.* control capabilities: list the members,
    propose a promotion, demotion or revocation, endorse a proposal, list
    proposals (docs/cli.md "member", docs/decisions/0030). Each handler
    reads the membership view of log and appends signatures with identity
    (the node's own key); the rules are membership.h's, this module only
    turns JSON into events and the view into JSON.

      member.list       {}                            -> {members:[{node_id, short_id, level,
                                                          joined_level, added_by, since_lamport,
                                                          since, revoked, revoked_by}]}
      member.promote    {node_id, level?: "trusted"|"anchor", reason?, ttl_seconds?}
      member.demote     {node_id, level?: "member"|"trusted", reason?, ttl_seconds?}
      member.revoke     {node_id, reason?, ttl_seconds?}
                                                      -> {event_id, proposal: PROPOSAL}
      member.endorse    {proposal_id}                 -> {event_id, proposal: PROPOSAL}
      member.proposals  {all?: bool}                  -> {proposals:[PROPOSAL]} (open ones
                                                          unless all)
    PROPOSAL = {proposal_id, action: promote|demote|revoke, target_node_id,
    target_short_id, new_level, proposer, lamport, created, expires_at,
    state: open|expired|done|moot, signatures, threshold, eligible,
    signers:[node_id]}. ttl_seconds (how long endorsements count) defaults
    to MEMBERSHIP_PROPOSAL_TTL_MS, at most MEMBERSHIP_PROPOSAL_MAX_TTL_MS.
    Every handler returns HEARTH_OK with *output (new), or an error with
    *message (new, may be NULL).
*/
#ifndef HEARTH_NODE_MEMBERS_H
#define HEARTH_NODE_MEMBERS_H

#include <jansson.h>
#include "eventlog.h"
#include "identity.h"

#ifdef __cplusplus
extern "C" {
#endif

int node_members_list (eventlog_t *log, const json_t *input, json_t **output, char **message);
int node_members_promote (eventlog_t *log, const identity_t *identity, const json_t *input,
                          json_t **output, char **message);
int node_members_demote (eventlog_t *log, const identity_t *identity, const json_t *input,
                         json_t **output, char **message);
int node_members_revoke (eventlog_t *log, const identity_t *identity, const json_t *input,
                         json_t **output, char **message);
int node_members_endorse (eventlog_t *log, const identity_t *identity, const json_t *input,
                          json_t **output, char **message);
int node_members_proposals (eventlog_t *log, const json_t *input, json_t **output, char **message);

#ifdef __cplusplus
}
#endif
#endif
