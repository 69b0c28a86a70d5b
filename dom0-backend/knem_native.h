/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_native.h - the native /dev/knem driver: contexts, user regions,
 * copy commands and the statistics file.
 */
#ifndef KNEM_NATIVE_H
#define KNEM_NATIVE_H

#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "knem_cookie.h"
#include "knem_cpu_copy.h"
#include "knem_flags.h"
#include "knem_stats.h"

/* Module parameters (knem_main.c). */
extern unsigned int knem_param_debug;
extern int knem_param_binding;
extern unsigned int knem_param_pinlocalread;
extern unsigned int knem_param_dma;
extern unsigned int knem_param_dmamin;
extern unsigned long knem_param_statslen;
extern unsigned int knem_param_statsverbose;
extern unsigned long knem_param_maxregionlen;
extern unsigned long knem_param_maxslots;
extern unsigned int knem_param_memlocklimit;
extern unsigned int knem_param_maxregions;
extern unsigned int knem_param_maxworkers;
extern unsigned int knem_param_singleusereuse;

/*
 * Requests refused by a limit, shown after the classic counters of
 * `cat /dev/knem` (knem_statsfile.c), reset with them.
 */
enum knem_refusal {
	KNEM_REFUSED_MEMLOCK,		/* pins over RLIMIT_MEMLOCK */
	KNEM_REFUSED_REGIONS,		/* maxregions regions in the file */
	KNEM_REFUSED_QUEUED,		/* as many queued copies as slots */
	KNEM_REFUSED_WORKERS,		/* maxworkers workers for the user */
	KNEM_REFUSED_NR,
};

void knem_refused(enum knem_refusal which);
/* Pages pinned by the regions of every process (long-term pins). */
extern atomic64_t knem_pinned_pages;

/* Module-wide state. */
extern struct knem_cookie_table knem_cookies;
extern struct knem_counters knem_counters;
extern struct knem_flag_policy knem_global_policy;
extern struct workqueue_struct *knem_wq;

#define knem_debug(fmt, ...)						\
	do {								\
		if (unlikely(knem_param_debug))				\
			pr_info(fmt, ##__VA_ARGS__);			\
	} while (0)

static inline void knem_count(enum knem_counter which)
{
	knem_counter_inc(&knem_counters, which);
}

/*
 * The asynchronous half of a context, set up by mmap of the status array:
 * the array, the offload worker, the notify-fd queue, and the list of
 * asynchronous copies in submission order, which they complete in.
 */
struct knem_async {
	atomic_t mapped;		/* mmap was tried: never again */
	u64 nr_slots;			/* 0 until the array is published */
	u8 *status_array;		/* vmalloc_user, nr_slots bytes */
	struct kthread_worker *worker;
	bool closing;			/* queued copies are dropped */
	spinlock_t lock;		/* protects the fields below */
	struct list_head in_order;	/* unpublished copies, oldest first */
	u32 *notify_ring;		/* nr_slots slot indexes */
	u64 notify_head;		/* oldest queued index */
	u64 notify_queued;
	u64 notify_pending;		/* NOTIFY_FD copies not yet completed */
	u64 nr_queued;			/* copies submitted, not yet published */
	wait_queue_head_t notify_wait;
};

/*
 * One per file opened for writing.  It owns the regions created through
 * the file; each region holds a reference on it so that the context
 * outlives its regions' deferred release.
 */
struct knem_context {
	refcount_t refs;
	u32 id;
	kuid_t uid;			/* opener, checked against region users */
	struct knem_flag_policy policy;	/* snapshot of the globals at open */
	spinlock_t lock;		/* regions, kept_pins, nr_kept, closing */
	struct list_head regions;
	struct list_head closed_regions; /* unlinked by close, not yet freed */
	/*
	 * The pins of consumed single-use regions, kept for the next region
	 * over the same range (struct knem_pins), most recent first.
	 */
	struct list_head kept_pins;
	unsigned int nr_kept;
	bool closing;			/* nothing is kept any more */
	atomic_t nr_regions;		/* created and not yet freed */
	struct list_head all_node;	/* in knem_all_contexts */
	cpumask_var_t offload_cpus;	/* set by BIND_OFFLOAD */
	bool offload_bound;
	bool has_worker;		/* counted in maxworkers (contexts mutex) */
	const struct knem_xen_ops *xen_ops; /* taken at open, or NULL */
	struct knem_async async;
};

struct knem_context *knem_context_create(void);
/* The file is closed: destroys its regions and drops the file's reference. */
void knem_context_close(struct knem_context *ctx);
void knem_context_get(struct knem_context *ctx);
void knem_context_put(struct knem_context *ctx);
/*
 * The CPUs the caller may give an offload worker: its own CPUs (within its
 * cpuset), or all of them with CAP_SYS_NICE.
 */
void knem_worker_allowed_cpus(struct cpumask *cpus);
/*
 * Counts the offload worker of @ctx against the maxworkers of its
 * opener's uid (-EAGAIN beyond); the count goes when the file is closed,
 * or with knem_context_unreserve_worker().
 */
int knem_context_reserve_worker(struct knem_context *ctx);
void knem_context_unreserve_worker(struct knem_context *ctx);
/* BIND_OFFLOAD: where the context's offload worker will run. */
long knem_bind_offload_ioctl(struct knem_context *ctx, void __user *arg);
/* The statsverbose listing of contexts and regions visible to the reader. */
size_t knem_contexts_describe(char *buf, size_t size);

struct knem_pins;

/*
 * A region over pinned pages of a process: its pages, their MMU notifier,
 * charge and kept mapping are its struct knem_pins, which may outlive it
 * (knem_user_region.c).
 */
struct knem_user_region {
	struct knem_region core;
	struct knem_context *ctx;
	struct list_head ctx_node;
	struct knem_pins *pins;		/* set at creation, for its lifetime */
	struct work_struct recheck_work;
	void *xen;			/* the Xen side's state, or NULL */
	struct work_struct release_work;
	struct rcu_head rcu;
};

/*
 * Drops the kept pins of @ctx (may sleep); when @closing, no pins are
 * kept for the file any more.  Returns how many were dropped.
 */
unsigned int knem_pins_drop_kept(struct knem_context *ctx, bool closing);

/*
 * A region that a lookup just gave out may be under recheck (its owner's
 * page tables changed over it): waits until it is known whether its pages
 * are still the owner's.  0, or -EFAULT for a stale region, or -EINTR for
 * a fatal signal.  May sleep.
 */
int knem_region_settle(struct knem_region *region);
/*
 * Looks @cookie up for @access in knem_cookies and, for a region of this
 * kernel's processes, settles it: the errnos of both.  May sleep.
 */
int knem_region_lookup(knem_cookie_t cookie, const struct knem_access *access,
		       struct knem_region **region);

/* CREATE_REGION: pins @iov and publishes the region in the cookie table. */
int knem_user_region_create(struct knem_context *ctx,
			    const struct knem_cmd_param_iovec *iov, u32 nr_iov,
			    u32 flags, u32 protection, knem_cookie_t *cookie);

/*
 * A single-use region of this kernel's that a lookup just gave out (and
 * unlinked): whether this use is the only one.  A guest's region is also
 * reachable through dom0, so the use is claimed there first; may sleep.
 */
bool knem_user_region_claim(struct knem_region *core);
/*
 * All the pages of @core, a cached region of this kernel's processes or a
 * single-use one over pins kept from an earlier region, mapped
 * contiguously in kernel space: made at the first call, kept until the
 * pages are unpinned.  NULL for other regions, and without vmalloc
 * space.  The caller holds a reference to @core; may sleep.
 */
void *knem_user_region_mapping(struct knem_region *core);

/*
 * The caller's own iovecs for one inline copy: pinned, or reached through
 * copy_to_user/copy_from_user.
 */
struct knem_local_iovecs {
	struct knem_seg *segs;
	u32 nr_segs;
	u64 length;
	struct page **pages;	/* NULL when not pinned */
	u32 nr_pages;
	bool written;		/* pages were written: mark them dirty */
};

/*
 * Largest iovec array of one command: bounds the kernel copy of the array
 * (16 MiB) long before memory runs out.
 */
#define KNEM_MAX_IOVECS (1U << 20)

/* Copies a user iovec array into a kvmalloc'ed one (EINVAL, EFAULT, ENOMEM). */
int knem_iovec_array_copy(u64 uarray, u32 nr_iov,
			  struct knem_cmd_param_iovec **iov);

int knem_local_iovecs_get(struct knem_local_iovecs *local, u64 uarray,
			  u32 nr_iov);
/*
 * Keeps only the first @length bytes of the iovecs, the part a copy of
 * @length bytes reaches, so that only that part is pinned.
 */
void knem_local_iovecs_trim(struct knem_local_iovecs *local, u64 length);
/* Pins the iovecs' pages (EFAULT, ENOMEM); never more than maxregionlen. */
int knem_local_iovecs_pin(struct knem_local_iovecs *local, bool for_write);
void knem_local_iovecs_put(struct knem_local_iovecs *local);

/* Pins the pages of a segment list; EFAULT (or ENOMEM) on failure. */
int knem_pin_segs(const struct knem_seg *segs, u32 nr_segs,
		  struct page **pages, unsigned int gup_flags);

/* A copy command, whatever its ioctl. */
struct knem_copy_req {
	u32 flags;
	u32 slot;
	u64 bound;			/* U64_MAX: unbounded */
	bool inline_copy;
	bool always_async;		/* INIT_ASYNC_RECV: report in the slot */
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

/* Who runs a copy. */
enum knem_copy_route {
	KNEM_ROUTE_LOCAL,		/* this kernel: CPU or DMA engine */
	/*
	 * dom0, a copy involving a guest's region: the backend's grant
	 * copies or mappings (no struct pages to reach).
	 */
	KNEM_ROUTE_GUEST_REGION,
	/*
	 * A guest, a copy naming another domain's cookie (described by the
	 * work's req): sent to dom0 over the ring.
	 */
	KNEM_ROUTE_REMOTE_COOKIE,
};

/*
 * One copy, whatever its command, with everything it holds while it runs:
 * region references and the caller's iovecs.  Synchronous copies live on
 * the ioctl's stack; asynchronous ones are allocated and owned by the
 * context's in-order list until they are published.
 */
struct knem_copy_work {
	struct list_head order_node;
	struct kthread_work kwork;
	struct knem_context *ctx;
	u32 flags;			/* effective flags */
	u32 slot;
	bool notify;			/* queue the slot on the notify fd */
	bool queued;			/* holds a knem_async_reserve_queued() */
	bool done;
	knem_status_t status;
	struct knem_region *regions[2];	/* references, or NULL */
	struct knem_local_iovecs local;
	struct knem_side src;
	struct knem_side dst;
	u64 src_offset;
	u64 dst_offset;
	u64 length;
	bool cookie_unknown;		/* a cookie is not in the local table */
	enum knem_copy_route route;
	struct knem_copy_req req;
	kuid_t uid;			/* the caller's, for remote lookups */
};

/*
 * Runs @work's copy on the CPU (knem_cpu_copy()), its pages mapped
 * contiguously where that pays (knem_copy_map.c).  May sleep.
 */
int knem_copy_work_cpu(const struct knem_copy_work *work, u64 *copied);
/* Runs @work (CPU, DMA engine or the Xen side); returns SUCCESS or FAILED. */
knem_status_t knem_copy_work_execute(struct knem_copy_work *work);
/* Drops what the copy holds (it may sleep). */
void knem_copy_work_release(struct knem_copy_work *work);

/* The status array, the offload worker and notify-fd (knem_async.c). */
void knem_async_init(struct knem_async *async);
int knem_async_mmap(struct knem_context *ctx, struct vm_area_struct *vma);
/* The file is closing: drops queued copies and frees everything. */
void knem_async_close(struct knem_async *async);
/* Number of slots, 0 until the status array is mapped. */
u64 knem_async_nr_slots(struct knem_async *async);
/* Reserves a notify-fd entry for a new copy; -EBUSY when the queue is full. */
int knem_async_reserve_notify(struct knem_async *async);
/* Gives back a reservation whose copy never ran. */
void knem_async_cancel_notify(struct knem_async *async);
/*
 * Reserves room for one more asynchronous copy: a file holds at most as
 * many unpublished copies as it has slots; -EBUSY beyond.  The reservation
 * goes when the copy is published, or with knem_async_cancel_queued().
 */
int knem_async_reserve_queued(struct knem_async *async);
void knem_async_cancel_queued(struct knem_async *async);
void knem_async_set_slot(struct knem_async *async, u32 slot,
			 knem_status_t status);
/*
 * Takes @work (allocated) into the in-order list before it runs;
 * knem_async_complete() publishes it when it and all older ones are done.
 */
void knem_async_enqueue(struct knem_async *async, struct knem_copy_work *work);
/*
 * Records @status for @work and publishes every completed copy at the head
 * of the list (slot, notify event), then frees them.  Returns the status
 * published for @work, or PENDING when an older copy is still running;
 * either way @work belongs to the context now.
 */
knem_status_t knem_async_complete(struct knem_async *async,
				  struct knem_copy_work *work,
				  knem_status_t status);
/* Runs @work on the context's offload worker. */
void knem_async_offload(struct knem_async *async, struct knem_copy_work *work);
ssize_t knem_async_read_notify(struct knem_async *async, char __user *buf,
			       size_t count, bool nonblock);
__poll_t knem_async_poll(struct knem_async *async, struct file *file,
			 struct poll_table_struct *wait);

/* The DMA engine (knem_dma.c). */
void knem_dma_init(void);
void knem_dma_exit(void);
bool knem_dma_available(void);
/* Like knem_cpu_copy(), both sides pages; -EIO when the engine failed. */
int knem_dma_copy(const struct knem_side *src, u64 src_offset,
		  const struct knem_side *dst, u64 dst_offset, u64 length,
		  u64 *copied);

/* Copy commands (knem_copy.c); @cmd is the ioctl number. */
long knem_copy_ioctl(struct knem_context *ctx, unsigned int cmd,
		     void __user *arg);

/*
 * The Xen side of the driver (knem_xen_ops.c): an operations table that
 * dom0's backend (knemback_*.c, built into knem.ko where the kernel has
 * CONFIG_XEN_BACKEND) or a guest's knem-front.ko registers.  Each context
 * takes the table (and a reference on its module) when its file is
 * opened and keeps it until its last region is gone, so the table's
 * module cannot unload under a region or a copy.  A file opened while no
 * table is registered stays native: its regions are this kernel's only,
 * and an unknown cookie is unknown.  Every operation is optional.
 */
struct knem_xen_ops {
	struct module *owner;
	/*
	 * Whether copies to other domains may ask for a DMA engine: in a
	 * guest, when dom0 offers one (feature-dma).
	 */
	bool (*dma_available)(void);
	/* This domain's sharing id, 0 for none; never sleeps. */
	u64 (*sharing_id)(void);
	/* Appends the Xen side's statistics lines; returns the length. */
	size_t (*stats)(char *buf, size_t size);
	/*
	 * A new user region, pinned, before it enters the cookie table:
	 * sets *@cookie to the cookie the region must have, or to 0 for a
	 * random one.  The region is not published when it fails.
	 */
	int (*region_publish)(struct knem_user_region *region,
			      knem_cookie_t *cookie);
	/* The region is being freed (process context, may sleep). */
	void (*region_release)(struct knem_user_region *region);
	/*
	 * Whether region_release() needs no round trip to dom0 (the region
	 * was withdrawn there already, by a claim or by dom0 itself).
	 */
	bool (*region_release_is_local)(struct knem_user_region *region);
	/*
	 * A local use of a single-use region: false when another domain
	 * consumed it first (may sleep).
	 */
	bool (*region_claim)(struct knem_user_region *region);
	/*
	 * The owner's memory behind the region is gone (MMU notifier: may
	 * not sleep); the region is already marked stale locally.
	 */
	void (*region_stale)(struct knem_user_region *region);
	/*
	 * A copy names a cookie that is not in the local table: prepares
	 * @work (its lookups so far done, its local iovecs read) for the
	 * route KNEM_ROUTE_REMOTE_COOKIE; -EINVAL when there is nowhere else.
	 */
	int (*remote_prepare)(struct knem_copy_work *work,
			      const struct knem_copy_req *req);
	/*
	 * Runs a work whose route is not KNEM_ROUTE_LOCAL (process context,
	 * may sleep): 0 with *@status, or the errno of a check that failed
	 * where the copy runs (nothing was copied).
	 */
	int (*execute)(struct knem_copy_work *work, knem_status_t *status);
};

/* One table at a time: -EBUSY when another one is registered. */
int knem_xen_ops_register(const struct knem_xen_ops *ops);
/* Returns once no new context can take @ops. */
void knem_xen_ops_unregister(const struct knem_xen_ops *ops);
/* The registered table with a reference on its module, or NULL. */
const struct knem_xen_ops *knem_xen_ops_get(void);
void knem_xen_ops_put(const struct knem_xen_ops *ops);

/*
 * The operations, for the native layer: defaults when there is none.  The
 * ones with a context, region or work use the context's table, which it
 * holds; the others take the registered one for the call.
 */
bool knem_xen_dma_available(const struct knem_context *ctx);
u64 knem_xen_sharing_id(void);
size_t knem_xen_stats(char *buf, size_t size);
int knem_xen_region_publish(struct knem_user_region *region,
			    knem_cookie_t *cookie);
void knem_xen_region_release(struct knem_user_region *region);
bool knem_xen_region_release_is_local(struct knem_user_region *region);
bool knem_xen_region_claim(struct knem_user_region *region);
void knem_xen_region_stale(struct knem_user_region *region);
int knem_xen_remote_prepare(struct knem_copy_work *work,
			    const struct knem_copy_req *req);
int knem_xen_execute(struct knem_copy_work *work, knem_status_t *status);

/*
 * dom0's backend (knemback_main.c): registers its operations in the
 * initial domain; nothing elsewhere, nor where the kernel lacks
 * CONFIG_XEN_BACKEND.
 */
#if IS_ENABLED(CONFIG_XEN_BACKEND)
int knemback_init(void);
void knemback_exit(void);
#else
static inline int knemback_init(void)
{
	return 0;
}

static inline void knemback_exit(void)
{
}
#endif

/* Statistics file (knem_statsfile.c). */
ssize_t knem_stats_read(char __user *ubuf, size_t count, loff_t *ppos);
ssize_t knem_stats_reset(size_t count);

#endif /* KNEM_NATIVE_H */
