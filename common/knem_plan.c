// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_plan.c - cutting a transfer into page-bounded chunks.
 */
#include "knem_plan.h"

u64 knem_segs_total(const struct knem_seg *segs, u32 nr_segs)
{
	u64 total = 0;
	u32 i;

	for (i = 0; i < nr_segs; i++)
		total += segs[i].len;
	return total;
}

u64 knem_copy_length(u64 src_total, u64 src_offset, u64 dst_total,
		     u64 dst_offset, u64 bound)
{
	u64 len;

	if (src_offset >= src_total || dst_offset >= dst_total)
		return 0;
	len = min_t(u64, src_total - src_offset, dst_total - dst_offset);
	return min_t(u64, len, bound);
}

/*
 * Moves the cursor forward over the segments that end at or before its
 * position (zero-length ones included), so that it either points inside
 * a segment or past the last one.
 */
static void knem_cursor_settle(struct knem_cursor *cur)
{
	while (cur->index < cur->nr_segs &&
	       cur->pos >= cur->segs[cur->index].len) {
		cur->pos -= cur->segs[cur->index].len;
		cur->index++;
	}
}

static void knem_cursor_init(struct knem_cursor *cur,
			     const struct knem_seg *segs, u32 nr_segs,
			     u64 offset)
{
	cur->segs = segs;
	cur->nr_segs = nr_segs;
	cur->index = 0;
	cur->pos = offset;
	knem_cursor_settle(cur);
}

void knem_plan_init(struct knem_plan *plan,
		    const struct knem_seg *src, u32 src_nr, u64 src_offset,
		    const struct knem_seg *dst, u32 dst_nr, u64 dst_offset,
		    u64 length)
{
	knem_cursor_init(&plan->src, src, src_nr, src_offset);
	knem_cursor_init(&plan->dst, dst, dst_nr, dst_offset);
	plan->remaining = length;
}

/* Bytes from the cursor to the end of its page and of its segment. */
static u64 knem_cursor_room(const struct knem_cursor *cur)
{
	const struct knem_seg *seg = &cur->segs[cur->index];
	u64 in_page = KNEM_PAGE_SIZE - KNEM_PAGE_OFFSET(seg->addr + cur->pos);

	return min_t(u64, in_page, seg->len - cur->pos);
}

/* Index in the page array of the page that holds the cursor's byte. */
static u32 knem_cursor_page(const struct knem_cursor *cur)
{
	const struct knem_seg *seg = &cur->segs[cur->index];

	return seg->first_page +
	       (u32)((KNEM_PAGE_OFFSET(seg->addr) + cur->pos) >>
		     KNEM_PAGE_SHIFT);
}

bool knem_plan_next(struct knem_plan *plan, struct knem_chunk *chunk)
{
	struct knem_cursor *src = &plan->src;
	struct knem_cursor *dst = &plan->dst;
	u64 len;

	/* running out of segments early means a bad length: just stop */
	if (!plan->remaining || src->index >= src->nr_segs ||
	    dst->index >= dst->nr_segs)
		return false;

	len = min_t(u64, plan->remaining, knem_cursor_room(src));
	len = min_t(u64, len, knem_cursor_room(dst));

	chunk->src_seg = src->index;
	chunk->dst_seg = dst->index;
	chunk->src_pos = src->pos;
	chunk->dst_pos = dst->pos;
	chunk->src_addr = src->segs[src->index].addr + src->pos;
	chunk->dst_addr = dst->segs[dst->index].addr + dst->pos;
	chunk->src_page = knem_cursor_page(src);
	chunk->dst_page = knem_cursor_page(dst);
	chunk->len = (u32)len;

	src->pos += len;
	dst->pos += len;
	knem_cursor_settle(src);
	knem_cursor_settle(dst);
	plan->remaining -= len;
	return true;
}
