// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_mapcopy.c - copies by dom0's CPU or DMA engine when both sides
 * have pages in dom0: dom0's own regions, and guest regions that the
 * mapping cache holds mapped (knemback_map.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "knemback.h"
#include "knem_native.h"

/*
 * The pages of @side for the CPU or a DMA engine: dom0's own pages, or
 * the persistent mapping of a guest region (returned in *@map, to put).
 * False: the side is grant-copied.
 */
static bool knemback_side_pages(const struct knemback_side *side, u64 length,
				struct knemback_map **map, struct knem_side *out)
{
	*map = NULL;
	*out = (struct knem_side){
		.kind = KNEM_SIDE_PAGES,
		.segs = side->segs,
		.nr_segs = side->nr_segs,
	};
	if (!side->grefs) {
		out->pages = side->pages;
		return true;
	}
	*map = knemback_map_get(knemback_region_of(side->region), length);
	if (!*map)
		return false;
	out->pages = knemback_map_pages(*map);
	return true;
}

/* Dom0's pages, or a guest region the cache may map (not inline grants). */
static bool knemback_side_mappable(const struct knemback_side *side)
{
	if (!side->grefs)
		return true;
	return side->region && side->region->ops == knemback_region_ops() &&
	       knemback_map_possible(knemback_region_of(side->region));
}

/*
 * Copies with the CPU, or the DMA engine if @dma and dom0 has a channel,
 * when both sides have pages in dom0; false when they do not and the
 * caller grant-copies.  @stats, if any, counts the engine used.
 */
bool knemback_mapped_copy(const struct knemback_side *src, u64 src_offset,
			  const struct knemback_side *dst, u64 dst_offset,
			  u64 length, bool dma, struct knemback_stats *stats,
			  enum knemback_copy_result *res, u64 *copied)
{
	struct knemback_map *src_map = NULL, *dst_map = NULL;
	bool have_src, have_dst, done = false;
	struct knem_side s, d;
	int err;

	if (!length || !knemback_side_mappable(src) ||
	    !knemback_side_mappable(dst))
		return false;
	/* both sides count the copy toward their mapping, whatever the other */
	have_src = knemback_side_pages(src, length, &src_map, &s);
	have_dst = knemback_side_pages(dst, length, &dst_map, &d);
	if (!have_src || !have_dst)
		goto out;
	dma = dma && knem_dma_available();
	if (dma)
		err = knem_dma_copy(&s, src_offset, &d, dst_offset, length,
				    copied);
	else
		err = knem_cpu_copy(&s, src_offset, &d, dst_offset, length,
				    copied);
	if (err)
		*res = KNEMBACK_COPY_ENGINE;
	else if (knemback_side_stale(src) || knemback_side_stale(dst))
		*res = KNEMBACK_COPY_STALE;
	else
		*res = KNEMBACK_COPY_OK;
	if (stats)
		atomic64_inc(dma ? &stats->by_dma : &stats->by_mapping);
	done = true;
out:
	if (dst_map)
		knemback_map_put(knemback_region_of(dst->region), dst_map);
	if (src_map)
		knemback_map_put(knemback_region_of(src->region), src_map);
	return done;
}
