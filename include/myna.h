/* myna.h — everything a Myna module needs: the stanza tree, JIDs, storage, module API. */
#ifndef MYNA_H
#define MYNA_H
#include "myna/xml.h"
#include "myna/jid.h"
#include "myna/store.h"
#include "myna/module.h"
#endif
