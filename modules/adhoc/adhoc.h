/* modules/adhoc/adhoc.h — the adhoc module: ad-hoc commands (XEP-0050) on the host, and
 * the service administration commands of XEP-0133 on top of them, for the admins of the
 * config. adhoc.c owns the protocol (discovery of commands, sessions, actions, errors);
 * admin.c the commands. A command is a table entry: an optional first-stage form and a
 * function run with the submitted form, which answers through the helpers below.
 */
#ifndef MYNA_MOD_ADHOC_H
#define MYNA_MOD_ADHOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/dataform.h"
#include "myna/module.h"

#define NS_COMMANDS "http://jabber.org/protocol/commands"
#define NS_ADMIN "http://jabber.org/protocol/admin"
#define ADMIN_NODE(x) "http://jabber.org/protocol/admin#" x

/* XEP-0050 §4.6 application conditions (in NS_COMMANDS). */
#define CMD_MALFORMED_ACTION "malformed-action"
#define CMD_BAD_ACTION "bad-action"
#define CMD_BAD_PAYLOAD "bad-payload"
#define CMD_BAD_SESSIONID "bad-sessionid"
#define CMD_SESSION_EXPIRED "session-expired"

struct adhoc;
struct adhoc_call;

struct adhoc_cmd {
    const char *node; /* XEP-0133 node, e.g. ADMIN_NODE("add-user") */
    const char *name; /* human-readable label (disco item name) */
    /* Builds the first stage's form into `cmd`; NULL = the command runs at once. */
    void (*form)(struct adhoc_call *call, struct myna_xml *cmd);
    /* Runs the command with the submitted form (NULL for a command without one) and
     * answers: adhoc_completed(), adhoc_error() or adhoc_defer(). */
    void (*run)(struct adhoc_call *call, const struct dataform *form);
};

/* One request being handled (borrowed for the run() call). */
struct adhoc_call {
    struct adhoc *ad;
    struct myna_module *m;
    struct myna_stanza *st;
    const struct adhoc_cmd *cmd;
    const char *sessionid; /* of this execution (in st's arena) */
};

/* An answer owed after run() returned (deferred iq), e.g. after a password derivation. */
struct adhoc_pending {
    struct adhoc *ad;
    struct myna_pending_iq *iq;
    char *node, *sessionid;
    uint64_t timer;       /* a step run later from a timer, or 0 */
    char **jids;          /* what that step works on (heap strings) */
    size_t njids;
    struct adhoc_pending *next;
};

/* ---- answering (adhoc.c) ---- */

/* <command node sessionid status='completed'> with an optional note (type info, warn or
 * error) and an optional result form (copied). */
void adhoc_completed(struct adhoc_call *call, const char *note_type, const char *note,
                     const struct myna_xml *form);
/* A stanza error with an optional XEP-0050 application condition (CMD_*) and text. */
void adhoc_error(struct myna_stanza *st, enum myna_error cond, const char *app,
                 const char *text);
/* The answer comes later: adhoc_pending_done() or adhoc_pending_fail() exactly once. */
struct adhoc_pending *adhoc_defer(struct adhoc_call *call);
void adhoc_pending_done(struct adhoc_pending *p, const char *note_type, const char *note,
                        const struct myna_xml *form);
void adhoc_pending_fail(struct adhoc_pending *p, enum myna_error cond, const char *text);
/* A result form (<x type='result'/> with FORM_TYPE NS_ADMIN) in `a`, for adhoc_completed. */
struct myna_xml *adhoc_result_form(struct myna_arena *a);

/* ---- module state (adhoc.c) ---- */

struct adhoc_session {
    char *id, *node, *owner; /* owner: the requester's full JID */
    uint64_t expires_ms;
    struct adhoc_session *next;
};

struct adhoc {
    struct myna_module *m;
    char **admins;        /* bare JIDs */
    size_t nadmins;
    struct adhoc_session *sessions;
    size_t nsessions;
    uint64_t next_session;
    struct adhoc_pending *pending;
    long long session_timeout_ms;
    long long max_announcement;
};

/* ---- the XEP-0133 commands (admin.c) ---- */

extern const struct adhoc_cmd admin_commands[];
extern const size_t admin_ncommands;

#endif
