/* myna/im.h — which messages count as conversation: the one rule that message carbons
 * (XEP-0280 §6), the message archive (XEP-0313 §5.1.1) and other copies or stores of a
 * message share, with the XEP-0334 hints (store, no-store, no-permanent-store, no-copy).
 *
 * Public API (since 1.1), header-only: static inline functions over the stanza tree, so
 * every module that includes it decides the same way. `type` is struct myna_stanza's
 * type (its default filled in: "normal" for a message without one).
 */
#ifndef MYNA_IM_H
#define MYNA_IM_H

#include <stdbool.h>
#include <string.h>

#include "myna/xml.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MYNA_NS_HINTS "urn:xmpp:hints"
#define MYNA_NS_CARBONS "urn:xmpp:carbons:2"

/* XEP-0334 hints found among the message's children. */
#define MYNA_HINT_STORE 0x1u              /* <store/>: keep although it has no body */
#define MYNA_HINT_NO_STORE 0x2u           /* <no-store/>: neither archive nor offline store */
#define MYNA_HINT_NO_PERMANENT_STORE 0x4u /* <no-permanent-store/>: no archive (offline ok) */
#define MYNA_HINT_NO_COPY 0x8u            /* <no-copy/>: no carbons */

static inline unsigned myna_im_hints(const struct myna_xml *msg)
{
    unsigned h = 0;
    for (const struct myna_xml *c = msg->children; c; c = c->next) {
        if (c->type != MYNA_XML_ELEMENT || strcmp(c->ns, MYNA_NS_HINTS) != 0)
            continue;
        if (strcmp(c->name, "store") == 0)
            h |= MYNA_HINT_STORE;
        else if (strcmp(c->name, "no-store") == 0)
            h |= MYNA_HINT_NO_STORE;
        else if (strcmp(c->name, "no-permanent-store") == 0)
            h |= MYNA_HINT_NO_PERMANENT_STORE;
        else if (strcmp(c->name, "no-copy") == 0)
            h |= MYNA_HINT_NO_COPY;
    }
    return h;
}

/* A conversation message: type chat or normal, with a <body/> or a <store/> hint
 * (XEP-0313 §5.1.1: "messages ... of type 'normal' or 'chat' that contain a <body>";
 * XEP-0334 §4: <store/> asks to keep one without). Chat states and receipts alone are
 * not; groupchat, headline and error never are. */
static inline bool myna_im_is_conversation(const char *type, const struct myna_xml *msg)
{
    if (strcmp(type, "chat") != 0 && strcmp(type, "normal") != 0)
        return false;
    return myna_xml_find(msg, MYNA_NS_CLIENT, "body") != NULL ||
           (myna_im_hints(msg) & MYNA_HINT_STORE);
}

/* Goes into the user's message archive (XEP-0313): a conversation message without
 * <no-store/> or <no-permanent-store/> (XEP-0334 §4.1-4.2). */
static inline bool myna_im_archivable(const char *type, const struct myna_xml *msg)
{
    return myna_im_is_conversation(type, msg) &&
           !(myna_im_hints(msg) & (MYNA_HINT_NO_STORE | MYNA_HINT_NO_PERMANENT_STORE));
}

/* Copied to the user's other resources by carbons (XEP-0280 §6): every conversation
 * message (so that what the archive keeps, other devices also see live) and any other
 * chat message (chat states, receipts); never one marked <private/> (XEP-0280 §7) or
 * <no-copy/> (XEP-0334 §4.3), nor a carbon itself. */
static inline bool myna_im_carbon_eligible(const char *type, const struct myna_xml *msg)
{
    if (myna_xml_find(msg, MYNA_NS_CARBONS, "private") ||
        myna_xml_find(msg, MYNA_NS_CARBONS, "sent") ||
        myna_xml_find(msg, MYNA_NS_CARBONS, "received") ||
        (myna_im_hints(msg) & MYNA_HINT_NO_COPY))
        return false;
    return strcmp(type, "chat") == 0 || myna_im_is_conversation(type, msg);
}

#ifdef __cplusplus
}
#endif
#endif
