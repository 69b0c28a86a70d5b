// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_copy_map.c - one kernel mapping over the pages a CPU copy reaches.
 *
 * Reached through the direct map, 4 KiB pages of separate folios are
 * copied one copy_to_user() (or memcpy()) each: the checks around each
 * call (hardened usercopy's, the call chain, the walk's look at the page)
 * cost about half of what copying the page does.  Mapped contiguously, the
 * copy moves up to 64 pages per call.  A cached region, copied again and
 * again, keeps its mapping (knem_user_region_mapping()), as does a
 * single-use region over the kept pins of an earlier one; other
 * single-use regions and pinned local pages are mapped for the copy
 * (vm_map_ram(), which serves short-lived mappings of a few pages from
 * per-CPU blocks).
 * Pages of transparent huge pages are copied in runs already and are not
 * mapped; without vmalloc space the copy maps page by page as before.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/numa.h>
#include <linux/vmalloc.h>
#include <xen/xen.h>

#include "knem_native.h"

/*
 * Below these many pages, a mapping costs more than the checks it saves
 * (measured: see doc/design-native.md): a region's kept mapping is made
 * once, one for the copy at every copy.
 */
#define KNEM_MAP_KEPT_MIN_PAGES 2
#define KNEM_MAP_TEMP_MIN_PAGES 16

/* A mapping made for one copy, or none (@addr NULL). */
struct knem_copy_mapping {
	void *addr;
	u32 nr_pages;
};

/*
 * Gives @side, for a copy of @length bytes from @offset, a contiguous
 * mapping of the pages that copy reaches where that pays: the region's
 * kept one, else one made for the copy in @temp.  Sides of several
 * segments are left alone (the general walk copies page by page).
 */
static void knem_copy_map_side(struct knem_side *side, u64 offset,
			       u64 length, struct knem_copy_mapping *temp)
{
	const struct knem_seg *seg = &side->segs[0];
	u32 first, nr_pages;

	temp->addr = NULL;
	if (side->kind != KNEM_SIDE_PAGES || side->nr_segs != 1 || !length)
		return;
	first = seg->first_page +
		(u32)((KNEM_PAGE_OFFSET(seg->addr) + offset) >> PAGE_SHIFT);
	nr_pages = (u32)knem_range_nr_pages(seg->addr + offset, length);
	if (nr_pages < KNEM_MAP_KEPT_MIN_PAGES ||
	    knem_page_may_run(side->pages[first]))
		return;

	if (side->region) {
		side->mapped = knem_user_region_mapping(side->region);
		side->mapped_first = 0;
		if (side->mapped)
			return;
	}
	/*
	 * A Xen PV domain writes its page tables through the hypervisor: a
	 * mapping made and torn down per copy cost 4 times what it saves
	 * (single-use messages of 16 MiB in dom0 went from 2717 to 957 MB/s,
	 * deterministic mode).  A kept mapping is made once and pays there.
	 */
	if (nr_pages < KNEM_MAP_TEMP_MIN_PAGES || xen_pv_domain())
		return;
	temp->addr = vm_map_ram((struct page **)side->pages + first, nr_pages,
				NUMA_NO_NODE);
	if (!temp->addr)
		return;
	temp->nr_pages = nr_pages;
	side->mapped = temp->addr;
	side->mapped_first = first;
}

static void knem_copy_unmap(const struct knem_copy_mapping *temp)
{
	if (temp->addr)
		vm_unmap_ram(temp->addr, temp->nr_pages);
}

int knem_copy_work_cpu(const struct knem_copy_work *work, u64 *copied)
{
	struct knem_side src = work->src, dst = work->dst;
	struct knem_copy_mapping src_temp, dst_temp;
	int err;

	knem_copy_map_side(&src, work->src_offset, work->length, &src_temp);
	knem_copy_map_side(&dst, work->dst_offset, work->length, &dst_temp);
	err = knem_cpu_copy(&src, work->src_offset, &dst, work->dst_offset,
			    work->length, copied);
	knem_copy_unmap(&dst_temp);
	knem_copy_unmap(&src_temp);
	return err;
}
