/* server/net/resolve.h — finding a remote XMPP server without blocking the event loop
 * (RFC 6120 §3.2, XEP-0368): DNS SRV `_xmpps-server._tcp` (direct TLS) and
 * `_xmpp-server._tcp` (STARTTLS), ordered by priority and weight (RFC 2782), then the
 * targets' A/AAAA records; without SRV records, the domain's own addresses on port 5269.
 * c-ares does the DNS on the loop (its sockets are loop watches, its timeouts a loop
 * timer) and reads /etc/hosts for addresses. One resolver per server. */
#ifndef MYNA_RESOLVE_H
#define MYNA_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct loop;
struct resolver;
struct resolve_req;

/* One address to try, in order. */
struct resolve_target {
    struct sockaddr_storage addr;
    socklen_t len;
    bool direct_tls;  /* from an _xmpps-server record: TLS from the first byte */
};

/* The lookup ended: n targets (0 when the domain has no XMPP service or DNS failed; `err`
 * then says why). The array is valid during the call only. */
typedef void (*resolve_fn)(void *data, const struct resolve_target *t, size_t n,
                           const char *err);

/* `servers`: "ip:port,[ip6]:port,..." to ask instead of /etc/resolv.conf's (NULL: those). */
struct resolver *resolver_new(struct loop *loop, const char *servers, char *err,
                              size_t errlen);
/* Cancels every lookup (their callbacks do not run) and frees the resolver. */
void resolver_free(struct resolver *r);
/* Starts the lookup of `domain`'s s2s service; fn runs later, never from this call. */
struct resolve_req *resolve_s2s(struct resolver *r, const char *domain, resolve_fn fn,
                                void *data);
/* The addresses of `host` on `port` (a configured route: no SRV). */
struct resolve_req *resolve_host(struct resolver *r, const char *host, int port,
                                 bool direct_tls, resolve_fn fn, void *data);
/* fn will not run. */
void resolve_cancel(struct resolve_req *q);

#endif
