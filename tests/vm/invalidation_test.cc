// SPDX-License-Identifier: BSD-3-Clause
//
// Memory behind a region that its owner unmaps or remaps (knem-abi.md
// decision 10, openucx/ucx#5146): copies through such a region fail with
// EFAULT instead of silently using the old pages.  What does not change
// the memory - fork, mprotect, writes by the owner, unmapping something
// else - must not break the region.
#include <atomic>
#include <fstream>
#include <thread>

#include "knem_vm_test.h"

using namespace knemtest;

namespace {

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;

// Every way of using `cookie` fails with EFAULT and leaves the status alone.
void ExpectAllCopiesFault(int fd, knem_cookie_t cookie, size_t len,
			  const char *why)
{
	SCOPED_TRACE(why);
	std::vector<uint8_t> local(len, 0x3c);
	knem_cookie_t other = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd, local.data(), len, kRW, 0, &other));
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Err{EFAULT}, InlineCopy(fd, {Iov(local.data(), len)}, false,
					  cookie, 0, 0, &status))
		<< "INLINE_COPY read";
	EXPECT_EQ(Err{EFAULT}, InlineCopy(fd, {Iov(local.data(), len)}, true,
					  cookie, 0, 0, &status))
		<< "INLINE_COPY write";
	EXPECT_EQ(Err{EFAULT}, InlineCopyBounded(fd, {Iov(local.data(), len)},
						 false, cookie, 1, 10, 0, &status))
		<< "INLINE_COPY_BOUNDED read";
	EXPECT_EQ(Err{EFAULT}, Copy(fd, cookie, 0, other, 0, 0, &status))
		<< "COPY from it";
	EXPECT_EQ(Err{EFAULT}, Copy(fd, other, 0, cookie, 0, 0, &status))
		<< "COPY into it";
	EXPECT_EQ(Err{EFAULT}, CopyBounded(fd, cookie, 0, other, 0, 5, 0,
					   &status))
		<< "COPY_BOUNDED from it";
	EXPECT_EQ(kStatusSentinel, status);
	for (uint8_t byte : local)
		if (byte != 0x3c) {
			ADD_FAILURE() << "data moved through a dead region";
			break;
		}
	DestroyRegion(fd, other);
}

TEST(Invalidation, MunmapMakesCopiesFail)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_OPEN_OR_FAIL(third, O_RDWR);
	const size_t len = 3 * kPage;
	void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	FillPattern(p, len, 1);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), p, len, kRW, 0, &c));
	std::vector<uint8_t> out(len);
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, false, c,
				      0, 0, &status),
			   status));
	ASSERT_EQ(0, ::munmap(p, len));
	ExpectAllCopiesFault(fd.get(), c, len, "after munmap");
	ExpectAllCopiesFault(third.get(), c, len, "after munmap, another fd");

	// The UCX case: new memory at the same address.  The region must
	// not hand out the old pages.
	void *q = ::mmap(p, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(p, q);
	FillPattern(q, len, 2);
	ExpectAllCopiesFault(fd.get(), c, len, "after munmap + mmap at the "
					       "same address");
	// The owner can still destroy it (UCX logs an error otherwise).
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), c));
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), c));
	// A new region over the new memory works.
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), q, len, kRW, 0, &c));
	status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, false, c,
				      0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), q, len));
	::munmap(q, len);
}

TEST(Invalidation, PartialMunmapMakesCopiesFail)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 5 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	FillPattern(buf.data(), len, 3);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 100, len - 200, kRW,
				     0, &c));
	ASSERT_EQ(0, ::munmap(buf.data() + 2 * kPage, kPage));
	ExpectAllCopiesFault(fd.get(), c, len - 200, "one page unmapped");
	::munmap(buf.data(), 2 * kPage);
	::munmap(buf.data() + 3 * kPage, 2 * kPage);
	buf.forget();
}

TEST(Invalidation, MadviseDontneedMakesCopiesFail)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 4 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	FillPattern(buf.data(), len, 4);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), len, kRW, 0, &c));
	ASSERT_EQ(0, ::madvise(buf.data() + kPage, kPage, MADV_DONTNEED));
	ExpectAllCopiesFault(fd.get(), c, len, "after MADV_DONTNEED");
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), c));
}

TEST(Invalidation, MremapMoveMakesCopiesFail)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 4 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	KNEM_MAP_OR_FAIL(target, len, PROT_NONE);
	FillPattern(buf.data(), len, 5);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), len, kRW, 0, &c));
	void *moved = ::mremap(buf.data(), len, len,
			       MREMAP_MAYMOVE | MREMAP_FIXED, target.data());
	ASSERT_EQ(static_cast<void *>(target.data()), moved) << strerror(errno);
	buf.forget();
	ExpectAllCopiesFault(fd.get(), c, len, "after mremap");
	std::vector<uint8_t> want = PatternBytes(len, 5);
	EXPECT_TRUE(SameBytes(target.data(), want.data(), len,
			      "the moved memory"));
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), c));
}

TEST(Invalidation, UnrelatedUnmapKeepsTheRegion)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 6 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	KNEM_MAP_OR_FAIL(elsewhere, len);
	FillPattern(buf.data(), len, 6);
	FillPattern(elsewhere.data(), len, 7);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 10, 2 * kPage, kRW,
				     0, &c));
	// Same VMA, pages after the region; then another mapping entirely.
	ASSERT_EQ(0, ::munmap(buf.data() + 3 * kPage, 3 * kPage));
	buf.reset(buf.data(), 3 * kPage);
	ASSERT_EQ(0, ::madvise(elsewhere.data(), len, MADV_DONTNEED));
	ASSERT_EQ(0, ::munmap(elsewhere.data(), len));
	elsewhere.forget();
	std::vector<uint8_t> out(2 * kPage);
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), out.size())},
				      false, c, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), buf.data() + 10, out.size()));
}

TEST(Invalidation, OwnerWritesAreSeenByTheRegion)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 3 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	FillPattern(buf.data(), len, 8);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), len, kRW, 0, &c));
	std::vector<uint8_t> out(len);
	for (uint64_t seed : {9, 10, 11}) {
		FillPattern(buf.data(), len, seed);
		uint32_t status = 0;
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)},
					      false, c, 0, 0, &status),
				   status));
		EXPECT_TRUE(SameBytes(out.data(), buf.data(), len));
	}
}

TEST(Invalidation, ReadRegionOverUntouchedMemoryIsNeverSilentlyStale)
{
	// A PROT_READ region over memory that was only read so far (the
	// shared zero page backs it), then the owner writes it: the owner's
	// write replaces the page.  A copy must then either see the new data
	// or fail with EFAULT - never return the old zeros.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 3 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < len; i += kPage)
		sink = sink + buf.data()[i];
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), len, KNEM_PROT_READ,
				     0, &c));
	FillPattern(buf.data(), len, 40);
	std::vector<uint8_t> out(len, 0xcc);
	uint32_t status = kStatusSentinel;
	Err e = InlineCopy(fd.get(), {Iov(out.data(), len)}, false, c, 0, 0,
			   &status);
	if (e == Ok()) {
		EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status);
		EXPECT_TRUE(SameBytes(out.data(), buf.data(), len,
				      "region read after the owner's write"));
	} else {
		EXPECT_EQ(Err{EFAULT}, e);
		EXPECT_EQ(kStatusSentinel, status);
	}
}

TEST(Invalidation, MprotectReadOnlyKeepsReadCopies)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 3 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	FillPattern(buf.data(), len, 12);
	knem_cookie_t ro = 0, rw = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), len, KNEM_PROT_READ,
				     0, &ro));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 1, len - 1, kRW, 0,
				     &rw));
	ASSERT_EQ(0, ::mprotect(buf.data(), len, PROT_READ));
	std::vector<uint8_t> out(len);
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, false, ro,
				      0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), buf.data(), len));
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len - 1)}, false,
				      rw, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), buf.data() + 1, len - 1));
	// Back to writable: the owner's new data is what the region reads.
	ASSERT_EQ(0, ::mprotect(buf.data(), len, PROT_READ | PROT_WRITE));
	FillPattern(buf.data(), len, 13);
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, false, ro,
				      0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), buf.data(), len));
}

TEST(Invalidation, RegionSurvivesForkWhenTheChildExits)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 4 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	FillPattern(buf.data(), len, 14);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), len, kRW, 0, &c));
	for (bool child_writes : {false, true}) {
		EXPECT_EQ("", RunInChild([&]() -> std::string {
			if (child_writes)
				FillPattern(buf.data(), len, 99);
			return "";
		}));
		// New data written by the parent after the fork ...
		uint64_t seed = child_writes ? 16 : 15;
		FillPattern(buf.data(), len, seed);
		// ... is what the region reads,
		std::vector<uint8_t> out(len);
		uint32_t status = 0;
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)},
					      false, c, 0, 0, &status),
				   status))
			<< "child_writes " << child_writes;
		EXPECT_TRUE(SameBytes(out.data(), buf.data(), len,
				      "region read after fork"));
		// ... and what the region writes is what the parent sees.
		std::vector<uint8_t> in = PatternBytes(len, seed + 100);
		status = 0;
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(in.data(), len)},
					      true, c, 0, 0, &status),
				   status));
		EXPECT_TRUE(SameBytes(buf.data(), in.data(), len,
				      "parent memory after a region write"));
	}
}

TEST(Invalidation, RegionSurvivesForkWhileTheChildLives)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 4 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	FillPattern(buf.data(), len, 20);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 3, len - 6, kRW, 0,
				     &c));
	Channel to_parent, to_child;
	ASSERT_TRUE(to_parent.ok() && to_child.ok());
	Child child;
	ASSERT_TRUE(child.Start([&]() -> std::string {
		// The child writes its own copy of the memory.
		FillPattern(buf.data(), len, 21);
		to_parent.Send(1);
		uint64_t go;
		if (!to_child.Recv(&go))
			return "no word from the parent";
		std::vector<uint8_t> want = PatternBytes(len, 21);
		if (memcmp(buf.data(), want.data(), len) != 0)
			return "the parent's region write reached the child's "
			       "memory";
		return "";
	}));
	uint64_t ready = 0;
	ASSERT_TRUE(to_parent.Recv(&ready)) << child.Wait();
	// The parent's memory did not change with the child's writes.
	std::vector<uint8_t> orig = PatternBytes(len, 20);
	EXPECT_TRUE(SameBytes(buf.data(), orig.data(), len,
			      "parent memory after the child wrote its copy"));
	std::vector<uint8_t> out(len - 6);
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), out.size())},
				      false, c, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), orig.data() + 3, out.size(),
			      "region read while the child lives"));
	// The parent writes new data itself, then through the region.
	FillPattern(buf.data(), len, 22);
	status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), out.size())},
				      false, c, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), buf.data() + 3, out.size(),
			      "region read after the parent's own write"));
	std::vector<uint8_t> in = PatternBytes(len - 6, 23);
	status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(in.data(), in.size())}, true,
				      c, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(buf.data() + 3, in.data(), in.size(),
			      "parent memory after a region write"));
	to_child.Send(1);
	EXPECT_EQ("", child.Wait());
}

TEST(Invalidation, ForkedChildCannotUseTheParentsRegionMemory)
{
	// After fork the region still names the parent's memory: a child
	// that reads it through the inherited fd gets the parent's data,
	// not its own copy.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 2 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	FillPattern(buf.data(), len, 30);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), len, kRW, 0, &c));
	Channel to_parent, to_child;
	ASSERT_TRUE(to_parent.ok() && to_child.ok());
	Child child;
	ASSERT_TRUE(child.Start([&]() -> std::string {
		FillPattern(buf.data(), len, 31);
		to_parent.Send(1);
		uint64_t go;
		if (!to_child.Recv(&go))
			return "no word from the parent";
		std::vector<uint8_t> out(len);
		uint32_t status = 0;
		Err e = InlineCopy(fd.get(), {Iov(out.data(), len)}, false, c, 0,
				   0, &status);
		if (e != Ok() || status != KNEM_STATUS_SUCCESS)
			return Expect("child reads the region", e, Ok());
		if (out != PatternBytes(len, 32))
			return "child read something else than the parent's "
			       "current data";
		return "";
	}));
	uint64_t ready;
	ASSERT_TRUE(to_parent.Recv(&ready)) << child.Wait();
	FillPattern(buf.data(), len, 32);
	to_child.Send(1);
	EXPECT_EQ("", child.Wait());
}


// Whether the kernel has transparent huge pages at all: PREEMPT_RT
// kernels before 6.13 have none (CONFIG_TRANSPARENT_HUGEPAGE depends on
// !PREEMPT_RT there: Debian's 6.12 -rt), and the tests that split huge
// pages cannot run.  With THP, a huge page not given is a failure.
bool KernelHasThp()
{
	return ::access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

#define SKIP_WITHOUT_THP()                                                     \
	do {                                                                   \
		if (!KernelHasThp())                                           \
			GTEST_SKIP() << "the kernel has no transparent huge "  \
					"pages (CONFIG_TRANSPARENT_HUGEPAGE)"; \
	} while (0)

// A transparent huge page of `buf` (2 MiB aligned, mapped by one PMD):
// its address, or nullptr when the kernel gave none.
uint8_t *HugePageOf(const Mapping &buf, size_t huge)
{
	uintptr_t first = (reinterpret_cast<uintptr_t>(buf.data()) + huge - 1) &
			  ~(uintptr_t)(huge - 1);
	auto *page = reinterpret_cast<uint8_t *>(first);
	if (::madvise(page, huge, MADV_HUGEPAGE))
		return nullptr;
	FillPattern(page, huge, 20);
	// AnonHugePages of the mapping that holds it, from /proc/self/smaps.
	std::ifstream smaps("/proc/self/smaps");
	std::string line;
	bool inside = false;
	while (std::getline(smaps, line)) {
		unsigned long start, end;
		if (std::sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2) {
			inside = start <= first && first < end;
			continue;
		}
		unsigned long kib;
		if (inside &&
		    std::sscanf(line.c_str(), "AnonHugePages: %lu kB", &kib) == 1)
			return kib >= huge / 1024 ? page : nullptr;
	}
	return nullptr;
}

// Splitting a huge page (an mprotect, a partial MADV_DONTNEED or munmap of
// its other pages) clears its PMD and tells the MMU notifiers so over the
// whole 2 MiB, but the region's pages stay where they were: the region
// must go on working, and pages really dropped must still fault.  UCX's
// registration cache keeps such regions; a region that turned stale here
// failed MPI jobs that send from read-only buffers (knem_mpi_bw -r).
TEST(Invalidation, HugePageSplitKeepsTheRegion)
{
	SKIP_WITHOUT_THP();
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t huge = 2 << 20;
	KNEM_MAP_OR_FAIL(buf, 2 * huge);
	uint8_t *page = HugePageOf(buf, huge);
	ASSERT_NE(nullptr, page) << "no transparent huge page in the test VM";
	const size_t len = huge / 2;
	uint8_t *region = page + huge / 4;
	knem_cookie_t rw = 0, ro = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), region, len, kRW, 0, &rw));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), region + 1, len - 1,
				     KNEM_PROT_READ, 0, &ro));

	// Another page of the same huge page turns read-only: a split.
	ASSERT_EQ(0, ::mprotect(page, kPage, PROT_READ));
	FillPattern(region, len, 21);
	std::vector<uint8_t> out(len);
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, false, rw,
				      0, 0, &status),
			   status))
		<< "read after a split";
	EXPECT_TRUE(SameBytes(out.data(), region, len, "read after a split"));
	FillPattern(out.data(), len, 22);
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, true, rw,
				      0, 0, &status),
			   status))
		<< "write after a split";
	EXPECT_TRUE(SameBytes(region, out.data(), len, "write after a split"));
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len - 1)}, false,
				      ro, 0, 0, &status),
			   status))
		<< "read-only region after a split";
	EXPECT_TRUE(SameBytes(out.data(), region + 1, len - 1,
			      "read-only region after a split"));

	// Pages of the former huge page outside the regions dropped: kept.
	ASSERT_EQ(0, ::madvise(page + huge - kPage, kPage, MADV_DONTNEED));
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, false, rw,
				      0, 0, &status),
			   status))
		<< "read after another page was dropped";
	EXPECT_TRUE(SameBytes(out.data(), region, len,
			      "read after another page was dropped"));

	// One page of the regions dropped: both fault.
	ASSERT_EQ(0, ::madvise(region + len / 2, kPage, MADV_DONTNEED));
	ExpectAllCopiesFault(fd.get(), rw, len, "a page of it dropped");
	status = kStatusSentinel;
	EXPECT_EQ(Err{EFAULT}, InlineCopy(fd.get(), {Iov(out.data(), len - 1)},
					  false, ro, 0, 0, &status))
		<< "read-only region, a page of it dropped";
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), rw));
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), ro));
}

// Splits racing with copies through another descriptor: each split puts
// the region under recheck while copies look it up and run; every copy
// must succeed with the owner's bytes (none may see EFAULT, none may wait
// forever).
TEST(Invalidation, HugePageSplitsUnderCopies)
{
	SKIP_WITHOUT_THP();
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_OPEN_OR_FAIL(reader, O_RDWR);
	const size_t huge = 2 << 20, len = huge / 2;
	int splits = 0;
	for (uint64_t round = 0; round < 24; round++) {
		KNEM_MAP_OR_FAIL(buf, 2 * huge);
		uint8_t *page = HugePageOf(buf, huge);
		if (!page)
			continue;
		uint8_t *region = page + huge / 4;
		FillPattern(region, len, 30 + round);
		knem_cookie_t c = 0;
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), region, len, kRW, 0, &c));
		std::atomic<bool> stop{false};
		std::atomic<int> copies{0}, failures{0};
		std::thread copier([&] {
			std::vector<uint8_t> out(len);
			const std::vector<uint8_t> want =
				PatternBytes(len, 30 + round);
			while (!stop.load() || copies.load() < 4) {
				uint32_t status = 0;
				if (!SyncOk(InlineCopy(reader.get(),
						       {Iov(out.data(), len)}, false,
						       c, 0, 0, &status),
					    status) ||
				    out != want)
					failures++;
				copies++;
			}
		});
		while (copies.load() < 2)
			std::this_thread::yield();
		EXPECT_EQ(0, ::mprotect(page + (round % 2 ? huge - kPage : 0),
					kPage, PROT_READ));
		splits++;
		stop = true;
		copier.join();
		EXPECT_EQ(0, failures.load()) << "round " << round << ": "
					      << failures.load() << " of "
					      << copies.load()
					      << " copies failed or differed";
		EXPECT_EQ(Ok(), DestroyRegion(fd.get(), c));
	}
	EXPECT_GE(splits, 20) << "too few transparent huge pages to race with";
}

} // namespace
