// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_xen_ops.c - the Xen side's operations table: registered by dom0's
 * backend (built in) or by a guest's knem-front.ko, taken by each context
 * for its lifetime, and the defaults of a kernel without one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>

#include "knem_native.h"

static const struct knem_xen_ops __rcu *knem_xen_ops;
/* serializes registrations */
static DEFINE_MUTEX(knem_xen_ops_lock);

int knem_xen_ops_register(const struct knem_xen_ops *ops)
{
	int err = 0;

	mutex_lock(&knem_xen_ops_lock);
	if (rcu_access_pointer(knem_xen_ops))
		err = -EBUSY;
	else
		rcu_assign_pointer(knem_xen_ops, ops);
	mutex_unlock(&knem_xen_ops_lock);
	return err;
}
EXPORT_SYMBOL_NS_GPL(knem_xen_ops_register, KNEM_NS);

void knem_xen_ops_unregister(const struct knem_xen_ops *ops)
{
	mutex_lock(&knem_xen_ops_lock);
	if (rcu_access_pointer(knem_xen_ops) == ops)
		RCU_INIT_POINTER(knem_xen_ops, NULL);
	mutex_unlock(&knem_xen_ops_lock);
	/*
	 * A knem_xen_ops_get() that read the table has its module reference
	 * now, or failed to take it: the module is unloading.
	 */
	synchronize_rcu();
}
EXPORT_SYMBOL_NS_GPL(knem_xen_ops_unregister, KNEM_NS);

const struct knem_xen_ops *knem_xen_ops_get(void)
{
	const struct knem_xen_ops *ops;

	rcu_read_lock();
	ops = rcu_dereference(knem_xen_ops);
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	rcu_read_unlock();
	return ops;
}

void knem_xen_ops_put(const struct knem_xen_ops *ops)
{
	if (ops)
		module_put(ops->owner);
}

bool knem_xen_dma_available(const struct knem_context *ctx)
{
	const struct knem_xen_ops *ops = ctx->xen_ops;

	return ops && ops->dma_available && ops->dma_available();
}

u64 knem_xen_sharing_id(void)
{
	const struct knem_xen_ops *ops = knem_xen_ops_get();
	u64 id = ops && ops->sharing_id ? ops->sharing_id() : 0;

	knem_xen_ops_put(ops);
	return id;
}

size_t knem_xen_stats(char *buf, size_t size)
{
	const struct knem_xen_ops *ops = knem_xen_ops_get();
	size_t len = ops && ops->stats && size ? ops->stats(buf, size) : 0;

	knem_xen_ops_put(ops);
	return len;
}

/* Without a Xen side, regions get random cookies. */
int knem_xen_region_publish(struct knem_user_region *region,
			    knem_cookie_t *cookie)
{
	const struct knem_xen_ops *ops = region->ctx->xen_ops;

	if (ops && ops->region_publish)
		return ops->region_publish(region, cookie);
	*cookie = 0;
	return 0;
}

void knem_xen_region_release(struct knem_user_region *region)
{
	const struct knem_xen_ops *ops = region->ctx->xen_ops;

	if (ops && ops->region_release)
		ops->region_release(region);
}

bool knem_xen_region_release_is_local(struct knem_user_region *region)
{
	const struct knem_xen_ops *ops = region->ctx->xen_ops;

	return !ops || !ops->region_release_is_local ||
	       ops->region_release_is_local(region);
}

bool knem_xen_region_claim(struct knem_user_region *region)
{
	const struct knem_xen_ops *ops = region->ctx->xen_ops;

	return !ops || !ops->region_claim || ops->region_claim(region);
}

void knem_xen_region_stale(struct knem_user_region *region)
{
	const struct knem_xen_ops *ops = region->ctx->xen_ops;

	if (ops && ops->region_stale)
		ops->region_stale(region);
}

/* Without a Xen side, a cookie unknown here is unknown everywhere. */
int knem_xen_remote_prepare(struct knem_copy_work *work,
			    const struct knem_copy_req *req)
{
	const struct knem_xen_ops *ops = work->ctx->xen_ops;

	if (ops && ops->remote_prepare)
		return ops->remote_prepare(work, req);
	return -EINVAL;
}

/*
 * A guest's region is in dom0's table only while the backend runs, and
 * the backend registers before /dev/knem exists: every context that can
 * find one has the backend's table.
 */
int knem_xen_execute(struct knem_copy_work *work, knem_status_t *status)
{
	const struct knem_xen_ops *ops = work->ctx->xen_ops;

	if (!ops || !ops->execute)
		return -EINVAL;
	return ops->execute(work, status);
}
