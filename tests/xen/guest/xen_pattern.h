/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xen_pattern.h - the data patterns of the Xen scenarios' guest programs.
 * One domain fills a buffer, another checks what a copy brought: both
 * sides must compute the same bytes, also across programs (hostile_front
 * checks knem_xcopy's exported region, and reads and writes attach_copy's).
 */
#ifndef XEN_PATTERN_H
#define XEN_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The byte at each position depends on the seed and on the position at
 * several scales (1, 256 and 128 Ki bytes), so that data of the wrong
 * seed, or shifted by any number of bytes or pages, shows.  Inline: the
 * checks call it for every byte of many MiB.
 */
static inline uint8_t pat(unsigned int seed, uint64_t pos)
{
	return (uint8_t)(pos * 131 + seed * 7 + (pos >> 8) + (pos >> 17) + 1);
}

void fill(uint8_t *buf, size_t len, unsigned int seed);

/* -1 if @buf holds pattern @seed, else the first wrong index. */
long mismatch(const uint8_t *buf, size_t len, unsigned int seed);

/*
 * attach_copy's region: ATTACH_LEN bytes of pattern pat_attach(), which
 * hostile_front reads and writes too.
 */
#define ATTACH_LEN (3 * 4096 + 100)	/* several grant segments */

static inline uint8_t pat_attach(unsigned int seed, size_t i)
{
	return (uint8_t)(i * 7 + seed * 31 + 3);
}

/*
 * The most segments one INLINE_COPY takes, scattered over SCATTER_PAGES
 * pages in a mixed order, ATTACH_LEN bytes in all: attach_copy's readv /
 * writev iovecs and hostile_front's inline2048 grant segments.
 */
#define SCATTER_SEGS 2048
#define SCATTER_PAGES 9

/* Segment @k: @len bytes at byte @off of page @page. */
void scatter_seg(unsigned int k, unsigned int *page, unsigned int *off,
		 unsigned int *len);

#endif
