// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_seg.c - checking user iovecs and turning them into segments.
 */
#include "knem_seg.h"

int knem_iovecs_measure(const struct knem_cmd_param_iovec *iov, u32 nr_iov,
			u64 max_total, u64 *total, u32 *nr_segs,
			u32 *nr_pages)
{
	u64 bytes = 0, pages = 0, end;
	u32 segs = 0, i;

	for (i = 0; i < nr_iov; i++) {
		u64 len = iov[i].len;

		if (!len)
			continue;
		/* the range must not wrap the address space */
		if (check_add_overflow(iov[i].base, len, &end))
			return -EFAULT;
		if (check_add_overflow(bytes, len, &bytes) ||
		    bytes > max_total)
			return -EINVAL;
		/* below 2^32 plus at most 2^52: the sum cannot wrap */
		pages += knem_range_nr_pages(iov[i].base, len);
		if (pages > U32_MAX)
			return -EINVAL;
		segs++;
	}

	*total = bytes;
	*nr_segs = segs;
	*nr_pages = (u32)pages;
	return 0;
}

void knem_segs_from_iovecs(const struct knem_cmd_param_iovec *iov,
			   u32 nr_iov, struct knem_seg *segs)
{
	u32 first_page = 0, i, n = 0;

	for (i = 0; i < nr_iov; i++) {
		if (!iov[i].len)
			continue;
		segs[n].addr = iov[i].base;
		segs[n].len = iov[i].len;
		segs[n].first_page = first_page;
		first_page += (u32)knem_range_nr_pages(iov[i].base,
						       iov[i].len);
		n++;
	}
}
