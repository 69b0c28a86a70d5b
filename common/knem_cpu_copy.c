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
 * Executes one chunk.  A chunk stays within a page, or within a run of
 * pages (knem_page_run()) on each pages side.  Returns the number of
 * bytes not copied (only user memory can fault; copy_from_user() zeroes
 * what it could not fill).
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
 * Bytes that one chunk may take from a side at @addr, of the @todo bytes
 * left: at most to the end of its page @pages[0], or of the run of pages
 * that starts there; user memory (@pages NULL) is one range.  Small
 * pages, the common case, cost a look at the page's flags.
 */
static inline u32 knem_run_bytes(knem_page_t *const *pages, u64 addr,
				 u64 todo)
{
	u64 offset = KNEM_PAGE_OFFSET(addr);

	if (!pages)
		return (u32)min_t(u64, todo, (u64)KNEM_CPU_COPY_MAX_RUN_PAGES
					     << KNEM_PAGE_SHIFT);
	if (offset + todo <= KNEM_PAGE_SIZE)
		return (u32)todo;
	if (!knem_page_may_run(pages[0]))
		return (u32)(KNEM_PAGE_SIZE - offset);
	return knem_long_run_bytes(pages, offset, todo);
}

/*
 * One segment on each side, the common case (a message in one buffer):
 * walked with two addresses and two page indexes instead of the
 * planner's general cursors, which cost about as much per page as the
 * checks around copy_to_user, and in chunks that cover whole runs of
 * pages (transparent huge pages) on both sides.
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
	knem_page_t *const *src_pages =
		src->kind == KNEM_SIDE_PAGES ? src->pages : NULL;
	knem_page_t *const *dst_pages =
		dst->kind == KNEM_SIDE_PAGES ? dst->pages : NULL;
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

		chunk.len = knem_run_bytes(src_pages ? src_pages +
					   chunk.src_page : NULL,
					   chunk.src_addr, length - done);
		chunk.len = knem_run_bytes(dst_pages ? dst_pages +
					   chunk.dst_page : NULL,
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
