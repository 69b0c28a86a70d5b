// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_cpu_copy.c - the CPU copy engine.
 */
#include "knem_cpu_copy.h"

/*
 * Bytes copied between two looks at knem_copy_should_stop(): often enough
 * to keep latency low and rare enough to cost nothing.
 */
#define KNEM_CPU_COPY_BYTES_PER_CHECK (16 * KNEM_PAGE_SIZE)

/*
 * Longest chunk of the one-segment walk, where pages of a huge page are
 * copied as one range: long enough to pay the checks around
 * copy_to_user() once per 64 pages, short enough to look at
 * knem_copy_should_stop() after each.
 */
#define KNEM_CPU_COPY_MAX_RUN_PAGES 64U

/* Chunks of the general walk (one page each) between two looks. */
#define KNEM_CPU_COPY_CHUNKS_PER_CHECK \
	(KNEM_CPU_COPY_BYTES_PER_CHECK / KNEM_PAGE_SIZE)

/*
 * The kernel address of byte @offset of page @page of @side, mapped for one
 * chunk: through the side's contiguous mapping, or the page's own.
 */
static char *knem_side_map(const struct knem_side *side, u32 page, u64 offset)
{
	if (side->mapped)
		return (char *)side->mapped +
		       ((u64)(page - side->mapped_first) << KNEM_PAGE_SHIFT) +
		       offset;
	return (char *)knem_kmap(side->pages[page]) + offset;
}

static void knem_side_unmap(const struct knem_side *side, char *addr)
{
	if (!side->mapped)
		knem_kunmap(addr);
}

/*
 * Executes one chunk.  A chunk stays within a page, or within a run of
 * pages (knem_page_run()) or a contiguous mapping on each pages side.
 * Returns the number of bytes not copied (only user memory can fault;
 * copy_from_user() zeroes what it could not fill).
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
		to = knem_side_map(dst, chunk->dst_page, dst_off);
		left = knem_copy_from_user(to, chunk->src_addr, chunk->len);
		knem_side_unmap(dst, to);
	} else if (dst->kind == KNEM_SIDE_USER) {
		from = knem_side_map(src, chunk->src_page, src_off);
		left = knem_copy_to_user(chunk->dst_addr, from, chunk->len);
		knem_side_unmap(src, from);
	} else {
		/* kmap_local mappings nest: unmap in reverse order */
		from = knem_side_map(src, chunk->src_page, src_off);
		to = knem_side_map(dst, chunk->dst_page, dst_off);
		memcpy(to, from, chunk->len);
		knem_side_unmap(dst, to);
		knem_side_unmap(src, from);
	}
	return left;
}

/* Index in a segment's page array of the page holding byte @pos of @seg. */
static u32 knem_seg_page(const struct knem_seg *seg, u64 pos)
{
	return seg->first_page +
	       (u32)((KNEM_PAGE_OFFSET(seg->addr) + pos) >> KNEM_PAGE_SHIFT);
}

/* knem_run_bytes() past the first page of a run: rare, out of line. */
static noinline u32 knem_long_run_bytes(knem_page_t *const *pages,
					u64 offset, u64 todo)
{
	u64 max_pages = (offset + todo + KNEM_PAGE_SIZE - 1) >> KNEM_PAGE_SHIFT;
	u32 run = knem_page_run(pages, (u32)min_t(u64, max_pages,
						  KNEM_CPU_COPY_MAX_RUN_PAGES));

	return (u32)min_t(u64, todo, ((u64)run << KNEM_PAGE_SHIFT) - offset);
}

/*
 * Bytes that one chunk may take from @side at @addr, in page @page, of the
 * @todo bytes left: at most to the end of the page, or of the run of pages
 * that starts there; user memory and a mapped side are one range.  Small
 * pages, the common case, cost a look at the page's flags.
 */
static inline u32 knem_run_bytes(const struct knem_side *side, u32 page,
				 u64 addr, u64 todo)
{
	u64 offset = KNEM_PAGE_OFFSET(addr);

	if (side->kind == KNEM_SIDE_USER || side->mapped)
		return (u32)min_t(u64, todo, (u64)KNEM_CPU_COPY_MAX_RUN_PAGES
					     << KNEM_PAGE_SHIFT);
	if (offset + todo <= KNEM_PAGE_SIZE)
		return (u32)todo;
	if (!knem_page_may_run(side->pages[page]))
		return (u32)(KNEM_PAGE_SIZE - offset);
	return knem_long_run_bytes(side->pages + page, offset, todo);
}

/*
 * One segment on each side, the common case (a message in one buffer):
 * walked with two addresses and two page indexes instead of the
 * planner's general cursors, which cost about as much per page as the
 * checks around copy_to_user, and in chunks that cover whole runs of
 * pages (transparent huge pages) or mapped pages on both sides.
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
	u64 done = 0, since_check = 0;
	unsigned long left;
	int err = 0;

	/* like the planner, never run past a segment, whatever the caller */
	length = knem_copy_length(src->segs[0].len, src_offset,
				  dst->segs[0].len, dst_offset, length);
	while (done < length) {
		if (since_check >= KNEM_CPU_COPY_BYTES_PER_CHECK) {
			since_check = 0;
			if (knem_copy_should_stop()) {
				err = -EINTR;
				break;
			}
		}

		chunk.len = knem_run_bytes(src, chunk.src_page,
					   chunk.src_addr, length - done);
		chunk.len = knem_run_bytes(dst, chunk.dst_page,
					   chunk.dst_addr, chunk.len);
		left = knem_cpu_copy_chunk(src, dst, &chunk);
		done += chunk.len - left;
		since_check += chunk.len;
		if (left) {
			err = -EFAULT;
			break;
		}
		chunk.src_page += (u32)((KNEM_PAGE_OFFSET(chunk.src_addr) +
					 chunk.len) >> KNEM_PAGE_SHIFT);
		chunk.dst_page += (u32)((KNEM_PAGE_OFFSET(chunk.dst_addr) +
					 chunk.len) >> KNEM_PAGE_SHIFT);
		chunk.src_addr += chunk.len;
		chunk.dst_addr += chunk.len;
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
