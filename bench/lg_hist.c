/* lg_hist.c: log-linear latency histogram for myna-bench (HDR-histogram style).
 * Values below 128 µs are exact; above, each power of two is split in 64 buckets, so a
 * reported percentile is within ~1.6% of the true sample. Memory is fixed (no samples kept).
 */
#include "config.h"

#include "bench/loadgen.h"

#include <string.h>

static unsigned hist_index(uint64_t v)
{
    if (v < 128)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 7 */
    unsigned m = (unsigned)(v >> (e - 6));           /* 64..127 */
    unsigned idx = 128u + (e - 7u) * 64u + (m - 64u);
    return idx < LG_HIST_BUCKETS ? idx : LG_HIST_BUCKETS - 1;
}

/* Upper edge of a bucket: percentiles never understate latency. */
static uint64_t hist_value(unsigned idx)
{
    if (idx < 128)
        return idx;
    unsigned e = (idx - 128u) / 64u + 7u;
    uint64_t m = (idx - 128u) % 64u + 64u;
    return ((m + 1) << (e - 6)) - 1;
}

void lg_hist_reset(struct lg_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_us = UINT64_MAX;
}

void lg_hist_add(struct lg_hist *h, uint64_t us)
{
    h->b[hist_index(us)]++;
    h->n++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
    if (us < h->min_us)
        h->min_us = us;
}

uint64_t lg_hist_pct(const struct lg_hist *h, double pct)
{
    if (h->n == 0)
        return 0;
    uint64_t want = (uint64_t)((double)h->n * pct / 100.0 + 0.5);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            uint64_t v = hist_value(i);
            return v > h->max_us ? h->max_us : v;
        }
    }
    return h->max_us;
}
