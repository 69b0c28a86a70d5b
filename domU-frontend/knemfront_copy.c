// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_copy.c - copies naming another domain's cookie: dom0 runs
 * them (COPY, or INLINE_COPY with the caller's pinned pages granted for
 * the one request), synchronously or on the context's offload worker,
 * like any other copy work of the native layer.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>

#include "knem_native.h"
#include "knemfront.h"

/* The result of a copy response, per doc/xen-protocol.md. */
static int knemfront_copy_result(int err, const struct knemif_response *rsp,
				 knem_status_t *status)
{
	if (err == -EFAULT) {		/* backend gone: a transfer failure */
		*status = KNEM_STATUS_FAILED;
		return 0;
	}
	if (err)
		return err;
	switch (rsp->status) {
	case KNEMIF_E_OK:
		*status = KNEM_STATUS_SUCCESS;
		return 0;
	case KNEMIF_E_FAULT:
	case KNEMIF_E_IO:
		*status = KNEM_STATUS_FAILED;
		return 0;
	default:
		return knemfront_errno(rsp->status);
	}
}

static u32 knemfront_wire_uid(const struct knem_copy_work *work)
{
	return from_kuid_munged(&init_user_ns, work->uid);
}

/* KNEM_FLAG_DMA asks dom0 for its DMA engine, where dom0 offers one. */
static u32 knemfront_wire_kflags(const struct knem_copy_work *work)
{
	return (work->flags & KNEM_FLAG_DMA) && knemfront->feature_dma ?
	       KNEMIF_KFLAG_DMA : 0;
}

/*
 * A local side above one INLINE_COPY: declared in dom0 as a temporary
 * region of this user, copied with one COPY (the remote cookie is looked
 * up once: a single-use region is consumed once), then destroyed.
 */
static int knemfront_inline_copy_large(struct knem_copy_work *work,
				       knem_status_t *status)
{
	const struct knem_copy_req *req = &work->req;
	struct knem_local_iovecs *local = &work->local;
	struct knemfront_region_desc desc = {
		.segs = local->segs,
		.nr_segs = local->nr_segs,
		.pages = local->pages,
		.nr_pages = local->nr_pages,
		.length = local->length,
		.owner_uid = knemfront_wire_uid(work),
		.protection = req->write ? KNEMIF_PROT_READ : KNEMIF_PROT_WRITE,
	};
	struct knemif_request wreq = { .op = KNEMIF_OP_COPY };
	struct knemfront_grants g;
	struct knemif_response rsp;
	bool consumed;
	u64 cookie;
	int err;

	err = knemfront_grants_make(&g, local->pages, local->nr_pages,
				    req->write);
	if (err)
		return err;
	err = knemfront_region_declare(&desc, &g, &cookie);
	if (err) {
		knemfront_grants_end(&g);
		/* not connected, or our own pages refused: a failed transfer */
		return knemfront_copy_result(err, NULL, status);
	}
	if (req->write) {
		wreq.u.copy.src_cookie = cookie;
		wreq.u.copy.dst_cookie = req->remote_cookie;
		wreq.u.copy.dst_offset = req->remote_offset;
	} else {
		wreq.u.copy.src_cookie = req->remote_cookie;
		wreq.u.copy.src_offset = req->remote_offset;
		wreq.u.copy.dst_cookie = cookie;
	}
	wreq.u.copy.length = req->bound;
	wreq.u.copy.uid = knemfront_wire_uid(work);
	wreq.u.copy.kflags = knemfront_wire_kflags(work);
	err = knemfront_submit(&wreq, &rsp);
	err = knemfront_copy_result(err, &rsp, status);
	/* answered once dom0 no longer uses the grants */
	knemfront_region_undeclare(cookie, &consumed);
	knemfront_grants_end(&g);
	return err;
}

static int knemfront_inline_copy(struct knem_copy_work *work,
				 knem_status_t *status)
{
	const struct knem_copy_req *req = &work->req;
	struct knemif_request wreq = { .op = KNEMIF_OP_INLINE_COPY };
	struct knem_local_iovecs *local = &work->local;
	struct knemfront_indirect ind;
	struct knemfront_grants g;
	struct knemif_response rsp;
	u32 i, capacity;
	int err;

	capacity = min_t(u32, knemfront->max_indirect,
			 KNEMIF_INLINE_MAX_INDIRECT) *
		   KNEMIF_SEGS_PER_INDIRECT_PAGE;
	if (local->nr_pages > capacity)
		return knemfront_inline_copy_large(work, status);
	err = knemfront_grants_make(&g, local->pages, local->nr_pages,
				    req->write);
	if (err)
		return err;
	err = knemfront_indirect_make(&ind, local->segs, local->nr_segs, &g,
				      KNEMIF_INLINE_MAX_INDIRECT);
	if (err) {
		knemfront_grants_end(&g);
		return err;
	}
	wreq.flags = req->write ? KNEMIF_F_WRITE : 0;
	wreq.nr_indirect = ind.nr_used;
	wreq.nr_segs = ind.nr_segs;
	wreq.u.inline_copy.remote_cookie = req->remote_cookie;
	wreq.u.inline_copy.remote_offset = req->remote_offset;
	wreq.u.inline_copy.length = req->bound;
	wreq.u.inline_copy.uid = knemfront_wire_uid(work);
	wreq.u.inline_copy.kflags = knemfront_wire_kflags(work);
	for (i = 0; i < ind.nr_used; i++)
		wreq.u.inline_copy.indirect[i] = ind.ref[i];
	err = knemfront_submit(&wreq, &rsp);
	knemfront_indirect_end(&ind);
	knemfront_grants_end(&g);
	return knemfront_copy_result(err, &rsp, status);
}

static int knemfront_region_copy(struct knem_copy_work *work,
				 knem_status_t *status)
{
	const struct knem_copy_req *req = &work->req;
	struct knemif_request wreq = { .op = KNEMIF_OP_COPY };
	struct knemif_response rsp;
	int err;

	wreq.u.copy.src_cookie = req->src_cookie;
	wreq.u.copy.src_offset = req->src_offset;
	wreq.u.copy.dst_cookie = req->dst_cookie;
	wreq.u.copy.dst_offset = req->dst_offset;
	wreq.u.copy.length = req->bound;
	wreq.u.copy.uid = knemfront_wire_uid(work);
	wreq.u.copy.kflags = knemfront_wire_kflags(work);
	err = knemfront_submit(&wreq, &rsp);
	return knemfront_copy_result(err, &rsp, status);
}

int knemfront_remote_prepare(struct knem_copy_work *work,
			     const struct knem_copy_req *req)
{
	int err;

	if (!knemfront || !READ_ONCE(knemfront->connected))
		return -EINVAL;		/* nowhere else to look */
	/* what this guest destroyed or consumed is gone, whatever dom0 says */
	if (req->inline_copy ? knemfront_cookie_is_dead(req->remote_cookie) :
	    knemfront_cookie_is_dead(req->src_cookie) ||
	    knemfront_cookie_is_dead(req->dst_cookie))
		return -EINVAL;
	/* the caller's pages are granted: they must stay put */
	if (req->inline_copy && !work->local.pages) {
		err = knem_local_iovecs_pin(&work->local, !req->write);
		if (err) {
			knem_count(KNEM_COUNTER_REJECTED_PIN_LOCAL);
			return err;
		}
	}
	work->req = *req;
	work->uid = current_uid();
	work->route = KNEM_ROUTE_REMOTE_COOKIE;
	return 0;
}

int knemfront_execute(struct knem_copy_work *work, knem_status_t *status)
{
	int err;

	if (work->req.inline_copy)
		err = knemfront_inline_copy(work, status);
	else
		err = knemfront_region_copy(work, status);
	if (!err)
		knem_count(KNEM_COUNTER_PROCESSED);
	return err;
}
