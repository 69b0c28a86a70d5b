// SPDX-License-Identifier: BSD-3-Clause
//
// The asynchronous API of libknem (knem::StatusArray, knem::AsyncCopy,
// knem::NotifyQueue, Device::submit_*) against the real driver.
#include "async_helpers.h"

#include <system_error>

#include "knem.hpp"

using namespace knemtest;
using namespace knemasync;

namespace {

using knem::CopyFlags;
using knem::Protection;
using knem::Status;

// The errno of a std::system_error thrown by fn, 0 when nothing is thrown.
template <typename Fn>
int ErrnoOf(Fn &&fn)
{
	try {
		fn();
	} catch (const std::system_error &e) {
		return e.code().value();
	}
	return 0;
}

TEST(LibknemAsync, SubmitReadWriteCopyAndWait)
{
	knem::Device dev;
	knem::StatusArray slots(dev);
	EXPECT_EQ(4096u, slots.size());
	EXPECT_EQ(4096u, slots.available());
	std::vector<uint8_t> remote = PatternBytes(5 * kPage + 7, 1);
	std::vector<uint8_t> local(remote.size()), other(remote.size());
	knem::Region rr(dev, remote.data(), remote.size(), Protection::ReadWrite);
	knem::Region ro(dev, other.data(), other.size(), Protection::ReadWrite);

	knem::AsyncCopy r = dev.submit_read(slots, rr.cookie(), 0, local.data(),
					    local.size());
	EXPECT_TRUE(r.valid());
	EXPECT_EQ(4095u, slots.available());
	r.wait();
	EXPECT_TRUE(r.done());
	EXPECT_EQ(Status::Success, r.status());
	EXPECT_TRUE(SameBytes(local.data(), remote.data(), remote.size()));

	FillPattern(local.data(), local.size(), 2);
	knem::AsyncCopy w = dev.submit_write(slots, rr.cookie(), 0, local.data(),
					     local.size());
	EXPECT_NE(r.slot(), w.slot()) << "two live handles share a slot";
	w.wait();
	EXPECT_TRUE(SameBytes(remote.data(), local.data(), remote.size()));

	knem::AsyncCopy c = dev.submit_copy(slots, rr.cookie(), 3, ro.cookie(), 0,
					    std::nullopt);
	knem::AsyncCopy cb = dev.submit_copy(slots, rr.cookie(), 0, ro.cookie(), 0,
					     std::uint64_t(100));
	cb.wait();
	EXPECT_TRUE(c.done()) << "completion in submission order";
	EXPECT_TRUE(SameBytes(other.data(), remote.data(), 100));
	EXPECT_TRUE(SameBytes(other.data() + 100, remote.data() + 103,
			      remote.size() - 103));

	// Vectorial and bounded forms.
	std::vector<uint8_t> a(1000), b(3000);
	const knem::Segment segs[] = {{a.data(), a.size()}, {b.data(), b.size()}};
	knem::AsyncCopy v = dev.submit_read_bounded(slots, rr.cookie(), 10, segs,
						    3500);
	v.wait();
	EXPECT_TRUE(SameBytes(a.data(), remote.data() + 10, 1000));
	EXPECT_TRUE(SameBytes(b.data(), remote.data() + 1010, 2500));
	EXPECT_EQ(0, b[2500]);
	knem::AsyncCopy vw = dev.submit_write_bounded(slots, ro.cookie(), 0, segs,
						      1500);
	knem::AsyncCopy vw2 = dev.submit_write(slots, ro.cookie(), 5000, segs);
	vw.wait();
	vw2.wait();
	EXPECT_TRUE(SameBytes(other.data(), a.data(), 1000));
	EXPECT_TRUE(SameBytes(other.data() + 1000, b.data(), 500));
	EXPECT_TRUE(SameBytes(other.data() + 5000, a.data(), 1000));
	knem::AsyncCopy vr = dev.submit_read(slots, rr.cookie(), 0, segs);
	vr.wait();
	EXPECT_TRUE(SameBytes(a.data(), remote.data(), 1000));
	EXPECT_EQ(4096u - 8, slots.available());
}

TEST(LibknemAsync, InlineAndSynchronousFlagsCompleteOnReturn)
{
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	std::vector<uint8_t> remote = PatternBytes(3 * kPage, 3), local(3 * kPage);
	knem::Region rr(dev, remote.data(), remote.size(), Protection::ReadWrite);
	for (CopyFlags flags : {CopyFlags::None, CopyFlags::PinLocal,
				CopyFlags::AsyncDmaComplete, CopyFlags::DmaThread,
				CopyFlags::DmaThread | CopyFlags::NotifyFd}) {
		SCOPED_TRACE("flags " + FlagsName(bits(flags)));
		std::fill(local.begin(), local.end(), 0);
		knem::AsyncCopy h = dev.submit_read(slots, rr.cookie(), 0,
						    local.data(), local.size(), flags);
		EXPECT_TRUE(h.done());
		EXPECT_EQ(Status::Success, h.status());
		EXPECT_TRUE(SameBytes(local.data(), remote.data(), local.size()));
	}
	knem::NotifyQueue queue(slots);
	EXPECT_EQ(1u, queue.try_pop().size());
}

TEST(LibknemAsync, SlotsAreRecycled)
{
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	std::vector<uint8_t> src = PatternBytes(64, 4), dst(64);
	knem::Region rs(dev, src.data(), src.size(), Protection::Read);
	knem::Region rd(dev, dst.data(), dst.size(), Protection::Write);
	for (int i = 0; i < 6000; i++) {
		knem::AsyncCopy h = dev.submit_copy(slots, rs.cookie(), 0,
						    rd.cookie(), 0);
		if (i % 2)
			h.wait();
		// else: the destructor waits.
	}
	EXPECT_EQ(4096u, slots.available());
	EXPECT_TRUE(SameBytes(dst.data(), src.data(), 64));
}

TEST(LibknemAsync, AllSlotsInUseIsEbusy)
{
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	std::vector<uint8_t> src = PatternBytes(64, 5), dst(64);
	knem::Region rs(dev, src.data(), src.size(), Protection::Read);
	knem::Region rd(dev, dst.data(), dst.size(), Protection::Write);
	std::vector<knem::AsyncCopy> held;
	std::set<uint32_t> used;
	for (int i = 0; i < 4096; i++) {
		held.push_back(dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0));
		EXPECT_TRUE(used.insert(held.back().slot()).second);
	}
	EXPECT_EQ(0u, slots.available());
	EXPECT_EQ(EBUSY, ErrnoOf([&] {
			  dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0);
		  }));
	uint32_t freed = held[100].slot();
	held.erase(held.begin() + 100);
	knem::AsyncCopy again = dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0);
	EXPECT_EQ(freed, again.slot());
	held.clear();
	again.wait();
	EXPECT_EQ(4095u, slots.available());
}

TEST(LibknemAsync, ErrorsAreThrownWithTheirErrnoAndFreeTheSlot)
{
	knem::Device dev;
	// Before a StatusArray: the raw asynchronous flags are EINVAL.
	std::vector<uint8_t> buf(64);
	knem::Region r(dev, buf.data(), buf.size(), Protection::ReadWrite);
	EXPECT_EQ(EINVAL, ErrnoOf([&] {
			  dev.read(r.cookie(), 0, buf.data(), 10, CopyFlags::MemcpyThread);
		  }));
	knem::StatusArray slots(dev, 1);
	// A file maps its array once.
	EXPECT_EQ(EBUSY, ErrnoOf([&] { knem::StatusArray second(dev); }));
	EXPECT_EQ(EINVAL, ErrnoOf([&] { knem::StatusArray none(dev, 0); }));
	// Unknown cookie, forbidden access, bad flags.
	EXPECT_EQ(EINVAL, ErrnoOf([&] {
			  dev.submit_read(slots, r.cookie() ^ 0x100000000ull, 0,
					  buf.data(), 10);
		  }));
	knem::Region ro(dev, buf.data(), buf.size(), Protection::Read);
	EXPECT_EQ(EACCES, ErrnoOf([&] {
			  dev.submit_write(slots, ro.cookie(), 0, buf.data(), 10);
		  }));
	EXPECT_EQ(EINVAL, ErrnoOf([&] {
			  dev.submit_read(slots, r.cookie(), 0, buf.data(), 10,
					  CopyFlags::NotifyFd);
		  }));
	EXPECT_EQ(EFAULT, ErrnoOf([&] {
			  dev.submit_read(slots, r.cookie(), 0, UnmappedAddress(), 10);
		  }));
	if (!dev.has_dma()) {
		EXPECT_EQ(EINVAL, ErrnoOf([&] {
				  dev.submit_read(slots, r.cookie(), 0, buf.data(), 10,
						  CopyFlags::Dma | CopyFlags::DmaThread);
			  }));
	}
	EXPECT_EQ(4096u, slots.available()) << "a refused request kept its slot";
	// A status array of another device.
	knem::Device other;
	knem::StatusArray other_slots(other);
	EXPECT_EQ(EINVAL, ErrnoOf([&] {
			  dev.submit_read(other_slots, r.cookie(), 0, buf.data(), 10);
		  }));
	// An empty (moved-from) array.
	knem::StatusArray taken(std::move(other_slots));
	EXPECT_EQ(EINVAL, ErrnoOf([&] {
			  other.submit_read(other_slots, r.cookie(), 0, buf.data(), 10);
		  }));
	EXPECT_EQ(0u, other_slots.size());
}

TEST(LibknemAsync, FailedCopyThrowsEioFromWait)
{
	// A synchronous read into memory that cannot be written reports
	// FAILED through current_status (copy_to_user path).
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	std::vector<uint8_t> buf = PatternBytes(3 * kPage, 6);
	knem::Region r(dev, buf.data(), buf.size(), Protection::ReadWrite);
	KNEM_MAP_OR_FAIL(ro, kPage, PROT_READ);
	knem::AsyncCopy h = dev.submit_read(slots, r.cookie(), 0, ro.data(), 100,
					    CopyFlags::None);
	EXPECT_TRUE(h.done());
	EXPECT_EQ(Status::Failed, h.status());
	EXPECT_EQ(EIO, ErrnoOf([&] { h.wait(); }));
	EXPECT_EQ(EIO, ErrnoOf([&] { h.wait_for(std::chrono::seconds(1)); }));
}

TEST(LibknemAsync, DestructorWaitsForThePendingCopy)
{
	constexpr size_t kLen = 32 << 20;
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	Mapping src(kLen), dst(kLen);
	ASSERT_TRUE(src.ok() && dst.ok());
	memset(src.data(), 0x3c, kLen);
	knem::Region rs(dev, src.data(), kLen, Protection::Read);
	knem::Region rd(dev, dst.data(), kLen, Protection::Write);
	uint32_t slot;
	{
		knem::AsyncCopy h = dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0);
		slot = h.slot();
	}
	EXPECT_EQ(Status::Success, slots.slot(slot));
	EXPECT_EQ(0x3c, dst.data()[kLen - 1]);
	EXPECT_EQ(4096u, slots.available());
	// Move-assigning over a pending handle waits for it too.
	knem::AsyncCopy a = dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0);
	uint32_t first = a.slot();
	a = dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0, std::uint64_t(10));
	EXPECT_EQ(Status::Success, slots.slot(first));
	a.wait();
}

TEST(LibknemAsync, ArraysAndHandlesOutliveTheDevice)
{
	std::vector<uint8_t> src = PatternBytes(2 * kPage, 7), dst(2 * kPage);
	std::unique_ptr<knem::StatusArray> slots;
	knem::AsyncCopy h;
	{
		knem::Device dev;
		slots.reset(new knem::StatusArray(dev));
		knem::Region rs(dev, src.data(), src.size(), Protection::Read);
		knem::Region rd(dev, dst.data(), dst.size(), Protection::Write);
		h = dev.submit_copy(*slots, rs.cookie(), 0, rd.cookie(), 0);
		// The regions are destroyed here, the device closed: the
		// copy in flight holds what it needs.
	}
	h.wait();
	EXPECT_TRUE(SameBytes(dst.data(), src.data(), dst.size()));
	EXPECT_EQ(Status::Success, slots->slot(h.slot()));
}

TEST(LibknemAsync, NotifyQueueReturnsSlotsInSubmissionOrder)
{
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	knem::NotifyQueue queue(slots);
	std::vector<uint8_t> src = PatternBytes(kPage, 8), dst(kPage);
	knem::Region rs(dev, src.data(), src.size(), Protection::Read);
	knem::Region rd(dev, dst.data(), dst.size(), Protection::Write);
	EXPECT_TRUE(queue.try_pop().empty());
	EXPECT_FALSE(queue.wait(std::chrono::milliseconds(20)));
	EXPECT_TRUE(queue.pop(8, std::chrono::milliseconds(20)).empty());
	std::vector<knem::AsyncCopy> handles;
	std::vector<uint32_t> want;
	for (int i = 0; i < 500; i++) {
		handles.push_back(dev.submit_copy(
			slots, rs.cookie(), i, rd.cookie(), i, std::nullopt,
			CopyFlags::MemcpyThread | CopyFlags::NotifyFd));
		want.push_back(handles.back().slot());
	}
	EXPECT_TRUE(queue.wait(std::chrono::seconds(30)));
	EXPECT_EQ(POLLIN, PollFd(queue.fd(), POLLIN, 0));
	std::vector<uint32_t> got = queue.pop(3);
	EXPECT_GE(got.size(), 1u);
	EXPECT_LE(got.size(), 3u);
	std::vector<uint32_t> rest = queue.pop_exactly(500 - got.size());
	got.insert(got.end(), rest.begin(), rest.end());
	EXPECT_EQ(want, got);
	for (const knem::AsyncCopy &h : handles) {
		EXPECT_TRUE(h.done());
	}
	EXPECT_TRUE(queue.try_pop().empty());
}

TEST(LibknemAsync, FullNotifyQueueIsEbusy)
{
	// Unread events count against the queue even when their slots are
	// free again.
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	knem::NotifyQueue queue(slots);
	std::vector<uint8_t> src = PatternBytes(64, 9), dst(64);
	knem::Region rs(dev, src.data(), src.size(), Protection::Read);
	knem::Region rd(dev, dst.data(), dst.size(), Protection::Write);
	const CopyFlags flags = CopyFlags::MemcpyThread | CopyFlags::NotifyFd;
	for (int i = 0; i < 4096; i++)
		dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0, std::nullopt,
				flags)
			.wait();
	EXPECT_EQ(4096u, slots.available());
	EXPECT_EQ(EBUSY, ErrnoOf([&] {
			  dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0,
					  std::nullopt, flags);
		  }));
	EXPECT_EQ(4096u, slots.available());
	EXPECT_EQ(1u, queue.pop(1).size());
	dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0, std::nullopt, flags)
		.wait();
	EXPECT_EQ(4096u, queue.pop_exactly(4096).size());
}

TEST(LibknemAsync, ThreadsShareOneStatusArray)
{
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	constexpr int kThreads = 4;
	constexpr int kEach = 1500;
	std::vector<std::vector<uint8_t>> src(kThreads), dst(kThreads);
	std::vector<std::unique_ptr<knem::Region>> rs, rd;
	for (int t = 0; t < kThreads; t++) {
		src[t] = PatternBytes(3000, 100 + t);
		dst[t].assign(3000, 0);
		rs.emplace_back(new knem::Region(dev, src[t].data(), 3000,
						 Protection::Read));
		rd.emplace_back(new knem::Region(dev, dst[t].data(), 3000,
						 Protection::Write));
	}
	std::atomic<int> failures{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++) {
		threads.emplace_back([&, t] {
			try {
				std::vector<knem::AsyncCopy> window;
				for (int i = 0; i < kEach; i++) {
					window.push_back(dev.submit_copy(
						slots, rs[t]->cookie(), i % 7,
						rd[t]->cookie(), i % 7, std::nullopt,
						i % 3 ? CopyFlags::MemcpyThread
						      : CopyFlags::AsyncDmaComplete));
					if (window.size() == 50) {
						for (auto &h : window)
							h.wait();
						window.clear();
					}
				}
			} catch (...) {
				failures++;
			}
		});
	}
	for (auto &th : threads)
		th.join();
	EXPECT_EQ(0, failures.load());
	EXPECT_EQ(4096u, slots.available());
	for (int t = 0; t < kThreads; t++) {
		EXPECT_TRUE(SameBytes(dst[t].data(), src[t].data(), 3000));
	}
}

// With a DMA engine: offloaded to it; without: EINVAL.
TEST(DmaLibknemAsync, DmaOffload)
{
	knem::Device dev;
	knem::StatusArray slots(dev, 1);
	constexpr size_t kLen = 16 * kPage + 5;
	std::vector<uint8_t> src = PatternBytes(kLen, 10), dst(kLen);
	knem::Region rs(dev, src.data(), kLen, Protection::Read);
	knem::Region rd(dev, dst.data(), kLen, Protection::Write);
	const CopyFlags dma = CopyFlags::Dma | CopyFlags::DmaThread;
	if (!dev.has_dma()) {
		EXPECT_EQ(EINVAL, ErrnoOf([&] {
				  dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(), 0,
						  std::nullopt, dma);
			  }));
		return;
	}
	unsigned long long copies = DmaCounter("copies");
	for (CopyFlags flags : {dma, CopyFlags::Dma | CopyFlags::AsyncDmaComplete,
				dma | CopyFlags::NotifyFd, CopyFlags::Dma}) {
		std::fill(dst.begin(), dst.end(), 0);
		knem::AsyncCopy h = dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(),
						    0, std::nullopt, flags);
		h.wait();
		EXPECT_TRUE(SameBytes(dst.data(), src.data(), kLen));
	}
	EXPECT_LT(copies, DmaCounter("copies"));
	knem::NotifyQueue queue(slots);
	EXPECT_EQ(1u, queue.pop_exactly(1).size());
	{
		ParamGuard fail(DmaParamPath("fail_every"), "1");
		ASSERT_TRUE(fail.ok());
		knem::AsyncCopy h = dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(),
						    0, std::nullopt, dma);
		EXPECT_EQ(EIO, ErrnoOf([&] { h.wait(); }));
		EXPECT_EQ(Status::Failed, h.status());
		knem::AsyncCopy s = dev.submit_copy(slots, rs.cookie(), 0, rd.cookie(),
						    0, std::nullopt, CopyFlags::Dma);
		EXPECT_EQ(EIO, ErrnoOf([&] { s.wait(); }));
	}
}

} // namespace
