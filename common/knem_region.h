/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_region.h - a declared memory region, as the core sees it.
 *
 * The driver that creates a region (native pinned user pages, a guest's
 * granted pages in dom0, ...) embeds struct knem_region in its own
 * structure and supplies a release operation.  A region is reference
 * counted: its creator holds one reference until it publishes the region,
 * the cookie table holds one while the cookie is valid, and every copy in
 * flight holds one.  Readers may still see the region in a cookie-table
 * chain for an RCU grace period after it is unlinked, so release() must
 * defer freeing past one (call_rcu, queue_rcu_work).
 */
#ifndef KNEM_REGION_H
#define KNEM_REGION_H

#include "knem_seg.h"

struct knem_region;

struct knem_region_ops {
	/* the last reference is gone; may be called in atomic context */
	void (*release)(struct knem_region *region);
	/*
	 * Optional: the same from a caller that may sleep (process context,
	 * no lock held), which can then release at once what release()
	 * would hand to a worker.
	 */
	void (*release_sleepable)(struct knem_region *region);
};

/* Bits of knem_region.state */
#define KNEM_REGION_STALE 0	/* its owner unmapped the memory */
#define KNEM_REGION_UNLINKED 1	/* its cookie no longer finds it */
#define KNEM_REGION_RECHECK 2	/* its owner's page tables changed over it */

struct knem_region {
	struct knem_region __knem_rcu *hash_next;
	knem_cookie_t cookie;		/* 0 until inserted in a table */
	knem_refcount_t refs;
	u32 flags;			/* KNEM_FLAG_ANY_CREATE_MASK bits */
	u32 protection;			/* KNEM_PROT_* */
	knem_uid_t owner_uid;
	u32 owner_domid;		/* 0: this kernel's own processes */
	const void *owner;		/* the creating context, opaque */
	u64 length;
	u32 nr_segs;
	u32 nr_pages;
	struct knem_seg *segs;
	knem_page_t **pages;
	unsigned long state;
	const struct knem_region_ops *ops;
};

/* Sets up a region with one reference, held by the caller. */
void knem_region_init(struct knem_region *region,
		      const struct knem_region_ops *ops, const void *owner,
		      knem_uid_t owner_uid, u32 flags, u32 protection);

static inline void knem_region_get(struct knem_region *region)
{
	knem_refcount_inc(&region->refs);
}

void knem_region_put(struct knem_region *region);

/*
 * The same, from a caller that may sleep and holds no lock: the copy
 * that consumed a single-use region, DESTROY_REGION.  The region's
 * pages are then released before the call returns, not by a worker
 * later, which keeps that cost with the message that caused it and
 * bounds the memory pinned by a stream of single-use regions.
 */
void knem_region_put_sleepable(struct knem_region *region);

/* Marks the region's memory as gone: later lookups fail with EFAULT. */
void knem_region_mark_stale(struct knem_region *region);
bool knem_region_is_stale(const struct knem_region *region);
bool knem_region_is_unlinked(const struct knem_region *region);

#endif /* KNEM_REGION_H */
