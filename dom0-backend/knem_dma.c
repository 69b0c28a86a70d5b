// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_dma.c - copies offloaded to a DMA-engine memcpy channel (I/OAT or
 * any other dmaengine provider).
 *
 * The chunks of the plan are mapped with dma_map_page() on the channel's
 * device and submitted in batches; every descriptor's completion callback
 * counts down the batch, the last one wakes the submitter, which then
 * checks every descriptor's status and unmaps the pages.  Chunks up to `dmamin` bytes
 * are cheaper on the CPU and are copied there.  Callers run in process
 * context: the ioctl, or the context's offload worker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/sched/signal.h>

#include "knem_native.h"

/* Descriptors in flight per batch: bounds the mappings held at once. */
#define KNEM_DMA_BATCH 64

/*
 * Bytes between rescheduling points, as in the CPU engine: a copy whose
 * chunks are all at or below dmamin never fills a batch.
 */
#define KNEM_DMA_RESCHED_BYTES (64 << 10)

struct knem_dma_batch {
	struct dma_chan *chan;
	struct device *dev;
	unsigned int nr;
	dma_cookie_t cookies[KNEM_DMA_BATCH];
	dma_addr_t src[KNEM_DMA_BATCH];
	dma_addr_t dst[KNEM_DMA_BATCH];
	u32 len[KNEM_DMA_BATCH];
	atomic_t outstanding;		/* descriptors, plus one for the submitter */
	struct completion done;
	bool failed;
};

void knem_dma_init(void)
{
	/* Asks dmaengine to hand out public memcpy channels, now and later. */
	if (knem_param_dma)
		dmaengine_get();
}

void knem_dma_exit(void)
{
	if (knem_param_dma)
		dmaengine_put();
}

bool knem_dma_available(void)
{
	return knem_param_dma && dma_find_channel(DMA_MEMCPY);
}

static void knem_dma_desc_done(void *arg, const struct dmaengine_result *res)
{
	struct knem_dma_batch *batch = arg;

	if (res && res->result != DMA_TRANS_NOERROR)
		WRITE_ONCE(batch->failed, true);
	if (atomic_dec_and_test(&batch->outstanding))
		complete(&batch->done);
}

static void knem_dma_unmap(struct knem_dma_batch *batch, unsigned int i)
{
	dma_unmap_page(batch->dev, batch->src[i], batch->len[i],
		       DMA_TO_DEVICE);
	dma_unmap_page(batch->dev, batch->dst[i], batch->len[i],
		       DMA_FROM_DEVICE);
}

/* Waits for the batch, checks every descriptor, unmaps; 0 or -EIO. */
static int knem_dma_batch_finish(struct knem_dma_batch *batch)
{
	unsigned int i;
	int err = 0;

	if (!batch->nr)
		return 0;
	dma_async_issue_pending(batch->chan);
	if (!atomic_dec_and_test(&batch->outstanding))
		wait_for_completion(&batch->done);
	for (i = 0; i < batch->nr; i++) {
		if (READ_ONCE(batch->failed) ||
		    dma_async_is_tx_complete(batch->chan, batch->cookies[i],
					     NULL, NULL) != DMA_COMPLETE)
			err = -EIO;
		knem_dma_unmap(batch, i);
	}
	batch->nr = 0;
	batch->failed = false;
	atomic_set(&batch->outstanding, 1);
	reinit_completion(&batch->done);
	return err;
}

/*
 * Maps and submits one chunk.  Returns 0, or -EAGAIN when the channel
 * cannot take it (the caller copies that chunk with the CPU).
 */
static int knem_dma_submit(struct knem_dma_batch *batch, struct page *src,
			   unsigned int src_off, struct page *dst,
			   unsigned int dst_off, u32 len)
{
	struct dma_async_tx_descriptor *tx;
	unsigned int i = batch->nr;
	dma_addr_t s, d;

	s = dma_map_page(batch->dev, src, src_off, len, DMA_TO_DEVICE);
	if (dma_mapping_error(batch->dev, s))
		return -EAGAIN;
	d = dma_map_page(batch->dev, dst, dst_off, len, DMA_FROM_DEVICE);
	if (dma_mapping_error(batch->dev, d))
		goto out_unmap_src;
	tx = dmaengine_prep_dma_memcpy(batch->chan, d, s, len,
				       DMA_CTRL_ACK | DMA_PREP_INTERRUPT);
	if (!tx)
		goto out_unmap_dst;
	tx->callback_result = knem_dma_desc_done;
	tx->callback_param = batch;
	atomic_inc(&batch->outstanding);
	batch->cookies[i] = dmaengine_submit(tx);
	if (dma_submit_error(batch->cookies[i])) {
		atomic_dec(&batch->outstanding);
		goto out_unmap_dst;
	}
	batch->src[i] = s;
	batch->dst[i] = d;
	batch->len[i] = len;
	batch->nr++;
	return 0;

out_unmap_dst:
	dma_unmap_page(batch->dev, d, len, DMA_FROM_DEVICE);
out_unmap_src:
	dma_unmap_page(batch->dev, s, len, DMA_TO_DEVICE);
	return -EAGAIN;
}

static void knem_dma_cpu_chunk(const struct knem_side *src,
			       const struct knem_side *dst,
			       const struct knem_chunk *chunk)
{
	char *from = kmap_local_page(src->pages[chunk->src_page]);
	char *to = kmap_local_page(dst->pages[chunk->dst_page]);

	memcpy(to + offset_in_page(chunk->dst_addr),
	       from + offset_in_page(chunk->src_addr), chunk->len);
	kunmap_local(to);
	kunmap_local(from);
}

int knem_dma_copy(const struct knem_side *src, u64 src_offset,
		  const struct knem_side *dst, u64 dst_offset, u64 length,
		  u64 *copied)
{
	struct knem_dma_batch *batch;
	struct knem_chunk chunk;
	struct knem_plan plan;
	u64 done = 0, since_resched = 0;
	int err = 0, finish_err;

	*copied = 0;
	if (src->kind != KNEM_SIDE_PAGES || dst->kind != KNEM_SIDE_PAGES)
		return -EINVAL;
	batch = kzalloc(sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	batch->chan = dma_find_channel(DMA_MEMCPY);
	if (!batch->chan) {
		err = -ENODEV;
		goto out;
	}
	batch->dev = batch->chan->device->dev;
	atomic_set(&batch->outstanding, 1);
	init_completion(&batch->done);

	knem_plan_init(&plan, src->segs, src->nr_segs, src_offset, dst->segs,
		       dst->nr_segs, dst_offset, length);
	while (knem_plan_next(&plan, &chunk)) {
		if (chunk.len <= READ_ONCE(knem_param_dmamin) ||
		    knem_dma_submit(batch, src->pages[chunk.src_page],
				    offset_in_page(chunk.src_addr),
				    dst->pages[chunk.dst_page],
				    offset_in_page(chunk.dst_addr), chunk.len))
			knem_dma_cpu_chunk(src, dst, &chunk);
		done += chunk.len;
		since_resched += chunk.len;
		if (since_resched >= KNEM_DMA_RESCHED_BYTES) {
			since_resched = 0;
			cond_resched();
			if (fatal_signal_pending(current)) {
				err = -EINTR;
				break;
			}
		}
		if (batch->nr < KNEM_DMA_BATCH)
			continue;
		err = knem_dma_batch_finish(batch);
		if (!err && fatal_signal_pending(current))
			err = -EINTR;
		if (err)
			break;
	}
	finish_err = knem_dma_batch_finish(batch);
	if (!err)
		err = finish_err;
	*copied = err ? 0 : done;
out:
	kfree(batch);
	return err;
}
