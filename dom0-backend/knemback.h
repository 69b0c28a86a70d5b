/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knemback.h - the dom0 backend of the knem split driver (knemif,
 * doc/xen-protocol.md), built into knem.ko.
 *
 * One struct knemback_if per connected guest (xenbus device "knem"),
 * with one kernel thread that consumes the guest's ring.  Guest regions
 * live in the shared cookie table (knem_cookies) next to dom0's native
 * regions; their pages are only named by grant references and every
 * transfer is a GNTTABOP_copy issued by dom0.
 */
#ifndef KNEMBACK_H
#define KNEMBACK_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <xen/grant_table.h>
#include <xen/xenbus.h>

#include "knem_cookie.h"
#include "knem_io.h"
#include "knem_plan.h"
#include "knem_xen_io.h"
#include "knem_xen_validate.h"

/* What this backend advertises in xenstore. */
#define KNEMBACK_MAX_INDIRECT_PAGES KNEMIF_MAX_INDIRECT_PAGES
/* 1 GiB regions: MPI libraries declare whole receive buffers. */
#define KNEMBACK_MAX_REGION_PAGES 262144U
/* Per-domain quotas (NOSPC beyond them). */
#define KNEMBACK_MAX_REGIONS 65536
#define KNEMBACK_MAX_DOMAIN_PAGES (1U << 20)	/* 4 GiB of granted pages */
#define KNEMBACK_MAX_BUILDS 8
/*
 * The cookie-table domain of a dom0 loopback frontend (frontend-id 0, a
 * test setup): its regions must not look like dom0's native ones, which
 * the native copy engine would reach through page pointers they lack.
 */
#define KNEMBACK_LOOPBACK_DOMID 0x7FF0U	/* DOMID_SELF, never a guest */

/* Grant-copy ops per hypercall batch. */
#define KNEMBACK_COPY_BATCH 128

/* Grant map and unmap ops per hypercall batch. */
#define KNEMBACK_MAP_BATCH 128

/* Per-domain statistics, shown by `cat /dev/knem` in dom0. */
struct knemback_stats {
	atomic64_t requests;
	atomic64_t regions;		/* regions created */
	atomic64_t copies;
	atomic64_t bytes;
	atomic64_t errors;		/* non-OK responses */
	atomic64_t unknown_cookies;
	/* how the copies were done */
	atomic64_t by_grant_copy;
	atomic64_t by_mapping;		/* CPU through persistent mappings */
	atomic64_t by_dma;		/* DMA engine through them */
};

/* A region being built by REGION_CREATE + MORE and REGION_APPENDs. */
struct knemback_build {
	u64 handle;			/* 0: slot free */
	struct knemif_build acct;
	u32 owner_uid;
	u32 kflags;
	u32 protection;
	u32 nr_segs;			/* filled so far */
	u32 capacity;			/* entries of segs, grown per chunk */
	struct knemif_seg *segs;
};

struct knemback_if {
	struct xenbus_device *dev;
	domid_t domid;			/* of its grants */
	u32 table_domid;		/* its domain in the cookie table */
	struct kref kref;		/* the device's and each region's */
	struct list_head all_node;	/* in knemback_all */

	/* ring and event channel */
	struct knemif_back_ring ring;
	void *ring_addr;
	unsigned int irq;
	struct task_struct *task;
	wait_queue_head_t wq;
	bool irq_pending;		/* set by the interrupt handler */
	bool broken;			/* ring abuse: stop consuming */
	struct knemif_limits limits;
	bool persistent;		/* both ends consent to mappings */

	/* thread-private scratch */
	struct gnttab_copy *ops;		/* KNEMBACK_COPY_BATCH */
	void *indirect[KNEMIF_MAX_INDIRECT_PAGES];	/* dom0 pages */
	void *scratch;				/* one dom0 page */
	struct knemback_build builds[KNEMBACK_MAX_BUILDS];
	u64 next_handle;

	/* a parked WAIT_RELEASED (thread-private) */
	bool wait_parked;
	struct knemif_req_checked wait_req;

	/* regions of this guest, and released single-use ones */
	spinlock_t lock;		/* protects the fields below */
	struct list_head regions;	/* live (and being destroyed) */
	struct list_head disowned;	/* taken off by the teardown */
	struct rb_root region_tree;	/* live regions by cookie */
	u32 nr_regions;
	u32 nr_pages;			/* segments of those regions */
	struct list_head released;	/* consumed, released, unreported */
	u32 nr_released;
	bool disconnecting;
	wait_queue_head_t release_wq;	/* the regions list shrinks */

	struct xenbus_watch group_watch;
	bool group_watch_active;

	/*
	 * The xenbus state machine runs here, not on xenwatch: a disconnect
	 * may wait for copies of other domains (DESTROY, the teardown).
	 */
	struct work_struct state_work;
	bool removed;			/* the device is gone: last run */
	char *otherend;			/* the frontend's directory */

	struct knemback_stats stats;
};

/* A guest's region: the core plus one grant reference per segment. */
struct knemback_region {
	struct knem_region core;
	struct knemback_if *ifc;	/* holds a kref */
	struct list_head if_node;	/* in ifc->regions, ->disowned or
					 * ->released
					 */
	struct rb_node tree_node;	/* in ifc->region_tree while live */
	u32 *grefs;			/* core.nr_pages entries */
	bool unshared;			/* KNEMIF_F_UNSHARED: no pages */
	bool disowned;			/* the guest disconnects */
	struct completion *destroyed;	/* REGION_DESTROY waits here */
	struct rcu_work release_work;

	/* its persistent mapping (knemback_map.c) */
	spinlock_t map_lock;		/* protects the fields below */
	struct knemback_map *map;	/* or NULL */
	u64 grant_copied;		/* bytes, until it is mapped */
	bool map_refused;		/* a grant did not map: never again */
	struct work_struct unmap_work;	/* release of a mapped region */
};

static inline struct knemback_region *
knemback_region_of(struct knem_region *core)
{
	return container_of(core, struct knemback_region, core);
}

/*
 * What the backend holds, over all guests, for `cat /dev/knem`: once
 * every guest is gone they are 0, whatever the guests did.
 */
struct knemback_totals {
	atomic_t interfaces;	/* struct knemback_if not yet freed */
	atomic_t rings;		/* ring pages mapped from guests */
	atomic_t regions;	/* struct knemback_region not yet freed */
	atomic_t pages;		/* dom0 pages allocated for interfaces */
	atomic_t mapped_pages;	/* guest region pages mapped in dom0 */
};
extern struct knemback_totals knemback_totals;

/* knemback_xenbus.c */
int knemback_xenbus_init(void);
void knemback_xenbus_exit(void);
void knemback_if_put(struct knemback_if *ifc);
extern struct mutex knemback_all_lock;
extern struct list_head knemback_all;

/* knemback_ring.c */
int knemback_ring_start(struct knemback_if *ifc);
void knemback_ring_stop(struct knemback_if *ifc);
void knemback_respond(struct knemback_if *ifc,
		      const struct knemif_req_checked *req, u16 status,
		      u8 flags, u64 val);
/* Copies the indirect pages of @req into ifc->indirect and checks them. */
int knemback_fetch_segs(struct knemback_if *ifc,
			const struct knemif_req_checked *req, u64 *total);
static inline const struct knemif_seg *
knemback_seg(struct knemback_if *ifc, u32 k)
{
	const struct knemif_seg *page =
		ifc->indirect[k / KNEMIF_SEGS_PER_INDIRECT_PAGE];

	return &page[k % KNEMIF_SEGS_PER_INDIRECT_PAGE];
}
/* Wakes the thread to answer a parked WAIT_RELEASED. */
void knemback_kick(struct knemback_if *ifc);

/* knemback_region.c */
const struct knem_region_ops *knemback_region_ops(void);
void knemback_region_create(struct knemback_if *ifc,
			    const struct knemif_req_checked *req);
void knemback_region_append(struct knemback_if *ifc,
			    const struct knemif_req_checked *req);
void knemback_region_destroy(struct knemback_if *ifc,
			     const struct knemif_req_checked *req);
void knemback_region_mark_stale(struct knemback_if *ifc,
				const struct knemif_req_checked *req);
/* Disconnect: unlinks every region of @ifc and waits for their release. */
void knemback_regions_teardown(struct knemback_if *ifc);
void knemback_builds_free(struct knemback_if *ifc);
/* Drops the build of @handle, if there is one. */
void knemback_build_forget(struct knemback_if *ifc, u64 handle);
/* The guests' budget (`xenbudget`): its default, and its line of stats. */
void knemback_budget_init(void);
size_t knemback_budget_stats(char *buf, size_t size);
/* Takes up to @max released regions off @ifc, writing their cookies. */
u32 knemback_released_take(struct knemback_if *ifc, u64 *cookies, u32 max);

/* knemback_map.c */
extern bool knemback_param_persistent;
/*
 * A mapping of all of @r's pages, for a copy of @length bytes, if the
 * cache policy wants one (the owner consented, the region is reused,
 * there is room); NULL means "use grant copy".  May sleep.  The caller
 * holds a reference on @r until knemback_map_put().
 */
struct knemback_map *knemback_map_get(struct knemback_region *r,
				      u64 length);
void knemback_map_put(struct knemback_region *r, struct knemback_map *map);
struct page **knemback_map_pages(const struct knemback_map *map);
/* Whether @r could ever be mapped: a cheap test before knemback_map_get(). */
bool knemback_map_possible(const struct knemback_region *r);
/*
 * The release of a region (its last reference is gone) takes its mapping
 * off it, in any context, and drops it from process context.
 */
struct knemback_map *knemback_map_take(struct knemback_region *r);
/*
 * REGION_MARK_STALE (the region is stale already): takes the mapping off
 * @r once no copy uses it and the evictor is not unmapping it.  Sleeps.
 */
struct knemback_map *knemback_map_take_idle(struct knemback_region *r);
void knemback_map_drop(struct knemback_map *map);
size_t knemback_map_stats(char *buf, size_t size);

/* knemback_copy.c */
void knemback_copy(struct knemback_if *ifc,
		   const struct knemif_req_checked *req);
void knemback_inline_copy(struct knemback_if *ifc,
			  const struct knemif_req_checked *req);

/* One side of a copy, as the backend reaches it. */
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

enum knemback_copy_result {
	KNEMBACK_COPY_OK,
	KNEMBACK_COPY_FAILED,	/* a grant op failed */
	KNEMBACK_COPY_STALE,	/* a region turned stale */
	KNEMBACK_COPY_STOPPED,	/* the thread must stop */
	KNEMBACK_COPY_ENGINE,	/* the CPU or DMA engine failed */
};

/*
 * knemback_gntcopy.c: copies @length bytes (bounded by knem_copy_length())
 * with the KNEMBACK_COPY_BATCH ops of @ops and stores the bytes copied
 * before any failure in *@copied.
 */
enum knemback_copy_result
knemback_gntcopy(struct gnttab_copy *ops, const struct knemback_side *src,
		 u64 src_offset, const struct knemback_side *dst,
		 u64 dst_offset, u64 length, u64 *copied);
/* Waits for the recheck of a dom0 process's region first: may sleep. */
bool knemback_side_stale(const struct knemback_side *side);

/*
 * knemback_mapcopy.c: copies with the CPU, or the DMA engine if @dma and
 * dom0 has a channel, when both sides have pages in dom0; false when they
 * do not and the caller grant-copies.  @stats, if any, counts the engine
 * used.
 */
bool knemback_mapped_copy(const struct knemback_side *src, u64 src_offset,
			  const struct knemback_side *dst, u64 dst_offset,
			  u64 length, bool dma, struct knemback_stats *stats,
			  enum knemback_copy_result *res, u64 *copied);

/* Maps a -errno of a cookie lookup to a wire status. */
u16 knemback_lookup_status(int err);

/* knemback_policy.c */
int knemback_policy_init(void);
void knemback_policy_exit(void);
/* Sets (or, with NULL/invalid, clears) the sharing group of @domid. */
int knemback_policy_set(u32 domid, const char *group);
void knemback_policy_forget(u32 domid);
/* The sharing id of @group under this load's key; 0 for NULL or invalid. */
u64 knemback_sharing_id(const char *group);
/* dom0's own sharing id: its sharinggroup's, 0 for none; never sleeps. */
u64 knemback_dom0_sharing(void);

struct knem_copy_work;

/*
 * A copy of one of dom0's processes that involves a guest's region
 * (struct knem_xen_ops, execute).
 */
int knemback_work_execute(struct knem_copy_work *work, knem_status_t *status);

/* knemback_main.c: knemback_init(), knemback_exit() in knem_native.h */

#endif /* KNEMBACK_H */
