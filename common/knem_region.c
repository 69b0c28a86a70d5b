// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_region.c - region reference counting and state.
 */
#include "knem_region.h"

void knem_region_init(struct knem_region *region,
		      const struct knem_region_ops *ops, const void *owner,
		      knem_uid_t owner_uid, u32 flags, u32 protection)
{
	/* the memory description (length, segs, pages) is the caller's */
	knem_rcu_init_pointer(region->hash_next, NULL);
	region->cookie = 0;
	knem_refcount_set(&region->refs, 1);
	region->flags = flags;
	region->protection = protection;
	region->owner_uid = owner_uid;
	region->owner_domid = 0;
	region->owner = owner;
	region->state = 0;
	region->ops = ops;
}

void knem_region_put(struct knem_region *region)
{
	if (knem_refcount_dec_and_test(&region->refs) && region->ops &&
	    region->ops->release)
		region->ops->release(region);
}
KNEM_EXPORT(knem_region_put);

void knem_region_put_sleepable(struct knem_region *region)
{
	if (!knem_refcount_dec_and_test(&region->refs) || !region->ops)
		return;
	if (region->ops->release_sleepable)
		region->ops->release_sleepable(region);
	else if (region->ops->release)
		region->ops->release(region);
}

void knem_region_mark_stale(struct knem_region *region)
{
	set_bit(KNEM_REGION_STALE, &region->state);
}

bool knem_region_is_stale(const struct knem_region *region)
{
	return test_bit(KNEM_REGION_STALE, &region->state);
}
KNEM_EXPORT(knem_region_is_stale);

bool knem_region_is_unlinked(const struct knem_region *region)
{
	return test_bit(KNEM_REGION_UNLINKED, &region->state);
}
KNEM_EXPORT(knem_region_is_unlinked);
