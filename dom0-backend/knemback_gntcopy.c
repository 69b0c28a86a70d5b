// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_gntcopy.c - copies with GNTTABOP_copy.
 *
 * The common planner cuts the transfer into chunks that never cross a
 * page on either side; each chunk becomes one struct gnttab_copy, emitted
 * in page order (consecutive ops reuse the same grant in Xen) and issued
 * in batches of KNEMBACK_COPY_BATCH through gnttab_batch_copy().  Every
 * op's status is checked; the copy stops at the first failure and
 * reports the bytes of the ops before it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>

#include <xen/page.h>

#include "knemback.h"
#include "knem_native.h"

/* Fills one end of a grant-copy op; false for a page beyond the side. */
static bool knemback_ptr(const struct knemback_side *side, u32 page,
			 u64 addr, struct gnttab_copy_ptr *ptr, u16 *flags,
			 u16 gref_flag)
{
	if (page >= side->nr_pages)
		return false;
	if (side->grefs) {
		ptr->u.ref = side->grefs[page];
		ptr->domid = side->domid;
		*flags |= gref_flag;
	} else {
		ptr->u.gmfn = xen_page_to_gfn(side->pages[page]);
		ptr->domid = DOMID_SELF;
	}
	ptr->offset = KNEM_PAGE_OFFSET(addr);
	return true;
}

/* Waits for the recheck of a dom0 process's region first: may sleep. */
bool knemback_side_stale(const struct knemback_side *side)
{
	return side->region && knem_region_settle(side->region);
}

/*
 * Issues @n ops; adds the bytes of the successful ones before the first
 * failure to *@copied.  Returns the index of the failing op, or -1.
 */
static int knemback_flush(struct gnttab_copy *ops, u32 n, u64 *copied)
{
	u32 i;

	gnttab_batch_copy(ops, n);
	for (i = 0; i < n; i++) {
		if (ops[i].status != GNTST_okay)
			return i;
		*copied += ops[i].len;
	}
	return -1;
}

/* A guest's ring thread stops on kthread_stop(); a process when killed. */
static bool knemback_must_stop(void)
{
	if (current->flags & PF_KTHREAD)
		return kthread_should_stop();
	return fatal_signal_pending(current);
}

/*
 * Copies @length bytes (bounded by knem_copy_length()) with the
 * KNEMBACK_COPY_BATCH ops of @ops and stores the bytes copied before any
 * failure in *@copied.
 */
enum knemback_copy_result
knemback_gntcopy(struct gnttab_copy *ops, const struct knemback_side *src,
		 u64 src_offset, const struct knemback_side *dst,
		 u64 dst_offset, u64 length, u64 *copied)
{
	struct knem_plan plan;
	struct knem_chunk chunk;
	struct gnttab_copy *op;
	bool have;
	u32 n = 0;

	*copied = 0;
	knem_plan_init(&plan, src->segs, src->nr_segs, src_offset,
		       dst->segs, dst->nr_segs, dst_offset, length);
	for (;;) {
		have = knem_plan_next(&plan, &chunk);
		if (have) {
			op = &ops[n];
			memset(op, 0, sizeof(*op));
			if (!knemback_ptr(src, chunk.src_page, chunk.src_addr,
					  &op->source, &op->flags,
					  GNTCOPY_source_gref) ||
			    !knemback_ptr(dst, chunk.dst_page, chunk.dst_addr,
					  &op->dest, &op->flags,
					  GNTCOPY_dest_gref)) {
				/* cannot happen with well-formed regions */
				pr_warn_ratelimited("a copy chunk beyond its region\n");
				if (n)
					knemback_flush(ops, n, copied);
				return KNEMBACK_COPY_FAILED;
			}
			op->len = chunk.len;
			if (++n < KNEMBACK_COPY_BATCH)
				continue;
		}
		if (n) {
			if (knemback_flush(ops, n, copied) >= 0)
				return KNEMBACK_COPY_FAILED;
			n = 0;
			if (knemback_side_stale(src) ||
			    knemback_side_stale(dst))
				return KNEMBACK_COPY_STALE;
			if (knemback_must_stop())
				return KNEMBACK_COPY_STOPPED;
			cond_resched();
		}
		if (!have)
			return KNEMBACK_COPY_OK;
	}
}
