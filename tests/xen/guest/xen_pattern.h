/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xen_pattern.h - the data pattern of the Xen scenarios' guest programs.
 * One domain fills a buffer, another checks what a copy brought: both
 * sides must compute the same bytes, also across programs (hostile_front
 * checks knem_xcopy's exported region).  The byte at each position
 * depends on the seed and on the position at several scales (1, 256 and
 * 128 Ki bytes), so that data of the wrong seed, or shifted by any number
 * of bytes or pages, shows.
 * Included once, by the program's only source file.
 */
#ifndef XEN_PATTERN_H
#define XEN_PATTERN_H

#include <stddef.h>
#include <stdint.h>

static inline uint8_t pat(unsigned int seed, uint64_t pos)
{
	return (uint8_t)(pos * 131 + seed * 7 + (pos >> 8) + (pos >> 17) + 1);
}

static inline void fill(uint8_t *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat(seed, i);
}

/* -1 if @buf holds pattern @seed, else the first wrong index. */
static inline long mismatch(const uint8_t *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != pat(seed, i))
			return (long)i;
	return -1;
}

#endif
