// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_region.c - guest regions: REGION_CREATE, REGION_APPEND,
 * REGION_DESTROY, REGION_MARK_STALE, and their release.
 *
 * A guest region is a struct knem_region whose segment list the common
 * planner walks like a native one: wire segment k becomes knem_seg
 * { addr = its offset in the page, len, first_page = k }, and grefs[k] is
 * the grant reference of that page, so the planner's page index is an
 * index in grefs[].  The region is owned by the guest's domain
 * (owner_domid) and lives in the host-wide cookie table.
 *
 * References: the creator's (dropped once the cookie is published), the
 * table's, and one per copy in flight.  The release callback (any
 * context) takes the region off its guest's list and then
 *  - wakes a REGION_DESTROY waiting for it (the destroy handshake: the
 *    response goes out only once no copy uses the grants), or
 *  - if it was consumed (a single-use lookup took the table's reference)
 *    queues it on the guest's released list for WAIT_RELEASED, or
 *  - frees it after an RCU grace period.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "knemback.h"
#include "knem_native.h"

/* Regions the teardown takes off per hold of the guest's lock. */
#define KNEMBACK_TEARDOWN_BATCH 64

/*
 * A budget over all guests: the per-guest quotas bound each guest, this
 * bounds their sum.  What counts is what the guests' regions and builds
 * make dom0 allocate (structures, segment and grant lists).  0 when the
 * module loads: knemback_budget_init() sets 1/16 of dom0's memory.
 */
static unsigned long knemback_param_budget_kib;
module_param_named(xenbudget, knemback_param_budget_kib, ulong, 0644);
MODULE_PARM_DESC(xenbudget,
		 "KiB of dom0 memory the regions of all guests may hold (default: 1/16 of dom0's RAM)");

static atomic_long_t knemback_budget_used;	/* bytes */
static atomic64_t knemback_budget_refused;

void knemback_budget_init(void)
{
	if (!knemback_param_budget_kib)
		knemback_param_budget_kib =
			(totalram_pages() << (PAGE_SHIFT - 10)) / 16;
}

static bool knemback_budget_charge(size_t bytes)
{
	unsigned long limit = READ_ONCE(knemback_param_budget_kib);

	limit = min_t(unsigned long, limit, LONG_MAX / 1024) * 1024;
	if (atomic_long_add_return(bytes, &knemback_budget_used) > limit) {
		atomic_long_sub(bytes, &knemback_budget_used);
		atomic64_inc(&knemback_budget_refused);
		pr_info_ratelimited("the guests' budget of %lu KiB is spent\n",
				    limit / 1024);
		return false;
	}
	return true;
}

static void knemback_budget_uncharge(size_t bytes)
{
	atomic_long_sub(bytes, &knemback_budget_used);
}

size_t knemback_budget_stats(char *buf, size_t size)
{
	return scnprintf(buf, size,
			 " Xen backend limits: per guest %u regions, %u pages, %u builds; all guests %lu KiB, used %ld KiB, refused %lld\n",
			 KNEMBACK_MAX_REGIONS, KNEMBACK_MAX_DOMAIN_PAGES,
			 KNEMBACK_MAX_BUILDS,
			 READ_ONCE(knemback_param_budget_kib),
			 DIV_ROUND_UP(atomic_long_read(&knemback_budget_used),
				      1024),
			 atomic64_read(&knemback_budget_refused));
}

/* What a region of @nr_segs segments costs dom0. */
static size_t knemback_region_cost(u32 nr_segs)
{
	struct knemback_region *r;

	return sizeof(*r) + (size_t)max(nr_segs, 1U) *
	       (sizeof(*r->core.segs) + sizeof(*r->grefs));
}

/* Frees @r, which no lookup can reach, and gives back what it cost. */
static void knemback_region_abort(struct knemback_region *r)
{
	u32 nr_pages = r->core.nr_pages;

	kvfree(r->grefs);
	kvfree(r->core.segs);
	kfree(r);
	knemback_budget_uncharge(knemback_region_cost(nr_pages));
	atomic_dec(&knemback_totals.regions);
}

static void knemback_region_free_work(struct work_struct *work)
{
	struct knemback_region *r =
		container_of(to_rcu_work(work), struct knemback_region,
			     release_work);
	struct knemback_if *ifc = r->ifc;
	u32 nr_pages = r->core.nr_pages;

	knemback_region_abort(r);
	if (!ifc)
		return;
	/* the guest's quota counted it until now */
	spin_lock_irq(&ifc->lock);
	ifc->nr_regions--;
	ifc->nr_pages -= nr_pages;
	spin_unlock_irq(&ifc->lock);
	knemback_if_put(ifc);
}

/* Lookups may still walk past the region until a grace period ends. */
static void knemback_region_free(struct knemback_region *r)
{
	INIT_RCU_WORK(&r->release_work, knemback_region_free_work);
	queue_rcu_work(knem_wq, &r->release_work);
}

/* What a region's release does once dom0 no longer maps its pages. */
static void knemback_region_retire(struct knemback_region *r)
{
	struct knemback_if *ifc = r->ifc;
	bool report = false;
	unsigned long flags;

	spin_lock_irqsave(&ifc->lock, flags);
	list_del(&r->if_node);
	if (!RB_EMPTY_NODE(&r->tree_node)) {
		rb_erase(&r->tree_node, &ifc->region_tree);
		RB_CLEAR_NODE(&r->tree_node);
	}
	if (r->destroyed) {
		complete(r->destroyed);
	} else if (!r->disowned && !ifc->disconnecting) {
		/*
		 * Only a single-use lookup drops the table's reference.  The
		 * region stays on the guest's quota until it is freed, after
		 * the guest collected it: uncollected, they add up to NOSPC.
		 */
		list_add_tail(&r->if_node, &ifc->released);
		ifc->nr_released++;
		report = true;
	}
	wake_up(&ifc->release_wq);
	spin_unlock_irqrestore(&ifc->lock, flags);

	if (report)
		knemback_kick(ifc);
	else
		knemback_region_free(r);
}

static void knemback_region_unmap_work(struct work_struct *work)
{
	struct knemback_region *r =
		container_of(work, struct knemback_region, unmap_work);

	knemback_map_drop(knemback_map_take(r));
	knemback_region_retire(r);
}

/*
 * The last reference is gone (any context).  With no reference left,
 * neither a copy nor the cache's eviction can reach r->map any more.
 */
static void knemback_region_release(struct knem_region *core)
{
	struct knemback_region *r = knemback_region_of(core);

	if (READ_ONCE(r->map)) {
		INIT_WORK(&r->unmap_work, knemback_region_unmap_work);
		queue_work(knem_wq, &r->unmap_work);
		return;
	}
	knemback_region_retire(r);
}

static const struct knem_region_ops knemback_region_ops_v = {
	.release = knemback_region_release,
};

const struct knem_region_ops *knemback_region_ops(void)
{
	return &knemback_region_ops_v;
}

u32 knemback_released_take(struct knemback_if *ifc, u64 *cookies, u32 max)
{
	struct knemback_region *r, *tmp;
	LIST_HEAD(done);
	u32 n = 0;

	spin_lock_irq(&ifc->lock);
	list_for_each_entry_safe(r, tmp, &ifc->released, if_node) {
		if (n == max)
			break;
		cookies[n++] = r->core.cookie;
		list_move_tail(&r->if_node, &done);
		ifc->nr_released--;
	}
	spin_unlock_irq(&ifc->lock);

	list_for_each_entry_safe(r, tmp, &done, if_node) {
		list_del(&r->if_node);
		knemback_region_free(r);
	}
	return n;
}

/*
 * An unpublished region of @nr_segs segments, or NULL with the wire
 * status in *@status (NOSPC: the guests' budget is spent; NOMEM).
 */
static struct knemback_region *knemback_region_alloc(struct knemback_if *ifc,
						      u32 nr_segs, u32 uid,
						      u32 kflags, u32 prot,
						      int *status)
{
	struct knemback_region *r;

	*status = KNEMIF_E_NOSPC;
	if (!knemback_budget_charge(knemback_region_cost(nr_segs)))
		return NULL;
	*status = KNEMIF_E_NOMEM;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		goto fail;
	r->core.segs = kvmalloc_array(max(nr_segs, 1U), sizeof(*r->core.segs),
				      GFP_KERNEL);
	r->grefs = kvmalloc_array(max(nr_segs, 1U), sizeof(*r->grefs),
				  GFP_KERNEL);
	if (!r->core.segs || !r->grefs)
		goto fail_free;
	atomic_inc(&knemback_totals.regions);
	spin_lock_init(&r->map_lock);
	/* KNEMIF_KFLAG_* and KNEMIF_PROT_* have knem's values */
	knem_region_init(&r->core, &knemback_region_ops_v, ifc,
			 make_kuid(&init_user_ns, uid), kflags, prot);
	r->core.owner_domid = ifc->table_domid;
	r->core.nr_segs = nr_segs;
	r->core.nr_pages = nr_segs;
	r->core.pages = NULL;
	INIT_LIST_HEAD(&r->if_node);
	RB_CLEAR_NODE(&r->tree_node);
	*status = KNEMIF_E_OK;
	return r;

fail_free:
	kvfree(r->core.segs);
	kvfree(r->grefs);
	kfree(r);
fail:
	knemback_budget_uncharge(knemback_region_cost(nr_segs));
	return NULL;
}

static void knemback_region_set_seg(struct knemback_region *r, u32 k,
				    const struct knemif_seg *seg)
{
	r->core.segs[k].addr = seg->offset;
	r->core.segs[k].len = seg->len;
	r->core.segs[k].first_page = k;
	r->grefs[k] = seg->gref;
}

/*
 * The guest's live regions by cookie, for its REGION_DESTROY and
 * REGION_MARK_STALE: a lookup under ifc->lock (interrupts off) visits at
 * most log2(65536) + 1 nodes on each side, never a list of the guest's
 * size.  Cookies are unique in the table; should the table issue again
 * the cookie of a consumed region still in use, the newer one goes right.
 */
static void knemback_region_index(struct knemback_if *ifc,
				  struct knemback_region *r)
{
	struct rb_node **link = &ifc->region_tree.rb_node, *parent = NULL;
	u64 cookie = r->core.cookie;

	lockdep_assert_held(&ifc->lock);
	while (*link) {
		struct knemback_region *e =
			rb_entry(*link, struct knemback_region, tree_node);

		parent = *link;
		if (cookie < e->core.cookie)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&r->tree_node, parent, link);
	rb_insert_color(&r->tree_node, &ifc->region_tree);
}

static struct knemback_region *
knemback_region_find_locked(struct knemback_if *ifc, u64 cookie)
{
	struct rb_node *n = ifc->region_tree.rb_node;

	lockdep_assert_held(&ifc->lock);
	while (n) {
		struct knemback_region *r =
			rb_entry(n, struct knemback_region, tree_node);

		if (cookie < r->core.cookie)
			n = n->rb_left;
		else if (cookie > r->core.cookie)
			n = n->rb_right;
		else
			return r;
	}
	return NULL;
}

/*
 * Publishes @r (length already set) for @ifc: quota, list, cookie table.
 * Returns a wire status; on error @r is freed.
 */
static int knemback_region_publish(struct knemback_if *ifc,
				   struct knemback_region *r, u64 *cookie)
{
	spin_lock_irq(&ifc->lock);
	if (ifc->nr_regions >= KNEMBACK_MAX_REGIONS || ifc->disconnecting ||
	    r->core.nr_pages > KNEMBACK_MAX_DOMAIN_PAGES - ifc->nr_pages) {
		spin_unlock_irq(&ifc->lock);
		knemback_region_abort(r);
		pr_info_ratelimited("domain %u: quota reached (%u regions, %u pages)\n",
				    ifc->domid, KNEMBACK_MAX_REGIONS,
				    KNEMBACK_MAX_DOMAIN_PAGES);
		return KNEMIF_E_NOSPC;
	}
	list_add_tail(&r->if_node, &ifc->regions);
	ifc->nr_regions++;
	ifc->nr_pages += r->core.nr_pages;
	spin_unlock_irq(&ifc->lock);

	r->ifc = ifc;
	kref_get(&ifc->kref);
	knem_cookie_table_insert(&knem_cookies, &r->core);
	*cookie = r->core.cookie;
	/* our reference keeps it from its release until it is indexed */
	spin_lock_irq(&ifc->lock);
	knemback_region_index(ifc, r);
	spin_unlock_irq(&ifc->lock);
	/* the table holds it now */
	knem_region_put(&r->core);
	atomic64_inc(&ifc->stats.regions);
	return KNEMIF_E_OK;
}

static struct knemback_build *knemback_build_find(struct knemback_if *ifc,
						  u64 handle)
{
	unsigned int i;

	for (i = 0; i < KNEMBACK_MAX_BUILDS; i++)
		if (ifc->builds[i].handle && ifc->builds[i].handle == handle)
			return &ifc->builds[i];
	return NULL;
}

/* A build's segment list counts on the page quota, like a region's. */
static void knemback_build_drop(struct knemback_if *ifc,
				struct knemback_build *b)
{
	if (b->capacity) {
		spin_lock_irq(&ifc->lock);
		ifc->nr_pages -= b->capacity;
		spin_unlock_irq(&ifc->lock);
		knemback_budget_uncharge(b->capacity * sizeof(*b->segs));
	}
	kvfree(b->segs);
	memset(b, 0, sizeof(*b));
}

void knemback_build_forget(struct knemback_if *ifc, u64 handle)
{
	struct knemback_build *b = knemback_build_find(ifc, handle);

	if (b)
		knemback_build_drop(ifc, b);
}

void knemback_builds_free(struct knemback_if *ifc)
{
	unsigned int i;

	for (i = 0; i < KNEMBACK_MAX_BUILDS; i++)
		knemback_build_drop(ifc, &ifc->builds[i]);
}

/*
 * Makes room for @more segments in @b's list, which grows with what the
 * guest sends rather than with what it may send: a build announces bytes,
 * not segments.  Doubling bounds the copying; the announced length (each
 * segment holds a byte at least), max-region-pages (both checked by the
 * build accounting before this) and the domain's page quota bound the
 * size.  Returns a wire status.
 */
static int knemback_build_reserve(struct knemback_if *ifc,
				  struct knemback_build *b, u32 more)
{
	u32 need = b->nr_segs + more, cap;
	struct knemif_seg *segs;
	u32 quota_left;
	int status;

	if (need <= b->capacity)
		return KNEMIF_E_OK;
	cap = min_t(u64, ifc->limits.max_region_pages, b->acct.total_len);
	cap = clamp(b->capacity * 2, need, cap);
	/* the list counts on the quota (its entries become the region's) */
	spin_lock_irq(&ifc->lock);
	quota_left = KNEMBACK_MAX_DOMAIN_PAGES - ifc->nr_pages;
	if (cap - b->capacity > quota_left && need - b->capacity <= quota_left)
		cap = b->capacity + quota_left;
	if (cap - b->capacity <= quota_left)
		ifc->nr_pages += cap - b->capacity;
	spin_unlock_irq(&ifc->lock);
	if (cap - b->capacity > quota_left) {
		pr_info_ratelimited("domain %u: a build of %u pages exceeds the quota of %u pages\n",
				    ifc->domid, need, KNEMBACK_MAX_DOMAIN_PAGES);
		return KNEMIF_E_NOSPC;
	}
	status = KNEMIF_E_NOSPC;
	if (!knemback_budget_charge((cap - b->capacity) * sizeof(*segs)))
		goto fail_quota;
	status = KNEMIF_E_NOMEM;
	segs = kvmalloc_array(cap, sizeof(*segs), GFP_KERNEL);
	if (!segs)
		goto fail_budget;
	if (b->nr_segs)
		memcpy(segs, b->segs, b->nr_segs * sizeof(*segs));
	kvfree(b->segs);
	b->segs = segs;
	b->capacity = cap;
	return KNEMIF_E_OK;

fail_budget:
	knemback_budget_uncharge((cap - b->capacity) * sizeof(*segs));
fail_quota:
	spin_lock_irq(&ifc->lock);
	ifc->nr_pages -= cap - b->capacity;
	spin_unlock_irq(&ifc->lock);
	return status;
}

static void knemback_build_start(struct knemback_if *ifc,
				 const struct knemif_req_checked *req)
{
	struct knemback_build *b = NULL;
	unsigned int i;

	for (i = 0; i < KNEMBACK_MAX_BUILDS; i++) {
		if (!ifc->builds[i].handle) {
			b = &ifc->builds[i];
			break;
		}
	}
	if (!b) {
		knemback_respond(ifc, req, KNEMIF_E_NOSPC, 0, 0);
		return;
	}
	/* the segment list grows with the chunks (knemback_build_reserve) */
	knemif_build_start(&b->acct, req);
	b->owner_uid = req->u.create.owner_uid;
	b->kflags = req->u.create.kflags;
	b->protection = req->u.create.protection;
	b->nr_segs = 0;
	/* non-zero, bit 63 clear: the validator's idea of a plausible handle */
	b->handle = ifc->next_handle;
	ifc->next_handle = (ifc->next_handle + 1) & ~KNEMIF_COOKIE_INVALID_BITS;
	if (!ifc->next_handle)
		ifc->next_handle = 1;
	knemback_respond(ifc, req, KNEMIF_E_OK, 0, b->handle);
}

void knemback_region_create(struct knemback_if *ifc,
			    const struct knemif_req_checked *req)
{
	const typeof(req->u.create) *c = &req->u.create;
	struct knemback_region *r;
	u64 total = 0, cookie = 0;
	int status;
	u32 k;

	if (c->more) {
		knemback_build_start(ifc, req);
		return;
	}
	if (c->unshared) {
		/*
		 * No pages: nobody may copy through it.  Without
		 * ANY_USER_ACCESS another domain's lookup fails with EPERM;
		 * with full protection, this domain's lookup succeeds and the
		 * copy engine answers PERM.  Not single-use: the frontend
		 * consumes it locally.
		 */
		r = knemback_region_alloc(ifc, 0, c->owner_uid, 0,
					  KNEM_PROT_READ | KNEM_PROT_WRITE,
					  &status);
		if (!r) {
			knemback_respond(ifc, req, status, 0, 0);
			return;
		}
		r->unshared = true;
		r->core.length = 0;
		status = knemback_region_publish(ifc, r, &cookie);
		knemback_respond(ifc, req, status, 0, status ? 0 : cookie);
		return;
	}

	status = knemback_fetch_segs(ifc, req, &total);
	if (status) {
		knemback_respond(ifc, req, status, 0, 0);
		return;
	}
	r = knemback_region_alloc(ifc, req->nr_segs, c->owner_uid, c->kflags,
				  c->protection, &status);
	if (!r) {
		knemback_respond(ifc, req, status, 0, 0);
		return;
	}
	for (k = 0; k < req->nr_segs; k++)
		knemback_region_set_seg(r, k, knemback_seg(ifc, k));
	r->core.length = total;
	status = knemback_region_publish(ifc, r, &cookie);
	knemback_respond(ifc, req, status, 0, status ? 0 : cookie);
}

void knemback_region_append(struct knemback_if *ifc,
			    const struct knemif_req_checked *req)
{
	struct knemback_build *b;
	struct knemback_region *r;
	u64 total = 0, cookie = 0;
	bool done = false;
	int status;
	u32 k;

	b = knemback_build_find(ifc, req->u.append.handle);
	if (!b) {
		knemback_respond(ifc, req, KNEMIF_E_NOENT, 0, 0);
		return;
	}
	status = knemback_fetch_segs(ifc, req, &total);
	if (status)
		goto fail;
	status = knemif_build_append(&b->acct, req, &ifc->limits, &done);
	if (status)
		goto fail;
	/* the build accounting bounds acct.pages by max-region-pages */
	if (b->acct.pages > ifc->limits.max_region_pages ||
	    b->acct.pages - b->nr_segs != req->nr_segs) {
		status = KNEMIF_E_INVAL;
		goto fail;
	}
	status = knemback_build_reserve(ifc, b, req->nr_segs);
	if (status)
		goto fail;
	for (k = 0; k < req->nr_segs; k++)
		b->segs[b->nr_segs + k] = *knemback_seg(ifc, k);
	b->nr_segs += req->nr_segs;
	if (!done) {
		knemback_respond(ifc, req, KNEMIF_E_OK, 0, 0);
		return;
	}

	r = knemback_region_alloc(ifc, b->nr_segs, b->owner_uid, b->kflags,
				  b->protection, &status);
	if (!r)
		goto fail;
	for (k = 0; k < b->nr_segs; k++)
		knemback_region_set_seg(r, k, &b->segs[k]);
	r->core.length = b->acct.bytes;
	knemback_build_drop(ifc, b);
	status = knemback_region_publish(ifc, r, &cookie);
	knemback_respond(ifc, req, status, 0, status ? 0 : cookie);
	return;

fail:
	/* any error ends the build */
	knemback_build_drop(ifc, b);
	knemback_respond(ifc, req, status, 0, 0);
}

/* Finds a live region of @ifc by cookie and takes a reference. */
static struct knemback_region *knemback_region_get(struct knemback_if *ifc,
						   u64 cookie,
						   struct completion *done)
{
	struct knemback_region *r, *found = NULL;

	spin_lock_irq(&ifc->lock);
	r = knemback_region_find_locked(ifc, cookie);
	if (r && !r->disowned && !r->destroyed &&
	    knem_refcount_inc_not_zero(&r->core.refs)) {
		found = r;
		if (done)
			r->destroyed = done;
	}
	spin_unlock_irq(&ifc->lock);
	return found;
}

void knemback_region_destroy(struct knemback_if *ifc,
			     const struct knemif_req_checked *req)
{
	DECLARE_COMPLETION_ONSTACK(done);
	struct knemback_region *r;
	bool consumed;

	if (req->u.destroy.handle) {
		struct knemback_build *b =
			knemback_build_find(ifc, req->u.destroy.cookie);

		if (!b) {
			knemback_respond(ifc, req, KNEMIF_E_NOENT, 0, 0);
			return;
		}
		knemback_build_drop(ifc, b);
		knemback_respond(ifc, req, KNEMIF_E_OK, 0, 0);
		return;
	}

	r = knemback_region_get(ifc, req->u.destroy.cookie, &done);
	if (!r) {
		/* unknown, or consumed and already on the released list */
		knemback_respond(ifc, req, KNEMIF_E_NOENT, 0, 0);
		return;
	}
	/* not linked any more: a single-use lookup consumed it */
	consumed = !knem_cookie_table_unlink(&knem_cookies, &r->core);
	knem_region_put(&r->core);
	/* copies of any domain still using the grants finish first */
	wait_for_completion(&done);
	knemback_respond(ifc, req, KNEMIF_E_OK,
			 consumed ? KNEMIF_RSP_F_CONSUMED : 0, 0);
}

void knemback_region_mark_stale(struct knemback_if *ifc,
				const struct knemif_req_checked *req)
{
	struct knemback_map *map;
	struct knemback_region *r;

	r = knemback_region_get(ifc, req->u.mark_stale.cookie, NULL);
	if (!r) {
		knemback_respond(ifc, req, KNEMIF_E_NOENT, 0, 0);
		return;
	}
	knem_region_mark_stale(&r->core);
	/*
	 * Later lookups fail; copies in flight stop at their next batch.
	 * Wait until only our reference and the table's (if still linked)
	 * remain.
	 */
	while (refcount_read(&r->core.refs) >
	       1 + !knem_region_is_unlinked(&r->core))
		usleep_range(50, 500);
	/*
	 * A stale region gets no new mapping user and is never mapped again;
	 * a copy that counted itself in before finishes, the evictor that
	 * has the mapping unmaps it: then its grants may end.
	 */
	map = knemback_map_take_idle(r);
	if (map)
		knemback_map_drop(map);
	knem_region_put(&r->core);
	knemback_respond(ifc, req, KNEMIF_E_OK, 0, 0);
}

static bool knemback_regions_gone(struct knemback_if *ifc)
{
	bool empty;

	spin_lock_irq(&ifc->lock);
	empty = list_empty(&ifc->regions) && list_empty(&ifc->disowned);
	spin_unlock_irq(&ifc->lock);
	return empty;
}

void knemback_regions_teardown(struct knemback_if *ifc)
{
	struct knemback_region *r, *tmp, *found;
	LIST_HEAD(released);
	bool empty;

	spin_lock_irq(&ifc->lock);
	ifc->disconnecting = true;
	list_splice_init(&ifc->released, &released);
	ifc->nr_released = 0;
	spin_unlock_irq(&ifc->lock);
	list_for_each_entry_safe(r, tmp, &released, if_node) {
		list_del(&r->if_node);
		knemback_region_free(r);
	}

	/*
	 * Each region leaves the live list once, to the disowned one: no
	 * rescan from the head, and at most KNEMBACK_TEARDOWN_BATCH regions
	 * (being released already, no reference to take) per lock hold.
	 */
	for (;;) {
		unsigned int n = 0;

		found = NULL;
		spin_lock_irq(&ifc->lock);
		while (!list_empty(&ifc->regions) &&
		       n++ < KNEMBACK_TEARDOWN_BATCH) {
			r = list_first_entry(&ifc->regions,
					     struct knemback_region, if_node);
			list_move_tail(&r->if_node, &ifc->disowned);
			r->disowned = true;
			if (knem_refcount_inc_not_zero(&r->core.refs)) {
				found = r;
				break;
			}
		}
		empty = list_empty(&ifc->regions);
		spin_unlock_irq(&ifc->lock);
		if (!found) {
			if (empty)
				break;
			cond_resched();
			continue;
		}
		/* copies in flight stop at their next batch */
		knem_region_mark_stale(&found->core);
		knem_cookie_table_unlink(&knem_cookies, &found->core);
		knem_region_put(&found->core);
		cond_resched();
	}
	/* copies of other domains through these regions finish */
	wait_event(ifc->release_wq, knemback_regions_gone(ifc));
}
