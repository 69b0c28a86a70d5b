/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knemfront.h - the Xen frontend of knem-front.ko: the guest's /dev/knem
 * is the native driver (the same source files as dom0's knem.ko); regions
 * are mirrored in dom0 and copies that name another domain's cookie go
 * over the knemif ring (doc/xen-protocol.md).
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
	spinlock_t lock;		/* ring, shadow, connected */
	u64 next_seq;
	unsigned int nr_inflight;
	wait_queue_head_t slot_wait;
	struct knemfront_shadow shadow[KNEMIF_RING_SLOTS];
	atomic64_t nr_requests;
	atomic64_t nr_errors;
};

/* The one frontend device; NULL until probed (knemfront_xenbus.c). */
extern struct knemfront_info *knemfront;
extern struct mutex knemfront_lock;

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
 * Granted pages and the indirect pages that list them (knemfront_region.c).
 */
struct knemfront_grants {
	u32 nr_grefs;
	grant_ref_t *grefs;		/* one per page */
	u32 nr_segs;
	u32 nr_indirect;
	struct page *indirect[KNEMIF_MAX_INDIRECT_PAGES];
	grant_ref_t indirect_ref[KNEMIF_MAX_INDIRECT_PAGES];
};

/*
 * Grants @pages (one per page of @segs, in order) to the backend and lists
 * them as wire segments in indirect pages, at most @max_indirect of them.
 */
int knemfront_grants_make(struct knemfront_grants *g,
			  const struct knem_seg *segs, u32 nr_segs,
			  struct page **pages, u32 nr_pages, bool readonly,
			  u32 max_indirect);
/* Ends the grants of @g; a grant still in use is left (and logged). */
void knemfront_grants_end(struct knemfront_grants *g);

#endif /* KNEMFRONT_H */
