// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_region.c - regions of a guest: their pages are granted to
 * dom0 and the region is declared there (dom0 issues the cookie), in one
 * REGION_CREATE or, above one request, as a build of REGION_APPEND chunks.
 * Invalidations of a region's memory are forwarded (REGION_MARK_STALE);
 * single-use regions that another domain consumed are reported by dom0
 * through the WAIT_RELEASED loop and released at once, so their grants do
 * not pile up until the process closes /dev/knem.
 */
#define pr_fmt(fmt) "knem-front: " fmt

#include <linux/hashtable.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include <xen/page.h>

#include "knem_native.h"
#include "knemfront.h"

/* gnttab_alloc_grant_references() takes a u16 count. */
#define KNEMFRONT_GRANT_BATCH 32768U

/* Grant entries per grant-table frame (version 1 entries, what Linux uses). */
#define KNEMFRONT_GRANTS_PER_FRAME \
	(XEN_PAGE_SIZE / sizeof(struct grant_entry_v1))

static struct {
	atomic64_t shared;		/* regions declared in dom0 */
	atomic64_t grants;		/* their pages' grants */
	atomic64_t released;		/* reported by WAIT_RELEASED */
	atomic64_t consumed;		/* found consumed by REGION_DESTROY */
	atomic64_t stale;		/* invalidations forwarded */
} knemfront_region_stat;

void knemfront_grants_end(struct knemfront_grants *g)
{
	u32 i;

	for (i = 0; i < g->nr_grefs; i++) {
		if (gnttab_try_end_foreign_access(g->grefs[i]))
			continue;
		/*
		 * dom0 still maps it: the page must not be reused until it
		 * stops, so the grant keeps a reference and Xen's deferred
		 * list ends it (and puts the page) later.
		 */
		pr_warn_ratelimited("grant %u still in use in dom0: its page is kept until dom0 unmaps it\n",
				    g->grefs[i]);
		get_page(g->pages[i]);
		gnttab_end_foreign_access(g->grefs[i], g->pages[i]);
	}
	kvfree(g->grefs);
	g->grefs = NULL;
	g->pages = NULL;
	g->nr_grefs = 0;
}

int knemfront_grants_make(struct knemfront_grants *g, struct page **pages,
			  u32 nr_pages, bool readonly)
{
	domid_t otherend = knemfront->dev->otherend_id;
	grant_ref_t head;
	u32 i, k, n;
	int err;

	memset(g, 0, sizeof(*g));
	if (!nr_pages)
		return 0;
	g->grefs = kvmalloc_array(nr_pages, sizeof(*g->grefs), GFP_KERNEL);
	if (!g->grefs)
		return -ENOMEM;
	/* every reference is reserved before any page is granted */
	for (i = 0; i < nr_pages; i += n) {
		n = min(nr_pages - i, KNEMFRONT_GRANT_BATCH);
		err = gnttab_alloc_grant_references(n, &head);
		if (err) {
			pr_warn_ratelimited("%u pages need %u grant entries, more than the grant table has free (at most %u frames of %lu entries): raise max_grant_frames in the domain's xl.cfg\n",
					    nr_pages, nr_pages,
					    gnttab_max_grant_frames(),
					    KNEMFRONT_GRANTS_PER_FRAME);
			while (i--)
				gnttab_free_grant_reference(g->grefs[i]);
			kvfree(g->grefs);
			g->grefs = NULL;
			return -ENOMEM;
		}
		for (k = 0; k < n; k++)
			g->grefs[i + k] = gnttab_claim_grant_reference(&head);
	}
	for (i = 0; i < nr_pages; i++)
		gnttab_grant_foreign_access_ref(g->grefs[i], otherend,
						xen_page_to_gfn(pages[i]),
						readonly);
	g->pages = pages;
	g->nr_grefs = nr_pages;
	return 0;
}

void knemfront_indirect_end(struct knemfront_indirect *ind)
{
	u32 i;

	for (i = 0; i < ind->nr_pages; i++) {
		if (!gnttab_try_end_foreign_access(ind->ref[i]))
			pr_warn_ratelimited("indirect grant %u still in use\n",
					    ind->ref[i]);
		else
			__free_page(ind->page[i]);
	}
	ind->nr_pages = 0;
}

/* Allocates and grants @nr_pages indirect pages (at most the maximum). */
static int knemfront_indirect_alloc(struct knemfront_indirect *ind,
				    u32 nr_pages)
{
	domid_t otherend = knemfront->dev->otherend_id;
	struct page *page;
	int ref;

	memset(ind, 0, sizeof(*ind));
	if (WARN_ON_ONCE(nr_pages > KNEMIF_MAX_INDIRECT_PAGES))
		return -EINVAL;
	while (ind->nr_pages < nr_pages) {
		page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!page)
			goto fail;
		ref = gnttab_grant_foreign_access(otherend,
						  xen_page_to_gfn(page), 1);
		if (ref < 0) {
			__free_page(page);
			pr_warn_ratelimited("no grant entry left for an indirect page: raise max_grant_frames in the domain's xl.cfg\n");
			goto fail;
		}
		ind->page[ind->nr_pages] = page;
		ind->ref[ind->nr_pages++] = ref;
	}
	return 0;

fail:
	/* nothing was sent: every grant ends at once */
	knemfront_indirect_end(ind);
	return -ENOMEM;
}

/* Where the listing of a segment list's pages has got to. */
struct knemfront_cursor {
	const struct knem_seg *segs;
	u32 nr_segs;
	const struct knemfront_grants *g;
	u32 seg;			/* current segment */
	u64 done;			/* its bytes listed so far */
	u32 page;			/* next page, an index in g->grefs */
};

static bool knemfront_cursor_done(const struct knemfront_cursor *cur)
{
	return cur->seg >= cur->nr_segs;
}

/*
 * Lists the next pages of @cur, at most @max_segs and what the indirect
 * pages hold, one wire segment per page piece of each segment.
 */
static int knemfront_indirect_fill(struct knemfront_indirect *ind,
				   struct knemfront_cursor *cur, u32 max_segs,
				   u64 *bytes)
{
	struct knemif_seg *list = NULL;
	u32 k = 0;
	u64 sum = 0;

	max_segs = min(max_segs,
		       ind->nr_pages * KNEMIF_SEGS_PER_INDIRECT_PAGE);
	while (k < max_segs && !knemfront_cursor_done(cur)) {
		const struct knem_seg *seg = &cur->segs[cur->seg];
		u64 addr = seg->addr + cur->done;
		u32 off = offset_in_page(addr);
		u32 len = min_t(u64, seg->len - cur->done, PAGE_SIZE - off);

		if (cur->page >= cur->g->nr_grefs) {
			if (list)
				kunmap_local(list);
			return -EINVAL;
		}
		if (k % KNEMIF_SEGS_PER_INDIRECT_PAGE == 0) {
			if (list)
				kunmap_local(list);
			list = kmap_local_page(ind->page[k /
					KNEMIF_SEGS_PER_INDIRECT_PAGE]);
		}
		list[k % KNEMIF_SEGS_PER_INDIRECT_PAGE] = (struct knemif_seg){
			.gref = cur->g->grefs[cur->page],
			.offset = off,
			.len = len,
		};
		k++;
		cur->page++;
		sum += len;
		cur->done += len;
		if (cur->done >= seg->len) {
			cur->seg++;
			cur->done = 0;
		}
	}
	if (list)
		kunmap_local(list);
	ind->nr_segs = k;
	ind->nr_used = DIV_ROUND_UP(k, KNEMIF_SEGS_PER_INDIRECT_PAGE);
	*bytes = sum;
	return 0;
}

int knemfront_indirect_make(struct knemfront_indirect *ind,
			    const struct knem_seg *segs, u32 nr_segs,
			    const struct knemfront_grants *g,
			    u32 max_indirect)
{
	struct knemfront_cursor cur = {
		.segs = segs, .nr_segs = nr_segs, .g = g,
	};
	u64 bytes;
	int err;

	max_indirect = min(max_indirect, knemfront->max_indirect);
	if (g->nr_grefs > max_indirect * KNEMIF_SEGS_PER_INDIRECT_PAGE)
		return -EINVAL;
	err = knemfront_indirect_alloc(ind,
			DIV_ROUND_UP(g->nr_grefs, KNEMIF_SEGS_PER_INDIRECT_PAGE));
	if (err)
		return err;
	err = knemfront_indirect_fill(ind, &cur, g->nr_grefs, &bytes);
	if (!err && !knemfront_cursor_done(&cur))
		err = -EINVAL;
	if (err)
		knemfront_indirect_end(ind);
	return err;
}

static bool knemfront_cookie_plausible(u64 val)
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

void knem_xen_region_stale(struct knem_user_region *region)
{
	/* pairs with the barrier in publish: the stale bit, then ->xen */
	smp_mb();
	if (READ_ONCE(region->xen))
		knemfront_stale_queue(region);
}

int knem_xen_region_publish(struct knem_user_region *region,
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

void knem_xen_region_release(struct knem_user_region *region)
{
	struct knemfront_region *xr = region->xen;
	bool released, consumed;

	if (!xr)
		return;
	WRITE_ONCE(region->xen, NULL);
	spin_lock(&knemfront_shared_lock);
	released = xr->released;
	spin_unlock(&knemfront_shared_lock);

	/*
	 * Released by dom0, withdrawn, or declared to a backend that has
	 * gone since: nothing uses the grants any more.
	 */
	if (!released && !READ_ONCE(xr->withdrawn) &&
	    knemfront_region_of_this_connection(xr) &&
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
bool knem_xen_region_claim(struct knem_user_region *region)
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
static void knemfront_released_one(u64 cookie)
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

static int knemfront_released_thread(void *arg)
{
	struct knemfront_info *info = arg;
	const u64 *cookies = page_address(info->released_page);
	struct knemif_response rsp;
	u32 i, n;
	int err;

	while (!kthread_should_stop()) {
		struct knemif_request req = {
			.op = KNEMIF_OP_WAIT_RELEASED,
		};

		req.u.wait_released.page_gref = info->released_ref;
		err = knemfront_submit(&req, &rsp);
		if (err || rsp.status) {
			if (!err)
				pr_warn_ratelimited("WAIT_RELEASED refused (%u)\n",
						    rsp.status);
			/* disconnecting: knemfront_released_stop() follows */
			schedule_timeout_idle(HZ);
			continue;
		}
		n = rsp.val;
		if (n > KNEMIF_COOKIES_PER_RELEASE_PAGE) {
			pr_warn_ratelimited("WAIT_RELEASED reports %u cookies\n",
					    n);
			continue;
		}
		for (i = 0; i < n; i++) {
			u64 cookie = READ_ONCE(cookies[i]);

			if (knemfront_cookie_plausible(cookie))
				knemfront_released_one(cookie);
		}
		cond_resched();
	}
	return 0;
}

void knemfront_released_start(struct knemfront_info *info)
{
	struct task_struct *task;
	struct page *page;
	int ref;

	if (info->released_task)
		return;
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page)
		goto fail;
	ref = gnttab_grant_foreign_access(info->dev->otherend_id,
					  xen_page_to_gfn(page), 0);
	if (ref < 0) {
		__free_page(page);
		goto fail;
	}
	info->released_page = page;
	info->released_ref = ref;
	task = kthread_run(knemfront_released_thread, info, "knemfront-rel");
	if (IS_ERR(task)) {
		gnttab_end_foreign_access(ref, page);
		info->released_page = NULL;
		goto fail;
	}
	info->released_task = task;
	return;

fail:
	pr_warn("no WAIT_RELEASED loop: single-use regions consumed by other domains stay until their file is closed\n");
}

void knemfront_released_stop(struct knemfront_info *info)
{
	if (info->released_task) {
		/* knemfront_fail_all() already answered its request */
		kthread_stop(info->released_task);
		info->released_task = NULL;
	}
	if (info->released_page) {
		/* freed once the backend no longer writes it */
		gnttab_end_foreign_access(info->released_ref,
					  info->released_page);
		info->released_page = NULL;
	}
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
