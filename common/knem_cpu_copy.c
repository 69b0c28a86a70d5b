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
