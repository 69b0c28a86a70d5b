// SPDX-License-Identifier: BSD-3-Clause
//
// Reuse of the pins of consumed single-use regions (the singleusereuse
// parameter): the file keeps them for the next single-use region over the
// same range of the same process.  A reused region must read what its
// owner maps now: never the pages of memory unmapped meanwhile, never
// another process's memory at the same address; kept pins stay charged
// to RLIMIT_MEMLOCK without making a creation fail, are bounded per file,
// and go when the file is closed.
#include <sys/resource.h>

#include "async_helpers.h"

using namespace knemtest;
using namespace knemasync;

namespace {

constexpr uint32_t kSingle = KNEM_FLAG_SINGLEUSE;

// Waits up to a second for VmPin to be `kb` (a stale kept range is
// dropped by a worker); returns the last value read.
long long WaitVmPinKb(long long kb)
{
	long long now = VmPinKb();
	for (int i = 0; i < 100 && now != kb; i++) {
		::usleep(10000);
		now = VmPinKb();
	}
	return now;
}

unsigned long long KeptPerFile()
{
	unsigned long long n = 0;
	if (!ReadParamU64("singleusereuse", &n))
		return 0;
	return n;
}

// Creates a single-use region over [p, p + len) and reads it whole into
// `out` through the same file; "" or what went wrong.
std::string SendAndReceive(int fd, const void *p, size_t len, uint8_t *out)
{
	knem_cookie_t c = 0;
	std::string msg = Expect("create", CreateRegion(fd, p, len,
			    KNEM_PROT_READ, kSingle, &c), Ok());
	if (!msg.empty())
		return msg;
	uint32_t status = 0;
	msg += Expect("read", InlineCopy(fd, {Iov(out, len)}, false, c, 0, 0,
					 &status), Ok());
	if (msg.empty() && status != KNEM_STATUS_SUCCESS)
		msg += "status " + std::to_string(status) + "; ";
	return msg;
}

std::string PinDiff(long long got, long long want, const char *when)
{
	if (got == want)
		return "";
	return std::string("VmPin ") + std::to_string(got) + " kB " + when +
	       ", want " + std::to_string(want) + "; ";
}

TEST(PinReuse, ReusedPinsCarryTheNewData)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	for (size_t len : {size_t(100), kPage, 16 * kPage, size_t(1) << 20}) {
		SCOPED_TRACE(std::to_string(len) + " bytes");
		KNEM_MAP_OR_FAIL(buf, len);
		std::vector<uint8_t> out(len);
		for (uint64_t round = 0; round < 6; round++) {
			FillPattern(buf.data(), len, 1000 + round);
			ASSERT_EQ("", SendAndReceive(fd.get(), buf.data(), len,
						     out.data()));
			ASSERT_TRUE(SameBytes(out.data(), buf.data(), len))
				<< "round " << round;
		}
	}
}

TEST(PinReuse, WindowsOfRegionsOverOneBuffer)
{
	// The benchmark's pattern: 16 single-use regions over the same
	// buffer, then 16 reads, again and again.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 64 << 10;
	KNEM_MAP_OR_FAIL(buf, len);
	std::vector<uint8_t> out(len);
	for (uint64_t round = 0; round < 5; round++) {
		SCOPED_TRACE("round " + std::to_string(round));
		FillPattern(buf.data(), len, 2000 + round);
		knem_cookie_t c[16];
		for (auto &cookie : c)
			ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), len,
						     KNEM_PROT_READ, kSingle,
						     &cookie));
		for (auto cookie : c) {
			memset(out.data(), 0, len);
			uint32_t status = 0;
			ASSERT_TRUE(SyncOk(InlineCopy(fd.get(),
						      {Iov(out.data(), len)},
						      false, cookie, 0, 0,
						      &status),
					   status));
			ASSERT_TRUE(SameBytes(out.data(), buf.data(), len));
		}
	}
}

TEST(PinReuse, KeptPinsAreChargedAndBoundedPerFile)
{
	const unsigned long long kept = KeptPerFile();
	if (!kept)
		GTEST_SKIP() << "singleusereuse is 0";
	std::string verdict = RunInChild([&]() -> std::string {
		std::string msg;
		Fd fd = OpenKnem(O_RDWR);
		const size_t nr = kept + 4;
		Mapping buf(nr * kPage);
		std::vector<uint8_t> out(kPage);
		if (!fd.valid() || !buf.ok())
			return "open or mmap failed";
		msg += PinDiff(VmPinKb(), 0, "at first");
		msg += SendAndReceive(fd.get(), buf.data(), kPage, out.data());
		// consumed, and kept
		msg += PinDiff(VmPinKb(), 4, "after one message");
		msg += SendAndReceive(fd.get(), buf.data(), kPage, out.data());
		msg += PinDiff(VmPinKb(), 4, "after the same message again");
		for (size_t i = 0; i < nr; i++)
			msg += SendAndReceive(fd.get(), buf.data() + i * kPage,
					      kPage, out.data());
		msg += PinDiff(VmPinKb(), static_cast<long long>(kept) * 4,
			       "after more ranges than the file keeps");
		return msg;
	});
	EXPECT_EQ("", verdict);
}

TEST(PinReuse, ParameterZeroKeepsNothing)
{
	ParamGuard off(ParamPath("singleusereuse"), "0");
	ASSERT_TRUE(off.ok()) << "no singleusereuse parameter";
	std::string verdict = RunInChild([]() -> std::string {
		std::string msg;
		Fd fd = OpenKnem(O_RDWR);
		Mapping buf(16 * kPage);
		std::vector<uint8_t> out(16 * kPage);
		if (!fd.valid() || !buf.ok())
			return "open or mmap failed";
		for (int round = 0; round < 3; round++) {
			FillPattern(buf.data(), buf.size(), 3000 + round);
			msg += SendAndReceive(fd.get(), buf.data(), buf.size(),
					      out.data());
			if (memcmp(out.data(), buf.data(), buf.size()))
				msg += "wrong data; ";
			msg += PinDiff(VmPinKb(), 0, "after a message");
		}
		return msg;
	});
	EXPECT_EQ("", verdict);
}

TEST(PinReuse, MunmapBetweenRegionsIsSeen)
{
	std::string verdict = RunInChild([]() -> std::string {
		std::string msg;
		Fd fd = OpenKnem(O_RDWR);
		const size_t len = 16 * kPage;
		std::vector<uint8_t> out(len);
		void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (!fd.valid() || p == MAP_FAILED)
			return "open or mmap failed";
		FillPattern(p, len, 4000);
		msg += SendAndReceive(fd.get(), p, len, out.data());
		msg += SendAndReceive(fd.get(), p, len, out.data());
		if (memcmp(out.data(), p, len))
			msg += "wrong data before munmap; ";

		// Unmapped: nothing to pin, and the kept pins go.
		::munmap(p, len);
		knem_cookie_t c = 0;
		msg += Expect("create over unmapped memory", CreateRegion(
			      fd.get(), p, len, KNEM_PROT_READ, kSingle, &c),
			      Err{EFAULT});
		msg += PinDiff(WaitVmPinKb(0), 0, "after munmap");

		// New memory at the same address: its own pages.
		void *q = ::mmap(p, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (q != p)
			return msg + "mmap at the same address failed";
		FillPattern(q, len, 4001);
		msg += SendAndReceive(fd.get(), q, len, out.data());
		if (memcmp(out.data(), q, len))
			msg += "old pages after munmap + mmap; ";

		// munmap + mmap at once, the kept pins never asked for.
		msg += SendAndReceive(fd.get(), q, len, out.data());
		::munmap(q, len);
		q = ::mmap(p, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (q != p)
			return msg + "second mmap at the same address failed";
		FillPattern(q, len, 4002);
		msg += SendAndReceive(fd.get(), q, len, out.data());
		if (memcmp(out.data(), q, len))
			msg += "old pages after a second munmap + mmap; ";

		// MADV_DONTNEED drops the pages without unmapping them.
		msg += SendAndReceive(fd.get(), q, len, out.data());
		if (::madvise(q, len, MADV_DONTNEED))
			return msg + "madvise failed";
		FillPattern(q, len, 4003);
		msg += SendAndReceive(fd.get(), q, len, out.data());
		if (memcmp(out.data(), q, len))
			msg += "old pages after MADV_DONTNEED; ";
		::munmap(q, len);
		return msg;
	});
	EXPECT_EQ("", verdict);
}

TEST(PinReuse, ForkedChildNeverGetsTheParentsPins)
{
	// The child shares the file (same context) and the address, not
	// the memory: the parent's kept pins are not for it.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 16 * kPage;
	KNEM_MAP_OR_FAIL(buf, len);
	FillPattern(buf.data(), len, 5000);
	Channel go, done;
	ASSERT_TRUE(go.ok() && done.ok());
	Child child;
	ASSERT_TRUE(child.Start([&]() -> std::string {
		uint64_t v = 0;
		if (!go.Recv(&v))
			return "no go from the parent";
		FillPattern(buf.data(), len, 5001);
		std::vector<uint8_t> out(len);
		std::string msg;
		for (int round = 0; round < 2; round++) {
			msg += SendAndReceive(fd.get(), buf.data(), len,
					      out.data());
			if (memcmp(out.data(), buf.data(), len))
				msg += "the child read other memory; ";
		}
		done.Send(1);
		return msg;
	}));
	// Created after the fork: the parent's own pages, kept.
	FillPattern(buf.data(), len, 5002);
	std::vector<uint8_t> out(len);
	ASSERT_EQ("", SendAndReceive(fd.get(), buf.data(), len, out.data()));
	ASSERT_TRUE(SameBytes(out.data(), buf.data(), len));
	ASSERT_TRUE(go.Send(1));
	uint64_t v = 0;
	EXPECT_TRUE(done.Recv(&v));
	EXPECT_EQ("", child.Wait());
	// The parent's next message still reads the parent's memory.
	ASSERT_EQ("", SendAndReceive(fd.get(), buf.data(), len, out.data()));
	EXPECT_TRUE(SameBytes(out.data(), buf.data(), len));
	EXPECT_TRUE(SameBytes(out.data(), PatternBytes(len, 5002).data(), len));
}

std::string SetMemlock(rlim_t bytes)
{
	struct rlimit rl = {bytes, bytes};
	if (::setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return std::string("setrlimit: ") + strerror(errno);
	return "";
}

TEST(PinReuse, KeptPinsNeverMakeACreationFail)
{
	if (!KeptPerFile())
		GTEST_SKIP() << "singleusereuse is 0";
	OpenDeviceToAll open_to_all;
	ASSERT_TRUE(open_to_all.ok());
	std::string verdict = RunInChild([]() -> std::string {
		std::string msg = SetMemlock(1 << 20);
		if (msg.empty())
			msg = BecomeNobody();
		if (!msg.empty())
			return msg;
		Fd fd = OpenKnem(O_RDWR);
		Mapping buf(1 << 20), other(1 << 20);
		std::vector<uint8_t> out(1 << 20);
		if (!fd.valid() || !buf.ok() || !other.ok())
			return "open or mmap failed";
		// Two messages of 512 KiB, kept: the whole limit.
		msg += SendAndReceive(fd.get(), buf.data(), 512 << 10,
				      out.data());
		msg += SendAndReceive(fd.get(), buf.data() + (512 << 10),
				      512 << 10, out.data());
		msg += PinDiff(VmPinKb(), 1024, "with two kept messages");
		// A message elsewhere: the kept pins make room.
		msg += SendAndReceive(fd.get(), other.data(), 64 << 10,
				      out.data());
		msg += PinDiff(VmPinKb(), 64, "after a message elsewhere");
		// A cached region of the whole limit.
		knem_cookie_t c = 0;
		msg += Expect("1 MiB cached region", CreateRegion(fd.get(),
			      buf.data(), 1 << 20, KNEM_PROT_READ, 0, &c),
			      Ok());
		msg += PinDiff(VmPinKb(), 1024, "with the cached region");
		// Over the limit still fails.
		msg += Expect("one page more", CreateRegion(fd.get(),
			      other.data(), kPage, KNEM_PROT_READ, kSingle,
			      &c), Err{ENOMEM});
		return msg;
	});
	EXPECT_EQ("", verdict);
}

TEST(PinReuse, ClosingTheFileUnpins)
{
	if (!KeptPerFile())
		GTEST_SKIP() << "singleusereuse is 0";
	std::string verdict = RunInChild([]() -> std::string {
		std::string msg;
		Mapping buf(64 * kPage);
		std::vector<uint8_t> out(64 * kPage);
		if (!buf.ok())
			return "mmap failed";
		for (int round = 0; round < 3; round++) {
			Fd fd = OpenKnem(O_RDWR);
			if (!fd.valid())
				return "open failed";
			msg += SendAndReceive(fd.get(), buf.data(), 64 * kPage,
					      out.data());
			msg += SendAndReceive(fd.get(), buf.data(), 4 * kPage,
					      out.data());
			msg += PinDiff(VmPinKb(), 4 * 68, "with kept pins");
			fd.reset();
			// the release of the file's last reference unpins
			msg += PinDiff(WaitVmPinKb(0), 0, "after close");
		}
		return msg;
	});
	EXPECT_EQ("", verdict);
}

} // namespace
