/* server/stream/component.h — external components (XEP-0114): accept connections on a component
 * listener, authenticate them by shared secret, and route stanzas for their domains. */
#ifndef MYNA_COMPONENT_H
#define MYNA_COMPONENT_H

#include <stdbool.h>

struct server;
struct config_listen;
struct stanza_ctx;

void component_accept(struct server *srv, const struct config_listen *l, int fd,
                      const char *peer);
/* Delivers a stanza whose 'to' domain belongs to a connected component; false if none. */
bool component_route(struct server *srv, struct stanza_ctx *st);
/* True if the domain is configured as a component (connected or not). */
bool component_is_domain(struct server *srv, const char *domain);

#endif
