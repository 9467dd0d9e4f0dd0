/* tests/fuzz/fuzz_server.h — the server the stream harnesses (fuzz_c2s.c, fuzz_s2s.c) run
 * against: its config read by config_load from a minimal file, so every limit is the
 * documented default unless the harness says otherwise; the tables main.c makes; a store
 * in a temporary directory with accounts alice and bob on the one host, example.org; no
 * modules, no listeners, no TLS contexts. */
#ifndef MYNA_FUZZ_SERVER_H
#define MYNA_FUZZ_SERVER_H

struct server;

/* `extra` is appended to the config file (e.g. an s2s section); aborts on any failure. */
struct server *fuzz_server_new(const char *name, const char *extra);
/* What mynad's loop does between reads: deferred frees, due timers, the group commit. */
void fuzz_turn(struct server *srv);

#endif
