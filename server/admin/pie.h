/* server/admin/pie.h — XEP-0227 (Portable Import/Export Format) in mynad: the exporter and the
 * streaming importer behind `mynactl export` and `mynactl import`. The core reads and
 * writes hosts and accounts; every other element belongs to the module that registered it
 * (myna_migration_register). Both run on the event loop in slices, driven by a control
 * connection (server/admin/control.c), in the running server or in batch mode (mynad --batch,
 * the same code with no listeners). Implemented in server/admin/pie_export.c and
 * server/admin/pie_import.c.
 */
#ifndef MYNA_PIE_H
#define MYNA_PIE_H

#include <stdbool.h>
#include <stddef.h>

#include "myna/xml.h"
#include "xml/reader.h"

#define PIE_NS "urn:xmpp:pie:0"
/* The namespace of XEP-0227 before version 1.0, still written by older ejabberds. */
#define PIE_NS_OLD "http://www.xmpp.org/extensions/xep-0227.html#ns"
#define PIE_NS_SCRAM "urn:xmpp:pie:0#scram"
#define PIE_NS_XINCLUDE "http://www.w3.org/2001/XInclude"

struct server;

/* ---- export ---- */

/* Where the document goes. Returns 0, or negative to stop the export. */
typedef int (*pie_sink_fn)(void *ud, const char *data, size_t len);

struct pie_export;

/* hosts: NULL-terminated domains to export, NULL for every host. */
struct pie_export *pie_export_new(struct server *srv, char **hosts, pie_sink_fn sink, void *ud);
/* Writes the next piece (the head, one user, one host's own data, the tail). Returns 1
 * while more remains, 0 when the document is complete, negative on failure. */
int pie_export_step(struct pie_export *x);
/* One line: what was exported, or why it failed. */
void pie_export_summary(const struct pie_export *x, struct myna_buf *out);
void pie_export_free(struct pie_export *x);

/* ---- import ---- */

/* A problem worth a line of its own (the summary has the counts). */
typedef void (*pie_report_fn)(void *ud, const char *line);

struct pie_import;

/* dry_run: everything is read, checked and written into a savepoint that is then
 * discarded (server/store/store_tools.h), so the store is left as it was. */
struct pie_import *pie_import_new(struct server *srv, bool dry_run, pie_report_fn report,
                                  void *ud);
/* A new document begins (one file); `name` is used in messages. */
void pie_import_begin(struct pie_import *im, const char *name);
/* More bytes of the document. XML_READ_PAUSED: the slice's time is up, call
 * pie_import_resume() on a later loop turn before feeding more. XML_READ_ERROR: the
 * document is refused (the import stops; what earlier slices committed stays). */
enum xml_read_status pie_import_feed(struct pie_import *im, const char *data, size_t len);
enum xml_read_status pie_import_resume(struct pie_import *im);
/* The document's bytes ended. */
enum xml_read_status pie_import_end(struct pie_import *im);
/* Appends the summary; returns true if no document was refused. */
bool pie_import_summary(const struct pie_import *im, struct myna_buf *out);
void pie_import_free(struct pie_import *im);

#endif
