/* server/control.h — the local control socket for mynactl (reload, stats). */
#ifndef MYNA_CONTROL_H
#define MYNA_CONTROL_H

#include <stddef.h>

struct server;
struct config;

/* The socket's path for a config: DATA_DIR/mynad.sock. */
void control_socket_path(const struct config *cfg, char *buf, size_t len);
int control_open(struct server *srv);
/* Closes the socket and frees retired configs (exit path). */
void control_close(struct server *srv);
/* Re-reads the config file and applies it (SIGHUP and "reload"). 0 or -1. */
int control_reload(struct server *srv);

#endif
