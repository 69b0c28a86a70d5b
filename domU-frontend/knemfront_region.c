// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_region.c - regions of a guest: their pages are granted to
 * dom0 and the region is declared there (dom0 issues the cookie), in one
 * REGION_CREATE or, above one request, as a build of REGION_APPEND chunks.
 * Invalidations of a region's memory are forwarded (REGION_MARK_STALE);
 * single-use regions that another domain consumed are released at once
 * when dom0 reports them (knemfront_released.c), so their grants do not
 * pile up until the process closes /dev/knem.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "knem_native.h"
#include "knemfront.h"

static struct {
	atomic64_t shared;		/* regions declared in dom0 */
	atomic64_t grants;		/* their pages' grants */
	atomic64_t released;		/* reported by WAIT_RELEASED */
	atomic64_t consumed;		/* found consumed by REGION_DESTROY */
	atomic64_t stale;		/* invalidations forwarded */
} knemfront_region_stat;
bool knemfront_cookie_plausible(u64 val)
{
	if (val && !(val & KNEMIF_COOKIE_INVALID_BITS))
		return true;
	pr_warn_ratelimited("implausible cookie or handle %016llx\n", val);
	return false;
}

/* Sends @req and turns a refusal into its errno. */
static int knemfront_call(struct knemif_request *req,
			  struct knemif_response *rsp)
{
	int err = knemfront_submit(req, rsp);

	if (!err && rsp->status)
		err = knemfront_errno(rsp->status);	/* IO is EFAULT too */
	return err;
}

static void knemfront_set_indirect(u32 *refs,
				   const struct knemfront_indirect *ind)
{
	u32 i;

	for (i = 0; i < ind->nr_used; i++)
		refs[i] = ind->ref[i];
}

/* Gives up an unfinished build; dom0 forgets it on its own after an error. */
static void knemfront_build_abandon(u64 handle)
{
	struct knemif_request req = {
		.op = KNEMIF_OP_REGION_DESTROY,
		.flags = KNEMIF_F_HANDLE,
	};
	struct knemif_response rsp;

	req.u.destroy.cookie = handle;
	if (!knemfront_submit(&req, &rsp) && rsp.status &&
	    rsp.status != KNEMIF_E_NOENT)
		pr_warn_ratelimited("abandoning build %llu refused (%u)\n",
				    handle, rsp.status);
}

/* REGION_APPENDs of every page of @cur to the build @handle. */
static int knemfront_build_append(struct knemfront_indirect *ind,
				  struct knemfront_cursor *cur, u32 chunk_segs,
				  u64 handle, u64 *cookie)
{
	struct knemif_request req;
	struct knemif_response rsp;
	u64 bytes;
	int err;

	while (!knemfront_cursor_done(cur)) {
		err = knemfront_indirect_fill(ind, cur, chunk_segs, &bytes);
		if (err)
			return err;
		memset(&req, 0, sizeof(req));
		req.op = KNEMIF_OP_REGION_APPEND;
		req.flags = knemfront_cursor_done(cur) ? 0 : KNEMIF_F_MORE;
		req.nr_indirect = ind->nr_used;
		req.nr_segs = ind->nr_segs;
		req.u.append.handle = handle;
		req.u.append.chunk_len = bytes;
		knemfront_set_indirect(req.u.append.indirect, ind);
		err = knemfront_call(&req, &rsp);
		if (err)
			return err;
	}
	/* the last chunk's answer carries the cookie */
	if (!knemfront_cookie_plausible(rsp.val))
		return -EIO;
	*cookie = rsp.val;
	return 0;
}

int knemfront_region_declare(const struct knemfront_region_desc *desc,
			     const struct knemfront_grants *g, u64 *cookie)
{
	struct knemif_request req = { .op = KNEMIF_OP_REGION_CREATE };
	struct knemfront_cursor cur = {
		.segs = desc->segs, .nr_segs = desc->nr_segs, .g = g,
	};
	struct knemfront_indirect ind;
	struct knemif_response rsp;
	u32 max_indirect, create_segs, chunk_segs;
	u64 bytes;
	bool build;
	int err;

	*cookie = 0;
	if (!knemfront || !READ_ONCE(knemfront->connected))
		return -EFAULT;	/* cookies come from dom0 */
	if (desc->nr_pages > knemfront->max_region_pages) {
		pr_warn_ratelimited("a region of %u pages, more than the backend's max-region-pages %u\n",
				    desc->nr_pages,
				    knemfront->max_region_pages);
		return -EINVAL;
	}
	if (WARN_ON_ONCE(desc->nr_pages != g->nr_grefs))
		return -EINVAL;
	max_indirect = knemfront->max_indirect;
	create_segs = min_t(u32, max_indirect, KNEMIF_CREATE_MAX_INDIRECT) *
		      KNEMIF_SEGS_PER_INDIRECT_PAGE;
	chunk_segs = min_t(u32, max_indirect, KNEMIF_APPEND_MAX_INDIRECT) *
		     KNEMIF_SEGS_PER_INDIRECT_PAGE;
	build = desc->nr_pages > create_segs;
	err = knemfront_indirect_alloc(&ind,
			DIV_ROUND_UP(min(desc->nr_pages,
					 build ? chunk_segs : create_segs),
				     KNEMIF_SEGS_PER_INDIRECT_PAGE));
	if (err)
		return err;

	req.u.create.total_len = desc->length;
	req.u.create.owner_uid = desc->owner_uid;
	req.u.create.kflags = desc->kflags & KNEMIF_KFLAG_CREATE_MASK;
	req.u.create.protection = desc->protection & KNEMIF_PROT_MASK;
	if (build) {
		/* no cookie exists before the last chunk is in */
		req.flags = KNEMIF_F_MORE;
		err = knemfront_call(&req, &rsp);
		if (!err && !knemfront_cookie_plausible(rsp.val))
			err = -EIO;
		if (err)
			goto out;
		err = knemfront_build_append(&ind, &cur, chunk_segs, rsp.val,
					     cookie);
		if (err)
			knemfront_build_abandon(rsp.val);
		goto out;
	}
	err = knemfront_indirect_fill(&ind, &cur, create_segs, &bytes);
	if (err)
		goto out;
	req.nr_indirect = ind.nr_used;
	req.nr_segs = ind.nr_segs;
	knemfront_set_indirect(req.u.create.indirect, &ind);
	err = knemfront_call(&req, &rsp);
	if (!err && !knemfront_cookie_plausible(rsp.val))
		err = -EIO;
	if (!err)
		*cookie = rsp.val;
out:
	knemfront_indirect_end(&ind);
	return err;
}

int knemfront_region_undeclare(u64 cookie, bool *consumed)
{
	struct knemif_request req = { .op = KNEMIF_OP_REGION_DESTROY };
	struct knemif_response rsp;
	int err;

	*consumed = false;
	req.u.destroy.cookie = cookie;
	err = knemfront_submit(&req, &rsp);
	if (err)
		return err;	/* not connected: dom0 dropped it */
	switch (rsp.status) {
	case KNEMIF_E_OK:
		*consumed = rsp.flags & KNEMIF_RSP_F_CONSUMED;
		return 0;
	case KNEMIF_E_NOENT:
		/* consumed and released: its WAIT_RELEASED report is coming */
		*consumed = true;
		return 0;
	default:
		pr_warn_ratelimited("destroy of %016llx refused (%u)\n",
				    cookie, rsp.status);
		return knemfront_errno(rsp.status);
	}
}

/* The Xen side of a user region declared in dom0. */
struct knemfront_region {
	knem_cookie_t cookie;
	struct knem_user_region *region;
	struct knemfront_grants grants;
	struct hlist_node node;		/* in knemfront_shared */
	bool hashed;			/* in knemfront_shared */
	bool released;			/* dom0 reported it released */
	bool withdrawn;			/* destroyed in dom0 by a claim */
	int connection;			/* knemfront_connections when declared */
	unsigned long stale_queued;	/* bit 0: REGION_MARK_STALE queued */
	struct work_struct stale_work;
};

/*
 * The regions declared in dom0, by cookie, until their release (or, for a
 * single-use one, until dom0 reports it released): for WAIT_RELEASED
 * reports and to recognise this guest's dead cookies.  The lock also
 * orders a report against the region's release.
 */
static DEFINE_SPINLOCK(knemfront_shared_lock);
static DEFINE_HASHTABLE(knemfront_shared, 10);

/* Whether the backend of today knows @xr: cookies do not outlive a backend. */
static bool knemfront_region_of_this_connection(const struct knemfront_region *xr)
{
	return xr->connection == atomic_read(&knemfront_connections);
}

bool knemfront_cookie_is_dead(u64 cookie)
{
	struct knemfront_region *xr;
	bool dead = false;

	spin_lock(&knemfront_shared_lock);
	hash_for_each_possible(knemfront_shared, xr, node, cookie) {
		if (xr->cookie == cookie) {
			dead = knem_region_is_unlinked(&xr->region->core);
			break;
		}
	}
	spin_unlock(&knemfront_shared_lock);
	return dead;
}

/* Invalidations being forwarded: each holds a region reference. */
static atomic_t knemfront_stale_pending = ATOMIC_INIT(0);

static void knemfront_stale_work(struct work_struct *work)
{
	struct knemfront_region *xr =
		container_of(work, struct knemfront_region, stale_work);
	struct knemif_request req = { .op = KNEMIF_OP_REGION_MARK_STALE };
	struct knem_user_region *region = xr->region;
	struct knemif_response rsp;

	req.u.mark_stale.cookie = xr->cookie;
	/* not connected: dom0 dropped the region anyway */
	if (!knemfront_submit(&req, &rsp)) {
		if (!rsp.status)
			atomic64_inc(&knemfront_region_stat.stale);
		else if (rsp.status != KNEMIF_E_NOENT)
			pr_warn_ratelimited("marking %016llx stale refused (%u)\n",
					    xr->cookie, rsp.status);
	}
	/* may release the region, xr with it */
	knem_region_put(&region->core);
	if (atomic_dec_and_test(&knemfront_stale_pending))
		wake_up_var(&knemfront_stale_pending);
}

/* Queues REGION_MARK_STALE once; any context. */
static void knemfront_stale_queue(struct knem_user_region *region)
{
	struct knemfront_region *xr;

	/* a region being released is destroyed in dom0 anyway */
	if (!knem_refcount_inc_not_zero(&region->core.refs))
		return;
	xr = READ_ONCE(region->xen);
	if (!xr || test_and_set_bit(0, &xr->stale_queued)) {
		knem_region_put(&region->core);
		return;
	}
	atomic_inc(&knemfront_stale_pending);
	queue_work(knem_wq, &xr->stale_work);
}

void knemfront_region_stale(struct knem_user_region *region)
{
	/* pairs with the barrier in publish: the stale bit, then ->xen */
	smp_mb();
	if (READ_ONCE(region->xen))
		knemfront_stale_queue(region);
}

int knemfront_region_publish(struct knem_user_region *region,
			     knem_cookie_t *cookie)
{
	const struct knem_region *core = &region->core;
	struct knemfront_region_desc desc = {
		.segs = core->segs,
		.nr_segs = core->nr_segs,
		.pages = core->pages,
		.nr_pages = core->nr_pages,
		.length = core->length,
		/* copies send init_user_ns uids: compared in dom0 */
		.owner_uid = from_kuid_munged(&init_user_ns, core->owner_uid),
		.kflags = core->flags,
		.protection = core->protection,
	};
	struct knemfront_region *xr;
	int err;

	*cookie = 0;
	/*
	 * Without dom0 (not attached yet, or detached) /dev/knem still
	 * serves this guest's own processes: the region gets a local cookie
	 * and no other domain will ever find it.
	 */
	if (!knemfront || !READ_ONCE(knemfront->connected)) {
		pr_notice_ratelimited("not connected to dom0: a new region is known in this guest only\n");
		return 0;
	}
	if (core->nr_pages > knemfront->max_region_pages) {
		pr_warn_ratelimited("a region of %u pages, more than the backend's max-region-pages %u\n",
				    core->nr_pages, knemfront->max_region_pages);
		return -EINVAL;
	}
	xr = kzalloc(sizeof(*xr), GFP_KERNEL);
	if (!xr)
		return -ENOMEM;
	xr->connection = atomic_read(&knemfront_connections);
	err = knemfront_grants_make(&xr->grants, core->pages, core->nr_pages,
				    !(core->protection & KNEM_PROT_WRITE));
	if (err)
		goto out_free;
	err = knemfront_region_declare(&desc, &xr->grants, &xr->cookie);
	if (err) {
		/* dom0 keeps nothing of a refused create or abandoned build */
		knemfront_grants_end(&xr->grants);
		goto out_free;
	}
	xr->region = region;
	INIT_WORK(&xr->stale_work, knemfront_stale_work);
	atomic64_inc(&knemfront_region_stat.shared);
	atomic64_add(xr->grants.nr_grefs, &knemfront_region_stat.grants);
	spin_lock(&knemfront_shared_lock);
	hash_add(knemfront_shared, &xr->node, xr->cookie);
	xr->hashed = true;
	spin_unlock(&knemfront_shared_lock);
	WRITE_ONCE(region->xen, xr);
	/* an invalidation while dom0 declared it did not see ->xen */
	smp_mb();
	if (knem_region_is_stale(core))
		knemfront_stale_queue(region);
	*cookie = xr->cookie;
	return 0;

out_free:
	kfree(xr);
	return err;
}

/*
 * Released by dom0, withdrawn, or declared to a backend that has gone
 * since: nothing in dom0 uses the grants any more.
 */
static bool knemfront_region_gone_from_dom0(struct knemfront_region *xr)
{
	bool released;

	spin_lock(&knemfront_shared_lock);
	released = xr->released;
	spin_unlock(&knemfront_shared_lock);
	return released || READ_ONCE(xr->withdrawn) ||
	       !knemfront_region_of_this_connection(xr);
}

bool knemfront_region_release_is_local(struct knem_user_region *region)
{
	struct knemfront_region *xr = READ_ONCE(region->xen);

	return !xr || knemfront_region_gone_from_dom0(xr);
}

void knemfront_region_release(struct knem_user_region *region)
{
	struct knemfront_region *xr = region->xen;
	bool consumed;

	if (!xr)
		return;
	WRITE_ONCE(region->xen, NULL);
	if (!knemfront_region_gone_from_dom0(xr) &&
	    !knemfront_region_undeclare(xr->cookie, &consumed) && consumed)
		atomic64_inc(&knemfront_region_stat.consumed);
	/* dead for this guest's copies until dom0 has forgotten it */
	spin_lock(&knemfront_shared_lock);
	if (xr->hashed) {
		hash_del(&xr->node);
		xr->hashed = false;
	}
	spin_unlock(&knemfront_shared_lock);
	atomic64_dec(&knemfront_region_stat.shared);
	atomic64_sub(xr->grants.nr_grefs, &knemfront_region_stat.grants);
	knemfront_grants_end(&xr->grants);
	kfree(xr);
}

/*
 * Destroying the region in dom0 before the local copy closes the window in
 * which another domain could use it too.  It costs no more round trips
 * (the release then has nothing left to destroy), but the copy waits for
 * this one.  Without KNEM_FLAG_ANY_USER_ACCESS no other domain may use
 * the region at all: nothing to claim.
 */
bool knemfront_region_claim(struct knem_user_region *region)
{
	struct knemfront_region *xr = READ_ONCE(region->xen);
	bool consumed;

	if (!(region->core.flags & KNEM_FLAG_ANY_USER_ACCESS))
		return true;
	/* dom0 dropped a region of an earlier connection: nobody else has it */
	if (!xr || !knemfront_region_of_this_connection(xr))
		return true;
	/*
	 * An error: not connected (dom0 dropped the region too), or a refusal
	 * that was logged; either way no other domain consumed it.
	 */
	if (knemfront_region_undeclare(xr->cookie, &consumed))
		consumed = false;
	WRITE_ONCE(xr->withdrawn, true);
	if (!consumed)
		return true;
	atomic64_inc(&knemfront_region_stat.consumed);
	return false;
}

/*
 * dom0 released a single-use region of ours that another domain consumed:
 * it leaves the local table as a local use would have taken it, and goes
 * once nothing here holds it.
 */
void knemfront_region_released(u64 cookie)
{
	struct knem_user_region *region = NULL;
	struct knemfront_region *xr;

	spin_lock(&knemfront_shared_lock);
	hash_for_each_possible(knemfront_shared, xr, node, cookie) {
		if (xr->cookie != cookie)
			continue;
		hash_del(&xr->node);
		xr->hashed = false;
		xr->released = true;
		if (knem_refcount_inc_not_zero(&xr->region->core.refs))
			region = xr->region;
		break;
	}
	spin_unlock(&knemfront_shared_lock);
	atomic64_inc(&knemfront_region_stat.released);
	/*
	 * Not found: destroyed meanwhile (dom0 answered its REGION_DESTROY
	 * with NOENT), or being released.
	 */
	if (!region)
		return;
	knem_cookie_table_unlink(&knem_cookies, &region->core);
	knem_region_put(&region->core);
}

void knemfront_region_stale_wait(void)
{
	wait_var_event(&knemfront_stale_pending,
		       !atomic_read(&knemfront_stale_pending));
}

size_t knemfront_region_stats(char *buf, size_t size)
{
	return scnprintf(buf, size,
			 " Xen frontend regions: %lld shared (%lld grants), released after another domain's use %lld, found consumed at destroy %lld, invalidations forwarded %lld\n",
			 atomic64_read(&knemfront_region_stat.shared),
			 atomic64_read(&knemfront_region_stat.grants),
			 atomic64_read(&knemfront_region_stat.released),
			 atomic64_read(&knemfront_region_stat.consumed),
			 atomic64_read(&knemfront_region_stat.stale));
}
