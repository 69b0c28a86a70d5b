// SPDX-License-Identifier: BSD-3-Clause
//
// seg_test.cc - iovec checking and segment lists (knem_seg.h).
#include <gtest/gtest.h>

#include <vector>

#include "test_core.h"

namespace {

using Iovs = std::vector<knem_cmd_param_iovec>;

const u64 kPage = KNEM_PAGE_SIZE;

struct Measured {
	int err;
	u64 total;
	u32 nr_segs;
	u32 nr_pages;
};

Measured measure(const Iovs &iov, u64 max_total = UINT64_MAX)
{
	Measured m = { 0, 0xdead, 0xdead, 0xdead };
	m.err = knem_iovecs_measure(iov.data(), (u32)iov.size(), max_total,
				    &m.total, &m.nr_segs, &m.nr_pages);
	return m;
}

TEST(RangeNrPages, Basics)
{
	EXPECT_EQ(knem_range_nr_pages(0, 0), 0U);
	EXPECT_EQ(knem_range_nr_pages(12345, 0), 0U);
	EXPECT_EQ(knem_range_nr_pages(0, 1), 1U);
	EXPECT_EQ(knem_range_nr_pages(0, kPage), 1U);
	EXPECT_EQ(knem_range_nr_pages(0, kPage + 1), 2U);
	EXPECT_EQ(knem_range_nr_pages(kPage - 1, 1), 1U);
	EXPECT_EQ(knem_range_nr_pages(kPage - 1, 2), 2U);
	EXPECT_EQ(knem_range_nr_pages(1, kPage), 2U);
	EXPECT_EQ(knem_range_nr_pages(1, kPage - 1), 1U);
	EXPECT_EQ(knem_range_nr_pages(5 * kPage + 7, 3 * kPage), 4U);
}

TEST(RangeNrPages, NearTheTopOfTheAddressSpace)
{
	// The last page, and a range ending just below 2^64.
	EXPECT_EQ(knem_range_nr_pages(UINT64_MAX - kPage + 1, kPage), 1U);
	EXPECT_EQ(knem_range_nr_pages(UINT64_MAX - 10, 10), 1U);
	// A huge range from a page offset: must not wrap to a tiny count.
	EXPECT_EQ(knem_range_nr_pages(0x10, UINT64_MAX - 0x20),
		  (u64)1 << (64 - KNEM_PAGE_SHIFT));
	EXPECT_EQ(knem_range_nr_pages(0, UINT64_MAX),
		  (u64)1 << (64 - KNEM_PAGE_SHIFT));
}

TEST(IovecsMeasure, Empty)
{
	Measured m = measure({});
	EXPECT_EQ(m.err, 0);
	EXPECT_EQ(m.total, 0U);
	EXPECT_EQ(m.nr_segs, 0U);
	EXPECT_EQ(m.nr_pages, 0U);
}

TEST(IovecsMeasure, OnlyZeroLengthIovecs)
{
	// Zero-length iovecs are dropped, whatever their base.
	Measured m = measure({ { 0, 0 }, { 0x1234, 0 }, { UINT64_MAX, 0 } });
	EXPECT_EQ(m.err, 0);
	EXPECT_EQ(m.total, 0U);
	EXPECT_EQ(m.nr_segs, 0U);
	EXPECT_EQ(m.nr_pages, 0U);
}

TEST(IovecsMeasure, CountsBytesSegmentsAndPages)
{
	Measured m = measure({
		{ 0x1000, 0x1000 },	// 1 page
		{ 0x5000, 0 },		// dropped
		{ 0x2fff, 2 },		// 2 pages
		{ 0x7001, 0x2000 },	// 3 pages
		{ 0x9000, 1 },		// 1 page
	});
	EXPECT_EQ(m.err, 0);
	EXPECT_EQ(m.total, 0x1000U + 2 + 0x2000 + 1);
	EXPECT_EQ(m.nr_segs, 4U);
	EXPECT_EQ(m.nr_pages, 7U);
}

TEST(IovecsMeasure, WrappingIovecIsEfault)
{
	EXPECT_EQ(measure({ { UINT64_MAX, 1 } }).err, -EFAULT);
	// ending exactly at 2^64 wraps too
	EXPECT_EQ(measure({ { UINT64_MAX - kPage + 1, kPage } }).err, -EFAULT);
	EXPECT_EQ(measure({ { 1, UINT64_MAX } }).err, -EFAULT);
	EXPECT_EQ(measure({ { 0x1000, 0x10 }, { UINT64_MAX - 5, 7 } }).err,
		  -EFAULT);
	// ending one byte below 2^64 is fine (as far as wrapping goes)
	Measured m = measure({ { UINT64_MAX - kPage, kPage } });
	EXPECT_EQ(m.err, 0);
	EXPECT_EQ(m.nr_pages, 2U);
}

TEST(IovecsMeasure, WrappingTotalIsEinval)
{
	const u64 half = (u64)1 << 63;
	EXPECT_EQ(measure({ { 0, half }, { 0, half } }).err, -EINVAL);
	EXPECT_EQ(measure({ { 0, UINT64_MAX - 1 }, { 0, 2 } }).err, -EINVAL);
}

TEST(IovecsMeasure, MaxTotal)
{
	Iovs iov = { { 0x1000, 100 }, { 0x3000, 28 } };
	EXPECT_EQ(measure(iov, 128).err, 0);
	EXPECT_EQ(measure(iov, 127).err, -EINVAL);
	EXPECT_EQ(measure(iov, 0).err, -EINVAL);
	EXPECT_EQ(measure({ { 0x1000, 0 } }, 0).err, 0);
}

TEST(IovecsMeasure, TooManyPagesIsEinval)
{
	const u64 max_pages = UINT32_MAX;
	// 2^32 - 1 pages: the most that fits
	Measured m = measure({ { 0, max_pages * kPage } });
	EXPECT_EQ(m.err, 0);
	EXPECT_EQ(m.nr_pages, UINT32_MAX);
	// one byte more needs 2^32 pages
	EXPECT_EQ(measure({ { 0, max_pages * kPage + 1 } }).err, -EINVAL);
	// the same page count, reached by two segments
	EXPECT_EQ(measure({ { 0, (max_pages - 1) * kPage },
			    { 0x1fff, 2 } }).err, -EINVAL);
	// a huge segment whose page count does not fit in 32 bits
	EXPECT_EQ(measure({ { 0x10, UINT64_MAX - 0x20 } }).err, -EINVAL);
}

TEST(IovecsMeasure, FirstOffendingIovecDecides)
{
	// a total above the limit before a wrapping iovec
	EXPECT_EQ(measure({ { 0, 200 }, { UINT64_MAX, 1 } }, 100).err,
		  -EINVAL);
	// a wrapping iovec before the limit is exceeded
	EXPECT_EQ(measure({ { UINT64_MAX, 1 }, { 0, 200 } }, 100).err,
		  -EFAULT);
}

TEST(SegsFromIovecs, DropsEmptyAndNumbersPages)
{
	Iovs iov = {
		{ 0, 0 },
		{ 0x1ffe, 4 },		// 2 pages
		{ 0x8000, 0x1000 },	// 1 page
		{ 0xdead, 0 },
		{ 0x10001, 0x2fff },	// 3 pages
		{ 0x20000, 1 },		// 1 page
	};
	Measured m = measure(iov);
	ASSERT_EQ(m.err, 0);
	ASSERT_EQ(m.nr_segs, 4U);
	std::vector<knem_seg> segs(m.nr_segs + 1);
	segs[m.nr_segs].addr = 0x5a5a;	// must stay untouched
	knem_segs_from_iovecs(iov.data(), (u32)iov.size(), segs.data());

	EXPECT_EQ(segs[0].addr, 0x1ffeU);
	EXPECT_EQ(segs[0].len, 4U);
	EXPECT_EQ(segs[0].first_page, 0U);
	EXPECT_EQ(segs[1].addr, 0x8000U);
	EXPECT_EQ(segs[1].len, 0x1000U);
	EXPECT_EQ(segs[1].first_page, 2U);
	EXPECT_EQ(segs[2].addr, 0x10001U);
	EXPECT_EQ(segs[2].len, 0x2fffU);
	EXPECT_EQ(segs[2].first_page, 3U);
	EXPECT_EQ(segs[3].addr, 0x20000U);
	EXPECT_EQ(segs[3].len, 1U);
	EXPECT_EQ(segs[3].first_page, 6U);
	EXPECT_EQ(segs[4].addr, 0x5a5aU);
	EXPECT_EQ(segs[3].first_page + knem_range_nr_pages(0x20000, 1),
		  (u64)m.nr_pages);
}

TEST(SegsFromIovecs, RandomListsAgreeWithMeasure)
{
	std::mt19937_64 rng(20240601);
	for (int round = 0; round < 200; round++) {
		Iovs iov(rng() % 50);
		u64 bytes = 0, pages = 0;
		for (auto &v : iov) {
			v.base = rng() % (1ULL << 40);
			v.len = (rng() % 4 == 0) ? 0 : rng() % (5 * kPage);
			bytes += v.len;
			pages += knem_range_nr_pages(v.base, v.len);
		}
		Measured m = measure(iov);
		ASSERT_EQ(m.err, 0);
		EXPECT_EQ(m.total, bytes);
		EXPECT_EQ(m.nr_pages, pages);
		std::vector<knem_seg> segs(m.nr_segs);
		knem_segs_from_iovecs(iov.data(), (u32)iov.size(),
				      segs.data());
		u32 next_page = 0;
		for (const auto &s : segs) {
			EXPECT_NE(s.len, 0U);
			EXPECT_EQ(s.first_page, next_page);
			next_page += (u32)knem_range_nr_pages(s.addr, s.len);
		}
		EXPECT_EQ(next_page, m.nr_pages);
		EXPECT_EQ(knem_segs_total(segs.data(), (u32)segs.size()),
			  bytes);
	}
}

} // namespace
