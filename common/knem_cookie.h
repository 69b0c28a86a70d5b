/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_cookie.h - the cookie table: 64-bit cookies to regions.
 *
 * A cookie is 63 pseudo-random bits (bit 63 clear), never 0 and unique
 * in its table: the keyed hash of a counter, under a secret key drawn
 * when the table is set up, so it cannot be guessed from another one.
 * Lookups run under RCU and take a region reference; insertions,
 * removals and the lookups that consume a single-use region take the
 * lock of the cookie's bucket (one of up to 256), never a lock of the
 * whole table.  One table serves a whole host (the native driver and the
 * Xen backend share it), so cookies mean the same in every domain.
 */
#ifndef KNEM_COOKIE_H
#define KNEM_COOKIE_H

#include "knem_region.h"

/*
 * Whether two domains may reach each other's regions (the dom0 sharing
 * policy).  Called under RCU: must not sleep.
 */
typedef bool (*knem_domains_share_fn)(u32 domid_a, u32 domid_b);

struct knem_cookie_table {
	knem_domains_share_fn domains_share;	/* NULL: no domain shares */
	u32 nr_buckets;		/* a power of two */
	u32 nr_locks;		/* a power of two, at most nr_buckets */
	knem_atomic64_t nr_regions;
	knem_prf_key_t key;	/* the cookie generator's secret */
	knem_atomic64_t draws;	/* cookies drawn so far: the hash's input */
	struct knem_region __knem_rcu **buckets;
	knem_lock_t *locks;	/* bucket b's is locks[b % nr_locks] */
};

/*
 * What a lookup asks for: the caller's uid and domain, and the protection
 * it needs.  Uids mean something only within one domain.
 */
struct knem_access {
	knem_uid_t uid;
	u32 protection;		/* KNEM_PROT_READ or KNEM_PROT_WRITE */
	u32 domid;		/* 0: this kernel's own processes */
};

/* 2^@order buckets.  Returns 0 or -ENOMEM. */
int knem_cookie_table_init(struct knem_cookie_table *table,
			   unsigned int order);
/* The table must be empty. */
void knem_cookie_table_destroy(struct knem_cookie_table *table);

/* Regions in the table now. */
u64 knem_cookie_table_nr_regions(struct knem_cookie_table *table);

/*
 * Gives @region a fresh cookie and publishes it; the table takes its own
 * reference.  Returns 0.
 */
int knem_cookie_table_insert(struct knem_cookie_table *table,
			     struct knem_region *region);

/*
 * Publishes @region under @cookie, a cookie chosen elsewhere (the Xen
 * frontend mirrors the cookies dom0 gives its regions); the table takes
 * its own reference.  -EINVAL for an invalid cookie (0 or bit 63 set),
 * -EEXIST when the cookie is taken.
 */
int knem_cookie_table_insert_cookie(struct knem_cookie_table *table,
				    struct knem_region *region,
				    knem_cookie_t cookie);

/*
 * Finds the region of @cookie for a copy and returns it with a reference
 * that the caller drops with knem_region_put().
 *  -EINVAL  cookie 0, unknown, destroyed or already consumed;
 *  -EPERM   the region belongs to another uid of the caller's domain
 *           and lacks KNEM_FLAG_ANY_USER_ACCESS, or to another domain
 *           and lacks KNEM_FLAG_ANY_USER_ACCESS or the sharing policy
 *           does not let the two domains share;
 *  -EACCES  the region lacks the requested protection;
 *  -EFAULT  the region's memory was unmapped by its owner.
 * A KNEM_FLAG_SINGLEUSE region is unlinked by its first successful
 * lookup; of two concurrent lookups exactly one succeeds.
 */
int knem_cookie_table_lookup(struct knem_cookie_table *table,
			     knem_cookie_t cookie,
			     const struct knem_access *access,
			     struct knem_region **region);

/*
 * Destroys the region of @cookie if @owner created it: unlinks it and
 * drops the table's reference, with knem_region_put_sleepable() (the
 * caller may sleep and holds no lock).  -EINVAL otherwise.
 */
int knem_cookie_table_remove(struct knem_cookie_table *table,
			     knem_cookie_t cookie, const void *owner);

/*
 * Unlinks @region if it is still in the table (its owner is going away)
 * and drops the table's reference.  Returns whether it was linked.
 */
bool knem_cookie_table_unlink(struct knem_cookie_table *table,
			      struct knem_region *region);

#endif /* KNEM_COOKIE_H */
