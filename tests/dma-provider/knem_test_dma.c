// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_test_dma.c - a test-only DMA-engine memcpy provider.
 *
 * QEMU emulates no I/OAT, so knem's DMA-engine offload path would never run
 * in the test VM.  This module registers a public DMA_MEMCPY dma_device
 * whose "hardware" is the CPU: every descriptor is executed with memcpy()
 * through the kernel's direct map.  It is never installed.
 *
 * Model:
 *  - prep allocates a descriptor (GFP_NOWAIT, any context); tx_submit gives
 *    it the next cookie and queues it; issue_pending hands the queue to the
 *    "engine", which executes descriptors strictly in cookie order.
 *  - The engine runs in a workqueue item; and, unless poll_progress=0,
 *    device_tx_status on an unfinished cookie also runs the engine inline up
 *    to that cookie, as if the hardware had progressed meanwhile (so a
 *    client busy-waiting on dma_async_is_tx_complete() never depends on the
 *    scheduler, even on one CPU).  Copies run under the channel spinlock.
 *  - Completion callbacks ("interrupt bottom half") always run from the
 *    workqueue item, one at a time per channel, in cookie order, with
 *    bottom halves disabled (atomic, like the tasklets of real drivers),
 *    after any attached unmap data was released.  A cookie can thus read
 *    as complete before its callback ran.
 *  - DMA_CTRL_ACK is not modelled: a descriptor is freed right after its
 *    callback (or completion, when it has none).  Descriptor reuse is not
 *    supported.  DMA_PREP_INTERRUPT is ignored: callbacks always run.
 *  - fail_every=N makes every Nth submitted descriptor complete without
 *    copying, with DMA_TRANS_ABORTED for callback_result and DMA_ERROR from
 *    device_tx_status (the last KTD_FAILED_RING failed cookies per channel
 *    are remembered).
 *  - Where the platform's DMA mappings are not direct (a Xen PV dom0), the
 *    device sits behind an emulated IOMMU of its own; see "the emulated
 *    IOMMU" below.
 */
#define pr_fmt(fmt) "knem_test_dma: " fmt

#include <linux/atomic.h>
#include <linux/bottom_half.h>
#include <linux/delay.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/version.h>
#include <linux/workqueue.h>

#define KTD_NAME "knem_test_dma"
#define KTD_MAX_CHANNELS 8
#define KTD_FAILED_RING 64	/* remembered failed cookies per channel */
#define KTD_MAX_DELAY_US 1000000

/* --- module parameters ---------------------------------------------------- */

static unsigned int channels = 1;
module_param(channels, uint, 0444);
MODULE_PARM_DESC(channels, "Number of memcpy channels, 1 to 8 (default 1)");

static bool poll_progress = true;
module_param(poll_progress, bool, 0644);
MODULE_PARM_DESC(poll_progress,
		 "tx_status runs the engine up to the polled cookie; 0: only the worker copies (default Y)");

static unsigned int delay_us;
module_param(delay_us, uint, 0644);
MODULE_PARM_DESC(delay_us,
		 "The worker sleeps this long (max 1 s) before each run, to make completion observably late (default 0)");

static int cookie_start = DMA_MIN_COOKIE;
module_param(cookie_start, int, 0644);
MODULE_PARM_DESC(cookie_start,
		 "Cookie counter value when a channel is first used; the first cookie is the next one, wrapping after INT_MAX to 1 (default 1)");

/*
 * "Every Nth event" parameters: writing one also restarts its count, so
 * that "echo 3 > fail_every" makes the 3rd, 6th... next descriptors fail.
 */
struct ktd_every {
	unsigned int every;
	atomic_long_t seq;
};

static struct ktd_every ktd_fail;	/* submitted descriptors to fail */
static struct ktd_every ktd_prep_fail;	/* prep calls to refuse */

static int ktd_every_set(const char *val, const struct kernel_param *kp)
{
	struct ktd_every *e = kp->arg;
	unsigned int n;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	WRITE_ONCE(e->every, n);
	atomic_long_set(&e->seq, 0);
	return 0;
}

static int ktd_every_get(char *buf, const struct kernel_param *kp)
{
	const struct ktd_every *e = kp->arg;

	return scnprintf(buf, PAGE_SIZE, "%u\n", READ_ONCE(e->every));
}

static const struct kernel_param_ops ktd_every_ops = {
	.set = ktd_every_set,
	.get = ktd_every_get,
};

module_param_cb(fail_every, &ktd_every_ops, &ktd_fail, 0644);
MODULE_PARM_DESC(fail_every,
		 "Every Nth submitted descriptor completes with a DMA error without copying; 0 never (default 0)");
module_param_cb(prep_fail_every, &ktd_every_ops, &ktd_prep_fail, 0644);
MODULE_PARM_DESC(prep_fail_every,
		 "Every Nth device_prep_dma_memcpy call returns NULL; 0 never (default 0)");

/* True for the Nth, 2Nth... call since @e was last written. */
static bool ktd_every_hit(struct ktd_every *e)
{
	unsigned int n = READ_ONCE(e->every);

	if (!n)
		return false;
	return (unsigned long)atomic_long_inc_return(&e->seq) % n == 0;
}

/* Read-only statistics, module-wide, since the module was loaded. */
static atomic_long_t ktd_copies;	/* descriptors copied */
static atomic_long_t ktd_bytes;		/* bytes copied */
static atomic_long_t ktd_errors;	/* descriptors failed */
static atomic_long_t ktd_live_descs;	/* allocated, checked at unload */

static int ktd_counter_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%lu\n",
			 (unsigned long)atomic_long_read(kp->arg));
}

static int ktd_counter_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops ktd_counter_ops = {
	.set = ktd_counter_set,
	.get = ktd_counter_get,
};

module_param_cb(copies, &ktd_counter_ops, &ktd_copies, 0444);
MODULE_PARM_DESC(copies, "Descriptors executed by copying (read-only)");
module_param_cb(bytes, &ktd_counter_ops, &ktd_bytes, 0444);
MODULE_PARM_DESC(bytes, "Bytes copied by the engine (read-only)");
module_param_cb(errors, &ktd_counter_ops, &ktd_errors, 0444);
MODULE_PARM_DESC(errors, "Descriptors completed with an error (read-only)");

/* --- data structures ------------------------------------------------------ */

struct ktd_desc {
	struct dma_async_tx_descriptor tx;
	struct list_head node;		/* on one list of its channel */
	dma_addr_t dst;
	dma_addr_t src;
	size_t len;
	bool inject_error;		/* decided at submit (fail_every) */
	enum dmaengine_tx_result result;
};

/*
 * A descriptor lives on exactly one list, under @lock: prepared (not yet
 * submitted), submitted (cookie assigned, not issued), issued (queued to
 * the engine), done (executed, callback pending).  The worker owns it while
 * it runs its callback.
 */
struct ktd_chan {
	struct dma_chan chan;
	spinlock_t lock;
	struct list_head prepared;
	struct list_head submitted;
	struct list_head issued;
	struct list_head done;
	struct work_struct work;
	dma_cookie_t failed[KTD_FAILED_RING];
	unsigned int failed_next;
	/* cookies in (aborted_after, aborted_last] were terminated */
	dma_cookie_t aborted_after;
	dma_cookie_t aborted_last;
};

struct ktd_device {
	struct dma_device dma;
	unsigned int nr_chans;
	struct ktd_chan chans[];
};

static struct workqueue_struct *ktd_wq;
static struct platform_device *ktd_pdev;
static int ktd_probe_result = -ENODEV;

static struct ktd_chan *to_ktd_chan(struct dma_chan *c)
{
	return container_of(c, struct ktd_chan, chan);
}

static struct ktd_desc *to_ktd_desc(struct dma_async_tx_descriptor *tx)
{
	return container_of(tx, struct ktd_desc, tx);
}

/* --- cookies -------------------------------------------------------------- */

/* Hands out the channel's next cookie, wrapping after INT_MAX to 1. */
static dma_cookie_t ktd_next_cookie_locked(struct ktd_chan *kc)
{
	struct dma_chan *c = &kc->chan;
	dma_cookie_t next;

	next = c->cookie >= INT_MAX ? DMA_MIN_COOKIE : c->cookie + 1;
	if (next < DMA_MIN_COOKIE)
		next = DMA_MIN_COOKIE;
	c->cookie = next;
	return next;
}

static bool ktd_cookie_failed_locked(struct ktd_chan *kc, dma_cookie_t cookie)
{
	unsigned int i;

	/* dma_async_is_complete() handles the wraparound of the range. */
	if (kc->aborted_after != kc->aborted_last &&
	    dma_async_is_complete(cookie, kc->aborted_after,
				  kc->aborted_last) == DMA_IN_PROGRESS)
		return true;
	for (i = 0; i < KTD_FAILED_RING; i++)
		if (kc->failed[i] == cookie)
			return true;
	return false;
}

static enum dma_status ktd_cookie_status_locked(struct ktd_chan *kc,
						dma_cookie_t cookie)
{
	struct dma_chan *c = &kc->chan;

	if (dma_async_is_complete(cookie, c->completed_cookie, c->cookie) !=
	    DMA_COMPLETE)
		return DMA_IN_PROGRESS;
	return ktd_cookie_failed_locked(kc, cookie) ? DMA_ERROR : DMA_COMPLETE;
}

/* --- the emulated IOMMU --------------------------------------------------- */

/*
 * In a Xen PV dom0 the platform's DMA ops are Xen's swiotlb: a DMA address
 * is a machine address (the frame the p2m gives for the page), which is
 * what real hardware needs but what the CPU cannot reach.  The kernel maps
 * dom0's pseudo-physical frames, and a machine frame cannot be turned back
 * into one: the m2p of a grant-mapped foreign frame names a page of the
 * granting domain.  So the emulated device is given its own DMA ops, those
 * of a device behind an IOMMU whose bus address space is dom0's
 * pseudo-physical space: a page is mapped at page_to_phys(), which the
 * device reaches through the kernel's direct map, whose entry for that
 * frame is the one the CPU copy engine uses (for a grant-mapped page, the
 * foreign frame mapped there).  The device never bounces: every page has a
 * bus address, and it is coherent, so nothing needs syncing or unmapping
 * (dma_unmap_*() skip a NULL method).  Coherent memory is not offered
 * (dma_alloc_*() fail without an alloc method): no client of a memcpy
 * channel asks for it.
 *
 * Real I/OAT in a Xen dom0 needs none of this: it is a PCI device whose
 * bus addresses are machine addresses, which Xen's swiotlb computes from
 * the p2m, foreign frames included (Xen also maps the grant into dom0's
 * IOMMU context when there is one).
 *
 * Elsewhere (bare metal, KVM guests) the platform's mappings are direct
 * and the device uses them, swiotlb bouncing included; an IOMMU does not
 * apply to this software device, which belongs to no IOMMU group.
 */
static dma_addr_t ktd_iommu_map_page(struct device *dev, struct page *page,
				     unsigned long offset, size_t size,
				     enum dma_data_direction dir,
				     unsigned long attrs)
{
	return page_to_phys(page) + offset;
}

static int ktd_iommu_map_sg(struct device *dev, struct scatterlist *sgl,
			    int nents, enum dma_data_direction dir,
			    unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg->dma_address = sg_phys(sg);
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

static const struct dma_map_ops ktd_iommu_ops = {
	.map_page = ktd_iommu_map_page,
	.map_sg = ktd_iommu_map_sg,
};

/* --- the "hardware" ------------------------------------------------------- */

/*
 * The emulated device reaches memory through the kernel's direct map.  With
 * direct DMA mappings (no DMA ops: no IOMMU, no Xen swiotlb), a DMA address
 * is a CPU physical address, up to a bus offset and the SME bit that
 * dma_to_phys() removes (the helper is meant for DMA-mapping code; a device
 * model is one).  A swiotlb bounce buffer is ordinary RAM, so bounced
 * mappings work as on real hardware.  Behind the emulated IOMMU, a DMA
 * address is the physical address itself.  An address that is not RAM
 * fails the descriptor, as an IOMMU fault or a master abort would, instead
 * of crashing the kernel.
 */
static void *ktd_dma_to_virt(struct device *dev, dma_addr_t addr, size_t len)
{
	phys_addr_t phys = get_dma_ops(dev) == &ktd_iommu_ops ?
			   (phys_addr_t)addr : dma_to_phys(dev, addr);
	phys_addr_t last;
	unsigned long pfn;

	if (phys == (phys_addr_t)-1 ||
	    check_add_overflow(phys, (phys_addr_t)(len ? len - 1 : 0), &last))
		return NULL;
	for (pfn = PHYS_PFN(phys); pfn <= PHYS_PFN(last); pfn++)
		if (!pfn_valid(pfn))
			return NULL;
	return phys_to_virt(phys);
}

static void ktd_record_failure_locked(struct ktd_chan *kc,
				      struct ktd_desc *d)
{
	atomic_long_inc(&ktd_errors);
	kc->failed[kc->failed_next % KTD_FAILED_RING] = d->tx.cookie;
	kc->failed_next++;
}

/* Executes one descriptor: copy, or fail. */
static void ktd_execute_locked(struct ktd_chan *kc, struct ktd_desc *d)
{
	struct device *dev = kc->chan.device->dev;
	void *dst, *src;

	if (d->inject_error) {
		d->result = DMA_TRANS_ABORTED;
		ktd_record_failure_locked(kc, d);
		return;
	}
	src = ktd_dma_to_virt(dev, d->src, d->len);
	dst = ktd_dma_to_virt(dev, d->dst, d->len);
	if (!src || !dst) {
		d->result = src ? DMA_TRANS_WRITE_FAILED :
				  DMA_TRANS_READ_FAILED;
		dev_err_ratelimited(dev,
				    "%s: cookie %d: %s address %pad (%zu bytes) is not RAM\n",
				    dma_chan_name(&kc->chan), d->tx.cookie,
				    src ? "destination" : "source",
				    src ? &d->dst : &d->src, d->len);
		ktd_record_failure_locked(kc, d);
		return;
	}
	memcpy(dst, src, d->len);
	d->result = DMA_TRANS_NOERROR;
	atomic_long_inc(&ktd_copies);
	atomic_long_add(d->len, &ktd_bytes);
	/* The core's memcpy_count and bytes_transferred channel attributes. */
	this_cpu_inc(kc->chan.local->memcpy_count);
	this_cpu_add(kc->chan.local->bytes_transferred, d->len);
}

/*
 * Runs the oldest issued descriptor, if any, and completes its cookie.
 * Returns false when nothing was issued.
 */
static bool ktd_run_one_locked(struct ktd_chan *kc)
{
	struct ktd_desc *d;

	d = list_first_entry_or_null(&kc->issued, struct ktd_desc, node);
	if (!d)
		return false;
	ktd_execute_locked(kc, d);
	kc->chan.completed_cookie = d->tx.cookie;
	list_move_tail(&d->node, &kc->done);
	return true;
}

static void ktd_free_desc(struct ktd_desc *d)
{
	dma_descriptor_unmap(&d->tx);
	kfree(d);
	atomic_long_dec(&ktd_live_descs);
}

static void ktd_free_list(struct list_head *list)
{
	struct ktd_desc *d, *n;

	list_for_each_entry_safe(d, n, list, node) {
		list_del(&d->node);
		ktd_free_desc(d);
	}
}

/* Releases the unmap data, invokes the callback, frees the descriptor. */
static void ktd_complete(struct ktd_desc *d)
{
	struct dmaengine_result res = {
		.result = d->result,
		.residue = d->result == DMA_TRANS_NOERROR ? 0 :
			   (u32)min_t(size_t, d->len, U32_MAX),
	};
	struct dma_async_tx_descriptor *tx = &d->tx;

	dma_descriptor_unmap(tx);
	local_bh_disable();
	if (tx->callback_result)
		tx->callback_result(tx->callback_param, &res);
	else if (tx->callback)
		tx->callback(tx->callback_param);
	local_bh_enable();
	kfree(d);
	atomic_long_dec(&ktd_live_descs);
}

static void ktd_work(struct work_struct *work)
{
	struct ktd_chan *kc = container_of(work, struct ktd_chan, work);
	unsigned int delay = min_t(unsigned int, READ_ONCE(delay_us),
				   KTD_MAX_DELAY_US);
	struct ktd_desc *d;
	unsigned long flags;
	bool more;

	if (delay)
		fsleep(delay);

	/* The engine: everything issued so far, in order. */
	do {
		spin_lock_irqsave(&kc->lock, flags);
		more = ktd_run_one_locked(kc);
		spin_unlock_irqrestore(&kc->lock, flags);
		cond_resched();
	} while (more);

	/*
	 * The completion "interrupt": one callback at a time, without the
	 * lock, so that a callback may submit, issue, poll or terminate.
	 */
	for (;;) {
		spin_lock_irqsave(&kc->lock, flags);
		d = list_first_entry_or_null(&kc->done, struct ktd_desc, node);
		if (d)
			list_del(&d->node);
		spin_unlock_irqrestore(&kc->lock, flags);
		if (!d)
			break;
		ktd_complete(d);
		cond_resched();
	}
}

/* --- dma_device operations ------------------------------------------------ */

static dma_cookie_t ktd_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct ktd_desc *d = to_ktd_desc(tx);
	struct ktd_chan *kc = to_ktd_chan(tx->chan);
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&kc->lock, flags);
	cookie = ktd_next_cookie_locked(kc);
	tx->cookie = cookie;
	d->inject_error = ktd_every_hit(&ktd_fail);
	list_move_tail(&d->node, &kc->submitted);
	spin_unlock_irqrestore(&kc->lock, flags);
	return cookie;
}

static struct dma_async_tx_descriptor *
ktd_prep_dma_memcpy(struct dma_chan *c, dma_addr_t dst, dma_addr_t src,
		    size_t len, unsigned long flags)
{
	struct ktd_chan *kc = to_ktd_chan(c);
	unsigned long irqflags;
	struct ktd_desc *d;

	if (ktd_every_hit(&ktd_prep_fail))
		return NULL;
	/* May be called in atomic context; a failure is the client's to handle. */
	d = kzalloc(sizeof(*d), GFP_NOWAIT | __GFP_NOWARN);
	if (!d)
		return NULL;
	atomic_long_inc(&ktd_live_descs);
	dma_async_tx_descriptor_init(&d->tx, c);
	d->tx.tx_submit = ktd_tx_submit;
	d->tx.flags = (enum dma_ctrl_flags)flags;
	d->tx.cookie = -EBUSY;	/* not submitted yet */
	d->dst = dst;
	d->src = src;
	d->len = len;

	spin_lock_irqsave(&kc->lock, irqflags);
	list_add_tail(&d->node, &kc->prepared);
	spin_unlock_irqrestore(&kc->lock, irqflags);
	return &d->tx;
}

static void ktd_issue_pending(struct dma_chan *c)
{
	struct ktd_chan *kc = to_ktd_chan(c);
	unsigned long flags;
	bool kick = false;

	spin_lock_irqsave(&kc->lock, flags);
	if (!list_empty(&kc->submitted)) {
		list_splice_tail_init(&kc->submitted, &kc->issued);
		kick = true;
	}
	spin_unlock_irqrestore(&kc->lock, flags);
	if (kick)
		queue_work(ktd_wq, &kc->work);
}

static enum dma_status ktd_tx_status(struct dma_chan *c, dma_cookie_t cookie,
				     struct dma_tx_state *txstate)
{
	struct ktd_chan *kc = to_ktd_chan(c);
	enum dma_status status;
	unsigned long flags;
	bool ran = false;

	spin_lock_irqsave(&kc->lock, flags);
	status = ktd_cookie_status_locked(kc, cookie);
	if (status == DMA_IN_PROGRESS && READ_ONCE(poll_progress)) {
		/* The "hardware" progressed while the client waited. */
		while (status == DMA_IN_PROGRESS && ktd_run_one_locked(kc)) {
			ran = true;
			status = ktd_cookie_status_locked(kc, cookie);
		}
	}
	dma_set_tx_state(txstate, c->completed_cookie, c->cookie, 0);
	spin_unlock_irqrestore(&kc->lock, flags);
	if (ran)
		queue_work(ktd_wq, &kc->work);	/* for the callbacks */
	return status;
}

/*
 * Drops every descriptor of the channel without invoking callbacks, also
 * those executed but whose callback has not run yet (as virt-dma does).
 * Outstanding cookies become complete, and report DMA_ERROR.  Any context.
 */
static int ktd_terminate_all(struct dma_chan *c)
{
	struct ktd_chan *kc = to_ktd_chan(c);
	unsigned long flags;
	LIST_HEAD(list);

	spin_lock_irqsave(&kc->lock, flags);
	if (c->completed_cookie != c->cookie) {
		kc->aborted_after = c->completed_cookie;
		kc->aborted_last = c->cookie;
		c->completed_cookie = c->cookie;
	}
	list_splice_tail_init(&kc->prepared, &list);
	list_splice_tail_init(&kc->submitted, &list);
	list_splice_tail_init(&kc->issued, &list);
	list_splice_tail_init(&kc->done, &list);
	spin_unlock_irqrestore(&kc->lock, flags);
	ktd_free_list(&list);
	return 0;
}

/* Waits for the worker, hence for any callback in progress.  Sleeps. */
static void ktd_synchronize(struct dma_chan *c)
{
	flush_work(&to_ktd_chan(c)->work);
}

static int ktd_alloc_chan_resources(struct dma_chan *c)
{
	struct ktd_chan *kc = to_ktd_chan(c);
	dma_cookie_t start = READ_ONCE(cookie_start);
	unsigned long flags;

	if (start < DMA_MIN_COOKIE)
		start = DMA_MIN_COOKIE;
	spin_lock_irqsave(&kc->lock, flags);
	c->cookie = start;
	c->completed_cookie = start;
	memset(kc->failed, 0, sizeof(kc->failed));
	kc->failed_next = 0;
	kc->aborted_after = start;
	kc->aborted_last = start;
	spin_unlock_irqrestore(&kc->lock, flags);
	return 0;
}

/* The last client is gone (also on the way to module unload). */
static void ktd_free_chan_resources(struct dma_chan *c)
{
	ktd_terminate_all(c);
	cancel_work_sync(&to_ktd_chan(c)->work);
}

static void ktd_release(struct dma_device *dma)
{
	kfree(container_of(dma, struct ktd_device, dma));
}

/* --- platform driver and module ------------------------------------------- */

static int ktd_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct ktd_device *kd;
	struct dma_device *dma;
	unsigned int i;
	int ret;

	/* Before the mask: dma_supported() asks the device's ops. */
	if (get_dma_ops(dev)) {
		set_dma_ops(dev, &ktd_iommu_ops);
		dev_info(dev, "platform DMA mappings are not direct: behind an emulated IOMMU\n");
	}
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		goto out;

	kd = kzalloc(struct_size(kd, chans, channels), GFP_KERNEL);
	if (!kd) {
		ret = -ENOMEM;
		goto out;
	}
	kd->nr_chans = channels;
	dma = &kd->dma;
	dma->dev = dev;
	INIT_LIST_HEAD(&dma->channels);
	dma_cap_zero(dma->cap_mask);
	dma_cap_set(DMA_MEMCPY, dma->cap_mask);
	dma->copy_align = DMAENGINE_ALIGN_1_BYTE;
	dma->directions = BIT(DMA_MEM_TO_MEM);
	dma->residue_granularity = DMA_RESIDUE_GRANULARITY_DESCRIPTOR;
	dma->device_alloc_chan_resources = ktd_alloc_chan_resources;
	dma->device_free_chan_resources = ktd_free_chan_resources;
	dma->device_prep_dma_memcpy = ktd_prep_dma_memcpy;
	dma->device_issue_pending = ktd_issue_pending;
	dma->device_tx_status = ktd_tx_status;
	dma->device_terminate_all = ktd_terminate_all;
	dma->device_synchronize = ktd_synchronize;
	dma->device_release = ktd_release;

	for (i = 0; i < kd->nr_chans; i++) {
		struct ktd_chan *kc = &kd->chans[i];

		kc->chan.device = dma;
		spin_lock_init(&kc->lock);
		INIT_LIST_HEAD(&kc->prepared);
		INIT_LIST_HEAD(&kc->submitted);
		INIT_LIST_HEAD(&kc->issued);
		INIT_LIST_HEAD(&kc->done);
		INIT_WORK(&kc->work, ktd_work);
		list_add_tail(&kc->chan.device_node, &dma->channels);
	}

	ret = dma_async_device_register(dma);
	if (ret) {
		kfree(kd);
		goto out;
	}
	platform_set_drvdata(pdev, kd);
	dev_info(dev, "%u public DMA_MEMCPY channel(s), dma%d\n",
		 kd->nr_chans, dma->dev_id);
out:
	ktd_probe_result = ret;
	return ret;
}

static void ktd_remove_device(struct platform_device *pdev)
{
	struct ktd_device *kd = platform_get_drvdata(pdev);
	unsigned int i;

	/*
	 * No client is left: each holds a reference on this module.  Their
	 * departure freed the channels' descriptors already.
	 */
	for (i = 0; i < kd->nr_chans; i++)
		cancel_work_sync(&kd->chans[i].work);
	/* Frees @kd through ktd_release(). */
	dma_async_device_unregister(&kd->dma);
	if (atomic_long_read(&ktd_live_descs))
		dev_err(&pdev->dev, "%ld descriptors leaked\n",
			atomic_long_read(&ktd_live_descs));
}

/* struct platform_driver's .remove returns void since Linux 6.11. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define ktd_remove ktd_remove_device
#else
static int ktd_remove(struct platform_device *pdev)
{
	ktd_remove_device(pdev);
	return 0;
}
#endif

static struct platform_driver ktd_driver = {
	.probe = ktd_probe,
	.remove = ktd_remove,
	.driver = {
		.name = KTD_NAME,
		/* Unbinding only through module unload, when unused. */
		.suppress_bind_attrs = true,
	},
};

static int __init ktd_init(void)
{
	int ret;

	if (channels < 1 || channels > KTD_MAX_CHANNELS) {
		pr_err("channels=%u: must be 1 to %d\n", channels,
		       KTD_MAX_CHANNELS);
		return -EINVAL;
	}
	ktd_wq = alloc_workqueue(KTD_NAME, WQ_UNBOUND | WQ_HIGHPRI, 0);
	if (!ktd_wq)
		return -ENOMEM;
	ret = platform_driver_register(&ktd_driver);
	if (ret)
		goto err_wq;
	ktd_pdev = platform_device_register_simple(KTD_NAME, PLATFORM_DEVID_NONE,
						   NULL, 0);
	if (IS_ERR(ktd_pdev)) {
		ret = PTR_ERR(ktd_pdev);
		goto err_driver;
	}
	/* Probing is synchronous: it has run (or failed) by now. */
	if (!platform_get_drvdata(ktd_pdev)) {
		ret = ktd_probe_result ? ktd_probe_result : -ENODEV;
		goto err_device;
	}
	return 0;

err_device:
	platform_device_unregister(ktd_pdev);
err_driver:
	platform_driver_unregister(&ktd_driver);
err_wq:
	destroy_workqueue(ktd_wq);
	return ret;
}

static void __exit ktd_exit(void)
{
	platform_device_unregister(ktd_pdev);
	platform_driver_unregister(&ktd_driver);
	destroy_workqueue(ktd_wq);
}

module_init(ktd_init);
module_exit(ktd_exit);

MODULE_AUTHOR("knem-xen developers");
MODULE_DESCRIPTION("Test-only DMA-engine memcpy provider for knem's DMA offload path");
MODULE_LICENSE("Dual BSD/GPL");
