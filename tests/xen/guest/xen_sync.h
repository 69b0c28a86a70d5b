/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xen_sync.h - how the guest programs keep step with the dom0 script and
 * with each other: the clock, naps, and files (a cookie handed over, a
 * "go" or "stop" file waited for).
 */
#ifndef XEN_SYNC_H
#define XEN_SYNC_H

#include <stdint.h>

/* CLOCK_MONOTONIC in seconds. */
double now_s(void);

void nap_ms(long ms);

/*
 * Writes @text to @path through a temporary file renamed over it: a
 * reader never sees a partial file.  0, or -1 with errno set.
 */
int write_file(const char *path, const char *text);

/* write_file() of "COOKIE\n". */
int write_cookie(const char *path, uint64_t cookie);

/* Waits up to @secs (< 0: for ever) for @path to exist; 1 once it does. */
int wait_file(const char *path, double secs);

#endif
