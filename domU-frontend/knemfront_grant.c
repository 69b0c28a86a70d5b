// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_grant.c - pages granted to dom0: a region's pages for its
 * lifetime or the local side of one copy, and the indirect pages that list
 * them as wire segments for one request.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <xen/page.h>

#include "knem_native.h"
#include "knemfront.h"

/* gnttab_alloc_grant_references() takes a u16 count. */
#define KNEMFRONT_GRANT_BATCH 32768U

/* Grant entries per grant-table frame (version 1 entries, what Linux uses). */
#define KNEMFRONT_GRANTS_PER_FRAME \
	(XEN_PAGE_SIZE / sizeof(struct grant_entry_v1))
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

int knemfront_indirect_alloc(struct knemfront_indirect *ind, u32 nr_pages)
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

int knemfront_indirect_fill(struct knemfront_indirect *ind,
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
