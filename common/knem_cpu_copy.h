/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_cpu_copy.h - the CPU copy engine.
 *
 * Executes a plan chunk by chunk with the CPU.  Each side is either pages
 * (pinned user pages, mapped grants: mapped with kmap_local_page, or
 * through one contiguous kernel mapping of them) or the calling process's
 * own memory (reached with copy_to_user/copy_from_user, no pinning); at
 * most one side may be user memory.
 */
#ifndef KNEM_CPU_COPY_H
#define KNEM_CPU_COPY_H

#include "knem_plan.h"

struct knem_region;

enum knem_side_kind {
	KNEM_SIDE_PAGES,
	KNEM_SIDE_USER,
};

struct knem_side {
	enum knem_side_kind kind;
	const struct knem_seg *segs;
	u32 nr_segs;
	knem_page_t *const *pages;	/* KNEM_SIDE_PAGES only */
	struct knem_region *region;	/* whose pages they are, or NULL */
	/*
	 * KNEM_SIDE_PAGES, optional: @pages from index
	 * @mapped_first on, mapped contiguously in kernel space (page i at
	 * @mapped + (i - @mapped_first) pages) over at least the pages the
	 * copy reaches, so that a chunk may cross pages; NULL: each page is
	 * mapped on its own while it is copied.
	 */
	void *mapped;
	u32 mapped_first;
};

/*
 * Copies @length bytes from @src at @src_offset to @dst at @dst_offset
 * (the caller has bounded @length with knem_copy_length()).  Stores the
 * bytes copied in @copied.  Returns 0; -EFAULT when user memory faulted;
 * -EINTR when the caller got a fatal signal; -EINVAL when both sides are
 * user memory.
 */
int knem_cpu_copy(const struct knem_side *src, u64 src_offset,
		  const struct knem_side *dst, u64 dst_offset, u64 length,
		  u64 *copied);

#endif /* KNEM_CPU_COPY_H */
