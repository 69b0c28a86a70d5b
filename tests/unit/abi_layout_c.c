// SPDX-License-Identifier: BSD-3-Clause
/*
 * abi_layout_c.c - knem_io.h compiled as C (as MPI libraries use it):
 * the same layout checks at compile time, and the C compiler's view of
 * the numbers for abi_layout_test.cc to compare with C++'s.
 */
#include <stddef.h>

#include "knem_io.h"

#define CHECK_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), #type " size")
#define CHECK_OFFSET(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), #type "." #field)

CHECK_SIZE(struct knem_cmd_param_iovec, 16);
CHECK_SIZE(struct knem_cmd_info, 16);
CHECK_SIZE(struct knem_cmd_bind_offload, 16);
CHECK_SIZE(struct knem_cmd_init_send_param, 24);
CHECK_SIZE(struct knem_cmd_create_region, 32);
CHECK_SIZE(struct knem_cmd_init_async_recv_param, 32);
CHECK_SIZE(struct knem_cmd_sync_recv_param, 32);
CHECK_SIZE(struct knem_cmd_copy, 48);
CHECK_SIZE(struct knem_cmd_inline_copy, 48);
CHECK_SIZE(struct knem_cmd_copy_bounded, 56);
CHECK_SIZE(struct knem_cmd_inline_copy_bounded, 56);
CHECK_SIZE(knem_cookie_t, 8);
CHECK_SIZE(knem_status_t, 1);

CHECK_OFFSET(struct knem_cmd_create_region, cookie, 24);
CHECK_OFFSET(struct knem_cmd_copy_bounded, current_status, 44);
CHECK_OFFSET(struct knem_cmd_inline_copy, current_status, 36);
CHECK_OFFSET(struct knem_cmd_inline_copy_bounded, length, 32);

_Static_assert(KNEM_CMD_GET_INFO == 0x40104b10UL, "GET_INFO");
_Static_assert(KNEM_CMD_INLINE_COPY == 0x80304b33UL, "INLINE_COPY");
_Static_assert(KNEM_CMD_INLINE_COPY_BOUNDED == 0x80384b35UL, "BOUNDED");
_Static_assert(KNEM_ABI_VERSION == 0xd, "ABI");

/* Read by abi_layout_test.cc (C linkage, no header needed). */
const unsigned long knem_abi_c_ioctls[] = {
	KNEM_CMD_GET_INFO,
	KNEM_CMD_BIND_OFFLOAD,
	KNEM_CMD_INIT_SEND,
	KNEM_CMD_CREATE_REGION,
	KNEM_CMD_DESTROY_REGION,
	KNEM_CMD_INIT_ASYNC_RECV,
	KNEM_CMD_SYNC_RECV,
	KNEM_CMD_COPY,
	KNEM_CMD_INLINE_COPY,
	KNEM_CMD_COPY_BOUNDED,
	KNEM_CMD_INLINE_COPY_BOUNDED,
};

const size_t knem_abi_c_sizes[] = {
	sizeof(struct knem_cmd_info),
	sizeof(struct knem_cmd_bind_offload),
	sizeof(struct knem_cmd_init_send_param),
	sizeof(struct knem_cmd_create_region),
	sizeof(struct knem_cmd_init_async_recv_param),
	sizeof(struct knem_cmd_sync_recv_param),
	sizeof(struct knem_cmd_copy),
	sizeof(struct knem_cmd_inline_copy),
	sizeof(struct knem_cmd_copy_bounded),
	sizeof(struct knem_cmd_inline_copy_bounded),
	sizeof(struct knem_cmd_param_iovec),
};

/* Offsets of the output fields, which the driver writes back. */
const size_t knem_abi_c_output_offsets[] = {
	offsetof(struct knem_cmd_create_region, cookie),
	offsetof(struct knem_cmd_init_send_param, send_cookie),
	offsetof(struct knem_cmd_sync_recv_param, status),
	offsetof(struct knem_cmd_copy, current_status),
	offsetof(struct knem_cmd_copy_bounded, current_status),
	offsetof(struct knem_cmd_inline_copy, current_status),
	offsetof(struct knem_cmd_inline_copy_bounded, current_status),
};

const unsigned int knem_abi_c_flags[] = {
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
