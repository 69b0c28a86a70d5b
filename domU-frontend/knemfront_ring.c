// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knemfront_ring.c - requests over the knemif ring: unique ids, a shadow
 * slot per request in flight, and a completion the caller sleeps on.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interrupt.h>

#include <xen/events.h>

#include "knemfront.h"

/* The id carries its shadow slot in the low bits, a sequence above. */
#define KNEMFRONT_SLOT_BITS 5

int knemfront_errno(u16 status)
{
	switch (status) {
	case KNEMIF_E_OK:
		return 0;
	case KNEMIF_E_INVAL:
		pr_warn_ratelimited("request refused as malformed\n");
		return -EINVAL;
	case KNEMIF_E_NOENT:
		return -EINVAL;
	case KNEMIF_E_PERM:
		return -EPERM;
	case KNEMIF_E_ACCES:
		return -EACCES;
	case KNEMIF_E_NOSPC:
		pr_warn_ratelimited("a backend quota is reached\n");
		return -ENOMEM;
	case KNEMIF_E_STALE:
		return -EFAULT;
	case KNEMIF_E_IO:
		return -EFAULT;
	case KNEMIF_E_NOTSUPP:
		pr_warn_ratelimited("request not supported by the backend\n");
		return -EINVAL;
	case KNEMIF_E_BUSY:
		return -EBUSY;
	case KNEMIF_E_NOMEM:
		return -ENOMEM;
	case KNEMIF_E_FAULT:
	case KNEMFRONT_E_GONE:
		return -EFAULT;
	default:
		pr_warn_ratelimited("unknown status %u\n", status);
		return -EIO;
	}
}

/*
 * Completes every outstanding request with KNEMFRONT_E_GONE and marks the
 * device disconnected; called with the lock held.
 */
static void knemfront_fail_all_locked(struct knemfront_info *info)
{
	unsigned int i;

	info->connected = false;
	for (i = 0; i < KNEMIF_RING_SLOTS; i++) {
		struct knemfront_shadow *shadow = &info->shadow[i];

		if (!shadow->id)
			continue;
		memset(&shadow->rsp, 0, sizeof(shadow->rsp));
		shadow->rsp.id = shadow->id;
		shadow->rsp.status = KNEMFRONT_E_GONE;
		shadow->id = 0;
		complete(&shadow->done);
	}
}

/*
 * Whether the backend's rsp_prod @rp is plausible: no further ahead of
 * rsp_cons than the requests this frontend pushed (unsigned distances, so
 * a producer behind rsp_cons is far ahead too).  This is stricter than
 * RING_RESPONSE_PROD_OVERFLOW(), which allows a whole ring of responses.
 */
static bool knemfront_rsp_prod_ok(struct knemfront_info *info, RING_IDX rp)
{
	struct knemif_front_ring *ring = &info->ring;

	if (RING_RESPONSE_PROD_OVERFLOW(ring, rp))
		return false;
	return rp - ring->rsp_cons <= ring->req_prod_pvt - ring->rsp_cons;
}

irqreturn_t knemfront_interrupt(int irq, void *dev_id)
{
	struct knemfront_info *info = dev_id;
	struct knemif_response rsp;
	unsigned long irqflags;
	RING_IDX i, rp;
	int more;

	spin_lock_irqsave(&info->lock, irqflags);
	if (!info->connected)
		goto out;
	do {
		rp = READ_ONCE(info->ring.sring->rsp_prod);
		/*
		 * dom0 is trusted, but a corrupt one must not make this guest
		 * walk stale slots (or loop over 2^32 of them): a producer
		 * ahead of what was requested is a broken backend.  Nothing
		 * more is consumed; the requests in flight fail as on a
		 * disconnect and new ones are refused (-EFAULT) until the
		 * backend's next state change reconnects the device.  Not
		 * tested by the Xen suite: that would need a corrupt dom0.
		 */
		if (unlikely(!knemfront_rsp_prod_ok(info, rp))) {
			pr_err_ratelimited("backend's rsp_prod %u is not within rsp_cons %u .. req_prod %u: disconnecting\n",
					   rp, info->ring.rsp_cons,
					   info->ring.req_prod_pvt);
			knemfront_fail_all_locked(info);
			spin_unlock_irqrestore(&info->lock, irqflags);
			wake_up_all(&info->slot_wait);
			return IRQ_HANDLED;
		}
		virt_rmb();	/* responses up to rp are visible */
		for (i = info->ring.rsp_cons; i != rp; i++) {
			struct knemfront_shadow *shadow;

			RING_COPY_RESPONSE(&info->ring, i, &rsp);
			shadow = &info->shadow[rsp.id &
					       (KNEMIF_RING_SLOTS - 1)];
			if (!shadow->id || shadow->id != rsp.id) {
				pr_warn_ratelimited("response to unknown id %llu\n",
						    rsp.id);
				continue;
			}
			shadow->rsp = rsp;
			shadow->id = 0;
			complete(&shadow->done);
		}
		info->ring.rsp_cons = i;
		RING_FINAL_CHECK_FOR_RESPONSES(&info->ring, more);
	} while (more);
out:
	spin_unlock_irqrestore(&info->lock, irqflags);
	return IRQ_HANDLED;
}

void knemfront_fail_all(struct knemfront_info *info)
{
	unsigned long irqflags;

	spin_lock_irqsave(&info->lock, irqflags);
	knemfront_fail_all_locked(info);
	spin_unlock_irqrestore(&info->lock, irqflags);
	wake_up_all(&info->slot_wait);
}

/* Takes a free slot; called with the lock held.  -1 when none is free. */
static int knemfront_get_slot(struct knemfront_info *info)
{
	unsigned int i;

	if (info->nr_inflight >= KNEMIF_RING_SLOTS)
		return -1;
	for (i = 0; i < KNEMIF_RING_SLOTS; i++) {
		if (!info->shadow[i].id && !completion_done(&info->shadow[i].done))
			return i;
	}
	return -1;
}

static bool knemfront_may_send(struct knemfront_info *info)
{
	bool ok;

	spin_lock_irq(&info->lock);
	ok = !info->connected || info->nr_inflight < KNEMIF_RING_SLOTS;
	spin_unlock_irq(&info->lock);
	return ok;
}

int knemfront_submit(struct knemif_request *req, struct knemif_response *rsp)
{
	struct knemfront_info *info = knemfront;
	struct knemfront_shadow *shadow;
	int slot, notify;

	if (!info)
		return -EFAULT;
	for (;;) {
		spin_lock_irq(&info->lock);
		if (!info->connected) {
			spin_unlock_irq(&info->lock);
			return -EFAULT;
		}
		slot = knemfront_get_slot(info);
		if (slot >= 0)
			break;
		spin_unlock_irq(&info->lock);
		wait_event(info->slot_wait, knemfront_may_send(info));
	}
	shadow = &info->shadow[slot];
	info->nr_inflight++;
	info->next_seq++;
	req->id = (info->next_seq << KNEMFRONT_SLOT_BITS) | slot;
	shadow->id = req->id;
	reinit_completion(&shadow->done);
	*RING_GET_REQUEST(&info->ring, info->ring.req_prod_pvt) = *req;
	info->ring.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&info->ring, notify);
	/* under the lock: a disconnect unbinds the irq only after fail_all */
	if (notify)
		notify_remote_via_irq(info->irq);
	spin_unlock_irq(&info->lock);
	atomic64_inc(&info->nr_requests);

	/*
	 * The backend answers every request, or fail_all does for it when
	 * the backend goes away (detach): the slot stays taken until then.
	 * A parked WAIT_RELEASED may wait for ever without being a hung
	 * task.
	 */
	wait_for_completion_state(&shadow->done,
				  req->op == KNEMIF_OP_WAIT_RELEASED ?
				  TASK_IDLE : TASK_UNINTERRUPTIBLE);

	spin_lock_irq(&info->lock);
	*rsp = shadow->rsp;
	reinit_completion(&shadow->done);
	info->nr_inflight--;
	spin_unlock_irq(&info->lock);
	wake_up(&info->slot_wait);

	if (rsp->status == KNEMFRONT_E_GONE)
		return -EFAULT;
	if (rsp->op != req->op) {
		pr_warn_ratelimited("response op %u to op %u\n", rsp->op,
				    req->op);
		rsp->status = KNEMIF_E_IO;
	}
	if (rsp->status)
		atomic64_inc(&info->nr_errors);
	return 0;
}
