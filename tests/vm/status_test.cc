// SPDX-License-Identifier: BSD-3-Clause
//
// current_status of synchronous requests (knem-abi.md §2 "current_status /
// status-slot semantics"; knem-clients.md, behaviours 2 and 7).
#include "knem_vm_test.h"

using namespace knemtest;

namespace {

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;

TEST(Status, SyncCopiesReportSuccess)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(1000, 1), b(1000);
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), b.size(), kRW, 0, &cb));
	// The status field comes back SUCCESS whatever it held before.
	for (uint32_t before : {0u, 2u, 0xffffffffu, kStatusSentinel}) {
		uint32_t status = before;
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(b.data(), 10)},
					      false, ca, 0, 0, &status),
				   status));
		status = before;
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(b.data(), 10)}, true,
					      ca, 0, 0, &status),
				   status));
		status = before;
		EXPECT_TRUE(SyncOk(InlineCopyBounded(fd.get(), {Iov(b.data(), 10)},
						     false, ca, 0, 5, 0, &status),
				   status));
		status = before;
		EXPECT_TRUE(SyncOk(Copy(fd.get(), ca, 0, cb, 0, 0, &status),
				   status));
		status = before;
		EXPECT_TRUE(SyncOk(CopyBounded(fd.get(), ca, 0, cb, 0, 7, 0,
					       &status),
				   status));
	}
}

TEST(Status, ZeroByteCopiesReportSuccess)
{
	// Even when nothing is copied because an offset is past the end,
	// the length bound is 0, or there are no local iovecs.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(1000, 1), b = PatternBytes(1000, 2);
	std::vector<uint8_t> a0 = a, b0 = b;
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), b.size(), kRW, 0, &cb));
	std::vector<knem_cmd_param_iovec> none;
	for (uint64_t off : {1000ull, 1001ull, 1ull << 32, ~0ull}) {
		for (bool write : {false, true}) {
			uint32_t status = 0;
			EXPECT_TRUE(SyncOk(InlineCopy(fd.get(),
						      {Iov(b.data(), 100)}, write,
						      ca, off, 0, &status),
					   status))
				<< "offset " << off << " write " << write;
			status = 0;
			EXPECT_TRUE(SyncOk(InlineCopyBounded(fd.get(),
							     {Iov(b.data(), 100)},
							     write, ca, off, ~0ull,
							     0, &status),
					   status))
				<< "offset " << off << " write " << write;
		}
		uint32_t status = 0;
		EXPECT_TRUE(SyncOk(Copy(fd.get(), ca, off, cb, 0, 0, &status),
				   status));
		status = 0;
		EXPECT_TRUE(SyncOk(Copy(fd.get(), ca, 0, cb, off, 0, &status),
				   status));
		status = 0;
		EXPECT_TRUE(SyncOk(CopyBounded(fd.get(), ca, off, cb, off, 100, 0,
					       &status),
				   status));
	}
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(CopyBounded(fd.get(), ca, 0, cb, 0, 0, 0, &status),
			   status));
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopyBounded(fd.get(), {Iov(b.data(), 100)}, true,
					     ca, 0, 0, 0, &status),
			   status));
	for (bool write : {false, true}) {
		status = 0;
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), none, write, ca, 0, 0,
					      &status),
				   status));
		status = 0;
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(b.data(), 0)}, write,
					      ca, 0, 0, &status),
				   status));
	}
	EXPECT_TRUE(SameBytes(a.data(), a0.data(), a.size(), "region a"));
	EXPECT_TRUE(SameBytes(b.data(), b0.data(), b.size(), "region b"));
}

TEST(Status, InlineReadIntoBadLocalMemoryFailsCleanly)
{
	// write=0 without PINLOCAL copies to the caller's memory with
	// copy_to_user: a bad local address is reported by the ioctl
	// returning 0 with current_status FAILED (knem-abi.md §2,
	// INLINE_COPY, [measured]).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> a = PatternBytes(3 * kPage, 3);
	knem_cookie_t ca = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	KNEM_MAP_OR_FAIL(ro, kPage, PROT_READ);
	std::vector<uint8_t> good(100, 0);
	const std::vector<std::vector<knem_cmd_param_iovec>> cases = {
		{Iov(UnmappedAddress(), 2 * kPage)},
		{Iov(ro.data(), 100)},
		{Iov(good.data(), 100), Iov(UnmappedAddress(), kPage)},
	};
	for (const auto &local : cases) {
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Ok(), InlineCopy(fd.get(), local, false, ca, 0, 0,
					   &status))
			<< "local iovec 0x" << std::hex << local.back().base;
		EXPECT_EQ(uint32_t(KNEM_STATUS_FAILED), status)
			<< "local iovec 0x" << std::hex << local.back().base;
		status = kStatusSentinel;
		EXPECT_EQ(Ok(), InlineCopyBounded(fd.get(), local, false, ca, 0,
						  2 * kPage, 0, &status));
		EXPECT_EQ(uint32_t(KNEM_STATUS_FAILED), status);
	}
	// The region and the fd are still fine.
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(good.data(), 100)}, false,
				      ca, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(good.data(), a.data(), 100));
}

TEST(Status, SyncRequestsLeaveTheStatusArrayAlone)
{
	// A synchronous request does not touch the slot at
	// async_status_index (MPICH polls that slot anyway), and the index
	// need not be valid.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	void *p = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd.get(), KNEM_STATUS_ARRAY_FILE_OFFSET);
	ASSERT_NE(MAP_FAILED, p) << strerror(errno);
	auto *slots = static_cast<volatile knem_status_t *>(p);
	for (size_t i = 0; i < kPage; i++)
		ASSERT_EQ(KNEM_STATUS_PENDING, slots[i]) << "slot " << i;
	slots[5] = 0x77;
	slots[6] = KNEM_STATUS_SUCCESS;

	std::vector<uint8_t> a = PatternBytes(500, 4), b(500);
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), a.data(), a.size(), kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), b.data(), b.size(), kRW, 0, &cb));
	for (uint32_t index : {0u, 5u, 6u, 4096u, 0xffffffffu}) {
		knem_cmd_inline_copy copy;
		memset(&copy, 0, sizeof(copy));
		knem_cmd_param_iovec iov = Iov(b.data(), 500);
		copy.local_iovec_array = Addr(&iov);
		copy.local_iovec_nr = 1;
		copy.remote_cookie = ca;
		copy.async_status_index = index;
		EXPECT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_INLINE_COPY, &copy))
			<< "index " << index;
		EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), copy.current_status);

		knem_cmd_copy_bounded rcopy;
		memset(&rcopy, 0, sizeof(rcopy));
		rcopy.src_cookie = ca;
		rcopy.dst_cookie = cb;
		rcopy.length = 100;
		rcopy.async_status_index = index;
		EXPECT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_COPY_BOUNDED, &rcopy))
			<< "index " << index;
		EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), rcopy.current_status);
	}
	EXPECT_EQ(0x77, slots[5]);
	EXPECT_EQ(KNEM_STATUS_SUCCESS, slots[6]);
	EXPECT_EQ(KNEM_STATUS_PENDING, slots[0]);
	for (size_t i = 7; i < kPage; i++)
		ASSERT_EQ(KNEM_STATUS_PENDING, slots[i]) << "slot " << i;
	::munmap(p, kPage);
}

} // namespace
