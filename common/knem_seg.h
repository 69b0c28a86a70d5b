/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_seg.h - a region's memory as a list of segments over a page array.
 *
 * A segment is a run of bytes that starts at a (user or guest) address
 * and continues through consecutive entries of its region's page array:
 * byte @pos of segment @s lives in page
 *   pages[s->first_page + (KNEM_PAGE_OFFSET(s->addr) + pos) / PAGE_SIZE]
 * at offset KNEM_PAGE_OFFSET(s->addr + pos).  The address keeps the page
 * offsets right; the page array may hold pinned user pages, mapped grants
 * or grant references.  For the caller's own iovecs (copied through
 * copy_to_user) first_page is unused.
 */
#ifndef KNEM_SEG_H
#define KNEM_SEG_H

#include "knem_platform.h"
#include "knem_io.h"

struct knem_seg {
	u64 addr;
	u64 len;
	u32 first_page;
};

/* Number of pages that the byte range [addr, addr + len) touches. */
static inline u64 knem_range_nr_pages(u64 addr, u64 len)
{
	if (!len)
		return 0;
	/* no "+ PAGE_SIZE - 1": it would wrap for a range ending near 2^64 */
	return ((KNEM_PAGE_OFFSET(addr) + len - 1) >> KNEM_PAGE_SHIFT) + 1;
}

/*
 * Checks a user iovec array and sizes the segment list built from it.
 * Zero-length iovecs are dropped.  Returns 0 and fills @total (bytes),
 * @nr_segs and @nr_pages; -EFAULT when an iovec's end wraps the address
 * space; -EINVAL when the total wraps or exceeds @max_total, or when the
 * pages do not fit in 32 bits.
 */
int knem_iovecs_measure(const struct knem_cmd_param_iovec *iov, u32 nr_iov,
			u64 max_total, u64 *total, u32 *nr_segs,
			u32 *nr_pages);

/*
 * Fills @segs (sized by knem_iovecs_measure()) from the iovecs, dropping
 * the zero-length ones and numbering the pages of each segment after
 * those of the previous one.
 */
void knem_segs_from_iovecs(const struct knem_cmd_param_iovec *iov,
			   u32 nr_iov, struct knem_seg *segs);

#endif /* KNEM_SEG_H */
