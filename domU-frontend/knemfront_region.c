// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_region.c - regions of a guest: their pages are granted to
 * dom0 and the region is created there (dom0 issues the cookie).
 */
#define pr_fmt(fmt) "knem-front: " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <xen/page.h>

#include "knem_native.h"
#include "knemfront.h"

void knemfront_grants_end(struct knemfront_grants *g)
{
	u32 i;

	for (i = 0; i < g->nr_indirect; i++) {
		if (!gnttab_try_end_foreign_access(g->indirect_ref[i]))
			pr_warn_ratelimited("indirect grant %u still in use\n",
					    g->indirect_ref[i]);
		else
			__free_page(g->indirect[i]);
	}
	g->nr_indirect = 0;
	for (i = 0; i < g->nr_grefs; i++)
		if (!gnttab_try_end_foreign_access(g->grefs[i]))
			pr_warn_ratelimited("grant %u still in use\n",
					    g->grefs[i]);
	kvfree(g->grefs);
	g->grefs = NULL;
	g->nr_grefs = 0;
}

int knemfront_grants_make(struct knemfront_grants *g,
				 const struct knem_seg *segs, u32 nr_segs,
				 struct page **pages, u32 nr_pages,
				 bool readonly, u32 max_indirect)
{
	domid_t otherend = knemfront->dev->otherend_id;
	struct knemif_seg *list = NULL;
	u32 i, p = 0, k = 0;
	int ref, err;

	memset(g, 0, sizeof(*g));
	max_indirect = min_t(u32, max_indirect, knemfront->max_indirect);
	if (nr_pages > max_indirect * KNEMIF_SEGS_PER_INDIRECT_PAGE) {
		pr_warn_ratelimited("%u pages in one request, at most %u supported\n",
				    nr_pages,
				    max_indirect * KNEMIF_SEGS_PER_INDIRECT_PAGE);
		return -EINVAL;
	}
	g->grefs = kvmalloc_array(max(nr_pages, 1U), sizeof(*g->grefs),
				  GFP_KERNEL);
	if (!g->grefs)
		return -ENOMEM;
	for (i = 0; i < nr_pages; i++) {
		ref = gnttab_grant_foreign_access(otherend,
						  xen_page_to_gfn(pages[i]),
						  readonly);
		if (ref < 0) {
			pr_warn_ratelimited("no grant references for a region of %u pages: raise max_grant_frames in the domain's xl.cfg\n",
					    nr_pages);
			err = -ENOMEM;
			goto fail;
		}
		g->grefs[g->nr_grefs++] = ref;
	}
	g->nr_indirect = DIV_ROUND_UP(nr_pages, KNEMIF_SEGS_PER_INDIRECT_PAGE);
	for (i = 0; i < g->nr_indirect; i++) {
		g->indirect[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!g->indirect[i]) {
			g->nr_indirect = i;
			err = -ENOMEM;
			goto fail;
		}
	}
	/* one wire segment per page piece of each user segment */
	for (i = 0; i < nr_segs; i++) {
		u64 addr = segs[i].addr, left = segs[i].len;

		while (left) {
			u32 off = offset_in_page(addr);
			u32 len = min_t(u64, left, PAGE_SIZE - off);

			if (p >= nr_pages) {
				err = -EINVAL;
				goto fail;
			}
			if (k % KNEMIF_SEGS_PER_INDIRECT_PAGE == 0) {
				if (list)
					kunmap_local(list);
				list = kmap_local_page(g->indirect[k /
					KNEMIF_SEGS_PER_INDIRECT_PAGE]);
			}
			list[k % KNEMIF_SEGS_PER_INDIRECT_PAGE] =
				(struct knemif_seg){ .gref = g->grefs[p],
						     .offset = off,
						     .len = len };
			k++;
			p++;
			addr += len;
			left -= len;
		}
	}
	if (list)
		kunmap_local(list);
	g->nr_segs = k;
	for (i = 0; i < g->nr_indirect; i++) {
		ref = gnttab_grant_foreign_access(otherend,
						  xen_page_to_gfn(g->indirect[i]),
						  1);
		if (ref < 0) {
			u32 j;

			for (j = i; j < g->nr_indirect; j++)
				__free_page(g->indirect[j]);
			g->nr_indirect = i;
			err = -ENOMEM;
			goto fail;
		}
		g->indirect_ref[i] = ref;
	}
	return 0;

fail:
	/* nothing was sent: every grant ends at once */
	for (i = 0; i < g->nr_indirect; i++)
		__free_page(g->indirect[i]);
	g->nr_indirect = 0;
	knemfront_grants_end(g);
	return err;
}

struct knemfront_region {
	knem_cookie_t cookie;
	struct knemfront_grants grants;
};

int knem_xen_region_publish(struct knem_user_region *region,
			    knem_cookie_t *cookie)
{
	const struct knem_region *core = &region->core;
	struct knemif_request req = { .op = KNEMIF_OP_REGION_CREATE };
	struct knemif_response rsp;
	struct knemfront_region *xr;
	u32 i;
	int err;

	*cookie = 0;
	if (!knemfront || !READ_ONCE(knemfront->connected))
		return -EFAULT;	/* cookies come from dom0 */
	if (core->nr_pages > knemfront->max_region_pages) {
		pr_warn_ratelimited("a region of %u pages, more than the backend's max-region-pages %u\n",
				    core->nr_pages, knemfront->max_region_pages);
		return -EINVAL;
	}
	xr = kzalloc(sizeof(*xr), GFP_KERNEL);
	if (!xr)
		return -ENOMEM;
	err = knemfront_grants_make(&xr->grants, core->segs, core->nr_segs,
				    core->pages, core->nr_pages,
				    !(core->protection & KNEM_PROT_WRITE),
				    KNEMIF_CREATE_MAX_INDIRECT);
	if (err)
		goto out_free;

	req.nr_indirect = xr->grants.nr_indirect;
	req.nr_segs = xr->grants.nr_segs;
	req.u.create.total_len = core->length;
	req.u.create.owner_uid = from_kuid_munged(current_user_ns(),
						  core->owner_uid);
	req.u.create.kflags = core->flags & KNEMIF_KFLAG_CREATE_MASK;
	req.u.create.protection = core->protection & KNEMIF_PROT_MASK;
	for (i = 0; i < xr->grants.nr_indirect; i++)
		req.u.create.indirect[i] = xr->grants.indirect_ref[i];
	err = knemfront_submit(&req, &rsp);
	if (!err && rsp.status)
		err = knemfront_errno(rsp.status);	/* IO is EFAULT too */
	if (!err && (!rsp.val || (rsp.val & KNEMIF_COOKIE_INVALID_BITS))) {
		pr_warn_ratelimited("implausible cookie %016llx\n", rsp.val);
		err = -EIO;
	}
	if (err) {
		/* the backend keeps nothing of a refused create */
		knemfront_grants_end(&xr->grants);
		goto out_free;
	}
	xr->cookie = rsp.val;
	region->xen = xr;
	*cookie = rsp.val;
	return 0;

out_free:
	kfree(xr);
	return err;
}

void knem_xen_region_release(struct knem_user_region *region)
{
	struct knemfront_region *xr = region->xen;
	struct knemif_request req = { .op = KNEMIF_OP_REGION_DESTROY };
	struct knemif_response rsp;

	if (!xr)
		return;
	region->xen = NULL;
	req.u.destroy.cookie = xr->cookie;
	/*
	 * Not connected: the backend dropped this frontend's regions when
	 * it went away.  NOENT: consumed and released already.
	 */
	if (!knemfront_submit(&req, &rsp) && rsp.status &&
	    rsp.status != KNEMIF_E_NOENT)
		pr_warn_ratelimited("destroy of %016llx refused (%u)\n",
				    xr->cookie, rsp.status);
	knemfront_grants_end(&xr->grants);
	kfree(xr);
}

void knem_xen_region_stale(struct knem_user_region *region)
{
}
