// SPDX-License-Identifier: BSD-3-Clause
//
// plan_test.cc - the chunk planner (knem_plan.h): lengths, offsets,
// page bounds, zero-length segments, and random segment lists checked
// against the segment model.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "test_core.h"

namespace {

using Iovs = std::vector<knem_cmd_param_iovec>;

const u64 kPage = KNEM_PAGE_SIZE;

std::vector<knem_seg> segs_of(const Iovs &iov)
{
	std::vector<knem_seg> segs(iov.size());
	u32 n = 0;
	for (const auto &v : iov)
		n += v.len != 0;
	segs.resize(n);
	knem_segs_from_iovecs(iov.data(), (u32)iov.size(), segs.data());
	return segs;
}

// Keeps zero-length segments, which knem_segs_from_iovecs drops: other
// builders of segment lists may not.
std::vector<knem_seg> raw_segs(const Iovs &iov)
{
	std::vector<knem_seg> segs;
	u32 page = 0;
	for (const auto &v : iov) {
		segs.push_back({ v.base, v.len, page });
		page += (u32)knem_range_nr_pages(v.base, v.len);
	}
	return segs;
}

std::vector<knem_chunk> plan_all(const std::vector<knem_seg> &src,
				 u64 src_off,
				 const std::vector<knem_seg> &dst,
				 u64 dst_off, u64 length)
{
	knem_plan plan;
	knem_chunk chunk;
	std::vector<knem_chunk> chunks;

	knem_plan_init(&plan, src.data(), (u32)src.size(), src_off,
		       dst.data(), (u32)dst.size(), dst_off, length);
	while (knem_plan_next(&plan, &chunk)) {
		chunks.push_back(chunk);
		if (chunks.size() > 10000000)
			break;
	}
	// a finished plan stays finished
	EXPECT_FALSE(knem_plan_next(&plan, &chunk));
	return chunks;
}

u64 sum_len(const std::vector<knem_chunk> &chunks)
{
	u64 total = 0;
	for (const auto &c : chunks)
		total += c.len;
	return total;
}

TEST(CopyLength, OffsetsAtOrPastTheEndGiveZero)
{
	EXPECT_EQ(knem_copy_length(100, 100, 100, 0, UINT64_MAX), 0U);
	EXPECT_EQ(knem_copy_length(100, 0, 100, 100, UINT64_MAX), 0U);
	EXPECT_EQ(knem_copy_length(100, 101, 100, 0, UINT64_MAX), 0U);
	EXPECT_EQ(knem_copy_length(100, UINT64_MAX, 100, 0, UINT64_MAX), 0U);
	EXPECT_EQ(knem_copy_length(100, 0, 100, UINT64_MAX, UINT64_MAX), 0U);
	EXPECT_EQ(knem_copy_length(0, 0, 0, 0, UINT64_MAX), 0U);
	EXPECT_EQ(knem_copy_length(0, 0, 100, 0, UINT64_MAX), 0U);
}

TEST(CopyLength, SmallestOfRemaindersAndBound)
{
	EXPECT_EQ(knem_copy_length(100, 10, 200, 0, UINT64_MAX), 90U);
	EXPECT_EQ(knem_copy_length(100, 10, 200, 150, UINT64_MAX), 50U);
	EXPECT_EQ(knem_copy_length(100, 10, 200, 150, 7), 7U);
	EXPECT_EQ(knem_copy_length(100, 10, 200, 150, 0), 0U);
	EXPECT_EQ(knem_copy_length(100, 99, 100, 99, UINT64_MAX), 1U);
	// the vect test of the classic suite: dst shorter than src
	EXPECT_EQ(knem_copy_length(3471616, 0, 3432461, 0, UINT64_MAX),
		  3432461U);
}

TEST(CopyLength, NoOverflowWithHugeValues)
{
	EXPECT_EQ(knem_copy_length(UINT64_MAX, UINT64_MAX - 1, UINT64_MAX, 0,
				   UINT64_MAX), 1U);
	EXPECT_EQ(knem_copy_length(UINT64_MAX, 0, UINT64_MAX, 0, UINT64_MAX),
		  UINT64_MAX);
	EXPECT_EQ(knem_copy_length(UINT64_MAX, 1, UINT64_MAX, 2, UINT64_MAX),
		  UINT64_MAX - 2);
	EXPECT_EQ(knem_copy_length(UINT64_MAX, UINT64_MAX, UINT64_MAX, 0, 5),
		  0U);
}

TEST(SegsTotal, Sums)
{
	EXPECT_EQ(knem_segs_total(nullptr, 0), 0U);
	auto segs = raw_segs({ { 0, 5 }, { 100, 0 }, { 7, 4096 } });
	EXPECT_EQ(knem_segs_total(segs.data(), (u32)segs.size()), 4101U);
}

TEST(Plan, AlignedSingleSegments)
{
	auto src = segs_of({ { 0x10000, 3 * kPage } });
	auto dst = segs_of({ { 0x40000, 3 * kPage } });
	auto chunks = plan_all(src, 0, dst, 0, 3 * kPage);
	ASSERT_EQ(chunks.size(), 3U);
	for (u32 i = 0; i < 3; i++) {
		EXPECT_EQ(chunks[i].len, kPage);
		EXPECT_EQ(chunks[i].src_page, i);
		EXPECT_EQ(chunks[i].dst_page, i);
		EXPECT_EQ(chunks[i].src_seg, 0U);
		EXPECT_EQ(chunks[i].src_pos, i * kPage);
		EXPECT_EQ(chunks[i].src_addr, 0x10000 + i * kPage);
		EXPECT_EQ(chunks[i].dst_addr, 0x40000 + i * kPage);
	}
}

TEST(Plan, UnalignedSidesCutAtEitherPageEnd)
{
	// src starts 1 byte into a page, dst 2 bytes before a page end
	auto src = segs_of({ { 0x1001, 2 * kPage } });
	auto dst = segs_of({ { 0x5ffe, 2 * kPage } });
	auto chunks = plan_all(src, 0, dst, 0, 2 * kPage);
	// cut at: dst page end, src page end, dst, src, and the end
	const u32 lens[] = { 2, 4093, 3, 4093, 1 };
	const u32 src_pages[] = { 0, 0, 1, 1, 2 };
	const u32 dst_pages[] = { 0, 1, 1, 2, 2 };
	ASSERT_EQ(chunks.size(), 5U);
	u64 pos = 0;
	for (int i = 0; i < 5; i++) {
		SCOPED_TRACE(i);
		EXPECT_EQ(chunks[i].len, lens[i]);
		EXPECT_EQ(chunks[i].src_pos, pos);
		EXPECT_EQ(chunks[i].dst_pos, pos);
		EXPECT_EQ(chunks[i].src_addr, 0x1001 + pos);
		EXPECT_EQ(chunks[i].dst_addr, 0x5ffe + pos);
		EXPECT_EQ(chunks[i].src_page, src_pages[i]);
		EXPECT_EQ(chunks[i].dst_page, dst_pages[i]);
		pos += chunks[i].len;
	}
	EXPECT_EQ(pos, 2 * kPage);
}

TEST(Plan, SegmentEndsCutChunks)
{
	auto src = segs_of({ { 0x1000, 10 }, { 0x3000, 20 }, { 0x5000, 30 } });
	auto dst = segs_of({ { 0x9000, 25 }, { 0xa000, 35 } });
	auto chunks = plan_all(src, 0, dst, 0, 60);
	// cuts at src 10, 30 and dst 25: 10, 15, 5, 30
	ASSERT_EQ(chunks.size(), 4U);
	EXPECT_EQ(chunks[0].len, 10U);
	EXPECT_EQ(chunks[1].len, 15U);
	EXPECT_EQ(chunks[1].src_seg, 1U);
	EXPECT_EQ(chunks[1].dst_seg, 0U);
	EXPECT_EQ(chunks[1].dst_pos, 10U);
	EXPECT_EQ(chunks[2].len, 5U);
	EXPECT_EQ(chunks[2].src_seg, 1U);
	EXPECT_EQ(chunks[2].src_pos, 15U);
	EXPECT_EQ(chunks[2].dst_seg, 1U);
	EXPECT_EQ(chunks[2].dst_pos, 0U);
	EXPECT_EQ(chunks[3].len, 30U);
	EXPECT_EQ(chunks[3].src_seg, 2U);
	EXPECT_EQ(chunks[3].src_page, 2U);
	EXPECT_EQ(chunks[3].dst_seg, 1U);
	EXPECT_EQ(chunks[3].dst_pos, 5U);
	EXPECT_EQ(chunks[3].dst_page, 1U);
}

TEST(Plan, OffsetsSkipWholeSegments)
{
	auto src = segs_of({ { 0x1000, 10 }, { 0x3000, 20 }, { 0x5100, 30 } });
	auto dst = segs_of({ { 0x9000, 100 } });
	// offset 30 is exactly the end of segment 1: start at segment 2
	auto chunks = plan_all(src, 30, dst, 7, 30);
	ASSERT_EQ(chunks.size(), 1U);
	EXPECT_EQ(chunks[0].src_seg, 2U);
	EXPECT_EQ(chunks[0].src_pos, 0U);
	EXPECT_EQ(chunks[0].src_addr, 0x5100U);
	EXPECT_EQ(chunks[0].src_page, 2U);
	EXPECT_EQ(chunks[0].dst_pos, 7U);
	EXPECT_EQ(chunks[0].dst_addr, 0x9007U);
	EXPECT_EQ(chunks[0].len, 30U);

	// offset inside segment 1
	chunks = plan_all(src, 12, dst, 0, 3);
	ASSERT_EQ(chunks.size(), 1U);
	EXPECT_EQ(chunks[0].src_seg, 1U);
	EXPECT_EQ(chunks[0].src_pos, 2U);
	EXPECT_EQ(chunks[0].src_addr, 0x3002U);
}

TEST(Plan, ZeroLengthSegmentsAreNeverUsed)
{
	auto src = raw_segs({ { 0x1000, 0 }, { 0x2000, 0 }, { 0x3ff0, 0x20 },
			      { 0x8000, 0 }, { 0x9000, 0x10 }, { 0, 0 } });
	auto dst = raw_segs({ { 0x4000, 0 }, { 0x5008, 0x18 }, { 0x6000, 0 },
			      { 0x7000, 0x18 }, { 0x7000, 0 } });
	EXPECT_EQ(knem_segs_total(src.data(), (u32)src.size()), 0x30U);
	auto chunks = plan_all(src, 0, dst, 0, 0x30);
	EXPECT_EQ(sum_len(chunks), 0x30U);
	for (const auto &c : chunks) {
		EXPECT_NE(src[c.src_seg].len, 0U);
		EXPECT_NE(dst[c.dst_seg].len, 0U);
	}
	// offset landing on zero-length segments
	chunks = plan_all(src, 0x20, dst, 0x18, 0x10);
	ASSERT_EQ(chunks.size(), 1U);
	EXPECT_EQ(chunks[0].src_seg, 4U);
	EXPECT_EQ(chunks[0].dst_seg, 3U);
	EXPECT_EQ(chunks[0].src_page, src[4].first_page);
}

TEST(Plan, BoundStopsMidPage)
{
	auto src = segs_of({ { 0x1000, 4 * kPage } });
	auto dst = segs_of({ { 0x8000, 4 * kPage } });
	auto chunks = plan_all(src, 100, dst, 100, kPage + 5);
	ASSERT_EQ(chunks.size(), 2U);
	EXPECT_EQ(chunks[0].len, kPage - 100);
	EXPECT_EQ(chunks[1].len, 105U);
	EXPECT_EQ(chunks[1].src_page, 1U);
}

TEST(Plan, ZeroLengthPlans)
{
	auto src = segs_of({ { 0x1000, 100 } });
	auto dst = segs_of({ { 0x2000, 100 } });
	EXPECT_TRUE(plan_all(src, 0, dst, 0, 0).empty());
	// offsets at the end, as knem_copy_length() gives 0 for them
	EXPECT_TRUE(plan_all(src, 100, dst, 100, 0).empty());
	EXPECT_TRUE(plan_all(src, 5000, dst, 0, 0).empty());
	// empty segment lists
	std::vector<knem_seg> none;
	EXPECT_TRUE(plan_all(none, 0, none, 0, 0).empty());
}

TEST(Plan, LengthBeyondTheListsStopsSafely)
{
	// a caller that did not bound its length: the plan ends with the
	// shorter list instead of running past it
	auto src = segs_of({ { 0x1000, 100 } });
	auto dst = segs_of({ { 0x2000, 50 }, { 0x3000, 10 } });
	auto chunks = plan_all(src, 0, dst, 0, 1000);
	EXPECT_EQ(sum_len(chunks), 60U);
}

TEST(Plan, HugeSegmentAddresses)
{
	// segments up against the top of the address space
	auto src = segs_of({ { UINT64_MAX - 2 * kPage, 2 * kPage } });
	auto dst = segs_of({ { 0x800, 2 * kPage } });
	auto chunks = plan_all(src, 0, dst, 0, 2 * kPage);
	EXPECT_EQ(sum_len(chunks), 2 * kPage);
	for (const auto &c : chunks) {
		EXPECT_LE(KNEM_PAGE_OFFSET(c.src_addr) + c.len, kPage);
		EXPECT_LE(KNEM_PAGE_OFFSET(c.dst_addr) + c.len, kPage);
	}
}

// Random segment lists, some with more than 1000 segments: every chunk
// respects the page bounds of both sides and matches the byte model of
// knem_seg.h, and the chunks cover the transfer in order.
TEST(Plan, RandomListsProperty)
{
	std::mt19937_64 rng(0x6b6e656d);
	for (int round = 0; round < 60; round++) {
		SCOPED_TRACE(round);
		auto random_iovs = [&](size_t n) {
			Iovs iov(n);
			u64 addr = (rng() % 64) * kPage;
			for (auto &v : iov) {
				addr += rng() % (3 * kPage);
				v.base = addr;
				switch (rng() % 5) {
				case 0:	v.len = 0; break;
				case 1: v.len = 1 + rng() % 16; break;
				case 2: v.len = kPage; break;
				default: v.len = 1 + rng() % (3 * kPage);
				}
				addr += v.len;
			}
			return iov;
		};
		size_t n_src = round % 4 == 0 ? 1000 + rng() % 500 : 1 + rng() % 40;
		size_t n_dst = round % 3 == 0 ? 1000 + rng() % 500 : 1 + rng() % 40;
		// keep zero-length segments in half the rounds
		auto src_iov = random_iovs(n_src);
		auto dst_iov = random_iovs(n_dst);
		auto src = round % 2 ? raw_segs(src_iov) : segs_of(src_iov);
		auto dst = round % 2 ? raw_segs(dst_iov) : segs_of(dst_iov);
		u64 src_total = knem_segs_total(src.data(), (u32)src.size());
		u64 dst_total = knem_segs_total(dst.data(), (u32)dst.size());
		u64 src_off = src_total ? rng() % (src_total + 10) : 0;
		u64 dst_off = dst_total ? rng() % (dst_total / 4 + 1) : 0;
		u64 bound = rng() % 3 ? UINT64_MAX : rng() % (64 * kPage);
		u64 len = knem_copy_length(src_total, src_off, dst_total,
					   dst_off, bound);

		auto chunks = plan_all(src, src_off, dst, dst_off, len);
		ASSERT_EQ(sum_len(chunks), len);

		// logical position of each (segment, pos)
		auto logical = [](const std::vector<knem_seg> &segs, u32 s,
				  u64 pos) {
			u64 l = 0;
			for (u32 i = 0; i < s; i++)
				l += segs[i].len;
			return l + pos;
		};
		std::vector<u64> src_start(src.size() + 1, 0);
		std::vector<u64> dst_start(dst.size() + 1, 0);
		for (size_t i = 0; i < src.size(); i++)
			src_start[i + 1] = src_start[i] + src[i].len;
		for (size_t i = 0; i < dst.size(); i++)
			dst_start[i + 1] = dst_start[i] + dst[i].len;
		ASSERT_EQ(logical(src, (u32)src.size(), 0), src_total);

		u64 done = 0;
		for (const auto &c : chunks) {
			ASSERT_LT(c.src_seg, src.size());
			ASSERT_LT(c.dst_seg, dst.size());
			const knem_seg &ss = src[c.src_seg];
			const knem_seg &ds = dst[c.dst_seg];
			ASSERT_GE(c.len, 1U);
			ASSERT_LE(c.len, kPage);
			ASSERT_LT(c.src_pos, ss.len);
			ASSERT_LE(c.src_pos + c.len, ss.len);
			ASSERT_LE(c.dst_pos + c.len, ds.len);
			ASSERT_EQ(c.src_addr, ss.addr + c.src_pos);
			ASSERT_EQ(c.dst_addr, ds.addr + c.dst_pos);
			ASSERT_LE(c.src_addr % kPage + c.len, kPage);
			ASSERT_LE(c.dst_addr % kPage + c.len, kPage);
			ASSERT_EQ(c.src_page, ss.first_page +
				  (ss.addr % kPage + c.src_pos) / kPage);
			ASSERT_EQ(c.dst_page, ds.first_page +
				  (ds.addr % kPage + c.dst_pos) / kPage);
			ASSERT_EQ(src_start[c.src_seg] + c.src_pos,
				  src_off + done);
			ASSERT_EQ(dst_start[c.dst_seg] + c.dst_pos,
				  dst_off + done);
			done += c.len;
		}
	}
}

} // namespace
