// SPDX-License-Identifier: BSD-3-Clause
//
// Limits of what a caller of /dev/knem can make the kernel hold (issue 14,
// items 8 to 12): sizes taken from the caller are bounded before anything
// is allocated or pinned, long-term pins are charged to RLIMIT_MEMLOCK,
// regions and queued copies per file are bounded, the offload worker stays
// in the caller's CPUs, and writable long-term pins of file-backed shared
// mappings are refused.
#include <sys/mount.h>
#include <sys/resource.h>

#include "async_helpers.h"

using namespace knemtest;
using namespace knemasync;

namespace {

using Clock = std::chrono::steady_clock;

long long ElapsedMs(Clock::time_point since)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		       Clock::now() - since)
		.count();
}

// ---- item 9: sizes straight from the user --------------------------------

TEST(Limits, StatusArrayNear4GiBIsRefusedAtOnce)
{
	unsigned long long maxslots = 65536;
	EXPECT_TRUE(ReadParamU64("maxslots", &maxslots))
		<< "no maxslots parameter";
	EXPECT_EQ(65536u, maxslots) << "the default";
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	StatusMap map;
	for (size_t len : {(size_t(1) << 32) - kPage, size_t(2) << 30,
			   size_t(maxslots) + kPage}) {
		SCOPED_TRACE("mmap of " + std::to_string(len) + " bytes");
		Clock::time_point start = Clock::now();
		EXPECT_EQ(Err{EINVAL}, map.Map(fd.get(), len));
		// Before the fix: seconds in vmalloc, then a kvmalloc warning.
		EXPECT_LT(ElapsedMs(start), 200);
	}
	// The refusals left the file free to map its array.
	EXPECT_EQ(Ok(), map.Map(fd.get(), maxslots));
}

TEST(Limits, HugeLocalIovecPinsOnlyWhatTheCopyReaches)
{
	// One local iovec of 2^40 bytes against a one-page region: the copy
	// moves a page; the old driver sized a 2 GiB page array from the
	// iovec (kvmalloc warning, ENOMEM).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(region_buf, kPage);
	KNEM_MAP_OR_FAIL(local_buf, 4 * kPage);
	FillPattern(local_buf.data(), kPage, 91);
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), region_buf.data(), kPage, kRW,
				     0, &cookie));
	const uint64_t huge = uint64_t(1) << 40;
	struct Case {
		bool write;
		uint32_t flags;
	} cases[] = {{true, 0}, {true, KNEM_FLAG_PINLOCAL},
		     {false, KNEM_FLAG_PINLOCAL}};
	for (const Case &c : cases) {
		SCOPED_TRACE(std::string(c.write ? "write" : "read") +
			     " flags " + Hex(c.flags));
		if (c.write) {
			memset(region_buf.data(), 0, kPage);
		} else {
			FillPattern(region_buf.data(), kPage, 91);
			memset(local_buf.data(), 0, kPage);
		}
		uint32_t status = kStatusSentinel;
		Clock::time_point start = Clock::now();
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(),
					      {Iov(local_buf.data(), huge)},
					      c.write, cookie, 0, c.flags,
					      &status),
				   status));
		EXPECT_LT(ElapsedMs(start), 200);
		EXPECT_TRUE(SameBytes(c.write ? region_buf.data() :
						local_buf.data(),
				      PatternBytes(kPage, 91).data(), kPage));
	}
	// Offloaded: the worker gets the trimmed, pinned iovecs.
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), kPage);
	memset(region_buf.data(), 0, kPage);
	FillPattern(local_buf.data(), kPage, 92);
	uint32_t status = kStatusSentinel;
	ASSERT_EQ(Ok(), InlineCopyBounded(fd.get(),
					  {Iov(local_buf.data(), huge)}, true,
					  cookie, 0, huge, KNEM_FLAG_MEMCPYTHREAD,
					  &status, 3));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 3));
	EXPECT_TRUE(SameBytes(region_buf.data(),
			      PatternBytes(kPage, 92).data(), kPage));
}

// ---- item 8: pinned memory, regions and queued copies --------------------

std::string SetMemlock(rlim_t bytes)
{
	struct rlimit rl = {bytes, bytes};
	if (::setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return std::string("setrlimit: ") + strerror(errno);
	return "";
}

// In a child: RLIMIT_MEMLOCK of `memlock` bytes, then uid nobody unless
// `stay_root`, then `fn` with a fresh context.
std::string RunLimited(rlim_t memlock, bool stay_root,
		       const std::function<std::string(int)> &fn)
{
	return RunInChild([&]() -> std::string {
		std::string err = SetMemlock(memlock);
		if (err.empty() && !stay_root)
			err = BecomeNobody();
		if (!err.empty())
			return err;
		Fd fd = OpenKnem(O_RDWR);
		if (!fd.valid())
			return std::string("open: ") + strerror(errno);
		return fn(fd.get());
	});
}

TEST(Limits, RegionPinsAreChargedToMemlock)
{
	OpenDeviceToAll open_to_all;
	ASSERT_TRUE(open_to_all.ok());
	const long long refused = ReadLimitLine(kRefusedMemlock);
	EXPECT_GE(refused, 0) << ReadStats();
	std::string verdict = RunLimited(1 << 20, false, [](int fd) {
		std::string msg;
		Mapping big(64 << 20), half(1 << 20);
		if (!big.ok() || !half.ok())
			return std::string("mmap failed");
		knem_cookie_t c = 0, c1 = 0, c2 = 0;
		// The case: 64 MiB pinned under a 1 MiB limit.
		msg += Expect("64 MiB region under 1 MiB", CreateRegion(fd,
			      big.data(), 64 << 20, KNEM_PROT_READ, 0, &c),
			      Err{ENOMEM});
		msg += Expect("first 512 KiB", CreateRegion(fd, half.data(),
			      512 << 10, kRW, 0, &c1), Ok());
		msg += Expect("second 512 KiB", CreateRegion(fd,
			      half.data() + (512 << 10), 512 << 10, kRW, 0,
			      &c2), Ok());
		if (VmPinKb() != 1024)
			msg += "VmPin " + std::to_string(VmPinKb()) +
			       " kB, want 1024; ";
		msg += Expect("one page more", CreateRegion(fd, big.data(),
			      kPage, kRW, 0, &c), Err{ENOMEM});
		msg += Expect("destroy", DestroyRegion(fd, c1), Ok());
		msg += Expect("a page after a destroy", CreateRegion(fd,
			      big.data(), kPage, kRW, 0, &c), Ok());
		// Zero-length regions pin nothing.
		msg += Expect("zero-length", CreateRegion(fd, big.data(), 0,
			      kRW, 0, &c), Ok());
		return msg;
	});
	EXPECT_EQ("", verdict);
	EXPECT_EQ(refused + 2, ReadLimitLine(kRefusedMemlock));
}

TEST(Limits, PinsGoBackWhenTheFileCloses)
{
	OpenDeviceToAll open_to_all;
	ASSERT_TRUE(open_to_all.ok());
	std::string verdict = RunLimited(1 << 20, false, [](int fd) {
		std::string msg;
		Mapping buf(1 << 20);
		knem_cookie_t c = 0;
		for (int round = 0; round < 3; round++) {
			Fd other = OpenKnem(O_RDWR);
			// The last file's regions are released by a worker.
			Err e = Err{ENOMEM};
			for (int i = 0; i < 500 && e == Err{ENOMEM}; i++) {
				e = CreateRegion(other.get(), buf.data(),
						 1 << 20, kRW, 0, &c);
				if (e == Err{ENOMEM})
					::usleep(10000);
			}
			msg += Expect("1 MiB", e, Ok());
			other.reset();
		}
		// The releases are asynchronous: wait for the last.
		for (int i = 0; i < 500 && VmPinKb() != 0; i++)
			::usleep(10000);
		if (VmPinKb() != 0)
			msg += "VmPin " + std::to_string(VmPinKb()) +
			       " kB after close; ";
		msg += Expect("1 MiB again", CreateRegion(fd, buf.data(),
			      1 << 20, kRW, 0, &c), Ok());
		return msg;
	});
	EXPECT_EQ("", verdict);
}

TEST(Limits, CapIpcLockIsExemptFromMemlock)
{
	std::string verdict = RunLimited(1 << 20, true, [](int fd) {
		Mapping buf(8 << 20);
		knem_cookie_t c = 0;
		return Expect("root, 8 MiB under 1 MiB", CreateRegion(fd,
			      buf.data(), 8 << 20, kRW, 0, &c), Ok());
	});
	EXPECT_EQ("", verdict);
}

TEST(Limits, MemlocklimitZeroIsTheClassicUnlimitedPinning)
{
	unsigned long long value = 0;
	EXPECT_TRUE(ReadParamU64("memlocklimit", &value));
	EXPECT_EQ(1u, value) << "the default";
	ParamGuard classic(ParamPath("memlocklimit"), "0");
	EXPECT_TRUE(classic.ok());
	OpenDeviceToAll open_to_all;
	ASSERT_TRUE(open_to_all.ok());
	std::string verdict = RunLimited(1 << 20, false, [](int fd) {
		std::string msg;
		Mapping buf(8 << 20);
		knem_cookie_t c = 0;
		msg += Expect("8 MiB under 1 MiB, unlimited", CreateRegion(fd,
			      buf.data(), 8 << 20, kRW, 0, &c), Ok());
		// Still accounted where the kernel shows pins.
		if (VmPinKb() != 8192)
			msg += "VmPin " + std::to_string(VmPinKb()) +
			       " kB, want 8192; ";
		return msg;
	});
	EXPECT_EQ("", verdict);
}

TEST(Limits, RegionsPerFileAreBounded)
{
	// The case was 2,000,000 zero-iovec regions on one file
	// (then a soft lockup at close); the default bound, as nobody.
	unsigned long long max = 131072;
	EXPECT_TRUE(ReadParamU64("maxregions", &max));
	EXPECT_EQ(131072u, max) << "the default";
	OpenDeviceToAll open_to_all;
	ASSERT_TRUE(open_to_all.ok());
	const long long refused = ReadLimitLine(kRefusedRegions);
	std::string verdict = RunLimited(8 << 20, false, [max](int fd) {
		knem_cmd_create_region cmd;
		knem_cookie_t first = 0;
		for (unsigned long long i = 0; i < max; i++) {
			memset(&cmd, 0, sizeof(cmd));
			Err e = Ioctl(fd, KNEM_CMD_CREATE_REGION, &cmd);
			if (e != Ok())
				return "region " + std::to_string(i) + ": " +
				       Expect("create", e, Ok());
			if (!i)
				first = cmd.cookie;
		}
		std::string msg;
		memset(&cmd, 0, sizeof(cmd));
		msg += Expect("one more", Ioctl(fd, KNEM_CMD_CREATE_REGION,
						&cmd), Err{ENOSPC});
		// Another file has its own budget.
		Fd other = OpenKnem(O_RDWR);
		memset(&cmd, 0, sizeof(cmd));
		msg += Expect("another file", Ioctl(other.get(),
			      KNEM_CMD_CREATE_REGION, &cmd), Ok());
		// A destroyed region frees its place once it is released.
		msg += Expect("destroy", DestroyRegion(fd, first), Ok());
		Err e = Err{ENOSPC};
		for (int i = 0; i < 500 && e == Err{ENOSPC}; i++) {
			memset(&cmd, 0, sizeof(cmd));
			e = Ioctl(fd, KNEM_CMD_CREATE_REGION, &cmd);
			if (e == Err{ENOSPC})
				::usleep(10000);
		}
		msg += Expect("after destroy", e, Ok());
		return msg;
	});
	EXPECT_EQ("", verdict);
	EXPECT_EQ(refused + 1, ReadLimitLine(kRefusedRegions));
}

TEST(Limits, QueuedCopiesAreBoundedBySlots)
{
	// A file holds at most as many unpublished asynchronous copies as
	// it has slots: a long copy holds the ones behind it in the list.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), kPage);
	const uint32_t nr_slots = 4096, blocker = nr_slots - 1;
	std::vector<uint8_t> a = PatternBytes(64, 3), b(64);
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), 64, kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), 64, kRW, 0, &cb));
	bool verified = false;
	for (size_t size = 16 << 20; size <= (256u << 20) && !verified;
	     size *= 2) {
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
		const long long refused = ReadLimitLine(kRefusedQueued);
		uint32_t status = kStatusSentinel;
		ASSERT_EQ(Ok(), AsyncCopyBounded(fd.get(), csrc, 0, cdst, 0,
						 size, KNEM_FLAG_MEMCPYTHREAD,
						 blocker, &status));
		uint32_t n = 0;
		Err last = Ok();
		for (; n < 2 * nr_slots; n++) {
			status = kStatusSentinel;
			last = AsyncCopyBounded(fd.get(), ca, 0, cb, 0, 64,
						KNEM_FLAG_MEMCPYTHREAD,
						n % blocker, &status);
			if (last != Ok())
				break;
		}
		const bool still_running =
			slots.Load(blocker) == KNEM_STATUS_PENDING;
		EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, blocker));
		for (uint32_t i = 0; i < std::min(n, blocker); i++)
			ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, i));
		if (!still_running)
			continue;
		verified = true;
		EXPECT_EQ(Err{EBUSY}, last) << "after " << n << " copies";
		EXPECT_EQ(nr_slots - 1, n);
		EXPECT_EQ(refused + 1, ReadLimitLine(kRefusedQueued));
	}
	EXPECT_TRUE(verified) << "the long copy never outlived the others";
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Ok(), AsyncCopyBounded(fd.get(), ca, 0, cb, 0, 64,
					 KNEM_FLAG_MEMCPYTHREAD, 0, &status));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 0));
}

// ---- item 10: the offload worker -----------------------------------------

// In the calling (child) process: maps a status array on `fd` and returns
// the CPU list of the worker that appeared, or an error text.
std::string MapAndGetWorkerAffinity(int fd, StatusMap *map)
{
	std::set<pid_t> before = KnemWorkerPids();
	Err e = map->Map(fd, 1);
	if (e != Ok())
		return Expect("mmap", e, Ok());
	std::vector<pid_t> fresh;
	for (pid_t p : KnemWorkerPids())
		if (!before.count(p))
			fresh.push_back(p);
	if (fresh.size() != 1)
		return std::to_string(fresh.size()) + " new workers";
	return Affinity(fresh[0]);
}

Err BindCustom(int fd, uint64_t mask)
{
	knem_cmd_bind_offload bind;
	memset(&bind, 0, sizeof(bind));
	bind.flags = KNEM_BIND_FLAG_CUSTOM;
	bind.mask_len = sizeof(mask);
	bind.mask_ptr = Addr(&mask);
	return Ioctl(fd, KNEM_CMD_BIND_OFFLOAD, &bind);
}

TEST(Limits, OffloadWorkerStaysOnTheCallersCpus)
{
	if (OnlineCpus() < 2)
		GTEST_SKIP() << "needs 2 CPUs";
	OpenDeviceToAll open_to_all;
	ASSERT_TRUE(open_to_all.ok());
	std::string verdict = RunInChild([]() -> std::string {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (::sched_setaffinity(0, sizeof(set), &set) != 0)
			return "sched_setaffinity failed";
		std::string msg = BecomeNobody();
		if (!msg.empty())
			return msg;
		// CPU 1 is not the caller's to give.
		Fd fd = OpenKnem(O_RDWR);
		msg += Expect("CUSTOM {1} from CPU 0", BindCustom(fd.get(), 2),
			      Err{EINVAL});
		msg += Expect("CUSTOM {0,1} from CPU 0", BindCustom(fd.get(), 3),
			      Ok());
		StatusMap map;
		std::string aff = MapAndGetWorkerAffinity(fd.get(), &map);
		if (aff != CpuList({0}))
			msg += "CUSTOM {0,1}: worker on " + aff + "; ";
		// CURRENT_REVERSED: no other CPU is the caller's.
		Fd fd2 = OpenKnem(O_RDWR);
		knem_cmd_bind_offload bind;
		memset(&bind, 0, sizeof(bind));
		bind.flags = KNEM_BIND_FLAG_CURRENT_REVERSED;
		msg += Expect("CURRENT_REVERSED", Ioctl(fd2.get(),
			      KNEM_CMD_BIND_OFFLOAD, &bind), Ok());
		StatusMap map2;
		aff = MapAndGetWorkerAffinity(fd2.get(), &map2);
		if (aff != CpuList({0}))
			msg += "CURRENT_REVERSED: worker on " + aff + "; ";
		return msg;
	});
	EXPECT_EQ("", verdict);
	// binding=0 (all CPUs) stays within the mapper's CPUs too.
	ParamGuard all(ParamPath("binding"), "0");
	ASSERT_TRUE(all.ok());
	verdict = RunInChild([]() -> std::string {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(1, &set);
		if (::sched_setaffinity(0, sizeof(set), &set) != 0)
			return "sched_setaffinity failed";
		std::string msg = BecomeNobody();
		if (!msg.empty())
			return msg;
		Fd fd = OpenKnem(O_RDWR);
		StatusMap map;
		std::string aff = MapAndGetWorkerAffinity(fd.get(), &map);
		if (aff != CpuList({1}))
			msg += "binding=0: worker on " + aff + "; ";
		return msg;
	});
	EXPECT_EQ("", verdict);
}

TEST(Limits, OffloadWorkersPerUserAreBounded)
{
	unsigned long long max = 0;
	EXPECT_TRUE(ReadParamU64("maxworkers", &max));
	EXPECT_EQ(4u * static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_CONF)),
		  max) << "the default: 4 per possible CPU";
	ParamGuard two(ParamPath("maxworkers"), "2");
	EXPECT_TRUE(two.ok());
	OpenDeviceToAll open_to_all;
	ASSERT_TRUE(open_to_all.ok());
	const long long refused = ReadLimitLine(kRefusedWorkers);
	std::string verdict = RunInChild([]() -> std::string {
		std::string msg = BecomeNobody();
		if (!msg.empty())
			return msg;
		Fd a = OpenKnem(O_RDWR), b = OpenKnem(O_RDWR),
		   c = OpenKnem(O_RDWR);
		StatusMap ma, mb, mc;
		msg += Expect("first", ma.Map(a.get(), 1), Ok());
		msg += Expect("second", mb.Map(b.get(), 1), Ok());
		msg += Expect("third", mc.Map(c.get(), 1), Err{EAGAIN});
		// Another user is not charged with nobody's workers.
		ma.Unmap();
		a.reset();
		msg += Expect("after a close", mc.Map(c.get(), 1), Ok());
		return msg;
	});
	EXPECT_EQ("", verdict);
	EXPECT_EQ(refused + 1, ReadLimitLine(kRefusedWorkers));
	// Root's own budget is untouched by nobody's.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	StatusMap map;
	EXPECT_EQ(Ok(), map.Map(fd.get(), 1));
}

// ---- item 11: writable long-term pins of shared file mappings -------------

class RamfsDir {
public:
	RamfsDir()
	{
		char tmpl[] = "/tmp/knem-ramfs-XXXXXX";
		if (!::mkdtemp(tmpl))
			return;
		dir_ = tmpl;
		if (::mount("none", dir_.c_str(), "ramfs", 0, "") == 0)
			mounted_ = true;
		else
			error_ = std::string("mount ramfs: ") + strerror(errno);
	}
	~RamfsDir()
	{
		if (mounted_)
			::umount2(dir_.c_str(), MNT_DETACH);
		if (!dir_.empty())
			::rmdir(dir_.c_str());
	}
	bool ok() const { return mounted_; }
	const std::string &error() const { return error_; }
	const std::string &dir() const { return dir_; }

private:
	std::string dir_, error_ = "mkdtemp failed";
	bool mounted_ = false;
};

TEST(Limits, WritablePinsOfSharedFileMappingsAreRefused)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	RamfsDir ramfs;
	ASSERT_TRUE(ramfs.ok()) << ramfs.error();
	const size_t len = 2 * kPage;
	std::string path = ramfs.dir() + "/file";
	Fd file(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	ASSERT_TRUE(file.valid()) << strerror(errno);
	ASSERT_EQ(0, ::ftruncate(file.get(), len));
	Mapping shared(0);
	void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 file.get(), 0);
	ASSERT_NE(MAP_FAILED, p) << strerror(errno);
	shared.reset(p, len);
	FillPattern(shared.data(), len, 77);
	knem_cookie_t c = 0;
	// A region that may be written: the filesystem's pages, pinned for
	// write for as long as the region lives.
	EXPECT_EQ(Err{EFAULT}, CreateRegion(fd.get(), shared.data(), len, kRW,
					    0, &c));
	EXPECT_EQ(Err{EFAULT}, CreateRegion(fd.get(), shared.data(), len,
					    KNEM_PROT_WRITE, 0, &c));
	// Read-only regions are pinned read-only, and work.
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), shared.data(), len,
				     KNEM_PROT_READ, 0, &c));
	std::vector<uint8_t> out(len);
	uint32_t status = kStatusSentinel;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, false,
				      c, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), PatternBytes(len, 77).data(), len));
	// A private mapping of the same file breaks copy-on-write: allowed.
	void *q = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			 file.get(), 0);
	ASSERT_NE(MAP_FAILED, q) << strerror(errno);
	Mapping priv(0);
	priv.reset(q, len);
	EXPECT_EQ(Ok(), CreateRegion(fd.get(), priv.data(), len, kRW, 0, &c));
	// The inline copies' short pins of such memory stay allowed.
	std::vector<uint8_t> src = PatternBytes(len, 78);
	Mapping target(len);
	knem_cookie_t ct = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), target.data(), len, kRW, 0,
				     &ct));
	status = kStatusSentinel;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(shared.data(), len)},
				      false, ct, 0, KNEM_FLAG_PINLOCAL,
				      &status),
			   status));
}

TEST(Limits, SharedMemoryStaysPinnableForWrite)
{
	// What MPI libraries register: shm_open/memfd, MAP_SHARED anonymous
	// memory, SysV-like shmem; all of it shmem.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 4 * kPage;
	knem_cookie_t c = 0;
	KNEM_MAP_OR_FAIL(shared_anon, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS);
	EXPECT_EQ(Ok(), CreateRegion(fd.get(), shared_anon.data(), len, kRW, 0,
				     &c));
	Fd mfd(::memfd_create("knem-test", MFD_CLOEXEC));
	ASSERT_TRUE(mfd.valid()) << strerror(errno);
	ASSERT_EQ(0, ::ftruncate(mfd.get(), len));
	void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 mfd.get(), 0);
	ASSERT_NE(MAP_FAILED, p) << strerror(errno);
	Mapping memfd_map(0);
	memfd_map.reset(p, len);
	EXPECT_EQ(Ok(), CreateRegion(fd.get(), memfd_map.data(), len, kRW, 0,
				     &c));
	// And a copy through it lands in the file's pages.
	std::vector<uint8_t> src = PatternBytes(len, 79);
	uint32_t status = kStatusSentinel;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(src.data(), len)}, true,
				      c, 0, 0, &status),
			   status));
	std::vector<uint8_t> back(len);
	ASSERT_EQ(ssize_t(len), ::pread(mfd.get(), back.data(), len, 0));
	EXPECT_TRUE(SameBytes(back.data(), src.data(), len));
}

} // namespace
