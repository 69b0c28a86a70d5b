// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_cookie.c - the cookie table.
 *
 * A hash table of singly linked chains.  Writers (insert, unlink) hold
 * the lock of the chain's bucket and publish with rcu_assign_pointer;
 * readers walk the chains under RCU and take a region reference before
 * leaving the read section.  An unlinked region keeps its hash_next so
 * that a reader standing on it can still walk on; its release() defers
 * the free past a grace period.  The table's reference is always dropped
 * after the lock is released, since release() belongs to the region's
 * creator.
 */
#include "knem_cookie.h"

#define KNEM_COOKIE_INVALID_BIT (1ULL << 63)

/* Locks of a table: enough that two CPUs rarely want the same one. */
#define KNEM_COOKIE_MAX_LOCKS 256U

static struct knem_region __knem_rcu **
knem_cookie_bucket(struct knem_cookie_table *table, knem_cookie_t cookie)
{
	return &table->buckets[cookie & (table->nr_buckets - 1)];
}

static knem_lock_t *knem_cookie_lock(struct knem_cookie_table *table,
				     knem_cookie_t cookie)
{
	return &table->locks[cookie & (table->nr_locks - 1)];
}

static bool knem_cookie_valid(knem_cookie_t cookie)
{
	return cookie && !(cookie & KNEM_COOKIE_INVALID_BIT);
}

int knem_cookie_table_init(struct knem_cookie_table *table,
			   unsigned int order)
{
	/* 2^31 pointers or more cannot be allocated anyway */
	if (order > 30)
		return -ENOMEM;
	u32 i;

	table->nr_buckets = 1U << order;
	table->nr_locks = min_t(u32, table->nr_buckets, KNEM_COOKIE_MAX_LOCKS);
	knem_atomic64_set(&table->nr_regions, 0);
	table->domains_share = NULL;
	/*
	 * Cookies are the PRF of a counter: unguessable without the key,
	 * and a draw costs a hundred instructions instead of a trip
	 * through the CRNG (very long while it is not seeded, in a VM).
	 */
	table->key.key[0] = knem_random_u64();
	table->key.key[1] = knem_random_u64();
	knem_atomic64_set(&table->draws, 0);
	table->buckets = knem_zalloc_array(table->nr_buckets,
					   sizeof(*table->buckets));
	table->locks = knem_zalloc_array(table->nr_locks,
					 sizeof(*table->locks));
	if (!table->buckets || !table->locks) {
		knem_free_array(table->buckets);
		knem_free_array(table->locks);
		return -ENOMEM;
	}
	for (i = 0; i < table->nr_locks; i++)
		knem_lock_init(&table->locks[i]);
	return 0;
}

void knem_cookie_table_destroy(struct knem_cookie_table *table)
{
	u32 i;

	for (i = 0; i < table->nr_locks; i++)
		knem_lock_destroy(&table->locks[i]);
	knem_free_array(table->locks);
	knem_free_array(table->buckets);
	table->locks = NULL;
	table->buckets = NULL;
	table->nr_buckets = 0;
	table->nr_locks = 0;
}

u64 knem_cookie_table_nr_regions(struct knem_cookie_table *table)
{
	return knem_atomic64_read(&table->nr_regions);
}

/*
 * Finds the link that points to the linked region of @cookie (cookies of
 * linked regions are unique); the cookie's lock is held.  Returns NULL
 * when there is none.
 */
static struct knem_region __knem_rcu **
knem_cookie_find_locked(struct knem_cookie_table *table, knem_cookie_t cookie)
{
	struct knem_region __knem_rcu **link;
	struct knem_region *region;

	link = knem_cookie_bucket(table, cookie);
	for (;;) {
		region = knem_rcu_dereference_locked(*link,
						     knem_cookie_lock(table,
								      cookie));
		if (!region)
			return NULL;
		if (region->cookie == cookie)
			return link;
		link = &region->hash_next;
	}
}

/*
 * Finds the link that points to @region if it is still linked; the lock
 * of its cookie is held.
 */
static struct knem_region __knem_rcu **
knem_cookie_find_region_locked(struct knem_cookie_table *table,
			       struct knem_region *region)
{
	struct knem_region __knem_rcu **link;

	if (!region->cookie || knem_region_is_unlinked(region))
		return NULL;
	link = knem_cookie_find_locked(table, region->cookie);
	if (link && knem_rcu_dereference_locked(*link,
						knem_cookie_lock(table,
								 region->cookie))
		    != region)
		link = NULL;
	return link;
}

/*
 * Removes the region of @cookie behind @link from its chain; the
 * cookie's lock is held.
 */
static void knem_cookie_unlink_locked(struct knem_cookie_table *table,
				      knem_cookie_t cookie,
				      struct knem_region __knem_rcu **link)
{
	knem_lock_t *lock = knem_cookie_lock(table, cookie);
	struct knem_region *region, *next;

	region = knem_rcu_dereference_locked(*link, lock);
	next = knem_rcu_dereference_locked(region->hash_next, lock);
	knem_rcu_assign_pointer(*link, next);
	set_bit(KNEM_REGION_UNLINKED, &region->state);
	knem_atomic64_dec(&table->nr_regions);
}

static void knem_cookie_link_locked(struct knem_cookie_table *table,
				    struct knem_region *region,
				    knem_cookie_t cookie)
{
	struct knem_region __knem_rcu **bucket;
	struct knem_region *head;

	region->cookie = cookie;
	knem_region_get(region);	/* the table's reference */
	bucket = knem_cookie_bucket(table, cookie);
	head = knem_rcu_dereference_locked(*bucket,
					   knem_cookie_lock(table, cookie));
	knem_rcu_init_pointer(region->hash_next, head);
	knem_rcu_assign_pointer(*bucket, region);
	knem_atomic64_inc(&table->nr_regions);
}

int knem_cookie_table_insert(struct knem_cookie_table *table,
			     struct knem_region *region)
{
	knem_cookie_t cookie;
	knem_lock_t *lock;

	for (;;) {
		cookie = knem_prf(&table->key,
				  knem_atomic64_fetch_inc(&table->draws)) >> 1;
		if (!cookie)
			continue;
		lock = knem_cookie_lock(table, cookie);
		knem_lock(lock);
		if (!knem_cookie_find_locked(table, cookie))
			break;
		knem_unlock(lock);
	}
	knem_cookie_link_locked(table, region, cookie);
	knem_unlock(lock);
	return 0;
}

int knem_cookie_table_insert_cookie(struct knem_cookie_table *table,
				    struct knem_region *region,
				    knem_cookie_t cookie)
{
	int err = 0;

	if (!knem_cookie_valid(cookie))
		return -EINVAL;
	knem_lock(knem_cookie_lock(table, cookie));
	if (knem_cookie_find_locked(table, cookie))
		err = -EEXIST;
	else
		knem_cookie_link_locked(table, region, cookie);
	knem_unlock(knem_cookie_lock(table, cookie));
	return err;
}

/*
 * Takes a single-use region out of the table for the caller, who inherits
 * the table's reference.  Of concurrent users, only the first finds it
 * still linked.
 */
static int knem_cookie_consume(struct knem_cookie_table *table,
			       struct knem_region *region)
{
	knem_lock_t *lock = knem_cookie_lock(table, region->cookie);
	struct knem_region __knem_rcu **link;
	int err = -EINVAL;

	knem_lock(lock);
	link = knem_cookie_find_region_locked(table, region);
	if (link) {
		knem_cookie_unlink_locked(table, region->cookie, link);
		err = 0;
	}
	knem_unlock(lock);
	return err;
}

/*
 * The owner may always use its region; another user of its domain needs
 * the region's KNEM_FLAG_ANY_USER_ACCESS; another domain needs that flag
 * and the sharing policy's consent.
 */
static bool knem_cookie_access_allowed(const struct knem_cookie_table *table,
				       const struct knem_region *region,
				       const struct knem_access *access)
{
	bool any_user = region->flags & KNEM_FLAG_ANY_USER_ACCESS;

	if (region->owner_domid != access->domid)
		return any_user && table->domains_share &&
		       table->domains_share(region->owner_domid,
					    access->domid);
	return any_user || knem_uid_eq(region->owner_uid, access->uid);
}

int knem_cookie_table_lookup(struct knem_cookie_table *table,
			     knem_cookie_t cookie,
			     const struct knem_access *access,
			     struct knem_region **result)
{
	struct knem_region __knem_rcu **bucket;
	struct knem_region *region;
	int err = -EINVAL;

	if (!knem_cookie_valid(cookie))
		return -EINVAL;

	bucket = knem_cookie_bucket(table, cookie);
	knem_rcu_read_lock();
	region = knem_rcu_dereference(*bucket);
	while (region && (region->cookie != cookie ||
			  knem_region_is_unlinked(region)))
		region = knem_rcu_dereference(region->hash_next);
	if (!region)
		goto out;

	err = -EPERM;
	if (!knem_cookie_access_allowed(table, region, access))
		goto out;
	err = -EACCES;
	if ((region->protection & access->protection) != access->protection)
		goto out;
	err = -EFAULT;
	if (knem_region_is_stale(region))
		goto out;

	if (region->flags & KNEM_FLAG_SINGLEUSE) {
		err = knem_cookie_consume(table, region);
	} else {
		err = -EINVAL;
		if (knem_refcount_inc_not_zero(&region->refs))
			err = 0;
	}
	if (!err)
		*result = region;
out:
	knem_rcu_read_unlock();
	return err;
}

int knem_cookie_table_remove(struct knem_cookie_table *table,
			     knem_cookie_t cookie, const void *owner)
{
	knem_lock_t *lock;
	struct knem_region __knem_rcu **link;
	struct knem_region *region = NULL;

	if (!knem_cookie_valid(cookie))
		return -EINVAL;

	lock = knem_cookie_lock(table, cookie);
	knem_lock(lock);
	link = knem_cookie_find_locked(table, cookie);
	if (link) {
		region = knem_rcu_dereference_locked(*link, lock);
		if (region->owner == owner)
			knem_cookie_unlink_locked(table, cookie, link);
		else
			region = NULL;
	}
	knem_unlock(lock);

	if (!region)
		return -EINVAL;
	knem_region_put_sleepable(region);
	return 0;
}

bool knem_cookie_table_unlink(struct knem_cookie_table *table,
			      struct knem_region *region)
{
	struct knem_region __knem_rcu **link;
	knem_lock_t *lock;

	/* an unlinked region (cookie 0 if it was never linked) stays so */
	lock = knem_cookie_lock(table, region->cookie);
	knem_lock(lock);
	link = knem_cookie_find_region_locked(table, region);
	if (link)
		knem_cookie_unlink_locked(table, region->cookie, link);
	knem_unlock(lock);

	if (!link)
		return false;
	knem_region_put(region);
	return true;
}
KNEM_EXPORT(knem_cookie_table_unlink);
