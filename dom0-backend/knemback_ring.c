// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemback_ring.c - the per-guest thread: consumes the ring, validates,
 * dispatches and answers (doc/xen-protocol.md, "Ring and event channel").
 *
 * Each request is copied out of the shared ring once (RING_COPY_REQUEST)
 * and reaches the handlers only through knemif_req_validate().  Requests
 * are handled one at a time, in ring order; every one but WAIT_RELEASED is
 * answered before the next is consumed, so the thread is the only writer
 * of responses and needs no lock for them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/sched.h>

#include <xen/events.h>
#include <xen/page.h>

#include "knemback.h"

void knemback_respond(struct knemback_if *ifc,
		      const struct knemif_req_checked *req, u16 status,
		      u8 flags, u64 val)
{
	struct knemif_back_ring *ring = &ifc->ring;
	struct knemif_response rsp = {
		.id = req->id,
		.op = req->op,
		.flags = flags,
		.status = status,
		.reserved = 0,
		.val = val,
	};
	int notify;

	memcpy(RING_GET_RESPONSE(ring, ring->rsp_prod_pvt), &rsp, sizeof(rsp));
	ring->rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(ring, notify);
	if (notify)
		notify_remote_via_irq(ifc->irq);
	if (status != KNEMIF_E_OK)
		atomic64_inc(&ifc->stats.errors);
}

int knemback_fetch_segs(struct knemback_if *ifc,
			const struct knemif_req_checked *req, u64 *total)
{
	struct gnttab_copy *ops = ifc->ops;
	u32 i, n = req->nr_indirect;
	u64 sum = 0;
	int status;

	/* the validator bounds nr_indirect by max-indirect-pages (<= 8) */
	if (n > KNEMIF_MAX_INDIRECT_PAGES || n > KNEMBACK_COPY_BATCH)
		return KNEMIF_E_INVAL;
	for (i = 0; i < n; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].source.u.ref = req->indirect[i];
		ops[i].source.domid = ifc->domid;
		ops[i].source.offset = 0;
		ops[i].dest.u.gmfn = virt_to_gfn(ifc->indirect[i]);
		ops[i].dest.domid = DOMID_SELF;
		ops[i].dest.offset = 0;
		ops[i].len = knemif_req_page_segs(req, i) *
			     sizeof(struct knemif_seg);
		ops[i].flags = GNTCOPY_source_gref;
	}
	if (n)
		gnttab_batch_copy(ops, n);
	for (i = 0; i < n; i++)
		if (ops[i].status != GNTST_okay)
			return KNEMIF_E_IO;
	/* checked in dom0 memory: the guest cannot change them any more */
	for (i = 0; i < n; i++) {
		status = knemif_segs_validate(req, i, ifc->indirect[i], &sum);
		if (status)
			return status;
	}
	status = knemif_segs_finish(req, sum);
	if (status)
		return status;
	*total = sum;
	return KNEMIF_E_OK;
}

/* Answers the parked WAIT_RELEASED if regions were released (or @force). */
static void knemback_answer_released(struct knemback_if *ifc, bool force)
{
	struct gnttab_copy *op = &ifc->ops[0];
	u64 *cookies = ifc->scratch;
	u32 n;

	if (!ifc->wait_parked)
		return;
	n = knemback_released_take(ifc, cookies,
				   KNEMIF_COOKIES_PER_RELEASE_PAGE);
	if (!n && !force)
		return;
	ifc->wait_parked = false;
	if (!n) {
		knemback_respond(ifc, &ifc->wait_req, KNEMIF_E_OK, 0, 0);
		return;
	}
	memset(op, 0, sizeof(*op));
	op->source.u.gmfn = virt_to_gfn(ifc->scratch);
	op->source.domid = DOMID_SELF;
	op->dest.u.ref = ifc->wait_req.u.wait_released.page_gref;
	op->dest.domid = ifc->domid;
	op->len = n * sizeof(u64);
	op->flags = GNTCOPY_dest_gref;
	gnttab_batch_copy(op, 1);
	if (op->status != GNTST_okay) {
		/* the guest broke its own page: those reports are lost */
		pr_warn_ratelimited("domain %u: WAIT_RELEASED page not writable, %u releases lost\n",
				    ifc->domid, n);
		knemback_respond(ifc, &ifc->wait_req, KNEMIF_E_IO, 0, 0);
		return;
	}
	knemback_respond(ifc, &ifc->wait_req, KNEMIF_E_OK, 0, n);
}

void knemback_kick(struct knemback_if *ifc)
{
	wake_up(&ifc->wq);
}

static void knemback_dispatch(struct knemback_if *ifc,
			      const struct knemif_request *raw)
{
	struct knemif_req_checked req;
	int status;

	atomic64_inc(&ifc->stats.requests);
	status = knemif_req_validate(raw, &ifc->limits, &req);
	if (status) {
		pr_debug("domain %u: request op %u rejected (%d)\n",
			 ifc->domid, req.op, status);
		/* any error ends a build, a malformed chunk's too */
		if (raw->op == KNEMIF_OP_REGION_APPEND)
			knemback_build_forget(ifc, raw->u.append.handle);
		knemback_respond(ifc, &req, status, 0, 0);
		return;
	}
	switch (req.op) {
	case KNEMIF_OP_REGION_CREATE:
		knemback_region_create(ifc, &req);
		break;
	case KNEMIF_OP_REGION_APPEND:
		knemback_region_append(ifc, &req);
		break;
	case KNEMIF_OP_REGION_DESTROY:
		knemback_region_destroy(ifc, &req);
		break;
	case KNEMIF_OP_REGION_MARK_STALE:
		knemback_region_mark_stale(ifc, &req);
		break;
	case KNEMIF_OP_COPY:
		knemback_copy(ifc, &req);
		break;
	case KNEMIF_OP_INLINE_COPY:
		knemback_inline_copy(ifc, &req);
		break;
	case KNEMIF_OP_WAIT_RELEASED:
		if (ifc->wait_parked) {
			knemback_respond(ifc, &req, KNEMIF_E_BUSY, 0, 0);
			break;
		}
		ifc->wait_req = req;
		ifc->wait_parked = true;
		knemback_answer_released(ifc, false);
		break;
	default:
		/* the validator knows every op; be safe anyway */
		knemback_respond(ifc, &req, KNEMIF_E_NOTSUPP, 0, 0);
		break;
	}
}

/* Consumes what the ring holds.  Returns whether there was any request. */
static bool knemback_process(struct knemback_if *ifc)
{
	struct knemif_back_ring *ring = &ifc->ring;
	struct knemif_request raw;
	RING_IDX rc, rp;
	bool did = false;
	int more;

	if (ifc->broken)
		return false;
	do {
		rp = READ_ONCE(ring->sring->req_prod);
		virt_rmb();	/* see the requests up to rp */
		/*
		 * Both distances are unsigned: req_prod may neither run more
		 * than a ring ahead of the responses (each request unanswered
		 * takes a slot) nor of the consumer.  A parked WAIT_RELEASED
		 * keeps rsp_prod_pvt one behind req_cons, so req_prod one
		 * behind req_cons passes the first test, not the second.
		 */
		if (RING_REQUEST_PROD_OVERFLOW(ring, rp) ||
		    rp - ring->req_cons > RING_SIZE(ring)) {
			ifc->broken = true;
			pr_warn("domain %u: ring abuse (req_prod %u, rsp_prod_pvt %u), disconnecting\n",
				ifc->domid, rp, ring->rsp_prod_pvt);
			xenbus_dev_fatal(ifc->dev, -EINVAL,
					 "req_prod %u ran ahead of the ring", rp);
			return did;
		}
		rc = ring->req_cons;
		while (rc != rp) {
			if (RING_REQUEST_CONS_OVERFLOW(ring, rc))
				return did;
			RING_COPY_REQUEST(ring, rc, &raw);
			ring->req_cons = ++rc;
			knemback_dispatch(ifc, &raw);
			did = true;
			if (kthread_should_stop())
				return did;
			cond_resched();
		}
		RING_FINAL_CHECK_FOR_REQUESTS(ring, more);
	} while (more);
	return did;
}

static bool knemback_has_released(struct knemback_if *ifc)
{
	bool ret;

	if (!ifc->wait_parked)
		return false;
	spin_lock_irq(&ifc->lock);
	ret = ifc->nr_released != 0;
	spin_unlock_irq(&ifc->lock);
	return ret;
}

static int knemback_thread(void *arg)
{
	struct knemback_if *ifc = arg;
	bool irq, did;

	while (!kthread_should_stop()) {
		wait_event_interruptible(ifc->wq,
					 READ_ONCE(ifc->irq_pending) ||
					 knemback_has_released(ifc) ||
					 kthread_should_stop());
		irq = xchg(&ifc->irq_pending, false);
		did = knemback_process(ifc);
		knemback_answer_released(ifc, false);
		if (irq && !ifc->broken)
			xen_irq_lateeoi(ifc->irq, did ? 0 : XEN_EOI_FLAG_SPURIOUS);
		cond_resched();
	}
	/* every request gets an answer, a parked WAIT_RELEASED val 0 */
	knemback_answer_released(ifc, true);
	return 0;
}

int knemback_ring_start(struct knemback_if *ifc)
{
	struct task_struct *task;

	task = kthread_run(knemback_thread, ifc, "knemback.%u", ifc->domid);
	if (IS_ERR(task))
		return PTR_ERR(task);
	ifc->task = task;
	return 0;
}

void knemback_ring_stop(struct knemback_if *ifc)
{
	if (!ifc->task)
		return;
	kthread_stop(ifc->task);
	ifc->task = NULL;
}
