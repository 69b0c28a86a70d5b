// SPDX-License-Identifier: BSD-3-Clause
//
// KNEM_FLAG_NOTIFY_FD: completions read from the context's file
// (knem-abi.md §8; the classic knem_notify_fd_test).
#include "async_helpers.h"

#include <random>

using namespace knemtest;
using namespace knemasync;

namespace {

constexpr uint32_t kThreadNotify = KNEM_FLAG_MEMCPYTHREAD | KNEM_FLAG_NOTIFY_FD;

// One fd with 4096 slots and two small regions to copy between.
class NotifyBench {
public:
	void SetUp(size_t map_len = 1)
	{
		fd_ = OpenKnem();
		ASSERT_TRUE(fd_.valid()) << strerror(errno);
		ASSERT_EQ(Ok(), slots_.Map(fd_.get(), map_len));
		src_ = PatternBytes(256, 9);
		dst_.assign(256, 0);
		ASSERT_EQ(Ok(), CreateRegion(fd_.get(), src_.data(), src_.size(),
					     KNEM_PROT_READ, 0, &src_cookie_));
		ASSERT_EQ(Ok(), CreateRegion(fd_.get(), dst_.data(), dst_.size(),
					     KNEM_PROT_WRITE, 0, &dst_cookie_));
	}
	Err Submit(uint32_t slot, uint32_t flags = kThreadNotify,
		   uint64_t length = 64, uint32_t *status_out = nullptr)
	{
		uint32_t status = kStatusSentinel;
		Err e = AsyncCopyBounded(fd_.get(), src_cookie_, slot % 128,
					 dst_cookie_, slot % 128, length, flags,
					 slot, &status);
		if (status_out)
			*status_out = status;
		return e;
	}
	int fd() const { return fd_.get(); }
	StatusMap &slots() { return slots_; }
	knem_cookie_t src_cookie() const { return src_cookie_; }

private:
	Fd fd_;
	StatusMap slots_;
	std::vector<uint8_t> src_, dst_;
	knem_cookie_t src_cookie_ = 0, dst_cookie_ = 0;
};

// Every index of [0, n) exactly once.
::testing::AssertionResult EachIndexOnce(const std::vector<uint32_t> &events,
					 uint32_t n)
{
	std::vector<int> seen(n, 0);
	for (uint32_t e : events) {
		if (e >= n)
			return ::testing::AssertionFailure()
			       << "event " << e << " is not a submitted slot";
		if (seen[e]++)
			return ::testing::AssertionFailure()
			       << "slot " << e << " came back twice";
	}
	if (events.size() != n)
		return ::testing::AssertionFailure()
		       << events.size() << " events for " << n << " copies";
	return ::testing::AssertionSuccess();
}

void NoSignal(int) {}

// Installs a SIGUSR1 handler without SA_RESTART for the scope.
class SigusrHandler {
public:
	SigusrHandler()
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = NoSignal;
		sigemptyset(&sa.sa_mask);
		::sigaction(SIGUSR1, &sa, &old_);
	}
	~SigusrHandler() { ::sigaction(SIGUSR1, &old_, nullptr); }

private:
	struct sigaction old_;
};

TEST(NotifyFd, FullQueueOf4096CompletionsExactlyOnceEach)
{
	NotifyBench b;
	b.SetUp(1); // 1 byte: 4096 slots
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	std::mt19937 rng(7);
	for (int round = 0; round < 3; round++) {
		SCOPED_TRACE("round " + std::to_string(round));
		for (uint32_t i = 0; i < 4096; i++) {
			ASSERT_EQ(Ok(), b.Submit(i)) << "copy " << i;
		}
		// pending + queued == slots: full.
		EXPECT_EQ(Err{EBUSY}, b.Submit(0));
		uint32_t status = kStatusSentinel;
		std::vector<uint8_t> local(16);
		EXPECT_EQ(Err{EBUSY},
			  AsyncInlineBounded(b.fd(), {Iov(local.data(), 16)}, false,
					     b.src_cookie(), 0, 16, kThreadNotify,
					     5, &status));
		EXPECT_EQ(kStatusSentinel, status);
		// Copies without NOTIFY_FD do not use the queue.
		ASSERT_EQ(Ok(), b.Submit(17, KNEM_FLAG_MEMCPYTHREAD));
		for (uint32_t i = 0; i < 4096; i++) {
			ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(b.slots(), i))
				<< "slot " << i;
		}
		// Still full while the events are unread.
		EXPECT_EQ(Err{EBUSY}, b.Submit(0));

		std::vector<uint32_t> events;
		if (round == 0) {
			// One blocking read of everything.
			ASSERT_EQ(Ok(), ReadEvents(b.fd(), 4096, &events));
			EXPECT_EQ(4096u, events.size());
		} else if (round == 1) {
			// poll, then non-blocking reads of various sizes.
			ASSERT_TRUE(SetNonBlocking(b.fd(), true));
			while (events.size() < 4096) {
				int rev = PollFd(b.fd(),
						 POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM,
						 10000);
				ASSERT_EQ(POLLIN | POLLRDNORM, rev);
				std::vector<uint32_t> got;
				ASSERT_EQ(Ok(), ReadEvents(b.fd(), 1 + rng() % 1000,
							   &got));
				ASSERT_FALSE(got.empty());
				events.insert(events.end(), got.begin(), got.end());
			}
			std::vector<uint32_t> more;
			EXPECT_EQ(Err{EAGAIN}, ReadEvents(b.fd(), 4, &more));
			ASSERT_TRUE(SetNonBlocking(b.fd(), false));
		} else {
			// Blocking reads of random sizes.
			while (events.size() < 4096) {
				size_t n = std::min<size_t>(1 + rng() % 700,
							    4096 - events.size());
				std::vector<uint32_t> got;
				ASSERT_EQ(Ok(), ReadEvents(b.fd(), n, &got));
				ASSERT_EQ(n, got.size());
				events.insert(events.end(), got.begin(), got.end());
			}
		}
		EXPECT_TRUE(EachIndexOnce(events, 4096));
		// Submission order is completion order.
		for (uint32_t i = 0; i < events.size(); i++)
			if (events[i] != i) {
				ADD_FAILURE() << "event " << i << " is slot "
					      << events[i];
				break;
			}
		EXPECT_TRUE(NoEventQueued(b.fd()));
		// Reading one event makes room for exactly one copy.
		if (round == 2) {
			for (uint32_t i = 0; i < 4096; i++) {
				ASSERT_EQ(Ok(), b.Submit(i));
			}
			EXPECT_EQ(Err{EBUSY}, b.Submit(0));
			ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(b.slots(), 4095));
			ASSERT_EQ(Ok(), ReadEvents(b.fd(), 1, &events));
			EXPECT_EQ(std::vector<uint32_t>{0}, events);
			EXPECT_EQ(Ok(), b.Submit(0));
			EXPECT_EQ(Err{EBUSY}, b.Submit(1));
			ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(b.slots(), 0));
			ASSERT_EQ(Ok(), ReadEvents(b.fd(), 4096, &events));
			std::vector<uint32_t> want;
			for (uint32_t i = 1; i < 4096; i++)
				want.push_back(i);
			want.push_back(0);
			EXPECT_EQ(want, events);
		}
	}
}

TEST(NotifyFd, QueueCapacityIsTheNumberOfSlots)
{
	// 2 pages mapped: 8192 slots, 8192 outstanding events.
	NotifyBench b;
	b.SetUp(4097);
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	for (uint32_t i = 0; i < 8192; i++) {
		ASSERT_EQ(Ok(), b.Submit(i)) << "copy " << i;
	}
	EXPECT_EQ(Err{EBUSY}, b.Submit(100));
	std::vector<uint32_t> events;
	ASSERT_EQ(Ok(), ReadEvents(b.fd(), 8192, &events));
	EXPECT_TRUE(EachIndexOnce(events, 8192));
}

TEST(NotifyFd, ReadAndPollBeforeMmap)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	uint32_t buf[4];
	errno = 0;
	EXPECT_EQ(-1, ::read(fd.get(), buf, sizeof(buf)));
	EXPECT_EQ(Err{EINVAL}, Err{errno});
	ASSERT_TRUE(SetNonBlocking(fd.get(), true));
	errno = 0;
	EXPECT_EQ(-1, ::read(fd.get(), buf, 4));
	EXPECT_EQ(Err{EINVAL}, Err{errno});
	int rev = PollFd(fd.get(), POLLIN, 0);
	EXPECT_TRUE(rev > 0 && (rev & POLLERR)) << "revents " << Hex(rev);
	EXPECT_FALSE(rev & POLLIN);
	// And the copy commands refuse NOTIFY_FD before mmap.
	std::vector<uint8_t> a(64), b(64);
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), 64, kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), 64, kRW, 0, &cb));
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, AsyncCopyBounded(fd.get(), ca, 0, cb, 0, 64,
						kThreadNotify, 0, &status));
	// After mmap: no error, nothing to read.
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	EXPECT_EQ(0, PollFd(fd.get(), POLLIN | POLLOUT, 0));
	errno = 0;
	EXPECT_EQ(-1, ::read(fd.get(), buf, 4));
	EXPECT_EQ(Err{EAGAIN}, Err{errno});
}

TEST(NotifyFd, ReadSizeMustBeAMultipleOfFour)
{
	NotifyBench b;
	b.SetUp();
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	ASSERT_EQ(Ok(), b.Submit(3));
	ASSERT_EQ(Ok(), b.Submit(4));
	ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(b.slots(), 4));
	uint8_t buf[16];
	for (size_t n : {1, 2, 3, 5, 6, 7, 9, 15}) {
		errno = 0;
		EXPECT_EQ(-1, ::read(b.fd(), buf, n)) << n << " bytes";
		EXPECT_EQ(Err{EINVAL}, Err{errno}) << n << " bytes";
	}
	EXPECT_EQ(0, ::read(b.fd(), buf, 0));
	// Nothing was consumed.
	std::vector<uint32_t> events;
	ASSERT_TRUE(DrainEvents(b.fd(), 2, &events));
	EXPECT_EQ((std::vector<uint32_t>{3, 4}), events);
}

TEST(NotifyFd, NonBlockingReadReturnsWhatIsQueued)
{
	NotifyBench b;
	b.SetUp();
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	ASSERT_TRUE(SetNonBlocking(b.fd(), true));
	std::vector<uint32_t> events;
	EXPECT_EQ(Err{EAGAIN}, ReadEvents(b.fd(), 1, &events));
	ASSERT_EQ(Ok(), b.Submit(42));
	ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(b.slots(), 42));
	// 8 bytes asked, one event queued: 4 bytes.
	ASSERT_EQ(Ok(), ReadEvents(b.fd(), 2, &events));
	EXPECT_EQ(std::vector<uint32_t>{42}, events);
	EXPECT_EQ(Err{EAGAIN}, ReadEvents(b.fd(), 2, &events));
	// A batch larger than the kernel's internal chunk.
	for (uint32_t i = 0; i < 300; i++) {
		ASSERT_EQ(Ok(), b.Submit(i));
	}
	ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(b.slots(), 299));
	ASSERT_EQ(Ok(), ReadEvents(b.fd(), 1000, &events));
	EXPECT_TRUE(EachIndexOnce(events, 300));
	SetNonBlocking(b.fd(), false);
}

TEST(NotifyFd, BlockingReadWaitsForEveryRequestedEvent)
{
	NotifyBench b;
	b.SetUp();
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	ASSERT_EQ(Ok(), b.Submit(7));
	ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(b.slots(), 7));
	std::atomic<bool> returned{false};
	std::vector<uint32_t> events;
	Err err = Ok();
	std::thread reader([&] {
		err = ReadEvents(b.fd(), 2, &events);
		returned = true;
	});
	::usleep(300 * 1000);
	EXPECT_FALSE(returned.load())
		<< "a blocking 8-byte read returned with one event queued";
	ASSERT_EQ(Ok(), b.Submit(8));
	reader.join();
	EXPECT_EQ(Ok(), err);
	EXPECT_EQ((std::vector<uint32_t>{7, 8}), events);
}

TEST(NotifyFd, BlockingReadIsInterruptedBySignals)
{
	NotifyBench b;
	b.SetUp();
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	SigusrHandler handler;
	for (int queued : {0, 1}) {
		SCOPED_TRACE(std::to_string(queued) + " event queued");
		if (queued) {
			ASSERT_EQ(Ok(), b.Submit(5));
			ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(b.slots(), 5));
		}
		std::atomic<bool> returned{false};
		std::vector<uint32_t> events;
		Err err = Ok();
		std::thread reader([&] {
			err = ReadEvents(b.fd(), 4, &events);
			returned = true;
		});
		pthread_t tid = reader.native_handle();
		// Signal until the read gives up (it may not sleep yet).
		for (int i = 0; i < 200 && !returned.load(); i++) {
			::pthread_kill(tid, SIGUSR1);
			::usleep(20 * 1000);
		}
		if (!returned.load()) {
			// Unblock it so that the test can end.
			for (uint32_t s = 10; s < 14; s++)
				b.Submit(s);
		}
		reader.join();
		if (queued) {
			// The bytes already copied.
			EXPECT_EQ(Ok(), err);
			EXPECT_EQ(std::vector<uint32_t>{5}, events);
		} else {
			EXPECT_EQ(Err{EINTR}, err);
		}
	}
}

TEST(NotifyFd, PollReportsQueuedEventsAndWakesUp)
{
	NotifyBench b;
	b.SetUp();
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	EXPECT_EQ(0, PollFd(b.fd(), POLLIN | POLLOUT | POLLPRI, 0));
	// A poller sleeping when the completion arrives is woken up.
	std::atomic<int> revents{-2};
	std::thread poller([&] { revents = PollFd(b.fd(), POLLIN, 30000); });
	::usleep(200 * 1000);
	EXPECT_EQ(-2, revents.load()) << "poll returned with nothing queued";
	ASSERT_EQ(Ok(), b.Submit(9));
	poller.join();
	EXPECT_EQ(POLLIN, revents.load() & (POLLIN | POLLERR | POLLOUT));
	// POLLOUT is never reported.
	EXPECT_EQ(POLLIN | POLLRDNORM,
		  PollFd(b.fd(), POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, 0));
	std::vector<uint32_t> events;
	ASSERT_EQ(Ok(), ReadEvents(b.fd(), 1, &events));
	EXPECT_EQ(std::vector<uint32_t>{9}, events);
	EXPECT_EQ(0, PollFd(b.fd(), POLLIN, 0));
}

TEST(NotifyFd, InlineCompletionIsQueuedBeforeTheIoctlReturns)
{
	// DMATHREAD without DMA runs inline but counts as a thread flag for
	// NOTIFY_FD: the event is there when the ioctl returns.
	NotifyBench b;
	b.SetUp();
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	uint32_t status = 0;
	ASSERT_EQ(Ok(), b.Submit(33, KNEM_FLAG_DMATHREAD | KNEM_FLAG_NOTIFY_FD,
				 64, &status));
	EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status);
	EXPECT_EQ(POLLIN, PollFd(b.fd(), POLLIN, 0));
	std::vector<uint32_t> events;
	ASSERT_TRUE(SetNonBlocking(b.fd(), true));
	ASSERT_EQ(Ok(), ReadEvents(b.fd(), 4, &events));
	EXPECT_EQ(std::vector<uint32_t>{33}, events);
	SetNonBlocking(b.fd(), false);
}

TEST(NotifyFd, ZeroLengthCopiesProduceNoEventAndLeakNoSlot)
{
	NotifyBench b;
	b.SetUp(1);
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	// Twice the capacity of zero-length copies: all accepted.
	for (uint32_t i = 0; i < 8192; i++) {
		uint32_t status = kStatusSentinel;
		ASSERT_EQ(Ok(), b.Submit(i % 4096, kThreadNotify, 0, &status))
			<< "zero-length copy " << i;
		ASSERT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status);
	}
	EXPECT_TRUE(NoEventQueued(b.fd()));
	// The whole queue is still there.
	for (uint32_t i = 0; i < 4096; i++) {
		ASSERT_EQ(Ok(), b.Submit(i)) << "copy " << i;
	}
	EXPECT_EQ(Err{EBUSY}, b.Submit(0));
	std::vector<uint32_t> events;
	ASSERT_EQ(Ok(), ReadEvents(b.fd(), 4096, &events));
	EXPECT_TRUE(EachIndexOnce(events, 4096));
}

TEST(NotifyFd, RefusedFlagCombinations)
{
	NotifyBench b;
	b.SetUp();
	ASSERT_FALSE(::testing::Test::HasFatalFailure());
	for (uint32_t flags :
	     {uint32_t(KNEM_FLAG_NOTIFY_FD),
	      uint32_t(KNEM_FLAG_NOTIFY_FD | KNEM_FLAG_PINLOCAL),
	      uint32_t(KNEM_FLAG_NOTIFY_FD | KNEM_FLAG_ASYNCDMACOMPLETE),
	      uint32_t(KNEM_FLAG_NOTIFY_FD | KNEM_FLAG_ASYNCDMACOMPLETE |
		       KNEM_FLAG_MEMCPYTHREAD),
	      uint32_t(KNEM_FLAG_NOTIFY_FD | KNEM_FLAG_ASYNCDMACOMPLETE |
		       KNEM_FLAG_DMATHREAD)}) {
		b.slots().Store(1, kSlotSentinel);
		EXPECT_EQ(Err{EINVAL}, b.Submit(1, flags))
			<< FlagsName(flags);
		EXPECT_EQ(kSlotSentinel, b.slots().Load(1));
	}
	// A refused copy does not hold a queue entry: 4096 still fit.
	for (uint32_t i = 0; i < 4096; i++) {
		ASSERT_EQ(Ok(), b.Submit(i)) << "copy " << i;
	}
	std::vector<uint32_t> events;
	ASSERT_EQ(Ok(), ReadEvents(b.fd(), 4096, &events));
	EXPECT_TRUE(EachIndexOnce(events, 4096));
}

} // namespace
