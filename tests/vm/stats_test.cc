// SPDX-License-Identifier: BSD-3-Clause
//
// `cat /dev/knem`, `echo 1 > /dev/knem`, statsverbose, and read()/poll()
// on every kind of descriptor (knem-abi.md §1, §8, §10; decisions 2, 3).
#include "knem_vm_test.h"

#include <regex>

using namespace knemtest;

namespace {

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;

// Restores a module parameter at the end of a test.
class ParamGuard {
public:
	explicit ParamGuard(const std::string &name) : name_(name)
	{
		ok_ = ReadParam(name, &old_);
	}
	~ParamGuard()
	{
		if (ok_)
			WriteParam(name_, old_);
	}
	ParamGuard(const ParamGuard &) = delete;
	ParamGuard &operator=(const ParamGuard &) = delete;
	bool ok() const { return ok_; }

private:
	std::string name_, old_;
	bool ok_ = false;
};

long long Delta(const Counters &after, const Counters &before, Counter c)
{
	return after[c] - before[c];
}

std::string DescribeDeltas(const Counters &after, const Counters &before)
{
	std::ostringstream os;
	for (int i = 0; i < kNrCounters; i++)
		os << "\n  " << kCounterLabels[i]
		   << after.value[i] - before.value[i];
	return os.str();
}

TEST(Stats, TextHasTheClassicLines)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	knem_cmd_info info;
	ASSERT_EQ(Ok(), GetInfo(fd.get(), &info));
	ParamGuard verbose("statsverbose");
	ASSERT_TRUE(verbose.ok());
	ASSERT_TRUE(WriteParam("statsverbose", "0"));

	std::string text = ReadStats();
	ASSERT_FALSE(text.empty()) << "cannot read " KNEM_DEVICE_FILENAME ": "
				   << strerror(errno);
	ASSERT_EQ('\n', text.back()) << text;
	std::vector<std::string> lines = SplitLines(text);
	ASSERT_EQ(kListingLine, lines.size()) << text;
	EXPECT_TRUE(std::regex_match(lines[0], std::regex("knem [^ ].*")))
		<< lines[0];
	EXPECT_EQ(" Driver ABI=0xd", lines[1]);
	unsigned forcing = ~0u, ignoring = ~0u;
	EXPECT_EQ(2, sscanf(lines[2].c_str(), " Flags: forcing 0x%x, ignoring 0x%x",
			    &forcing, &ignoring))
		<< lines[2];
	char expect_flags[80];
	snprintf(expect_flags, sizeof(expect_flags),
		 " Flags: forcing 0x%x, ignoring 0x%x", info.forced_flags,
		 info.ignored_flags);
	EXPECT_EQ(std::string(expect_flags), lines[2]);
	EXPECT_TRUE(std::regex_match(
		lines[3],
		std::regex(" DMAEngine: (KernelSupported Disabled|KernelSupported "
			   "Enabled NoChannelAvailable|KernelSupported Enabled "
			   "ChansAvail ChunkMin=[0-9]+B|NoKernelSupport)")))
		<< lines[3];
	// Decision 8: the DMA line tells the truth.  The VM has no DMA
	// engine (unless tests/dma-provider is loaded); with dma=1 that is
	// "no channel".
	unsigned long long dma = 1, dmamin = 1024;
	EXPECT_TRUE(ReadParamU64("dma", &dma));
	EXPECT_TRUE(ReadParamU64("dmamin", &dmamin));
	std::string want_dma;
	if (!dma)
		want_dma = " DMAEngine: KernelSupported Disabled";
	else if (info.features & KNEM_FEATURE_DMA)
		want_dma = " DMAEngine: KernelSupported Enabled ChansAvail "
			   "ChunkMin=" + std::to_string(dmamin) + "B";
	else
		want_dma = " DMAEngine: KernelSupported Enabled "
			   "NoChannelAvailable";
	EXPECT_EQ(want_dma, lines[3]);
	EXPECT_TRUE(std::regex_match(
		lines[4],
		std::regex(" Debug: (NotBuilt|BuiltIn (Enabled|Disabled))")))
		<< lines[4];
	Counters c = ParseCounters(text);
	EXPECT_TRUE(c.ok) << c.error;
	for (int i = 0; i < kNrCounters; i++)
		EXPECT_GE(c.value[i], 0) << kCounterLabels[i];
	// knem-xen's own lines follow: the limits' refusals, the pins.
	for (int i = 0; i < kNrLimitLines; i++) {
		const std::string &line = lines[5 + kNrCounters + i];
		const std::string label = kLimitLabels[i];
		EXPECT_EQ(label, line.substr(0, label.size()));
		EXPECT_TRUE(std::regex_match(line.substr(label.size()),
					     std::regex("[0-9]+")))
			<< line;
	}
}

TEST(Stats, ReadsBehaveLikeAFile)
{
	ParamGuard verbose("statsverbose");
	ASSERT_TRUE(verbose.ok());
	ASSERT_TRUE(WriteParam("statsverbose", "0"));
	std::string whole = ReadStats();
	ASSERT_FALSE(whole.empty()) << strerror(errno);

	KNEM_OPEN_OR_FAIL(ro, O_RDONLY);
	// Byte by byte, then the rest.
	std::string pieces;
	char ch;
	for (int i = 0; i < 40; i++) {
		ASSERT_EQ(1, ::read(ro.get(), &ch, 1));
		pieces += ch;
	}
	pieces += ReadAll(ro.get());
	EXPECT_EQ(whole, pieces);
	// At and past the end: 0.
	EXPECT_EQ(0, ::read(ro.get(), &ch, 1));
	char buf[64];
	EXPECT_EQ(0, ::pread(ro.get(), buf, sizeof(buf), whole.size()));
	EXPECT_EQ(0, ::pread(ro.get(), buf, sizeof(buf), 1 << 20));
	// pread in the middle.
	ssize_t n = ::pread(ro.get(), buf, 10, 5);
	ASSERT_EQ(10, n);
	EXPECT_EQ(whole.substr(5, 10), std::string(buf, 10));
	// 0 bytes, and a bad buffer.
	EXPECT_EQ(0, ::pread(ro.get(), buf, 0, 0));
	errno = 0;
	EXPECT_EQ(-1, ::pread(ro.get(), UnmappedAddress(), 100, 0));
	EXPECT_EQ(Err{EFAULT}, Err{errno});
	// write() on a read-only fd: the VFS says EBADF.
	errno = 0;
	EXPECT_EQ(-1, ::write(ro.get(), "1", 1));
	EXPECT_EQ(Err{EBADF}, Err{errno});
}

TEST(Stats, CountersMoveAsExpected)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(3 * kPage, 1), b(3 * kPage);
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), b.size(), kRW, 0, &cb));

	// N synchronous reads (unpinned local side) and COPYs.
	const int N = 7;
	Counters before = ReadCounters();
	ASSERT_TRUE(before.ok) << before.error;
	for (int i = 0; i < N; i++) {
		uint32_t status = 0;
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(b.data(), b.size())},
					      false, ca, 0, 0, &status),
				   status));
		status = 0;
		ASSERT_TRUE(SyncOk(Copy(fd.get(), ca, 0, cb, 0, 0, &status),
				   status));
	}
	Counters after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(2 * N, Delta(after, before, kSubmitted))
		<< DescribeDeltas(after, before);
	EXPECT_EQ(2 * N, Delta(after, before, kProcessed))
		<< DescribeDeltas(after, before);
	for (Counter c : {kProcessedDma, kProcessedThread, kProcessedPinLocal,
			  kRejectedFlags, kRejectedNoMem, kRejectedArgument,
			  kRejectedCookie, kRejectedPinLocal, kFailedMemcpy,
			  kFailedDma, kDmaCleanupTimeout})
		EXPECT_EQ(0, Delta(after, before, c))
			<< kCounterLabels[c] << DescribeDeltas(after, before);

	// Pinned local pages: PINLOCAL reads.
	before = after;
	for (int i = 0; i < N; i++) {
		uint32_t status = 0;
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(b.data(), b.size())},
					      false, ca, 0, KNEM_FLAG_PINLOCAL,
					      &status),
				   status));
	}
	after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(N, Delta(after, before, kSubmitted));
	EXPECT_EQ(N, Delta(after, before, kProcessed));
	EXPECT_EQ(N, Delta(after, before, kProcessedPinLocal))
		<< DescribeDeltas(after, before);

	// An unknown cookie.
	before = after;
	uint32_t status = kStatusSentinel;
	ASSERT_EQ(Err{EINVAL}, InlineCopy(fd.get(), {Iov(b.data(), 10)}, false,
					  ca ^ 0x5a5a0000ull, 0, 0, &status));
	after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(1, Delta(after, before, kRejectedCookie))
		<< DescribeDeltas(after, before);
	EXPECT_EQ(1, Delta(after, before, kSubmitted))
		<< DescribeDeltas(after, before);
	EXPECT_EQ(0, Delta(after, before, kProcessed))
		<< DescribeDeltas(after, before);

	// An unreadable local iovec array.
	before = after;
	knem_cmd_inline_copy copy;
	memset(&copy, 0, sizeof(copy));
	copy.local_iovec_array = Addr(UnmappedAddress());
	copy.local_iovec_nr = 2;
	copy.remote_cookie = ca;
	ASSERT_EQ(Err{EFAULT}, Ioctl(fd.get(), KNEM_CMD_INLINE_COPY, &copy));
	after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(1, Delta(after, before, kRejectedArgument))
		<< DescribeDeltas(after, before);
	EXPECT_EQ(0, Delta(after, before, kProcessed))
		<< DescribeDeltas(after, before);

	// DMA without a DMA engine (with one: a DMA copy).
	knem_cmd_info info;
	ASSERT_EQ(Ok(), GetInfo(fd.get(), &info));
	const bool have_dma = info.features & KNEM_FEATURE_DMA;
	before = after;
	status = kStatusSentinel;
	ASSERT_EQ(have_dma ? Ok() : Err{EINVAL},
		  InlineCopy(fd.get(), {Iov(b.data(), 10)}, false, ca, 0,
			     KNEM_FLAG_DMA, &status));
	after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(have_dma ? 0 : 1, Delta(after, before, kRejectedFlags))
		<< DescribeDeltas(after, before);
	EXPECT_EQ(have_dma ? 1 : 0, Delta(after, before, kProcessed))
		<< DescribeDeltas(after, before);

	// A copy_to_user that fails.
	before = after;
	status = kStatusSentinel;
	ASSERT_EQ(Ok(), InlineCopy(fd.get(), {Iov(UnmappedAddress(), 100)}, false,
				   ca, 0, 0, &status));
	EXPECT_EQ(uint32_t(KNEM_STATUS_FAILED), status);
	after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(1, Delta(after, before, kFailedMemcpy))
		<< DescribeDeltas(after, before);

	// Local pages that cannot be pinned.
	before = after;
	status = kStatusSentinel;
	ASSERT_EQ(Err{EFAULT}, InlineCopy(fd.get(), {Iov(UnmappedAddress(), 100)},
					  false, ca, 0, KNEM_FLAG_PINLOCAL,
					  &status));
	after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_EQ(1, Delta(after, before, kRejectedPinLocal))
		<< DescribeDeltas(after, before);
}

TEST(Stats, RootResetsTheCounters)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(100, 1), b(100);
	knem_cookie_t ca = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	auto some_traffic = [&]() {
		uint32_t status = 0;
		ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(b.data(), 100)},
					      false, ca, 0, 0, &status),
				   status));
		status = 0;
		ASSERT_EQ(Err{EINVAL}, InlineCopy(fd.get(), {Iov(b.data(), 100)},
						  false, ~ca, 0, 0, &status));
		Counters c = ReadCounters();
		ASSERT_TRUE(c.ok) << c.error;
		ASSERT_GT(c[kSubmitted], 0);
		ASSERT_GT(c[kRejectedCookie], 0);
	};
	auto all_zero = [&](const char *how) {
		Counters c = ReadCounters();
		ASSERT_TRUE(c.ok) << c.error;
		for (int i = 0; i < kNrCounters; i++)
			EXPECT_EQ(0, c.value[i])
				<< kCounterLabels[i] << " after " << how;
	};
	std::string before_text = ReadStats();

	// What `echo 1 > /dev/knem` does: O_WRONLY|O_CREAT|O_TRUNC, write "1\n".
	some_traffic();
	{
		Fd w(::open(KNEM_DEVICE_FILENAME,
			    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
		ASSERT_TRUE(w.valid()) << strerror(errno);
		EXPECT_EQ(2, ::write(w.get(), "1\n", 2)) << strerror(errno);
	}
	all_zero("write(\"1\\n\") on an O_WRONLY fd");

	// The shell itself.
	some_traffic();
	EXPECT_EQ(0, ::system("echo 1 > " KNEM_DEVICE_FILENAME));
	all_zero("echo 1 > " KNEM_DEVICE_FILENAME);

	// The header lines did not change.
	std::vector<std::string> old_lines = SplitLines(before_text);
	std::vector<std::string> new_lines = SplitLines(ReadStats());
	ASSERT_GE(old_lines.size(), 5u);
	ASSERT_GE(new_lines.size(), 5u);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(old_lines[i], new_lines[i]);
	// And the regions survive a reset.
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(b.data(), 100)}, false, ca,
				      0, 0, &status),
			   status));
}

TEST(Stats, NonRootCannotReset)
{
	OpenDeviceToAll world;
	ASSERT_TRUE(world.ok());
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(100, 1), b(100);
	knem_cookie_t ca = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(b.data(), 100)}, false, ca,
				      0, 0, &status),
			   status));
	Counters before = ReadCounters();
	ASSERT_TRUE(before.ok) << before.error;
	ASSERT_GT(before[kSubmitted], 0);

	EXPECT_EQ("", RunInChild([&]() -> std::string {
		// Opened while root, written after setuid ...
		Fd early = OpenKnem(O_WRONLY);
		if (!early.valid())
			return std::string("open O_WRONLY: ") + strerror(errno);
		std::string err = BecomeNobody();
		if (!err.empty())
			return err;
		std::string msg;
		errno = 0;
		ssize_t r = ::write(early.get(), "1\n", 2);
		msg += Expect("write by nobody on an fd opened by root",
			      r < 0 ? Err{errno} : Err{10000 + int(r)},
			      Err{EPERM});
		// ... and opened by nobody.
		Fd late(::open(KNEM_DEVICE_FILENAME, O_WRONLY | O_CLOEXEC));
		if (!late.valid())
			return msg + "open O_WRONLY as nobody: " + strerror(errno);
		errno = 0;
		r = ::write(late.get(), "1\n", 2);
		msg += Expect("write by nobody", r < 0 ? Err{errno}
						       : Err{10000 + int(r)},
			      Err{EPERM});
		return msg;
	}));
	Counters after = ReadCounters();
	ASSERT_TRUE(after.ok) << after.error;
	EXPECT_GE(after[kSubmitted], before[kSubmitted]) << "counters were reset";
	EXPECT_GE(after[kProcessed], before[kProcessed]) << "counters were reset";
}

// Result of a poll with no wait.
short PollNow(int fd, short events)
{
	struct pollfd pfd = {fd, events, 0};
	int r = ::poll(&pfd, 1, 0);
	if (r < 0)
		return -1;
	return pfd.revents;
}

void OnAlarm(int) {}

TEST(Stats, PollAndReadOnEveryKindOfFd)
{
	// Decision 3: nothing here may touch uninitialised state (the classic
	// driver oopsed on poll of a read-only fd); the VM harness fails the
	// run on any kernel BUG/WARNING/Oops.
	KNEM_OPEN_OR_FAIL(ro, O_RDONLY);
	EXPECT_GE(PollNow(ro.get(), POLLIN | POLLOUT | POLLPRI), 0);
	EXPECT_GE(PollNow(ro.get(), POLLIN), 0);

	for (int mode : {O_RDWR, O_WRONLY}) {
		SCOPED_TRACE(mode == O_RDWR ? "O_RDWR" : "O_WRONLY");
		KNEM_OPEN_OR_FAIL(fd, mode | O_NONBLOCK);
		// Before mmap: POLLERR (knem-abi.md §8), never POLLIN/POLLOUT.
		short ev = PollNow(fd.get(), POLLIN | POLLOUT);
		EXPECT_EQ(POLLERR, ev);
		uint32_t events[2];
		errno = 0;
		ssize_t r = ::read(fd.get(), events, sizeof(events));
		EXPECT_EQ(-1, r);
		if (mode == O_WRONLY) {
			EXPECT_EQ(Err{EBADF}, Err{errno});
			continue;
		}
		EXPECT_TRUE(errno == EINVAL || errno == EAGAIN)
			<< "read before mmap: " << Err{errno};
		errno = 0;
		EXPECT_EQ(-1, ::read(fd.get(), events, 3));
		EXPECT_TRUE(errno == EINVAL || errno == EAGAIN)
			<< "3-byte read before mmap: " << Err{errno};
	}

	// A blocking read before mmap must not hang forever without a way
	// out, nor crash: EINVAL, EAGAIN, or interrupted by a signal.
	{
		KNEM_OPEN_OR_FAIL(fd, O_RDWR);
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = OnAlarm;
		sigaction(SIGALRM, &sa, &old);
		alarm(3);
		uint32_t event;
		errno = 0;
		ssize_t r = ::read(fd.get(), &event, sizeof(event));
		int err = errno;
		alarm(0);
		sigaction(SIGALRM, &old, nullptr);
		EXPECT_EQ(-1, r);
		EXPECT_TRUE(err == EINVAL || err == EAGAIN || err == EINTR)
			<< "blocking read before mmap: " << Err{err};
	}

	// After mmap: nothing queued.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR | O_NONBLOCK);
	void *p = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd.get(), KNEM_STATUS_ARRAY_FILE_OFFSET);
	ASSERT_NE(MAP_FAILED, p) << strerror(errno);
	EXPECT_EQ(0, PollNow(fd.get(), POLLIN | POLLOUT));
	uint32_t event;
	errno = 0;
	EXPECT_EQ(-1, ::read(fd.get(), &event, sizeof(event)));
	EXPECT_EQ(Err{EAGAIN}, Err{errno});
	errno = 0;
	EXPECT_EQ(-1, ::read(fd.get(), &event, 3));
	EXPECT_EQ(Err{EINVAL}, Err{errno});
	// A second mapping is refused, an offset other than 0 too.
	void *q = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd.get(), 0);
	EXPECT_EQ(MAP_FAILED, q);
	if (q != MAP_FAILED)
		::munmap(q, kPage);
	else
		EXPECT_EQ(Err{EBUSY}, Err{errno});
	::munmap(p, kPage);
	KNEM_OPEN_OR_FAIL(fd2, O_RDWR);
	q = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd2.get(),
		   kPage);
	EXPECT_EQ(MAP_FAILED, q);
	if (q != MAP_FAILED)
		::munmap(q, kPage);
	else
		EXPECT_EQ(Err{EINVAL}, Err{errno});
	// The stats fd still reads fine after all that.
	EXPECT_FALSE(ReadStats().empty());
}

struct Listing {
	std::vector<std::string> contexts; // " Context xxxxxxxx"
	// per context: its region lines and its "Listed N regions" count
	std::vector<std::vector<std::string>> regions;
	std::vector<int> listed_regions;
	std::string last;
	std::string error;
};

Listing ParseListing(const std::string &text)
{
	Listing l;
	std::vector<std::string> lines = SplitLines(text);
	if (lines.size() < kListingLine + 1) {
		l.error = "no listing after the counters:\n" + text;
		return l;
	}
	const std::regex ctx_re(" Context [0-9a-f]{8}");
	const std::regex region_re("  Region [0-9a-f]{8}( SingleUse)?");
	const std::regex listed_re("  Listed ([0-9]+) regions");
	for (size_t i = kListingLine; i < lines.size(); i++) {
		const std::string &line = lines[i];
		std::smatch m;
		if (i + 1 == lines.size()) {
			l.last = line;
		} else if (std::regex_match(line, ctx_re)) {
			l.contexts.push_back(line);
			l.regions.emplace_back();
			l.listed_regions.push_back(-1);
		} else if (std::regex_match(line, region_re) &&
			   !l.contexts.empty()) {
			l.regions.back().push_back(line);
		} else if (std::regex_match(line, m, listed_re) &&
			   !l.contexts.empty()) {
			l.listed_regions.back() = std::stoi(m[1]);
		} else {
			l.error = "unexpected listing line '" + line + "' in:\n" +
				  text;
			return l;
		}
	}
	for (size_t i = 0; i < l.contexts.size(); i++)
		if (l.listed_regions[i] != static_cast<int>(l.regions[i].size()))
			l.error = l.contexts[i] + ": wrong 'Listed N regions'";
	return l;
}

TEST(Stats, VerboseListsContextsAndRegions)
{
	ParamGuard verbose("statsverbose");
	ASSERT_TRUE(verbose.ok());
	ASSERT_TRUE(WriteParam("statsverbose", "1"));
	OpenDeviceToAll world;
	ASSERT_TRUE(world.ok());

	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_OPEN_OR_FAIL(empty, O_RDWR);
	std::vector<uint8_t> a(3 * kPage);
	knem_cookie_t c1 = 0, c2 = 0, c3 = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), kPage, kRW, 0, &c1));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data() + kPage, kPage,
				     KNEM_PROT_READ, KNEM_FLAG_SINGLEUSE, &c2));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data() + 2 * kPage, kPage, kRW,
				     KNEM_FLAG_ANY_USER_ACCESS, &c3));

	std::string text = ReadStats();
	Listing l = ParseListing(text);
	ASSERT_TRUE(l.error.empty()) << l.error;
	// Root sees every context, ours among them: one with our 3 regions
	// (one single-use), one with none.
	// A region is listed by an id that is one half of its cookie.
	auto ours = [&](const std::string &line) {
		uint32_t id = static_cast<uint32_t>(
			std::stoul(line.substr(strlen("  Region ")), nullptr, 16));
		for (knem_cookie_t c : {c1, c2, c3})
			if (id == static_cast<uint32_t>(c) ||
			    id == static_cast<uint32_t>(c >> 32))
				return true;
		return false;
	};
	int with_three = 0, with_none = 0;
	for (size_t i = 0; i < l.contexts.size(); i++) {
		int single = 0, known = 0;
		for (const std::string &r : l.regions[i]) {
			single += r.find(" SingleUse") != std::string::npos;
			known += ours(r);
		}
		if (l.regions[i].size() == 3 && single == 1 && known == 3)
			with_three++;
		if (l.regions[i].empty())
			with_none++;
	}
	EXPECT_EQ(1, with_three) << text;
	EXPECT_GE(with_none, 1) << text;
	EXPECT_EQ(" Listed " + std::to_string(l.contexts.size()) + " contexts",
		  l.last)
		<< text;

	// A consumed or destroyed region disappears from the listing.
	std::vector<uint8_t> out(kPage);
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), kPage)}, false,
				      c2, 0, 0, &status),
			   status));
	ASSERT_EQ(Ok(), DestroyRegion(fd.get(), c1));
	l = ParseListing(ReadStats());
	ASSERT_TRUE(l.error.empty()) << l.error;
	int with_one = 0;
	for (const auto &regions : l.regions)
		with_one += regions.size() == 1 &&
			    regions[0].find("SingleUse") == std::string::npos;
	EXPECT_GE(with_one, 1);
	for (const auto &regions : l.regions)
		for (const std::string &r : regions)
			EXPECT_EQ(std::string::npos, r.find("SingleUse"))
				<< "consumed single-use region still listed";

	// A non-root reader sees only its own contexts; ours are hidden.
	const size_t root_contexts = l.contexts.size();
	EXPECT_EQ("", RunInChild([&]() -> std::string {
		std::string err = BecomeNobody();
		if (!err.empty())
			return err;
		Fd mine = OpenKnem(O_RDWR);
		if (!mine.valid())
			return std::string("open as nobody: ") + strerror(errno);
		char byte = 0;
		knem_cookie_t c = 0;
		if (CreateRegion(mine.get(), &byte, 1, kRW, 0, &c) != Ok())
			return "create as nobody failed";
		std::string t = ReadStats();
		Listing nl = ParseListing(t);
		if (!nl.error.empty())
			return nl.error;
		std::string msg;
		if (nl.contexts.size() != 1 || nl.regions[0].size() != 1)
			msg += "nobody should see exactly its own context with "
			       "one region:\n" + t;
		std::smatch m;
		if (!std::regex_match(nl.last, m,
				      std::regex(" Listed 1 contexts \\(([0-9]+) "
						 "hidden\\)")))
			msg += "last line '" + nl.last +
			       "', want ' Listed 1 contexts (N hidden)'";
		else if (std::stoul(m[1]) < root_contexts)
			msg += "only " + std::string(m[1]) + " hidden, want >= " +
			       std::to_string(root_contexts) + "; ";
		return msg;
	}));

	// Back to statsverbose=0: no listing.
	ASSERT_TRUE(WriteParam("statsverbose", "0"));
	EXPECT_EQ(kListingLine, SplitLines(ReadStats()).size());
}

} // namespace
