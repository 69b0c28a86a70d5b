// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_context.c - one context per file opened for writing: its regions,
 * its identity for the statsverbose listing, its offload binding.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/idr.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "knem_native.h"

static DEFINE_IDA(knem_context_ids);
/* All open contexts, for the statsverbose listing. */
static DEFINE_MUTEX(knem_contexts_lock);
static LIST_HEAD(knem_all_contexts);

struct knem_context *knem_context_create(void)
{
	struct knem_context *ctx;
	int id;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	if (!zalloc_cpumask_var(&ctx->offload_cpus, GFP_KERNEL))
		goto out_free;
	id = ida_alloc_max(&knem_context_ids, INT_MAX, GFP_KERNEL);
	if (id < 0)
		goto out_free_mask;

	refcount_set(&ctx->refs, 1);
	ctx->id = id;
	ctx->uid = current_uid();
	ctx->policy = knem_global_policy;
	ctx->xen_ops = knem_xen_ops_get();
	spin_lock_init(&ctx->lock);
	INIT_LIST_HEAD(&ctx->regions);
	INIT_LIST_HEAD(&ctx->closed_regions);
	INIT_LIST_HEAD(&ctx->kept_pins);
	atomic_set(&ctx->nr_regions, 0);
	knem_async_init(&ctx->async);

	mutex_lock(&knem_contexts_lock);
	list_add_tail(&ctx->all_node, &knem_all_contexts);
	mutex_unlock(&knem_contexts_lock);
	return ctx;

out_free_mask:
	free_cpumask_var(ctx->offload_cpus);
out_free:
	kfree(ctx);
	return ERR_PTR(-ENOMEM);
}

void knem_context_get(struct knem_context *ctx)
{
	refcount_inc(&ctx->refs);
}

void knem_context_put(struct knem_context *ctx)
{
	if (!refcount_dec_and_test(&ctx->refs))
		return;
	ida_free(&knem_context_ids, ctx->id);
	free_cpumask_var(ctx->offload_cpus);
	/* the last region is gone: the Xen side has nothing of ours left */
	knem_xen_ops_put(ctx->xen_ops);
	kfree(ctx);
}

void knem_context_close(struct knem_context *ctx)
{
	struct knem_user_region *region;

	mutex_lock(&knem_contexts_lock);
	list_del(&ctx->all_node);
	mutex_unlock(&knem_contexts_lock);

	/* Queued copies drop their region references first. */
	knem_async_close(&ctx->async);
	/* Regions released from now on keep nothing: the file is going. */
	knem_pins_drop_kept(ctx, true);

	/*
	 * Unlinking drops the table's reference; the regions leave the list
	 * in their deferred release, which also drops their context reference.
	 * They move to closed_regions as they are unlinked, so that the lock
	 * can be dropped now and then: a file may hold maxregions regions.
	 */
	spin_lock(&ctx->lock);
	while (!list_empty(&ctx->regions)) {
		region = list_first_entry(&ctx->regions,
					  struct knem_user_region, ctx_node);
		list_move_tail(&region->ctx_node, &ctx->closed_regions);
		knem_cookie_table_unlink(&knem_cookies, &region->core);
		if (need_resched()) {
			spin_unlock(&ctx->lock);
			cond_resched();
			spin_lock(&ctx->lock);
		}
	}
	spin_unlock(&ctx->lock);

	knem_context_put(ctx);
}

int knem_context_reserve_worker(struct knem_context *ctx)
{
	unsigned int max = READ_ONCE(knem_param_maxworkers), n = 0;
	struct knem_context *pos;
	int err = 0;

	mutex_lock(&knem_contexts_lock);
	list_for_each_entry(pos, &knem_all_contexts, all_node)
		if (pos->has_worker && uid_eq(pos->uid, ctx->uid))
			n++;
	if (n >= max)
		err = -EAGAIN;
	else
		ctx->has_worker = true;
	mutex_unlock(&knem_contexts_lock);
	if (err) {
		knem_debug("uid %u has %u offload workers already\n",
			   from_kuid(&init_user_ns, ctx->uid), n);
		knem_refused(KNEM_REFUSED_WORKERS);
	}
	return err;
}

void knem_context_unreserve_worker(struct knem_context *ctx)
{
	mutex_lock(&knem_contexts_lock);
	ctx->has_worker = false;
	mutex_unlock(&knem_contexts_lock);
}

void knem_worker_allowed_cpus(struct cpumask *cpus)
{
	/*
	 * The caller's own CPUs are within its cpuset; Linux 6.1 does not
	 * export cpuset_cpus_allowed() to modules, so a caller that wants
	 * its worker on another CPU of its cpuset widens its own affinity
	 * first (sched_setaffinity() checks the cpuset).
	 */
	if (capable(CAP_SYS_NICE))
		cpumask_copy(cpus, cpu_possible_mask);
	else
		cpumask_copy(cpus, current->cpus_ptr);
}

long knem_bind_offload_ioctl(struct knem_context *ctx, void __user *arg)
{
	struct knem_cmd_bind_offload param;
	cpumask_var_t cpus, allowed;
	unsigned int len;
	long err = 0;

	if (copy_from_user(&param, arg, sizeof(param)))
		return -EFAULT;
	/* The worker is bound when the status array is mapped. */
	if (atomic_read(&ctx->async.mapped))
		return -EBUSY;
	if (!zalloc_cpumask_var(&cpus, GFP_KERNEL))
		return -ENOMEM;
	if (!alloc_cpumask_var(&allowed, GFP_KERNEL)) {
		err = -ENOMEM;
		goto out_cpus;
	}
	knem_worker_allowed_cpus(allowed);

	switch (param.flags) {
	case KNEM_BIND_FLAG_CUSTOM:
		len = min_t(unsigned int, param.mask_len, cpumask_size());
		if (copy_from_user(cpumask_bits(cpus),
				   u64_to_user_ptr(param.mask_ptr), len)) {
			err = -EFAULT;
			break;
		}
		/* CPUs named, none of them the caller's to give */
		if (cpumask_intersects(cpus, cpu_possible_mask) &&
		    !cpumask_intersects(cpus, allowed)) {
			knem_debug("BIND_OFFLOAD: CPUs %*pbl outside the caller's %*pbl\n",
				   cpumask_pr_args(cpus),
				   cpumask_pr_args(allowed));
			err = -EINVAL;
			break;
		}
		cpumask_and(cpus, cpus, allowed);
		break;
	case KNEM_BIND_FLAG_CURRENT:
		cpumask_copy(cpus, current->cpus_ptr);
		break;
	case KNEM_BIND_FLAG_CURRENT_REVERSED:
		cpumask_andnot(cpus, allowed, current->cpus_ptr);
		break;
	default:
		err = -EINVAL;
	}
	/* An empty mask: wherever the caller may run it. */
	if (!err && cpumask_empty(cpus))
		cpumask_copy(cpus, allowed);
	if (!err) {
		cpumask_copy(ctx->offload_cpus, cpus);
		ctx->offload_bound = true;
	}
	free_cpumask_var(allowed);
out_cpus:
	free_cpumask_var(cpus);
	return err;
}

static bool knem_reader_sees(const struct knem_context *ctx)
{
	return capable(CAP_SYS_ADMIN) || uid_eq(ctx->uid, current_uid());
}

size_t knem_contexts_describe(char *buf, size_t size)
{
	struct knem_user_region *region;
	struct knem_context *ctx;
	unsigned int listed = 0, hidden = 0, nr_regions;
	size_t len = 0;

	mutex_lock(&knem_contexts_lock);
	list_for_each_entry(ctx, &knem_all_contexts, all_node) {
		if (!knem_reader_sees(ctx)) {
			hidden++;
			continue;
		}
		listed++;
		nr_regions = 0;
		len += scnprintf(buf + len, size - len, " Context %08x\n",
				 ctx->id);
		spin_lock(&ctx->lock);
		list_for_each_entry(region, &ctx->regions, ctx_node) {
			if (knem_region_is_unlinked(&region->core))
				continue;
			nr_regions++;
			len += scnprintf(buf + len, size - len,
					 "  Region %08x%s\n",
					 (u32)region->core.cookie,
					 region->core.flags & KNEM_FLAG_SINGLEUSE ?
					 " SingleUse" : "");
		}
		spin_unlock(&ctx->lock);
		len += scnprintf(buf + len, size - len, "  Listed %u regions\n",
				 nr_regions);
	}
	mutex_unlock(&knem_contexts_lock);

	if (hidden)
		len += scnprintf(buf + len, size - len,
				 " Listed %u contexts (%u hidden)\n", listed,
				 hidden);
	else
		len += scnprintf(buf + len, size - len,
				 " Listed %u contexts\n", listed);
	return len;
}
