// SPDX-License-Identifier: BSD-3-Clause
//
// cpu_copy_test.cc - the CPU copy engine (knem_cpu_copy.h): page to page,
// page to and from the caller's memory, user faults, stop requests, and
// random segment lists checked against a byte-by-byte reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "test_core.h"

namespace {

using knem_test::addr_of;
using Layout = std::vector<knem_cmd_param_iovec>; // bases relative to 0

const u64 kPage = KNEM_PAGE_SIZE;

// One side of a copy: fake pages (a region) or the test's own memory (the
// caller's iovecs), built from a layout of (relative base, len) pairs.
class TestSide {
public:
	// @run_pages > 1: the pages come in blocks of that many neighbours,
	// as the pages of a transparent huge page (knem_page_run()).
	TestSide(bool user, const Layout &layout, std::mt19937_64 &rng,
		 u32 run_pages = 1)
		: user_(user)
	{
		u64 end = 0;
		for (const auto &v : layout)
			end = std::max(end, v.base + v.len);
		if (user_)
			buf_.resize(end + 1);
		// user iovecs point into buf_; region iovecs are made up
		u64 base = user_ ? addr_of(buf_.data()) : 0x7f0000000000ULL;
		iov_ = layout;
		for (auto &v : iov_)
			v.base += base;

		u32 nr_segs = 0, nr_pages = 0;
		int err = knem_iovecs_measure(iov_.data(), (u32)iov_.size(),
					      UINT64_MAX, &total_, &nr_segs,
					      &nr_pages);
		EXPECT_EQ(err, 0);
		segs_.resize(nr_segs);
		knem_segs_from_iovecs(iov_.data(), (u32)iov_.size(),
				      segs_.data());
		if (!user_) {
			// separate allocations (ASan catches a chunk that
			// runs off its block), blocks listed in random order
			// (a wrong page index lands in an unrelated page)
			std::vector<std::vector<knem_page_t *>> blocks;
			for (u32 i = 0; i < nr_pages; i += run_pages) {
				u32 n = std::min(run_pages, nr_pages - i);
				pages_.push_back(
					std::make_unique<knem_page_t[]>(n));
				blocks.emplace_back();
				for (u32 k = 0; k < n; k++)
					blocks.back().push_back(
						&pages_.back()[k]);
			}
			std::shuffle(blocks.begin(), blocks.end(), rng);
			for (const auto &block : blocks)
				ptrs_.insert(ptrs_.end(), block.begin(),
					     block.end());
		}
		for (size_t i = 0; i < storage_size(); i += 8) {
			u64 r = rng();
			for (size_t k = i; k < i + 8 && k < storage_size(); k++)
				at(k) = (unsigned char)(r >> (8 * (k - i)));
		}
	}

	knem_side side() const
	{
		knem_side s{};
		s.kind = user_ ? KNEM_SIDE_USER : KNEM_SIDE_PAGES;
		s.segs = segs_.data();
		s.nr_segs = (u32)segs_.size();
		s.pages = user_ ? nullptr : ptrs_.data();
		if (mapping_) {
			s.mapped = mapping_->at(mapped_first_);
			s.mapped_first = mapped_first_;
		}
		return s;
	}

	// From now on the side has a contiguous mapping of its pages from
	// index @first on, as the kernel's vmap(): the same memory as the
	// pages, which stay scattered (no run between them).
	void map_from(u32 first)
	{
		mapping_ = std::make_unique<Alias>(ptrs_);
		mapped_first_ = first;
		ptrs_ = mapping_->pages();
	}

	u64 total() const { return total_; }
	const std::vector<knem_cmd_param_iovec> &iov() const { return iov_; }

	// All the memory behind the side, as one index space: the pages in
	// page-array order, or the user buffer.
	size_t storage_size() const
	{
		return user_ ? buf_.size() : ptrs_.size() * kPage;
	}
	unsigned char &at(size_t i)
	{
		if (user_)
			return buf_[i];
		return ptrs_[i / kPage]->bytes[i % kPage];
	}
	std::vector<unsigned char> snapshot()
	{
		if (user_)
			return buf_;
		std::vector<unsigned char> copy(storage_size());
		for (size_t i = 0; i < ptrs_.size(); i++)
			memcpy(&copy[i * kPage], ptrs_[i]->bytes, kPage);
		return copy;
	}

	// Calls f(logical position, index in storage) for every byte, in
	// order.  This is the model of knem_seg.h, written independently of
	// the planner: pages for a region, plain addresses for user memory.
	template <typename F> void for_each_byte(F f) const
	{
		u64 logical = 0;
		for (const auto &seg : segs_) {
			for (u64 pos = 0; pos < seg.len; pos++, logical++) {
				if (user_) {
					f(logical, (size_t)(seg.addr + pos -
						addr_of(buf_.data())));
					continue;
				}
				u64 at = seg.addr % kPage + pos;
				u64 page = seg.first_page + at / kPage;
				f(logical, (size_t)(page * kPage + at % kPage));
			}
		}
	}

	// The bytes of the side, in logical order.
	std::vector<unsigned char> flatten()
	{
		std::vector<unsigned char> flat(total_);
		for_each_byte([&](u64 l, size_t i) { flat[l] = at(i); });
		return flat;
	}

private:
	// The pages in a memfd, mapped twice: page by page, each mapping
	// wherever mmap puts it (the pages, filled from @pages), and once
	// contiguously in page-array order (the side's mapping).
	class Alias {
	public:
		explicit Alias(const std::vector<knem_page_t *> &pages)
			: nr_(pages.size())
		{
			fd_ = memfd_create("cpu_copy_test", MFD_CLOEXEC);
			if (fd_ < 0 || ftruncate(fd_, (off_t)(nr_ * kPage)))
				throw std::system_error(errno, std::generic_category(),
							"memfd");
			contiguous_ = map(0, nr_);
			for (size_t i = 0; i < nr_; i++) {
				unsigned char *page = map(i, 1);
				memcpy(page, pages[i]->bytes, kPage);
				pages_.push_back(reinterpret_cast<knem_page_t *>(page));
			}
		}
		Alias(const Alias &) = delete;
		Alias &operator=(const Alias &) = delete;
		~Alias()
		{
			for (knem_page_t *page : pages_)
				munmap(page, kPage);
			munmap(contiguous_, nr_ * kPage);
			close(fd_);
		}
		unsigned char *at(u32 page) const { return contiguous_ + page * kPage; }
		const std::vector<knem_page_t *> &pages() const { return pages_; }

	private:
		unsigned char *map(size_t first, size_t n)
		{
			void *p = mmap(nullptr, n * kPage, PROT_READ | PROT_WRITE,
				       MAP_SHARED, fd_, (off_t)(first * kPage));
			if (p == MAP_FAILED)
				throw std::system_error(errno, std::generic_category(),
							"mmap");
			return static_cast<unsigned char *>(p);
		}

		size_t nr_;
		int fd_ = -1;
		unsigned char *contiguous_ = nullptr;
		std::vector<knem_page_t *> pages_;
	};

	bool user_;
	std::unique_ptr<Alias> mapping_;
	u32 mapped_first_ = 0;
	std::vector<unsigned char> buf_;
	std::vector<knem_cmd_param_iovec> iov_;
	std::vector<knem_seg> segs_;
	std::vector<std::unique_ptr<knem_page_t[]>> pages_;
	std::vector<knem_page_t *> ptrs_;
	u64 total_ = 0;
};

// What dst's storage must hold after copying @len bytes (or only the
// first @copied of them) from src to dst: the reference model.
std::vector<unsigned char> expected_after(TestSide &src, u64 src_off,
					  TestSide &dst, u64 dst_off, u64 len)
{
	std::vector<unsigned char> from = src.flatten();
	std::vector<unsigned char> out = dst.snapshot();
	dst.for_each_byte([&](u64 l, size_t i) {
		if (l >= dst_off && l - dst_off < len)
			out[i] = from[src_off + (l - dst_off)];
	});
	return out;
}

class CpuCopy : public ::testing::Test {
protected:
	void TearDown() override
	{
		knem_test_set_user_fault(0, 0);
		knem_test_set_stop_after(-1);
	}

	std::mt19937_64 rng_{ 42 };
};

int run(TestSide &src, u64 src_off, TestSide &dst, u64 dst_off, u64 len,
	u64 *copied)
{
	knem_side s = src.side(), d = dst.side();
	*copied = 0xbadc0ffee;
	return knem_cpu_copy(&s, src_off, &d, dst_off, len, copied);
}

// Copies and checks the result against the reference.
void copy_and_check(TestSide &src, u64 src_off, TestSide &dst, u64 dst_off,
		    u64 len)
{
	std::vector<unsigned char> want =
		expected_after(src, src_off, dst, dst_off, len);
	u64 copied;
	ASSERT_EQ(run(src, src_off, dst, dst_off, len, &copied), 0);
	EXPECT_EQ(copied, len);
	ASSERT_EQ(dst.snapshot(), want);
}

// The same, for what knem_copy_length() allows within @bound.
void copy_bounded_and_check(TestSide &src, u64 src_off, TestSide &dst,
			    u64 dst_off, u64 bound)
{
	u64 len = knem_copy_length(src.total(), src_off, dst.total(), dst_off,
				   bound);
	copy_and_check(src, src_off, dst, dst_off, len);
}

TEST_F(CpuCopy, PagesToPagesSinglePage)
{
	TestSide src(false, { { 0, 100 } }, rng_);
	TestSide dst(false, { { 0, 100 } }, rng_);
	copy_and_check(src, 0, dst, 0, 100);
}

TEST_F(CpuCopy, PagesToPagesUnaligned)
{
	TestSide src(false, { { 1, 3 * kPage } }, rng_);
	TestSide dst(false, { { kPage - 3, 3 * kPage + 7 } }, rng_);
	copy_and_check(src, 0, dst, 0, 3 * kPage);
	copy_bounded_and_check(src, 5, dst, 4097, UINT64_MAX);
	copy_bounded_and_check(src, 4095, dst, 1, 2);
	copy_bounded_and_check(src, 3 * kPage - 1, dst, 0, UINT64_MAX);
}

TEST_F(CpuCopy, PagesToUserAndBack)
{
	TestSide region(false, { { 17, 2 * kPage + 33 } }, rng_);
	TestSide user(true, { { 5, 3000 }, { 4000, 6000 } }, rng_);
	copy_bounded_and_check(region, 0, user, 0, UINT64_MAX);
	copy_bounded_and_check(user, 10, region, 1, UINT64_MAX);
	copy_bounded_and_check(region, kPage, user, 2999, 2);
	copy_bounded_and_check(user, 0, region, 0, UINT64_MAX);
}

TEST_F(CpuCopy, BothUserIsEinval)
{
	TestSide a(true, { { 0, 100 } }, rng_);
	TestSide b(true, { { 0, 100 } }, rng_);
	auto before = b.snapshot();
	u64 copied;
	EXPECT_EQ(run(a, 0, b, 0, 100, &copied), -EINVAL);
	EXPECT_EQ(copied, 0U);
	EXPECT_EQ(b.snapshot(), before);
}

TEST_F(CpuCopy, ZeroLength)
{
	TestSide src(false, { { 0, 100 } }, rng_);
	TestSide dst(true, { { 0, 100 } }, rng_);
	// even a fault everywhere does not matter when nothing is copied
	knem_test_set_user_fault(0, UINT64_MAX);
	auto before = dst.snapshot();
	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, 0, &copied), 0);
	EXPECT_EQ(copied, 0U);
	EXPECT_EQ(run(src, 100, dst, 100, 0, &copied), 0);
	EXPECT_EQ(copied, 0U);
	EXPECT_EQ(dst.snapshot(), before);
}

TEST_F(CpuCopy, EmptyRegions)
{
	TestSide src(false, {}, rng_);
	TestSide dst(false, { { 0, 0 } }, rng_);
	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, 0, &copied), 0);
	EXPECT_EQ(copied, 0U);
}

// copy_to_user faults part-way: -EFAULT, and copied says how far it got.
TEST_F(CpuCopy, FaultWritingUserMemory)
{
	TestSide src(false, { { 100, 4 * kPage } }, rng_);
	TestSide dst(true, { { 0, 4 * kPage } }, rng_);
	const u64 fault_at = 5000;
	auto full = expected_after(src, 0, dst, 0, 4 * kPage);
	auto before = dst.snapshot();
	u64 base = dst.iov()[0].base;
	knem_test_set_user_fault(base + fault_at, base + fault_at + 1);

	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, 4 * kPage, &copied), -EFAULT);
	EXPECT_EQ(copied, fault_at);
	auto after = dst.snapshot();
	for (u64 i = 0; i < after.size(); i++)
		ASSERT_EQ(after[i], i < fault_at ? full[i] : before[i]) << i;
}

TEST_F(CpuCopy, FaultOnTheFirstUserByte)
{
	TestSide src(false, { { 0, 3 * kPage } }, rng_);
	TestSide dst(true, { { 10, 3 * kPage } }, rng_);
	auto before = dst.snapshot();
	u64 base = dst.iov()[0].base;
	knem_test_set_user_fault(base, base + 3 * kPage);
	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, 3 * kPage, &copied), -EFAULT);
	EXPECT_EQ(copied, 0U);
	EXPECT_EQ(dst.snapshot(), before);
}

TEST_F(CpuCopy, FaultInALaterUserSegment)
{
	TestSide src(false, { { 0, 4 * kPage } }, rng_);
	TestSide dst(true, { { 0, 1000 }, { 2000, 1000 }, { 8000, 5000 } },
		     rng_);
	// the third segment faults 1234 bytes in: 3234 bytes get through
	u64 fault = dst.iov()[2].base + 1234;
	knem_test_set_user_fault(fault, fault + 100);
	auto partial = expected_after(src, 0, dst, 0, 3234);
	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, 7000, &copied), -EFAULT);
	EXPECT_EQ(copied, 3234U);
	EXPECT_EQ(dst.snapshot(), partial);
}

TEST_F(CpuCopy, FaultOutsideTheCopyIsHarmless)
{
	TestSide src(false, { { 0, 2 * kPage } }, rng_);
	TestSide dst(true, { { 64, 2 * kPage } }, rng_);
	u64 base = dst.iov()[0].base;
	knem_test_set_user_fault(base - 64, base);
	copy_and_check(src, 0, dst, 0, 2 * kPage);
	knem_test_set_user_fault(base + 2 * kPage, base + 3 * kPage);
	copy_and_check(src, 0, dst, 0, 2 * kPage);
}

// copy_from_user faults part-way (a region written from user memory).
TEST_F(CpuCopy, FaultReadingUserMemory)
{
	TestSide src(true, { { 7, 3 * kPage } }, rng_);
	TestSide dst(false, { { 0, 3 * kPage } }, rng_);
	u64 fault = src.iov()[0].base + 6000;
	knem_test_set_user_fault(fault, fault + kPage);
	auto want = expected_after(src, 0, dst, 0, 6000);
	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, 3 * kPage, &copied), -EFAULT);
	EXPECT_EQ(copied, 6000U);
	auto got = dst.flatten();
	auto want_flat = std::vector<unsigned char>(want.begin(),
						    want.begin() + 6000);
	EXPECT_TRUE(std::equal(want_flat.begin(), want_flat.end(),
			       got.begin()));
}

// A fatal signal stops a long copy between chunks with -EINTR.
TEST_F(CpuCopy, StopRequestInterrupts)
{
	const u64 len = 100 * kPage;	// 100 one-page chunks
	TestSide src(false, { { 0, len } }, rng_);
	TestSide dst(false, { { 0, len } }, rng_);
	knem_test_set_stop_after(0);
	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, len, &copied), -EINTR);
	EXPECT_GT(copied, 0U);
	EXPECT_LT(copied, len);
	EXPECT_EQ(copied % kPage, 0U);	// stopped between chunks
	EXPECT_EQ(knem_test_stop_calls(), 1);
	// exactly the first copied bytes were written
	auto want = expected_after(src, 0, dst, 0, copied);
	EXPECT_EQ(dst.snapshot(), want);

	// allowing more checks lets it get further
	u64 first = copied;
	knem_test_set_stop_after(2);
	EXPECT_EQ(run(src, 0, dst, 0, len, &copied), -EINTR);
	EXPECT_GT(copied, first);
	EXPECT_EQ(knem_test_stop_calls(), 3);
}

TEST_F(CpuCopy, StopChecksAreCheap)
{
	const u64 len = 256 * kPage;	// 256 one-page chunks
	TestSide src(false, { { 0, len } }, rng_);
	TestSide dst(false, { { 0, len } }, rng_);
	knem_test_set_stop_after(-1);
	copy_and_check(src, 0, dst, 0, len);
	// looked at regularly, but not for every one of the 256 chunks
	EXPECT_GE(knem_test_stop_calls(), 2);
	EXPECT_LE(knem_test_stop_calls(), 256 / 8);
}

TEST_F(CpuCopy, ShortCopiesAreNotInterrupted)
{
	TestSide src(false, { { 0, 2 * kPage } }, rng_);
	TestSide dst(false, { { 0, 2 * kPage } }, rng_);
	knem_test_set_stop_after(0);
	copy_and_check(src, 0, dst, 0, 2 * kPage);
}

TEST_F(CpuCopy, InterruptedUserCopy)
{
	const u64 len = 64 * kPage;
	TestSide src(true, { { 0, len } }, rng_);
	TestSide dst(false, { { 0, len } }, rng_);
	knem_test_set_stop_after(0);
	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, len, &copied), -EINTR);
	EXPECT_GT(copied, 0U);
	EXPECT_LT(copied, len);
	EXPECT_EQ(dst.snapshot(), expected_after(src, 0, dst, 0, copied));
}

// Random segment lists over fake pages (some with more than 1000
// segments), random offsets and bounds, every combination of sides:
// the planner plus the CPU engine must equal the byte-by-byte model.
// One segment on each side takes a path of its own: every alignment of
// both ends, page-sized and not, pages and user memory.
TEST_F(CpuCopy, OneSegmentEachSideMatchesReference)
{
	std::mt19937_64 rng(0x0a5e6);

	for (int round = 0; round < 200; round++) {
		SCOPED_TRACE(round);
		bool src_user = round % 3 == 1;
		bool dst_user = round % 3 == 2;
		u64 src_base = rng() % (2 * kPage);
		u64 dst_base = round % 7 ? rng() % (2 * kPage) : src_base;
		u64 src_len = 1 + rng() % (6 * kPage);
		u64 dst_len = round % 5 ? 1 + rng() % (6 * kPage) : src_len;
		TestSide src(src_user, { { src_base, src_len } }, rng);
		TestSide dst(dst_user, { { dst_base, dst_len } }, rng);
		u64 src_off = rng() % 2 ? 0 : rng() % src_len;
		u64 dst_off = rng() % 2 ? 0 : rng() % dst_len;
		u64 bound = rng() % 3 ? UINT64_MAX : rng() % (3 * kPage);
		copy_bounded_and_check(src, src_off, dst, dst_off, bound);
		if (HasFatalFailure())
			return;
	}
}

// Pages that are neighbours (a huge page) are copied as one range, up to
// 64 pages per call; a page whose neighbour in the array is elsewhere ends
// the range.  Every alignment, both directions, runs on both sides.
TEST_F(CpuCopy, PageRunsMatchReference)
{
	std::mt19937_64 rng(0x4a9e);

	for (int round = 0; round < 200; round++) {
		SCOPED_TRACE(round);
		bool src_user = round % 3 == 1;
		bool dst_user = round % 3 == 2;
		u32 src_run = 1 + (u32)(rng() % 80);
		u32 dst_run = round % 4 ? 1 + (u32)(rng() % 80) : 512;
		u64 src_base = rng() % (2 * kPage);
		u64 dst_base = round % 7 ? rng() % (2 * kPage) : src_base;
		u64 src_len = 1 + rng() % (150 * kPage);
		u64 dst_len = round % 5 ? 1 + rng() % (150 * kPage) : src_len;
		TestSide src(src_user, { { src_base, src_len } }, rng, src_run);
		TestSide dst(dst_user, { { dst_base, dst_len } }, rng, dst_run);
		u64 src_off = rng() % 2 ? 0 : rng() % src_len;
		u64 dst_off = rng() % 2 ? 0 : rng() % dst_len;
		copy_bounded_and_check(src, src_off, dst, dst_off, UINT64_MAX);
		if (HasFatalFailure())
			return;
	}
}

// Pages in runs (a huge page) or mapped contiguously (vmap) take one user
// copy per 64 pages, from any offset; scattered pages one per page.
TEST_F(CpuCopy, RunsAndMappingsTakeOneUserCopyPer64Pages)
{
	const u64 len = 256 * kPage;
	TestSide huge(false, { { 0, len } }, rng_, 512);
	TestSide mapped(false, { { 0, len } }, rng_, 1);
	TestSide small(false, { { 0, len } }, rng_, 1);
	TestSide user(true, { { 0, len } }, rng_);

	mapped.map_from(0);
	knem_test_user_copy_calls();
	for (TestSide *side : { &huge, &mapped }) {
		copy_and_check(*side, 0, user, 0, len);
		EXPECT_EQ(knem_test_user_copy_calls(), 4);
		copy_and_check(user, 0, *side, 0, len);
		EXPECT_EQ(knem_test_user_copy_calls(), 4);
	}
	copy_and_check(small, 0, user, 0, len);
	EXPECT_EQ(knem_test_user_copy_calls(), 256);
	// unaligned: a run's chunk ends where the run ends, a mapping's
	// chunk 64 pages on
	copy_bounded_and_check(huge, 100, user, 0, UINT64_MAX);
	EXPECT_EQ(knem_test_user_copy_calls(), 4);
	copy_bounded_and_check(mapped, 100, user, 0, UINT64_MAX);
	EXPECT_EQ(knem_test_user_copy_calls(), 4);
}

// A side with a contiguous kernel mapping (vmap) of its scattered pages is
// copied through it, up to 64 pages per call from any offset, whatever
// page the mapping starts at; every alignment, both directions, against
// pages, runs and user memory on the other side.
TEST_F(CpuCopy, MappedPagesMatchReference)
{
	std::mt19937_64 rng(0x3a9ed);

	for (int round = 0; round < 120; round++) {
		SCOPED_TRACE(round);
		bool mapped_is_src = round % 2;
		int other_kind = round % 3; // pages, runs, user
		u64 base = rng() % (2 * kPage);
		u64 len = 1 + rng() % (150 * kPage);
		u64 other_base = rng() % (2 * kPage);
		u64 other_len = round % 5 ? 1 + rng() % (150 * kPage) : len;
		TestSide mapped(false, { { base, len } }, rng);
		TestSide other(other_kind == 2, { { other_base, other_len } },
			       rng, other_kind == 1 ? 64 : 1);
		u64 off = rng() % 2 ? 0 : rng() % len;
		u64 other_off = rng() % 2 ? 0 : rng() % other_len;
		// the mapping covers at least the pages the copy reaches
		mapped.map_from((u32)((base % kPage + off) / kPage));
		if (mapped_is_src)
			copy_bounded_and_check(mapped, off, other, other_off,
					       UINT64_MAX);
		else
			copy_bounded_and_check(other, other_off, mapped, off,
					       UINT64_MAX);
		if (HasFatalFailure())
			return;
	}
}

// A long copy made of runs still looks at stop requests every 64 KiB.
TEST_F(CpuCopy, PageRunsStillStop)
{
	const u64 len = 512 * kPage;
	TestSide src(false, { { 0, len } }, rng_, 512);
	TestSide dst(true, { { 0, len } }, rng_);
	knem_test_set_stop_after(1);
	u64 copied;
	EXPECT_EQ(run(src, 0, dst, 0, len, &copied), -EINTR);
	EXPECT_EQ(copied, 128 * kPage);	// two 64-page runs
	EXPECT_EQ(knem_test_stop_calls(), 2);
	EXPECT_EQ(dst.snapshot(), expected_after(src, 0, dst, 0, copied));
}

TEST_F(CpuCopy, RandomListsMatchReference)
{
	std::mt19937_64 rng(0x5eed);
	auto random_layout = [&](size_t n) {
		Layout layout(n);
		u64 at = rng() % (2 * kPage);
		for (auto &v : layout) {
			at += rng() % 3 == 0 ? 0 : rng() % (2 * kPage);
			v.base = at;
			switch (rng() % 6) {
			case 0: v.len = 0; break;
			case 1: v.len = 1 + rng() % 8; break;
			case 2: v.len = kPage; break;
			case 3: v.len = kPage - at % kPage; break;
			default: v.len = 1 + rng() % (2 * kPage + 100);
			}
			at += v.len;
		}
		return layout;
	};

	for (int round = 0; round < 40; round++) {
		SCOPED_TRACE(round);
		bool src_user = round % 3 == 1;
		bool dst_user = round % 3 == 2;
		size_t n_src = round % 4 == 0 ? 1000 + rng() % 300
					      : 1 + rng() % 30;
		size_t n_dst = round % 4 == 1 ? 1000 + rng() % 300
					      : 1 + rng() % 30;
		if (round % 8 == 3)
			n_src = n_dst = 1000 + rng() % 100;
		TestSide src(src_user, random_layout(n_src), rng);
		TestSide dst(dst_user, random_layout(n_dst), rng);

		u64 src_off = src.total() ? rng() % (src.total() / 2 + 1) : 0;
		u64 dst_off = dst.total() ? rng() % (dst.total() / 2 + 1) : 0;
		if (round % 5 == 0)
			src_off = dst_off = 0;
		u64 bound = rng() % 2 ? UINT64_MAX : rng() % (100 * kPage);
		u64 len = knem_copy_length(src.total(), src_off, dst.total(),
					   dst_off, bound);
		copy_and_check(src, src_off, dst, dst_off, len);
		if (HasFatalFailure())
			return;
	}
}

} // namespace
