/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * attach_copy.c - guest side of tests/xen/scenario-attach.sh:
 *   hold FILE SEED    creates a region (ANY_USER_ACCESS, read-write)
 *                     filled with pattern SEED, writes its cookie to FILE,
 *                     keeps it until FILE.stop exists, then closes
 *                     /dev/knem and writes FILE.done
 *   read COOKIE SEED  INLINE_COPY from the region, checks pattern SEED
 *   readv COOKIE SEED  the same with 2048 iovecs of 6 bytes (the first
 *                     106) scattered over 9 pages; bytes between them
 *                     must stay untouched
 *   writev COOKIE SEED  INLINE_COPY of pattern SEED into the region from
 *                     those 2048 iovecs
 *   copy COOKIE SEED  COPY from the region into a new local one, checks
 *   local             two new regions: COPY and INLINE_COPY between them
 *   loop COOKIE SEED S  INLINE_COPY from the region again and again, for S
 *                     seconds or until one fails (a detach meanwhile)
 *   copyloop SRC DST S  COPY from region SRC into region DST (whole, data
 *                     not checked) again and again, for S seconds or until
 *                     one fails
 * Prints "ok ..." and exits 0, or prints "error STEP ERRNO-NAME" (exit 1)
 * or "mismatch ..." (exit 3).  Usage errors exit 2.
 * Built by tests/xen/Makefile.am.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen_knem.h"
#include "xen_pattern.h"
#include "xen_sync.h"

#define LEN ATTACH_LEN

static unsigned char buf_a[LEN + 8192], buf_b[LEN + 8192];

static void fill_attach(unsigned char *b, unsigned int seed)
{
	size_t i;

	for (i = 0; i < LEN; i++)
		b[i] = pat_attach(seed, i);
}

static int verify(const unsigned char *b, unsigned int seed, const char *what)
{
	size_t i;

	for (i = 0; i < LEN; i++) {
		if (b[i] != pat_attach(seed, i)) {
			printf("mismatch %s at byte %zu\n", what, i);
			return 3;
		}
	}
	return 0;
}

static const char *errno_name(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOTTY: return "ENOTTY";
	default: return "other";
	}
}

static int fail(const char *step)
{
	int err = errno;

	printf("error %s %s (%s)\n", step, errno_name(err), strerror(err));
	return 1;
}

/*
 * A knem command's answer (xen_knem.h) for fail(): errno is the ioctl's,
 * or EIO for a status other than SUCCESS.
 */
static int knem_errno(int r)
{
	if (r)
		errno = r > 0 ? r : EIO;
	return r;
}

static int create(int fd, unsigned char *b, unsigned int flags,
		  unsigned long long *cookie)
{
	knem_cookie_t c = 0;

	if (knem_errno(knem_create_flat(fd, b, LEN,
					KNEM_PROT_READ | KNEM_PROT_WRITE,
					flags, &c)))
		return -1;
	*cookie = c;
	return 0;
}

static int inline_copy(int fd, unsigned char *b, unsigned long long cookie,
		       int write)
{
	struct knem_cmd_param_iovec iov = { (uintptr_t)b, LEN };

	return knem_errno(knem_inline_copy(fd, &iov, 1, write, cookie, 0, 0,
					   0));
}

/* readv / writev: the scattered iovecs (scatter_seg), LEN bytes */
static unsigned char vbuf[(SCATTER_PAGES + 1) * 4096];
static struct knem_cmd_param_iovec viov[SCATTER_SEGS];

static unsigned char *vsetup(void)
{
	unsigned char *base = (unsigned char *)(((uintptr_t)vbuf + 4095) &
						~(uintptr_t)4095);
	unsigned int k, page, off, len;

	for (k = 0; k < SCATTER_SEGS; k++) {
		scatter_seg(k, &page, &off, &len);
		viov[k].base = (uintptr_t)(base + page * 4096 + off);
		viov[k].len = len;
	}
	return base;
}

/* Fills the iovecs with pattern SEED, or returns the bytes that differ. */
static size_t vwalk(unsigned int seed, int fill_them)
{
	size_t i = 0, bad = 0;
	unsigned int k, j;

	for (k = 0; k < SCATTER_SEGS; k++) {
		unsigned char *p = (unsigned char *)(uintptr_t)viov[k].base;

		for (j = 0; j < viov[k].len; j++, i++) {
			if (fill_them)
				p[j] = pat_attach(seed, i);
			else if (p[j] != pat_attach(seed, i))
				bad++;
		}
	}
	return bad;
}

static int inline_copyv(int fd, unsigned long long cookie, int write)
{
	return knem_errno(knem_inline_copy(fd, viov, SCATTER_SEGS, write,
					   cookie, 0, 0, 0));
}

static int region_copy(int fd, unsigned long long src,
		       unsigned long long dst)
{
	return knem_errno(knem_copy(fd, src, 0, dst, 0, 0, 0));
}

static int hold(const char *file, unsigned int seed)
{
	unsigned char *b = buf_a + 17;
	unsigned long long cookie;
	char path[4096];
	int fd;

	fd = open("/dev/knem", O_RDWR);
	if (fd < 0)
		return fail("open");
	fill_attach(b, seed);
	if (create(fd, b, KNEM_FLAG_ANY_USER_ACCESS, &cookie))
		return fail("create");
	if (write_cookie(file, cookie))
		return fail("write-cookie");
	snprintf(path, sizeof(path), "%s.stop", file);
	wait_file(path, -1);
	close(fd);	/* releases the region */
	snprintf(path, sizeof(path), "%s.done", file);
	if (write_file(path, "released\n"))
		return fail("write-done");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *a = buf_a + 17, *b = buf_b + 5;
	unsigned long long cookie = 0, mine, other;
	unsigned int seed = 0;
	int fd, ret;

	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], strtoul(argv[3], NULL, 0));
	if (argc == 4 || argc == 5) {
		cookie = strtoull(argv[2], NULL, 0);
		seed = strtoul(argv[3], NULL, 0);
	} else if (argc != 2) {
		fprintf(stderr, "usage: %s hold FILE SEED | read COOKIE SEED | readv COOKIE SEED | writev COOKIE SEED | copy COOKIE SEED | loop COOKIE SEED S | local\n",
			argv[0]);
		return 2;
	}
	fd = open("/dev/knem", O_RDWR);
	if (fd < 0)
		return fail("open");

	if (argc == 4 && !strcmp(argv[1], "read")) {
		memset(a, 0, LEN);
		if (inline_copy(fd, a, cookie, 0))
			return fail("inline-read");
		ret = verify(a, seed, "inline read");
		if (!ret)
			printf("ok inline read %d bytes\n", LEN);
		return ret;
	}
	if (argc == 4 && !strcmp(argv[1], "readv")) {
		unsigned char *base = vsetup();
		size_t bad, gap = 0, i;

		memset(base, 0xee, SCATTER_PAGES * 4096);
		if (inline_copyv(fd, cookie, 0))
			return fail("inline-readv");
		bad = vwalk(seed, 0);
		/* with the iovecs reset, every byte must be 0xee again */
		for (i = 0; i < SCATTER_SEGS; i++)
			memset((void *)(uintptr_t)viov[i].base, 0xee,
			       viov[i].len);
		for (i = 0; i < SCATTER_PAGES * 4096; i++)
			gap += base[i] != 0xee;
		if (bad || gap) {
			printf("mismatch readv: %zu bytes wrong, %zu bytes between the iovecs written\n",
			       bad, gap);
			return 3;
		}
		printf("ok inline readv %d iovecs %d bytes\n", SCATTER_SEGS, LEN);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "writev")) {
		vsetup();
		vwalk(seed, 1);
		if (inline_copyv(fd, cookie, 1))
			return fail("inline-writev");
		printf("ok inline writev %d iovecs %d bytes\n", SCATTER_SEGS, LEN);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "copy")) {
		memset(a, 0, LEN);
		if (create(fd, a, 0, &mine))
			return fail("create");
		if (region_copy(fd, cookie, mine))
			return fail("copy");
		ret = verify(a, seed, "region copy");
		if (!ret)
			printf("ok region copy %d bytes\n", LEN);
		return ret;
	}
	if (argc == 5 && !strcmp(argv[1], "loop")) {
		time_t end = time(NULL) + strtoul(argv[4], NULL, 0);
		unsigned long reads = 0;

		while (time(NULL) < end) {
			memset(a, 0, LEN);
			if (inline_copy(fd, a, cookie, 0)) {
				printf("after %lu reads: ", reads);
				return fail("inline-read");
			}
			ret = verify(a, seed, "inline read");
			if (ret)
				return ret;
			reads++;
		}
		printf("ok %lu reads\n", reads);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "copyloop")) {
		time_t end = time(NULL) + strtoul(argv[4], NULL, 0);
		unsigned long long dst = strtoull(argv[3], NULL, 0);
		unsigned long copies = 0;

		while (time(NULL) < end) {
			if (region_copy(fd, cookie, dst)) {
				printf("after %lu copies: ", copies);
				return fail("copy");
			}
			copies++;
		}
		printf("ok %lu copies\n", copies);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "local")) {
		fill_attach(a, 5);
		memset(b, 0, LEN);
		if (create(fd, a, 0, &mine))
			return fail("create");
		if (create(fd, b, 0, &other))
			return fail("create");
		if (region_copy(fd, mine, other))
			return fail("copy");
		ret = verify(b, 5, "local copy");
		if (ret)
			return ret;
		fill_attach(b, 6);
		if (inline_copy(fd, b, mine, 1))
			return fail("inline-write");
		ret = verify(a, 6, "local inline write");
		if (!ret)
			printf("ok local copies\n");
		return ret;
	}
	fprintf(stderr, "%s: unknown command %s\n", argv[0], argv[1]);
	return 2;
}
