// SPDX-License-Identifier: BSD-3-Clause
//
// async_host_test.cc - the parts of the asynchronous API that need no
// driver: the status-slot free list and empty AsyncCopy handles.  The
// rest runs against the driver in tests/vm/libknem_async_test.cc.
#include "internal.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace {

using knem::detail::SlotFreeList;

TEST(SlotFreeList, HandsOutEverySlotOnce)
{
	SlotFreeList list(4096);
	EXPECT_EQ(4096u, list.size());
	EXPECT_EQ(4096u, list.available());
	std::set<std::uint32_t> seen;
	for (int i = 0; i < 4096; i++) {
		auto slot = list.acquire();
		ASSERT_TRUE(slot.has_value()) << "acquire " << i;
		EXPECT_LT(*slot, 4096u);
		EXPECT_TRUE(seen.insert(*slot).second) << "slot " << *slot << " twice";
	}
	EXPECT_FALSE(list.acquire().has_value());
	EXPECT_EQ(4096u, list.in_use());
	EXPECT_EQ(0u, list.available());
}

TEST(SlotFreeList, ReleasedSlotsAreReusedLastFirst)
{
	SlotFreeList list(8);
	std::vector<std::uint32_t> slots;
	for (int i = 0; i < 8; i++)
		slots.push_back(*list.acquire());
	EXPECT_TRUE(list.release(slots[3]));
	EXPECT_TRUE(list.release(slots[6]));
	EXPECT_EQ(2u, list.available());
	EXPECT_EQ(slots[6], *list.acquire());
	EXPECT_EQ(slots[3], *list.acquire());
	EXPECT_FALSE(list.acquire().has_value());
}

TEST(SlotFreeList, FreshSlotsComeInOrderAfterReleasedOnes)
{
	SlotFreeList list(10);
	EXPECT_EQ(0u, *list.acquire());
	EXPECT_EQ(1u, *list.acquire());
	EXPECT_TRUE(list.release(0));
	EXPECT_EQ(0u, *list.acquire());
	EXPECT_EQ(2u, *list.acquire());
}

TEST(SlotFreeList, RefusesSlotsNeverHandedOut)
{
	SlotFreeList list(16);
	EXPECT_FALSE(list.release(0)) << "nothing was handed out";
	auto a = list.acquire();
	ASSERT_TRUE(a.has_value());
	EXPECT_FALSE(list.release(5)) << "slot 5 was never handed out";
	EXPECT_FALSE(list.release(16));
	EXPECT_TRUE(list.release(*a));
	EXPECT_FALSE(list.release(*a)) << "nothing is in use any more";
	EXPECT_EQ(0u, list.in_use());
}

TEST(SlotFreeList, HugeArrayCostsNothingUpFront)
{
	// 2^32 slots: only the slots handed out are tracked.
	SlotFreeList list(std::uint64_t(1) << 32);
	EXPECT_EQ(std::uint64_t(1) << 32, list.available());
	for (std::uint32_t i = 0; i < 1000; i++)
		EXPECT_EQ(i, *list.acquire());
	EXPECT_EQ((std::uint64_t(1) << 32) - 1000, list.available());
}

TEST(SlotFreeList, ZeroSlots)
{
	SlotFreeList list(0);
	EXPECT_FALSE(list.acquire().has_value());
	EXPECT_EQ(0u, list.available());
}

TEST(SlotFreeList, RandomOperationsMatchAModel)
{
	constexpr std::uint32_t kSize = 300;
	SlotFreeList list(kSize);
	std::set<std::uint32_t> held;
	std::mt19937 rng(12345);
	for (int step = 0; step < 100000; step++) {
		if (rng() % 2 == 0) {
			auto slot = list.acquire();
			if (held.size() == kSize) {
				ASSERT_FALSE(slot.has_value()) << "step " << step;
				continue;
			}
			ASSERT_TRUE(slot.has_value()) << "step " << step;
			ASSERT_LT(*slot, kSize);
			ASSERT_TRUE(held.insert(*slot).second)
				<< "step " << step << ": slot " << *slot
				<< " handed out while held";
		} else if (!held.empty()) {
			auto it = held.begin();
			std::advance(it, rng() % held.size());
			ASSERT_TRUE(list.release(*it));
			held.erase(it);
		}
		ASSERT_EQ(held.size(), list.in_use());
		ASSERT_EQ(kSize - held.size(), list.available());
	}
}

TEST(AsyncCopy, EmptyHandleIsDoneAndSuccessful)
{
	knem::AsyncCopy empty;
	EXPECT_FALSE(empty.valid());
	EXPECT_FALSE(static_cast<bool>(empty));
	EXPECT_TRUE(empty.done());
	EXPECT_EQ(knem::Status::Success, empty.status());
	EXPECT_NO_THROW(empty.wait());
	EXPECT_TRUE(empty.wait_for(std::chrono::milliseconds(0)));
	knem::AsyncCopy moved(std::move(empty));
	EXPECT_FALSE(moved.valid());
	knem::AsyncCopy assigned;
	assigned = std::move(moved);
	EXPECT_FALSE(assigned.valid());
	EXPECT_TRUE(assigned.done());
}

TEST(AsyncCopy, HandlesAreMoveOnly)
{
	static_assert(!std::is_copy_constructible_v<knem::AsyncCopy>);
	static_assert(!std::is_copy_assignable_v<knem::AsyncCopy>);
	static_assert(std::is_nothrow_move_constructible_v<knem::AsyncCopy>);
	static_assert(std::is_nothrow_move_assignable_v<knem::AsyncCopy>);
	static_assert(!std::is_copy_constructible_v<knem::StatusArray>);
	static_assert(std::is_nothrow_move_constructible_v<knem::StatusArray>);
	static_assert(!std::is_copy_constructible_v<knem::NotifyQueue>);
	SUCCEED();
}

} // namespace
