// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_statsfile.c - `cat /dev/knem` and `echo 1 > /dev/knem`.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "knem_native.h"

/* statslen is a tunable: keep a rogue value from asking for huge buffers. */
#define KNEM_STATS_MAX_LEN (16UL << 20)

static atomic64_t knem_refusals[KNEM_REFUSED_NR];

void knem_refused(enum knem_refusal which)
{
	atomic64_inc(&knem_refusals[which]);
}

/* The lines after the classic counters: the limits' refusals, the pins. */
static size_t knem_limits_format(char *buf, size_t size)
{
	static const char *const labels[KNEM_REFUSED_NR] = {
		[KNEM_REFUSED_MEMLOCK] =
			" Requests refused (over RLIMIT_MEMLOCK)       : ",
		[KNEM_REFUSED_REGIONS] =
			"          refused (too many regions in file)  : ",
		[KNEM_REFUSED_QUEUED] =
			"          refused (too many queued copies)    : ",
		[KNEM_REFUSED_WORKERS] =
			"          refused (too many offload workers)  : ",
	};
	size_t len = 0;
	int i;

	for (i = 0; i < KNEM_REFUSED_NR; i++)
		len += scnprintf(buf + len, size - len, "%s%lld\n", labels[i],
				 atomic64_read(&knem_refusals[i]));
	len += scnprintf(buf + len, size - len,
			 " Pages pinned by regions (long-term)          : %lld\n",
			 atomic64_read(&knem_pinned_pages));
	return len;
}

ssize_t knem_stats_read(char __user *ubuf, size_t count, loff_t *ppos)
{
	struct knem_stats_header header = {
		.version = KNEM_VERSION_STRING,
		.forced_flags = knem_global_policy.forced,
		.ignored_flags = knem_global_policy.ignored,
		.dma = !knem_param_dma ? KNEM_DMA_DISABLED :
		       knem_dma_available() ? KNEM_DMA_AVAILABLE :
					      KNEM_DMA_NO_CHANNEL,
		.dma_chunk_min = knem_param_dmamin,
		.debug_built = true,
		.debug_enabled = knem_param_debug != 0,
	};
	u64 counters[KNEM_COUNTER_NR];
	size_t size = clamp(READ_ONCE(knem_param_statslen), 128UL,
			    KNEM_STATS_MAX_LEN);
	size_t len;
	ssize_t ret;
	char *buf;

	buf = kvmalloc(size, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	knem_counters_read(&knem_counters, counters);
	len = knem_stats_format(buf, size, &header, counters);
	len += knem_limits_format(buf + len, size - len);
	if (READ_ONCE(knem_param_statsverbose))
		len += knem_contexts_describe(buf + len, size - len);
	len += knem_xen_stats(buf + len, size - len);
	ret = simple_read_from_buffer(ubuf, count, ppos, buf, len);
	kvfree(buf);
	return ret;
}

ssize_t knem_stats_reset(size_t count)
{
	int i;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	knem_counters_reset(&knem_counters);
	for (i = 0; i < KNEM_REFUSED_NR; i++)
		atomic64_set(&knem_refusals[i], 0);
	return count;
}
