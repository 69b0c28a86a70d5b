// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_async.c - asynchronous copies of a context: the mmap'ed status
 * array, the offload worker, completion in submission order, and the
 * notify-fd queue read through the context's file.
 *
 * Every asynchronous copy enters the context's in-order list when it is
 * submitted and leaves it when it and every older copy are done, whichever
 * engine ran them (inline, offload worker, DMA engine): MPI libraries scan
 * their status slots in order and rely on it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/vmalloc.h>

#include "knem_native.h"

/* The ABI counts slots in 32 bits. */
#define KNEM_MAX_SLOTS BIT_ULL(32)

void knem_async_init(struct knem_async *async)
{
	atomic_set(&async->mapped, 0);
	spin_lock_init(&async->lock);
	INIT_LIST_HEAD(&async->in_order);
	init_waitqueue_head(&async->notify_wait);
}

u64 knem_async_nr_slots(struct knem_async *async)
{
	/* Pairs with the release in knem_async_mmap(). */
	return smp_load_acquire(&async->nr_slots);
}

void knem_async_set_slot(struct knem_async *async, u32 slot,
			 knem_status_t status)
{
	/* The data must be visible before the slot says so. */
	smp_wmb();
	WRITE_ONCE(async->status_array[slot], status);
}

/*
 * The CPUs of the offload worker: BIND_OFFLOAD (checked when it was
 * made), else the binding parameter, within the CPUs the mapper may give
 * (@allowed).
 */
static void knem_async_worker_cpus(struct knem_context *ctx,
				   struct cpumask *cpus,
				   const struct cpumask *allowed)
{
	if (ctx->offload_bound)
		cpumask_and(cpus, ctx->offload_cpus, cpu_online_mask);
	else if (knem_param_binding > 0)
		cpumask_and(cpus, current->cpus_ptr, cpu_online_mask);
	else if (knem_param_binding < 0)
		cpumask_andnot(cpus, allowed, current->cpus_ptr);
	else
		cpumask_copy(cpus, allowed);
	cpumask_and(cpus, cpus, cpu_online_mask);
	/* A complement can be empty: then wherever the mapper may run it. */
	if (cpumask_empty(cpus))
		cpumask_and(cpus, allowed, cpu_online_mask);
	if (cpumask_empty(cpus))
		cpumask_copy(cpus, current->cpus_ptr);
}

static int knem_async_start_worker(struct knem_context *ctx)
{
	struct knem_async *async = &ctx->async;
	cpumask_var_t cpus, allowed;
	int err;

	if (!alloc_cpumask_var(&cpus, GFP_KERNEL))
		return -ENOMEM;
	if (!alloc_cpumask_var(&allowed, GFP_KERNEL)) {
		free_cpumask_var(cpus);
		return -ENOMEM;
	}
	knem_worker_allowed_cpus(allowed);
	async->worker = kthread_create_worker(0, "knem-ctx-%x", ctx->id);
	if (IS_ERR(async->worker)) {
		err = PTR_ERR(async->worker);
		async->worker = NULL;
		goto out;
	}
	knem_async_worker_cpus(ctx, cpus, allowed);
	err = set_cpus_allowed_ptr(async->worker->task, cpus);
	if (err) {
		kthread_destroy_worker(async->worker);
		async->worker = NULL;
	}
out:
	free_cpumask_var(allowed);
	free_cpumask_var(cpus);
	return err;
}

/* The largest status array: maxslots, whole pages, at most 2^32. */
static u64 knem_async_max_slots(void)
{
	u64 max = min_t(u64, READ_ONCE(knem_param_maxslots), KNEM_MAX_SLOTS);

	return max_t(u64, round_down(max, PAGE_SIZE), PAGE_SIZE);
}

int knem_async_mmap(struct knem_context *ctx, struct vm_area_struct *vma)
{
	struct knem_async *async = &ctx->async;
	unsigned long size = vma->vm_end - vma->vm_start;
	int err;

	if (vma->vm_pgoff != KNEM_STATUS_ARRAY_FILE_OFFSET)
		return -EINVAL;
	/*
	 * The length sizes two allocations: it is bounded before either,
	 * far below kvmalloc()'s INT_MAX.
	 */
	if (size > knem_async_max_slots()) {
		knem_debug("status array of %lu slots, more than %llu\n", size,
			   knem_async_max_slots());
		return -EINVAL;
	}
	if (atomic_cmpxchg(&async->mapped, 0, 1))
		return -EBUSY;

	async->status_array = vmalloc_user(size);
	async->notify_ring = kvmalloc_array(size, sizeof(u32),
					    GFP_KERNEL_ACCOUNT);
	if (!async->status_array || !async->notify_ring) {
		err = -ENOMEM;
		goto out_free;
	}
	err = knem_context_reserve_worker(ctx);
	if (err)
		goto out_free;
	err = knem_async_start_worker(ctx);
	if (err)
		goto out_unreserve;
	err = remap_vmalloc_range(vma, async->status_array, 0);
	if (err)
		goto out_worker;
	/* Pairs with knem_async_nr_slots(): the array is ready. */
	smp_store_release(&async->nr_slots, size);
	return 0;

out_worker:
	kthread_destroy_worker(async->worker);
	async->worker = NULL;
out_unreserve:
	knem_context_unreserve_worker(ctx);
out_free:
	kvfree(async->notify_ring);
	async->notify_ring = NULL;
	vfree(async->status_array);
	async->status_array = NULL;
	/* Nothing was mapped: a later mmap may try again. */
	atomic_set(&async->mapped, 0);
	return err;
}

int knem_async_reserve_notify(struct knem_async *async)
{
	int err = 0;

	spin_lock(&async->lock);
	if (async->notify_pending + async->notify_queued >= async->nr_slots)
		err = -EBUSY;
	else
		async->notify_pending++;
	spin_unlock(&async->lock);
	return err;
}

void knem_async_cancel_notify(struct knem_async *async)
{
	spin_lock(&async->lock);
	async->notify_pending--;
	spin_unlock(&async->lock);
}

int knem_async_reserve_queued(struct knem_async *async)
{
	int err = 0;

	spin_lock(&async->lock);
	if (async->nr_queued >= async->nr_slots)
		err = -EBUSY;
	else
		async->nr_queued++;
	spin_unlock(&async->lock);
	if (err) {
		knem_debug("%llu copies queued: as many as slots\n",
			   async->nr_slots);
		knem_refused(KNEM_REFUSED_QUEUED);
	}
	return err;
}

void knem_async_cancel_queued(struct knem_async *async)
{
	spin_lock(&async->lock);
	async->nr_queued--;
	spin_unlock(&async->lock);
}

void knem_async_enqueue(struct knem_async *async, struct knem_copy_work *work)
{
	work->done = false;
	spin_lock(&async->lock);
	list_add_tail(&work->order_node, &async->in_order);
	spin_unlock(&async->lock);
}

/* Publishes one completed copy; the lock is held. */
static void knem_async_publish_locked(struct knem_async *async,
				      struct knem_copy_work *work)
{
	knem_async_set_slot(async, work->slot, work->status);
	if (work->queued)
		async->nr_queued--;
	if (work->notify) {
		u64 tail = (async->notify_head + async->notify_queued) %
			   async->nr_slots;

		async->notify_ring[tail] = work->slot;
		async->notify_queued++;
		async->notify_pending--;
	}
}

knem_status_t knem_async_complete(struct knem_async *async,
				  struct knem_copy_work *work,
				  knem_status_t status)
{
	struct knem_copy_work *pos, *next;
	knem_status_t result = KNEM_STATUS_PENDING;
	LIST_HEAD(published);
	bool notified = false;

	spin_lock(&async->lock);
	work->status = status;
	work->done = true;
	list_for_each_entry_safe(pos, next, &async->in_order, order_node) {
		if (!pos->done)
			break;
		knem_async_publish_locked(async, pos);
		notified |= pos->notify;
		if (pos == work)
			result = status;
		list_move_tail(&pos->order_node, &published);
	}
	spin_unlock(&async->lock);

	if (notified)
		wake_up_interruptible(&async->notify_wait);
	list_for_each_entry_safe(pos, next, &published, order_node) {
		knem_copy_work_release(pos);
		kfree(pos);
	}
	return result;
}

static void knem_async_run(struct kthread_work *kwork)
{
	struct knem_copy_work *work =
		container_of(kwork, struct knem_copy_work, kwork);
	struct knem_async *async = &work->ctx->async;
	knem_status_t status = KNEM_STATUS_FAILED;

	/* Nobody will look at the result of a closing file's copies. */
	if (!READ_ONCE(async->closing))
		status = knem_copy_work_execute(work);
	knem_async_complete(async, work, status);
}

void knem_async_offload(struct knem_async *async, struct knem_copy_work *work)
{
	kthread_init_work(&work->kwork, knem_async_run);
	kthread_queue_work(async->worker, &work->kwork);
}

void knem_async_close(struct knem_async *async)
{
	if (async->worker) {
		WRITE_ONCE(async->closing, true);
		/* Runs what is queued, dropping the copies, then stops. */
		kthread_destroy_worker(async->worker);
	}
	WARN_ON(!list_empty(&async->in_order));
	kvfree(async->notify_ring);
	vfree(async->status_array);
}

/* Moves up to @max queued slot indexes to @out. */
static size_t knem_async_pop_notify(struct knem_async *async, u32 *out,
				    size_t max)
{
	size_t n = 0;

	spin_lock(&async->lock);
	while (n < max && async->notify_queued) {
		out[n++] = async->notify_ring[async->notify_head];
		async->notify_head = (async->notify_head + 1) % async->nr_slots;
		async->notify_queued--;
	}
	spin_unlock(&async->lock);
	return n;
}

static bool knem_async_has_notify(struct knem_async *async)
{
	return READ_ONCE(async->notify_queued) != 0;
}

#define KNEM_NOTIFY_BATCH 64

ssize_t knem_async_read_notify(struct knem_async *async, char __user *buf,
			       size_t count, bool nonblock)
{
	u32 batch[KNEM_NOTIFY_BATCH];
	size_t done = 0, n;
	int err;

	if (count % sizeof(u32))
		return -EINVAL;
	if (!knem_async_nr_slots(async))
		return -EINVAL;
	if (!count)
		return 0;

	/* Like the classic driver, a blocking read waits for all it asked. */
	while (done < count) {
		n = knem_async_pop_notify(async, batch,
					  min_t(size_t, KNEM_NOTIFY_BATCH,
						(count - done) / sizeof(u32)));
		if (n) {
			if (copy_to_user(buf + done, batch, n * sizeof(u32)))
				return -EFAULT;
			done += n * sizeof(u32);
			continue;
		}
		if (nonblock)
			break;
		err = wait_event_interruptible(async->notify_wait,
					       knem_async_has_notify(async));
		if (err)
			return done ? done : err;
	}
	return done ? done : -EAGAIN;
}

__poll_t knem_async_poll(struct knem_async *async, struct file *file,
			 struct poll_table_struct *wait)
{
	if (!knem_async_nr_slots(async))
		return EPOLLERR;
	poll_wait(file, &async->notify_wait, wait);
	if (knem_async_has_notify(async))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}
