// SPDX-License-Identifier: BSD-3-Clause
//
// classic_flags_test.cc - the flag values classic KNEM clients pass
// (issue 15 item 6, knem-abi.md decision 1, doc/abi.md "Flags").
//
// Upstream KNEM 1.1's own `make check` runs its tools with -F 63: every
// bit of the -F range 0..63 (KNEM_FLAG_SINGLEUSE and the DMA-only bits
// included) goes into copy commands, and the classic driver dropped the
// bits that do not apply to a command.  So does this driver: a copy
// ignores SINGLEUSE and ANY_USER_ACCESS, a create ignores the copy bits.
// Bits outside the classic set (0xff) stay EINVAL.
#include "async_helpers.h"

using namespace knemtest;
using knemasync::kRW;
using knemasync::kSlotSentinel;
using knemasync::StatusMap;
using knemasync::WaitSlot;

namespace {

// Odd, over several pages, so that every copy path splits it.
constexpr size_t kLen = 3 * kPage + 123;
constexpr uint32_t kToolFlagValues = 64;	// -F 0..63
// Every bit the classic driver knew (0xff).
constexpr uint32_t kClassicSet =
	KNEM_FLAG_ANY_CREATE_MASK | KNEM_FLAG_ANY_COPY_MASK;

enum class Cmd { kInline, kInlineBounded, kCopy, kCopyBounded };

const char *CmdName(Cmd c)
{
	switch (c) {
	case Cmd::kInline:
		return "INLINE_COPY";
	case Cmd::kInlineBounded:
		return "INLINE_COPY_BOUNDED";
	case Cmd::kCopy:
		return "COPY";
	case Cmd::kCopyBounded:
		return "COPY_BOUNDED";
	}
	return "?";
}

bool HasDma(int fd)
{
	knem_cmd_info info;
	return GetInfo(fd, &info) == Ok() && (info.features & KNEM_FEATURE_DMA);
}

// What a classic tool sends for -F f: without a DMA channel it drops
// KNEM_FLAG_DMA itself ("DMA support not available, ignoring it").
uint32_t ToolFlags(uint32_t f, bool dma)
{
	return dma ? f : f & ~static_cast<uint32_t>(KNEM_FLAG_DMA);
}

// As knem_loopback waits: a PENDING request is polled on its slot.  The
// status is taken by reference, as SyncOk() takes it: read only once the
// copy given as `e` ran.
::testing::AssertionResult Completed(Err e, const uint32_t &current_status,
				     const StatusMap &slots, uint32_t slot)
{
	uint32_t status = current_status;

	if (e != Ok())
		return ::testing::AssertionFailure()
		       << "ioctl failed with " << e;
	if (status == KNEM_STATUS_PENDING)
		status = WaitSlot(slots, slot);
	if (status != KNEM_STATUS_SUCCESS)
		return ::testing::AssertionFailure()
		       << "status " << status << " (want SUCCESS=1)";
	return ::testing::AssertionSuccess();
}

// One copy between `remote` (a region on `remote_buf`) and the local side
// (the caller's iovec for the inline commands, a region on `local_buf`
// for the others).  write: the local side is the source.
Err RunCopy(int fd, Cmd cmd, bool write, knem_cookie_t remote,
	    knem_cookie_t local_region, uint8_t *local_buf, uint32_t flags,
	    uint32_t *status)
{
	switch (cmd) {
	case Cmd::kInline:
		return InlineCopy(fd, {Iov(local_buf, kLen)}, write, remote, 0,
				  flags, status);
	case Cmd::kInlineBounded:
		return InlineCopyBounded(fd, {Iov(local_buf, kLen)}, write,
					 remote, 0, kLen, flags, status, 0);
	case Cmd::kCopy:
		return write ? Copy(fd, local_region, 0, remote, 0, flags, status)
			     : Copy(fd, remote, 0, local_region, 0, flags,
				    status);
	case Cmd::kCopyBounded:
		return write ? CopyBounded(fd, local_region, 0, remote, 0, kLen,
					   flags, status, 0)
			     : CopyBounded(fd, remote, 0, local_region, 0, kLen,
					   flags, status, 0);
	}
	return Err{ENOSYS};
}

// knem_loopback's loop for every -F value: a single-use region per copy
// (or one cached region, -C), read (or written, -R) by INLINE_COPY with the
// tool's flags, slot 0 of a one-byte status array polled when PENDING; and
// the same for the bounded and the region-to-region commands.  Every copy
// is checked byte for byte; the single-use regions are consumed.
TEST(ClassicFlags, LoopbackEveryToolFlagValue)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	const bool dma = HasDma(fd.get());
	KNEM_MAP_OR_FAIL(remote_buf, kLen);
	KNEM_MAP_OR_FAIL(local_buf, kLen);
	int copies = 0;

	for (Cmd cmd : {Cmd::kInline, Cmd::kInlineBounded, Cmd::kCopy,
			Cmd::kCopyBounded}) {
		for (bool cache : {false, true}) {
			for (bool write : {false, true}) {
				SCOPED_TRACE(std::string(CmdName(cmd)) +
					     (cache ? " cached" : " single-use") +
					     (write ? " write" : " read"));
				const uint32_t prot = write ? KNEM_PROT_WRITE
							    : KNEM_PROT_READ;
				knem_cookie_t cached = 0, local_region = 0;
				if (cache) {
					ASSERT_EQ(Ok(),
						  CreateRegion(fd.get(),
							       remote_buf.data(),
							       kLen, prot, 0,
							       &cached));
				}
				if (cmd == Cmd::kCopy || cmd == Cmd::kCopyBounded) {
					ASSERT_EQ(Ok(),
						  CreateRegion(fd.get(),
							       local_buf.data(),
							       kLen, kRW, 0,
							       &local_region));
				}
				for (uint32_t f = 0; f < kToolFlagValues; f++) {
					const uint32_t flags = ToolFlags(f, dma);
					const uint64_t seed = f * 8 + copies;
					uint8_t *src = write ? local_buf.data()
							     : remote_buf.data();
					uint8_t *dst = write ? remote_buf.data()
							     : local_buf.data();
					FillPattern(src, kLen, seed);
					FillPattern(dst, kLen, seed + 0x5555);
					knem_cookie_t remote = cached;
					if (!cache) {
						ASSERT_EQ(Ok(),
							  CreateRegion(
								  fd.get(),
								  remote_buf.data(),
								  kLen, prot,
								  KNEM_FLAG_SINGLEUSE,
								  &remote))
							<< "-F " << f;
					}
					slots.Store(0, kSlotSentinel);
					uint32_t status = kStatusSentinel;
					Err e = RunCopy(fd.get(), cmd, write, remote,
							local_region,
							local_buf.data(), flags,
							&status);
					ASSERT_TRUE(Completed(e, status, slots, 0))
						<< "-F " << f << " (flags 0x"
						<< std::hex << flags << ")";
					ASSERT_TRUE(SameBytes(
						dst, PatternBytes(kLen, seed).data(),
						kLen, "destination"))
						<< "-F " << f;
					if (!cache) {
						EXPECT_EQ(Err{EINVAL},
							  DestroyRegion(fd.get(),
									remote))
							<< "-F " << f
							<< ": the single-use region"
							   " outlived its copy";
					}
					copies++;
				}
				if (cache) {
					EXPECT_EQ(Ok(), DestroyRegion(fd.get(), cached));
				}
				if (local_region) {
					EXPECT_EQ(Ok(), DestroyRegion(fd.get(),
								      local_region));
				}
			}
		}
	}
	EXPECT_EQ(4 * 2 * 2 * 64, copies);
}

// The create bits in a copy are dropped too: -F f plus ANY_USER_ACCESS
// (0x80), the other create bit, the -F range does not reach.
TEST(ClassicFlags, CopiesIgnoreTheCreateBits)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	const bool dma = HasDma(fd.get());
	KNEM_MAP_OR_FAIL(remote_buf, kLen);
	KNEM_MAP_OR_FAIL(local_buf, kLen);
	knem_cookie_t region = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), remote_buf.data(), kLen, kRW, 0,
				     &region));
	FillPattern(remote_buf.data(), kLen, 7);
	for (uint32_t f = 0; f < kToolFlagValues; f++) {
		const uint32_t flags = ToolFlags(f, dma) |
				       KNEM_FLAG_ANY_USER_ACCESS |
				       KNEM_FLAG_SINGLEUSE;
		memset(local_buf.data(), 0, kLen);
		uint32_t status = kStatusSentinel;
		ASSERT_TRUE(Completed(InlineCopy(fd.get(),
						 {Iov(local_buf.data(), kLen)},
						 false, region, 0, flags,
						 &status),
				      status, slots, 0))
			<< "flags 0x" << std::hex << flags;
		ASSERT_TRUE(SameBytes(local_buf.data(),
				      PatternBytes(kLen, 7).data(), kLen));
	}
	// SINGLEUSE in a copy does not make the region single-use.
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), region));
}

// A create ignores the copy bits: every value of the classic set (0..255)
// makes a region, single-use exactly when KNEM_FLAG_SINGLEUSE is set;
// INIT_SEND (always single-use) too.
TEST(ClassicFlags, CreateIgnoresTheCopyBits)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, 2 * kPage);
	std::vector<uint8_t> local(100);
	for (uint32_t f = 0; f <= kClassicSet; f++) {
		const bool single = f & KNEM_FLAG_SINGLEUSE;
		knem_cookie_t cookie = 0;
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), 2 * kPage, kRW,
					     f, &cookie))
			<< "CREATE_REGION flags 0x" << std::hex << f;
		uint32_t status = kStatusSentinel;
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), 100)},
					      false, cookie, 0, 0, &status),
				   status))
			<< "flags 0x" << std::hex << f;
		EXPECT_EQ(single ? Err{EINVAL} : Ok(),
			  DestroyRegion(fd.get(), cookie))
			<< "flags 0x" << std::hex << f;

		knem_cmd_param_iovec iov = Iov(buf.data(), 100);
		knem_cmd_init_send_param send;
		memset(&send, 0, sizeof(send));
		send.send_iovec_array = Addr(&iov);
		send.send_iovec_nr = 1;
		send.flags = f;
		ASSERT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_INIT_SEND, &send))
			<< "INIT_SEND flags 0x" << std::hex << f;
		status = kStatusSentinel;
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), 100)},
					      false, send.send_cookie, 0, 0,
					      &status),
				   status));
		EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), send.send_cookie))
			<< "INIT_SEND flags 0x" << std::hex << f;
	}
}

// The old receive commands take -F values as copies do.
TEST(ClassicFlags, LegacyReceivesEveryToolFlagValue)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	const bool dma = HasDma(fd.get());
	KNEM_MAP_OR_FAIL(send_buf, kLen);
	KNEM_MAP_OR_FAIL(recv_buf, kLen);
	knem_cmd_param_iovec send_iov = Iov(send_buf.data(), kLen);
	knem_cmd_param_iovec recv_iov = Iov(recv_buf.data(), kLen);
	for (uint32_t f = 0; f < kToolFlagValues; f++) {
		const uint32_t flags = ToolFlags(f, dma);
		for (bool async : {false, true}) {
			const uint64_t seed = 2 * f + async;
			FillPattern(send_buf.data(), kLen, seed);
			memset(recv_buf.data(), 0, kLen);
			knem_cmd_init_send_param send;
			memset(&send, 0, sizeof(send));
			send.send_iovec_array = Addr(&send_iov);
			send.send_iovec_nr = 1;
			send.flags = flags;
			ASSERT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_INIT_SEND, &send))
				<< "-F " << f;
			if (async) {
				knem_cmd_init_async_recv_param recv;
				memset(&recv, 0, sizeof(recv));
				recv.recv_iovec_array = Addr(&recv_iov);
				recv.recv_iovec_nr = 1;
				recv.status_index = 0;
				recv.send_cookie = send.send_cookie;
				recv.flags = flags;
				slots.Store(0, kSlotSentinel);
				ASSERT_EQ(Ok(), Ioctl(fd.get(),
						      KNEM_CMD_INIT_ASYNC_RECV,
						      &recv))
					<< "INIT_ASYNC_RECV -F " << f;
				ASSERT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 0))
					<< "INIT_ASYNC_RECV -F " << f;
			} else {
				knem_cmd_sync_recv_param recv;
				memset(&recv, 0, sizeof(recv));
				recv.recv_iovec_array = Addr(&recv_iov);
				recv.recv_iovec_nr = 1;
				recv.send_cookie = send.send_cookie;
				recv.flags = flags;
				ASSERT_TRUE(SyncOk(Ioctl(fd.get(),
							 KNEM_CMD_SYNC_RECV,
							 &recv),
						   recv.status))
					<< "SYNC_RECV -F " << f;
			}
			ASSERT_TRUE(SameBytes(recv_buf.data(),
					      PatternBytes(kLen, seed).data(),
					      kLen))
				<< (async ? "INIT_ASYNC_RECV" : "SYNC_RECV")
				<< " -F " << f;
		}
	}
}

// Bits outside the classic set fail with EINVAL on every create and copy
// command, alone or with every classic bit, and the refusal changes
// nothing: the status, the slot and the single-use region are untouched.
TEST(ClassicFlags, BitsOutsideTheClassicSetAreEinval)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), 1);
	KNEM_MAP_OR_FAIL(buf, 2 * kPage);
	knem_cookie_t single = 0, dst = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, kRW,
				     KNEM_FLAG_SINGLEUSE, &single));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + kPage, kPage, kRW, 0,
				     &dst));
	std::vector<uint8_t> local(64);
	knem_cmd_param_iovec iov = Iov(local.data(), 64);
	std::vector<uint32_t> bad;
	for (int bit = 8; bit < 32; bit++) {
		bad.push_back(1u << bit);
		bad.push_back((1u << bit) | (kToolFlagValues - 1));
		bad.push_back((1u << bit) | kClassicSet);
	}
	bad.push_back(~0u);
	for (uint32_t flags : bad) {
		SCOPED_TRACE("flags 0x" + knemasync::Hex(flags));
		knem_cookie_t cookie = 0;
		EXPECT_EQ(Err{EINVAL}, CreateRegion(fd.get(), buf.data(), 16, kRW,
						    flags, &cookie));
		knem_cmd_init_send_param send;
		memset(&send, 0, sizeof(send));
		send.send_iovec_array = Addr(&iov);
		send.send_iovec_nr = 1;
		send.flags = flags;
		EXPECT_EQ(Err{EINVAL}, Ioctl(fd.get(), KNEM_CMD_INIT_SEND, &send));

		slots.Store(0, kSlotSentinel);
		for (Cmd cmd : {Cmd::kInline, Cmd::kInlineBounded, Cmd::kCopy,
				Cmd::kCopyBounded}) {
			for (bool write : {false, true}) {
				uint32_t status = kStatusSentinel;
				EXPECT_EQ(Err{EINVAL},
					  RunCopy(fd.get(), cmd, write, single,
						  dst, local.data(), flags,
						  &status))
					<< CmdName(cmd) << (write ? " write"
								  : " read");
				EXPECT_EQ(kStatusSentinel, status) << CmdName(cmd);
			}
		}
		knem_cmd_sync_recv_param recv;
		memset(&recv, 0, sizeof(recv));
		recv.recv_iovec_array = Addr(&iov);
		recv.recv_iovec_nr = 1;
		recv.send_cookie = single;
		recv.flags = flags;
		recv.status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, Ioctl(fd.get(), KNEM_CMD_SYNC_RECV, &recv));
		EXPECT_EQ(kStatusSentinel, recv.status);
		knem_cmd_init_async_recv_param arecv;
		memset(&arecv, 0, sizeof(arecv));
		arecv.recv_iovec_array = Addr(&iov);
		arecv.recv_iovec_nr = 1;
		arecv.send_cookie = single;
		arecv.flags = flags;
		EXPECT_EQ(Err{EINVAL},
			  Ioctl(fd.get(), KNEM_CMD_INIT_ASYNC_RECV, &arecv));
		EXPECT_EQ(kSlotSentinel, slots.Load(0));
	}
	// The single-use region was never consumed.
	uint32_t status = kStatusSentinel;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {iov}, false, single, 0, 0,
				      &status),
			   status));
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), single));
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), dst));
}

} // namespace
