// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_copy.c - the copies the backend runs: a guest's COPY and
 * INLINE_COPY requests, and the copies of dom0's own processes that
 * involve a guest's region (route KNEM_ROUTE_GUEST_REGION).  A side is
 * one of:
 *  - a guest region: grant references of its owner domain;
 *  - a dom0 native region: its pinned pages, as dom0 frames (DOMID_SELF);
 *  - the local segments of an INLINE_COPY: grant references of the
 *    requesting guest, valid for this request only.
 * Both sides with pages in dom0 are copied by the CPU or a DMA engine
 * (knemback_mapcopy.c), the others by grant copies (knemback_gntcopy.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/uidgid.h>

#include "knemback.h"
#include "knem_native.h"

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
	/* the caller's iovecs, pinned for the route KNEM_ROUTE_GUEST_REGION */
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
int knemback_work_execute(struct knem_copy_work *work, knem_status_t *status)
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
