/* modules/time.c — Entity Time (XEP-0202): the server's clock as <utc/> (UTC, with
 * milliseconds) and <tzo/> (the host's local offset from UTC, "+hh:mm", XEP-0082).
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "myna/module.h"

#define NS_TIME "urn:xmpp:time"

static void add_text_child(struct myna_xml *parent, const char *name, const char *text)
{
    struct myna_xml *el = myna_xml_add_child(parent, NULL, name);
    myna_xml_add_text(el, text, strlen(text));
}

static int time_answer(struct myna_module *m, struct myna_stanza *st, void *data)
{
    (void)m;
    (void)data;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t now = tv.tv_sec;
    struct tm utc, local;
    gmtime_r(&now, &utc);
    localtime_r(&now, &local);

    char utcbuf[64], tzo[48];
    size_t n = strftime(utcbuf, sizeof(utcbuf), "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(utcbuf + n, sizeof(utcbuf) - n, ".%03dZ", (int)(tv.tv_usec / 1000));
    long off = local.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(tzo, sizeof(tzo), "%c%02ld:%02ld", sign, off / 3600, (off % 3600) / 60);

    struct myna_xml *res = myna_iq_result_new(st);
    struct myna_xml *t = myna_xml_add_child(res, NS_TIME, "time");
    add_text_child(t, "tzo", tzo);
    add_text_child(t, "utc", utcbuf);
    myna_iq_send_result(st, res);
    return 0;
}

static int time_load(struct myna_module *m)
{
    return myna_iq_register(m, MYNA_IQ_GET, NS_TIME, "time", MYNA_IQ_TO_HOST, time_answer,
                            NULL);
}

MYNA_MODULE_DEFINE(.name = "time", .description = "Entity time (XEP-0202)", .load = time_load);
