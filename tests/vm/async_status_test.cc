// SPDX-License-Identifier: BSD-3-Clause
//
// current_status and status slots of asynchronous requests, for every flag
// combination of the classic knem_status_test on every copy command
// (knem-abi.md §2 "current_status / status-slot semantics", §3, §7, §9):
//
//  - synchronous: current_status is the result, the slot is not touched;
//  - offloaded (MEMCPYTHREAD, or DMA with DMATHREAD or ASYNCDMACOMPLETE):
//    current_status PENDING, the slot PENDING then the result;
//  - asynchronous but run inline (ASYNCDMACOMPLETE or DMATHREAD without
//    DMA, DMA without a thread flag): current_status and the slot hold
//    the result when the ioctl returns;
//  - asynchronous copies are published in submission order.
//
// Suite AsyncStatus runs the combinations without KNEM_FLAG_DMA; suite
// DmaStatus those with it: with a DMA engine (tests/dma-provider) they must
// work, without one they must fail with EINVAL.
#include "async_helpers.h"

#include <random>

using namespace knemtest;
using namespace knemasync;

namespace {

enum class Cmd {
	kInlineRead,
	kInlineWrite,
	kInlineReadBounded,
	kInlineWriteBounded,
	kCopy,
	kCopyBounded,
	kInitAsyncRecv,
	kSyncRecv,
};

const char *CmdName(Cmd c)
{
	switch (c) {
	case Cmd::kInlineRead:
		return "INLINE_COPY(read)";
	case Cmd::kInlineWrite:
		return "INLINE_COPY(write)";
	case Cmd::kInlineReadBounded:
		return "INLINE_COPY_BOUNDED(read)";
	case Cmd::kInlineWriteBounded:
		return "INLINE_COPY_BOUNDED(write)";
	case Cmd::kCopy:
		return "COPY";
	case Cmd::kCopyBounded:
		return "COPY_BOUNDED";
	case Cmd::kInitAsyncRecv:
		return "INIT_ASYNC_RECV";
	case Cmd::kSyncRecv:
		return "SYNC_RECV";
	}
	return "?";
}

constexpr uint32_t kDma = KNEM_FLAG_DMA;
constexpr uint32_t kAsyncDma = KNEM_FLAG_ASYNCDMACOMPLETE;
constexpr uint32_t kDmaThread = KNEM_FLAG_DMATHREAD;
constexpr uint32_t kMemcpyThread = KNEM_FLAG_MEMCPYTHREAD;
constexpr uint32_t kPinLocal = KNEM_FLAG_PINLOCAL;
constexpr uint32_t kNotify = KNEM_FLAG_NOTIFY_FD;
constexpr uint32_t kAnyAsync = kAsyncDma | kDmaThread | kMemcpyThread;
constexpr uint32_t kAnyThread = kDmaThread | kMemcpyThread;

// The combinations of knem_status_test and the notify-fd ones, without DMA.
const std::vector<uint32_t> kPlainFlags = {
	0,
	kPinLocal,
	kMemcpyThread,
	kMemcpyThread | kPinLocal,
	kAsyncDma,
	kDmaThread,
	kDmaThread | kMemcpyThread,
	kAsyncDma | kMemcpyThread,
	kAsyncDma | kDmaThread,
	kMemcpyThread | kNotify,
	kDmaThread | kNotify,
	kDmaThread | kMemcpyThread | kNotify,
	// refused
	kNotify,
	kAsyncDma | kNotify,
	kAsyncDma | kMemcpyThread | kNotify,
};

const std::vector<uint32_t> kDmaFlags = {
	kDma,
	kDma | kPinLocal,
	kDma | kAsyncDma,
	kDma | kDmaThread,
	kDma | kDmaThread | kAsyncDma,
	kDma | kMemcpyThread,
	kDma | kMemcpyThread | kDmaThread,
	kDma | kDmaThread | kNotify,
	kDma | kMemcpyThread | kNotify,
	kDma | kAsyncDma | kMemcpyThread,
	// refused whatever the engine
	kDma | kAsyncDma | kNotify,
	kDma | kNotify,
};

// What the driver must do with `flags` on `cmd`.
struct Expected {
	Err err = Ok();
	bool async = false;	// the slot is written
	bool offloaded = false; // current_status PENDING
	bool notify = false;	// one event
	bool dma = false;	// "processed (using DMA)"
};

Expected Expect(Cmd cmd, uint32_t flags, bool have_dma, uint64_t length)
{
	Expected e;
	if (cmd == Cmd::kSyncRecv) {
		if (flags & kNotify) {
			e.err = Err{EINVAL};
			return e;
		}
		flags &= ~kAnyAsync;
	}
	if ((flags & kNotify) &&
	    (!(flags & kAnyThread) || (flags & kAsyncDma))) {
		e.err = Err{EINVAL};
		return e;
	}
	if ((flags & kDma) && !have_dma) {
		e.err = Err{EINVAL};
		return e;
	}
	e.async = (flags & kAnyAsync) || cmd == Cmd::kInitAsyncRecv;
	if (flags & kDma)
		e.offloaded = flags & (kDmaThread | kAsyncDma);
	else
		e.offloaded = flags & kMemcpyThread;
	e.offloaded = e.offloaded && e.async && length;
	e.notify = (flags & kNotify) && length;
	e.dma = flags & kDma;
	return e;
}

// The memory and regions of one matrix run.
class Bench {
public:
	static constexpr size_t kLen = 3 * kPage + 517;
	static constexpr size_t kSlotsLen = 64; // 4096 slots

	void SetUp()
	{
		fd_ = OpenKnem();
		ASSERT_TRUE(fd_.valid()) << "open: " << strerror(errno);
		ASSERT_EQ(Ok(), slots_.Map(fd_.get(), kSlotsLen));
		remote_.reset(new Mapping(4 * kPage));
		local_.reset(new Mapping(4 * kPage));
		other_.reset(new Mapping(4 * kPage));
		ASSERT_TRUE(remote_->ok() && local_->ok() && other_->ok());
		ASSERT_EQ(Ok(), CreateRegion(fd_.get(), remote_->data(), kLen, kRW,
					     0, &remote_cookie_));
		ASSERT_EQ(Ok(), CreateRegion(fd_.get(), other_->data(), kLen, kRW, 0,
					     &other_cookie_));
	}

	// Runs `flags` on `cmd` once and checks everything observable.
	void Run(Cmd cmd, uint32_t flags, uint32_t slot, uint64_t seed)
	{
		SCOPED_TRACE(std::string(CmdName(cmd)) + " flags " +
			     FlagsName(flags) + " slot " + std::to_string(slot));
		const bool have_dma = HasDma(fd_.get());
		// Source, destination and the bytes that must land.
		uint8_t *src = nullptr, *dst = nullptr;
		uint64_t src_off = 0, dst_off = 0, length = kLen;
		switch (cmd) {
		case Cmd::kInlineRead:
		case Cmd::kInitAsyncRecv:
		case Cmd::kSyncRecv:
			src = remote_->data(), dst = local_->data();
			break;
		case Cmd::kInlineWrite:
			src = local_->data(), dst = remote_->data();
			break;
		case Cmd::kInlineReadBounded:
			src = remote_->data(), dst = local_->data();
			src_off = 123, length = 2 * kPage + 1;
			break;
		case Cmd::kInlineWriteBounded:
			src = local_->data(), dst = remote_->data();
			dst_off = 4001, length = kPage + 77;
			break;
		case Cmd::kCopy:
			src = remote_->data(), dst = other_->data();
			src_off = 9, dst_off = 0, length = kLen - 9;
			break;
		case Cmd::kCopyBounded:
			src = remote_->data(), dst = other_->data();
			src_off = 77, dst_off = 5, length = 2 * kPage + 1;
			break;
		}
		FillPattern(src, 4 * kPage, seed);
		memset(dst, 0, 4 * kPage);
		std::vector<uint8_t> want(4 * kPage, 0);
		memcpy(want.data() + dst_off, src + src_off, length);

		const Expected x = Expect(cmd, flags, have_dma, length);
		Counters before = ReadCounters();
		ASSERT_TRUE(before.ok) << before.error;
		unsigned long long dma_copies = DmaCounter("copies");

		slots_.Store(slot, kSlotSentinel);
		uint32_t status = kStatusSentinel;
		Err err = Issue(cmd, flags, slot, src_off, dst_off, length,
				&status);
		const uint8_t slot_now = slots_.Load(slot);
		ASSERT_EQ(x.err, err);
		if (err != Ok()) {
			EXPECT_EQ(kStatusSentinel, status)
				<< "a failed ioctl wrote current_status back";
			EXPECT_EQ(kSlotSentinel, slot_now)
				<< "a refused request touched its slot";
			EXPECT_TRUE(NoEventQueued(fd_.get()));
			return;
		}

		// current_status, right after the ioctl.
		if (cmd != Cmd::kInitAsyncRecv) {
			uint32_t want_status = x.offloaded ? KNEM_STATUS_PENDING
							   : KNEM_STATUS_SUCCESS;
			EXPECT_EQ(want_status, status)
				<< "current_status " << StatusName(status)
				<< ", want " << StatusName(want_status);
		} else {
			EXPECT_EQ(kStatusSentinel, status);
		}
		// The slot, right after the ioctl.
		if (!x.async) {
			EXPECT_EQ(kSlotSentinel, slot_now)
				<< "a synchronous request wrote its slot ("
				<< StatusName(slot_now) << ")";
		} else if (x.offloaded) {
			EXPECT_TRUE(slot_now == KNEM_STATUS_PENDING ||
				    slot_now == KNEM_STATUS_SUCCESS)
				<< "slot " << StatusName(slot_now) << " ("
				<< int(slot_now) << ") after an offloaded submission";
		} else {
			EXPECT_EQ(KNEM_STATUS_SUCCESS, slot_now)
				<< "an inline asynchronous request must publish "
				   "its result before returning, slot is "
				<< StatusName(slot_now);
		}
		// Completion.
		if (x.async) {
			ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots_, slot))
				<< "the slot never turned SUCCESS";
		}
		if (cmd == Cmd::kSyncRecv) {
			EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status);
		}
		EXPECT_TRUE(SameBytes(dst, want.data(), want.size(), "destination"));
		if (!x.async) {
			EXPECT_EQ(kSlotSentinel, slots_.Load(slot));
		}

		// The notify fd.
		if (x.notify) {
			std::vector<uint32_t> events;
			ASSERT_TRUE(DrainEvents(fd_.get(), 1, &events));
			EXPECT_EQ(std::vector<uint32_t>{slot}, events);
		}
		EXPECT_TRUE(NoEventQueued(fd_.get()));

		// The counters.
		Counters after = ReadCounters();
		ASSERT_TRUE(after.ok) << after.error;
		EXPECT_EQ(1, after[kSubmitted] - before[kSubmitted]);
		EXPECT_EQ(1, after[kProcessed] - before[kProcessed]);
		EXPECT_EQ(x.offloaded ? 1 : 0,
			  after[kProcessedThread] - before[kProcessedThread])
			<< "processed (offloaded to thread)";
		EXPECT_EQ(x.dma ? 1 : 0, after[kProcessedDma] - before[kProcessedDma])
			<< "processed (using DMA)";
		EXPECT_EQ(0, after[kFailedDma] - before[kFailedDma]);
		EXPECT_EQ(0, after[kFailedMemcpy] - before[kFailedMemcpy]);
		if (x.dma) {
			EXPECT_LT(dma_copies, DmaCounter("copies"))
				<< "the DMA engine copied nothing";
		}
	}

	Err Issue(Cmd cmd, uint32_t flags, uint32_t slot, uint64_t src_off,
		  uint64_t dst_off, uint64_t length, uint32_t *status)
	{
		int fd = fd_.get();
		std::vector<knem_cmd_param_iovec> local = {
			Iov(local_->data(), kLen)};
		switch (cmd) {
		case Cmd::kInlineRead:
			return AsyncInline(fd, local, false, remote_cookie_, 0, flags,
					   slot, status);
		case Cmd::kInlineWrite:
			return AsyncInline(fd, local, true, remote_cookie_, 0, flags,
					   slot, status);
		case Cmd::kInlineReadBounded:
			return AsyncInlineBounded(fd, local, false, remote_cookie_,
						  src_off, length, flags, slot,
						  status);
		case Cmd::kInlineWriteBounded:
			return AsyncInlineBounded(fd, local, true, remote_cookie_,
						  dst_off, length, flags, slot,
						  status);
		case Cmd::kCopy: {
			knem_cmd_copy c;
			memset(&c, 0, sizeof(c));
			c.src_cookie = remote_cookie_;
			c.src_offset = src_off;
			c.dst_cookie = other_cookie_;
			c.dst_offset = dst_off;
			c.flags = flags;
			c.async_status_index = slot;
			c.current_status = *status;
			Err e = Ioctl(fd, KNEM_CMD_COPY, &c);
			*status = c.current_status;
			return e;
		}
		case Cmd::kCopyBounded:
			return AsyncCopyBounded(fd, remote_cookie_, src_off,
						other_cookie_, dst_off, length, flags,
						slot, status);
		case Cmd::kInitAsyncRecv:
			return InitAsyncRecvCmd(fd, local, remote_cookie_, flags, slot);
		case Cmd::kSyncRecv:
			return SyncRecvCmd(fd, local, remote_cookie_, flags, status);
		}
		return Err{-1};
	}

	static Err AsyncInline(int fd, const std::vector<knem_cmd_param_iovec> &local,
			       bool write, knem_cookie_t cookie, uint64_t offset,
			       uint32_t flags, uint32_t slot, uint32_t *status)
	{
		knem_cmd_inline_copy c;
		memset(&c, 0, sizeof(c));
		c.local_iovec_array = Addr(local.data());
		c.local_iovec_nr = static_cast<uint32_t>(local.size());
		c.write = write;
		c.remote_cookie = cookie;
		c.remote_offset = offset;
		c.flags = flags;
		c.async_status_index = slot;
		c.current_status = *status;
		Err e = Ioctl(fd, KNEM_CMD_INLINE_COPY, &c);
		*status = c.current_status;
		return e;
	}

	int fd() const { return fd_.get(); }
	StatusMap &slots() { return slots_; }
	knem_cookie_t remote_cookie() const { return remote_cookie_; }
	Mapping &local() { return *local_; }

private:
	Fd fd_;
	StatusMap slots_;
	std::unique_ptr<Mapping> remote_, local_, other_;
	knem_cookie_t remote_cookie_ = 0, other_cookie_ = 0;
};

void RunMatrix(Cmd cmd, const std::vector<uint32_t> &all_flags)
{
	Bench bench;
	bench.SetUp();
	if (::testing::Test::HasFatalFailure())
		return;
	uint32_t slot = 0;
	uint64_t seed = 100;
	for (uint32_t flags : all_flags) {
		// NOTIFY_FD without a thread flag is an INIT_ASYNC_RECV
		// special case, tested on its own.
		if (cmd == Cmd::kInitAsyncRecv && (flags & kNotify) &&
		    !(flags & (kAnyThread | kAsyncDma)))
			continue;
		// Slots across the array, first and last included.
		for (uint32_t s : {slot % 4096, 4095 - slot % 4096}) {
			bench.Run(cmd, flags, s, seed++);
			if (::testing::Test::HasFatalFailure())
				return;
		}
		slot += 37;
	}
}

TEST(AsyncStatus, InlineCopyRead) { RunMatrix(Cmd::kInlineRead, kPlainFlags); }
TEST(AsyncStatus, InlineCopyWrite) { RunMatrix(Cmd::kInlineWrite, kPlainFlags); }
TEST(AsyncStatus, InlineCopyBoundedRead)
{
	RunMatrix(Cmd::kInlineReadBounded, kPlainFlags);
}
TEST(AsyncStatus, InlineCopyBoundedWrite)
{
	RunMatrix(Cmd::kInlineWriteBounded, kPlainFlags);
}
TEST(AsyncStatus, Copy) { RunMatrix(Cmd::kCopy, kPlainFlags); }
TEST(AsyncStatus, CopyBounded) { RunMatrix(Cmd::kCopyBounded, kPlainFlags); }
TEST(AsyncStatus, InitAsyncRecv) { RunMatrix(Cmd::kInitAsyncRecv, kPlainFlags); }
TEST(AsyncStatus, SyncRecv) { RunMatrix(Cmd::kSyncRecv, kPlainFlags); }

// The DMA variants: they need a DMA engine, and fail with EINVAL without.
TEST(DmaStatus, InlineCopyRead) { RunMatrix(Cmd::kInlineRead, kDmaFlags); }
TEST(DmaStatus, InlineCopyWrite) { RunMatrix(Cmd::kInlineWrite, kDmaFlags); }
TEST(DmaStatus, InlineCopyBoundedRead)
{
	RunMatrix(Cmd::kInlineReadBounded, kDmaFlags);
}
TEST(DmaStatus, Copy) { RunMatrix(Cmd::kCopy, kDmaFlags); }
TEST(DmaStatus, CopyBounded) { RunMatrix(Cmd::kCopyBounded, kDmaFlags); }
TEST(DmaStatus, InitAsyncRecv) { RunMatrix(Cmd::kInitAsyncRecv, kDmaFlags); }
TEST(DmaStatus, SyncRecv) { RunMatrix(Cmd::kSyncRecv, kDmaFlags); }

TEST(AsyncStatus, InitAsyncRecvAcceptsNotifyFdWithoutThreadFlag)
{
	// knem-abi.md §2, old API: INIT_ASYNC_RECV rejects
	// NOTIFY_FD|ASYNCDMACOMPLETE, but NOTIFY_FD without a thread flag is
	// not rejected there (unlike the 0xd copy commands).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	std::vector<uint8_t> data = PatternBytes(2 * kPage, 41), out(2 * kPage);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), data.data(), data.size(), kRW, 0,
				     &c));
	slots.Store(11, kSlotSentinel);
	ASSERT_EQ(Ok(), InitAsyncRecvCmd(fd.get(), {Iov(out.data(), out.size())},
					 c, kNotify, 11));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 11));
	EXPECT_TRUE(SameBytes(out.data(), data.data(), out.size()));
	// If it queues an event, it is this slot's, once.
	SetNonBlocking(fd.get(), true);
	std::vector<uint32_t> events;
	Err e = ReadEvents(fd.get(), 4, &events);
	SetNonBlocking(fd.get(), false);
	if (e == Ok()) {
		EXPECT_EQ(std::vector<uint32_t>{11}, events);
	} else {
		EXPECT_EQ(Err{EAGAIN}, e);
	}
	EXPECT_EQ(Err{EINVAL},
		  InitAsyncRecvCmd(fd.get(), {Iov(out.data(), out.size())}, c,
				   kNotify | kAsyncDma, 12));
}

TEST(AsyncStatus, PinFailureOfAnAsyncRequestLeavesItsSlotPending)
{
	// knem-abi.md §2 INLINE_COPY: when the local pages of an
	// asynchronous request cannot be pinned, the ioctl fails with
	// EFAULT and the slot, already reset, stays PENDING [measured].
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	std::vector<uint8_t> data = PatternBytes(kPage, 21);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), data.data(), data.size(), kRW, 0,
				     &c));
	KNEM_MAP_OR_FAIL(ro, kPage, PROT_READ);
	const std::vector<knem_cmd_param_iovec> bad[] = {
		{Iov(UnmappedAddress(), 100)},
		{Iov(ro.data(), 100)}, // pinned for write by a read
	};
	uint32_t slot = 30;
	for (uint32_t flags : {kMemcpyThread, kMemcpyThread | kNotify, kAsyncDma,
			       kDmaThread}) {
		for (const auto &local : bad) {
			SCOPED_TRACE(FlagsName(flags) + " local " +
				     Hex(local[0].base));
			slots.Store(slot, KNEM_STATUS_SUCCESS);
			uint32_t status = kStatusSentinel;
			EXPECT_EQ(Err{EFAULT},
				  AsyncInlineBounded(fd.get(), local, false, c, 0, 100,
						     flags, slot, &status));
			EXPECT_EQ(kStatusSentinel, status);
			EXPECT_EQ(KNEM_STATUS_PENDING, slots.Load(slot))
				<< "slot " << StatusName(slots.Load(slot))
				<< " after the failed request";
			slot++;
		}
	}
	slots.Store(slot, KNEM_STATUS_SUCCESS);
	EXPECT_EQ(Err{EFAULT}, InitAsyncRecvCmd(fd.get(),
						{Iov(UnmappedAddress(), 100)}, c,
						kMemcpyThread, slot));
	EXPECT_EQ(KNEM_STATUS_PENDING, slots.Load(slot));
	// No notify event, no queue entry held.
	EXPECT_TRUE(NoEventQueued(fd.get()));
}

TEST(AsyncStatus, ZeroLengthAsyncCopiesCompleteAtOnce)
{
	// Nothing to move: SUCCESS at once in current_status and the slot,
	// nothing offloaded, no notify event (knem-abi.md §2 COPY item 7).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	std::vector<uint8_t> a = PatternBytes(1000, 1), b(1000);
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), b.size(), kRW, 0, &cb));
	Counters before = ReadCounters();
	ASSERT_TRUE(before.ok) << before.error;
	uint32_t slot = 0;
	int submitted = 0;
	for (uint32_t flags :
	     {kMemcpyThread, kMemcpyThread | kNotify, kDmaThread | kNotify,
	      kAsyncDma, kDmaThread, kMemcpyThread | kPinLocal}) {
		SCOPED_TRACE("flags " + FlagsName(flags));
		for (int variant = 0; variant < 4; variant++) {
			slots.Store(slot, kSlotSentinel);
			uint32_t status = kStatusSentinel;
			Err e;
			switch (variant) {
			case 0: // source offset past the end
				e = AsyncCopyBounded(fd.get(), ca, 1000, cb, 0, 100,
						     flags, slot, &status);
				break;
			case 1: // length bound 0
				e = AsyncCopyBounded(fd.get(), ca, 0, cb, 0, 0, flags,
						     slot, &status);
				break;
			case 2: // remote offset past the end
				e = AsyncInlineBounded(fd.get(), {Iov(b.data(), 10)},
						       false, ca, 5000, 10, flags,
						       slot, &status);
				break;
			default: // no local iovec
				e = AsyncInlineBounded(fd.get(), {}, true, ca, 0, 10,
						       flags, slot, &status);
				break;
			}
			ASSERT_EQ(Ok(), e) << "variant " << variant;
			submitted++;
			EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status)
				<< "variant " << variant;
			EXPECT_EQ(KNEM_STATUS_SUCCESS, slots.Load(slot))
				<< "variant " << variant;
			slot++;
		}
	}
	// The legacy receive with nothing to receive.
	slots.Store(slot, kSlotSentinel);
	ASSERT_EQ(Ok(), InitAsyncRecvCmd(fd.get(), {}, ca, kMemcpyThread, slot));
	submitted++;
	EXPECT_EQ(KNEM_STATUS_SUCCESS, slots.Load(slot));
	EXPECT_TRUE(NoEventQueued(fd.get()));
	Counters after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(submitted, after[kSubmitted] - before[kSubmitted]);
	EXPECT_EQ(0, after[kProcessedThread] - before[kProcessedThread]);
}

// A long offloaded copy, then short asynchronous ones: while the long one
// runs, every later one is PENDING (current_status and slot), whatever
// engine ran it, because results are published in submission order.
TEST(AsyncStatus, SlotsStayPendingBehindAnOffloadedCopy)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	std::vector<uint8_t> small = PatternBytes(5000, 3), out(5000);
	knem_cookie_t cs = 0, co = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), small.data(), small.size(), kRW,
				     0, &cs));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), out.data(), out.size(), kRW, 0,
				     &co));
	struct Short {
		const char *what;
		uint32_t flags;
		bool legacy;
	};
	const Short shorts[] = {
		{"inline ASYNCDMACOMPLETE", kAsyncDma, false},
		{"inline DMATHREAD", kDmaThread, false},
		{"inline DMATHREAD|NOTIFY_FD", kDmaThread | kNotify, false},
		{"offloaded MEMCPYTHREAD", kMemcpyThread, false},
		{"offloaded MEMCPYTHREAD|NOTIFY_FD", kMemcpyThread | kNotify, false},
		{"INIT_ASYNC_RECV", 0, true},
		{"INIT_ASYNC_RECV MEMCPYTHREAD", kMemcpyThread, true},
	};
	bool verified = false;
	for (size_t size = 4 << 20; size <= (128u << 20) && !verified; size *= 2) {
		SCOPED_TRACE("blocker of " + std::to_string(size >> 20) + " MiB");
		Mapping src(size), dst(size);
		ASSERT_TRUE(src.ok() && dst.ok());
		memset(src.data(), 0x5a, size);
		memset(dst.data(), 0, size);
		knem_cookie_t csrc = 0, cdst = 0;
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), src.data(), size,
					     KNEM_PROT_READ, 0, &csrc));
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), dst.data(), size,
					     KNEM_PROT_WRITE, 0, &cdst));
		const uint32_t blocker = 4000;
		slots.Store(blocker, kSlotSentinel);
		uint32_t status = kStatusSentinel;
		ASSERT_EQ(Ok(), AsyncCopyBounded(fd.get(), csrc, 0, cdst, 0, size,
						 kMemcpyThread, blocker, &status));
		EXPECT_EQ(uint32_t(KNEM_STATUS_PENDING), status);
		std::vector<uint32_t> statuses;
		std::vector<uint8_t> slot_values;
		std::vector<uint32_t> notified;
		for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
			uint32_t slot = static_cast<uint32_t>(100 + i);
			slots.Store(slot, kSlotSentinel);
			status = kStatusSentinel;
			if (shorts[i].legacy) {
				ASSERT_EQ(Ok(), InitAsyncRecvCmd(
							fd.get(),
							{Iov(out.data(), 100 + i)},
							cs, shorts[i].flags, slot))
					<< shorts[i].what;
			} else {
				ASSERT_EQ(Ok(), AsyncCopyBounded(fd.get(), cs, i, co,
								 i, 1000 + i,
								 shorts[i].flags,
								 slot, &status))
					<< shorts[i].what;
			}
			statuses.push_back(status);
			slot_values.push_back(slots.Load(slot));
			if (shorts[i].flags & kNotify)
				notified.push_back(slot);
		}
		// Read last: if the blocker is still running, nothing after it
		// can have been published when we looked.
		const bool still_running =
			slots.Load(blocker) == KNEM_STATUS_PENDING;
		if (still_running) {
			verified = true;
			for (size_t i = 0; i < statuses.size(); i++) {
				SCOPED_TRACE(shorts[i].what);
				if (!shorts[i].legacy) {
					EXPECT_EQ(uint32_t(KNEM_STATUS_PENDING),
						  statuses[i])
						<< "current_status "
						<< StatusName(statuses[i])
						<< " while an older copy runs";
				}
				EXPECT_EQ(KNEM_STATUS_PENDING, slot_values[i])
					<< "slot " << StatusName(slot_values[i])
					<< " while an older copy runs";
			}
		}
		EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, blocker));
		for (size_t i = 0; i < statuses.size(); i++) {
			EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 100 + i))
				<< shorts[i].what;
		}
		std::vector<uint32_t> events;
		ASSERT_TRUE(DrainEvents(fd.get(), notified.size(), &events));
		EXPECT_EQ(notified, events);
		EXPECT_EQ(0x5a, dst.data()[size - 1]);
	}
	EXPECT_TRUE(verified)
		<< "even a 128 MiB offloaded copy finished before the next "
		   "ioctls returned: cannot observe the in-order publication";
}

// Long offloaded copies mixed with short ones, offloaded or inline: the
// slots turn final in submission order (a watcher thread checks the
// published slots always form a prefix), a final current_status means
// every older slot is final, and the notify events come in submission
// order.
TEST(AsyncStatus, CompletionOrderIsSubmissionOrder)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	constexpr size_t kSrcLen = 4 << 20;
	constexpr int kCopies = 72;
	Mapping src(kSrcLen);
	ASSERT_TRUE(src.ok());
	FillPattern(src.data(), kSrcLen, 77);
	knem_cookie_t csrc = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), src.data(), kSrcLen,
				     KNEM_PROT_READ, 0, &csrc));

	std::mt19937_64 rng(2024);
	enum Kind { kLong, kShortOffloaded, kShortInlineNotify, kShortInline,
		    kShortInlineCmd };
	struct Op {
		Kind kind;
		uint32_t flags;
		uint32_t slot;
		uint64_t src_off, dst_off, len;
	};
	std::vector<uint32_t> perm(4096);
	for (uint32_t i = 0; i < 4096; i++)
		perm[i] = i;
	std::shuffle(perm.begin(), perm.end(), rng);
	std::vector<Op> ops;
	uint64_t dst_total = 0;
	for (int i = 0; i < kCopies; i++) {
		Op op;
		op.kind = i % 6 == 0 ? kLong : static_cast<Kind>(1 + rng() % 4);
		op.len = op.kind == kLong ? (1 << 20) + rng() % (1 << 20)
					  : 1 + rng() % 6000;
		op.src_off = rng() % (kSrcLen - op.len);
		op.dst_off = dst_total;
		dst_total += op.len;
		op.slot = perm[i];
		switch (op.kind) {
		case kLong:
		case kShortOffloaded:
		case kShortInlineCmd:
			op.flags = kMemcpyThread | kNotify;
			break;
		case kShortInlineNotify:
			op.flags = kDmaThread | kNotify;
			break;
		case kShortInline:
			op.flags = kAsyncDma;
			break;
		}
		ops.push_back(op);
	}
	Mapping dst((dst_total + kPage - 1) / kPage * kPage);
	ASSERT_TRUE(dst.ok());
	memset(dst.data(), 0, dst.size());
	knem_cookie_t cdst = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), dst.data(), dst_total,
				     KNEM_PROT_WRITE, 0, &cdst));
	for (const Op &op : ops)
		slots.Store(op.slot, kSlotSentinel);

	// The watcher: published slots must always be a prefix.
	std::atomic<int> submitted{0};
	std::atomic<bool> stop{false};
	std::atomic<int> violation{-1};
	std::atomic<long> scans{0};
	std::thread watcher([&] {
		while (!stop.load()) {
			int n = submitted.load(std::memory_order_acquire);
			bool later_final = false;
			for (int j = n - 1; j >= 0; j--) {
				uint8_t v = slots.Load(ops[j].slot);
				if (v == KNEM_STATUS_SUCCESS ||
				    v == KNEM_STATUS_FAILED)
					later_final = true;
				else if (later_final || v != KNEM_STATUS_PENDING) {
					int expected = -1;
					violation.compare_exchange_strong(expected, j);
				}
			}
			scans++;
		}
	});

	// The copies can all be over before a busy machine first runs the
	// watcher: let it look once before they start.
	while (scans.load() == 0)
		std::this_thread::yield();

	int inline_pending = 0;
	std::vector<uint32_t> notify_order;
	for (int i = 0; i < kCopies; i++) {
		const Op &op = ops[i];
		uint32_t status = kStatusSentinel;
		Err e;
		if (op.kind == kShortInlineCmd) {
			e = AsyncInlineBounded(
				fd.get(),
				{Iov(dst.data() + op.dst_off, op.len)}, false, csrc,
				op.src_off, op.len, op.flags, op.slot, &status);
		} else {
			e = AsyncCopyBounded(fd.get(), csrc, op.src_off, cdst,
					     op.dst_off, op.len, op.flags, op.slot,
					     &status);
		}
		if (e != Ok()) {
			stop = true;
			watcher.join();
			FAIL() << "copy " << i << ": " << e;
		}
		submitted.store(i + 1, std::memory_order_release);
		if (op.flags & kNotify)
			notify_order.push_back(op.slot);
		const bool offloaded = op.flags & kMemcpyThread;
		if (offloaded) {
			EXPECT_EQ(uint32_t(KNEM_STATUS_PENDING), status)
				<< "copy " << i;
		} else if (status == KNEM_STATUS_PENDING) {
			inline_pending++;
		} else {
			EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status)
				<< "copy " << i;
			// Final now: so is every older one.
			for (int j = 0; j < i; j++) {
				EXPECT_NE(KNEM_STATUS_PENDING, slots.Load(ops[j].slot))
					<< "copy " << i << " returned "
					<< StatusName(status) << " but older copy "
					<< j << " is still PENDING";
			}
		}
	}
	for (int i = 0; i < kCopies; i++) {
		EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, ops[i].slot))
			<< "copy " << i;
	}
	stop = true;
	watcher.join();
	EXPECT_EQ(-1, violation.load())
		<< "copy " << violation.load()
		<< " was PENDING while a later copy was already published";
	EXPECT_GT(scans.load(), 0);
	EXPECT_GT(inline_pending, 0)
		<< "no inline copy ever waited behind an offloaded one";

	std::vector<uint32_t> events;
	ASSERT_TRUE(DrainEvents(fd.get(), notify_order.size(), &events));
	EXPECT_EQ(notify_order, events) << "notify events out of order";
	EXPECT_TRUE(NoEventQueued(fd.get()));
	for (int i = 0; i < kCopies; i++) {
		const Op &op = ops[i];
		ASSERT_TRUE(SameBytes(dst.data() + op.dst_off,
				      src.data() + op.src_off, op.len))
			<< "copy " << i;
	}
}

} // namespace
