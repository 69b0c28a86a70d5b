// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_stats.c - request counters and the statistics text.
 */
#include "knem_io.h"
#include "knem_stats.h"

#ifdef __KERNEL__

int knem_counters_init(struct knem_counters *counters)
{
	counters->percpu = __alloc_percpu(sizeof(u64) * KNEM_COUNTER_NR,
					  sizeof(u64));
	return counters->percpu ? 0 : -ENOMEM;
}

void knem_counters_destroy(struct knem_counters *counters)
{
	free_percpu(counters->percpu);
	counters->percpu = NULL;
}

void knem_counter_inc(struct knem_counters *counters, enum knem_counter which)
{
	this_cpu_inc(counters->percpu[which]);
}
KNEM_EXPORT(knem_counter_inc);

void knem_counters_read(struct knem_counters *counters,
			u64 sums[KNEM_COUNTER_NR])
{
	unsigned int cpu, i;

	for (i = 0; i < KNEM_COUNTER_NR; i++)
		sums[i] = 0;
	for_each_possible_cpu(cpu) {
		const u64 *values = per_cpu_ptr(counters->percpu, cpu);

		for (i = 0; i < KNEM_COUNTER_NR; i++)
			sums[i] += READ_ONCE(values[i]);
	}
}

/* Increments racing with a reset may survive it; that is fine. */
void knem_counters_reset(struct knem_counters *counters)
{
	unsigned int cpu, i;

	for_each_possible_cpu(cpu) {
		u64 *values = per_cpu_ptr(counters->percpu, cpu);

		for (i = 0; i < KNEM_COUNTER_NR; i++)
			WRITE_ONCE(values[i], 0);
	}
}

#else /* user space */

int knem_counters_init(struct knem_counters *counters)
{
	knem_counters_reset(counters);
	return 0;
}

void knem_counters_destroy(struct knem_counters *counters)
{
	(void)counters;
}

void knem_counter_inc(struct knem_counters *counters, enum knem_counter which)
{
	__atomic_fetch_add(&counters->values[which], 1, __ATOMIC_RELAXED);
}

void knem_counters_read(struct knem_counters *counters,
			u64 sums[KNEM_COUNTER_NR])
{
	unsigned int i;

	for (i = 0; i < KNEM_COUNTER_NR; i++)
		sums[i] = __atomic_load_n(&counters->values[i],
					  __ATOMIC_RELAXED);
}

void knem_counters_reset(struct knem_counters *counters)
{
	unsigned int i;

	for (i = 0; i < KNEM_COUNTER_NR; i++)
		__atomic_store_n(&counters->values[i], 0, __ATOMIC_RELAXED);
}

#endif /* __KERNEL__ */

/* The labels of the counter lines, in enum order (knem-abi.md §10). */
static const char *const knem_counter_labels[KNEM_COUNTER_NR] = {
	[KNEM_COUNTER_SUBMITTED] =
		" Requests submitted                           : ",
	[KNEM_COUNTER_PROCESSED] =
		" Requests processed (total)                   : ",
	[KNEM_COUNTER_PROCESSED_DMA] =
		"          processed (using DMA)               : ",
	[KNEM_COUNTER_PROCESSED_THREAD] =
		"          processed (offloaded to thread)     : ",
	[KNEM_COUNTER_PROCESSED_PINLOCAL] =
		"          processed (with pinned local pages) : ",
	[KNEM_COUNTER_REJECTED_INVALID_FLAGS] =
		" Requests rejected (invalid flags)            : ",
	[KNEM_COUNTER_REJECTED_NOMEM] =
		"          rejected (not enough memory)        : ",
	[KNEM_COUNTER_REJECTED_INVALID_ARGUMENT] =
		"          rejected (invalid ioctl argument)   : ",
	[KNEM_COUNTER_REJECTED_FINDREGION] =
		"          rejected (unexisting region cookie) : ",
	[KNEM_COUNTER_REJECTED_PIN_LOCAL] =
		"          rejected (failed to pin local pages): ",
	[KNEM_COUNTER_FAILED_MEMCPY] =
		" Requests failed during memcpy from/to user   : ",
	[KNEM_COUNTER_FAILED_DMA] =
		"          failed during DMA copy              : ",
	[KNEM_COUNTER_DMA_CLEANUP_TIMEOUT] =
		" DMA copy cleanup timeout                     : ",
};

struct knem_stats_buf {
	char *buf;
	size_t size;	/* > 0 */
	size_t len;	/* < size; buf[len] is the NUL */
};

/* Appends to the text, truncating it when the buffer is full. */
static __printf(2, 3) void knem_stats_add(struct knem_stats_buf *out,
					  const char *fmt, ...)
{
	size_t room = out->size - out->len;
	va_list args;
	int n;

	if (room <= 1)
		return;
	va_start(args, fmt);
	n = vsnprintf(out->buf + out->len, room, fmt, args);
	va_end(args);
	if (n < 0)
		out->buf[out->len] = '\0';
	else if ((size_t)n >= room)
		out->len = out->size - 1;
	else
		out->len += n;
}

static const char *knem_stats_debug(const struct knem_stats_header *header)
{
	if (!header->debug_built)
		return "NotBuilt";
	return header->debug_enabled ? "BuiltIn Enabled" : "BuiltIn Disabled";
}

size_t knem_stats_format(char *buf, size_t size,
			 const struct knem_stats_header *header,
			 const u64 counters[KNEM_COUNTER_NR])
{
	struct knem_stats_buf out = { .buf = buf, .size = size, .len = 0 };
	unsigned int i;

	if (!size)
		return 0;
	buf[0] = '\0';

	knem_stats_add(&out, "knem %s\n", header->version);
	knem_stats_add(&out, " Driver ABI=0x%x\n",
		       (u32)KNEM_ABI_VERSION);
	knem_stats_add(&out, " Flags: forcing 0x%x, ignoring 0x%x\n",
		       header->forced_flags, header->ignored_flags);
	switch (header->dma) {
	case KNEM_DMA_DISABLED:
		knem_stats_add(&out, " DMAEngine: KernelSupported Disabled\n");
		break;
	case KNEM_DMA_NO_CHANNEL:
		knem_stats_add(&out,
			       " DMAEngine: KernelSupported Enabled NoChannelAvailable\n");
		break;
	case KNEM_DMA_AVAILABLE:
		knem_stats_add(&out,
			       " DMAEngine: KernelSupported Enabled ChansAvail ChunkMin=%uB\n",
			       header->dma_chunk_min);
		break;
	case KNEM_DMA_NO_KERNEL_SUPPORT:
	default:
		knem_stats_add(&out, " DMAEngine: NoKernelSupport\n");
		break;
	}
	knem_stats_add(&out, " Debug: %s\n", knem_stats_debug(header));
	for (i = 0; i < KNEM_COUNTER_NR; i++)
		knem_stats_add(&out, "%s%lld\n", knem_counter_labels[i],
			       (long long)counters[i]);
	return out.len;
}
