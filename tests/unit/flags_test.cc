// SPDX-License-Identifier: BSD-3-Clause
//
// flags_test.cc - create and copy flag filtering and the copy checks
// against the context (knem_flags.h, knem-abi.md §2 steps 2-4 and §3).
#include <gtest/gtest.h>

#include "test_core.h"

namespace {

const knem_flag_policy kNoPolicy = { 0, 0 };

u32 create_flags(u32 user, const knem_flag_policy &policy = kNoPolicy,
		 int *err = nullptr)
{
	u32 eff = 0xdeadbeef;
	int e = knem_flags_for_create(&policy, user, &eff);
	if (err)
		*err = e;
	else
		EXPECT_EQ(e, 0) << std::hex << user;
	return eff;
}

u32 copy_flags(u32 user, const knem_flag_policy &policy = kNoPolicy,
	       int *err = nullptr)
{
	u32 eff = 0xdeadbeef;
	int e = knem_flags_for_copy(&policy, user, &eff);
	if (err)
		*err = e;
	else
		EXPECT_EQ(e, 0) << std::hex << user;
	return eff;
}

int create_err(u32 user, const knem_flag_policy &policy = kNoPolicy)
{
	int err;
	create_flags(user, policy, &err);
	return err;
}

int copy_err(u32 user, const knem_flag_policy &policy = kNoPolicy)
{
	int err;
	copy_flags(user, policy, &err);
	return err;
}

TEST(CreateFlags, KnownBitsPass)
{
	EXPECT_EQ(create_flags(0), 0U);
	EXPECT_EQ(create_flags(KNEM_FLAG_SINGLEUSE), (u32)KNEM_FLAG_SINGLEUSE);
	EXPECT_EQ(create_flags(KNEM_FLAG_ANY_USER_ACCESS),
		  (u32)KNEM_FLAG_ANY_USER_ACCESS);
	EXPECT_EQ(create_flags(KNEM_FLAG_ANY_CREATE_MASK),
		  (u32)KNEM_FLAG_ANY_CREATE_MASK);
}

// The classic driver dropped the copy bits of a create; so does this one.
TEST(CreateFlags, CopyBitsAreIgnored)
{
	EXPECT_EQ(create_flags(KNEM_FLAG_DMA), 0U);
	EXPECT_EQ(create_flags(KNEM_FLAG_MEMCPYTHREAD | KNEM_FLAG_SINGLEUSE),
		  (u32)KNEM_FLAG_SINGLEUSE);
	EXPECT_EQ(create_flags(KNEM_FLAG_NOTIFY_FD), 0U);
	EXPECT_EQ(create_flags(KNEM_FLAG_ANY_COPY_MASK), 0U);
	EXPECT_EQ(create_flags(0xff), (u32)KNEM_FLAG_ANY_CREATE_MASK);
}

// Bits outside the classic set (0xff) stay refused.
TEST(CreateFlags, UnknownBitsAreEinval)
{
	EXPECT_EQ(create_err(1U << 8), -EINVAL);
	EXPECT_EQ(create_err(1U << 12), -EINVAL);	// the classic probe
	EXPECT_EQ(create_err(1U << 31), -EINVAL);
	EXPECT_EQ(create_err(KNEM_FLAG_SINGLEUSE | (1U << 8)), -EINVAL);
	EXPECT_EQ(create_err(0x1ff), -EINVAL);
	EXPECT_EQ(create_err(~0U), -EINVAL);
}

TEST(CreateFlags, ForcedAndIgnored)
{
	knem_flag_policy force_single = { KNEM_FLAG_SINGLEUSE, 0 };
	EXPECT_EQ(create_flags(0, force_single), (u32)KNEM_FLAG_SINGLEUSE);
	EXPECT_EQ(create_flags(KNEM_FLAG_ANY_USER_ACCESS, force_single),
		  (u32)KNEM_FLAG_ANY_CREATE_MASK);

	knem_flag_policy ignore_any = { 0, KNEM_FLAG_ANY_USER_ACCESS };
	EXPECT_EQ(create_flags(KNEM_FLAG_ANY_CREATE_MASK, ignore_any),
		  (u32)KNEM_FLAG_SINGLEUSE);

	// forced copy bits never leak into a create, and are no error
	knem_flag_policy force_copy = { KNEM_FLAG_PINLOCAL | KNEM_FLAG_DMA, 0 };
	EXPECT_EQ(create_flags(0, force_copy), 0U);

	// ignoring wins over forcing
	knem_flag_policy both = { KNEM_FLAG_SINGLEUSE, KNEM_FLAG_SINGLEUSE };
	EXPECT_EQ(create_flags(KNEM_FLAG_SINGLEUSE, both), 0U);

	// an unknown user bit fails even when it would be ignored
	knem_flag_policy ignore_all = { 0, ~0U };
	EXPECT_EQ(create_err(1U << 12, ignore_all), -EINVAL);
}

TEST(CopyFlags, KnownBitsPass)
{
	const u32 bits[] = { KNEM_FLAG_DMA, KNEM_FLAG_ASYNCDMACOMPLETE,
			     KNEM_FLAG_DMATHREAD, KNEM_FLAG_MEMCPYTHREAD,
			     KNEM_FLAG_PINLOCAL, KNEM_FLAG_NOTIFY_FD };
	for (u32 bit : bits)
		EXPECT_EQ(copy_flags(bit), bit);
	EXPECT_EQ(copy_flags(KNEM_FLAG_ANY_COPY_MASK),
		  (u32)KNEM_FLAG_ANY_COPY_MASK);
}

// The classic driver dropped the create bits of a copy; so does this one.
TEST(CopyFlags, CreateBitsAreIgnored)
{
	EXPECT_EQ(copy_flags(KNEM_FLAG_SINGLEUSE), 0U);
	EXPECT_EQ(copy_flags(KNEM_FLAG_ANY_USER_ACCESS), 0U);
	EXPECT_EQ(copy_flags(KNEM_FLAG_PINLOCAL | KNEM_FLAG_SINGLEUSE),
		  (u32)KNEM_FLAG_PINLOCAL);
	EXPECT_EQ(copy_flags(0xff), (u32)KNEM_FLAG_ANY_COPY_MASK);
}

// Bits outside the classic set (0xff) stay refused.
TEST(CopyFlags, UnknownBitsAreEinval)
{
	EXPECT_EQ(copy_err(KNEM_FLAG_DMA | (1U << 8)), -EINVAL);
	EXPECT_EQ(copy_err(1U << 12), -EINVAL);
	EXPECT_EQ(copy_err(1U << 31), -EINVAL);
	EXPECT_EQ(copy_err(0x1ff), -EINVAL);
	EXPECT_EQ(copy_err(~0U), -EINVAL);
	// even when the policy would ignore them
	knem_flag_policy ignore_all = { 0, ~0U };
	EXPECT_EQ(copy_err(1U << 12, ignore_all), -EINVAL);
}

// What the classic tools pass (-F 0..63, knem_loopback and friends, OR'ed
// with SINGLEUSE for their regions): accepted, the other kind's bits gone.
TEST(Flags, ClassicToolValues)
{
	for (u32 f = 0; f < 64; f++) {
		EXPECT_EQ(copy_flags(f), f & (u32)KNEM_FLAG_ANY_COPY_MASK) << f;
		EXPECT_EQ(copy_flags(f), f & ~(u32)KNEM_FLAG_SINGLEUSE) << f;
		EXPECT_EQ(create_flags(f), f & (u32)KNEM_FLAG_SINGLEUSE) << f;
		EXPECT_EQ(create_flags(f | KNEM_FLAG_ANY_USER_ACCESS),
			  (f & (u32)KNEM_FLAG_SINGLEUSE) |
				  (u32)KNEM_FLAG_ANY_USER_ACCESS) << f;
	}
	EXPECT_EQ((u32)KNEM_FLAG_CLASSIC_MASK, 0xffU);
}

TEST(CopyFlags, ForcedAndIgnored)
{
	// the module parameters: pinlocal=1 forces PINLOCAL, dma=0 ignores
	// DMA, sync=1 ignores the async bits, thread=0 the thread bits
	knem_flag_policy pinlocal = { KNEM_FLAG_PINLOCAL, 0 };
	EXPECT_EQ(copy_flags(0, pinlocal), (u32)KNEM_FLAG_PINLOCAL);
	knem_flag_policy nodma = { 0, KNEM_FLAG_DMA };
	EXPECT_EQ(copy_flags(KNEM_FLAG_DMA | KNEM_FLAG_MEMCPYTHREAD, nodma),
		  (u32)KNEM_FLAG_MEMCPYTHREAD);
	knem_flag_policy sync = { 0, KNEM_FLAG_ANY_ASYNC_MASK };
	EXPECT_EQ(copy_flags(KNEM_FLAG_ANY_COPY_MASK, sync),
		  (u32)(KNEM_FLAG_DMA | KNEM_FLAG_PINLOCAL |
			KNEM_FLAG_NOTIFY_FD));
	// forced create bits never leak into a copy
	knem_flag_policy force_create = { KNEM_FLAG_SINGLEUSE, 0 };
	EXPECT_EQ(copy_flags(0, force_create), 0U);
}

TEST(Flags, ExhaustiveLowBits)
{
	const knem_flag_policy policies[] = {
		{ 0, 0 },
		{ KNEM_FLAG_PINLOCAL | KNEM_FLAG_SINGLEUSE, 0 },
		{ 0, KNEM_FLAG_ANY_ASYNC_MASK | KNEM_FLAG_ANY_USER_ACCESS },
		{ 0xff, 0x0f },
	};
	for (const auto &p : policies) {
		for (u32 user = 0; user < 0x400; user++) {
			int err;
			u32 eff = create_flags(user, p, &err);
			if (user & ~(u32)KNEM_FLAG_CLASSIC_MASK) {
				EXPECT_EQ(err, -EINVAL) << user;
			} else {
				EXPECT_EQ(err, 0) << user;
				EXPECT_EQ(eff, (user | p.forced) & ~p.ignored &
					       KNEM_FLAG_ANY_CREATE_MASK);
			}
			eff = copy_flags(user, p, &err);
			if (user & ~(u32)KNEM_FLAG_CLASSIC_MASK) {
				EXPECT_EQ(err, -EINVAL) << user;
			} else {
				EXPECT_EQ(err, 0) << user;
				EXPECT_EQ(eff, (user | p.forced) & ~p.ignored &
					       KNEM_FLAG_ANY_COPY_MASK);
			}
		}
	}
}

knem_async_caps caps(bool status_array, u64 slots, bool dma)
{
	knem_async_caps c;
	c.have_status_array = status_array;
	c.nr_slots = slots;
	c.have_dma = dma;
	return c;
}

TEST(CheckCopy, SynchronousNeedsNothing)
{
	knem_async_caps none = caps(false, 0, false);
	EXPECT_EQ(knem_flags_check_copy(0, 0, &none), 0);
	// the slot index of a synchronous request need not be valid
	EXPECT_EQ(knem_flags_check_copy(0, UINT32_MAX, &none), 0);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_PINLOCAL, 77, &none), 0);
}

TEST(CheckCopy, AsyncNeedsTheStatusArrayAndAValidSlot)
{
	const u32 async_bits[] = { KNEM_FLAG_ASYNCDMACOMPLETE,
				   KNEM_FLAG_DMATHREAD,
				   KNEM_FLAG_MEMCPYTHREAD };
	knem_async_caps unmapped = caps(false, 4096, true);
	knem_async_caps mapped = caps(true, 45, true);
	for (u32 bit : async_bits) {
		EXPECT_EQ(knem_flags_check_copy(bit, 0, &unmapped), -EINVAL);
		EXPECT_EQ(knem_flags_check_copy(bit, 0, &mapped), 0);
		EXPECT_EQ(knem_flags_check_copy(bit, 44, &mapped), 0);
		EXPECT_EQ(knem_flags_check_copy(bit, 45, &mapped), -EINVAL);
		EXPECT_EQ(knem_flags_check_copy(bit, UINT32_MAX, &mapped),
			  -EINVAL);
	}
	// 2^32 slots: every u32 index is valid
	knem_async_caps huge = caps(true, 1ULL << 32, false);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_MEMCPYTHREAD, UINT32_MAX,
					&huge), 0);
	// a mapped array with no slot at all
	knem_async_caps empty = caps(true, 0, false);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_MEMCPYTHREAD, 0, &empty),
		  -EINVAL);
}

TEST(CheckCopy, NotifyFdNeedsAThreadAndNoAsyncDmaComplete)
{
	knem_async_caps c = caps(true, 16, true);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_NOTIFY_FD, 0, &c), -EINVAL);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_NOTIFY_FD |
					KNEM_FLAG_MEMCPYTHREAD, 0, &c), 0);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_NOTIFY_FD |
					KNEM_FLAG_DMATHREAD, 0, &c), 0);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_NOTIFY_FD |
					KNEM_FLAG_DMATHREAD | KNEM_FLAG_DMA,
					3, &c), 0);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_NOTIFY_FD |
					KNEM_FLAG_MEMCPYTHREAD |
					KNEM_FLAG_ASYNCDMACOMPLETE, 0, &c),
		  -EINVAL);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_NOTIFY_FD |
					KNEM_FLAG_ASYNCDMACOMPLETE, 0, &c),
		  -EINVAL);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_NOTIFY_FD |
					KNEM_FLAG_PINLOCAL, 0, &c), -EINVAL);
	// and a thread flag still needs a valid slot
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_NOTIFY_FD |
					KNEM_FLAG_MEMCPYTHREAD, 16, &c),
		  -EINVAL);
}

TEST(CheckCopy, DmaNeedsAChannel)
{
	knem_async_caps nodma = caps(true, 16, false);
	knem_async_caps dma = caps(true, 16, true);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_DMA, 0, &nodma), -EINVAL);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_DMA, 0, &dma), 0);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_DMA | KNEM_FLAG_DMATHREAD,
					1, &nodma), -EINVAL);
	// without the DMA bit the DMA-related bits only mean "async"
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_DMATHREAD, 1, &nodma), 0);
	EXPECT_EQ(knem_flags_check_copy(KNEM_FLAG_ASYNCDMACOMPLETE, 1,
					&nodma), 0);
}

TEST(CheckAsyncRecv, AlwaysNeedsTheStatusArrayAndAValidSlot)
{
	knem_async_caps unmapped = caps(false, 0, false);
	knem_async_caps mapped = caps(true, 24, false);
	EXPECT_EQ(knem_flags_check_async_recv(0, 0, &unmapped), -EINVAL);
	EXPECT_EQ(knem_flags_check_async_recv(0, 23, &mapped), 0);
	EXPECT_EQ(knem_flags_check_async_recv(0, 24, &mapped), -EINVAL);
}

TEST(CheckAsyncRecv, NotifyFdNeedsNoThreadFlag)
{
	knem_async_caps c = caps(true, 16, true);
	EXPECT_EQ(knem_flags_check_async_recv(KNEM_FLAG_NOTIFY_FD, 0, &c), 0);
	EXPECT_EQ(knem_flags_check_async_recv(KNEM_FLAG_NOTIFY_FD |
					      KNEM_FLAG_ASYNCDMACOMPLETE, 0,
					      &c),
		  -EINVAL);
}

TEST(CheckAsyncRecv, DmaNeedsAChannel)
{
	knem_async_caps nodma = caps(true, 16, false);
	knem_async_caps dma = caps(true, 16, true);
	EXPECT_EQ(knem_flags_check_async_recv(KNEM_FLAG_DMA, 0, &nodma),
		  -EINVAL);
	EXPECT_EQ(knem_flags_check_async_recv(KNEM_FLAG_DMA, 0, &dma), 0);
}

} // namespace
