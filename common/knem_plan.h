/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_plan.h - the chunk planner.
 *
 * Walks a source and a destination segment list from given offsets for a
 * given number of bytes and cuts the transfer into chunks that never cross
 * a page boundary on either side, so that every engine (CPU, DMA, grant
 * copy) can execute a chunk with one page on each side.  Pure logic.
 */
#ifndef KNEM_PLAN_H
#define KNEM_PLAN_H

#include "knem_seg.h"

struct knem_cursor {
	const struct knem_seg *segs;
	u32 nr_segs;
	u32 index;	/* current segment */
	u64 pos;	/* byte position inside it */
};

struct knem_chunk {
	u32 src_seg;
	u32 dst_seg;
	u64 src_pos;	/* byte position in src_seg */
	u64 dst_pos;
	u64 src_addr;	/* segs[src_seg].addr + src_pos */
	u64 dst_addr;
	u32 src_page;	/* index in the source page array */
	u32 dst_page;
	u32 len;	/* planner: 1 .. KNEM_PAGE_SIZE */
};

struct knem_plan {
	struct knem_cursor src;
	struct knem_cursor dst;
	u64 remaining;
};

/* Total byte length of a segment list. */
u64 knem_segs_total(const struct knem_seg *segs, u32 nr_segs);

/*
 * Bytes a copy moves: the smallest of what remains of the source after
 * @src_offset, of the destination after @dst_offset, and @bound.  An
 * offset at or past the end gives 0.
 */
u64 knem_copy_length(u64 src_total, u64 src_offset, u64 dst_total,
		     u64 dst_offset, u64 bound);

/*
 * Prepares a plan of @length bytes.  The caller has bounded @length with
 * knem_copy_length(), so both lists hold at least @offset + @length bytes.
 */
void knem_plan_init(struct knem_plan *plan,
		    const struct knem_seg *src, u32 src_nr, u64 src_offset,
		    const struct knem_seg *dst, u32 dst_nr, u64 dst_offset,
		    u64 length);

/* Next chunk; false when the plan is done. */
bool knem_plan_next(struct knem_plan *plan, struct knem_chunk *chunk);

#endif /* KNEM_PLAN_H */
