/* tests/fuzz/fuzz_server.h — the server the stream harnesses (fuzz_c2s.c, fuzz_s2s.c) run
 * against: its config read by config_load from a minimal file, so every limit is the
 * documented default unless the harness says otherwise; the tables main.c makes; a store
 * in a temporary directory with accounts alice and bob on the one host, example.org; no
 * modules, no listeners, no TLS contexts. */
#ifndef MYNA_FUZZ_SERVER_H
#define MYNA_FUZZ_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "server/net/transport.h"

struct server;
struct stream;

/* A transport that counts and drops output. It is encrypted when `encrypted` is set or
 * its stream is secured; STARTTLS succeeds at once (what follows is the decrypted
 * stream) unless `tls_fails`; the peer's certificate names peer.example and
 * conference.peer.example (for s2s). */
struct fuzz_transport {
    struct transport tr;
    struct stream *st;
    size_t written;
    int closed;
    bool encrypted, tls_fails;
};

/* Resets ft and binds its ops; `st` is the stream it will carry. */
void fuzz_transport_init(struct fuzz_transport *ft, struct stream *st);

/* `extra` is appended to the config file (e.g. an s2s section); aborts on any failure. */
struct server *fuzz_server_new(const char *name, const char *extra);
/* What mynad's loop does between reads: deferred frees, due timers, the group commit. */
void fuzz_turn(struct server *srv);
/* Runs the loop until the job pool's work is done and answered (a PLAIN password check
 * takes a few ms on the worker), at most about 2 s: no job may still run when an input's
 * checks are made or the process exits. */
void fuzz_wait_jobs(struct server *srv);

#endif
