// SPDX-License-Identifier: BSD-3-Clause
//
// The pre-0xc commands still served by ABI 0xd: INIT_SEND, SYNC_RECV and
// INIT_ASYNC_RECV (knem-abi.md §2 "Old API").
#include "knem_vm_test.h"

using namespace knemtest;

namespace {

Err InitSend(int fd, const std::vector<knem_cmd_param_iovec> &iovs,
	     uint32_t flags, knem_cookie_t *cookie)
{
	knem_cmd_init_send_param send;
	memset(&send, 0, sizeof(send));
	send.send_iovec_array = Addr(iovs.data());
	send.send_iovec_nr = static_cast<uint32_t>(iovs.size());
	send.flags = flags;
	Err e = Ioctl(fd, KNEM_CMD_INIT_SEND, &send);
	*cookie = send.send_cookie;
	return e;
}

Err SyncRecv(int fd, const std::vector<knem_cmd_param_iovec> &iovs,
	     knem_cookie_t cookie, uint32_t flags, uint32_t *status)
{
	knem_cmd_sync_recv_param recv;
	memset(&recv, 0, sizeof(recv));
	recv.recv_iovec_array = Addr(iovs.data());
	recv.recv_iovec_nr = static_cast<uint32_t>(iovs.size());
	recv.send_cookie = cookie;
	recv.flags = flags;
	recv.status = *status;
	Err e = Ioctl(fd, KNEM_CMD_SYNC_RECV, &recv);
	*status = recv.status;
	return e;
}

TEST(Legacy, InitSendThenSyncRecv)
{
	KNEM_OPEN_OR_FAIL(sender, O_RDWR);
	KNEM_OPEN_OR_FAIL(receiver, O_RDWR);
	std::vector<uint8_t> data = PatternBytes(3 * kPage + 11, 1);
	std::vector<knem_cmd_param_iovec> send_iovs = {
		Iov(data.data(), 100), Iov(data.data() + 101, kPage),
		Iov(data.data() + kPage + 200, data.size() - kPage - 200)};
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), InitSend(sender.get(), send_iovs, 0, &cookie));
	EXPECT_NE(0u, cookie);

	std::vector<uint8_t> out(data.size() + 50, 0x11);
	std::vector<knem_cmd_param_iovec> recv_iovs = {
		Iov(out.data() + 1, 1000), Iov(out.data() + 1003, out.size() - 1003)};
	uint32_t status = kStatusSentinel;
	ASSERT_EQ(Ok(), SyncRecv(receiver.get(), recv_iovs, cookie, 0, &status));
	EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status);
	std::vector<uint8_t> want(out.size(), 0x11);
	std::vector<uint8_t> stream = Gather(send_iovs);
	ModelScatter(want, out.data(), recv_iovs, 0, stream.data(),
		     std::min(stream.size(), size_t(TotalLength(recv_iovs))));
	EXPECT_TRUE(SameBytes(out.data(), want.data(), out.size()));

	// The INIT_SEND region was single-use.
	status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, SyncRecv(receiver.get(), recv_iovs, cookie, 0,
					&status));
	EXPECT_EQ(kStatusSentinel, status);
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(sender.get(), cookie));
}

TEST(Legacy, InitSendRegionIsReadOnlyAndSingleUse)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> data = PatternBytes(500, 2);
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), InitSend(fd.get(), {Iov(data.data(), data.size())}, 0,
				 &cookie));
	// Writing into it: EACCES, and that does not consume it.
	std::vector<uint8_t> in = PatternBytes(500, 3);
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Err{EACCES}, InlineCopy(fd.get(), {Iov(in.data(), in.size())},
					  true, cookie, 0, 0, &status));
	EXPECT_EQ(kStatusSentinel, status);
	std::vector<uint8_t> other(500);
	knem_cookie_t dst = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), other.data(), other.size(),
				     KNEM_PROT_READ | KNEM_PROT_WRITE, 0, &dst));
	EXPECT_EQ(Err{EACCES}, Copy(fd.get(), dst, 0, cookie, 0, 0, &status));
	EXPECT_EQ(kStatusSentinel, status);
	// Reading it works once, through the new API too.
	std::vector<uint8_t> out(500);
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), out.size())},
				      false, cookie, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), data.data(), data.size()));
	status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, InlineCopy(fd.get(), {Iov(out.data(), out.size())},
					  false, cookie, 0, 0, &status));
	EXPECT_EQ(kStatusSentinel, status);
	// INIT_SEND takes the create flags: ANY_USER_ACCESS is fine,
	// SINGLEUSE is implied.
	ASSERT_EQ(Ok(), InitSend(fd.get(), {Iov(data.data(), 10)},
				 KNEM_FLAG_ANY_USER_ACCESS, &cookie));
	ASSERT_EQ(Ok(), InitSend(fd.get(), {Iov(data.data(), 10)},
				 KNEM_FLAG_SINGLEUSE, &cookie));
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), 10)}, false,
				      cookie, 0, 0, &status),
			   status));
	status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, InlineCopy(fd.get(), {Iov(out.data(), 10)}, false,
					  cookie, 0, 0, &status));
}

TEST(Legacy, SyncRecvFromANewRegionAndZeroLength)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> data = PatternBytes(kPage, 4);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), data.data(), data.size(),
				     KNEM_PROT_READ, 0, &c));
	std::vector<uint8_t> out(kPage / 2);
	uint32_t status = 0xff;
	ASSERT_EQ(Ok(), SyncRecv(fd.get(), {Iov(out.data(), out.size())}, c, 0,
				 &status));
	EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status);
	EXPECT_TRUE(SameBytes(out.data(), data.data(), out.size()));
	// Persistent region: it can be received again, and 0 bytes too.
	status = 0;
	ASSERT_EQ(Ok(), SyncRecv(fd.get(), {}, c, 0, &status));
	EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status);
}

TEST(Legacy, SyncRecvFlags)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> data = PatternBytes(kPage, 5), out(kPage);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), data.data(), data.size(),
				     KNEM_PROT_READ, 0, &c));
	// NOTIFY_FD (with or without a thread flag) is refused ...
	for (uint32_t flags : {static_cast<uint32_t>(KNEM_FLAG_NOTIFY_FD),
			       static_cast<uint32_t>(KNEM_FLAG_NOTIFY_FD |
						     KNEM_FLAG_MEMCPYTHREAD)}) {
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, SyncRecv(fd.get(),
						{Iov(out.data(), out.size())}, c,
						flags, &status))
			<< "flags 0x" << std::hex << flags;
		EXPECT_EQ(kStatusSentinel, status);
	}
	// ... while async bits are stripped: the receive is synchronous
	// even without a status array.
	for (uint32_t flags : {static_cast<uint32_t>(KNEM_FLAG_MEMCPYTHREAD),
			       static_cast<uint32_t>(KNEM_FLAG_ASYNCDMACOMPLETE),
			       static_cast<uint32_t>(KNEM_FLAG_PINLOCAL)}) {
		uint32_t status = 0;
		std::fill(out.begin(), out.end(), 0);
		EXPECT_EQ(Ok(), SyncRecv(fd.get(), {Iov(out.data(), out.size())},
					 c, flags, &status))
			<< "flags 0x" << std::hex << flags;
		EXPECT_EQ(uint32_t(KNEM_STATUS_SUCCESS), status);
		EXPECT_TRUE(SameBytes(out.data(), data.data(), out.size()));
	}
}

TEST(Legacy, InitAsyncRecvNeedsTheStatusArray)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> data = PatternBytes(kPage, 6), out(kPage, 0);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), data.data(), data.size(),
				     KNEM_PROT_READ, KNEM_FLAG_SINGLEUSE, &c));
	knem_cmd_param_iovec iov = Iov(out.data(), out.size());
	for (uint32_t flags : {0u, static_cast<uint32_t>(KNEM_FLAG_MEMCPYTHREAD)}) {
		knem_cmd_init_async_recv_param recv;
		memset(&recv, 0, sizeof(recv));
		recv.recv_iovec_array = Addr(&iov);
		recv.recv_iovec_nr = 1;
		recv.status_index = 0;
		recv.send_cookie = c;
		recv.flags = flags;
		EXPECT_EQ(Err{EINVAL},
			  Ioctl(fd.get(), KNEM_CMD_INIT_ASYNC_RECV, &recv))
			<< "flags 0x" << std::hex << flags;
	}
	// Nothing was copied and the single-use region was not consumed.
	for (uint8_t b : out)
		ASSERT_EQ(0, b);
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), out.size())},
				      false, c, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), data.data(), out.size()));
}

TEST(Legacy, InitAsyncRecvWithStatusArray)
{
	// With the status array mapped, the old async receive completes and
	// reports through the slot (synchronously here: no thread flag).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	void *p = ::mmap(nullptr, 64, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd.get(), KNEM_STATUS_ARRAY_FILE_OFFSET);
	ASSERT_NE(MAP_FAILED, p) << strerror(errno);
	auto *slots = static_cast<volatile knem_status_t *>(p);
	std::vector<uint8_t> data = PatternBytes(kPage + 3, 7), out(kPage + 3, 0);
	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), InitSend(fd.get(), {Iov(data.data(), data.size())}, 0,
				 &c));
	knem_cmd_param_iovec iov = Iov(out.data(), out.size());
	knem_cmd_init_async_recv_param recv;
	memset(&recv, 0, sizeof(recv));
	recv.recv_iovec_array = Addr(&iov);
	recv.recv_iovec_nr = 1;
	recv.status_index = 23;
	recv.send_cookie = c;
	slots[23] = 0x55;
	ASSERT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_INIT_ASYNC_RECV, &recv));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, slots[23]);
	EXPECT_TRUE(SameBytes(out.data(), data.data(), out.size()));
	// An index past the array is EINVAL.
	ASSERT_EQ(Ok(), InitSend(fd.get(), {Iov(data.data(), data.size())}, 0,
				 &c));
	recv.send_cookie = c;
	recv.status_index = 4096;
	EXPECT_EQ(Err{EINVAL}, Ioctl(fd.get(), KNEM_CMD_INIT_ASYNC_RECV, &recv));
	::munmap(p, 64);
}

} // namespace
