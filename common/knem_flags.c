// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_flags.c - validation of create and copy flags.
 */
#include "knem_flags.h"

/*
 * A classic bit outside the command's mask is dropped, as the classic
 * driver dropped it; any other bit is refused.
 */
static int knem_flags_filter(const struct knem_flag_policy *policy,
			     u32 user_flags, u32 mask, u32 *effective)
{
	if (user_flags & ~KNEM_FLAG_CLASSIC_MASK)
		return -EINVAL;
	*effective = (user_flags | policy->forced) & ~policy->ignored & mask;
	return 0;
}

int knem_flags_for_create(const struct knem_flag_policy *policy,
			  u32 user_flags, u32 *effective)
{
	return knem_flags_filter(policy, user_flags,
				 KNEM_FLAG_ANY_CREATE_MASK, effective);
}

int knem_flags_for_copy(const struct knem_flag_policy *policy,
			u32 user_flags, u32 *effective)
{
	return knem_flags_filter(policy, user_flags, KNEM_FLAG_ANY_COPY_MASK,
				 effective);
}

int knem_flags_check_copy(u32 flags, u32 slot_index,
			  const struct knem_async_caps *caps)
{
	if (flags & KNEM_FLAG_ANY_ASYNC_MASK) {
		if (!caps->have_status_array || slot_index >= caps->nr_slots)
			return -EINVAL;
	}
	if (flags & KNEM_FLAG_NOTIFY_FD) {
		if (!(flags & KNEM_FLAG_ANY_THREAD_MASK) ||
		    (flags & KNEM_FLAG_ASYNCDMACOMPLETE))
			return -EINVAL;
	}
	if ((flags & KNEM_FLAG_DMA) && !caps->have_dma)
		return -EINVAL;
	return 0;
}

int knem_flags_check_async_recv(u32 flags, u32 slot_index,
				const struct knem_async_caps *caps)
{
	if (!caps->have_status_array || slot_index >= caps->nr_slots)
		return -EINVAL;
	if ((flags & KNEM_FLAG_NOTIFY_FD) &&
	    (flags & KNEM_FLAG_ASYNCDMACOMPLETE))
		return -EINVAL;
	if ((flags & KNEM_FLAG_DMA) && !caps->have_dma)
		return -EINVAL;
	return 0;
}
