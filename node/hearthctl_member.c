/*  hearthctl_member.c — `hearthctl member list|promote|demote|revoke|
    endorse|proposals` (docs/cli.md "member"): moderation of the
    community. Each parses its options into the input of one member.*
    capability (node_members.h) and prints its output (as is with --json).
    A member may be named by its full NodeID, its short id, or a prefix of
    either that names one member: the CLI resolves it with member.list.
    Private to hearthctl.
*/
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "node_render.h"
#include "hearthctl.h"

/*  Resolve what the user typed to a full NodeID: as is if it parses,
    else the one member whose short id or NodeID starts with it (case as
    typed). HEARTHCTL_EXIT_OK and *node_id (new string), or the failure
    already reported. */
static int
s_resolve (const hearthctl_t *ctl, const char *typed, char **node_id)
{
    uint8_t key [32];
    if (hearth_node_id_parse (typed, key) == HEARTH_OK) {
        *node_id = strdup (typed);
        return *node_id? HEARTHCTL_EXIT_OK: hearthctl_fail_err (ctl, HEARTH_ENOMEM, NULL);
    }
    json_t *output = NULL;
    int rc = hearthctl_call (ctl, "member.list", NULL, &output);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    size_t i, found = 0, len = strlen (typed);
    json_t *m;
    const char *match = NULL;
    json_array_foreach (json_object_get (output, "members"), i, m) {
        const char *full = json_string_value (json_object_get (m, "node_id"));
        const char *shrt = json_string_value (json_object_get (m, "short_id"));
        if ((full && strncmp (full, typed, len) == 0) || (shrt && strncmp (shrt, typed, len) == 0)
        ||  (full && strncmp (full + strlen ("ed25519:"), typed, len) == 0)) {
            found++;
            match = full;
        }
    }
    if (found == 1)
        *node_id = strdup (match);
    json_decref (output);
    if (found == 1)
        return *node_id? HEARTHCTL_EXIT_OK: hearthctl_fail_err (ctl, HEARTH_ENOMEM, NULL);
    char message [300];
    if (found)
        snprintf (message, sizeof message, "'%.100s' names %zu members: give more of its NodeID "
                  "(`hearthctl member list`)", typed, found);
    else
        snprintf (message, sizeof message, "'%.100s' is not a NodeID, short id or prefix of a member "
                  "(`hearthctl member list`)", typed);
    return hearthctl_usage_error (ctl, message);
}

static void
s_print_proposal (const json_t *p)
{
    const char *action = json_string_value (json_object_get (p, "action"));
    const char *state = json_string_value (json_object_get (p, "state"));
    const char *expires = json_string_value (json_object_get (p, "expires_at"));
    printf ("%s  %-7s %s", json_string_value (json_object_get (p, "proposal_id")), action? action: "?",
            json_string_value (json_object_get (p, "target_short_id")));
    if (action && strcmp (action, "revoke") != 0)
        printf (" to %s", json_string_value (json_object_get (p, "new_level")));
    printf ("  %s, %lld of %lld signatures (%lld eligible)", state? state: "?",
            (long long) json_integer_value (json_object_get (p, "signatures")),
            (long long) json_integer_value (json_object_get (p, "threshold")),
            (long long) json_integer_value (json_object_get (p, "eligible")));
    if (state && strcmp (state, "open") == 0)
        printf (", endorsements until %s", expires? expires: "-");
    printf ("\n");
}

/*  After a signature: what happened to the proposal. */
static void
s_print_signed (const json_t *output, const char *verb)
{
    const json_t *p = json_object_get (output, "proposal");
    printf ("%s (event %s)\n", verb, json_string_value (json_object_get (output, "event_id")));
    if (!json_is_object (p))
        return;
    s_print_proposal (p);
    const char *state = json_string_value (json_object_get (p, "state"));
    if (state && strcmp (state, "done") == 0)
        printf ("it took effect\n");
    else
    if (state && strcmp (state, "open") == 0)
        printf ("waiting for %lld more signature(s): other trusted members run "
                "`hearthctl member endorse %s`\n",
                (long long) (json_integer_value (json_object_get (p, "threshold"))
                           - json_integer_value (json_object_get (p, "signatures"))),
                json_string_value (json_object_get (p, "proposal_id")));
}

static int
s_member_list (hearthctl_t *ctl, int argc, char **argv)
{
    int rc = hearthctl_json_only_args (ctl, argc, argv, "member list");
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    json_t *output = NULL;
    rc = hearthctl_call (ctl, "member.list", NULL, &output);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    if (ctl->json)
        hearthctl_print_json (output);
    else {
        json_t *members = json_object_get (output, "members");
        printf ("%-27s %-8s %-9s %-27s %-20s %s\n", "MEMBER", "LEVEL", "JOINED AS", "ADDED BY", "SINCE",
                "REVOKED BY");
        size_t i, revoked = 0;
        json_t *m;
        json_array_foreach (members, i, m) {
            char added [HEARTH_SHORT_ID_SIZE] = "-";
            uint8_t key [32];
            const char *by = json_string_value (json_object_get (m, "added_by"));
            if (by && hearth_node_id_parse (by, key) == HEARTH_OK)
                hearth_short_id_format (key, added);
            const char *since = json_string_value (json_object_get (m, "since"));
            const char *revoked_by = json_string_value (json_object_get (m, "revoked_by"));
            revoked += json_is_true (json_object_get (m, "revoked"));
            printf ("%-27s %-8s %-9s %-27s %-20s %s\n", json_string_value (json_object_get (m, "short_id")),
                    json_string_value (json_object_get (m, "level")),
                    json_string_value (json_object_get (m, "joined_level")), added, since? since: "-",
                    revoked_by? revoked_by: "-");
        }
        printf ("%zu member%s, %zu revoked\n", json_array_size (members),
                json_array_size (members) == 1? "": "s", revoked);
    }
    json_decref (output);
    return HEARTHCTL_EXIT_OK;
}

/*  The common end of the commands that sign a governance event (promote,
    demote, revoke, endorse): if rc is still HEARTHCTL_EXIT_OK, call
    capability with input and print the output (JSON with --json, else
    s_print_signed with verb). Takes input (drops it). Returns the exit
    code. */
static int
s_member_call (const hearthctl_t *ctl, int rc, const char *capability, json_t *input,
               const char *verb)
{
    json_t *output = NULL;
    if (rc == HEARTHCTL_EXIT_OK)
        rc = hearthctl_call (ctl, capability, input, &output);
    json_decref (input);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    if (ctl->json)
        hearthctl_print_json (output);
    else
        s_print_signed (output, verb);
    json_decref (output);
    return HEARTHCTL_EXIT_OK;
}

/*  promote, demote, revoke: NODE_ID [--level L] [--reason TEXT] [--ttl S]. */
static int
s_member_change (hearthctl_t *ctl, int argc, char **argv, const char *sub)
{
    static const struct option options [] = {
        { "level",  required_argument, NULL, 'l' },
        { "reason", required_argument, NULL, 'r' },
        { "ttl",    required_argument, NULL, 'T' },
        { "json",   no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    static const struct option revoke_options [] = {
        { "reason", required_argument, NULL, 'r' },
        { "ttl",    required_argument, NULL, 'T' },
        { "json",   no_argument,       NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    int revoke = strcmp (sub, "revoke") == 0;
    const struct option *opts = revoke? revoke_options: options;
    const char *level = NULL, *reason = NULL;
    uint64_t ttl = 0;
    int opt, ttl_given = 0;
    optind = 0;
    while ((opt = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'l') level = optarg;
        else if (opt == 'r') reason = optarg;
        else if (opt == 'j') ctl->json = 1;
        else if (opt == 'T') {
            if (hearthctl_parse_u64 (optarg, &ttl) != 0 || ttl < 1)
                return hearthctl_usage_error (ctl, "--ttl must be a positive whole number of seconds");
            ttl_given = 1;
        }
        else return hearthctl_bad_option (ctl, argv, opts);
    }
    char problem [160];
    if (argc - optind != 1) {
        snprintf (problem, sizeof problem, argc - optind == 0
                  ? "member %s needs the member's NODE_ID (or short id, from `hearthctl member list`)"
                  : "member %s takes exactly one NODE_ID", sub);
        return hearthctl_usage_error (ctl, problem);
    }
    if (level && strcmp (sub, "promote") == 0 && strcmp (level, "trusted") != 0 && strcmp (level, "anchor") != 0)
        return hearthctl_usage_error (ctl, "--level must be trusted or anchor");
    if (level && strcmp (sub, "demote") == 0 && strcmp (level, "member") != 0 && strcmp (level, "trusted") != 0)
        return hearthctl_usage_error (ctl, "--level must be member or trusted");
    char *node_id = NULL;
    int rc = s_resolve (ctl, argv [optind], &node_id);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    json_t *input = json_pack ("{s:s}", "node_id", node_id);
    free (node_id);
    if (level)
        json_object_set_new (input, "level", json_string (level));
    if (reason)
        rc = hearthctl_set_text (ctl, input, "reason", reason);
    if (ttl_given)
        json_object_set_new (input, "ttl_seconds", json_integer ((json_int_t) ttl));
    char capability [32];
    snprintf (capability, sizeof capability, "member.%s", sub);
    return s_member_call (ctl, rc, capability, input, "proposed");
}

static int
s_member_endorse (hearthctl_t *ctl, int argc, char **argv)
{
    const char *id = NULL;
    int rc = hearthctl_json_one_arg (ctl, argc, argv,
                                     "member endorse needs a PROPOSAL_ID (from `hearthctl member proposals`)",
                                     "member endorse takes exactly one PROPOSAL_ID", &id);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    json_t *input = json_object ();
    rc = hearthctl_set_text (ctl, input, "proposal_id", id);
    return s_member_call (ctl, rc, "member.endorse", input, "endorsed");
}

static int
s_member_proposals (hearthctl_t *ctl, int argc, char **argv)
{
    int all;
    json_t *output = NULL;
    int rc = hearthctl_call_flagged (ctl, argc, argv, "member proposals", "all", "member.proposals",
                                     &all, &output);
    if (rc != HEARTHCTL_EXIT_OK)
        return rc;
    if (ctl->json)
        hearthctl_print_json (output);
    else {
        json_t *list = json_object_get (output, "proposals");
        size_t i;
        json_t *p;
        if (json_array_size (list) == 0)
            printf ("no %sproposals\n", all? "": "open ");
        json_array_foreach (list, i, p)
            s_print_proposal (p);
    }
    json_decref (output);
    return HEARTHCTL_EXIT_OK;
}

int
hearthctl_cmd_member (hearthctl_t *ctl, int argc, char **argv)
{
    /*  main resolved the subcommand (hearthctl.c), so argv [1] is one. */
    if (argc < 2)
        return hearthctl_usage_error (ctl, "member needs a subcommand: list, promote, demote, revoke, "
                                      "endorse or proposals");
    const char *sub = argv [1];
    if (strcmp (sub, "list") == 0)      return s_member_list (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "promote") == 0 || strcmp (sub, "demote") == 0 || strcmp (sub, "revoke") == 0)
        return s_member_change (ctl, argc - 1, argv + 1, sub);
    if (strcmp (sub, "endorse") == 0)   return s_member_endorse (ctl, argc - 1, argv + 1);
    if (strcmp (sub, "proposals") == 0) return s_member_proposals (ctl, argc - 1, argv + 1);
    return hearthctl_usage_error (ctl, "unknown member subcommand (list, promote, demote, revoke, endorse, "
                                  "proposals)");
}
