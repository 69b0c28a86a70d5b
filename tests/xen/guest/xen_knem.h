/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xen_knem.h - the /dev/knem commands of the Xen scenarios' guest
 * programs, every field of the argument set (the rest zero).
 * Region creation answers 0 or the errno of the ioctl.  A copy answers
 *	0            KNEM_STATUS_SUCCESS
 *	an errno     the ioctl failed
 *	KNEM_FAILED  the ioctl passed, the status is KNEM_STATUS_FAILED
 *	KNEM_PENDING an asynchronous copy in flight (its status slot tells)
 */
#ifndef XEN_KNEM_H
#define XEN_KNEM_H

#include <stddef.h>
#include <stdint.h>

#include "knem_io.h"

#define KNEM_FAILED (-1)
#define KNEM_PENDING (-2)

int knem_create(int fd, const struct knem_cmd_param_iovec *iov,
		unsigned int nr, unsigned int prot, unsigned int flags,
		knem_cookie_t *cookie);

/* A region of @len bytes at @p. */
int knem_create_flat(int fd, void *p, size_t len, unsigned int prot,
		     unsigned int flags, knem_cookie_t *cookie);

/* KNEM_CMD_INLINE_COPY: @write into the region, else from it. */
int knem_inline_copy(int fd, const struct knem_cmd_param_iovec *iov,
		     unsigned int nr, int write, knem_cookie_t cookie,
		     uint64_t offset, unsigned int flags, unsigned int slot);

int knem_inline_bounded(int fd, const struct knem_cmd_param_iovec *iov,
			unsigned int nr, int write, knem_cookie_t cookie,
			uint64_t offset, uint64_t length);

/* KNEM_CMD_COPY, region to region. */
int knem_copy(int fd, knem_cookie_t src, uint64_t src_off, knem_cookie_t dst,
	      uint64_t dst_off, unsigned int flags, unsigned int slot);

int knem_copy_bounded(int fd, knem_cookie_t src, uint64_t src_off,
		      knem_cookie_t dst, uint64_t dst_off, uint64_t length,
		      unsigned int flags);

/* A copy's answer in words: "success", "status FAILED" or the errno's. */
const char *knem_result_str(int r);

#endif
