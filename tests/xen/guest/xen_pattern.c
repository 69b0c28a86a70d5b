/* SPDX-License-Identifier: BSD-3-Clause */
/* xen_pattern.c - the data patterns (xen_pattern.h). */
#include "xen_pattern.h"

void fill(uint8_t *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat(seed, i);
}

long mismatch(const uint8_t *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != pat(seed, i))
			return (long)i;
	return -1;
}

/*
 * Segment 0: the first bytes of page 0; segment k > 0: 6 bytes of page
 * 1 + k % 8 at (k / 8) * 16 + k % 3, so that consecutive segments hop
 * between pages and offsets.
 */
void scatter_seg(unsigned int k, unsigned int *page, unsigned int *off,
		 unsigned int *len)
{
	if (!k) {
		*page = 0;
		*off = 0;
		*len = ATTACH_LEN - (SCATTER_SEGS - 1) * 6;
		return;
	}
	*page = 1 + k % 8;
	*off = (k / 8) * 16 + k % 3;
	*len = 6;
}
