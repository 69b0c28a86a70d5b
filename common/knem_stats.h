/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_stats.h - request counters and the text of `cat /dev/knem`.
 *
 * Counters are per CPU in the kernel (incremented without locks or shared
 * cache lines on the copy path) and summed when read.  The text is the
 * classic one, line for line (knem-abi.md §10).
 */
#ifndef KNEM_STATS_H
#define KNEM_STATS_H

#include "knem_platform.h"

enum knem_counter {
	KNEM_COUNTER_SUBMITTED,
	KNEM_COUNTER_PROCESSED,
	KNEM_COUNTER_PROCESSED_DMA,
	KNEM_COUNTER_PROCESSED_THREAD,
	KNEM_COUNTER_PROCESSED_PINLOCAL,
	KNEM_COUNTER_REJECTED_INVALID_FLAGS,
	KNEM_COUNTER_REJECTED_NOMEM,
	KNEM_COUNTER_REJECTED_INVALID_ARGUMENT,
	KNEM_COUNTER_REJECTED_FINDREGION,
	KNEM_COUNTER_REJECTED_PIN_LOCAL,
	KNEM_COUNTER_FAILED_MEMCPY,
	KNEM_COUNTER_FAILED_DMA,
	KNEM_COUNTER_DMA_CLEANUP_TIMEOUT,
	KNEM_COUNTER_NR,
};

struct knem_counters {
#ifdef __KERNEL__
	u64 __percpu *percpu;	/* KNEM_COUNTER_NR per CPU */
#else
	u64 values[KNEM_COUNTER_NR];
#endif
};

int knem_counters_init(struct knem_counters *counters);
void knem_counters_destroy(struct knem_counters *counters);
void knem_counter_inc(struct knem_counters *counters, enum knem_counter which);
void knem_counters_read(struct knem_counters *counters,
			u64 sums[KNEM_COUNTER_NR]);
void knem_counters_reset(struct knem_counters *counters);

enum knem_dma_state {
	KNEM_DMA_NO_KERNEL_SUPPORT,
	KNEM_DMA_DISABLED,
	KNEM_DMA_NO_CHANNEL,
	KNEM_DMA_AVAILABLE,
};

/* The header lines of the statistics text. */
struct knem_stats_header {
	const char *version;
	u32 forced_flags;
	u32 ignored_flags;
	enum knem_dma_state dma;
	u32 dma_chunk_min;
	bool debug_built;
	bool debug_enabled;
};

/*
 * Formats the header and counter lines into @buf (NUL-terminated,
 * truncated when @size is too small).  Returns the length of the text
 * that was written, without the NUL.
 */
size_t knem_stats_format(char *buf, size_t size,
			 const struct knem_stats_header *header,
			 const u64 counters[KNEM_COUNTER_NR]);

#endif /* KNEM_STATS_H */
