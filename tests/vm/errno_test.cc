// SPDX-License-Identifier: BSD-3-Clause
//
// The errno of every command (knem-abi.md §1, §2, §6; decisions 1, 7).
#include "knem_vm_test.h"

#include <random>

using namespace knemtest;

namespace {

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;

struct Command {
	const char *name;
	unsigned long cmd;
};

const Command kCommands[] = {
	{"GET_INFO", KNEM_CMD_GET_INFO},
	{"BIND_OFFLOAD", KNEM_CMD_BIND_OFFLOAD},
	{"INIT_SEND", KNEM_CMD_INIT_SEND},
	{"CREATE_REGION", KNEM_CMD_CREATE_REGION},
	{"DESTROY_REGION", KNEM_CMD_DESTROY_REGION},
	{"INIT_ASYNC_RECV", KNEM_CMD_INIT_ASYNC_RECV},
	{"SYNC_RECV", KNEM_CMD_SYNC_RECV},
	{"COPY", KNEM_CMD_COPY},
	{"INLINE_COPY", KNEM_CMD_INLINE_COPY},
	{"COPY_BOUNDED", KNEM_CMD_COPY_BOUNDED},
	{"INLINE_COPY_BOUNDED", KNEM_CMD_INLINE_COPY_BOUNDED},
};

TEST(Errno, ReadOnlyFdIsEbadfForEveryCommand)
{
	KNEM_OPEN_OR_FAIL(ro, O_RDONLY);
	KNEM_OPEN_OR_FAIL(rw, O_RDWR);
	char byte = 0;
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(rw.get(), &byte, 1, kRW, 0, &cookie));
	knem_cmd_param_iovec iov = Iov(&byte, 1);
	for (const Command &c : kCommands) {
		// A plausible argument: a valid iovec and cookie where the
		// structure has them.
		uint64_t arg[8] = {};
		switch (c.cmd) {
		case KNEM_CMD_DESTROY_REGION:
			arg[0] = cookie;
			break;
		case KNEM_CMD_BIND_OFFLOAD:
			arg[0] = KNEM_BIND_FLAG_CURRENT;
			break;
		case KNEM_CMD_GET_INFO:
			break;
		case KNEM_CMD_COPY:
		case KNEM_CMD_COPY_BOUNDED:
			arg[0] = cookie;
			arg[2] = cookie;
			arg[4] = 1;
			break;
		default:
			arg[0] = Addr(&iov);
			arg[1] = 1; // iovec_nr, and flags or write = 0
			arg[2] = cookie;
			break;
		}
		EXPECT_EQ(Err{EBADF}, Ioctl(ro.get(), c.cmd, arg)) << c.name;
		EXPECT_EQ(Err{EBADF}, IoctlRaw(ro.get(), c.cmd, 0))
			<< c.name << " (NULL argument)";
	}
	// And mmap of the status array.
	void *p = ::mmap(nullptr, kPage, PROT_READ, MAP_SHARED, ro.get(), 0);
	EXPECT_EQ(MAP_FAILED, p);
	if (p == MAP_FAILED)
		EXPECT_EQ(Err{EBADF}, Err{errno}) << "mmap of an O_RDONLY fd";
	else
		::munmap(p, kPage);
	// The region is untouched by all this.
	char out = 1;
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(rw.get(), {Iov(&out, 1)}, false, cookie,
				      0, 0, &status),
			   status));
}

TEST(Errno, UnknownCommandsAreEnosys)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const unsigned long bad[] = {
		_IO('K', 0x99),
		_IO('K', 0x10),
		_IOC(_IOC_READ | _IOC_WRITE, 'K', 0x21, 40), // CREATE, size 40
		_IOC(_IOC_WRITE, 'K', 0x10, 20),	     // GET_INFO, size 20
		_IOR('K', 0x10, struct knem_cmd_info),	     // other direction
		_IOR('K', 0x33, struct knem_cmd_inline_copy_bounded),
		_IOR('K', 0x35, struct knem_cmd_inline_copy),
		_IOW('K', 0x22, knem_cookie_t),
		_IOR('K', 0x22, uint32_t),
		_IOW('k', 0x10, struct knem_cmd_info), // other magic
		_IOW('L', 0x10, struct knem_cmd_info),
		_IOR('K', 0x12, struct knem_cmd_bind_offload),
		_IOWR('K', 0x23, struct knem_cmd_create_region),
		_IOR('K', 0x36, struct knem_cmd_copy_bounded),
		_IOW('K', 0x0f, struct knem_cmd_info),
		0,
	};
	uint64_t arg[16] = {};
	for (unsigned long cmd : bad) {
		memset(arg, 0, sizeof(arg));
		EXPECT_EQ(Err{ENOSYS}, Ioctl(fd.get(), cmd, arg))
			<< "cmd 0x" << std::hex << cmd;
	}
	// The fd still works.
	knem_cmd_info info;
	EXPECT_EQ(Ok(), GetInfo(fd.get(), &info));
}

TEST(Errno, BadArgumentPointerIsEfault)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	void *bad[] = {nullptr, UnmappedAddress(), KernelAddress(),
		       reinterpret_cast<void *>(0x10)};
	for (const Command &c : kCommands)
		for (void *p : bad)
			EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), c.cmd, p))
				<< c.name << " with argument " << p;

	// A structure that starts on a mapped page and ends on an
	// unmapped one.
	KNEM_MAP_OR_FAIL(two, 2 * kPage);
	ASSERT_EQ(0, ::munmap(two.data() + kPage, kPage));
	two.reset(two.data(), kPage);
	for (const Command &c : kCommands) {
		if (c.cmd == KNEM_CMD_DESTROY_REGION)
			continue;
		void *straddle = two.data() + kPage - 8;
		memset(straddle, 0, 8);
		EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), c.cmd, straddle))
			<< c.name << " straddling an unmapped page";
	}
}

TEST(Errno, UnwritableResultIsEfault)
{
	// The command works but its answer cannot be written back: a clean
	// EFAULT (the classic driver hit a BUG_ON here).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	char byte = 3;
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), &byte, 1, kRW, 0, &cookie));
	knem_cmd_param_iovec iov = Iov(&byte, 1);

	KNEM_MAP_OR_FAIL(page, kPage);
	auto *create = reinterpret_cast<knem_cmd_create_region *>(page.data());
	create->iovec_array = Addr(&iov);
	create->iovec_nr = 1;
	create->flags = 0;
	create->protection = KNEM_PROT_READ;
	create->cookie = 0;
	ASSERT_EQ(0, ::mprotect(page.data(), kPage, PROT_READ));
	EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), KNEM_CMD_CREATE_REGION, create));
	EXPECT_EQ(0u, create->cookie);

	ASSERT_EQ(0, ::mprotect(page.data(), kPage, PROT_READ | PROT_WRITE));
	auto *copy = reinterpret_cast<knem_cmd_inline_copy *>(page.data());
	memset(copy, 0, sizeof(*copy));
	char out = 0;
	knem_cmd_param_iovec local = Iov(&out, 1);
	copy->local_iovec_array = Addr(&local);
	copy->local_iovec_nr = 1;
	copy->remote_cookie = cookie;
	copy->current_status = kStatusSentinel;
	ASSERT_EQ(0, ::mprotect(page.data(), kPage, PROT_READ));
	EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), KNEM_CMD_INLINE_COPY, copy));
	EXPECT_EQ(kStatusSentinel, copy->current_status);

	// The fd is still healthy.
	uint32_t status = 0;
	out = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(&out, 1)}, false, cookie,
				      0, 0, &status),
			   status));
	EXPECT_EQ(3, out);
}

TEST(Errno, BadIovecArrayIsEfault)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, kPage);
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, kRW, 0,
				     &cookie));

	// One valid iovec at the very end of a page followed by a hole.
	KNEM_MAP_OR_FAIL(two, 2 * kPage);
	ASSERT_EQ(0, ::munmap(two.data() + kPage, kPage));
	two.reset(two.data(), kPage);
	auto *last = reinterpret_cast<knem_cmd_param_iovec *>(
		two.data() + kPage - sizeof(knem_cmd_param_iovec));
	*last = Iov(buf.data(), 16);

	struct BadArray {
		uint64_t addr;
		uint32_t nr;
	};
	const BadArray arrays[] = {
		{0, 1},
		{Addr(UnmappedAddress()), 4},
		{Addr(KernelAddress()), 1},
		{Addr(last), 2},
	};
	for (const BadArray &a : arrays) {
		knem_cmd_create_region create;
		memset(&create, 0, sizeof(create));
		create.iovec_array = a.addr;
		create.iovec_nr = a.nr;
		create.protection = kRW;
		EXPECT_EQ(Err{EFAULT},
			  Ioctl(fd.get(), KNEM_CMD_CREATE_REGION, &create))
			<< "CREATE_REGION iovecs at 0x" << std::hex << a.addr;
		EXPECT_EQ(0u, create.cookie);

		knem_cmd_init_send_param send;
		memset(&send, 0, sizeof(send));
		send.send_iovec_array = a.addr;
		send.send_iovec_nr = a.nr;
		EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), KNEM_CMD_INIT_SEND, &send))
			<< "INIT_SEND iovecs at 0x" << std::hex << a.addr;

		for (uint32_t write : {0u, 1u}) {
			knem_cmd_inline_copy copy;
			memset(&copy, 0, sizeof(copy));
			copy.local_iovec_array = a.addr;
			copy.local_iovec_nr = a.nr;
			copy.write = write;
			copy.remote_cookie = cookie;
			copy.current_status = kStatusSentinel;
			EXPECT_EQ(Err{EFAULT},
				  Ioctl(fd.get(), KNEM_CMD_INLINE_COPY, &copy))
				<< "INLINE_COPY write=" << write
				<< " iovecs at 0x" << std::hex << a.addr;
			EXPECT_EQ(kStatusSentinel, copy.current_status);

			knem_cmd_inline_copy_bounded bcopy;
			memset(&bcopy, 0, sizeof(bcopy));
			bcopy.local_iovec_array = a.addr;
			bcopy.local_iovec_nr = a.nr;
			bcopy.write = write;
			bcopy.remote_cookie = cookie;
			bcopy.length = 8;
			bcopy.current_status = kStatusSentinel;
			EXPECT_EQ(Err{EFAULT},
				  Ioctl(fd.get(), KNEM_CMD_INLINE_COPY_BOUNDED,
					&bcopy))
				<< "INLINE_COPY_BOUNDED write=" << write
				<< " iovecs at 0x" << std::hex << a.addr;
			EXPECT_EQ(kStatusSentinel, bcopy.current_status);
		}

		knem_cmd_sync_recv_param recv;
		memset(&recv, 0, sizeof(recv));
		recv.recv_iovec_array = a.addr;
		recv.recv_iovec_nr = a.nr;
		recv.send_cookie = cookie;
		recv.status = kStatusSentinel;
		EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), KNEM_CMD_SYNC_RECV, &recv))
			<< "SYNC_RECV iovecs at 0x" << std::hex << a.addr;
		EXPECT_EQ(kStatusSentinel, recv.status);
	}
}

TEST(Errno, UnpinnableLocalMemoryIsEfault)
{
	// write=1 reads the local iovecs through pinned pages (pinlocalread=1,
	// the default), and PINLOCAL pins them in both directions: a bad
	// local address fails the ioctl with EFAULT.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, kPage);
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, kRW, 0,
				     &cookie));
	knem_cmd_param_iovec wrap;
	wrap.base = 0xfffffffffffff000ull;
	wrap.len = 0x2000;
	unsigned long long pinlocalread = 1;
	EXPECT_TRUE(ReadParamU64("pinlocalread", &pinlocalread))
		<< ParamPath("pinlocalread") << " is missing";
	KNEM_MAP_OR_FAIL(ro, kPage, PROT_READ);
	for (const knem_cmd_param_iovec &iov :
	     {Iov(UnmappedAddress(), 100), Iov(nullptr, 100),
	      Iov(KernelAddress(), 100), wrap}) {
		uint32_t status = kStatusSentinel;
		if (pinlocalread) {
			EXPECT_EQ(Err{EFAULT}, InlineCopy(fd.get(), {iov}, true,
							  cookie, 0, 0, &status))
				<< "write=1 from 0x" << std::hex << iov.base;
			EXPECT_EQ(kStatusSentinel, status);
		}
		status = kStatusSentinel;
		EXPECT_EQ(Err{EFAULT},
			  InlineCopy(fd.get(), {iov}, false, cookie, 0,
				     KNEM_FLAG_PINLOCAL, &status))
			<< "write=0 PINLOCAL into 0x" << std::hex << iov.base;
		EXPECT_EQ(kStatusSentinel, status);
	}
	// Pinning a read-only local buffer for the write that a read
	// (write=0) does into it fails too.
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Err{EFAULT}, InlineCopy(fd.get(), {Iov(ro.data(), 100)}, false,
					  cookie, 0, KNEM_FLAG_PINLOCAL, &status));
	EXPECT_EQ(kStatusSentinel, status);
}

TEST(Errno, UnknownFlagBitsAreEinval)
{
	// Decision 1: unlike the classic driver, bits outside the classic
	// flag set (0xff) are refused.  Classic bits of the other kind of
	// command (copy bits in a create, SINGLEUSE or ANY_USER_ACCESS in a
	// copy) are ignored as the classic driver ignored them, and so are no
	// longer listed here: classic clients pass them (ClassicFlags.*).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, 2 * kPage);
	knem_cookie_t src = 0, dst = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, kRW, 0, &src));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + kPage, kPage, kRW, 0,
				     &dst));
	const uint32_t bad_create[] = {
		1u << 12, 1u << 31, 1u << 8, KNEM_FLAG_SINGLEUSE | (1u << 12),
		KNEM_FLAG_DMA | (1u << 8), KNEM_FLAG_NOTIFY_FD | (1u << 9)};
	for (uint32_t flags : bad_create) {
		knem_cookie_t cookie = 0;
		EXPECT_EQ(Err{EINVAL}, CreateRegion(fd.get(), buf.data(), 16,
						    kRW, flags, &cookie))
			<< "CREATE_REGION flags 0x" << std::hex << flags;
		// INIT_SEND goes through the same create filter.
		knem_cmd_param_iovec iov = Iov(buf.data(), 16);
		knem_cmd_init_send_param send;
		memset(&send, 0, sizeof(send));
		send.send_iovec_array = Addr(&iov);
		send.send_iovec_nr = 1;
		send.flags = flags;
		EXPECT_EQ(Err{EINVAL}, Ioctl(fd.get(), KNEM_CMD_INIT_SEND, &send))
			<< "INIT_SEND flags 0x" << std::hex << flags;
	}

	const uint32_t bad_copy[] = {1u << 12, 1u << 31, 1u << 8,
				     KNEM_FLAG_SINGLEUSE | (1u << 8),
				     KNEM_FLAG_ANY_USER_ACCESS | (1u << 10),
				     KNEM_FLAG_PINLOCAL | (1u << 12)};
	std::vector<uint8_t> local(64);
	for (uint32_t flags : bad_copy) {
		uint32_t status = kStatusSentinel;
		for (bool write : {false, true}) {
			status = kStatusSentinel;
			EXPECT_EQ(Err{EINVAL},
				  InlineCopy(fd.get(), {Iov(local.data(), 64)},
					     write, src, 0, flags, &status))
				<< "INLINE_COPY flags 0x" << std::hex << flags;
			EXPECT_EQ(kStatusSentinel, status);
			status = kStatusSentinel;
			EXPECT_EQ(Err{EINVAL},
				  InlineCopyBounded(fd.get(),
						    {Iov(local.data(), 64)},
						    write, src, 0, 32, flags,
						    &status))
				<< "INLINE_COPY_BOUNDED flags 0x" << std::hex
				<< flags;
			EXPECT_EQ(kStatusSentinel, status);
		}
		status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL},
			  Copy(fd.get(), src, 0, dst, 0, flags, &status))
			<< "COPY flags 0x" << std::hex << flags;
		EXPECT_EQ(kStatusSentinel, status);
		status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, CopyBounded(fd.get(), src, 0, dst, 0, 10,
						   flags, &status))
			<< "COPY_BOUNDED flags 0x" << std::hex << flags;
		EXPECT_EQ(kStatusSentinel, status);

		knem_cmd_sync_recv_param recv;
		memset(&recv, 0, sizeof(recv));
		knem_cmd_param_iovec iov = Iov(local.data(), 64);
		recv.recv_iovec_array = Addr(&iov);
		recv.recv_iovec_nr = 1;
		recv.send_cookie = src;
		recv.flags = flags;
		recv.status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, Ioctl(fd.get(), KNEM_CMD_SYNC_RECV, &recv))
			<< "SYNC_RECV flags 0x" << std::hex << flags;
		EXPECT_EQ(kStatusSentinel, recv.status);
	}
	// The regions were not consumed or damaged.
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(Copy(fd.get(), src, 0, dst, 0, 0, &status), status));
}

TEST(Errno, AsyncFlagsWithoutStatusArrayAreEinval)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, 2 * kPage);
	knem_cookie_t src = 0, dst = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, kRW, 0, &src));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + kPage, kPage, kRW, 0,
				     &dst));
	const uint32_t async_flags[] = {
		KNEM_FLAG_ASYNCDMACOMPLETE, KNEM_FLAG_DMATHREAD,
		KNEM_FLAG_MEMCPYTHREAD,
		KNEM_FLAG_MEMCPYTHREAD | KNEM_FLAG_NOTIFY_FD,
		KNEM_FLAG_MEMCPYTHREAD | KNEM_FLAG_PINLOCAL,
		KNEM_FLAG_NOTIFY_FD, // and without a thread flag at all
	};
	std::vector<uint8_t> local(64);
	for (uint32_t flags : async_flags) {
		for (bool write : {false, true}) {
			uint32_t status = kStatusSentinel;
			EXPECT_EQ(Err{EINVAL},
				  InlineCopy(fd.get(), {Iov(local.data(), 64)},
					     write, src, 0, flags, &status))
				<< "INLINE_COPY flags 0x" << std::hex << flags;
			EXPECT_EQ(kStatusSentinel, status);
			status = kStatusSentinel;
			EXPECT_EQ(Err{EINVAL},
				  InlineCopyBounded(fd.get(),
						    {Iov(local.data(), 64)},
						    write, src, 0, 64, flags,
						    &status))
				<< "INLINE_COPY_BOUNDED flags 0x" << std::hex
				<< flags;
			EXPECT_EQ(kStatusSentinel, status);
		}
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL},
			  Copy(fd.get(), src, 0, dst, 0, flags, &status))
			<< "COPY flags 0x" << std::hex << flags;
		EXPECT_EQ(kStatusSentinel, status);
		status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, CopyBounded(fd.get(), src, 0, dst, 0, 64,
						   flags, &status))
			<< "COPY_BOUNDED flags 0x" << std::hex << flags;
		EXPECT_EQ(kStatusSentinel, status);
	}
}

TEST(Errno, DmaFlagWithoutDmaIsEinval)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	knem_cmd_info info;
	ASSERT_EQ(Ok(), GetInfo(fd.get(), &info));
	ASSERT_EQ(0u, info.ignored_flags & KNEM_FLAG_DMA)
		<< "the module ignores FLAG_DMA (dma=0?)";
	// With a DMA engine (tests/dma-provider loaded) FLAG_DMA must work.
	const bool have_dma = info.features & KNEM_FEATURE_DMA;
	const Err want = have_dma ? Ok() : Err{EINVAL};
	const uint32_t want_status = have_dma ? KNEM_STATUS_SUCCESS
					      : kStatusSentinel;
	KNEM_MAP_OR_FAIL(buf, 2 * kPage);
	knem_cookie_t src = 0, dst = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, kRW, 0, &src));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + kPage, kPage, kRW, 0,
				     &dst));
	std::vector<uint8_t> local(64);
	for (uint32_t flags : {static_cast<uint32_t>(KNEM_FLAG_DMA),
			       static_cast<uint32_t>(KNEM_FLAG_DMA |
						     KNEM_FLAG_PINLOCAL)}) {
		for (bool write : {false, true}) {
			uint32_t status = kStatusSentinel;
			EXPECT_EQ(want,
				  InlineCopy(fd.get(), {Iov(local.data(), 64)},
					     write, src, 0, flags, &status))
				<< "INLINE_COPY flags 0x" << std::hex << flags;
			EXPECT_EQ(want_status, status);
			status = kStatusSentinel;
			EXPECT_EQ(want,
				  InlineCopyBounded(fd.get(),
						    {Iov(local.data(), 64)},
						    write, src, 0, 64, flags,
						    &status))
				<< "INLINE_COPY_BOUNDED flags 0x" << std::hex
				<< flags;
		}
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(want,
			  Copy(fd.get(), src, 0, dst, 0, flags, &status));
		EXPECT_EQ(want_status, status);
		EXPECT_EQ(want, CopyBounded(fd.get(), src, 0, dst, 0, 64,
						   flags, &status));
	}
}

TEST(Errno, CookieZeroIsEinval)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, kPage);
	knem_cookie_t good = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, kRW, 0, &good));
	std::vector<uint8_t> local(64);
	for (bool write : {false, true}) {
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, InlineCopy(fd.get(), {Iov(local.data(), 64)},
						  write, 0, 0, 0, &status))
			<< "write=" << write;
		EXPECT_EQ(kStatusSentinel, status);
		EXPECT_EQ(Err{EINVAL},
			  InlineCopyBounded(fd.get(), {Iov(local.data(), 64)},
					    write, 0, 0, 64, 0, &status));
		EXPECT_EQ(kStatusSentinel, status);
	}
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, Copy(fd.get(), 0, 0, good, 0, 0, &status));
	EXPECT_EQ(Err{EINVAL}, Copy(fd.get(), good, 0, 0, 0, 0, &status));
	EXPECT_EQ(Err{EINVAL}, CopyBounded(fd.get(), 0, 0, good, 0, 1, 0, &status));
	EXPECT_EQ(Err{EINVAL}, CopyBounded(fd.get(), good, 0, 0, 0, 1, 0, &status));
	EXPECT_EQ(kStatusSentinel, status);
	EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), 0));

	knem_cmd_param_iovec iov = Iov(local.data(), 64);
	knem_cmd_sync_recv_param recv;
	memset(&recv, 0, sizeof(recv));
	recv.recv_iovec_array = Addr(&iov);
	recv.recv_iovec_nr = 1;
	recv.send_cookie = 0;
	recv.status = kStatusSentinel;
	EXPECT_EQ(Err{EINVAL}, Ioctl(fd.get(), KNEM_CMD_SYNC_RECV, &recv));
	EXPECT_EQ(kStatusSentinel, recv.status);
}

TEST(Errno, ForgedCookiesAreEinval)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, kPage);
	std::vector<knem_cookie_t> real;
	for (uint32_t flags : {0u, static_cast<uint32_t>(KNEM_FLAG_SINGLEUSE),
			       static_cast<uint32_t>(KNEM_FLAG_ANY_USER_ACCESS)}) {
		knem_cookie_t c = 0;
		ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, kRW,
					     flags, &c));
		real.push_back(c);
	}
	std::vector<knem_cookie_t> forged;
	std::mt19937_64 rng(0x6b6e656d ^ static_cast<uint64_t>(::getpid()));
	for (int i = 0; i < 300; i++)
		forged.push_back(rng());
	for (knem_cookie_t c : real) {
		for (int bit = 0; bit < 64; bit++)
			forged.push_back(c ^ (1ull << bit));
		forged.push_back(c + 1);
		forged.push_back(c - 1);
		forged.push_back(c ^ 0xffffffffull);
		forged.push_back(c ^ 0xffffffff00000000ull);
		forged.push_back(~c);
	}
	forged.push_back(~0ull);
	forged.push_back(1);
	std::vector<uint8_t> local(16);
	for (knem_cookie_t c : forged) {
		bool is_real = false;
		for (knem_cookie_t r : real)
			is_real |= r == c;
		if (is_real)
			continue;
		uint32_t status = kStatusSentinel;
		EXPECT_EQ(Err{EINVAL}, InlineCopy(fd.get(), {Iov(local.data(), 16)},
						  false, c, 0, 0, &status))
			<< "cookie 0x" << std::hex << c;
		EXPECT_EQ(kStatusSentinel, status);
		EXPECT_EQ(Err{EINVAL}, DestroyRegion(fd.get(), c))
			<< "destroy cookie 0x" << std::hex << c;
	}
	// None of the forged lookups or destroys hit the real regions (the
	// single-use one included).
	for (knem_cookie_t c : real) {
		uint32_t status = 0;
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), 16)},
					      false, c, 0, 0, &status),
				   status))
			<< "cookie 0x" << std::hex << c;
	}
}

TEST(Errno, ProtectionMismatchIsEacces)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, 4 * kPage);
	FillPattern(buf.data(), 4 * kPage, 1);
	knem_cookie_t ro = 0, wo = 0, none = 0, rw = 0, ro_single = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, KNEM_PROT_READ,
				     0, &ro));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + kPage, kPage,
				     KNEM_PROT_WRITE, 0, &wo));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 2 * kPage, kPage, 0,
				     0, &none));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 3 * kPage, kPage,
				     kRW, 0, &rw));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), kPage, KNEM_PROT_READ,
				     KNEM_FLAG_SINGLEUSE, &ro_single));
	std::vector<uint8_t> local(kPage);
	auto inl = [&](bool write, knem_cookie_t c) {
		uint32_t status = kStatusSentinel;
		Err e = InlineCopy(fd.get(), {Iov(local.data(), kPage)}, write, c,
				   0, 0, &status);
		EXPECT_EQ(kStatusSentinel, status);
		return e;
	};
	auto inlb = [&](bool write, knem_cookie_t c) {
		uint32_t status = kStatusSentinel;
		Err e = InlineCopyBounded(fd.get(), {Iov(local.data(), kPage)},
					  write, c, 0, 100, 0, &status);
		EXPECT_EQ(kStatusSentinel, status);
		return e;
	};
	auto cp = [&](knem_cookie_t s, knem_cookie_t d) {
		uint32_t status = kStatusSentinel;
		Err e = Copy(fd.get(), s, 0, d, 0, 0, &status);
		EXPECT_EQ(kStatusSentinel, status);
		return e;
	};
	auto cpb = [&](knem_cookie_t s, knem_cookie_t d) {
		uint32_t status = kStatusSentinel;
		Err e = CopyBounded(fd.get(), s, 0, d, 0, 10, 0, &status);
		EXPECT_EQ(kStatusSentinel, status);
		return e;
	};
	// Reading a write-only or protection-0 region.
	EXPECT_EQ(Err{EACCES}, inl(false, wo));
	EXPECT_EQ(Err{EACCES}, inl(false, none));
	EXPECT_EQ(Err{EACCES}, inlb(false, wo));
	EXPECT_EQ(Err{EACCES}, cp(wo, rw));
	EXPECT_EQ(Err{EACCES}, cp(none, rw));
	EXPECT_EQ(Err{EACCES}, cpb(wo, rw));
	// Writing a read-only or protection-0 region.
	EXPECT_EQ(Err{EACCES}, inl(true, ro));
	EXPECT_EQ(Err{EACCES}, inl(true, none));
	EXPECT_EQ(Err{EACCES}, inl(true, ro_single));
	EXPECT_EQ(Err{EACCES}, inlb(true, ro));
	EXPECT_EQ(Err{EACCES}, cp(rw, ro));
	EXPECT_EQ(Err{EACCES}, cp(rw, none));
	EXPECT_EQ(Err{EACCES}, cpb(rw, ro_single));
	EXPECT_EQ(Err{EACCES}, cpb(ro, ro));
	EXPECT_EQ(Err{EACCES}, cp(wo, wo));
	// The allowed directions work; the single-use region survived the
	// refused attempts.
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(Copy(fd.get(), ro, 0, wo, 0, 0, &status), status));
	EXPECT_TRUE(SameBytes(buf.data() + kPage, buf.data(), kPage));
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), kPage)}, false,
				      ro_single, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(local.data(), buf.data(), kPage));
}

TEST(Errno, OtherUsersRegionIsEpermWithoutAnyUserAccess)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 2 * kPage;
	KNEM_MAP_OR_FAIL(buf, 4 * len);
	FillPattern(buf.data(), 4 * len, 21);
	uint8_t *rw_mem = buf.data();
	uint8_t *any_mem = buf.data() + len;
	uint8_t *single_mem = buf.data() + 2 * len;
	uint8_t *any_dst_mem = buf.data() + 3 * len;
	knem_cookie_t rw = 0, any = 0, single = 0, any_dst = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), rw_mem, len, kRW, 0, &rw));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), any_mem, len, kRW,
				     KNEM_FLAG_ANY_USER_ACCESS, &any));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), single_mem, len, KNEM_PROT_READ,
				     KNEM_FLAG_SINGLEUSE, &single));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), any_dst_mem, len, KNEM_PROT_WRITE,
				     KNEM_FLAG_ANY_USER_ACCESS, &any_dst));
	std::vector<uint8_t> any_before(any_mem, any_mem + len);
	std::vector<uint8_t> new_data = PatternBytes(len, 22);

	struct stat st;
	ASSERT_EQ(0, ::stat(KNEM_DEVICE_FILENAME, &st));
	const bool world_rw = (st.st_mode & 0006) == 0006;

	std::string verdict = RunInChild([&]() -> std::string {
		// Our own fd, opened while still root.
		Fd own = OpenKnem(O_RDWR);
		if (!own.valid())
			return std::string("open as root: ") + strerror(errno);
		char mine = 9;
		knem_cookie_t own_region = 0;
		if (CreateRegion(own.get(), &mine, 1, kRW, 0, &own_region) != Ok())
			return "create as root failed";
		std::string err = BecomeNobody();
		if (!err.empty())
			return err;
		std::string msg;
		if (!world_rw) {
			Fd again = OpenKnem(O_RDWR);
			msg += Expect("open(/dev/knem) as nobody",
				      again.valid() ? Ok() : Err{errno},
				      Err{EACCES});
		}
		std::vector<uint8_t> local(len);
		uint32_t status = kStatusSentinel;
		msg += Expect("INLINE_COPY read of root's region",
			      InlineCopy(own.get(), {Iov(local.data(), len)},
					 false, rw, 0, 0, &status),
			      Err{EPERM});
		msg += Expect("INLINE_COPY write of root's region",
			      InlineCopy(own.get(), {Iov(local.data(), len)},
					 true, rw, 0, 0, &status),
			      Err{EPERM});
		msg += Expect("INLINE_COPY_BOUNDED read of root's region",
			      InlineCopyBounded(own.get(),
						{Iov(local.data(), len)}, false,
						rw, 0, 8, 0, &status),
			      Err{EPERM});
		msg += Expect("read of root's single-use region",
			      InlineCopy(own.get(), {Iov(local.data(), len)},
					 false, single, 0, 0, &status),
			      Err{EPERM});
		msg += Expect("COPY root region -> any-user region",
			      Copy(own.get(), rw, 0, any_dst, 0, 0, &status),
			      Err{EPERM});
		msg += Expect("COPY any-user region -> root region",
			      Copy(own.get(), any, 0, rw, 0, 0, &status),
			      Err{EPERM});
		msg += Expect("COPY_BOUNDED root region -> any-user region",
			      CopyBounded(own.get(), rw, 0, any_dst, 0, 8, 0,
					  &status),
			      Err{EPERM});
		// The region of the fd opened as root is root's, even though
		// this process created it: the owner is the opener.
		char got = 0;
		msg += Expect("read of own region after setuid",
			      InlineCopy(own.get(), {Iov(&got, 1)}, false,
					 own_region, 0, 0, &status),
			      Err{EPERM});
		// Through the parent's (inherited) fd the caller is still us.
		msg += Expect("read of root's region via the inherited fd",
			      InlineCopy(fd.get(), {Iov(local.data(), len)},
					 false, rw, 0, 0, &status),
			      Err{EPERM});
		if (status != kStatusSentinel)
			msg += "current_status written by a failed ioctl; ";

		// ANY_USER_ACCESS regions work.
		status = 0;
		Err e = InlineCopy(own.get(), {Iov(local.data(), len)}, false,
				   any, 0, 0, &status);
		if (e != Ok() || status != KNEM_STATUS_SUCCESS)
			msg += Expect("read of any-user region", e, Ok()) +
			       "status " + std::to_string(status) + "; ";
		else if (memcmp(local.data(), any_before.data(), len) != 0)
			msg += "read of any-user region: wrong data; ";
		status = 0;
		e = InlineCopy(own.get(), {Iov(new_data.data(), len)}, true,
			       any, 0, 0, &status);
		if (e != Ok() || status != KNEM_STATUS_SUCCESS)
			msg += Expect("write of any-user region", e, Ok()) +
			       "status " + std::to_string(status) + "; ";
		status = 0;
		e = CopyBounded(own.get(), any, 0, any_dst, 0, len, 0, &status);
		if (e != Ok() || status != KNEM_STATUS_SUCCESS)
			msg += Expect("COPY any-user -> any-user", e, Ok()) +
			       "status " + std::to_string(status) + "; ";
		return msg;
	});
	EXPECT_EQ("", verdict);
	// The child's write went into our pages; and the refused lookups did
	// not consume the single-use region.
	EXPECT_TRUE(SameBytes(any_mem, new_data.data(), len, "any-user region"));
	EXPECT_TRUE(SameBytes(any_dst_mem, new_data.data(), len,
			      "any-user destination"));
	std::vector<uint8_t> local(len);
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(local.data(), len)}, false,
				      single, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(local.data(), single_mem, len));
}

TEST(Errno, RootGetsEpermOnAnotherUsersRegion)
{
	// The uid check has no root bypass: a region of a non-root owner is
	// EPERM for root unless it is ANY_USER_ACCESS.
	OpenDeviceToAll world;
	ASSERT_TRUE(world.ok()) << "chmod " KNEM_DEVICE_FILENAME;
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 3 * kPage + 5;
	struct Shared {
		knem_cookie_t priv, any;
	};
	KNEM_MAP_OR_FAIL(shared_map, kPage, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS);
	auto *shared = reinterpret_cast<Shared *>(shared_map.data());
	Channel to_parent, to_child;
	ASSERT_TRUE(to_parent.ok() && to_child.ok());
	Child child;
	ASSERT_TRUE(child.Start([&]() -> std::string {
		std::string err = BecomeNobody();
		if (!err.empty()) {
			to_parent.Send(0);
			return err;
		}
		Fd own = OpenKnem(O_RDWR);
		if (!own.valid()) {
			to_parent.Send(0);
			return std::string("open as nobody: ") + strerror(errno);
		}
		std::vector<uint8_t> mem = PatternBytes(len, 31);
		std::string msg;
		msg += Expect("create private region",
			      CreateRegion(own.get(), mem.data(), len, kRW, 0,
					   &shared->priv),
			      Ok());
		msg += Expect("create any-user region",
			      CreateRegion(own.get(), mem.data(), len, kRW,
					   KNEM_FLAG_ANY_USER_ACCESS,
					   &shared->any),
			      Ok());
		// Our own regions are fine for us.
		std::vector<uint8_t> out(len);
		uint32_t status = 0;
		msg += Expect("read own region as nobody",
			      InlineCopy(own.get(), {Iov(out.data(), len)}, false,
					 shared->priv, 0, 0, &status),
			      Ok());
		if (memcmp(out.data(), mem.data(), len) != 0)
			msg += "own region: wrong data; ";
		to_parent.Send(1);
		uint64_t done;
		if (!to_child.Recv(&done))
			msg += "parent never answered; ";
		return msg;
	}));
	uint64_t ready = 0;
	ASSERT_TRUE(to_parent.Recv(&ready)) << child.Wait();
	ASSERT_EQ(1u, ready) << child.Wait();
	std::vector<uint8_t> out(len);
	uint32_t status = kStatusSentinel;
	EXPECT_EQ(Err{EPERM}, InlineCopy(fd.get(), {Iov(out.data(), len)}, false,
					 shared->priv, 0, 0, &status));
	EXPECT_EQ(kStatusSentinel, status);
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), len)}, false,
				      shared->any, 0, 0, &status),
			   status));
	std::vector<uint8_t> want = PatternBytes(len, 31);
	EXPECT_TRUE(SameBytes(out.data(), want.data(), len));
	to_child.Send(1);
	EXPECT_EQ("", child.Wait());
}

TEST(Errno, BindOffload)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	knem_cmd_bind_offload bind;
	for (uint32_t flags : {0u, 3u, 5u, 6u, 7u, 8u, 1u << 31}) {
		memset(&bind, 0, sizeof(bind));
		bind.flags = flags;
		EXPECT_EQ(Err{EINVAL}, Ioctl(fd.get(), KNEM_CMD_BIND_OFFLOAD,
					     &bind))
			<< "flags " << flags;
	}
	memset(&bind, 0, sizeof(bind));
	bind.flags = KNEM_BIND_FLAG_CUSTOM;
	bind.mask_len = 8;
	bind.mask_ptr = Addr(UnmappedAddress());
	EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), KNEM_CMD_BIND_OFFLOAD, &bind));
	uint64_t mask = 1;
	bind.mask_ptr = Addr(&mask);
	EXPECT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_BIND_OFFLOAD, &bind));
	bind.mask_len = 1;
	EXPECT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_BIND_OFFLOAD, &bind));
	for (uint32_t flags : {KNEM_BIND_FLAG_CURRENT,
			       KNEM_BIND_FLAG_CURRENT_REVERSED}) {
		memset(&bind, 0, sizeof(bind));
		bind.flags = flags;
		EXPECT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_BIND_OFFLOAD, &bind))
			<< "flags " << flags;
	}
	// Once the status array is mapped the worker exists: EBUSY.
	void *slots = ::mmap(nullptr, 1, PROT_READ | PROT_WRITE, MAP_SHARED,
			     fd.get(), KNEM_STATUS_ARRAY_FILE_OFFSET);
	ASSERT_NE(MAP_FAILED, slots) << strerror(errno);
	memset(&bind, 0, sizeof(bind));
	bind.flags = KNEM_BIND_FLAG_CURRENT;
	EXPECT_EQ(Err{EBUSY}, Ioctl(fd.get(), KNEM_CMD_BIND_OFFLOAD, &bind));
	::munmap(slots, 1);
}

} // namespace
