/* tests/e2e/e2e_purple.h — libpurple (Pidgin's engine) set up for the end-to-end tests: a
 * GLib main loop, a throwaway user dir, the test CA in purple's x509 CA pool so the server
 * certificate verifies without a prompt (any prompt fails the test), and an XMPP account
 * that requires TLS and connects to the test server's IP and STARTTLS port. */
#ifndef MYNA_E2E_PURPLE_H
#define MYNA_E2E_PURPLE_H

#include <glib.h>
#include <purple.h>
#include <stdbool.h>

extern GMainLoop *e2e_purple_loop;
extern bool e2e_purple_failed;

/* Prints FAIL: ..., marks the test failed and stops the loop. */
void e2e_purple_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Initializes libpurple for UI `ui_id` (call after e2e_init()). */
void e2e_purple_init(const char *ui_id);
/* A new enabled-later XMPP account for user index u (0..2) with `resource`. */
PurpleAccount *e2e_purple_account(int u, const char *resource);
/* Polls the libstrophe context from the GLib loop every few milliseconds. */
void e2e_purple_poll_strophe(void);
/* Connects `cb` to libpurple's `signal` of `instance` (e.g. purple_conversations_get_handle()). */
void e2e_purple_on(void *instance, const char *signal, GCallback cb);
/* Signs account `a` in for UI `ui_id` with the available status: `signed_on` runs when it
 * is connected; a connection error fails the test. */
void e2e_purple_sign_on(PurpleAccount *a, const char *ui_id, GCallback signed_on);
/* Joins MUC room `room_jid` (room@service) as `nick`, as Pidgin's "Join a Chat" does. */
void e2e_purple_join(PurpleAccount *a, const char *room_jid, const char *nick);

#endif
