/* SPDX-License-Identifier: BSD-3-Clause */
/* xen_knem.c - the /dev/knem commands (xen_knem.h). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "xen_knem.h"

int knem_create(int fd, const struct knem_cmd_param_iovec *iov,
		unsigned int nr, unsigned int prot, unsigned int flags,
		knem_cookie_t *cookie)
{
	struct knem_cmd_create_region c = { 0 };

	c.iovec_array = (uintptr_t)iov;
	c.iovec_nr = nr;
	c.protection = prot;
	c.flags = flags;
	if (ioctl(fd, KNEM_CMD_CREATE_REGION, &c))
		return errno;
	*cookie = c.cookie;
	return 0;
}

int knem_create_flat(int fd, void *p, size_t len, unsigned int prot,
		     unsigned int flags, knem_cookie_t *cookie)
{
	struct knem_cmd_param_iovec iov = { (uintptr_t)p, len };

	return knem_create(fd, &iov, 1, prot, flags, cookie);
}

/* A copy's answer (xen_knem.h) from the ioctl's @rc and the @status. */
static int result(int rc, unsigned int status)
{
	if (rc)
		return errno;
	if (status == KNEM_STATUS_PENDING)
		return KNEM_PENDING;
	return status == KNEM_STATUS_SUCCESS ? 0 : KNEM_FAILED;
}

int knem_inline_copy(int fd, const struct knem_cmd_param_iovec *iov,
		     unsigned int nr, int write, knem_cookie_t cookie,
		     uint64_t offset, unsigned int flags, unsigned int slot)
{
	struct knem_cmd_inline_copy ic = { 0 };
	int rc;

	ic.local_iovec_array = (uintptr_t)iov;
	ic.local_iovec_nr = nr;
	ic.write = write;
	ic.remote_cookie = cookie;
	ic.remote_offset = offset;
	ic.flags = flags;
	ic.async_status_index = slot;
	rc = ioctl(fd, KNEM_CMD_INLINE_COPY, &ic);
	return result(rc, ic.current_status);
}

int knem_inline_bounded(int fd, const struct knem_cmd_param_iovec *iov,
			unsigned int nr, int write, knem_cookie_t cookie,
			uint64_t offset, uint64_t length)
{
	struct knem_cmd_inline_copy_bounded ic = { 0 };
	int rc;

	ic.local_iovec_array = (uintptr_t)iov;
	ic.local_iovec_nr = nr;
	ic.write = write;
	ic.remote_cookie = cookie;
	ic.remote_offset = offset;
	ic.length = length;
	rc = ioctl(fd, KNEM_CMD_INLINE_COPY_BOUNDED, &ic);
	return result(rc, ic.current_status);
}

int knem_copy(int fd, knem_cookie_t src, uint64_t src_off, knem_cookie_t dst,
	      uint64_t dst_off, unsigned int flags, unsigned int slot)
{
	struct knem_cmd_copy c = { 0 };
	int rc;

	c.src_cookie = src;
	c.src_offset = src_off;
	c.dst_cookie = dst;
	c.dst_offset = dst_off;
	c.flags = flags;
	c.async_status_index = slot;
	rc = ioctl(fd, KNEM_CMD_COPY, &c);
	return result(rc, c.current_status);
}

int knem_copy_bounded(int fd, knem_cookie_t src, uint64_t src_off,
		      knem_cookie_t dst, uint64_t dst_off, uint64_t length,
		      unsigned int flags)
{
	struct knem_cmd_copy_bounded c = { 0 };
	int rc;

	c.src_cookie = src;
	c.src_offset = src_off;
	c.dst_cookie = dst;
	c.dst_offset = dst_off;
	c.length = length;
	c.flags = flags;
	rc = ioctl(fd, KNEM_CMD_COPY_BOUNDED, &c);
	return result(rc, c.current_status);
}

const char *knem_result_str(int r)
{
	if (r == KNEM_FAILED)
		return "status FAILED";
	if (r == 0)
		return "success";
	return strerror(r);
}
