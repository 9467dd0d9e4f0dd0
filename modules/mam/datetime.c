/* modules/mam/datetime.c — XEP-0082 DateTime (CCYY-MM-DDThh:mm:ss[.sss]TZD, TZD = Z or
 * +hh:mm/-hh:mm) to and from milliseconds since the epoch, for the 'start'/'end' query
 * fields (XEP-0313 §4.1.2), <delay/> stamps (XEP-0203) and metadata. Parsing is strict:
 * anything else is a malformed form (bad-request). Fractions beyond milliseconds are
 * truncated, which is the precision archive stamps have.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mam.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int month_days(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

int datetime_parse(const char *s, uint64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0;
    if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        int n = 0;
        for (p++; isdigit((unsigned char)*p); p++, n++)
            if (n < 3)
                frac = frac * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac *= 10;
    }
    long long off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
            om > 59)
            return -1;
        off = (oh * 60LL + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0' || y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    if (sec == 60)
        sec = 59; /* a leap second: the last second of that minute */
    long long t = days_from_civil(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + sec - off;
    /* Before 1970 no message was archived: the start of time will do. */
    *ms = t < 0 ? 0 : (uint64_t)t * 1000 + (uint64_t)frac;
    return 0;
}

void datetime_format(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    /* The moduli only tell the compiler the fields' widths (gmtime keeps them in range). */
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
             (unsigned)(ms % 1000));
}
