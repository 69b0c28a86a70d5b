// SPDX-License-Identifier: BSD-3-Clause
//
// Region lifetime: DESTROY_REGION, SINGLEUSE, the owner's file and process
// (knem-abi.md §2 DESTROY_REGION, §6; knem-clients.md behaviour 4).
#include "knem_vm_test.h"

#include <atomic>
#include <thread>

using namespace knemtest;

namespace {

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;

Err ReadRegion(int fd, knem_cookie_t cookie, void *out, size_t len)
{
	uint32_t status = kStatusSentinel;
	Err e = InlineCopy(fd, {Iov(out, len)}, false, cookie, 0, 0, &status);
	if (e == Ok() && status != KNEM_STATUS_SUCCESS)
		return Err{20000 + static_cast<int>(status)};
	if (e != Ok() && status != kStatusSentinel)
		return Err{30000 + e.value};
	return e;
}

TEST(Lifetime, DestroyedRegionIsEinval)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(100, 1), b(100);
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), 100, kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), 100, kRW, 0, &cb));
	ASSERT_EQ(Ok(), ReadRegion(fd.get(), ca, b.data(), 100));
	ASSERT_EQ(Ok(), DestroyRegion(fd.get(), ca));
	EXPECT_EQ(Err{EINVAL}, ReadRegion(fd.get(), ca, b.data(), 100));
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, InlineCopy(fd.get(), {Iov(b.data(), 100)}, true,
					  ca, 0, 0, &status));
	EXPECT_EQ(Err{EINVAL}, Copy(fd.get(), ca, 0, cb, 0, 0, &status));
	EXPECT_EQ(Err{EINVAL}, Copy(fd.get(), cb, 0, ca, 0, 0, &status));
	EXPECT_EQ(Err{EINVAL}, CopyBounded(fd.get(), ca, 0, cb, 0, 1, 0, &status));
	EXPECT_EQ(kStatusSentinel, status);
	// Destroying twice fails the second time.
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), ca));
	// The other region is untouched.
	EXPECT_EQ(Ok(), ReadRegion(fd.get(), cb, a.data(), 100));
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), cb));
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), cb));
}

TEST(Lifetime, SingleUseRegionIsConsumedByItsFirstUse)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_OPEN_OR_FAIL(other, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(300, 2), b(300), c(300);
	knem_cookie_t s1 = 0, s2 = 0, s3 = 0, s4 = 0, plain = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), 300, KNEM_PROT_READ,
				     KNEM_FLAG_SINGLEUSE, &s1));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), 300, KNEM_PROT_READ,
				     KNEM_FLAG_SINGLEUSE, &s2));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), 300, KNEM_PROT_WRITE,
				     KNEM_FLAG_SINGLEUSE, &s3));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), c.data(), 300, kRW,
				     KNEM_FLAG_SINGLEUSE, &s4));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), c.data(), 300, kRW, 0, &plain));

	// INLINE_COPY consumes it...
	EXPECT_EQ(Ok(), ReadRegion(fd.get(), s1, b.data(), 300));
	EXPECT_EQ(Err{EINVAL}, ReadRegion(fd.get(), s1, b.data(), 300));
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), s1));
	// ... and COPY consumes both of its single-use regions.
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(Copy(fd.get(), s2, 0, s3, 0, 0, &status), status));
	EXPECT_TRUE(SameBytes(b.data(), a.data(), 300));
	status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, Copy(fd.get(), s2, 0, plain, 0, 0, &status));
	EXPECT_EQ(Err{EINVAL}, Copy(fd.get(), plain, 0, s3, 0, 0, &status));
	EXPECT_EQ(kStatusSentinel, status);
	// A use through another fd consumes it for the owner too, even when
	// the copy moves 0 bytes.
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(other.get(), {Iov(b.data(), 10)}, false, s4,
				      1000, 0, &status),
			   status));
	EXPECT_EQ(Err{EINVAL}, ReadRegion(fd.get(), s4, b.data(), 10));
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), s4));
	// The persistent region over the same memory is still there.
	EXPECT_EQ(Ok(), ReadRegion(fd.get(), plain, b.data(), 300));
	EXPECT_EQ(Ok(), ReadRegion(fd.get(), plain, b.data(), 300));
}

TEST(Lifetime, SingleUseConcurrentUsersExactlyOneWins)
{
	KNEM_OPEN_OR_FAIL(owner, O_RDWR);
	KNEM_OPEN_OR_FAIL(fd1, O_RDWR);
	KNEM_OPEN_OR_FAIL(fd2, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(4 * kPage, 3);
	const int rounds = 100;
	int bad_rounds = 0;
	std::string first_bad;
	for (int round = 0; round < rounds; round++) {
		knem_cookie_t c = 0;
		ASSERT_EQ(Ok(), CreateRegion(owner.get(), a.data(), a.size(),
					     KNEM_PROT_READ, KNEM_FLAG_SINGLEUSE,
					     &c));
		std::atomic<int> ready{0};
		Err results[2];
		auto user = [&](int i, int fd) {
			std::vector<uint8_t> out(a.size());
			ready++;
			while (ready.load() < 2)
				;
			results[i] = ReadRegion(fd, c, out.data(), out.size());
		};
		std::thread t1(user, 0, fd1.get()), t2(user, 1, fd2.get());
		t1.join();
		t2.join();
		int wins = (results[0] == Ok()) + (results[1] == Ok());
		int losses = (results[0] == Err{EINVAL}) +
			     (results[1] == Err{EINVAL});
		if (wins != 1 || losses != 1) {
			if (!bad_rounds) {
				std::ostringstream os;
				os << "round " << round << ": " << results[0]
				   << " and " << results[1];
				first_bad = os.str();
			}
			bad_rounds++;
		}
	}
	EXPECT_EQ(0, bad_rounds) << first_bad;
}

TEST(Lifetime, DestroyFromAnotherFdIsEinval)
{
	KNEM_OPEN_OR_FAIL(owner, O_RDWR);
	KNEM_OPEN_OR_FAIL(other, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(64, 4), b(64);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(owner.get(), a.data(), 64, kRW, 0, &c));
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(other.get(), c));
	// Also through a second open by the same process of course; the
	// region is still alive for everybody.
	EXPECT_EQ(Ok(), ReadRegion(other.get(), c, b.data(), 64));
	EXPECT_EQ(Ok(), ReadRegion(owner.get(), c, b.data(), 64));
	EXPECT_EQ(Ok(), DestroyRegion(owner.get(), c));
	EXPECT_EQ(Err{EINVAL}, ReadRegion(other.get(), c, b.data(), 64));
}

TEST(Lifetime, RegionsDieWithTheirFd)
{
	KNEM_OPEN_OR_FAIL(user, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(2 * kPage, 5), b(2 * kPage);
	knem_cookie_t mine = 0;
	ASSERT_EQ(Ok(), CreateRegion(user.get(), b.data(), b.size(), kRW, 0,
				     &mine));
	std::vector<knem_cookie_t> theirs;
	{
		KNEM_OPEN_OR_FAIL(owner, O_RDWR);
		for (uint32_t flags :
		     {0u, static_cast<uint32_t>(KNEM_FLAG_SINGLEUSE),
		      static_cast<uint32_t>(KNEM_FLAG_ANY_USER_ACCESS)}) {
			knem_cookie_t c = 0;
			ASSERT_EQ(Ok(), CreateRegion(owner.get(), a.data(),
						     a.size(), kRW, flags, &c));
			theirs.push_back(c);
		}
		EXPECT_EQ(Ok(), ReadRegion(user.get(), theirs[0], b.data(),
					   b.size()));
	} // close(owner)
	for (knem_cookie_t c : theirs) {
		EXPECT_EQ(Err{EINVAL}, ReadRegion(user.get(), c, b.data(),
						  b.size()))
			<< "cookie " << std::hex << c;
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, Copy(user.get(), c, 0, mine, 0, 0, &status));
		EXPECT_EQ(Err{EINVAL}, Copy(user.get(), mine, 0, c, 0, 0, &status));
		EXPECT_EQ(kStatusSentinel, status);
		EXPECT_EQ(Err{EINVAL}, DestroyRegion(user.get(), c));
	}
	EXPECT_EQ(Ok(), ReadRegion(user.get(), mine, a.data(), 10));
}

TEST(Lifetime, ManyFdsComeAndGo)
{
	KNEM_OPEN_OR_FAIL(user, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(kPage, 6), b(kPage);
	std::vector<Fd> fds;
	std::vector<knem_cookie_t> cookies;
	for (int i = 0; i < 200; i++) {
		Fd fd = OpenKnem(O_RDWR);
		ASSERT_TRUE(fd.valid()) << "fd " << i << ": " << strerror(errno);
		knem_cookie_t c = 0;
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data() + i, 17, kRW, 0,
					     &c));
		cookies.push_back(c);
		fds.push_back(std::move(fd));
	}
	for (int i = 0; i < 200; i += 37)
		EXPECT_EQ(Ok(), ReadRegion(user.get(), cookies[i], b.data(), 17));
	fds.clear();
	for (int i = 0; i < 200; i++)
		EXPECT_EQ(Err{EINVAL}, ReadRegion(user.get(), cookies[i],
						  b.data(), 17))
			<< "fd " << i;
}

TEST(Lifetime, RegionsDieWithTheirProcess)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	for (bool killed : {false, true}) {
		Channel to_parent, to_child;
		ASSERT_TRUE(to_parent.ok() && to_child.ok());
		Child child;
		ASSERT_TRUE(child.Start([&]() -> std::string {
			Fd own = OpenKnem(O_RDWR);
			std::vector<uint8_t> mem = PatternBytes(3 * kPage, 7);
			knem_cookie_t c = 0;
			if (!own.valid() ||
			    CreateRegion(own.get(), mem.data(), mem.size(), kRW,
					 0, &c) != Ok()) {
				to_parent.Send(0);
				return "child cannot create a region";
			}
			to_parent.Send(c);
			uint64_t go;
			to_child.Recv(&go);
			// Exit without closing the fd ourselves.
			::_exit(0);
		}));
		uint64_t c = 0;
		ASSERT_TRUE(to_parent.Recv(&c)) << child.Wait();
		ASSERT_NE(0u, c) << child.Wait();
		std::vector<uint8_t> out(3 * kPage);
		EXPECT_EQ(Ok(), ReadRegion(fd.get(), c, out.data(), out.size()));
		EXPECT_TRUE(SameBytes(out.data(),
				      PatternBytes(3 * kPage, 7).data(),
				      out.size()));
		if (killed)
			::kill(child.pid(), SIGKILL);
		else
			to_child.Send(1);
		std::string verdict = child.Wait();
		if (!killed) {
			EXPECT_EQ("", verdict);
		}
		EXPECT_EQ(Err{EINVAL}, ReadRegion(fd.get(), c, out.data(),
						  out.size()))
			<< (killed ? "after SIGKILL" : "after exit");
	}
}

TEST(Lifetime, RegionsLiveUntilTheLastCloseOfTheFile)
{
	// A forked child shares the owner's open file: the regions live
	// until the last descriptor of that file is closed.
	std::vector<uint8_t> a = PatternBytes(kPage, 8), b(kPage);
	KNEM_OPEN_OR_FAIL(user, O_RDWR);
	KNEM_OPEN_OR_FAIL(owner, O_RDWR);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(owner.get(), a.data(), a.size(),
				     KNEM_PROT_READ, 0, &c));
	Fd dup_fd(::dup(owner.get()));
	ASSERT_TRUE(dup_fd.valid());
	owner.reset();
	EXPECT_EQ(Ok(), ReadRegion(user.get(), c, b.data(), b.size()))
		<< "the region died while a dup() of its fd is open";

	Channel to_child;
	ASSERT_TRUE(to_child.ok());
	Child child;
	ASSERT_TRUE(child.Start([&]() -> std::string {
		uint64_t go;
		to_child.Recv(&go);
		return "";
	}));
	dup_fd.reset(); // the child still holds the file
	EXPECT_EQ(Ok(), ReadRegion(user.get(), c, b.data(), b.size()))
		<< "the region died while a child holds its file";
	to_child.Send(1);
	EXPECT_EQ("", child.Wait());
	EXPECT_EQ(Err{EINVAL}, ReadRegion(user.get(), c, b.data(), b.size()))
		<< "the region outlived the last close of its file";
}

} // namespace
