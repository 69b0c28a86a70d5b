// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_cpu_copy.c - the CPU copy engine.
 */
#include "knem_cpu_copy.h"

/*
 * Chunks between two looks at knem_copy_should_stop(): at most 64 KiB
 * with 4 KiB pages, often enough to keep latency low and rare enough to
 * cost nothing.  A power of two.
 */
#define KNEM_CPU_COPY_CHUNKS_PER_CHECK 16

/*
 * Executes one chunk.  Returns the number of bytes not copied (only user
 * memory can fault; copy_from_user() zeroes what it could not fill).
 */
static unsigned long knem_cpu_copy_chunk(const struct knem_side *src,
					 const struct knem_side *dst,
					 const struct knem_chunk *chunk)
{
	u64 src_off = KNEM_PAGE_OFFSET(chunk->src_addr);
	u64 dst_off = KNEM_PAGE_OFFSET(chunk->dst_addr);
	unsigned long left = 0;
	char *from, *to;

	if (src->kind == KNEM_SIDE_USER) {
		to = knem_kmap(dst->pages[chunk->dst_page]);
		left = knem_copy_from_user(to + dst_off, chunk->src_addr,
					   chunk->len);
		knem_kunmap(to);
	} else if (dst->kind == KNEM_SIDE_USER) {
		from = knem_kmap(src->pages[chunk->src_page]);
		left = knem_copy_to_user(chunk->dst_addr, from + src_off,
					 chunk->len);
		knem_kunmap(from);
	} else {
		/* kmap_local mappings nest: unmap in reverse order */
		from = knem_kmap(src->pages[chunk->src_page]);
		to = knem_kmap(dst->pages[chunk->dst_page]);
		memcpy(to + dst_off, from + src_off, chunk->len);
		knem_kunmap(to);
		knem_kunmap(from);
	}
	return left;
}

/* Index in a segment's page array of the page holding byte @pos of @seg. */
static u32 knem_seg_page(const struct knem_seg *seg, u64 pos)
{
	return seg->first_page +
	       (u32)((KNEM_PAGE_OFFSET(seg->addr) + pos) >> KNEM_PAGE_SHIFT);
}

/*
 * One segment on each side, the common case (a message in one buffer):
 * the chunks are the planner's, but walked with two addresses and two
 * page indexes instead of its general cursors, which cost about as much
 * per page as the checks around copy_to_user.
 */
static int knem_cpu_copy_one_seg(const struct knem_side *src, u64 src_offset,
				 const struct knem_side *dst, u64 dst_offset,
				 u64 length, u64 *copied)
{
	struct knem_chunk chunk = {
		.src_addr = src->segs[0].addr + src_offset,
		.dst_addr = dst->segs[0].addr + dst_offset,
		.src_page = knem_seg_page(&src->segs[0], src_offset),
		.dst_page = knem_seg_page(&dst->segs[0], dst_offset),
	};
	unsigned long nr_chunks = 0, left;
	u64 done = 0;
	int err = 0;

	/* like the planner, never run past a segment, whatever the caller */
	length = knem_copy_length(src->segs[0].len, src_offset,
				  dst->segs[0].len, dst_offset, length);
	while (done < length) {
		if (nr_chunks &&
		    !(nr_chunks & (KNEM_CPU_COPY_CHUNKS_PER_CHECK - 1)) &&
		    knem_copy_should_stop()) {
			err = -EINTR;
			break;
		}
		nr_chunks++;

		chunk.len = (u32)min_t(u64, length - done, KNEM_PAGE_SIZE -
				       KNEM_PAGE_OFFSET(chunk.src_addr));
		chunk.len = min_t(u32, chunk.len, KNEM_PAGE_SIZE -
				  KNEM_PAGE_OFFSET(chunk.dst_addr));
		left = knem_cpu_copy_chunk(src, dst, &chunk);
		done += chunk.len - left;
		if (left) {
			err = -EFAULT;
			break;
		}
		/* a chunk ends at most at a page's end: then the next page */
		chunk.src_addr += chunk.len;
		chunk.dst_addr += chunk.len;
		if (!KNEM_PAGE_OFFSET(chunk.src_addr))
			chunk.src_page++;
		if (!KNEM_PAGE_OFFSET(chunk.dst_addr))
			chunk.dst_page++;
	}

	*copied = done;
	return err;
}

int knem_cpu_copy(const struct knem_side *src, u64 src_offset,
		  const struct knem_side *dst, u64 dst_offset, u64 length,
		  u64 *copied)
{
	struct knem_chunk chunk;
	struct knem_plan plan;
	unsigned long nr_chunks = 0, left;
	u64 done = 0;
	int err = 0;

	*copied = 0;
	if (src->kind == KNEM_SIDE_USER && dst->kind == KNEM_SIDE_USER)
		return -EINVAL;
	if (src->nr_segs == 1 && dst->nr_segs == 1)
		return knem_cpu_copy_one_seg(src, src_offset, dst, dst_offset,
					     length, copied);

	knem_plan_init(&plan, src->segs, src->nr_segs, src_offset,
		       dst->segs, dst->nr_segs, dst_offset, length);
	while (knem_plan_next(&plan, &chunk)) {
		if (nr_chunks &&
		    !(nr_chunks & (KNEM_CPU_COPY_CHUNKS_PER_CHECK - 1)) &&
		    knem_copy_should_stop()) {
			err = -EINTR;
			break;
		}
		nr_chunks++;

		left = knem_cpu_copy_chunk(src, dst, &chunk);
		done += chunk.len - left;
		if (left) {
			err = -EFAULT;
			break;
		}
	}

	*copied = done;
	return err;
}
