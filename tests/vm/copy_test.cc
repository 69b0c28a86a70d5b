// SPDX-License-Identifier: BSD-3-Clause
//
// Synchronous copies: INLINE_COPY(_BOUNDED), COPY(_BOUNDED), offsets, the
// length rule, vectorial layouts (knem-abi.md §2 steps 6-7, §5).
//
// Every check compares a whole mapping, guard bytes included, against a
// model: the mapping's previous content with the expected bytes scattered
// into the destination segments.
#include "knem_vm_test.h"

#include <algorithm>
#include <memory>
#include <random>

using namespace knemtest;

namespace {

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;
constexpr uint64_t kInf = ~0ull;

// Segments laid out in one mapping with gaps (guard bytes) between them.
struct Layout {
	std::unique_ptr<Mapping> map;
	std::vector<knem_cmd_param_iovec> segs;
	uint64_t seed = 0;

	uint8_t *base() const { return map->data(); }
	size_t size() const { return map->size(); }
	uint64_t length() const { return TotalLength(segs); }
	std::vector<uint8_t> Snapshot() const
	{
		return std::vector<uint8_t>(base(), base() + size());
	}
	void Refill(uint64_t new_seed)
	{
		seed = new_seed;
		FillPattern(base(), size(), seed);
	}
};

// sizes[i] bytes at offset misalign + sum(sizes[<i] + gaps[<i]).
std::unique_ptr<Layout> MakeLayout(const std::vector<uint64_t> &sizes,
				   const std::vector<uint64_t> &gaps,
				   uint64_t misalign, uint64_t seed)
{
	uint64_t total = misalign;
	for (size_t i = 0; i < sizes.size(); i++)
		total += sizes[i] + gaps[i % gaps.size()];
	total += 64;
	size_t len = (total + kPage - 1) / kPage * kPage;
	auto layout = std::make_unique<Layout>();
	layout->map = std::make_unique<Mapping>(len);
	if (!layout->map->ok())
		return nullptr;
	uint64_t off = misalign;
	for (size_t i = 0; i < sizes.size(); i++) {
		layout->segs.push_back(Iov(layout->base() + off, sizes[i]));
		off += sizes[i] + gaps[i % gaps.size()];
	}
	layout->Refill(seed);
	return layout;
}

uint64_t ExpectedLength(uint64_t src_len, uint64_t src_off, uint64_t dst_len,
			uint64_t dst_off, uint64_t bound)
{
	if (src_off >= src_len || dst_off >= dst_len)
		return 0;
	return std::min({src_len - src_off, dst_len - dst_off, bound});
}

// dst now holds `before` with n bytes of `src_stream` (from src_off)
// written into its segments from dst_off on, and nothing else changed.
::testing::AssertionResult Copied(const Layout &dst,
				  const std::vector<uint8_t> &before,
				  uint64_t dst_off,
				  const std::vector<uint8_t> &src_stream,
				  uint64_t src_off, uint64_t n)
{
	std::vector<uint8_t> want = before;
	ModelScatter(want, dst.base(), dst.segs, dst_off,
		     src_stream.data() + src_off, n);
	return SameBytes(dst.base(), want.data(), dst.size(),
			 "destination mapping");
}

// The four ways of copying from one layout to another.
enum class Way { kInlineRead, kInlineWrite, kCopy, kCopyBounded, kInlineReadBounded, kInlineWriteBounded };

const char *WayName(Way w)
{
	switch (w) {
	case Way::kInlineRead: return "INLINE_COPY read";
	case Way::kInlineWrite: return "INLINE_COPY write";
	case Way::kCopy: return "COPY";
	case Way::kCopyBounded: return "COPY_BOUNDED";
	case Way::kInlineReadBounded: return "INLINE_COPY_BOUNDED read";
	case Way::kInlineWriteBounded: return "INLINE_COPY_BOUNDED write";
	}
	return "?";
}

// Copies src -> dst one way, with regions created as needed, and checks
// the result against the model.  For inline reads the region is src and
// dst the local iovecs (so dst_off must be 0); for inline writes the
// region is dst (src_off must be 0).
::testing::AssertionResult CopyAndCheck(int fd, Way way, Layout &src,
					uint64_t src_off, Layout &dst,
					uint64_t dst_off, uint64_t bound,
					uint32_t flags = 0)
{
	std::vector<uint8_t> src_stream = Gather(src.segs);
	std::vector<uint8_t> before = dst.Snapshot();
	uint64_t n = ExpectedLength(src.length(), src_off, dst.length(), dst_off,
				    bound);
	knem_cookie_t src_cookie = 0, dst_cookie = 0;
	bool need_src = way != Way::kInlineWrite &&
			way != Way::kInlineWriteBounded;
	bool need_dst = way != Way::kInlineRead &&
			way != Way::kInlineReadBounded;
	if (need_src) {
		Err e = CreateRegion(fd, src.segs, KNEM_PROT_READ, 0, &src_cookie);
		if (e != Ok())
			return ::testing::AssertionFailure()
			       << "create source region: " << e;
	}
	if (need_dst) {
		Err e = CreateRegion(fd, dst.segs, KNEM_PROT_WRITE, 0,
				     &dst_cookie);
		if (e != Ok())
			return ::testing::AssertionFailure()
			       << "create destination region: " << e;
	}
	uint32_t status = kStatusSentinel;
	Err e = Ok();
	switch (way) {
	case Way::kInlineRead:
		e = InlineCopy(fd, dst.segs, false, src_cookie, src_off, flags,
			       &status);
		break;
	case Way::kInlineReadBounded:
		e = InlineCopyBounded(fd, dst.segs, false, src_cookie, src_off,
				      bound, flags, &status);
		break;
	case Way::kInlineWrite:
		e = InlineCopy(fd, src.segs, true, dst_cookie, dst_off, flags,
			       &status);
		break;
	case Way::kInlineWriteBounded:
		e = InlineCopyBounded(fd, src.segs, true, dst_cookie, dst_off,
				      bound, flags, &status);
		break;
	case Way::kCopy:
		e = Copy(fd, src_cookie, src_off, dst_cookie, dst_off, flags,
			 &status);
		break;
	case Way::kCopyBounded:
		e = CopyBounded(fd, src_cookie, src_off, dst_cookie, dst_off,
				bound, flags, &status);
		break;
	}
	if (src_cookie)
		DestroyRegion(fd, src_cookie);
	if (dst_cookie)
		DestroyRegion(fd, dst_cookie);
	::testing::AssertionResult ok = SyncOk(e, status);
	if (!ok)
		return ok << " [" << WayName(way) << " src_off " << src_off
			  << " dst_off " << dst_off << " bound " << bound << "]";
	ok = Copied(dst, before, dst_off, src_stream, src_off, n);
	if (!ok)
		return ok << " [" << WayName(way) << " src_off " << src_off
			  << " dst_off " << dst_off << " bound " << bound
			  << ", expected " << n << " bytes copied]";
	return ok;
}

TEST(Copy, InlineReadWithRemoteOffsets)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	auto remote = MakeLayout({3 * kPage + 123}, {0}, 7, 1);
	auto local = MakeLayout({2 * kPage + 77}, {0}, 3, 2);
	ASSERT_TRUE(remote && local);
	const uint64_t L = remote->length(), LL = local->length();
	for (uint64_t off : std::vector<uint64_t>{0, 1, 4095, 4096, 4097, L - LL,
						  L - LL + 1, L - 1, L, L + 1,
						  1ull << 40, kInf}) {
		EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineRead, *remote, off,
					 *local, 0, kInf));
		local->Refill(off + 100);
	}
}

TEST(Copy, InlineWriteWithRemoteOffsets)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	auto remote = MakeLayout({3 * kPage + 123}, {0}, 7, 1);
	auto local = MakeLayout({2 * kPage + 77}, {0}, 3, 2);
	ASSERT_TRUE(remote && local);
	const uint64_t L = remote->length(), LL = local->length();
	for (uint64_t off : std::vector<uint64_t>{0, 1, 4095, 4096, 4097, L - LL,
						  L - LL + 1, L - 1, L, L + 1,
						  1ull << 40, kInf}) {
		local->Refill(off + 200);
		EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineWrite, *local, 0,
					 *remote, off, kInf));
	}
}

TEST(Copy, InlineBoundedLengths)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	auto remote = MakeLayout({3 * kPage + 123, 5, 999}, {13, 1}, 7, 1);
	auto local = MakeLayout({kPage + 1, 77, kPage}, {3}, 1, 2);
	ASSERT_TRUE(remote && local);
	const uint64_t L = remote->length(), LL = local->length();
	for (uint64_t off : std::vector<uint64_t>{0, 4097, L - 5, L})
		for (uint64_t bound : std::vector<uint64_t>{
			     0, 1, 100, 4096, LL - 1, LL, LL + 1, kInf}) {
			local->Refill(off * 7 + bound);
			EXPECT_TRUE(CopyAndCheck(fd.get(),
						 Way::kInlineReadBounded, *remote,
						 off, *local, 0, bound));
			local->Refill(off * 11 + bound);
			EXPECT_TRUE(CopyAndCheck(fd.get(),
						 Way::kInlineWriteBounded, *local,
						 0, *remote, off, bound));
		}
}

TEST(Copy, RegionToRegionLengthIsTheMinimum)
{
	// knem-abi.md §2 step 7: min(src_len - src_off, dst_len - dst_off,
	// length); an offset at or past the end gives 0 bytes.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	auto src = MakeLayout({5000, 1, 3000}, {9, 2}, 5, 3);
	auto dst = MakeLayout({2000, 7000}, {21}, 11, 4);
	ASSERT_TRUE(src && dst);
	const uint64_t S = src->length(), D = dst->length();
	struct Case {
		uint64_t src_off, dst_off, bound;
	};
	const Case cases[] = {
		{0, 0, kInf},	     {0, 0, 1},	       {0, 0, 0},
		{1, 0, kInf},	     {0, 1, kInf},     {4999, 1999, kInf},
		{S - 1, 0, kInf},    {0, D - 1, kInf}, {S, 0, kInf},
		{0, D, kInf},	     {S + 5, 3, 10},   {100, 200, 4096},
		{100, 200, S},	     {3000, 10, D},    {kInf, 0, kInf},
		{0, kInf, kInf},     {kInf, kInf, 5},  {S - 100, D - 50, 75},
		{4096, 4096, 4097},  {1, 1, kInf - 1},
	};
	for (const Case &c : cases) {
		if (c.bound == kInf) {
			EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kCopy, *src,
						 c.src_off, *dst, c.dst_off,
						 kInf));
		}
		dst->Refill(c.src_off ^ c.dst_off ^ 77);
		EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kCopyBounded, *src,
					 c.src_off, *dst, c.dst_off, c.bound));
		src->Refill(c.src_off + c.bound);
	}
}

TEST(Copy, ThirdPartyCopiesBetweenOtherFdsRegions)
{
	KNEM_OPEN_OR_FAIL(owner_a, O_RDWR);
	KNEM_OPEN_OR_FAIL(owner_b, O_RDWR);
	KNEM_OPEN_OR_FAIL(third, O_RDWR);
	auto src = MakeLayout({3 * kPage + 5}, {0}, 1, 5);
	auto dst = MakeLayout({2 * kPage + 9, 100}, {3}, 2, 6);
	ASSERT_TRUE(src && dst);
	knem_cookie_t a = 0, b = 0;
	ASSERT_EQ(Ok(), CreateRegion(owner_a.get(), src->segs, KNEM_PROT_READ, 0,
				     &a));
	ASSERT_EQ(Ok(), CreateRegion(owner_b.get(), dst->segs, kRW, 0, &b));
	std::vector<uint8_t> stream = Gather(src->segs);

	std::vector<uint8_t> before = dst->Snapshot();
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(Copy(third.get(), a, 10, b, 20, 0, &status), status));
	EXPECT_TRUE(Copied(*dst, before, 20, stream, 10,
			   ExpectedLength(src->length(), 10, dst->length(), 20,
					  kInf)));

	dst->Refill(7);
	before = dst->Snapshot();
	status = 0;
	ASSERT_TRUE(SyncOk(CopyBounded(third.get(), a, 4096, b, 1, 333, 0,
				       &status),
			   status));
	EXPECT_TRUE(Copied(*dst, before, 1, stream, 4096, 333));

	// The third fd reads either region into its own memory too.
	std::vector<uint8_t> out(500, 0);
	status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(third.get(), {Iov(out.data(), 500)}, false,
				      b, 0, 0, &status),
			   status));
	std::vector<uint8_t> dst_stream = Gather(dst->segs);
	EXPECT_TRUE(SameBytes(out.data(), dst_stream.data(), 500));
	// ... but cannot destroy them.
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(third.get(), a));
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(third.get(), b));
}

TEST(Copy, WithinOneRegion)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 4 * kPage;
	auto area = MakeLayout({len}, {0}, 0, 8);
	ASSERT_TRUE(area);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), area->segs, kRW, 0, &c));
	std::vector<uint8_t> before = area->Snapshot();
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(CopyBounded(fd.get(), c, 3, c, len / 2 + 1,
				       len / 2 - 10, 0, &status),
			   status));
	std::vector<uint8_t> want = before;
	memcpy(want.data() + len / 2 + 1, before.data() + 3, len / 2 - 10);
	EXPECT_TRUE(SameBytes(area->base(), want.data(), len));
}

TEST(Copy, PinLocalFlag)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	auto remote = MakeLayout({5 * kPage + 3, 77}, {5}, 9, 10);
	auto local = MakeLayout({kPage + 11, 3 * kPage}, {7}, 1, 11);
	ASSERT_TRUE(remote && local);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineRead, *remote, 5, *local,
				 0, kInf, KNEM_FLAG_PINLOCAL));
	local->Refill(12);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineWrite, *local, 0, *remote,
				 3, kInf, KNEM_FLAG_PINLOCAL));
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineReadBounded, *remote, 1,
				 *local, 0, 5000, KNEM_FLAG_PINLOCAL));
}

TEST(Copy, VectorialClassicLayout)
{
	// The layout of the classic knem_vect_test: odd segment sizes at odd
	// offsets.  Source 3471616 bytes, destination 3432461 bytes, so a
	// copy moves 3432461 bytes (the last one at stream index 3432460).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const std::vector<uint64_t> src_sizes = {7, 253, 14567, 123456, 3333333};
	const std::vector<uint64_t> dst_sizes = {3333333, 12345, 253, 86523, 7};
	auto src = MakeLayout(src_sizes, {3, 17, 1, 129, 5}, 5, 20);
	auto dst = MakeLayout(dst_sizes, {1, 31, 7, 3, 9}, 3, 21);
	ASSERT_TRUE(src && dst);
	ASSERT_EQ(3471616u, src->length());
	ASSERT_EQ(3432461u, dst->length());
	EXPECT_EQ(3432461u, ExpectedLength(src->length(), 0, dst->length(), 0,
					   kInf));

	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineRead, *src, 0, *dst, 0,
				 kInf));
	dst->Refill(22);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineWrite, *src, 0, *dst, 0,
				 kInf));
	dst->Refill(23);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kCopy, *src, 0, *dst, 0, kInf));
	dst->Refill(24);
	// Reversed roles: the destination is now the longer side.
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineRead, *dst, 0, *src, 0,
				 kInf));
}

TEST(Copy, VectorialWithSingleUseRegion)
{
	// What knem_vect_test and MPICH do: one SINGLEUSE PROT_READ region,
	// one INLINE_COPY read into scattered local iovecs.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	auto src = MakeLayout({7, 253, 14567, 123456}, {3, 17, 1}, 1, 25);
	auto dst = MakeLayout({12345, 253, 86523, 7}, {1, 31, 7}, 3, 26);
	ASSERT_TRUE(src && dst);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), src->segs, KNEM_PROT_READ,
				     KNEM_FLAG_SINGLEUSE, &c));
	std::vector<uint8_t> before = dst->Snapshot();
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), dst->segs, false, c, 0, 0,
				      &status),
			   status));
	EXPECT_TRUE(Copied(*dst, before, 0, Gather(src->segs), 0,
			   std::min(src->length(), dst->length())));
	status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, InlineCopy(fd.get(), dst->segs, false, c, 0, 0,
					  &status));
}

TEST(Copy, ThousandsOfScatteredSegments)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::mt19937 rng(1234);
	auto sizes = [&](size_t n, uint64_t max_len) {
		std::vector<uint64_t> v;
		for (size_t i = 0; i < n; i++)
			v.push_back(i % 50 == 49 ? 0 : 1 + rng() % max_len);
		return v;
	};
	auto gaps = [&](size_t n, uint64_t max_gap) {
		std::vector<uint64_t> v;
		for (size_t i = 0; i < n; i++)
			v.push_back(rng() % (max_gap + 1));
		return v;
	};
	auto src = MakeLayout(sizes(1500, 3000), gaps(1500, 40), 3, 30);
	auto dst = MakeLayout(sizes(1100, 4000), gaps(1100, 33), 1, 31);
	ASSERT_TRUE(src && dst);

	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineRead, *src, 0, *dst, 0,
				 kInf));
	dst->Refill(32);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineRead, *src, 777, *dst, 0,
				 kInf));
	dst->Refill(33);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineWrite, *src, 0, *dst,
				 12345, kInf));
	dst->Refill(34);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kCopy, *src, 1000, *dst, 3,
				 kInf));
	dst->Refill(35);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kCopyBounded, *src, 1, *dst,
				 4097, 1000001));
	dst->Refill(36);
	EXPECT_TRUE(CopyAndCheck(fd.get(), Way::kInlineReadBounded, *src, 5, *dst,
				 0, 999999, KNEM_FLAG_PINLOCAL));
}

TEST(Copy, BetweenProcesses)
{
	// Two processes with their own fds exchange cookies through a pipe
	// and copy from and into each other's regions.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 5 * kPage + 17;
	Channel to_parent, to_child;
	ASSERT_TRUE(to_parent.ok() && to_child.ok());
	Child child;
	ASSERT_TRUE(child.Start([&]() -> std::string {
		Fd own = OpenKnem(O_RDWR);
		if (!own.valid()) {
			to_parent.Send(0);
			return "child cannot open /dev/knem";
		}
		std::vector<uint8_t> mem = PatternBytes(len, 40);
		knem_cookie_t c = 0;
		if (CreateRegion(own.get(), mem.data(), len, kRW, 0, &c) != Ok()) {
			to_parent.Send(0);
			return "child cannot create its region";
		}
		to_parent.Send(c);
		uint64_t parent_cookie = 0;
		if (!to_child.Recv(&parent_cookie))
			return "no cookie from the parent";
		// Read the parent's region with our own fd.
		std::vector<uint8_t> got(len);
		uint32_t status = 0;
		Err e = InlineCopy(own.get(), {Iov(got.data(), len)}, false,
				   parent_cookie, 0, 0, &status);
		std::string msg;
		if (e != Ok() || status != KNEM_STATUS_SUCCESS)
			msg += Expect("child reads parent region", e, Ok());
		else if (got != PatternBytes(len, 41))
			msg += "child read wrong data from the parent; ";
		to_parent.Send(1);
		uint64_t done = 0;
		if (!to_child.Recv(&done))
			return msg + "parent never finished";
		// The parent wrote the second half of our buffer.
		std::vector<uint8_t> want = PatternBytes(len, 40);
		std::vector<uint8_t> second = PatternBytes(len - len / 2, 42);
		std::copy(second.begin(), second.end(), want.begin() + len / 2);
		if (mem != want)
			msg += "the parent's write did not land in our memory; ";
		return msg;
	}));
	uint64_t child_cookie = 0;
	ASSERT_TRUE(to_parent.Recv(&child_cookie)) << child.Wait();
	ASSERT_NE(0u, child_cookie) << child.Wait();

	std::vector<uint8_t> mine = PatternBytes(len, 41);
	knem_cookie_t my_cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), mine.data(), len, KNEM_PROT_READ,
				     0, &my_cookie));
	to_child.Send(my_cookie);

	// Read the first half of the child's region, and write its second
	// half (remote offset len/2).
	std::vector<uint8_t> got(len / 2);
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(got.data(), got.size())},
				      false, child_cookie, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(got.data(), PatternBytes(len / 2, 40).data(),
			      got.size()));
	std::vector<uint8_t> second = PatternBytes(len - len / 2, 42);
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(),
				      {Iov(second.data(), second.size())}, true,
				      child_cookie, len / 2, 0, &status),
			   status));
	// Region to region across processes: child's first 100 bytes into a
	// region of ours.
	std::vector<uint8_t> sink(200, 0);
	knem_cookie_t sink_cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), sink.data(), sink.size(),
				     KNEM_PROT_WRITE, 0, &sink_cookie));
	status = 0;
	EXPECT_TRUE(SyncOk(CopyBounded(fd.get(), child_cookie, 0, sink_cookie, 50,
				       100, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(sink.data() + 50, PatternBytes(100, 40).data(),
			      100));

	uint64_t child_read = 0;
	EXPECT_TRUE(to_parent.Recv(&child_read));
	to_child.Send(1);
	EXPECT_EQ("", child.Wait());
}

TEST(Copy, SharedMemorySeenByBothProcesses)
{
	// A region over MAP_SHARED memory: data written through the region
	// is what the other process sharing the mapping sees.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 3 * kPage;
	KNEM_MAP_OR_FAIL(shared, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), shared.data() + 1, len - 2, kRW,
				     0, &c));
	std::vector<uint8_t> data = PatternBytes(len - 2, 50);
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(data.data(), data.size())},
				      true, c, 0, 0, &status),
			   status));
	std::string verdict = RunInChild([&]() -> std::string {
		if (memcmp(shared.data() + 1, data.data(), data.size()) != 0)
			return "child does not see the data written through "
			       "the region";
		FillPattern(shared.data(), len, 51);
		return "";
	});
	EXPECT_EQ("", verdict);
	std::vector<uint8_t> got(len - 2);
	status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(got.data(), got.size())},
				      false, c, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(got.data(), PatternBytes(len, 51).data() + 1,
			      got.size(), "region after the child's writes"));
}

// Buffers in 4 KiB pages are copied through one kernel mapping of the
// region's pages (kept by a cached region, made for the copy of a
// single-use one, knem_copy_map.c): every offset of both ends against a
// page, the owner's writes seen through the kept mapping, both directions,
// region to region, and single-use regions large enough to be mapped.
TEST(Copy, SmallPagesThroughContiguousMappings)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 100 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	KNEM_MAP_OR_FAIL(other, len);
	// EINVAL: a kernel without transparent huge pages (6.12 PREEMPT_RT)
	for (const Mapping *m : {&buf, &other})
		ASSERT_TRUE(::madvise(m->data(), len, MADV_NOHUGEPAGE) == 0 ||
			    errno == EINVAL)
			<< strerror(errno);
	FillPattern(buf.data(), len, 70);
	knem_cookie_t c = 0, o = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 3, len - 5, kRW, 0,
				     &c));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), other.data(), len, kRW, 0, &o));
	std::vector<uint8_t> local(len);
	uint32_t status = 0;
	for (uint64_t off : std::vector<uint64_t>{0, 1, kPage - 3, kPage,
						  17 * kPage + 5, len - 5 - 1}) {
		SCOPED_TRACE(off);
		const size_t n = len - 5 - off;
		FillPattern(buf.data(), len, 71 + off);
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), n)},
					      false, c, off, 0, &status),
				   status));
		EXPECT_TRUE(SameBytes(local.data(), buf.data() + 3 + off, n,
				      "read through the kept mapping"));
		FillPattern(local.data(), n, 81 + off);
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), n)},
					      true, c, off, 0, &status),
				   status));
		EXPECT_TRUE(SameBytes(buf.data() + 3 + off, local.data(), n,
				      "written through the kept mapping"));
		ASSERT_TRUE(SyncOk(Copy(fd.get(), c, off, o, 11, 0, &status),
				   status));
		EXPECT_TRUE(SameBytes(other.data() + 11, buf.data() + 3 + off,
				      std::min(n, len - 11), "region to region"));
	}
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), c));
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), o));

	// single-use, 17 to 100 pages, each end anywhere in its page
	for (size_t n : std::vector<size_t>{16 * kPage + 1, 40 * kPage - 9,
					    len - 4096 - 7}) {
		SCOPED_TRACE(n);
		FillPattern(buf.data(), len, n);
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 7, n,
					     KNEM_PROT_READ,
					     KNEM_FLAG_SINGLEUSE, &c));
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), n)},
					      false, c, 0, 0, &status),
				   status));
		EXPECT_TRUE(SameBytes(local.data(), buf.data() + 7, n,
				      "single-use read"));
		FillPattern(local.data(), n, n + 1);
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 4095, n,
					     KNEM_PROT_WRITE,
					     KNEM_FLAG_SINGLEUSE, &c));
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), n)},
					      true, c, 0, 0, &status),
				   status));
		EXPECT_TRUE(SameBytes(buf.data() + 4095, local.data(), n,
				      "single-use write"));
	}
}

} // namespace
