// SPDX-License-Identifier: BSD-3-Clause
//
// The status array mapping and the per-context offload worker
// (knem-abi.md §7, §9; BIND_OFFLOAD in §2): mmap rules, the "knem-ctx-*"
// kernel thread and its CPU binding, the counters of offloaded work, and
// the teardown of a context with copies in flight.
#include "async_helpers.h"

using namespace knemtest;
using namespace knemasync;

namespace {

constexpr uint32_t kThread = KNEM_FLAG_MEMCPYTHREAD;

// An offloaded 64-byte copy at `slot` on a fresh pair of regions.
class SlotProbe {
public:
	explicit SlotProbe(int fd) : fd_(fd), a_(PatternBytes(64, 5)), b_(64)
	{
		ok_ = CreateRegion(fd, a_.data(), 64, kRW, 0, &ca_) == Ok() &&
		      CreateRegion(fd, b_.data(), 64, kRW, 0, &cb_) == Ok();
	}
	bool ok() const { return ok_; }
	Err Submit(uint32_t slot, uint32_t flags = kThread)
	{
		uint32_t status = kStatusSentinel;
		return AsyncCopyBounded(fd_, ca_, 0, cb_, 0, 64, flags, slot,
					&status);
	}

private:
	int fd_;
	std::vector<uint8_t> a_, b_;
	knem_cookie_t ca_ = 0, cb_ = 0;
	bool ok_ = false;
};

TEST(Offload, MmapOnlyAtOffsetZero)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	for (off_t off : {off_t(kPage), off_t(2 * kPage), off_t(1) << 32}) {
		StatusMap m;
		EXPECT_EQ(Err{EINVAL}, m.Map(fd.get(), kPage, off))
			<< "offset " << off;
	}
	// A refused mmap does not use up the file's one mapping.
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), kPage);
	EXPECT_EQ(KNEM_STATUS_PENDING, slots.Load(0));
	EXPECT_EQ(KNEM_STATUS_PENDING, slots.Load(kPage - 1));
}

TEST(Offload, OneMappingPerFileEver)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	StatusMap first;
	ASSERT_EQ(Ok(), first.Map(fd.get(), 100));
	StatusMap second;
	EXPECT_EQ(Err{EBUSY}, second.Map(fd.get(), 100));
	first.Unmap();
	EXPECT_EQ(Err{EBUSY}, second.Map(fd.get(), 100))
		<< "a second mmap after munmap must still be refused";
	// The array survives the munmap: async copies still work (the slot
	// is just not visible any more).
	SlotProbe probe(fd.get());
	ASSERT_TRUE(probe.ok());
	EXPECT_EQ(Ok(), probe.Submit(3));
	// Another file has its own mapping.
	KNEM_OPEN_OR_FAIL(fd2, O_RDWR);
	StatusMap other;
	EXPECT_EQ(Ok(), other.Map(fd2.get(), 100));
}

TEST(Offload, MoreThan2To32SlotsIsEinval)
{
	// knem_status_test: 2^32+1 slots fail, then a 45-slot mapping works.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	StatusMap huge;
	EXPECT_EQ(Err{EINVAL}, huge.Map(fd.get(), (size_t(1) << 32) + 1));
	EXPECT_EQ(Err{EINVAL}, huge.Map(fd.get(), size_t(1) << 33));
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 45);
	SlotProbe probe(fd.get());
	ASSERT_TRUE(probe.ok());
	EXPECT_EQ(Ok(), probe.Submit(44));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 44));
}

TEST(Offload, SlotsArePageRoundedBytes)
{
	struct Case {
		size_t len;
		uint32_t slots;
	} cases[] = {{1, 4096}, {45, 4096}, {4096, 4096}, {4097, 8192},
		     {3 * 4096, 3 * 4096}};
	for (const Case &c : cases) {
		SCOPED_TRACE("mmap of " + std::to_string(c.len) + " bytes");
		KNEM_OPEN_OR_FAIL(fd, O_RDWR);
		KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), c.len);
		SlotProbe probe(fd.get());
		ASSERT_TRUE(probe.ok());
		EXPECT_EQ(Ok(), probe.Submit(0));
		EXPECT_EQ(Ok(), probe.Submit(c.slots - 1));
		EXPECT_EQ(Err{EINVAL}, probe.Submit(c.slots));
		EXPECT_EQ(Err{EINVAL}, probe.Submit(0xffffffffu));
		EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, c.slots - 1));
		EXPECT_EQ(KNEM_STATUS_SUCCESS, slots.Load(0));
	}
}

// The worker threads that appeared since `before`.
std::vector<pid_t> NewWorkers(const std::set<pid_t> &before)
{
	std::vector<pid_t> out;
	for (pid_t p : KnemWorkerPids())
		if (!before.count(p))
			out.push_back(p);
	return out;
}

bool WaitWorkerGone(pid_t pid, int timeout_ms = 10000)
{
	for (int i = 0; i < timeout_ms / 10; i++) {
		if (!KnemWorkerPids().count(pid))
			return true;
		::usleep(10 * 1000);
	}
	return false;
}

// Opens a file, runs `bind` (may be empty) then mmap, and returns the
// affinity of the worker that appeared.
std::string WorkerAffinityAfter(const std::function<void(int)> &bind,
				const std::function<void()> &before_mmap = {})
{
	Fd fd = OpenKnem();
	if (!fd.valid())
		return std::string("open: ") + strerror(errno);
	std::set<pid_t> before = KnemWorkerPids();
	if (bind)
		bind(fd.get());
	if (!NewWorkers(before).empty())
		return "a worker exists before mmap";
	if (before_mmap)
		before_mmap();
	StatusMap slots;
	Err e = slots.Map(fd.get(), 1);
	if (e != Ok())
		return "mmap failed";
	std::vector<pid_t> fresh = NewWorkers(before);
	if (fresh.size() != 1)
		return std::to_string(fresh.size()) + " new knem-ctx-* threads";
	std::string aff = Affinity(fresh[0]);
	slots.Unmap();
	fd.reset();
	if (!WaitWorkerGone(fresh[0]))
		return "worker " + std::to_string(fresh[0]) +
		       " still alive after close";
	return aff;
}

Err Bind(int fd, uint32_t flags, const void *mask = nullptr,
	 uint32_t mask_len = 0)
{
	knem_cmd_bind_offload bind;
	memset(&bind, 0, sizeof(bind));
	bind.flags = flags;
	bind.mask_len = mask_len;
	bind.mask_ptr = Addr(mask);
	return Ioctl(fd, KNEM_CMD_BIND_OFFLOAD, &bind);
}

TEST(Offload, WorkerThreadAppearsAtMmapAndDiesAtClose)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::set<pid_t> before = KnemWorkerPids();
	// statsverbose names the context; its worker is knem-ctx-<id>.
	ParamGuard verbose(ParamPath("statsverbose"), "1");
	ASSERT_TRUE(verbose.ok());
	std::vector<ContextListing> listed = ParseContexts(ReadStats());
	EXPECT_TRUE(NewWorkers(before).empty()) << "a worker before mmap";
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	std::vector<pid_t> fresh = NewWorkers(before);
	ASSERT_EQ(1u, fresh.size());
	std::string comm;
	for (const auto &w : KnemWorkers())
		if (w.first == fresh[0])
			comm = w.second;
	// The comm is "knem-ctx-<hex id>", cut to 15 characters.
	bool named_after_a_context = false;
	for (const ContextListing &c : listed) {
		char want[32];
		snprintf(want, sizeof(want), "knem-ctx-%x", c.id);
		if (std::string(want).substr(0, 15) == comm)
			named_after_a_context = true;
	}
	EXPECT_TRUE(named_after_a_context) << "worker comm '" << comm << "'";
	// The worker does the offloaded copies of its file only.
	SlotProbe probe(fd.get());
	ASSERT_TRUE(probe.ok());
	ASSERT_EQ(Ok(), probe.Submit(0));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 0));
	slots.Unmap();
	EXPECT_TRUE(KnemWorkerPids().count(fresh[0]))
		<< "the worker must live until the file is closed";
	fd.reset();
	EXPECT_TRUE(WaitWorkerGone(fresh[0]));
}

TEST(Offload, BindOffloadBeforeMmapOnly)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	uint64_t mask = 1;
	EXPECT_EQ(Ok(), Bind(fd.get(), KNEM_BIND_FLAG_CUSTOM, &mask, 8));
	EXPECT_EQ(Ok(), Bind(fd.get(), KNEM_BIND_FLAG_CURRENT));
	EXPECT_EQ(Ok(), Bind(fd.get(), KNEM_BIND_FLAG_CURRENT_REVERSED));
	for (uint32_t bad : {0u, 3u, 5u, 6u, 7u, 8u, 16u, 0x80000000u}) {
		EXPECT_EQ(Err{EINVAL}, Bind(fd.get(), bad)) << "flags " << bad;
	}
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	EXPECT_EQ(Err{EBUSY}, Bind(fd.get(), KNEM_BIND_FLAG_CUSTOM, &mask, 8));
	EXPECT_EQ(Err{EBUSY}, Bind(fd.get(), KNEM_BIND_FLAG_CURRENT));
	EXPECT_EQ(Err{EBUSY}, Bind(fd.get(), KNEM_BIND_FLAG_CURRENT_REVERSED));
	slots.Unmap();
	EXPECT_EQ(Err{EBUSY}, Bind(fd.get(), KNEM_BIND_FLAG_CURRENT));
}

TEST(Offload, WorkerAffinityFollowsBindOffloadAndBindingParam)
{
	if (OnlineCpus() < 2)
		GTEST_SKIP() << "needs 2 CPUs";
	std::string all = Affinity(0);
	std::string binding;
	ASSERT_TRUE(ReadParam("binding", &binding));
	ASSERT_EQ("1", binding) << "expects the default binding=1";

	// CUSTOM: the given mask, whatever the caller's.
	uint64_t cpu1 = 2, cpu0 = 1, none = 0;
	EXPECT_EQ(CpuList({1}), WorkerAffinityAfter([&](int fd) {
			  ASSERT_EQ(Ok(), Bind(fd, KNEM_BIND_FLAG_CUSTOM, &cpu1, 8));
		  }));
	EXPECT_EQ(CpuList({0}), WorkerAffinityAfter([&](int fd) {
			  ASSERT_EQ(Ok(), Bind(fd, KNEM_BIND_FLAG_CUSTOM, &cpu0, 1));
		  }));
	// An empty mask leaves the worker free to run anywhere.
	EXPECT_EQ(all, WorkerAffinityAfter([&](int fd) {
			  ASSERT_EQ(Ok(), Bind(fd, KNEM_BIND_FLAG_CUSTOM, &none, 8));
		  }));
	// The last BIND_OFFLOAD wins.
	EXPECT_EQ(CpuList({0}), WorkerAffinityAfter([&](int fd) {
			  ASSERT_EQ(Ok(), Bind(fd, KNEM_BIND_FLAG_CUSTOM, &cpu1, 8));
			  ASSERT_EQ(Ok(), Bind(fd, KNEM_BIND_FLAG_CUSTOM, &cpu0, 8));
		  }));
	// CURRENT: the caller's CPUs when it binds, not when it maps.
	{
		AffinityGuard g({0});
		ASSERT_TRUE(g.ok());
		EXPECT_EQ(CpuList({0}),
			  WorkerAffinityAfter(
				  [&](int fd) {
					  ASSERT_EQ(Ok(), Bind(fd, KNEM_BIND_FLAG_CURRENT));
				  },
				  [&] {
					  cpu_set_t s;
					  CPU_ZERO(&s);
					  CPU_SET(1, &s);
					  ASSERT_EQ(0, ::sched_setaffinity(0, sizeof(s), &s));
				  }));
	}
	// CURRENT_REVERSED: the others.
	{
		AffinityGuard g({0});
		ASSERT_TRUE(g.ok());
		EXPECT_EQ(CpuList({1}), WorkerAffinityAfter([&](int fd) {
				  ASSERT_EQ(Ok(),
					    Bind(fd, KNEM_BIND_FLAG_CURRENT_REVERSED));
			  }));
	}
	// No BIND_OFFLOAD, binding=1: the CPUs of the caller of mmap.
	{
		AffinityGuard g({1});
		ASSERT_TRUE(g.ok());
		EXPECT_EQ(CpuList({1}), WorkerAffinityAfter({}));
	}
	{
		AffinityGuard g({0, 1});
		ASSERT_TRUE(g.ok());
		EXPECT_EQ(all, WorkerAffinityAfter({}));
	}
	// binding=-1: the complement of the caller's CPUs; 0: all of them.
	{
		ParamGuard p(ParamPath("binding"), "-1");
		ASSERT_TRUE(p.ok());
		AffinityGuard g({0});
		ASSERT_TRUE(g.ok());
		EXPECT_EQ(CpuList({1}), WorkerAffinityAfter({}));
	}
	{
		ParamGuard p(ParamPath("binding"), "0");
		ASSERT_TRUE(p.ok());
		AffinityGuard g({1});
		ASSERT_TRUE(g.ok());
		EXPECT_EQ(all, WorkerAffinityAfter({}));
	}
	// BIND_OFFLOAD overrides the parameter.
	{
		ParamGuard p(ParamPath("binding"), "0");
		ASSERT_TRUE(p.ok());
		EXPECT_EQ(CpuList({1}), WorkerAffinityAfter([&](int fd) {
				  ASSERT_EQ(Ok(), Bind(fd, KNEM_BIND_FLAG_CUSTOM, &cpu1, 8));
			  }));
	}
}

TEST(Offload, ThreadCounterCountsOffloadedCopiesOnly)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	std::vector<uint8_t> a = PatternBytes(3 * kPage, 8), b(3 * kPage);
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), b.size(), kRW, 0, &cb));
	Counters before = ReadCounters();
	ASSERT_TRUE(before.ok) << before.error;
	uint32_t status = 0;
	uint32_t slot = 0;
	const struct {
		uint32_t flags;
		uint64_t len;
		bool offloaded;
	} cases[] = {
		{0, 100, false},
		{KNEM_FLAG_PINLOCAL, 100, false},
		{kThread, 100, true},
		{kThread, 3 * kPage, true},
		{kThread | KNEM_FLAG_NOTIFY_FD, 100, true},
		{KNEM_FLAG_DMATHREAD, 100, false},
		{KNEM_FLAG_ASYNCDMACOMPLETE, 100, false},
		{kThread | KNEM_FLAG_DMATHREAD, 100, true},
		{kThread, 0, false},
	};
	long long offloaded = 0;
	for (const auto &c : cases) {
		ASSERT_EQ(Ok(), AsyncCopyBounded(fd.get(), ca, 0, cb, 0, c.len,
						 c.flags, slot++, &status))
			<< FlagsName(c.flags);
		offloaded += c.offloaded;
	}
	// An inline copy offloaded too.
	ASSERT_EQ(Ok(), AsyncInlineBounded(fd.get(), {Iov(b.data(), 500)}, false,
					   ca, 0, 500, kThread, slot++, &status));
	offloaded++;
	// Slots 0 and 1 were synchronous: untouched.
	for (uint32_t i = 2; i < slot; i++) {
		ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, i)) << "slot " << i;
	}
	EXPECT_EQ(KNEM_STATUS_PENDING, slots.Load(0));
	EXPECT_EQ(KNEM_STATUS_PENDING, slots.Load(1));
	std::vector<uint32_t> events;
	ASSERT_TRUE(DrainEvents(fd.get(), 1, &events));
	Counters after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(offloaded, after[kProcessedThread] - before[kProcessedThread]);
	EXPECT_EQ(static_cast<long long>(slot),
		  after[kSubmitted] - before[kSubmitted]);
	EXPECT_EQ(static_cast<long long>(slot),
		  after[kProcessed] - before[kProcessed]);
	EXPECT_EQ(0, after[kProcessedDma] - before[kProcessedDma]);
}

// Many offloaded copies queued, then the file goes away: nothing hangs,
// nothing leaks, later files work.
TEST(Offload, CloseWithCopiesQueued)
{
	constexpr size_t kLen = 8 << 20;
	Mapping src(kLen), dst(kLen);
	ASSERT_TRUE(src.ok() && dst.ok());
	memset(src.data(), 1, kLen);
	std::set<pid_t> before = KnemWorkerPids();
	std::vector<pid_t> workers;
	auto t0 = std::chrono::steady_clock::now();
	{
		KNEM_OPEN_OR_FAIL(fd, O_RDWR);
		KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
		workers = NewWorkers(before);
		EXPECT_EQ(1u, workers.size());
		knem_cookie_t cs = 0, cd = 0;
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), src.data(), kLen,
					     KNEM_PROT_READ, 0, &cs));
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), dst.data(), kLen,
					     KNEM_PROT_WRITE, 0, &cd));
		for (uint32_t i = 0; i < 30; i++) {
			uint32_t status = 0;
			ASSERT_EQ(Ok(), AsyncCopyBounded(fd.get(), cs, 0, cd, 0, kLen,
							 kThread | KNEM_FLAG_NOTIFY_FD,
							 i, &status));
		}
	}
	// Closing waits for the running copy only.
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			  std::chrono::steady_clock::now() - t0)
			  .count();
	EXPECT_LT(ms, 20000);
	for (pid_t p : workers) {
		EXPECT_TRUE(WaitWorkerGone(p)) << "worker " << p;
	}
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	SlotProbe probe(fd.get());
	ASSERT_TRUE(probe.ok());
	ASSERT_EQ(Ok(), probe.Submit(1));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 1));
}

TEST(Offload, KilledProcessWithCopiesInFlightLeavesNothingBehind)
{
	// A child queues 100 offloaded 8 MiB copies and is SIGKILLed while
	// they run.  Afterwards: its context is gone from the statsverbose
	// listing, its worker is gone, the thread counter moved by 100, and
	// (checked by the harness) the kernel log is clean.
	constexpr size_t kLen = 8 << 20;
	constexpr int kCopies = 100;
	ParamGuard verbose(ParamPath("statsverbose"), "1");
	ASSERT_TRUE(verbose.ok());
	std::set<uint32_t> ids_before;
	for (const ContextListing &c : ParseContexts(ReadStats()))
		ids_before.insert(c.id);
	std::set<pid_t> workers_before = KnemWorkerPids();
	Counters before = ReadCounters();
	ASSERT_TRUE(before.ok) << before.error;

	Channel ready;
	ASSERT_TRUE(ready.ok());
	Child child;
	ASSERT_TRUE(child.Start([&]() -> std::string {
		Fd fd = OpenKnem();
		if (!fd.valid())
			return "open failed";
		StatusMap slots;
		if (slots.Map(fd.get(), 1) != Ok())
			return "mmap failed";
		Mapping src(kLen), dst(kLen);
		if (!src.ok() || !dst.ok())
			return "no memory";
		memset(src.data(), 0x42, kLen);
		memset(dst.data(), 0, kLen);
		knem_cookie_t cs = 0, cd = 0;
		if (CreateRegion(fd.get(), src.data(), kLen, KNEM_PROT_READ, 0,
				 &cs) != Ok() ||
		    CreateRegion(fd.get(), dst.data(), kLen, KNEM_PROT_WRITE, 0,
				 &cd) != Ok())
			return "create region failed";
		for (int i = 0; i < kCopies; i++) {
			uint32_t status = 0;
			Err e = AsyncCopyBounded(fd.get(), cs, 0, cd, 0, kLen,
						 kThread, i, &status);
			if (e != Ok())
				return "copy failed";
		}
		int done = 0;
		for (int i = 0; i < kCopies; i++)
			done += slots.Load(i) != KNEM_STATUS_PENDING;
		ready.Send(static_cast<uint64_t>(done));
		for (;;)
			::pause();
	}));
	uint64_t done_at_ready = 0;
	ASSERT_TRUE(ready.Recv(&done_at_ready)) << child.Wait();
	EXPECT_LT(done_at_ready, static_cast<uint64_t>(kCopies))
		<< "all copies were done before the kill";

	// The child's context and its worker, while it lives.
	std::vector<ContextListing> now = ParseContexts(ReadStats());
	std::vector<ContextListing> mine;
	for (const ContextListing &c : now)
		if (!ids_before.count(c.id))
			mine.push_back(c);
	ASSERT_EQ(1u, mine.size()) << "the child's context is not listed";
	EXPECT_EQ(2, mine[0].regions);
	std::vector<pid_t> workers = NewWorkers(workers_before);
	EXPECT_EQ(1u, workers.size());

	auto t0 = std::chrono::steady_clock::now();
	ASSERT_EQ(0, ::kill(child.pid(), SIGKILL));
	std::string verdict = child.Wait();
	auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			  std::chrono::steady_clock::now() - t0)
			  .count();
	EXPECT_NE(std::string::npos, verdict.find("killed by signal 9"))
		<< verdict;
	EXPECT_LT(ms, 20000) << "the exit waited for every queued copy";

	// Once reaped, the context is gone.
	for (const ContextListing &c : ParseContexts(ReadStats())) {
		EXPECT_NE(mine[0].id, c.id)
			<< "context " << Hex(mine[0].id) << " outlived its process";
	}
	for (pid_t p : workers) {
		EXPECT_TRUE(WaitWorkerGone(p)) << "worker " << p << " survived";
	}
	Counters after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(kCopies, after[kProcessedThread] - before[kProcessedThread]);
	EXPECT_EQ(kCopies, after[kSubmitted] - before[kSubmitted]);

	// The driver is fine for everyone else.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	SlotProbe probe(fd.get());
	ASSERT_TRUE(probe.ok());
	ASSERT_EQ(Ok(), probe.Submit(1));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 1));
}

} // namespace
