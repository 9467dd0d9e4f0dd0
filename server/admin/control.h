/* server/admin/control.h — the local control socket for mynactl (reload, stats, users,
 * XEP-0227 import and export) and mynad --batch. */
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
/* mynad --batch: serves one control connection on fd (a socket or pipe from mynactl);
 * the loop stops when it ends. */
int control_batch(struct server *srv, int fd);
/* A control connection ended (stops the loop in batch mode). */
void control_conn_ended(struct server *srv);

/* server/admin/control_pie.c: the connection continues as an XEP-0227 import or export
 * (server/admin/ctlproto.h frames); `rest` holds input already read after the command line. */
int control_pie_start(struct server *srv, int fd, const char *cmd, const char *rest,
                      size_t restlen);
void control_pie_close_all(struct server *srv);

#endif
