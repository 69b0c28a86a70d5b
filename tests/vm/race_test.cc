// SPDX-License-Identifier: BSD-3-Clause
//
// Regions that die while other threads copy through them: every copy either
// completes or fails with the documented errno, later copies fail, and the
// kernel stays clean (the VM harness fails the run on BUG/WARNING/Oops).
#include "knem_vm_test.h"

#include <atomic>
#include <chrono>
#include <thread>

using namespace knemtest;

namespace {

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;
constexpr int kRounds = 20;

// Copies through `cookie` in a loop until told to stop; records outcomes.
class Copier {
public:
	enum Allow { kEinval = 1, kEfault = 2, kFailedStatus = 4 };

	// allow: the outcomes accepted besides success (Allow bits).
	Copier(int fd, knem_cookie_t cookie, size_t len, int allow)
		: allow_einval(allow & kEinval), allow_efault(allow & kEfault),
		  allow_failed_status(allow & kFailedStatus), fd_(fd),
		  cookie_(cookie), buf_(len)
	{
		thread_ = std::thread([this] { Run(); });
		while (copies_.load() < 2 && !done_.load())
			std::this_thread::yield();
	}
	~Copier() { Stop(); }

	void Stop()
	{
		stop_ = true;
		if (thread_.joinable())
			thread_.join();
	}
	// The first unexpected outcome, and counts of the expected ones
	// (read them after Stop()).
	std::string unexpected;
	int ok = 0, failed_status = 0, einval = 0, efault = 0;

private:
	const bool allow_einval, allow_efault, allow_failed_status;

	void Run()
	{
		while (!stop_) {
			uint32_t status = kStatusSentinel;
			Err e = InlineCopy(fd_, {Iov(buf_.data(), buf_.size())},
					   false, cookie_, 0, 0, &status);
			copies_++;
			if (e == Ok() && status == KNEM_STATUS_SUCCESS) {
				ok++;
			} else if (e == Ok() && status == KNEM_STATUS_FAILED &&
				   allow_failed_status) {
				failed_status++;
			} else if (e == Err{EINVAL} && allow_einval &&
				   status == kStatusSentinel) {
				einval++;
			} else if (e == Err{EFAULT} && allow_efault &&
				   status == kStatusSentinel) {
				efault++;
			} else if (unexpected.empty()) {
				std::ostringstream os;
				os << "copy returned " << e << " with status "
				   << status;
				unexpected = os.str();
			}
		}
		done_ = true;
	}

	int fd_;
	knem_cookie_t cookie_;
	std::vector<uint8_t> buf_;
	std::thread thread_;
	std::atomic<bool> stop_{false}, done_{false};
	std::atomic<long> copies_{0};
};

TEST(Race, DestroyWhileAnotherFdCopies)
{
	KNEM_OPEN_OR_FAIL(owner, O_RDWR);
	KNEM_OPEN_OR_FAIL(user, O_RDWR);
	const size_t len = 256 * 1024;
	std::vector<uint8_t> mem = PatternBytes(len, 1);
	for (int round = 0; round < kRounds; round++) {
		knem_cookie_t c = 0;
		ASSERT_EQ(Ok(), CreateRegion(owner.get(), mem.data(), len,
					     KNEM_PROT_READ, 0, &c));
		Copier copier(user.get(), c, len, Copier::kEinval);
		ASSERT_EQ(Ok(), DestroyRegion(owner.get(), c));
		copier.Stop();
		EXPECT_EQ("", copier.unexpected) << "round " << round;
		std::vector<uint8_t> out(16);
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, InlineCopy(user.get(), {Iov(out.data(), 16)},
						  false, c, 0, 0, &status));
	}
}

TEST(Race, CloseWhileAnotherFdCopies)
{
	KNEM_OPEN_OR_FAIL(user, O_RDWR);
	const size_t len = 256 * 1024;
	std::vector<uint8_t> mem = PatternBytes(len, 2);
	for (int round = 0; round < kRounds; round++) {
		Fd owner = OpenKnem(O_RDWR);
		ASSERT_TRUE(owner.valid());
		knem_cookie_t c = 0;
		ASSERT_EQ(Ok(), CreateRegion(owner.get(), mem.data(), len, kRW,
					     round % 2 ? KNEM_FLAG_ANY_USER_ACCESS
						       : 0,
					     &c));
		Copier copier(user.get(), c, len, Copier::kEinval);
		owner.reset();
		copier.Stop();
		EXPECT_EQ("", copier.unexpected) << "round " << round;
		std::vector<uint8_t> out(16);
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, InlineCopy(user.get(), {Iov(out.data(), 16)},
						  false, c, 0, 0, &status));
	}
}

TEST(Race, UnmapWhileAnotherFdCopies)
{
	KNEM_OPEN_OR_FAIL(owner, O_RDWR);
	KNEM_OPEN_OR_FAIL(user, O_RDWR);
	const size_t len = 256 * 1024;
	for (int round = 0; round < kRounds; round++) {
		void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, p);
		FillPattern(p, len, 3);
		knem_cookie_t c = 0;
		ASSERT_EQ(Ok(), CreateRegion(owner.get(), p, len, kRW, 0, &c));
		// A copy that overlaps the unmap may complete (SUCCESS), or
		// notice it afterwards (FAILED); new ones fail with EFAULT.
		Copier copier(user.get(), c, len,
			      Copier::kEfault | Copier::kFailedStatus);
		ASSERT_EQ(0, ::munmap(p, len));
		copier.Stop();
		EXPECT_EQ("", copier.unexpected) << "round " << round;
		std::vector<uint8_t> out(16);
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Err{EFAULT}, InlineCopy(user.get(), {Iov(out.data(), 16)},
						  false, c, 0, 0, &status));
		EXPECT_EQ(Ok(), DestroyRegion(owner.get(), c));
	}
}

TEST(Race, KilledDuringLongCopies)
{
	// A process killed in the middle of long copies dies promptly and
	// takes its regions with it.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 16u << 20;
	Channel to_parent;
	ASSERT_TRUE(to_parent.ok());
	Child child;
	ASSERT_TRUE(child.Start([&]() -> std::string {
		Fd own = OpenKnem(O_RDWR);
		std::vector<uint8_t> src(len, 7), dst(len);
		knem_cookie_t c = 0;
		if (!own.valid() || CreateRegion(own.get(), src.data(), len,
						 KNEM_PROT_READ, 0, &c) != Ok()) {
			to_parent.Send(0);
			return "child setup failed";
		}
		to_parent.Send(c);
		for (;;) {
			uint32_t status = 0;
			InlineCopy(own.get(), {Iov(dst.data(), len)}, false, c, 0,
				   KNEM_FLAG_PINLOCAL, &status);
		}
	}));
	uint64_t c = 0;
	ASSERT_TRUE(to_parent.Recv(&c)) << child.Wait();
	ASSERT_NE(0u, c) << child.Wait();
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	auto t0 = std::chrono::steady_clock::now();
	::kill(child.pid(), SIGKILL);
	std::string verdict = child.Wait();
	double secs = std::chrono::duration<double>(
			      std::chrono::steady_clock::now() - t0)
			      .count();
	EXPECT_NE(std::string::npos, verdict.find("signal 9")) << verdict;
	EXPECT_LT(secs, 20.0) << "the killed child took long to die";
	std::vector<uint8_t> out(16);
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, InlineCopy(fd.get(), {Iov(out.data(), 16)}, false,
					  c, 0, 0, &status));
}

} // namespace
