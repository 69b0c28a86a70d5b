/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_flags.h - validation of the flags of create and copy commands.
 *
 * The effective flags of a command are (user | forced) & ~ignored,
 * restricted to the command's mask.  As in the classic driver, a bit of
 * the classic flag set that belongs to the other kind of command is
 * dropped: a copy ignores KNEM_FLAG_SINGLEUSE and KNEM_FLAG_ANY_USER_ACCESS,
 * a create ignores the copy flags (classic clients, the classic driver's
 * own tests among them, pass every bit to copies).  Unlike the classic
 * driver, a bit outside the classic set is an error (EINVAL), so that a
 * future flag is never silently ignored.
 */
#ifndef KNEM_FLAGS_H
#define KNEM_FLAGS_H

#include "knem_platform.h"
#include "knem_io.h"

/* Every flag of the classic driver (0xff); the other bits are EINVAL. */
#define KNEM_FLAG_CLASSIC_MASK \
	(KNEM_FLAG_ANY_CREATE_MASK | KNEM_FLAG_ANY_COPY_MASK)

struct knem_flag_policy {
	u32 forced;
	u32 ignored;
};

/*
 * Return 0 and the effective flags, or -EINVAL for a bit outside
 * KNEM_FLAG_CLASSIC_MASK.
 */
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
