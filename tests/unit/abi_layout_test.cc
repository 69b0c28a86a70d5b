// SPDX-License-Identifier: BSD-3-Clause
//
// abi_layout_test.cc - knem_io.h against knem-abi.md §2 and §3: every
// ioctl number, structure size, field offset and constant, at compile
// time and again at run time (and through the C compiler, abi_layout_c.c).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>

#include <sys/mman.h>

#include "test_core.h"

extern "C" {
extern const unsigned long knem_abi_c_ioctls[11];
extern const size_t knem_abi_c_sizes[11];
extern const size_t knem_abi_c_output_offsets[7];
extern const unsigned int knem_abi_c_flags[13];
}

namespace {

// ---- compile time ----------------------------------------------------

static_assert(KNEM_ABI_VERSION == 0x0000000d, "ABI version");

static_assert(KNEM_CMD_GET_INFO == 0x40104b10UL, "GET_INFO");
static_assert(KNEM_CMD_BIND_OFFLOAD == 0x80104b11UL, "BIND_OFFLOAD");
static_assert(KNEM_CMD_INIT_SEND == 0xc0184b20UL, "INIT_SEND");
static_assert(KNEM_CMD_CREATE_REGION == 0xc0204b21UL, "CREATE_REGION");
static_assert(KNEM_CMD_DESTROY_REGION == 0x80084b22UL, "DESTROY_REGION");
static_assert(KNEM_CMD_INIT_ASYNC_RECV == 0x80204b30UL, "INIT_ASYNC_RECV");
static_assert(KNEM_CMD_SYNC_RECV == 0x80204b31UL, "SYNC_RECV");
static_assert(KNEM_CMD_COPY == 0x80304b32UL, "COPY");
static_assert(KNEM_CMD_INLINE_COPY == 0x80304b33UL, "INLINE_COPY");
static_assert(KNEM_CMD_COPY_BOUNDED == 0x80384b34UL, "COPY_BOUNDED");
static_assert(KNEM_CMD_INLINE_COPY_BOUNDED == 0x80384b35UL,
	      "INLINE_COPY_BOUNDED");

static_assert(sizeof(knem_cmd_param_iovec) == 16, "iovec");
static_assert(sizeof(knem_cmd_info) == 16, "info");
static_assert(sizeof(knem_cmd_bind_offload) == 16, "bind_offload");
static_assert(sizeof(knem_cmd_create_region) == 32, "create_region");
static_assert(sizeof(knem_cmd_copy) == 48, "copy");
static_assert(sizeof(knem_cmd_copy_bounded) == 56, "copy_bounded");
static_assert(sizeof(knem_cmd_inline_copy) == 48, "inline_copy");
static_assert(sizeof(knem_cmd_inline_copy_bounded) == 56,
	      "inline_copy_bounded");
static_assert(sizeof(knem_cmd_init_send_param) == 24, "init_send");
static_assert(sizeof(knem_cmd_init_async_recv_param) == 32,
	      "init_async_recv");
static_assert(sizeof(knem_cmd_sync_recv_param) == 32, "sync_recv");
static_assert(sizeof(knem_cookie_t) == 8, "cookie");
static_assert(sizeof(knem_status_t) == 1, "status");

#define OFF(type, field, off) \
	static_assert(offsetof(type, field) == (off), #type "." #field)

OFF(knem_cmd_param_iovec, base, 0);
OFF(knem_cmd_param_iovec, len, 8);

OFF(knem_cmd_info, abi, 0);
OFF(knem_cmd_info, features, 4);
OFF(knem_cmd_info, ignored_flags, 8);
OFF(knem_cmd_info, forced_flags, 12);

OFF(knem_cmd_bind_offload, flags, 0);
OFF(knem_cmd_bind_offload, mask_len, 4);
OFF(knem_cmd_bind_offload, mask_ptr, 8);

OFF(knem_cmd_create_region, iovec_array, 0);
OFF(knem_cmd_create_region, iovec_nr, 8);
OFF(knem_cmd_create_region, flags, 12);
OFF(knem_cmd_create_region, protection, 16);
OFF(knem_cmd_create_region, pad1, 20);
OFF(knem_cmd_create_region, cookie, 24);

OFF(knem_cmd_copy_bounded, src_cookie, 0);
OFF(knem_cmd_copy_bounded, src_offset, 8);
OFF(knem_cmd_copy_bounded, dst_cookie, 16);
OFF(knem_cmd_copy_bounded, dst_offset, 24);
OFF(knem_cmd_copy_bounded, length, 32);
OFF(knem_cmd_copy_bounded, flags, 40);
OFF(knem_cmd_copy_bounded, current_status, 44);
OFF(knem_cmd_copy_bounded, async_status_index, 48);
OFF(knem_cmd_copy_bounded, pad, 52);

OFF(knem_cmd_copy, src_cookie, 0);
OFF(knem_cmd_copy, src_offset, 8);
OFF(knem_cmd_copy, dst_cookie, 16);
OFF(knem_cmd_copy, dst_offset, 24);
OFF(knem_cmd_copy, flags, 32);
OFF(knem_cmd_copy, current_status, 36);
OFF(knem_cmd_copy, async_status_index, 40);
OFF(knem_cmd_copy, pad, 44);

OFF(knem_cmd_inline_copy_bounded, local_iovec_array, 0);
OFF(knem_cmd_inline_copy_bounded, local_iovec_nr, 8);
OFF(knem_cmd_inline_copy_bounded, write, 12);
OFF(knem_cmd_inline_copy_bounded, remote_cookie, 16);
OFF(knem_cmd_inline_copy_bounded, remote_offset, 24);
OFF(knem_cmd_inline_copy_bounded, length, 32);
OFF(knem_cmd_inline_copy_bounded, flags, 40);
OFF(knem_cmd_inline_copy_bounded, current_status, 44);
OFF(knem_cmd_inline_copy_bounded, async_status_index, 48);
OFF(knem_cmd_inline_copy_bounded, pad, 52);

OFF(knem_cmd_inline_copy, local_iovec_array, 0);
OFF(knem_cmd_inline_copy, local_iovec_nr, 8);
OFF(knem_cmd_inline_copy, write, 12);
OFF(knem_cmd_inline_copy, remote_cookie, 16);
OFF(knem_cmd_inline_copy, remote_offset, 24);
OFF(knem_cmd_inline_copy, flags, 32);
OFF(knem_cmd_inline_copy, current_status, 36);
OFF(knem_cmd_inline_copy, async_status_index, 40);
OFF(knem_cmd_inline_copy, pad, 44);

OFF(knem_cmd_init_send_param, send_iovec_array, 0);
OFF(knem_cmd_init_send_param, send_iovec_nr, 8);
OFF(knem_cmd_init_send_param, flags, 12);
OFF(knem_cmd_init_send_param, send_cookie, 16);

OFF(knem_cmd_init_async_recv_param, recv_iovec_array, 0);
OFF(knem_cmd_init_async_recv_param, recv_iovec_nr, 8);
OFF(knem_cmd_init_async_recv_param, status_index, 12);
OFF(knem_cmd_init_async_recv_param, send_cookie, 16);
OFF(knem_cmd_init_async_recv_param, flags, 24);
OFF(knem_cmd_init_async_recv_param, pad, 28);

OFF(knem_cmd_sync_recv_param, recv_iovec_array, 0);
OFF(knem_cmd_sync_recv_param, recv_iovec_nr, 8);
OFF(knem_cmd_sync_recv_param, status, 12);
OFF(knem_cmd_sync_recv_param, send_cookie, 16);
OFF(knem_cmd_sync_recv_param, flags, 24);
OFF(knem_cmd_sync_recv_param, pad, 28);

#undef OFF

// ---- run time ---------------------------------------------------------

struct Ioctl {
	const char *name;
	unsigned long value;
	unsigned long expected;
	unsigned int nr;
};

const Ioctl kIoctls[] = {
	{ "GET_INFO", KNEM_CMD_GET_INFO, 0x40104b10UL, 0x10 },
	{ "BIND_OFFLOAD", KNEM_CMD_BIND_OFFLOAD, 0x80104b11UL, 0x11 },
	{ "INIT_SEND", KNEM_CMD_INIT_SEND, 0xc0184b20UL, 0x20 },
	{ "CREATE_REGION", KNEM_CMD_CREATE_REGION, 0xc0204b21UL, 0x21 },
	{ "DESTROY_REGION", KNEM_CMD_DESTROY_REGION, 0x80084b22UL, 0x22 },
	{ "INIT_ASYNC_RECV", KNEM_CMD_INIT_ASYNC_RECV, 0x80204b30UL, 0x30 },
	{ "SYNC_RECV", KNEM_CMD_SYNC_RECV, 0x80204b31UL, 0x31 },
	{ "COPY", KNEM_CMD_COPY, 0x80304b32UL, 0x32 },
	{ "INLINE_COPY", KNEM_CMD_INLINE_COPY, 0x80304b33UL, 0x33 },
	{ "COPY_BOUNDED", KNEM_CMD_COPY_BOUNDED, 0x80384b34UL, 0x34 },
	{ "INLINE_COPY_BOUNDED", KNEM_CMD_INLINE_COPY_BOUNDED,
	  0x80384b35UL, 0x35 },
};

TEST(AbiLayout, IoctlNumbers)
{
	for (size_t i = 0; i < sizeof(kIoctls) / sizeof(kIoctls[0]); i++) {
		const Ioctl &c = kIoctls[i];
		SCOPED_TRACE(c.name);
		EXPECT_EQ(c.value, c.expected);
		EXPECT_EQ(knem_abi_c_ioctls[i], c.expected) << "as seen by C";
		EXPECT_EQ((unsigned int)_IOC_TYPE(c.value), (unsigned int)'K');
		EXPECT_EQ((unsigned int)_IOC_NR(c.value), c.nr);
		EXPECT_EQ((unsigned int)KNEM_CMD_INDEX(c.value), c.nr);
	}
}

TEST(AbiLayout, IoctlNumbersAreDistinct)
{
	const size_t n = sizeof(kIoctls) / sizeof(kIoctls[0]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			EXPECT_NE(kIoctls[i].value, kIoctls[j].value)
				<< kIoctls[i].name << " " << kIoctls[j].name;
}

TEST(AbiLayout, StructSizes)
{
	const size_t cxx[] = {
		sizeof(knem_cmd_info),
		sizeof(knem_cmd_bind_offload),
		sizeof(knem_cmd_init_send_param),
		sizeof(knem_cmd_create_region),
		sizeof(knem_cmd_init_async_recv_param),
		sizeof(knem_cmd_sync_recv_param),
		sizeof(knem_cmd_copy),
		sizeof(knem_cmd_inline_copy),
		sizeof(knem_cmd_copy_bounded),
		sizeof(knem_cmd_inline_copy_bounded),
		sizeof(knem_cmd_param_iovec),
	};
	// knem-abi.md §2, in the order of abi_layout_c.c
	const size_t expected[] = { 16, 16, 24, 32, 32, 32, 48, 48, 56, 56, 16 };

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		SCOPED_TRACE(i);
		EXPECT_EQ(cxx[i], expected[i]);
		EXPECT_EQ(knem_abi_c_sizes[i], expected[i]) << "as seen by C";
	}
	// the size encoded in the ioctl numbers (§2 table)
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_GET_INFO), 16U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_BIND_OFFLOAD), 16U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_INIT_SEND), 24U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_CREATE_REGION), 32U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_DESTROY_REGION), 8U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_INIT_ASYNC_RECV), 32U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_SYNC_RECV), 32U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_COPY), 48U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_INLINE_COPY), 48U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_COPY_BOUNDED), 56U);
	EXPECT_EQ(_IOC_SIZE(KNEM_CMD_INLINE_COPY_BOUNDED), 56U);
}

// Writes a marker at a field through the structure and finds it at the
// documented byte offset of the raw bytes, so the offsets hold at run
// time as well.
template <typename S, typename F>
size_t runtime_offset(F S::*field)
{
	S s;
	memset(&s, 0, sizeof(s));
	s.*field = (F)~(F)0;
	const unsigned char *bytes = (const unsigned char *)&s;
	for (size_t i = 0; i < sizeof(s); i++)
		if (bytes[i])
			return i;
	return sizeof(s);
}

#define EXPECT_OFFSET(type, field, off)                                    \
	do {                                                               \
		EXPECT_EQ(offsetof(type, field), (size_t)(off))            \
			<< #type "." #field;                               \
		EXPECT_EQ(runtime_offset(&type::field), (size_t)(off))     \
			<< #type "." #field " at run time";                \
	} while (0)

TEST(AbiFieldOffsets, ParamIovec)
{
	EXPECT_OFFSET(knem_cmd_param_iovec, base, 0);
	EXPECT_OFFSET(knem_cmd_param_iovec, len, 8);
}

TEST(AbiFieldOffsets, Info)
{
	EXPECT_OFFSET(knem_cmd_info, abi, 0);
	EXPECT_OFFSET(knem_cmd_info, features, 4);
	EXPECT_OFFSET(knem_cmd_info, ignored_flags, 8);
	EXPECT_OFFSET(knem_cmd_info, forced_flags, 12);
}

TEST(AbiFieldOffsets, BindOffload)
{
	EXPECT_OFFSET(knem_cmd_bind_offload, flags, 0);
	EXPECT_OFFSET(knem_cmd_bind_offload, mask_len, 4);
	EXPECT_OFFSET(knem_cmd_bind_offload, mask_ptr, 8);
}

TEST(AbiFieldOffsets, CreateRegion)
{
	EXPECT_OFFSET(knem_cmd_create_region, iovec_array, 0);
	EXPECT_OFFSET(knem_cmd_create_region, iovec_nr, 8);
	EXPECT_OFFSET(knem_cmd_create_region, flags, 12);
	EXPECT_OFFSET(knem_cmd_create_region, protection, 16);
	EXPECT_OFFSET(knem_cmd_create_region, pad1, 20);
	EXPECT_OFFSET(knem_cmd_create_region, cookie, 24);
}

TEST(AbiFieldOffsets, CopyBounded)
{
	EXPECT_OFFSET(knem_cmd_copy_bounded, src_cookie, 0);
	EXPECT_OFFSET(knem_cmd_copy_bounded, src_offset, 8);
	EXPECT_OFFSET(knem_cmd_copy_bounded, dst_cookie, 16);
	EXPECT_OFFSET(knem_cmd_copy_bounded, dst_offset, 24);
	EXPECT_OFFSET(knem_cmd_copy_bounded, length, 32);
	EXPECT_OFFSET(knem_cmd_copy_bounded, flags, 40);
	EXPECT_OFFSET(knem_cmd_copy_bounded, current_status, 44);
	EXPECT_OFFSET(knem_cmd_copy_bounded, async_status_index, 48);
	EXPECT_OFFSET(knem_cmd_copy_bounded, pad, 52);
}

TEST(AbiFieldOffsets, Copy)
{
	EXPECT_OFFSET(knem_cmd_copy, src_cookie, 0);
	EXPECT_OFFSET(knem_cmd_copy, src_offset, 8);
	EXPECT_OFFSET(knem_cmd_copy, dst_cookie, 16);
	EXPECT_OFFSET(knem_cmd_copy, dst_offset, 24);
	EXPECT_OFFSET(knem_cmd_copy, flags, 32);
	EXPECT_OFFSET(knem_cmd_copy, current_status, 36);
	EXPECT_OFFSET(knem_cmd_copy, async_status_index, 40);
	EXPECT_OFFSET(knem_cmd_copy, pad, 44);
}

TEST(AbiFieldOffsets, InlineCopyBounded)
{
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, local_iovec_array, 0);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, local_iovec_nr, 8);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, write, 12);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, remote_cookie, 16);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, remote_offset, 24);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, length, 32);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, flags, 40);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, current_status, 44);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, async_status_index, 48);
	EXPECT_OFFSET(knem_cmd_inline_copy_bounded, pad, 52);
}

TEST(AbiFieldOffsets, InlineCopy)
{
	EXPECT_OFFSET(knem_cmd_inline_copy, local_iovec_array, 0);
	EXPECT_OFFSET(knem_cmd_inline_copy, local_iovec_nr, 8);
	EXPECT_OFFSET(knem_cmd_inline_copy, write, 12);
	EXPECT_OFFSET(knem_cmd_inline_copy, remote_cookie, 16);
	EXPECT_OFFSET(knem_cmd_inline_copy, remote_offset, 24);
	EXPECT_OFFSET(knem_cmd_inline_copy, flags, 32);
	EXPECT_OFFSET(knem_cmd_inline_copy, current_status, 36);
	EXPECT_OFFSET(knem_cmd_inline_copy, async_status_index, 40);
	EXPECT_OFFSET(knem_cmd_inline_copy, pad, 44);
}

TEST(AbiFieldOffsets, InitSendParam)
{
	EXPECT_OFFSET(knem_cmd_init_send_param, send_iovec_array, 0);
	EXPECT_OFFSET(knem_cmd_init_send_param, send_iovec_nr, 8);
	EXPECT_OFFSET(knem_cmd_init_send_param, flags, 12);
	EXPECT_OFFSET(knem_cmd_init_send_param, send_cookie, 16);
}

TEST(AbiFieldOffsets, InitAsyncRecvParam)
{
	EXPECT_OFFSET(knem_cmd_init_async_recv_param, recv_iovec_array, 0);
	EXPECT_OFFSET(knem_cmd_init_async_recv_param, recv_iovec_nr, 8);
	EXPECT_OFFSET(knem_cmd_init_async_recv_param, status_index, 12);
	EXPECT_OFFSET(knem_cmd_init_async_recv_param, send_cookie, 16);
	EXPECT_OFFSET(knem_cmd_init_async_recv_param, flags, 24);
	EXPECT_OFFSET(knem_cmd_init_async_recv_param, pad, 28);
}

TEST(AbiFieldOffsets, SyncRecvParam)
{
	EXPECT_OFFSET(knem_cmd_sync_recv_param, recv_iovec_array, 0);
	EXPECT_OFFSET(knem_cmd_sync_recv_param, recv_iovec_nr, 8);
	EXPECT_OFFSET(knem_cmd_sync_recv_param, status, 12);
	EXPECT_OFFSET(knem_cmd_sync_recv_param, send_cookie, 16);
	EXPECT_OFFSET(knem_cmd_sync_recv_param, flags, 24);
	EXPECT_OFFSET(knem_cmd_sync_recv_param, pad, 28);
}

TEST(AbiLayout, OutputOffsetsAsSeenByC)
{
	const size_t expected[] = { 24, 16, 12, 36, 44, 36, 44 };

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		EXPECT_EQ(knem_abi_c_output_offsets[i], expected[i]) << i;
}

TEST(AbiLayout, FlagsAndMasks)
{
	// §3, in the order of abi_layout_c.c
	const unsigned int expected[] = {
		0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80,
		0x0c, 0x0e, 0x07, 0xa0, 0x5f,
	};
	const unsigned int cxx[] = {
		KNEM_FLAG_DMA,
		KNEM_FLAG_ASYNCDMACOMPLETE,
		KNEM_FLAG_DMATHREAD,
		KNEM_FLAG_MEMCPYTHREAD,
		KNEM_FLAG_PINLOCAL,
		KNEM_FLAG_SINGLEUSE,
		KNEM_FLAG_NOTIFY_FD,
		KNEM_FLAG_ANY_USER_ACCESS,
		KNEM_FLAG_ANY_THREAD_MASK,
		KNEM_FLAG_ANY_ASYNC_MASK,
		KNEM_FLAG_ANY_DMA_MASK,
		KNEM_FLAG_ANY_CREATE_MASK,
		KNEM_FLAG_ANY_COPY_MASK,
	};

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		EXPECT_EQ(cxx[i], expected[i]) << i;
		EXPECT_EQ(knem_abi_c_flags[i], expected[i]) << i << " in C";
	}
	EXPECT_EQ(KNEM_FLAG_ANY_CREATE_MASK & KNEM_FLAG_ANY_COPY_MASK, 0U);
}

TEST(AbiLayout, Constants)
{
	EXPECT_EQ(KNEM_ABI_VERSION, 0xd);
	EXPECT_EQ(std::string(KNEM_DEVICE_NAME), "knem");
	EXPECT_EQ(std::string(KNEM_DEVICE_FILENAME), "/dev/knem");
	EXPECT_EQ(KNEM_STATUS_ARRAY_FILE_OFFSET, 0);
	EXPECT_EQ(KNEM_STATUS_PENDING, 0);
	EXPECT_EQ(KNEM_STATUS_SUCCESS, 1);
	EXPECT_EQ(KNEM_STATUS_FAILED, 2);
	EXPECT_EQ(KNEM_FEATURE_DMA, 1U);
	EXPECT_EQ(KNEM_PROT_READ, 1);
	EXPECT_EQ(KNEM_PROT_WRITE, 2);
	EXPECT_EQ(KNEM_PROT_READ, PROT_READ);
	EXPECT_EQ(KNEM_PROT_WRITE, PROT_WRITE);
	EXPECT_EQ(KNEM_BIND_FLAG_CUSTOM, 1U);
	EXPECT_EQ(KNEM_BIND_FLAG_CURRENT, 2U);
	EXPECT_EQ(KNEM_BIND_FLAG_CURRENT_REVERSED, 4U);
}

} // namespace
