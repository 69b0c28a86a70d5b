/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * knem_io.h - the user/kernel interface of /dev/knem, ABI 0xd.
 *
 * Binary compatible with the classic KNEM 1.1 interface: every ioctl
 * number, structure size and field offset below is what existing MPI
 * libraries were compiled against (tests/unit/abi_layout_test.cc pins
 * them).  Usable from C and C++, in the kernel and in user space.
 *
 * Conventions shared by every command:
 *  - every ioctl on a file opened without write access fails with EBADF;
 *  - an argument that cannot be read or written back fails with EFAULT;
 *  - flag bits of the classic set (0xff) that do not apply to a command
 *    are ignored, as the classic driver ignored them; any other bit fails
 *    with EINVAL;
 *  - on failure nothing is written back (current_status keeps the value
 *    the caller left in it);
 *  - an unknown command fails with ENOSYS.
 */
#ifndef KNEM_IO_H
#define KNEM_IO_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
typedef __u8 knem_u8;
typedef __u32 knem_u32;
typedef __u64 knem_u64;
#else
#include <stdint.h>
#include <sys/ioctl.h>
typedef uint8_t knem_u8;
typedef uint32_t knem_u32;
typedef uint64_t knem_u64;
#endif

#define KNEM_ABI_VERSION 0x0000000d

#define KNEM_DEVICE_NAME "knem"
#define KNEM_DEVICE_FILENAME "/dev/" KNEM_DEVICE_NAME

/* Feature bits reported by KNEM_CMD_GET_INFO. */
#define KNEM_FEATURE_DMA (1U << 0) /* a DMA-engine memcpy channel is usable */

/* Region protection: the PROT_READ and PROT_WRITE values of <sys/mman.h>. */
#define KNEM_PROT_READ 0x1
#define KNEM_PROT_WRITE 0x2

/* Copy flags. */
#define KNEM_FLAG_DMA (1U << 0)              /* copy with the DMA engine */
#define KNEM_FLAG_ASYNCDMACOMPLETE (1U << 1) /* DMA completes in background */
#define KNEM_FLAG_DMATHREAD (1U << 2)        /* submit DMA from the worker */
#define KNEM_FLAG_MEMCPYTHREAD (1U << 3)     /* memcpy in the worker */
#define KNEM_FLAG_PINLOCAL (1U << 4)         /* pin local iovecs anyway */
#define KNEM_FLAG_NOTIFY_FD (1U << 6)        /* queue the slot index on the fd */
/* Region creation flags. */
#define KNEM_FLAG_SINGLEUSE (1U << 5)        /* destroyed by its first use */
#define KNEM_FLAG_ANY_USER_ACCESS (1U << 7)  /* any uid may use the cookie */

#define KNEM_FLAG_ANY_THREAD_MASK \
	(KNEM_FLAG_DMATHREAD | KNEM_FLAG_MEMCPYTHREAD)
#define KNEM_FLAG_ANY_ASYNC_MASK \
	(KNEM_FLAG_ASYNCDMACOMPLETE | KNEM_FLAG_ANY_THREAD_MASK)
#define KNEM_FLAG_ANY_DMA_MASK \
	(KNEM_FLAG_DMA | KNEM_FLAG_ASYNCDMACOMPLETE | KNEM_FLAG_DMATHREAD)
#define KNEM_FLAG_ANY_CREATE_MASK \
	(KNEM_FLAG_SINGLEUSE | KNEM_FLAG_ANY_USER_ACCESS)
#define KNEM_FLAG_ANY_COPY_MASK \
	(KNEM_FLAG_ANY_DMA_MASK | KNEM_FLAG_MEMCPYTHREAD | \
	 KNEM_FLAG_PINLOCAL | KNEM_FLAG_NOTIFY_FD)

/* Values of a status byte (current_status, or a slot of the status array). */
typedef knem_u8 knem_status_t;
#define KNEM_STATUS_PENDING 0
#define KNEM_STATUS_SUCCESS 1
#define KNEM_STATUS_FAILED 2

/* Offset at which the status array is mmap'ed: one byte per slot. */
#define KNEM_STATUS_ARRAY_FILE_OFFSET 0

typedef knem_u64 knem_cookie_t;

struct knem_cmd_param_iovec {
	knem_u64 base;
	knem_u64 len;
};

/*
 * KNEM_CMD_GET_INFO: abi = KNEM_ABI_VERSION, features (KNEM_FEATURE_*),
 * and the flags that the driver ignores or forces on every command.
 */
struct knem_cmd_info {
	knem_u32 abi;
	knem_u32 features;
	knem_u32 ignored_flags;
	knem_u32 forced_flags;
};

/*
 * KNEM_CMD_BIND_OFFLOAD: CPUs of the file's offload worker.  flags is one
 * of the KNEM_BIND_FLAG_* values; CUSTOM reads mask_len bytes of cpumask
 * at mask_ptr.  EINVAL for any other flags, EBUSY once the status array
 * is mapped.
 */
#define KNEM_BIND_FLAG_CUSTOM (1U << 0)
#define KNEM_BIND_FLAG_CURRENT (1U << 1)
#define KNEM_BIND_FLAG_CURRENT_REVERSED (1U << 2)

struct knem_cmd_bind_offload {
	knem_u32 flags;
	knem_u32 mask_len;
	knem_u64 mask_ptr;
};

/*
 * KNEM_CMD_CREATE_REGION: pins iovec_nr iovecs at iovec_array and returns
 * a cookie (never 0).  flags: KNEM_FLAG_ANY_CREATE_MASK.  protection:
 * KNEM_PROT_READ and/or KNEM_PROT_WRITE.  EFAULT for memory that cannot
 * be pinned, EINVAL for a region whose length wraps or is too large,
 * ENOMEM.
 */
struct knem_cmd_create_region {
	knem_u64 iovec_array;
	knem_u32 iovec_nr;
	knem_u32 flags;
	knem_u32 protection;
	knem_u32 pad1;
	knem_cookie_t cookie;
};

/*
 * KNEM_CMD_COPY and KNEM_CMD_COPY_BOUNDED: region to region.  The length
 * is the smallest of what remains after each offset (and length for the
 * bounded variant).  EINVAL for an unknown cookie, EPERM for another
 * user's region without KNEM_FLAG_ANY_USER_ACCESS, EACCES for a region
 * without the needed protection.
 */
struct knem_cmd_copy {
	knem_cookie_t src_cookie;
	knem_u64 src_offset;
	knem_cookie_t dst_cookie;
	knem_u64 dst_offset;
	knem_u32 flags;
	knem_u32 current_status;
	knem_u32 async_status_index;
	knem_u32 pad;
};

struct knem_cmd_copy_bounded {
	knem_cookie_t src_cookie;
	knem_u64 src_offset;
	knem_cookie_t dst_cookie;
	knem_u64 dst_offset;
	knem_u64 length;
	knem_u32 flags;
	knem_u32 current_status;
	knem_u32 async_status_index;
	knem_u32 pad;
};

/*
 * KNEM_CMD_INLINE_COPY and KNEM_CMD_INLINE_COPY_BOUNDED: between the
 * caller's iovecs and a region.  write = 0 reads the region into the
 * iovecs, write != 0 writes the iovecs into the region.  Errors as for
 * KNEM_CMD_COPY; EFAULT also when the local iovecs cannot be read or
 * pinned.
 */
struct knem_cmd_inline_copy {
	knem_u64 local_iovec_array;
	knem_u32 local_iovec_nr;
	knem_u32 write;
	knem_cookie_t remote_cookie;
	knem_u64 remote_offset;
	knem_u32 flags;
	knem_u32 current_status;
	knem_u32 async_status_index;
	knem_u32 pad;
};

struct knem_cmd_inline_copy_bounded {
	knem_u64 local_iovec_array;
	knem_u32 local_iovec_nr;
	knem_u32 write;
	knem_cookie_t remote_cookie;
	knem_u64 remote_offset;
	knem_u64 length;
	knem_u32 flags;
	knem_u32 current_status;
	knem_u32 async_status_index;
	knem_u32 pad;
};

/* Pre-0xc commands, still served. */
struct knem_cmd_init_send_param {
	knem_u64 send_iovec_array;
	knem_u32 send_iovec_nr;
	knem_u32 flags;
	knem_cookie_t send_cookie;
};

struct knem_cmd_init_async_recv_param {
	knem_u64 recv_iovec_array;
	knem_u32 recv_iovec_nr;
	knem_u32 status_index;
	knem_cookie_t send_cookie;
	knem_u32 flags;
	knem_u32 pad;
};

struct knem_cmd_sync_recv_param {
	knem_u64 recv_iovec_array;
	knem_u32 recv_iovec_nr;
	knem_u32 status;
	knem_cookie_t send_cookie;
	knem_u32 flags;
	knem_u32 pad;
};

/*
 * The direction bits of these numbers do not describe the data flow; only
 * the numeric values matter, and they are those of the classic interface.
 */
#define KNEM_CMD_GET_INFO _IOW('K', 0x10, struct knem_cmd_info)
#define KNEM_CMD_BIND_OFFLOAD _IOR('K', 0x11, struct knem_cmd_bind_offload)
#define KNEM_CMD_INIT_SEND \
	_IOWR('K', 0x20, struct knem_cmd_init_send_param)
#define KNEM_CMD_CREATE_REGION \
	_IOWR('K', 0x21, struct knem_cmd_create_region)
#define KNEM_CMD_DESTROY_REGION _IOR('K', 0x22, knem_cookie_t)
#define KNEM_CMD_INIT_ASYNC_RECV \
	_IOR('K', 0x30, struct knem_cmd_init_async_recv_param)
#define KNEM_CMD_SYNC_RECV _IOR('K', 0x31, struct knem_cmd_sync_recv_param)
#define KNEM_CMD_COPY _IOR('K', 0x32, struct knem_cmd_copy)
#define KNEM_CMD_INLINE_COPY _IOR('K', 0x33, struct knem_cmd_inline_copy)
#define KNEM_CMD_COPY_BOUNDED _IOR('K', 0x34, struct knem_cmd_copy_bounded)
#define KNEM_CMD_INLINE_COPY_BOUNDED \
	_IOR('K', 0x35, struct knem_cmd_inline_copy_bounded)

/* Kept for source compatibility: the command number of an ioctl value. */
#define KNEM_CMD_INDEX(cmd) _IOC_NR(cmd)

#endif /* KNEM_IO_H */
