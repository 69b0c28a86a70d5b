// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_gntcopy.c - COPY and INLINE_COPY with GNTTABOP_copy.
 *
 * The common planner cuts the transfer into chunks that never cross a
 * page on either side; each chunk becomes one struct gnttab_copy, emitted
 * in page order (consecutive ops reuse the same grant in Xen) and issued
 * in batches of KNEMBACK_COPY_BATCH through gnttab_batch_copy().  Every
 * op's status is checked; the copy stops at the first failure and
 * reports the bytes of the ops before it.
 *
 * A side is one of:
 *  - a guest region: grant references of its owner domain;
 *  - a dom0 native region: its pinned pages, as dom0 frames (DOMID_SELF);
 *  - the local segments of an INLINE_COPY: grant references of the
 *    requesting guest, valid for this request only.
 */
#define pr_fmt(fmt) "knemback: " fmt

#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include <xen/page.h>

#include "knemback.h"
#include "knem_native.h"

struct knemback_side {
	const struct knem_seg *segs;
	u32 nr_segs;
	u32 nr_pages;
	const u32 *grefs;		/* grant side, or NULL */
	domid_t domid;			/* of the grants */
	struct page *const *pages;	/* dom0 side */
	struct knem_region *region;	/* checked for staleness, or NULL */
	u64 length;
};

u16 knemback_lookup_status(int err)
{
	switch (err) {
	case 0:
		return KNEMIF_E_OK;
	case -EINVAL:
		return KNEMIF_E_NOENT;
	case -EPERM:
		return KNEMIF_E_PERM;
	case -EACCES:
		return KNEMIF_E_ACCES;
	case -EFAULT:
		return KNEMIF_E_STALE;
	case -ENOMEM:
		return KNEMIF_E_NOMEM;
	default:
		return KNEMIF_E_INVAL;
	}
}

/* Looks @cookie up for @ifc's guest user @uid; returns a wire status. */
static int knemback_lookup(struct knemback_if *ifc, u64 cookie, u32 uid,
			   u32 prot, struct knem_region **region)
{
	struct knem_access access = {
		.uid = make_kuid(&init_user_ns, uid),
		.protection = prot,
		.domid = ifc->table_domid,
	};
	int err;

	err = knem_region_lookup(cookie, &access, region);
	if (err == -EINVAL) {
		atomic64_inc(&ifc->stats.unknown_cookies);
		pr_info_ratelimited("domain %u: lookup of an unknown cookie\n",
				    ifc->domid);
	}
	return knemback_lookup_status(err);
}

/* Describes a looked-up region as a copy side; PERM for unshared ones. */
static int knemback_region_side(struct knem_region *region,
				struct knemback_side *side)
{
	memset(side, 0, sizeof(*side));
	side->segs = region->segs;
	side->nr_segs = region->nr_segs;
	side->nr_pages = region->nr_pages;
	side->region = region;
	side->length = region->length;
	if (region->ops == knemback_region_ops()) {
		struct knemback_region *r = knemback_region_of(region);

		if (r->unshared)
			return KNEMIF_E_PERM;
		side->grefs = r->grefs;
		side->domid = r->ifc->domid;
	} else {
		if (region->nr_pages && !region->pages)
			return KNEMIF_E_PERM;
		side->pages = region->pages;
	}
	return KNEMIF_E_OK;
}

/* Fills one end of a grant-copy op; false for a page beyond the side. */
static bool knemback_ptr(const struct knemback_side *side, u32 page,
			 u64 addr, struct gnttab_copy_ptr *ptr, u16 *flags,
			 u16 gref_flag)
{
	if (page >= side->nr_pages)
		return false;
	if (side->grefs) {
		ptr->u.ref = side->grefs[page];
		ptr->domid = side->domid;
		*flags |= gref_flag;
	} else {
		ptr->u.gmfn = xen_page_to_gfn(side->pages[page]);
		ptr->domid = DOMID_SELF;
	}
	ptr->offset = KNEM_PAGE_OFFSET(addr);
	return true;
}

/* Waits for the recheck of a dom0 process's region first: may sleep. */
static bool knemback_side_stale(const struct knemback_side *side)
{
	return side->region && knem_region_settle(side->region);
}

/*
 * Issues @n ops; adds the bytes of the successful ones before the first
 * failure to *@copied.  Returns the index of the failing op, or -1.
 */
static int knemback_flush(struct gnttab_copy *ops, u32 n, u64 *copied)
{
	u32 i;

	gnttab_batch_copy(ops, n);
	for (i = 0; i < n; i++) {
		if (ops[i].status != GNTST_okay)
			return i;
		*copied += ops[i].len;
	}
	return -1;
}

/* A guest's ring thread stops on kthread_stop(); a process when killed. */
static bool knemback_must_stop(void)
{
	if (current->flags & PF_KTHREAD)
		return kthread_should_stop();
	return fatal_signal_pending(current);
}

enum knemback_copy_result {
	KNEMBACK_COPY_OK,
	KNEMBACK_COPY_FAILED,	/* a grant op failed */
	KNEMBACK_COPY_STALE,	/* a region turned stale */
	KNEMBACK_COPY_STOPPED,	/* the thread must stop */
	KNEMBACK_COPY_ENGINE,	/* the CPU or DMA engine failed */
};

/*
 * Copies @length bytes (bounded by knem_copy_length()) with the
 * KNEMBACK_COPY_BATCH ops of @ops and stores the bytes copied before any
 * failure in *@copied.
 */
static enum knemback_copy_result
knemback_gntcopy(struct gnttab_copy *ops, const struct knemback_side *src,
		 u64 src_offset, const struct knemback_side *dst,
		 u64 dst_offset, u64 length, u64 *copied)
{
	struct knem_plan plan;
	struct knem_chunk chunk;
	struct gnttab_copy *op;
	bool have;
	u32 n = 0;

	*copied = 0;
	knem_plan_init(&plan, src->segs, src->nr_segs, src_offset,
		       dst->segs, dst->nr_segs, dst_offset, length);
	for (;;) {
		have = knem_plan_next(&plan, &chunk);
		if (have) {
			op = &ops[n];
			memset(op, 0, sizeof(*op));
			if (!knemback_ptr(src, chunk.src_page, chunk.src_addr,
					  &op->source, &op->flags,
					  GNTCOPY_source_gref) ||
			    !knemback_ptr(dst, chunk.dst_page, chunk.dst_addr,
					  &op->dest, &op->flags,
					  GNTCOPY_dest_gref)) {
				/* cannot happen with well-formed regions */
				pr_warn_ratelimited("a copy chunk beyond its region\n");
				if (n)
					knemback_flush(ops, n, copied);
				return KNEMBACK_COPY_FAILED;
			}
			op->len = chunk.len;
			if (++n < KNEMBACK_COPY_BATCH)
				continue;
		}
		if (n) {
			if (knemback_flush(ops, n, copied) >= 0)
				return KNEMBACK_COPY_FAILED;
			n = 0;
			if (knemback_side_stale(src) ||
			    knemback_side_stale(dst))
				return KNEMBACK_COPY_STALE;
			if (knemback_must_stop())
				return KNEMBACK_COPY_STOPPED;
			cond_resched();
		}
		if (!have)
			return KNEMBACK_COPY_OK;
	}
}

/*
 * The pages of @side for the CPU or a DMA engine: dom0's own pages, or
 * the persistent mapping of a guest region (returned in *@map, to put).
 * False: the side is grant-copied.
 */
static bool knemback_side_pages(const struct knemback_side *side, u64 length,
				struct knemback_map **map, struct knem_side *out)
{
	*map = NULL;
	out->kind = KNEM_SIDE_PAGES;
	out->segs = side->segs;
	out->nr_segs = side->nr_segs;
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
static bool knemback_mapped_copy(const struct knemback_side *src,
				 u64 src_offset,
				 const struct knemback_side *dst,
				 u64 dst_offset, u64 length, bool dma,
				 struct knemback_stats *stats,
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

/* The wire status of a COPY's result. */
static u16 knemback_copy_status(enum knemback_copy_result res)
{
	switch (res) {
	case KNEMBACK_COPY_OK:
		return KNEMIF_E_OK;
	case KNEMBACK_COPY_ENGINE:
		return KNEMIF_E_IO;
	default:
		return KNEMIF_E_FAULT;
	}
}

void knemback_copy(struct knemback_if *ifc,
		   const struct knemif_req_checked *req)
{
	const typeof(req->u.copy) *c = &req->u.copy;
	struct knem_region *src_region = NULL, *dst_region = NULL;
	struct knemback_side src, dst;
	enum knemback_copy_result res;
	u64 length, copied = 0;
	int status;

	status = knemback_lookup(ifc, c->src_cookie, c->uid, KNEM_PROT_READ,
				 &src_region);
	if (status)
		goto out;
	status = knemback_lookup(ifc, c->dst_cookie, c->uid, KNEM_PROT_WRITE,
				 &dst_region);
	if (status)
		goto out;
	status = knemback_region_side(src_region, &src);
	if (status)
		goto out;
	status = knemback_region_side(dst_region, &dst);
	if (status)
		goto out;

	length = knem_copy_length(src.length, c->src_offset, dst.length,
				  c->dst_offset, c->length);
	if (!knemback_mapped_copy(&src, c->src_offset, &dst, c->dst_offset,
				  length, c->kflags & KNEMIF_KFLAG_DMA,
				  &ifc->stats, &res, &copied)) {
		res = knemback_gntcopy(ifc->ops, &src, c->src_offset, &dst,
				       c->dst_offset, length, &copied);
		atomic64_inc(&ifc->stats.by_grant_copy);
	}
	status = knemback_copy_status(res);
	atomic64_inc(&ifc->stats.copies);
	atomic64_add(copied, &ifc->stats.bytes);
out:
	if (dst_region)
		knem_region_put(dst_region);
	if (src_region)
		knem_region_put(src_region);
	knemback_respond(ifc, req, status, 0, copied);
}

void knemback_inline_copy(struct knemback_if *ifc,
			  const struct knemif_req_checked *req)
{
	const typeof(req->u.inline_copy) *c = &req->u.inline_copy;
	struct knem_region *region = NULL;
	struct knemback_side remote, local;
	struct knem_seg *segs = NULL;
	enum knemback_copy_result res;
	u64 local_len = 0, length, copied = 0;
	u32 *grefs = NULL;
	int status;
	u32 k;

	/* the local side first: a malformed one consumes nothing */
	status = knemback_fetch_segs(ifc, req, &local_len);
	if (status)
		goto out;
	segs = kvmalloc_array(max(req->nr_segs, 1U), sizeof(*segs),
			      GFP_KERNEL);
	grefs = kvmalloc_array(max(req->nr_segs, 1U), sizeof(*grefs),
			       GFP_KERNEL);
	if (!segs || !grefs) {
		status = KNEMIF_E_NOMEM;
		goto out;
	}
	for (k = 0; k < req->nr_segs; k++) {
		const struct knemif_seg *seg = knemback_seg(ifc, k);

		segs[k].addr = seg->offset;
		segs[k].len = seg->len;
		segs[k].first_page = k;
		grefs[k] = seg->gref;
	}
	memset(&local, 0, sizeof(local));
	local.segs = segs;
	local.nr_segs = req->nr_segs;
	local.nr_pages = req->nr_segs;
	local.grefs = grefs;
	local.domid = ifc->domid;
	local.length = local_len;

	status = knemback_lookup(ifc, c->remote_cookie, c->uid,
				 c->write ? KNEM_PROT_WRITE : KNEM_PROT_READ,
				 &region);
	if (status)
		goto out;
	status = knemback_region_side(region, &remote);
	if (status)
		goto out;

	if (c->write) {
		length = knem_copy_length(local_len, 0, remote.length,
					  c->remote_offset, c->length);
		res = knemback_gntcopy(ifc->ops, &local, 0, &remote,
				       c->remote_offset, length, &copied);
	} else {
		length = knem_copy_length(remote.length, c->remote_offset,
					  local_len, 0, c->length);
		res = knemback_gntcopy(ifc->ops, &remote, c->remote_offset, &local,
				       0, length, &copied);
	}
	atomic64_inc(&ifc->stats.by_grant_copy);
	switch (res) {
	case KNEMBACK_COPY_OK:
		status = KNEMIF_E_OK;
		break;
	case KNEMBACK_COPY_FAILED:
		/*
		 * dom0's own pages cannot fail: then it was the local side.
		 * Otherwise the region's owner is blamed (FAULT).
		 */
		status = remote.grefs ? KNEMIF_E_FAULT : KNEMIF_E_IO;
		break;
	default:
		status = KNEMIF_E_FAULT;
		break;
	}
	atomic64_inc(&ifc->stats.copies);
	atomic64_add(copied, &ifc->stats.bytes);
out:
	if (region)
		knem_region_put(region);
	kvfree(grefs);
	kvfree(segs);
	knemback_respond(ifc, req, status, 0, copied);
}

/* One side of a native copy work as a grant-copy side. */
static int knemback_work_side(const struct knem_copy_work *work,
			      const struct knem_side *side,
			      struct knemback_side *out)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(work->regions); i++)
		if (work->regions[i] && side->segs == work->regions[i]->segs)
			return knemback_region_side(work->regions[i], out);
	/* the caller's iovecs, pinned because work->xen is set */
	if (side->kind != KNEM_SIDE_PAGES)
		return KNEMIF_E_INVAL;
	memset(out, 0, sizeof(*out));
	out->segs = side->segs;
	out->nr_segs = side->nr_segs;
	out->nr_pages = work->local.nr_pages;
	out->pages = side->pages;
	out->length = work->local.length;
	return KNEMIF_E_OK;
}

/*
 * A copy of one of dom0's processes that involves a guest's region: the
 * lookups were made by the native layer; the transfer is grant copies,
 * or the CPU or DMA engine through persistent mappings.
 */
int knem_xen_execute(struct knem_copy_work *work, knem_status_t *status)
{
	enum knemback_copy_result res;
	struct knemback_side src, dst;
	struct gnttab_copy *ops;
	u64 copied;

	if (knemback_work_side(work, &work->src, &src) ||
	    knemback_work_side(work, &work->dst, &dst))
		return -EPERM;		/* an unshared region */
	if (!knemback_mapped_copy(&src, work->src_offset, &dst,
				  work->dst_offset, work->length,
				  work->flags & KNEM_FLAG_DMA, NULL, &res,
				  &copied)) {
		ops = kmalloc_array(KNEMBACK_COPY_BATCH, sizeof(*ops),
				    GFP_KERNEL);
		if (!ops)
			return -ENOMEM;
		res = knemback_gntcopy(ops, &src, work->src_offset, &dst,
				       work->dst_offset, work->length, &copied);
		kfree(ops);
	}
	*status = res == KNEMBACK_COPY_OK ? KNEM_STATUS_SUCCESS :
					    KNEM_STATUS_FAILED;
	return 0;
}
