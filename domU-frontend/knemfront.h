/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knemfront.h - knem-front.ko, the Xen frontend of a guest's knem.ko:
 * /dev/knem is knem.ko's, and knem-front registers its Xen operations
 * (struct knem_xen_ops): regions are mirrored in dom0 and copies that name
 * another domain's cookie go over the knemif ring (doc/xen-protocol.md).
 */
#ifndef KNEMFRONT_H
#define KNEMFRONT_H

#include <linux/completion.h>
#include <linux/irqreturn.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include <xen/grant_table.h>
#include <xen/xenbus.h>

#include "knem_native.h"
#include "knem_seg.h"
#include "knem_xen_io.h"

/* A response that never came: the backend went away. */
#define KNEMFRONT_E_GONE 0xffffU

struct knemfront_shadow {
	u64 id;				/* 0: free */
	struct knemif_response rsp;
	struct completion done;
};

struct knemfront_info {
	struct xenbus_device *dev;
	struct knemif_front_ring ring;
	grant_ref_t ring_ref;
	evtchn_port_t evtchn;
	int irq;
	bool connected;
	u32 max_indirect;		/* backend's max-indirect-pages */
	u32 max_region_pages;
	bool feature_dma;		/* dom0 takes KNEMIF_KFLAG_DMA */
	spinlock_t lock;		/* ring, shadow, connected */
	u64 next_seq;
	unsigned int nr_inflight;
	wait_queue_head_t slot_wait;
	struct knemfront_shadow shadow[KNEMIF_RING_SLOTS];
	atomic64_t nr_requests;
	atomic64_t nr_errors;
	/* the WAIT_RELEASED loop, while connected */
	struct task_struct *released_task;
	struct page *released_page;	/* receives the cookies */
	grant_ref_t released_ref;	/* granted writable */
	/* the backend's sharing-id node, followed while connected */
	struct xenbus_watch sharing_id_watch;
	bool sharing_id_watched;
};

/* The one frontend device; NULL until probed (knemfront_xenbus.c). */
extern struct knemfront_info *knemfront;
extern struct mutex knemfront_lock;
/* The guest consents to persistent mappings in dom0 (module parameter). */
extern bool knemfront_param_persistent;
/*
 * Connections to a backend made so far: a region declared on an earlier
 * one is unknown to the backend of today.
 */
extern atomic_t knemfront_connections;

/* knemfront_xenbus.c: the xenbus driver and the device's state. */
int knemfront_xenbus_init(void);
void knemfront_xenbus_exit(void);
/* The backend's sharing-id node while connected, else 0; never sleeps. */
u64 knemfront_sharing(void);
/* Whether dom0 takes copies with a DMA engine (feature-dma). */
bool knemfront_dma_offered(void);
/* The frontend's statistics lines; returns their length. */
size_t knemfront_stats(char *buf, size_t size);

/* knemfront_ring.c */
irqreturn_t knemfront_interrupt(int irq, void *dev_id);
/*
 * Sends @req (its id is set here), sleeps until its response and copies
 * it into @rsp.  -EFAULT when not connected (also when the backend went
 * away meanwhile: rsp->status is then KNEMFRONT_E_GONE).
 */
int knemfront_submit(struct knemif_request *req, struct knemif_response *rsp);
/* Completes every outstanding request with KNEMFRONT_E_GONE. */
void knemfront_fail_all(struct knemfront_info *info);
/* Errno of a wire status, for check-class errors. */
int knemfront_errno(u16 status);

/*
 * Pages granted to the backend (knemfront_grant.c): a region's pages for
 * its lifetime, or the local side of one copy.  The references are
 * allocated in one go, so a grant table too small fails before anything
 * is granted.
 */
struct knemfront_grants {
	u32 nr_grefs;
	grant_ref_t *grefs;		/* one per page */
	struct page **pages;		/* the caller's, granted */
};

/*
 * The segment list of one request: up to KNEMIF_MAX_INDIRECT_PAGES
 * indirect pages, granted read-only, rewritten for each chunk of a build.
 */
struct knemfront_indirect {
	u32 nr_pages;			/* allocated and granted */
	u32 nr_used;			/* named by the current request */
	u32 nr_segs;			/* listed in them */
	struct page *page[KNEMIF_MAX_INDIRECT_PAGES];
	grant_ref_t ref[KNEMIF_MAX_INDIRECT_PAGES];
};

/* What dom0 must know of a region (or of the local side of a copy). */
struct knemfront_region_desc {
	const struct knem_seg *segs;
	u32 nr_segs;
	struct page **pages;		/* pinned, one per page of @segs */
	u32 nr_pages;
	u64 length;
	u32 owner_uid;			/* in the initial user namespace */
	u32 kflags;			/* KNEMIF_KFLAG_CREATE_MASK bits */
	u32 protection;			/* KNEMIF_PROT_* */
};

/*
 * Grants @nr_pages @pages to the backend.  -ENOMEM, with one log line
 * naming the grant entries needed, when the grant table cannot hold them.
 */
int knemfront_grants_make(struct knemfront_grants *g, struct page **pages,
			  u32 nr_pages, bool readonly);
/*
 * Ends the grants of @g; a grant dom0 still maps is ended later by Xen's
 * deferred list, which holds a reference on its page until then.
 */
void knemfront_grants_end(struct knemfront_grants *g);

/* Allocates and grants @nr_pages indirect pages (at most the maximum). */
int knemfront_indirect_alloc(struct knemfront_indirect *ind, u32 nr_pages);

/* Where the listing of a segment list's pages has got to. */
struct knemfront_cursor {
	const struct knem_seg *segs;
	u32 nr_segs;
	const struct knemfront_grants *g;
	u32 seg;			/* current segment */
	u64 done;			/* its bytes listed so far */
	u32 page;			/* next page, an index in g->grefs */
};

static inline bool knemfront_cursor_done(const struct knemfront_cursor *cur)
{
	return cur->seg >= cur->nr_segs;
}

/*
 * Lists the next pages of @cur in @ind, at most @max_segs and what the
 * indirect pages hold, one wire segment per page piece of each segment;
 * *@bytes is what they cover.
 */
int knemfront_indirect_fill(struct knemfront_indirect *ind,
			    struct knemfront_cursor *cur, u32 max_segs,
			    u64 *bytes);

/*
 * Lists the pages of @segs (granted in @g, page k with g->grefs[k]) as wire
 * segments in freshly allocated and granted indirect pages, for one
 * request that takes at most @max_indirect of them.
 */
int knemfront_indirect_make(struct knemfront_indirect *ind,
			    const struct knem_seg *segs, u32 nr_segs,
			    const struct knemfront_grants *g,
			    u32 max_indirect);
void knemfront_indirect_end(struct knemfront_indirect *ind);

/*
 * Declares the pages of @desc, granted in @g, as a region in dom0 (one
 * REGION_CREATE, or REGION_CREATE + MORE and REGION_APPENDs for a region
 * above one request) and returns its cookie.  A failed build is abandoned
 * in dom0; @g stays granted for the caller to end.
 */
int knemfront_region_declare(const struct knemfront_region_desc *desc,
			     const struct knemfront_grants *g, u64 *cookie);
/*
 * REGION_DESTROY of a region this frontend declared: returns once dom0 no
 * longer uses its grants.  Sets *@consumed when dom0 reports it consumed.
 * 0, or -EFAULT when not connected (dom0 dropped it), or the errno of
 * another refusal.
 */
int knemfront_region_undeclare(u64 cookie, bool *consumed);

/*
 * The native layer's operations for regions (struct knem_xen_ops): a
 * region is declared in dom0 when it is published, withdrawn there when
 * it is claimed for a local use or released, and its invalidations are
 * forwarded.
 */
int knemfront_region_publish(struct knem_user_region *region,
			     knem_cookie_t *cookie);
void knemfront_region_release(struct knem_user_region *region);
bool knemfront_region_release_is_local(struct knem_user_region *region);
bool knemfront_region_claim(struct knem_user_region *region);
void knemfront_region_stale(struct knem_user_region *region);
/* Waits for the invalidations still being forwarded. */
void knemfront_region_stale_wait(void);
/*
 * dom0 released @cookie, a single-use region of ours that another domain
 * consumed: it leaves the local table.
 */
void knemfront_region_released(u64 cookie);
/* Whether a cookie or handle from dom0 may be one (logs when not). */
bool knemfront_cookie_plausible(u64 val);

/* Copies that name another domain's cookie (knemfront_copy.c). */
int knemfront_remote_prepare(struct knem_copy_work *work,
			     const struct knem_copy_req *req);
int knemfront_execute(struct knem_copy_work *work, knem_status_t *status);

/*
 * The WAIT_RELEASED loop (knemfront_released.c): started once connected,
 * stopped on disconnect (after knemfront_fail_all()), which also waits
 * for the invalidations still being forwarded.
 */
void knemfront_released_start(struct knemfront_info *info);
void knemfront_released_stop(struct knemfront_info *info);
/*
 * Whether @cookie is one of this guest's regions that its local cookie
 * table no longer finds (destroyed or consumed here): dom0 still knows
 * it until the release reaches it, but for this guest it is gone.
 */
bool knemfront_cookie_is_dead(u64 cookie);
/* Appends the regions' statistics line; returns its length. */
size_t knemfront_region_stats(char *buf, size_t size);

#endif /* KNEMFRONT_H */
