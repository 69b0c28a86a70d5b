/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_flags.h - validation of the flags of create and copy commands.
 *
 * The effective flags of a command are (user | forced) & ~ignored,
 * restricted to the command's mask.  Unlike the classic driver, a user
 * flag outside the command's mask is an error (EINVAL), as the interface
 * always documented.
 */
#ifndef KNEM_FLAGS_H
#define KNEM_FLAGS_H

#include "knem_platform.h"
#include "knem_io.h"

struct knem_flag_policy {
	u32 forced;
	u32 ignored;
};

/* Returns 0 and the effective flags, or -EINVAL for unknown bits. */
int knem_flags_for_create(const struct knem_flag_policy *policy,
			  u32 user_flags, u32 *effective);
int knem_flags_for_copy(const struct knem_flag_policy *policy,
			u32 user_flags, u32 *effective);

/* What a context offers to asynchronous copies. */
struct knem_async_caps {
	bool have_status_array;
	u64 nr_slots;
	bool have_dma;
};

/*
 * Checks effective copy flags against the context (knem-abi.md §2, COPY
 * steps 2 to 4): an asynchronous request needs the status array and a
 * slot index inside it; NOTIFY_FD needs a thread flag and excludes
 * ASYNCDMACOMPLETE; DMA needs a channel.  Returns 0 or -EINVAL.
 */
int knem_flags_check_copy(u32 flags, u32 slot_index,
			  const struct knem_async_caps *caps);

/*
 * The legacy INIT_ASYNC_RECV always reports through its slot: it needs the
 * status array whatever its flags, and takes NOTIFY_FD without a thread
 * flag (not with ASYNCDMACOMPLETE), as the classic driver did.
 */
int knem_flags_check_async_recv(u32 flags, u32 slot_index,
				const struct knem_async_caps *caps);

#endif /* KNEM_FLAGS_H */
