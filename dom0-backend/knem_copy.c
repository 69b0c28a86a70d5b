// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_copy.c - the copy commands: region to region (COPY, COPY_BOUNDED)
 * and between the caller's iovecs and a region (INLINE_COPY,
 * INLINE_COPY_BOUNDED and the legacy SYNC_RECV / INIT_ASYNC_RECV), all
 * funnelled into one copy work that runs inline, on the context's offload
 * worker, or on a DMA-engine channel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/uaccess.h>

#include "knem_native.h"

static int knem_lookup(struct knem_copy_work *work, knem_cookie_t cookie,
		       u32 protection, struct knem_region **region)
{
	struct knem_access access = {
		.uid = current_uid(),
		.protection = protection,
	};
	int err;

	err = knem_region_lookup(cookie, &access, region);
	if (err) {
		knem_debug("cookie %016llx refused for %s (%d)\n", cookie,
			   protection == KNEM_PROT_READ ? "read" : "write",
			   err);
		if (err == -EINVAL)
			work->cookie_unknown = true;
	} else if ((*region)->owner_domid) {
		work->route = KNEM_ROUTE_GUEST_REGION;
	} else if (((*region)->flags & KNEM_FLAG_SINGLEUSE) &&
		   !knem_user_region_claim(*region)) {
		/* another domain used it first: it is gone for us too */
		knem_region_put_sleepable(*region);
		*region = NULL;
		knem_count(KNEM_COUNTER_REJECTED_FINDREGION);
		err = -EINVAL;
	}
	return err;
}

static void knem_side_of_region(struct knem_side *side,
				const struct knem_region *region)
{
	side->kind = KNEM_SIDE_PAGES;
	side->segs = region->segs;
	side->nr_segs = region->nr_segs;
	side->pages = region->pages;
}

static void knem_side_of_local(struct knem_side *side,
			       const struct knem_local_iovecs *local)
{
	side->kind = local->pages ? KNEM_SIDE_PAGES : KNEM_SIDE_USER;
	side->segs = local->segs;
	side->nr_segs = local->nr_segs;
	side->pages = local->pages;
}

knem_status_t knem_copy_work_execute(struct knem_copy_work *work)
{
	u64 copied;
	int err, i;

	if (work->route != KNEM_ROUTE_LOCAL) {
		knem_status_t status;

		/* offloaded: a refusal can only be reported as a failure */
		return knem_xen_execute(work, &status) ? KNEM_STATUS_FAILED :
							 status;
	}
	/*
	 * Decided now, not at submission: in a guest the flag may have been
	 * accepted for dom0's engine, which is gone once the frontend
	 * disconnected; the local copy then runs on the CPU.
	 */
	if ((work->flags & KNEM_FLAG_DMA) && knem_dma_available()) {
		err = knem_dma_copy(&work->src, work->src_offset, &work->dst,
				    work->dst_offset, work->length, &copied);
		if (err) {
			knem_debug("DMA copy failed (%d)\n", err);
			knem_count(KNEM_COUNTER_FAILED_DMA);
			return KNEM_STATUS_FAILED;
		}
	} else {
		err = knem_cpu_copy(&work->src, work->src_offset, &work->dst,
				    work->dst_offset, work->length, &copied);
		if (err) {
			knem_debug("copy stopped after %llu of %llu bytes (%d)\n",
				   copied, work->length, err);
			knem_count(KNEM_COUNTER_FAILED_MEMCPY);
			return KNEM_STATUS_FAILED;
		}
	}
	/*
	 * The owner dropped the memory while we copied: the data is moot.
	 * A region under recheck is waited for, so that a copy never
	 * succeeds into or out of pages its owner dropped meanwhile.
	 */
	for (i = 0; i < ARRAY_SIZE(work->regions); i++)
		if (work->regions[i] && knem_region_settle(work->regions[i]))
			return KNEM_STATUS_FAILED;
	return KNEM_STATUS_SUCCESS;
}

void knem_copy_work_release(struct knem_copy_work *work)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(work->regions); i++)
		if (work->regions[i])
			knem_region_put_sleepable(work->regions[i]);
	knem_local_iovecs_put(&work->local);
}

static int knem_prepare_regions(const struct knem_copy_req *req,
				struct knem_copy_work *work)
{
	struct knem_region *src, *dst;
	int err;

	err = knem_lookup(work, req->src_cookie, KNEM_PROT_READ, &src);
	if (err)
		return err;
	work->regions[0] = src;
	err = knem_lookup(work, req->dst_cookie, KNEM_PROT_WRITE, &dst);
	if (err)
		return err;
	work->regions[1] = dst;
	knem_count(KNEM_COUNTER_PROCESSED);

	knem_side_of_region(&work->src, src);
	knem_side_of_region(&work->dst, dst);
	work->src_offset = req->src_offset;
	work->dst_offset = req->dst_offset;
	work->length = knem_copy_length(src->length, req->src_offset,
					dst->length, req->dst_offset,
					req->bound);
	return 0;
}

static bool knem_must_pin_local(const struct knem_copy_req *req,
				const struct knem_copy_work *work)
{
	u32 flags = work->flags;

	/* Grant copies reach frames, never the caller's mappings. */
	if (work->route != KNEM_ROUTE_LOCAL)
		return true;
	/* Workers and DMA engines cannot reach the caller's mappings. */
	if (flags & (KNEM_FLAG_PINLOCAL | KNEM_FLAG_ANY_ASYNC_MASK |
		     KNEM_FLAG_DMA))
		return true;
	/* Reading the caller's pages: copy_from_user is the slower path. */
	return req->write && knem_param_pinlocalread;
}

static int knem_prepare_inline(const struct knem_copy_req *req,
			       struct knem_copy_work *work)
{
	struct knem_local_iovecs *local = &work->local;
	struct knem_region *remote;
	struct knem_side remote_side;
	int err;

	err = knem_local_iovecs_get(local, req->local_array, req->local_nr);
	if (err) {
		knem_count(KNEM_COUNTER_REJECTED_INVALID_ARGUMENT);
		return err;
	}
	err = knem_lookup(work, req->remote_cookie,
			  req->write ? KNEM_PROT_WRITE : KNEM_PROT_READ,
			  &remote);
	if (err)
		return err;
	work->regions[0] = remote;
	knem_count(KNEM_COUNTER_PROCESSED);

	if (req->write)
		work->length = knem_copy_length(local->length, 0,
						remote->length,
						req->remote_offset, req->bound);
	else
		work->length = knem_copy_length(remote->length,
						req->remote_offset,
						local->length, 0, req->bound);
	if (knem_must_pin_local(req, work)) {
		/*
		 * The local iovecs are the caller's word: only what the copy
		 * reaches (at most the region) is pinned, so that their size
		 * never sizes an allocation.
		 */
		knem_local_iovecs_trim(local, work->length);
		err = knem_local_iovecs_pin(local, !req->write);
		if (err) {
			knem_count(KNEM_COUNTER_REJECTED_PIN_LOCAL);
			return err;
		}
		knem_count(KNEM_COUNTER_PROCESSED_PINLOCAL);
	}

	knem_side_of_region(&remote_side, remote);
	if (req->write) {
		knem_side_of_local(&work->src, local);
		work->dst = remote_side;
		work->dst_offset = req->remote_offset;
	} else {
		work->src = remote_side;
		work->src_offset = req->remote_offset;
		knem_side_of_local(&work->dst, local);
	}
	return 0;
}

/* Whether the work leaves the ioctl: the worker or a detached DMA runs it. */
static bool knem_offloaded(u32 flags)
{
	if (flags & KNEM_FLAG_DMA)
		return flags & (KNEM_FLAG_DMATHREAD |
				KNEM_FLAG_ASYNCDMACOMPLETE);
	return flags & KNEM_FLAG_MEMCPYTHREAD;
}

/*
 * Runs @work in the ioctl: 0 with *@status, or the errno of a check made
 * where a Xen copy runs.
 */
static int knem_copy_work_run(struct knem_copy_work *work,
			      knem_status_t *status)
{
	if (work->route != KNEM_ROUTE_LOCAL)
		return knem_xen_execute(work, status);
	*status = work->length ? knem_copy_work_execute(work) :
				 KNEM_STATUS_SUCCESS;
	return 0;
}

/*
 * An asynchronous copy, its slot already PENDING: the slot gets the result
 * when this copy and every older one of the context are done.  Once this
 * returns 0, @work is the context's.
 */
static int knem_run_async(struct knem_context *ctx,
			  struct knem_copy_work *work, knem_status_t *status)
{
	struct knem_async *async = &ctx->async;
	knem_status_t done;
	int err;

	/* Nothing to move completes at once, as in the classic driver. */
	if ((work->length || work->route != KNEM_ROUTE_LOCAL) &&
	    knem_offloaded(work->flags)) {
		knem_async_enqueue(async, work);
		knem_count(KNEM_COUNTER_PROCESSED_THREAD);
		knem_async_offload(async, work);
		*status = KNEM_STATUS_PENDING;
		return 0;
	}
	err = knem_copy_work_run(work, &done);
	if (err)
		return err;
	knem_async_enqueue(async, work);
	*status = knem_async_complete(async, work, done);
	return 0;
}

static int knem_copy_check(struct knem_context *ctx,
			   const struct knem_copy_req *req, u32 *flags)
{
	struct knem_async_caps caps = { 0 };
	int err;

	caps.nr_slots = knem_async_nr_slots(&ctx->async);
	caps.have_status_array = caps.nr_slots != 0;
	caps.have_dma = knem_dma_available() || knem_xen_dma_available(ctx);

	err = knem_flags_for_copy(&ctx->policy, req->flags, flags);
	if (!err && req->always_async)
		err = knem_flags_check_async_recv(*flags, req->slot, &caps);
	else if (!err)
		err = knem_flags_check_copy(*flags, req->slot, &caps);
	if (err) {
		knem_debug("copy: flags 0x%x refused\n", req->flags);
		knem_count(KNEM_COUNTER_REJECTED_INVALID_FLAGS);
	}
	return err;
}

static int knem_copy_submit(struct knem_context *ctx,
			    const struct knem_copy_req *req,
			    knem_status_t *status)
{
	struct knem_copy_work stack_work, *work = &stack_work;
	bool async;
	u32 flags;
	int err;

	err = knem_copy_check(ctx, req, &flags);
	if (err)
		return err;
	async = req->always_async || (flags & KNEM_FLAG_ANY_ASYNC_MASK);
	if (async) {
		work = kzalloc(sizeof(*work), GFP_KERNEL_ACCOUNT);
		if (!work) {
			knem_count(KNEM_COUNTER_REJECTED_NOMEM);
			return -ENOMEM;
		}
	} else {
		memset(work, 0, sizeof(*work));
	}
	work->ctx = ctx;
	work->flags = flags;
	work->slot = req->slot;
	if (flags & KNEM_FLAG_NOTIFY_FD) {
		err = knem_async_reserve_notify(&ctx->async);
		if (err)
			goto out_free;
		work->notify = true;
	}
	if (async) {
		err = knem_async_reserve_queued(&ctx->async);
		if (err)
			goto out_cancel_notify;
		work->queued = true;
	}
	/* Even a request that fails from here on leaves its slot PENDING. */
	if (async)
		knem_async_set_slot(&ctx->async, req->slot,
				    KNEM_STATUS_PENDING);
	knem_count(KNEM_COUNTER_SUBMITTED);

	if (req->inline_copy)
		err = knem_prepare_inline(req, work);
	else
		err = knem_prepare_regions(req, work);
	if (err == -EINVAL && work->cookie_unknown) {
		/* Another domain's region: the Xen side may reach it. */
		err = knem_xen_remote_prepare(work, req);
		if (err == -EINVAL)
			knem_count(KNEM_COUNTER_REJECTED_FINDREGION);
	}
	if (err)
		goto out_release;
	/* Xen copies are grant copies, whatever the flags asked for. */
	if ((flags & KNEM_FLAG_DMA) && work->route == KNEM_ROUTE_LOCAL &&
	    knem_dma_available())
		knem_count(KNEM_COUNTER_PROCESSED_DMA);

	/* A copy of nothing produces no notify event (classic behaviour). */
	if (!work->length && work->route == KNEM_ROUTE_LOCAL &&
	    work->notify) {
		knem_async_cancel_notify(&ctx->async);
		work->notify = false;
	}
	if (async) {
		err = knem_run_async(ctx, work, status);
		if (!err)
			return 0;
		goto out_release;
	}
	err = knem_copy_work_run(work, status);

out_release:
	knem_copy_work_release(work);
	if (work->queued)
		knem_async_cancel_queued(&ctx->async);
out_cancel_notify:
	if (work->notify)
		knem_async_cancel_notify(&ctx->async);
out_free:
	if (work != &stack_work)
		kfree(work);
	return err;
}

typedef void (*knem_fill_fn)(struct knem_copy_req *req, const void *param);

/*
 * Reads a copy command's structure, runs it and writes the structure back
 * with its status.  Nothing is written back when the command fails.
 */
static long knem_copy_cmd(struct knem_context *ctx, void __user *uarg,
			  void *param, size_t size, knem_fill_fn fill,
			  u32 *current_status)
{
	knem_status_t status = KNEM_STATUS_SUCCESS;
	struct knem_copy_req req = { .bound = U64_MAX };
	long err;

	if (copy_from_user(param, uarg, size))
		return -EFAULT;
	fill(&req, param);
	err = knem_copy_submit(ctx, &req, &status);
	if (err)
		return err;
	*current_status = status;
	if (copy_to_user(uarg, param, size))
		return -EFAULT;
	return 0;
}

/* The fields both region-to-region commands have, whatever their struct. */
#define knem_fill_copy_common(req, p)					\
	do {								\
		(req)->flags = (p)->flags;				\
		(req)->slot = (p)->async_status_index;			\
		(req)->src_cookie = (p)->src_cookie;			\
		(req)->src_offset = (p)->src_offset;			\
		(req)->dst_cookie = (p)->dst_cookie;			\
		(req)->dst_offset = (p)->dst_offset;			\
	} while (0)

static void knem_fill_copy(struct knem_copy_req *req, const void *param)
{
	const struct knem_cmd_copy *p = param;

	knem_fill_copy_common(req, p);
}

static void knem_fill_copy_bounded(struct knem_copy_req *req,
				   const void *param)
{
	const struct knem_cmd_copy_bounded *p = param;

	knem_fill_copy_common(req, p);
	req->bound = p->length;
}

/* The fields both inline commands have, whatever their struct. */
#define knem_fill_inline_common(req, p)					\
	do {								\
		(req)->inline_copy = true;				\
		(req)->flags = (p)->flags;				\
		(req)->slot = (p)->async_status_index;			\
		(req)->local_array = (p)->local_iovec_array;		\
		(req)->local_nr = (p)->local_iovec_nr;			\
		(req)->write = (p)->write != 0;				\
		(req)->remote_cookie = (p)->remote_cookie;		\
		(req)->remote_offset = (p)->remote_offset;		\
	} while (0)

static void knem_fill_inline(struct knem_copy_req *req, const void *param)
{
	const struct knem_cmd_inline_copy *p = param;

	knem_fill_inline_common(req, p);
}

static void knem_fill_inline_bounded(struct knem_copy_req *req,
				     const void *param)
{
	const struct knem_cmd_inline_copy_bounded *p = param;

	knem_fill_inline_common(req, p);
	req->bound = p->length;
}

static long knem_sync_recv(struct knem_context *ctx, void __user *uarg)
{
	struct knem_cmd_sync_recv_param param;
	knem_status_t status = KNEM_STATUS_SUCCESS;
	struct knem_copy_req req = { .bound = U64_MAX, .inline_copy = true };
	long err;

	if (copy_from_user(&param, uarg, sizeof(param)))
		return -EFAULT;
	if (param.flags & KNEM_FLAG_NOTIFY_FD)
		return -EINVAL;
	req.flags = param.flags & ~KNEM_FLAG_ANY_ASYNC_MASK;
	req.local_array = param.recv_iovec_array;
	req.local_nr = param.recv_iovec_nr;
	req.remote_cookie = param.send_cookie;
	err = knem_copy_submit(ctx, &req, &status);
	if (err)
		return err;
	param.status = status;
	if (copy_to_user(uarg, &param, sizeof(param)))
		return -EFAULT;
	return 0;
}

/* Always reports through its slot; nothing is written back. */
static long knem_init_async_recv(struct knem_context *ctx, void __user *uarg)
{
	struct knem_cmd_init_async_recv_param param;
	knem_status_t status = KNEM_STATUS_SUCCESS;
	struct knem_copy_req req = {
		.bound = U64_MAX,
		.inline_copy = true,
		.always_async = true,
	};

	if (copy_from_user(&param, uarg, sizeof(param)))
		return -EFAULT;
	req.flags = param.flags;
	req.slot = param.status_index;
	req.local_array = param.recv_iovec_array;
	req.local_nr = param.recv_iovec_nr;
	req.remote_cookie = param.send_cookie;
	return knem_copy_submit(ctx, &req, &status);
}

long knem_copy_ioctl(struct knem_context *ctx, unsigned int cmd,
		     void __user *uarg)
{
	union {
		struct knem_cmd_copy copy;
		struct knem_cmd_copy_bounded copy_bounded;
		struct knem_cmd_inline_copy inline_copy;
		struct knem_cmd_inline_copy_bounded inline_bounded;
	} p;

	switch (cmd) {
	case KNEM_CMD_COPY:
		return knem_copy_cmd(ctx, uarg, &p.copy, sizeof(p.copy),
				     knem_fill_copy, &p.copy.current_status);
	case KNEM_CMD_COPY_BOUNDED:
		return knem_copy_cmd(ctx, uarg, &p.copy_bounded,
				     sizeof(p.copy_bounded),
				     knem_fill_copy_bounded,
				     &p.copy_bounded.current_status);
	case KNEM_CMD_INLINE_COPY:
		return knem_copy_cmd(ctx, uarg, &p.inline_copy,
				     sizeof(p.inline_copy), knem_fill_inline,
				     &p.inline_copy.current_status);
	case KNEM_CMD_INLINE_COPY_BOUNDED:
		return knem_copy_cmd(ctx, uarg, &p.inline_bounded,
				     sizeof(p.inline_bounded),
				     knem_fill_inline_bounded,
				     &p.inline_bounded.current_status);
	case KNEM_CMD_SYNC_RECV:
		return knem_sync_recv(ctx, uarg);
	case KNEM_CMD_INIT_ASYNC_RECV:
		return knem_init_async_recv(ctx, uarg);
	default:
		/* Not reached: knem_ioctl() only passes copy commands. */
		return -ENOSYS;
	}
}
