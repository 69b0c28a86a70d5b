// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_map.c - a bounded cache of persistent mappings of guest
 * regions in dom0 (feature-persistent-map, doc/xen-protocol.md).
 *
 * Grant copy is a hypercall per batch in which Xen maps and unmaps both
 * frames of every op.  A region that is copied again and again is
 * cheaper mapped once into dom0 (gnttab_map_refs() on pages from
 * gnttab_alloc_pages()) and then copied by the common CPU engine, or by
 * a DMA-engine channel which needs struct pages to map anyway.
 *
 * Policy, per region: the owner's frontend consented, the region is not
 * single-use, and grant copies through it have already moved as many
 * bytes as it holds (mapping costs about one grant copy of every page,
 * doc/design-xen.md); then the whole region is mapped.  The cache holds
 * at most `mapcachepages` pages over all guests and evicts the least
 * recently used mapping that no copy is using.  A region that does not
 * fit, or whose grants fail to map, is grant-copied.
 *
 * Lifetime: a copy holds a reference on the region and counts itself in
 * map->users, under the region's map_lock, which also sees whether the
 * region is stale: a stale region gets no new user and is never mapped
 * again.  Whoever unmaps waits for the users to be gone first.  The
 * region's release (its last reference) takes the mapping off and unmaps
 * it from a worker *before* it completes REGION_DESTROY, reports the
 * region released or lets a disconnect end; REGION_MARK_STALE takes it
 * off (or waits for the evictor that has it) and unmaps it before it
 * answers: the guest ends its grants only once dom0 no longer maps them.
 * The evictor marks a mapping `evicting` and leaves it on its region
 * until it is unmapped, so nobody can miss it.
 *
 * Locks: knemback_maps.lock, then a region's map_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>

#include <xen/grant_table.h>
#include <xen/page.h>

#include "knemback.h"

bool knemback_param_persistent = true;
module_param_named(persistentmap, knemback_param_persistent, bool, 0444);
MODULE_PARM_DESC(persistentmap,
		 "Offer guests to keep their reused regions mapped in dom0 (default 1)");

static unsigned int knemback_param_map_pages = 65536;
module_param_named(mapcachepages, knemback_param_map_pages, uint, 0644);
MODULE_PARM_DESC(mapcachepages,
		 "Most guest pages mapped at once, over all guests (default 65536: 256 MiB)");

#define KNEMBACK_NO_HANDLE ((grant_handle_t)~0U)

struct knemback_map {
	struct list_head lru;		/* in knemback_maps.lru */
	struct knemback_region *region;
	u32 nr_pages;
	u32 users;			/* copies; under region->map_lock */
	bool evicting;			/* the evictor unmaps it; no new user */
	bool readonly;
	struct page **pages;
	grant_handle_t *handles;
};

static struct {
	spinlock_t lock;		/* protects lru and reserved */
	struct list_head lru;		/* least recently used first */
	u32 reserved;			/* pages mapped or being mapped */
	atomic_t regions;
	atomic64_t made;
	atomic64_t evicted;
	atomic64_t refused;		/* grants that did not map */
	atomic64_t map_ns;		/* time spent mapping ... */
	atomic64_t map_pages;		/* ... these pages */
} knemback_maps = {
	.lock = __SPIN_LOCK_UNLOCKED(knemback_maps.lock),
	.lru = LIST_HEAD_INIT(knemback_maps.lru),
};

static unsigned long knemback_page_vaddr(struct page *page)
{
	return (unsigned long)pfn_to_kaddr(page_to_pfn(page));
}

/* Unmaps the pages of @map that are mapped; false if Xen refused. */
static bool knemback_map_unmap(struct knemback_map *map)
{
	struct gnttab_unmap_grant_ref *ops;
	struct page **batch;
	struct gntab_unmap_queue_data data;
	bool ok = true;
	u32 k = 0, n;

	ops = kmalloc_array(KNEMBACK_MAP_BATCH, sizeof(*ops),
			    GFP_KERNEL | __GFP_NOFAIL);
	batch = kmalloc_array(KNEMBACK_MAP_BATCH, sizeof(*batch),
			      GFP_KERNEL | __GFP_NOFAIL);
	while (k < map->nr_pages) {
		for (n = 0; n < KNEMBACK_MAP_BATCH && k < map->nr_pages; k++) {
			if (map->handles[k] == KNEMBACK_NO_HANDLE)
				continue;
			gnttab_set_unmap_op(&ops[n],
					    knemback_page_vaddr(map->pages[k]),
					    GNTMAP_host_map, map->handles[k]);
			batch[n++] = map->pages[k];
			map->handles[k] = KNEMBACK_NO_HANDLE;
		}
		if (!n)
			break;
		data.unmap_ops = ops;
		data.kunmap_ops = NULL;
		data.pages = batch;
		data.count = n;
		if (gnttab_unmap_refs_sync(&data))
			ok = false;
		atomic_sub(n, &knemback_totals.mapped_pages);
	}
	kfree(batch);
	kfree(ops);
	return ok;
}

/* Maps every page of @map's region; false if a grant did not map. */
static bool knemback_map_grants(struct knemback_map *map)
{
	const struct knemback_region *r = map->region;
	struct gnttab_map_grant_ref *ops;
	u32 flags = GNTMAP_host_map;
	bool ok = true;
	u32 k, i, n;

	if (map->readonly)
		flags |= GNTMAP_readonly;
	ops = kmalloc_array(KNEMBACK_MAP_BATCH, sizeof(*ops), GFP_KERNEL);
	if (!ops)
		return false;
	for (k = 0; k < map->nr_pages && ok; k += n) {
		n = min_t(u32, map->nr_pages - k, KNEMBACK_MAP_BATCH);
		for (i = 0; i < n; i++) {
			gnttab_set_map_op(&ops[i],
					  knemback_page_vaddr(map->pages[k + i]),
					  flags, r->grefs[k + i], r->ifc->domid);
			ops[i].status = GNTST_general_error;
		}
		if (gnttab_map_refs(ops, NULL, &map->pages[k], n))
			ok = false;
		for (i = 0; i < n; i++) {
			if (ops[i].status != GNTST_okay) {
				ok = false;
				continue;
			}
			map->handles[k + i] = ops[i].handle;
			atomic_inc(&knemback_totals.mapped_pages);
		}
	}
	kfree(ops);
	return ok;
}

static void knemback_map_free(struct knemback_map *map)
{
	kvfree(map->handles);
	kvfree(map->pages);
	kfree(map);
}

static void knemback_map_unreserve(u32 nr_pages)
{
	spin_lock_irq(&knemback_maps.lock);
	knemback_maps.reserved -= nr_pages;
	spin_unlock_irq(&knemback_maps.lock);
}

/* Unmaps and frees @map's pages and gives back its room in the cache. */
static void knemback_map_unmap_pages(struct knemback_map *map)
{
	if (knemback_map_unmap(map)) {
		gnttab_free_pages(map->nr_pages, map->pages);
	} else {
		/* Xen still maps some: those dom0 pages must never be reused */
		pr_err("domain %u: grants of a region did not unmap; %u dom0 pages leaked\n",
		       map->region->ifc->domid, map->nr_pages);
	}
	knemback_map_unreserve(map->nr_pages);
}

static void knemback_map_undo(struct knemback_map *map)
{
	knemback_map_unmap_pages(map);
	knemback_map_free(map);
}

/* The same for a mapping that served copies and that nothing reaches. */
static void knemback_map_destroy(struct knemback_map *map)
{
	atomic_dec(&knemback_maps.regions);
	knemback_map_undo(map);
}

/*
 * The least recently used mapping that no copy uses, taken off its
 * region, with a reference on that region.  Regions whose last reference
 * is gone are skipped: their release drops their mapping.
 */
static struct knemback_map *knemback_map_victim_locked(void)
{
	struct knemback_map *map;
	struct knemback_region *r;

	list_for_each_entry(map, &knemback_maps.lru, lru) {
		r = map->region;
		spin_lock(&r->map_lock);
		if (r->map == map && !map->users && !map->evicting &&
		    !knem_region_is_stale(&r->core) &&
		    knem_refcount_inc_not_zero(&r->core.refs)) {
			/* stays on r until unmapped: MARK_STALE waits for it */
			map->evicting = true;
			r->grant_copied = 0;
			spin_unlock(&r->map_lock);
			list_del_init(&map->lru);
			return map;
		}
		spin_unlock(&r->map_lock);
	}
	return NULL;
}

/* Reserves room for @nr_pages, evicting what it must; false: no room. */
static bool knemback_map_reserve(u32 nr_pages)
{
	struct knemback_map *victim;
	struct knemback_region *r;

	for (;;) {
		spin_lock_irq(&knemback_maps.lock);
		if (knemback_maps.reserved + nr_pages <=
		    READ_ONCE(knemback_param_map_pages)) {
			knemback_maps.reserved += nr_pages;
			spin_unlock_irq(&knemback_maps.lock);
			return true;
		}
		victim = knemback_map_victim_locked();
		spin_unlock_irq(&knemback_maps.lock);
		if (!victim)
			return false;
		r = victim->region;
		atomic_dec(&knemback_maps.regions);
		knemback_map_unmap_pages(victim);
		/* unmapped: off its region, then freed */
		spin_lock_irq(&r->map_lock);
		r->map = NULL;
		wake_up_var(&r->map);
		spin_unlock_irq(&r->map_lock);
		knemback_map_free(victim);
		atomic64_inc(&knemback_maps.evicted);
		knem_region_put(&r->core);
	}
}

bool knemback_map_possible(const struct knemback_region *r)
{
	return r->ifc->persistent && !r->unshared && !r->map_refused &&
	       !(r->core.flags & KNEM_FLAG_SINGLEUSE) && r->core.nr_pages &&
	       r->core.nr_pages <= READ_ONCE(knemback_param_map_pages) / 2;
}

/* Counts a copy of @length bytes; true once @r has earned a mapping. */
static bool knemback_map_wanted_locked(struct knemback_region *r, u64 length)
{
	if (!knemback_map_possible(r) || knem_region_is_stale(&r->core) ||
	    knem_region_is_unlinked(&r->core))
		return false;
	if (r->grant_copied >= r->core.length)
		return true;
	r->grant_copied += length;
	return false;
}

static struct knemback_map *knemback_map_create(struct knemback_region *r)
{
	struct knemback_map *map;
	u32 nr = r->core.nr_pages, k;
	ktime_t start;

	if (!knemback_map_reserve(nr))
		return NULL;
	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		goto fail;
	INIT_LIST_HEAD(&map->lru);
	map->region = r;
	map->nr_pages = nr;
	map->readonly = !(r->core.protection & KNEM_PROT_WRITE);
	map->pages = kvcalloc(nr, sizeof(*map->pages), GFP_KERNEL);
	map->handles = kvmalloc_array(nr, sizeof(*map->handles), GFP_KERNEL);
	if (!map->pages || !map->handles)
		goto fail_free;
	for (k = 0; k < nr; k++)
		map->handles[k] = KNEMBACK_NO_HANDLE;
	if (gnttab_alloc_pages(nr, map->pages))
		goto fail_free;

	start = ktime_get();
	if (!knemback_map_grants(map)) {
		/* a grant the guest revoked or never gave: grant copy says so */
		atomic64_inc(&knemback_maps.refused);
		spin_lock_irq(&r->map_lock);
		r->map_refused = true;
		spin_unlock_irq(&r->map_lock);
		knemback_map_undo(map);
		return NULL;
	}
	atomic64_add(ktime_to_ns(ktime_sub(ktime_get(), start)),
		     &knemback_maps.map_ns);
	atomic64_add(nr, &knemback_maps.map_pages);
	atomic64_inc(&knemback_maps.made);
	atomic_inc(&knemback_maps.regions);
	return map;

fail_free:
	knemback_map_free(map);
fail:
	knemback_map_unreserve(nr);
	return NULL;
}

static void knemback_map_touch(struct knemback_map *map)
{
	spin_lock_irq(&knemback_maps.lock);
	if (!list_empty(&map->lru))
		list_move_tail(&map->lru, &knemback_maps.lru);
	spin_unlock_irq(&knemback_maps.lock);
}

struct knemback_map *knemback_map_get(struct knemback_region *r, u64 length)
{
	struct knemback_map *map, *other;
	bool wanted = false, stale, keep = true;

	spin_lock_irq(&r->map_lock);
	map = r->map;
	if (map && (map->evicting || knem_region_is_stale(&r->core)))
		map = NULL;	/* being unmapped: grant copy meanwhile */
	else if (map)
		map->users++;
	else
		wanted = knemback_map_wanted_locked(r, length);
	spin_unlock_irq(&r->map_lock);
	if (map) {
		knemback_map_touch(map);
		return map;
	}
	if (!wanted)
		return NULL;

	map = knemback_map_create(r);
	if (!map)
		return NULL;
	spin_lock_irq(&knemback_maps.lock);
	spin_lock(&r->map_lock);
	other = r->map;
	stale = knem_region_is_stale(&r->core);
	if (other && !other->evicting && !stale) {
		other->users++;
	} else if (!other && !stale) {
		map->users = 1;
		r->map = map;
		list_add_tail(&map->lru, &knemback_maps.lru);
	} else {
		/* turned stale, or evicted, while we mapped: grant copy */
		other = NULL;
		keep = false;
	}
	spin_unlock(&r->map_lock);
	spin_unlock_irq(&knemback_maps.lock);
	if (other || !keep) {
		/* a copy from another domain mapped it meanwhile */
		knemback_map_destroy(map);
		return other;
	}
	return map;
}

void knemback_map_put(struct knemback_region *r, struct knemback_map *map)
{
	spin_lock_irq(&r->map_lock);
	/* knemback_map_take_idle() waits for the last user */
	if (!--map->users)
		wake_up_var(&map->users);
	spin_unlock_irq(&r->map_lock);
}

struct page **knemback_map_pages(const struct knemback_map *map)
{
	return map->pages;
}

struct knemback_map *knemback_map_take(struct knemback_region *r)
{
	struct knemback_map *map;
	unsigned long flags;

	spin_lock_irqsave(&r->map_lock, flags);
	map = r->map;
	r->map = NULL;
	spin_unlock_irqrestore(&r->map_lock, flags);
	return map;
}

static bool knemback_map_idle(struct knemback_region *r,
			      struct knemback_map *map)
{
	bool idle;

	spin_lock_irq(&r->map_lock);
	idle = !map->users;
	spin_unlock_irq(&r->map_lock);
	return idle;
}

static bool knemback_map_evicted(struct knemback_region *r)
{
	bool gone;

	spin_lock_irq(&r->map_lock);
	gone = !r->map || !r->map->evicting;
	spin_unlock_irq(&r->map_lock);
	return gone;
}

struct knemback_map *knemback_map_take_idle(struct knemback_region *r)
{
	struct knemback_map *map;

	might_sleep();
	for (;;) {
		spin_lock_irq(&r->map_lock);
		map = r->map;
		if (!map || !map->evicting) {
			r->map = NULL;
			spin_unlock_irq(&r->map_lock);
			break;
		}
		spin_unlock_irq(&r->map_lock);
		/* the evictor unmaps it: it is not unmapped before that */
		wait_var_event(&r->map, knemback_map_evicted(r));
	}
	if (map)
		wait_var_event(&map->users, knemback_map_idle(r, map));
	return map;
}

void knemback_map_drop(struct knemback_map *map)
{
	spin_lock_irq(&knemback_maps.lock);
	list_del_init(&map->lru);
	spin_unlock_irq(&knemback_maps.lock);
	knemback_map_destroy(map);
}

size_t knemback_map_stats(char *buf, size_t size)
{
	u64 pages = atomic64_read(&knemback_maps.map_pages);

	return scnprintf(buf, size,
			 " Xen mapping cache: regions %d, pages %d, limit %u, made %lld, evicted %lld, refused %lld, ns per page mapped %llu\n",
			 atomic_read(&knemback_maps.regions),
			 atomic_read(&knemback_totals.mapped_pages),
			 READ_ONCE(knemback_param_map_pages),
			 atomic64_read(&knemback_maps.made),
			 atomic64_read(&knemback_maps.evicted),
			 atomic64_read(&knemback_maps.refused),
			 pages ? (u64)atomic64_read(&knemback_maps.map_ns) /
				 pages : 0);
}
