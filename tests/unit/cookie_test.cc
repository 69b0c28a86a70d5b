// SPDX-License-Identifier: BSD-3-Clause
//
// cookie_test.cc - the cookie table (knem_cookie.h): cookie values,
// forged and reused cookies, access checks and their order, single-use
// regions, removal by the owner, and the table's reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "test_core.h"

namespace {

const u64 kBit63 = 1ULL << 63;

struct TestRegion {
	knem_region region;
	std::atomic<int> releases{ 0 };
};

void count_release(knem_region *region)
{
	container_of(region, TestRegion, region)->releases++;
}

const knem_region_ops kOps = { count_release, nullptr };

// two distinct contexts, as opaque owners
char owners[2];
const void *const ownerA = &owners[0];
const void *const ownerB = &owners[1];

class CookieTable : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_EQ(knem_cookie_table_init(&table_, 4), 0);
	}

	void TearDown() override
	{
		knem_test_set_random(nullptr, 0);
		for (auto &r : regions_)
			knem_cookie_table_unlink(&table_, &r->region);
		EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 0U);
		knem_cookie_table_destroy(&table_);
	}

	// A region as a driver publishes it: created with the creator's
	// reference, inserted, and the creator's reference dropped, so that
	// only the table holds it.
	TestRegion *create(knem_uid_t uid = 1000, u32 flags = 0,
			   u32 prot = KNEM_PROT_READ | KNEM_PROT_WRITE,
			   const void *owner = ownerA)
	{
		regions_.push_back(std::make_unique<TestRegion>());
		TestRegion *r = regions_.back().get();
		knem_region_init(&r->region, &kOps, owner, uid, flags, prot);
		EXPECT_EQ(knem_cookie_table_insert(&table_, &r->region), 0);
		knem_region_put(&r->region);
		return r;
	}

	int lookup(knem_cookie_t cookie, knem_uid_t uid, u32 prot,
		   knem_region **out, u32 domid = 0)
	{
		knem_access access = {};
		access.uid = uid;
		access.protection = prot;
		access.domid = domid;
		*out = nullptr;
		return knem_cookie_table_lookup(&table_, cookie, &access, out);
	}

	// A lookup from another domain, dropping the reference it gets.
	int lookup_from(u32 domid, knem_cookie_t cookie, knem_uid_t uid = 1000)
	{
		knem_region *r;
		int err = lookup(cookie, uid, KNEM_PROT_READ, &r, domid);
		if (!err)
			knem_region_put(r);
		return err;
	}

	int lookup(knem_cookie_t cookie, knem_uid_t uid = 1000,
		   u32 prot = KNEM_PROT_READ)
	{
		knem_region *r;
		int err = lookup(cookie, uid, prot, &r);
		if (!err)
			knem_region_put(r);
		else
			EXPECT_EQ(r, nullptr);
		return err;
	}

	static unsigned refs(TestRegion *r)
	{
		return knem_refcount_read(&r->region.refs);
	}

	knem_cookie_table table_;
	std::vector<std::unique_ptr<TestRegion>> regions_;
};

// The sharing policy of the tests: domains 1 and 2 share, 3 shares with
// nobody.
bool OneAndTwoShare(u32 a, u32 b)
{
	return (a == 1 && b == 2) || (a == 2 && b == 1);
}

TEST_F(CookieTable, OtherDomainsNeedTheFlagAndThePolicy)
{
	TestRegion *closed = create(1000, 0);
	TestRegion *open = create(1000, KNEM_FLAG_ANY_USER_ACCESS);
	closed->region.owner_domid = 1;
	open->region.owner_domid = 1;

	// Without a policy, no domain reaches another's regions.
	EXPECT_EQ(lookup_from(2, open->region.cookie), -EPERM);
	table_.domains_share = OneAndTwoShare;
	// The same uid in another domain is another user.
	EXPECT_EQ(lookup_from(2, closed->region.cookie), -EPERM);
	EXPECT_EQ(lookup_from(2, open->region.cookie), 0);
	EXPECT_EQ(lookup_from(3, open->region.cookie), -EPERM);
	EXPECT_EQ(lookup_from(0, open->region.cookie), -EPERM);
	// Inside the owner's domain, uids decide as usual.
	EXPECT_EQ(lookup_from(1, closed->region.cookie), 0);
	EXPECT_EQ(lookup_from(1, closed->region.cookie, 1001), -EPERM);
	EXPECT_EQ(lookup_from(1, open->region.cookie, 1001), 0);
}

TEST(CookieTableInit, Sizes)
{
	knem_cookie_table table;
	ASSERT_EQ(knem_cookie_table_init(&table, 0), 0);
	EXPECT_EQ(table.nr_buckets, 1U);
	EXPECT_EQ(knem_cookie_table_nr_regions(&table), 0U);
	knem_cookie_table_destroy(&table);
	ASSERT_EQ(knem_cookie_table_init(&table, 10), 0);
	EXPECT_EQ(table.nr_buckets, 1024U);
	knem_cookie_table_destroy(&table);
	EXPECT_EQ(knem_cookie_table_init(&table, 31), -ENOMEM);
}

TEST_F(CookieTable, InsertGivesAValidCookieAndTakesAReference)
{
	TestRegion r;
	knem_region_init(&r.region, &kOps, ownerA, 1000, 0, KNEM_PROT_READ);
	ASSERT_EQ(knem_cookie_table_insert(&table_, &r.region), 0);
	EXPECT_NE(r.region.cookie, 0U);
	EXPECT_EQ(r.region.cookie & kBit63, 0U);
	EXPECT_EQ(knem_refcount_read(&r.region.refs), 2U);
	EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 1U);
	knem_region_put(&r.region);
	EXPECT_TRUE(knem_cookie_table_unlink(&table_, &r.region));
	EXPECT_EQ(r.releases, 1);
}

TEST_F(CookieTable, InsertWithAGivenCookie)
{
	const knem_cookie_t c = 0x123456789abcdefULL;
	TestRegion r;
	knem_region_init(&r.region, &kOps, ownerA, 1000, 0, KNEM_PROT_READ);
	ASSERT_EQ(knem_cookie_table_insert_cookie(&table_, &r.region, c), 0);
	EXPECT_EQ(r.region.cookie, c);
	EXPECT_EQ(knem_refcount_read(&r.region.refs), 2U);
	EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 1U);
	knem_region_put(&r.region);
	knem_region *found;
	ASSERT_EQ(lookup(c, 1000, KNEM_PROT_READ, &found), 0);
	EXPECT_EQ(found, &r.region);
	knem_region_put(found);

	// the same cookie again, or an invalid one, is refused untouched
	TestRegion twin;
	knem_region_init(&twin.region, &kOps, ownerA, 1000, 0, KNEM_PROT_READ);
	EXPECT_EQ(knem_cookie_table_insert_cookie(&table_, &twin.region, c),
		  -EEXIST);
	EXPECT_EQ(knem_cookie_table_insert_cookie(&table_, &twin.region, 0),
		  -EINVAL);
	EXPECT_EQ(knem_cookie_table_insert_cookie(&table_, &twin.region,
						  c | kBit63), -EINVAL);
	EXPECT_EQ(knem_refcount_read(&twin.region.refs), 1U);
	EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 1U);
	knem_region_put(&twin.region);
	EXPECT_EQ(twin.releases, 1);

	// a drawn cookie is never one that is taken
	TestRegion *other = create();
	EXPECT_NE(other->region.cookie, c);

	EXPECT_TRUE(knem_cookie_table_unlink(&table_, &r.region));
	EXPECT_EQ(r.releases, 1);
}

TEST_F(CookieTable, ManyCookiesAreUniqueAndFindable)
{
	std::set<knem_cookie_t> seen;
	for (int i = 0; i < 5000; i++)
		create(1000 + i % 7);
	EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 5000U);
	for (auto &r : regions_) {
		knem_cookie_t c = r->region.cookie;
		EXPECT_NE(c, 0U);
		EXPECT_EQ(c & kBit63, 0U);
		EXPECT_TRUE(seen.insert(c).second) << "duplicate " << c;
		knem_region *found;
		ASSERT_EQ(lookup(c, r->region.owner_uid, KNEM_PROT_WRITE,
				 &found), 0);
		EXPECT_EQ(found, &r->region);
		knem_region_put(found);
	}
}

TEST_F(CookieTable, CookieZeroAlwaysFails)
{
	TestRegion *r = create();
	EXPECT_NE(r->region.cookie, 0U);
	EXPECT_EQ(lookup(0), -EINVAL);
	EXPECT_EQ(lookup(0, 1000, KNEM_PROT_WRITE), -EINVAL);
	EXPECT_EQ(knem_cookie_table_remove(&table_, 0, ownerA), -EINVAL);
}

TEST_F(CookieTable, Bit63NeverSetAndAlwaysRejected)
{
	TestRegion *r = create();
	EXPECT_EQ(r->region.cookie & kBit63, 0U);
	EXPECT_EQ(lookup(r->region.cookie | kBit63), -EINVAL);
	EXPECT_EQ(knem_cookie_table_remove(&table_, r->region.cookie | kBit63,
					   ownerA), -EINVAL);
	EXPECT_EQ(lookup(r->region.cookie), 0);
}

// Cookies are SipHash-2-4 of a counter under a key drawn at init: with
// the reference key and message of the SipHash paper's test vectors
// (key 00..0f, message 00..07), the draw number 0x0706050403020100
// hashes to 0x93f5f5799a932462, whose cookie is that shifted right once.
TEST(CookieTableDraws, SipHashOfTheCounter)
{
	const u64 key[] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	knem_cookie_table table;
	knem_test_set_random(key, 2);
	ASSERT_EQ(knem_cookie_table_init(&table, 4), 0);
	knem_test_set_random(nullptr, 0);
	EXPECT_EQ(table.key.key[0], key[0]);
	EXPECT_EQ(table.key.key[1], key[1]);
	table.draws = 0x0706050403020100ULL;
	TestRegion r;
	knem_region_init(&r.region, &kOps, ownerA, 1000, 0, KNEM_PROT_READ);
	ASSERT_EQ(knem_cookie_table_insert(&table, &r.region), 0);
	EXPECT_EQ(r.region.cookie, 0x93f5f5799a932462ULL >> 1);
	knem_region_put(&r.region);
	EXPECT_TRUE(knem_cookie_table_unlink(&table, &r.region));
	knem_cookie_table_destroy(&table);
}

// Two tables with the same key draw the same cookies: the second one,
// where the first draw is taken already, skips it for the next one.
TEST(CookieTableDraws, CollidingDrawsAreRedrawn)
{
	const u64 key[] = { 0x1111ULL, 0x2222ULL };
	knem_cookie_table first, second;
	TestRegion a, b, taken, c;

	knem_test_set_random(key, 2);
	ASSERT_EQ(knem_cookie_table_init(&first, 4), 0);
	knem_test_set_random(key, 2);
	ASSERT_EQ(knem_cookie_table_init(&second, 4), 0);
	knem_test_set_random(nullptr, 0);
	for (TestRegion *r : { &a, &b, &taken, &c })
		knem_region_init(&r->region, &kOps, ownerA, 1000, 0,
				 KNEM_PROT_READ);
	ASSERT_EQ(knem_cookie_table_insert(&first, &a.region), 0);
	ASSERT_EQ(knem_cookie_table_insert(&first, &b.region), 0);
	EXPECT_NE(a.region.cookie, b.region.cookie);

	ASSERT_EQ(knem_cookie_table_insert_cookie(&second, &taken.region,
						  a.region.cookie), 0);
	ASSERT_EQ(knem_cookie_table_insert(&second, &c.region), 0);
	EXPECT_EQ(c.region.cookie, b.region.cookie);

	for (TestRegion *r : { &a, &b, &taken, &c })
		knem_region_put(&r->region);
	EXPECT_TRUE(knem_cookie_table_unlink(&first, &a.region));
	EXPECT_TRUE(knem_cookie_table_unlink(&first, &b.region));
	EXPECT_TRUE(knem_cookie_table_unlink(&second, &taken.region));
	EXPECT_TRUE(knem_cookie_table_unlink(&second, &c.region));
	for (TestRegion *r : { &a, &b, &taken, &c })
		EXPECT_EQ(r->releases, 1);
	knem_cookie_table_destroy(&first);
	knem_cookie_table_destroy(&second);
}

TEST_F(CookieTable, ForgedCookiesFail)
{
	std::set<knem_cookie_t> valid;
	for (int i = 0; i < 100; i++)
		valid.insert(create()->region.cookie);
	std::mt19937_64 rng(7);
	for (int i = 0; i < 100000; i++) {
		knem_cookie_t c = rng();
		if (valid.count(c))
			continue;
		ASSERT_EQ(lookup(c), -EINVAL) << c;
	}
	// neighbours of real cookies, and the same cookie with bit 63
	for (knem_cookie_t c : valid) {
		if (!valid.count(c + 1)) {
			EXPECT_EQ(lookup(c + 1), -EINVAL);
		}
		if (!valid.count(c ^ 1)) {
			EXPECT_EQ(lookup(c ^ 1), -EINVAL);
		}
		EXPECT_EQ(lookup(c | kBit63), -EINVAL);
	}
}

TEST_F(CookieTable, LookupTakesAReference)
{
	TestRegion *r = create();
	EXPECT_EQ(refs(r), 1U);
	knem_region *found;
	ASSERT_EQ(lookup(r->region.cookie, 1000, KNEM_PROT_READ, &found), 0);
	EXPECT_EQ(found, &r->region);
	EXPECT_EQ(refs(r), 2U);
	knem_region_put(found);
	EXPECT_EQ(refs(r), 1U);
	EXPECT_EQ(r->releases, 0);
}

TEST_F(CookieTable, OtherUserIsEpermUnlessAnyUser)
{
	TestRegion *mine = create(1000);
	TestRegion *shared = create(1000, KNEM_FLAG_ANY_USER_ACCESS);
	EXPECT_EQ(lookup(mine->region.cookie, 1000), 0);
	EXPECT_EQ(lookup(mine->region.cookie, 1001), -EPERM);
	EXPECT_EQ(lookup(mine->region.cookie, 0), -EPERM);
	EXPECT_EQ(lookup(shared->region.cookie, 1001), 0);
	EXPECT_EQ(lookup(shared->region.cookie, 0, KNEM_PROT_WRITE), 0);
	EXPECT_EQ(refs(mine), 1U);
}

TEST_F(CookieTable, MissingProtectionIsEacces)
{
	TestRegion *ro = create(1000, 0, KNEM_PROT_READ);
	TestRegion *wo = create(1000, 0, KNEM_PROT_WRITE);
	TestRegion *none = create(1000, 0, 0);
	TestRegion *rw = create(1000, 0, KNEM_PROT_READ | KNEM_PROT_WRITE);
	EXPECT_EQ(lookup(ro->region.cookie, 1000, KNEM_PROT_READ), 0);
	EXPECT_EQ(lookup(ro->region.cookie, 1000, KNEM_PROT_WRITE), -EACCES);
	EXPECT_EQ(lookup(wo->region.cookie, 1000, KNEM_PROT_WRITE), 0);
	EXPECT_EQ(lookup(wo->region.cookie, 1000, KNEM_PROT_READ), -EACCES);
	EXPECT_EQ(lookup(none->region.cookie, 1000, KNEM_PROT_READ), -EACCES);
	EXPECT_EQ(lookup(none->region.cookie, 1000, KNEM_PROT_WRITE),
		  -EACCES);
	EXPECT_EQ(lookup(rw->region.cookie, 1000, KNEM_PROT_READ), 0);
	EXPECT_EQ(lookup(rw->region.cookie, 1000, KNEM_PROT_WRITE), 0);
	EXPECT_EQ(lookup(rw->region.cookie, 1000,
			 KNEM_PROT_READ | KNEM_PROT_WRITE), 0);
	EXPECT_EQ(lookup(ro->region.cookie, 1000,
			 KNEM_PROT_READ | KNEM_PROT_WRITE), -EACCES);
}

TEST_F(CookieTable, StaleRegionIsEfault)
{
	TestRegion *r = create();
	knem_region_mark_stale(&r->region);
	EXPECT_EQ(lookup(r->region.cookie), -EFAULT);
	EXPECT_EQ(refs(r), 1U);
	// its owner can still destroy it
	EXPECT_EQ(knem_cookie_table_remove(&table_, r->region.cookie, ownerA),
		  0);
	EXPECT_EQ(r->releases, 1);
}

// EINVAL (cookie), then EPERM (uid), then EACCES (protection), then
// EFAULT (stale memory).
TEST_F(CookieTable, ErrorOrder)
{
	TestRegion *r = create(1000, 0, KNEM_PROT_READ);
	knem_region_mark_stale(&r->region);
	knem_cookie_t c = r->region.cookie;

	EXPECT_EQ(lookup(c ^ 0x10, 1001, KNEM_PROT_WRITE), -EINVAL);
	EXPECT_EQ(lookup(c, 1001, KNEM_PROT_WRITE), -EPERM);
	EXPECT_EQ(lookup(c, 1000, KNEM_PROT_WRITE), -EACCES);
	EXPECT_EQ(lookup(c, 1000, KNEM_PROT_READ), -EFAULT);

	TestRegion *any = create(1000, KNEM_FLAG_ANY_USER_ACCESS, 0);
	knem_region_mark_stale(&any->region);
	EXPECT_EQ(lookup(any->region.cookie, 1001, KNEM_PROT_READ), -EACCES);
	EXPECT_EQ(refs(r), 1U);
	EXPECT_EQ(refs(any), 1U);
}

TEST_F(CookieTable, SingleUseIsConsumedOnce)
{
	TestRegion *r = create(1000, KNEM_FLAG_SINGLEUSE);
	knem_cookie_t c = r->region.cookie;
	EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 1U);

	knem_region *found;
	ASSERT_EQ(lookup(c, 1000, KNEM_PROT_READ, &found), 0);
	EXPECT_EQ(found, &r->region);
	// the table's reference went to the caller
	EXPECT_EQ(refs(r), 1U);
	EXPECT_TRUE(knem_region_is_unlinked(&r->region));
	EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 0U);

	// reusing the cookie fails, whoever asks
	EXPECT_EQ(lookup(c), -EINVAL);
	EXPECT_EQ(lookup(c, 1000, KNEM_PROT_WRITE), -EINVAL);
	EXPECT_EQ(knem_cookie_table_remove(&table_, c, ownerA), -EINVAL);
	EXPECT_FALSE(knem_cookie_table_unlink(&table_, &r->region));
	EXPECT_EQ(r->releases, 0);

	knem_region_put(found);
	EXPECT_EQ(r->releases, 1);
}

TEST_F(CookieTable, FailedLookupsDoNotConsumeSingleUse)
{
	TestRegion *r = create(1000, KNEM_FLAG_SINGLEUSE, KNEM_PROT_READ);
	knem_cookie_t c = r->region.cookie;
	EXPECT_EQ(lookup(c, 1001, KNEM_PROT_READ), -EPERM);
	EXPECT_EQ(lookup(c, 1000, KNEM_PROT_WRITE), -EACCES);
	EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 1U);
	EXPECT_EQ(lookup(c, 1000, KNEM_PROT_READ), 0);
	EXPECT_EQ(lookup(c, 1000, KNEM_PROT_READ), -EINVAL);
	EXPECT_EQ(r->releases, 1);
}

TEST_F(CookieTable, StaleSingleUseIsNotConsumed)
{
	TestRegion *r = create(1000, KNEM_FLAG_SINGLEUSE);
	knem_region_mark_stale(&r->region);
	EXPECT_EQ(lookup(r->region.cookie), -EFAULT);
	EXPECT_EQ(lookup(r->region.cookie), -EFAULT);
	EXPECT_FALSE(knem_region_is_unlinked(&r->region));
	EXPECT_EQ(r->releases, 0);
}

TEST_F(CookieTable, RemoveChecksTheOwner)
{
	TestRegion *r = create(1000, 0, KNEM_PROT_READ, ownerA);
	knem_cookie_t c = r->region.cookie;
	EXPECT_EQ(knem_cookie_table_remove(&table_, c, ownerB), -EINVAL);
	EXPECT_EQ(knem_cookie_table_remove(&table_, c, nullptr), -EINVAL);
	EXPECT_EQ(lookup(c), 0);
	EXPECT_EQ(r->releases, 0);

	EXPECT_EQ(knem_cookie_table_remove(&table_, c, ownerA), 0);
	EXPECT_EQ(r->releases, 1);
	EXPECT_EQ(knem_cookie_table_nr_regions(&table_), 0U);
	// a destroyed cookie is dead for good
	EXPECT_EQ(lookup(c), -EINVAL);
	EXPECT_EQ(knem_cookie_table_remove(&table_, c, ownerA), -EINVAL);
	EXPECT_FALSE(knem_cookie_table_unlink(&table_, &r->region));
	EXPECT_EQ(r->releases, 1);
}

TEST_F(CookieTable, RemoveWhileACopyHoldsTheRegion)
{
	TestRegion *r = create();
	knem_region *held;
	ASSERT_EQ(lookup(r->region.cookie, 1000, KNEM_PROT_READ, &held), 0);
	EXPECT_EQ(knem_cookie_table_remove(&table_, r->region.cookie, ownerA),
		  0);
	EXPECT_EQ(r->releases, 0);	// the copy still holds it
	EXPECT_EQ(lookup(r->region.cookie), -EINVAL);
	knem_region_put(held);
	EXPECT_EQ(r->releases, 1);
}

TEST_F(CookieTable, UnlinkReportsWhetherLinked)
{
	TestRegion *r = create();
	knem_cookie_t c = r->region.cookie;
	EXPECT_TRUE(knem_cookie_table_unlink(&table_, &r->region));
	EXPECT_EQ(r->releases, 1);
	EXPECT_TRUE(knem_region_is_unlinked(&r->region));
	EXPECT_FALSE(knem_cookie_table_unlink(&table_, &r->region));
	EXPECT_EQ(r->releases, 1);
	EXPECT_EQ(lookup(c), -EINVAL);

	// a region that was never inserted
	TestRegion loose;
	knem_region_init(&loose.region, &kOps, ownerA, 1000, 0, 0);
	EXPECT_FALSE(knem_cookie_table_unlink(&table_, &loose.region));
	EXPECT_EQ(knem_refcount_read(&loose.region.refs), 1U);
	knem_region_put(&loose.region);
	EXPECT_EQ(loose.releases, 1);
}

TEST_F(CookieTable, ReleaseExactlyOnceWithManyHolders)
{
	TestRegion *r = create();
	std::vector<knem_region *> held(5);
	for (auto &h : held)
		ASSERT_EQ(lookup(r->region.cookie, 1000, KNEM_PROT_READ, &h),
			  0);
	EXPECT_EQ(refs(r), 6U);
	knem_region_put(held[0]);
	EXPECT_TRUE(knem_cookie_table_unlink(&table_, &r->region));
	EXPECT_FALSE(knem_cookie_table_unlink(&table_, &r->region));
	EXPECT_EQ(knem_cookie_table_remove(&table_, r->region.cookie, ownerA),
		  -EINVAL);
	for (size_t i = 1; i < held.size(); i++) {
		EXPECT_EQ(r->releases, 0);
		knem_region_put(held[i]);
	}
	EXPECT_EQ(r->releases, 1);
}

// All regions in one chain: unlinking from its head, middle and tail
// keeps every other region reachable.
TEST(CookieTableChains, RemoveInRandomOrderFromOneBucket)
{
	knem_cookie_table table;
	ASSERT_EQ(knem_cookie_table_init(&table, 0), 0);
	std::vector<std::unique_ptr<TestRegion>> regions;
	for (int i = 0; i < 300; i++) {
		regions.push_back(std::make_unique<TestRegion>());
		knem_region *r = &regions.back()->region;
		knem_region_init(r, &kOps, ownerA, 0,
				 i % 3 ? 0 : KNEM_FLAG_SINGLEUSE,
				 KNEM_PROT_READ);
		ASSERT_EQ(knem_cookie_table_insert(&table, r), 0);
		knem_region_put(r);
	}
	std::vector<size_t> order(regions.size());
	for (size_t i = 0; i < order.size(); i++)
		order[i] = i;
	std::mt19937_64 rng(99);
	std::shuffle(order.begin(), order.end(), rng);

	knem_access access = { 0, KNEM_PROT_READ, 0 };
	std::vector<bool> gone(regions.size(), false);
	for (size_t step = 0; step < order.size(); step++) {
		size_t victim = order[step];
		knem_region *r = &regions[victim]->region;
		if (r->flags & KNEM_FLAG_SINGLEUSE) {
			knem_region *got;
			ASSERT_EQ(knem_cookie_table_lookup(&table, r->cookie,
							   &access, &got), 0);
			knem_region_put(got);
		} else if (step % 2) {
			ASSERT_EQ(knem_cookie_table_remove(&table, r->cookie,
							   ownerA), 0);
		} else {
			ASSERT_TRUE(knem_cookie_table_unlink(&table, r));
		}
		gone[victim] = true;
		ASSERT_EQ(regions[victim]->releases, 1);
		ASSERT_EQ(knem_cookie_table_nr_regions(&table), order.size() - step - 1);
		if (step % 25)
			continue;
		for (size_t i = 0; i < regions.size(); i++) {
			if (regions[i]->region.flags & KNEM_FLAG_SINGLEUSE)
				continue;	// a lookup would consume it
			knem_region *got;
			int err = knem_cookie_table_lookup(
				&table, regions[i]->region.cookie, &access,
				&got);
			ASSERT_EQ(err, gone[i] ? -EINVAL : 0) << i;
			if (!err) {
				ASSERT_EQ(got, &regions[i]->region);
				knem_region_put(got);
			}
		}
	}
	EXPECT_EQ(knem_cookie_table_nr_regions(&table), 0U);
	knem_cookie_table_destroy(&table);
}

// Of concurrent lookups of a single-use cookie, exactly one succeeds.
TEST(CookieTableThreads, SingleUseRace)
{
	knem_cookie_table table;
	ASSERT_EQ(knem_cookie_table_init(&table, 6), 0);
	const int nr = 2000, nr_threads = 4;
	std::vector<std::unique_ptr<TestRegion>> regions;
	std::vector<knem_cookie_t> cookies;
	for (int i = 0; i < nr; i++) {
		regions.push_back(std::make_unique<TestRegion>());
		knem_region *r = &regions.back()->region;
		knem_region_init(r, &kOps, ownerA, 5, KNEM_FLAG_SINGLEUSE,
				 KNEM_PROT_WRITE);
		ASSERT_EQ(knem_cookie_table_insert(&table, r), 0);
		knem_region_put(r);
		cookies.push_back(r->cookie);
	}
	std::vector<std::atomic<int>> wins(nr);
	std::atomic<int> other_errors{ 0 };
	std::vector<std::thread> threads;
	for (int t = 0; t < nr_threads; t++)
		threads.emplace_back([&, t] {
			knem_access access = { 5, KNEM_PROT_WRITE, 0 };
			for (int k = 0; k < nr; k++) {
				int i = (k + t * 37) % nr;
				knem_region *got;
				int err = knem_cookie_table_lookup(
					&table, cookies[i], &access, &got);
				if (!err) {
					wins[i]++;
					knem_region_put(got);
				} else if (err != -EINVAL) {
					other_errors++;
				}
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(other_errors, 0);
	for (int i = 0; i < nr; i++) {
		ASSERT_EQ(wins[i], 1) << i;
		ASSERT_EQ(regions[i]->releases, 1) << i;
	}
	EXPECT_EQ(knem_cookie_table_nr_regions(&table), 0U);
	knem_cookie_table_destroy(&table);
}

// Threads inserting, looking up and removing their own regions at once
// (the table has per-bucket locks): every cookie unique and found, every
// region released once, the count back to zero.
TEST(CookieTableThreads, InsertLookupRemoveEverywhere)
{
	knem_cookie_table table;
	ASSERT_EQ(knem_cookie_table_init(&table, 10), 0);
	const int nr = 3000, nr_threads = 4;
	std::vector<std::vector<std::unique_ptr<TestRegion>>> regions(nr_threads);
	std::atomic<int> errors{ 0 };
	std::vector<std::thread> threads;
	for (int t = 0; t < nr_threads; t++)
		threads.emplace_back([&, t] {
			const void *owner = &owners[t % 2];
			knem_access access = { 7, KNEM_PROT_READ, 0 };
			auto &mine = regions[t];
			for (int i = 0; i < nr; i++) {
				mine.push_back(std::make_unique<TestRegion>());
				knem_region *r = &mine.back()->region;
				knem_region_init(r, &kOps, owner, 7, 0,
						 KNEM_PROT_READ);
				knem_cookie_table_insert(&table, r);
				knem_region_put(r);
				knem_region *got = nullptr;
				if (knem_cookie_table_lookup(&table, r->cookie,
							     &access, &got) ||
				    got != r)
					errors++;
				else
					knem_region_put(got);
				if (i % 2 && knem_cookie_table_remove(
						     &table, r->cookie, owner))
					errors++;
			}
		});
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(errors, 0);
	EXPECT_EQ(knem_cookie_table_nr_regions(&table),
		  (u64)nr_threads * nr / 2);
	std::set<knem_cookie_t> cookies;
	for (auto &mine : regions)
		for (auto &r : mine)
			cookies.insert(r->region.cookie);
	EXPECT_EQ(cookies.size(), (size_t)nr_threads * nr);
	for (auto &mine : regions)
		for (auto &r : mine) {
			bool linked = !knem_region_is_unlinked(&r->region);
			EXPECT_EQ(knem_cookie_table_unlink(&table, &r->region),
				  linked);
			ASSERT_EQ(r->releases, 1);
		}
	EXPECT_EQ(knem_cookie_table_nr_regions(&table), 0U);
	knem_cookie_table_destroy(&table);
}

} // namespace
