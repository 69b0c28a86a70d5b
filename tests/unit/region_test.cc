// SPDX-License-Identifier: BSD-3-Clause
//
// region_test.cc - region set-up, reference counting and state bits
// (knem_region.h).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_core.h"

namespace {

struct CountedRegion {
	knem_region region;
	std::atomic<int> releases{ 0 };
};

void count_release(knem_region *region)
{
	container_of(region, CountedRegion, region)->releases++;
}

const knem_region_ops kOps = { count_release, nullptr };

struct TwoWayRegion {
	knem_region region;
	int releases = 0;
	int sleepable_releases = 0;
};

const knem_region_ops kTwoWayOps = {
	[](knem_region *region) {
		container_of(region, TwoWayRegion, region)->releases++;
	},
	[](knem_region *region) {
		container_of(region, TwoWayRegion, region)->sleepable_releases++;
	},
};

TEST(Region, InitSetsFieldsAndOneReference)
{
	CountedRegion r;
	memset(&r.region, 0xa5, sizeof(r.region));
	int owner = 0;
	knem_region_init(&r.region, &kOps, &owner, 1000,
			 KNEM_FLAG_SINGLEUSE, KNEM_PROT_READ);
	EXPECT_EQ(knem_refcount_read(&r.region.refs), 1U);
	EXPECT_EQ(r.region.cookie, 0U);
	EXPECT_EQ(r.region.state, 0UL);
	EXPECT_EQ(r.region.hash_next, nullptr);
	EXPECT_EQ(r.region.flags, (u32)KNEM_FLAG_SINGLEUSE);
	EXPECT_EQ(r.region.protection, (u32)KNEM_PROT_READ);
	EXPECT_EQ(r.region.owner_uid, 1000U);
	EXPECT_EQ(r.region.owner, &owner);
	EXPECT_EQ(r.region.ops, &kOps);
	EXPECT_FALSE(knem_region_is_stale(&r.region));
	EXPECT_FALSE(knem_region_is_unlinked(&r.region));
	knem_region_put(&r.region);
	EXPECT_EQ(r.releases, 1);
}

TEST(Region, ReleaseOnlyWithTheLastReference)
{
	CountedRegion r;
	knem_region_init(&r.region, &kOps, nullptr, 0, 0, KNEM_PROT_WRITE);
	for (int i = 0; i < 10; i++)
		knem_region_get(&r.region);
	EXPECT_EQ(knem_refcount_read(&r.region.refs), 11U);
	for (int i = 0; i < 10; i++) {
		knem_region_put(&r.region);
		EXPECT_EQ(r.releases, 0);
	}
	knem_region_put(&r.region);
	EXPECT_EQ(r.releases, 1);
	EXPECT_EQ(knem_refcount_read(&r.region.refs), 0U);
}

TEST(Region, ConcurrentGetPutReleasesOnce)
{
	CountedRegion r;
	knem_region_init(&r.region, &kOps, nullptr, 0, 0, KNEM_PROT_READ);
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; t++)
		threads.emplace_back([&] {
			for (int i = 0; i < 20000; i++) {
				knem_region_get(&r.region);
				knem_region_put(&r.region);
			}
		});
	for (auto &t : threads)
		t.join();
	EXPECT_EQ(r.releases, 0);
	knem_region_put(&r.region);
	EXPECT_EQ(r.releases, 1);
}

// A caller that may sleep gets the region's sleepable release, if it has
// one, and only with the last reference.
TEST(Region, SleepablePutPicksTheSleepableRelease)
{
	TwoWayRegion r;
	knem_region_init(&r.region, &kTwoWayOps, nullptr, 0, 0, KNEM_PROT_READ);
	knem_region_get(&r.region);
	knem_region_put_sleepable(&r.region);
	EXPECT_EQ(r.sleepable_releases, 0);
	knem_region_put_sleepable(&r.region);
	EXPECT_EQ(r.sleepable_releases, 1);
	EXPECT_EQ(r.releases, 0);

	TwoWayRegion other;
	knem_region_init(&other.region, &kTwoWayOps, nullptr, 0, 0,
			 KNEM_PROT_READ);
	knem_region_put(&other.region);
	EXPECT_EQ(other.releases, 1);
	EXPECT_EQ(other.sleepable_releases, 0);

	CountedRegion plain;	// no sleepable release: the plain one
	knem_region_init(&plain.region, &kOps, nullptr, 0, 0, KNEM_PROT_READ);
	knem_region_put_sleepable(&plain.region);
	EXPECT_EQ(plain.releases, 1);
}

TEST(Region, StaleMark)
{
	CountedRegion r;
	knem_region_init(&r.region, &kOps, nullptr, 0, 0, KNEM_PROT_READ);
	knem_region_mark_stale(&r.region);
	EXPECT_TRUE(knem_region_is_stale(&r.region));
	EXPECT_FALSE(knem_region_is_unlinked(&r.region));
	knem_region_mark_stale(&r.region);	// idempotent
	EXPECT_TRUE(knem_region_is_stale(&r.region));
	EXPECT_EQ(r.region.state, 1UL << KNEM_REGION_STALE);
	knem_region_put(&r.region);
	EXPECT_EQ(r.releases, 1);
}

} // namespace
