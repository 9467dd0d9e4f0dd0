/* server/admin/ctlproto.h — the framed part of mynad's control protocol, shared by mynad
 * (server/admin/control.c) and mynactl. A command is one text line; after "import [dry-run]" or
 * "export [HOST...]" both sides exchange frames: one type byte, a 32-bit big-endian
 * length, then that many bytes (at most CTL_FRAME_MAX).
 *   mynactl -> mynad (import): DOC name, BYTES..., DOC_END, ... then DONE.
 *   mynad -> mynactl: LINE (a problem, one line of text), BYTES (export output), and
 *   last SUMMARY: "0\n" or "1\n" (ok or failed), then the summary text.
 */
#ifndef MYNA_CTLPROTO_H
#define MYNA_CTLPROTO_H

#include <stddef.h>
#include <stdint.h>

enum ctl_frame {
    CTL_DOC = 'F',
    CTL_BYTES = 'B',
    CTL_DOC_END = 'E',
    CTL_DONE = 'Q',
    CTL_LINE = 'L',
    CTL_SUMMARY = 'S',
};

#define CTL_FRAME_HEAD 5
#define CTL_FRAME_MAX 65536

static inline void ctl_frame_head(unsigned char *h, enum ctl_frame type, size_t len)
{
    h[0] = (unsigned char)type;
    h[1] = (unsigned char)(len >> 24);
    h[2] = (unsigned char)(len >> 16);
    h[3] = (unsigned char)(len >> 8);
    h[4] = (unsigned char)len;
}

static inline size_t ctl_frame_len(const unsigned char *h)
{
    return (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
}

#endif
