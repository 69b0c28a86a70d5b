// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_copy.c - the copy commands: region to region (COPY, COPY_BOUNDED)
 * and between the caller's iovecs and a region (INLINE_COPY,
 * INLINE_COPY_BOUNDED and the legacy SYNC_RECV / INIT_ASYNC_RECV), all
 * funnelled into one request that the core plans and the CPU executes.
 */
#define pr_fmt(fmt) "knem: " fmt

#include <linux/uaccess.h>

#include "knem_cpu_copy.h"
#include "knem_native.h"

/* A copy command, whatever its ioctl. */
struct knem_copy_req {
	u32 flags;
	u32 slot;
	u64 bound;			/* U64_MAX: unbounded */
	bool inline_copy;
	/* region to region */
	knem_cookie_t src_cookie;
	u64 src_offset;
	knem_cookie_t dst_cookie;
	u64 dst_offset;
	/* inline: the caller's iovecs and one region */
	u64 local_array;
	u32 local_nr;
	bool write;			/* local iovecs into the region */
	knem_cookie_t remote_cookie;
	u64 remote_offset;
};

static int knem_lookup(knem_cookie_t cookie, u32 protection,
		       struct knem_region **region)
{
	struct knem_access access = {
		.uid = current_uid(),
		.protection = protection,
	};
	int err;

	err = knem_cookie_table_lookup(&knem_cookies, cookie, &access, region);
	if (err) {
		knem_debug("cookie %016llx refused for %s (%d)\n", cookie,
			   protection == KNEM_PROT_READ ? "read" : "write",
			   err);
		if (err == -EINVAL)
			knem_count(KNEM_COUNTER_REJECTED_FINDREGION);
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

static knem_status_t knem_run_cpu_copy(const struct knem_side *src,
				       u64 src_offset,
				       const struct knem_side *dst,
				       u64 dst_offset, u64 length,
				       const struct knem_region *remote_a,
				       const struct knem_region *remote_b)
{
	u64 copied;
	int err;

	err = knem_cpu_copy(src, src_offset, dst, dst_offset, length, &copied);
	if (err) {
		knem_debug("copy stopped after %llu of %llu bytes (%d)\n",
			   copied, length, err);
		knem_count(KNEM_COUNTER_FAILED_MEMCPY);
		return KNEM_STATUS_FAILED;
	}
	/* The owner dropped the memory while we copied: the data is moot. */
	if ((remote_a && knem_region_is_stale(remote_a)) ||
	    (remote_b && knem_region_is_stale(remote_b)))
		return KNEM_STATUS_FAILED;
	return KNEM_STATUS_SUCCESS;
}

static int knem_copy_regions(const struct knem_copy_req *req,
			     knem_status_t *status)
{
	struct knem_region *src, *dst;
	struct knem_side src_side, dst_side;
	u64 length;
	int err;

	err = knem_lookup(req->src_cookie, KNEM_PROT_READ, &src);
	if (err)
		return err;
	err = knem_lookup(req->dst_cookie, KNEM_PROT_WRITE, &dst);
	if (err)
		goto out_put_src;
	knem_count(KNEM_COUNTER_PROCESSED);

	length = knem_copy_length(src->length, req->src_offset, dst->length,
				  req->dst_offset, req->bound);
	knem_side_of_region(&src_side, src);
	knem_side_of_region(&dst_side, dst);
	*status = knem_run_cpu_copy(&src_side, req->src_offset, &dst_side,
				    req->dst_offset, length, src, dst);

	knem_region_put(dst);
out_put_src:
	knem_region_put(src);
	return err;
}

static bool knem_must_pin_local(const struct knem_copy_req *req, u32 flags)
{
	if (flags & (KNEM_FLAG_PINLOCAL | KNEM_FLAG_ANY_ASYNC_MASK |
		     KNEM_FLAG_DMA))
		return true;
	/* Reading the caller's pages: copy_from_user is the slower path. */
	return req->write && knem_param_pinlocalread;
}

static int knem_copy_inline(const struct knem_copy_req *req, u32 flags,
			    knem_status_t *status)
{
	struct knem_local_iovecs local;
	struct knem_region *remote;
	struct knem_side local_side, remote_side;
	u64 length;
	int err;

	err = knem_local_iovecs_get(&local, req->local_array, req->local_nr);
	if (err) {
		knem_count(KNEM_COUNTER_REJECTED_INVALID_ARGUMENT);
		return err;
	}
	err = knem_lookup(req->remote_cookie,
			  req->write ? KNEM_PROT_WRITE : KNEM_PROT_READ,
			  &remote);
	if (err)
		goto out_put_local;
	knem_count(KNEM_COUNTER_PROCESSED);

	if (knem_must_pin_local(req, flags)) {
		err = knem_local_iovecs_pin(&local, !req->write);
		if (err) {
			knem_count(KNEM_COUNTER_REJECTED_PIN_LOCAL);
			goto out_put_remote;
		}
		knem_count(KNEM_COUNTER_PROCESSED_PINLOCAL);
	}

	knem_side_of_local(&local_side, &local);
	knem_side_of_region(&remote_side, remote);
	if (req->write) {
		length = knem_copy_length(local.length, 0, remote->length,
					  req->remote_offset, req->bound);
		*status = knem_run_cpu_copy(&local_side, 0, &remote_side,
					    req->remote_offset, length,
					    remote, NULL);
	} else {
		length = knem_copy_length(remote->length, req->remote_offset,
					  local.length, 0, req->bound);
		*status = knem_run_cpu_copy(&remote_side, req->remote_offset,
					    &local_side, 0, length, remote,
					    NULL);
	}

out_put_remote:
	knem_region_put(remote);
out_put_local:
	knem_local_iovecs_put(&local);
	return err;
}

static int knem_copy_submit(struct knem_context *ctx,
			    const struct knem_copy_req *req,
			    knem_status_t *status)
{
	/* The status array and offload arrive with asynchronous copies. */
	const struct knem_async_caps caps = { 0 };
	u32 flags;
	int err;

	err = knem_flags_for_copy(&ctx->policy, req->flags, &flags);
	if (!err)
		err = knem_flags_check_copy(flags, req->slot, &caps);
	if (err) {
		knem_debug("copy: flags 0x%x refused\n", req->flags);
		knem_count(KNEM_COUNTER_REJECTED_INVALID_FLAGS);
		return err;
	}
	knem_count(KNEM_COUNTER_SUBMITTED);

	if (req->inline_copy)
		return knem_copy_inline(req, flags, status);
	return knem_copy_regions(req, status);
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

static void knem_fill_copy(struct knem_copy_req *req, const void *param)
{
	const struct knem_cmd_copy *p = param;

	req->flags = p->flags;
	req->slot = p->async_status_index;
	req->src_cookie = p->src_cookie;
	req->src_offset = p->src_offset;
	req->dst_cookie = p->dst_cookie;
	req->dst_offset = p->dst_offset;
}

static void knem_fill_copy_bounded(struct knem_copy_req *req,
				    const void *param)
{
	const struct knem_cmd_copy_bounded *p = param;

	req->flags = p->flags;
	req->slot = p->async_status_index;
	req->src_cookie = p->src_cookie;
	req->src_offset = p->src_offset;
	req->dst_cookie = p->dst_cookie;
	req->dst_offset = p->dst_offset;
	req->bound = p->length;
}

static void knem_fill_inline(struct knem_copy_req *req, const void *param)
{
	const struct knem_cmd_inline_copy *p = param;

	req->inline_copy = true;
	req->flags = p->flags;
	req->slot = p->async_status_index;
	req->local_array = p->local_iovec_array;
	req->local_nr = p->local_iovec_nr;
	req->write = p->write != 0;
	req->remote_cookie = p->remote_cookie;
	req->remote_offset = p->remote_offset;
}

static void knem_fill_inline_bounded(struct knem_copy_req *req,
				      const void *param)
{
	const struct knem_cmd_inline_copy_bounded *p = param;

	req->inline_copy = true;
	req->flags = p->flags;
	req->slot = p->async_status_index;
	req->local_array = p->local_iovec_array;
	req->local_nr = p->local_iovec_nr;
	req->write = p->write != 0;
	req->remote_cookie = p->remote_cookie;
	req->remote_offset = p->remote_offset;
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
		/* It always reports through a status slot: none is mapped. */
		knem_count(KNEM_COUNTER_REJECTED_INVALID_FLAGS);
		return -EINVAL;
	default:
		return -ENOSYS;
	}
}
