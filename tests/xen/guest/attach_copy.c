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
 * Built static: gcc -static -O2 -Wall -Wextra -Werror -I common
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "knem_io.h"

/* three pages and a bit, at an odd offset: several grant segments */
#define LEN (3 * 4096 + 100)

static unsigned char buf_a[LEN + 8192], buf_b[LEN + 8192];

static unsigned char pattern(unsigned int seed, size_t i)
{
	return (unsigned char)(i * 7 + seed * 31 + 3);
}

static void fill(unsigned char *b, unsigned int seed)
{
	size_t i;

	for (i = 0; i < LEN; i++)
		b[i] = pattern(seed, i);
}

static int check(const unsigned char *b, unsigned int seed, const char *what)
{
	size_t i;

	for (i = 0; i < LEN; i++) {
		if (b[i] != pattern(seed, i)) {
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

static int create(int fd, unsigned char *b, unsigned int flags,
		  unsigned long long *cookie)
{
	struct knem_cmd_param_iovec iov = { (uintptr_t)b, LEN };
	struct knem_cmd_create_region c = { 0 };

	c.iovec_array = (uintptr_t)&iov;
	c.iovec_nr = 1;
	c.flags = flags;
	c.protection = KNEM_PROT_READ | KNEM_PROT_WRITE;
	if (ioctl(fd, KNEM_CMD_CREATE_REGION, &c))
		return -1;
	*cookie = c.cookie;
	return 0;
}

static int inline_copy(int fd, unsigned char *b, unsigned long long cookie,
		       int write)
{
	struct knem_cmd_param_iovec iov = { (uintptr_t)b, LEN };
	struct knem_cmd_inline_copy ic = { 0 };

	ic.local_iovec_array = (uintptr_t)&iov;
	ic.local_iovec_nr = 1;
	ic.remote_cookie = cookie;
	ic.write = write;
	if (ioctl(fd, KNEM_CMD_INLINE_COPY, &ic))
		return -1;
	if (ic.current_status != KNEM_STATUS_SUCCESS) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* readv / writev: 2048 iovecs, scattered over 9 pages, LEN bytes */
#define NIOV 2048
#define VPAGES 9

static unsigned char vbuf[(VPAGES + 1) * 4096];
static struct knem_cmd_param_iovec viov[NIOV];

/* iovec k: 6 bytes of page 1 + k % 8 at (k / 8) * 16 + k % 3; 0: page 0 */
static unsigned char *vsetup(void)
{
	unsigned char *base = (unsigned char *)(((uintptr_t)vbuf + 4095) &
						~(uintptr_t)4095);
	unsigned int k;

	for (k = 0; k < NIOV; k++) {
		if (!k) {
			viov[k].base = (uintptr_t)base;
			viov[k].len = LEN - (NIOV - 1) * 6;
			continue;
		}
		viov[k].base = (uintptr_t)(base + (1 + k % 8) * 4096 +
					   (k / 8) * 16 + k % 3);
		viov[k].len = 6;
	}
	return base;
}

/* Fills the iovecs with pattern SEED, or returns the bytes that differ. */
static size_t vwalk(unsigned int seed, int fill_them)
{
	size_t i = 0, bad = 0;
	unsigned int k, j;

	for (k = 0; k < NIOV; k++) {
		unsigned char *p = (unsigned char *)(uintptr_t)viov[k].base;

		for (j = 0; j < viov[k].len; j++, i++) {
			if (fill_them)
				p[j] = pattern(seed, i);
			else if (p[j] != pattern(seed, i))
				bad++;
		}
	}
	return bad;
}

static int inline_copyv(int fd, unsigned long long cookie, int write)
{
	struct knem_cmd_inline_copy ic = { 0 };

	ic.local_iovec_array = (uintptr_t)viov;
	ic.local_iovec_nr = NIOV;
	ic.remote_cookie = cookie;
	ic.write = write;
	if (ioctl(fd, KNEM_CMD_INLINE_COPY, &ic))
		return -1;
	if (ic.current_status != KNEM_STATUS_SUCCESS) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int region_copy(int fd, unsigned long long src,
		       unsigned long long dst)
{
	struct knem_cmd_copy cp = { 0 };

	cp.src_cookie = src;
	cp.dst_cookie = dst;
	if (ioctl(fd, KNEM_CMD_COPY, &cp))
		return -1;
	if (cp.current_status != KNEM_STATUS_SUCCESS) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) || rename(tmp, path))
		return -1;
	return 0;
}

static int hold(const char *file, unsigned int seed)
{
	unsigned char *b = buf_a + 17;
	unsigned long long cookie;
	char path[4096], text[64];
	struct stat st;
	int fd;

	fd = open("/dev/knem", O_RDWR);
	if (fd < 0)
		return fail("open");
	fill(b, seed);
	if (create(fd, b, KNEM_FLAG_ANY_USER_ACCESS, &cookie))
		return fail("create");
	snprintf(text, sizeof(text), "%llu\n", cookie);
	if (write_file(file, text))
		return fail("write-cookie");
	snprintf(path, sizeof(path), "%s.stop", file);
	while (stat(path, &st))
		usleep(100000);
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
		ret = check(a, seed, "inline read");
		if (!ret)
			printf("ok inline read %d bytes\n", LEN);
		return ret;
	}
	if (argc == 4 && !strcmp(argv[1], "readv")) {
		unsigned char *base = vsetup();
		size_t bad, gap = 0, i;

		memset(base, 0xee, VPAGES * 4096);
		if (inline_copyv(fd, cookie, 0))
			return fail("inline-readv");
		bad = vwalk(seed, 0);
		/* with the iovecs reset, every byte must be 0xee again */
		for (i = 0; i < NIOV; i++)
			memset((void *)(uintptr_t)viov[i].base, 0xee,
			       viov[i].len);
		for (i = 0; i < VPAGES * 4096; i++)
			gap += base[i] != 0xee;
		if (bad || gap) {
			printf("mismatch readv: %zu bytes wrong, %zu bytes between the iovecs written\n",
			       bad, gap);
			return 3;
		}
		printf("ok inline readv %d iovecs %d bytes\n", NIOV, LEN);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "writev")) {
		vsetup();
		vwalk(seed, 1);
		if (inline_copyv(fd, cookie, 1))
			return fail("inline-writev");
		printf("ok inline writev %d iovecs %d bytes\n", NIOV, LEN);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "copy")) {
		memset(a, 0, LEN);
		if (create(fd, a, 0, &mine))
			return fail("create");
		if (region_copy(fd, cookie, mine))
			return fail("copy");
		ret = check(a, seed, "region copy");
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
			ret = check(a, seed, "inline read");
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
		fill(a, 5);
		memset(b, 0, LEN);
		if (create(fd, a, 0, &mine))
			return fail("create");
		if (create(fd, b, 0, &other))
			return fail("create");
		if (region_copy(fd, mine, other))
			return fail("copy");
		ret = check(b, 5, "local copy");
		if (ret)
			return ret;
		fill(b, 6);
		if (inline_copy(fd, b, mine, 1))
			return fail("inline-write");
		ret = check(a, 6, "local inline write");
		if (!ret)
			printf("ok local copies\n");
		return ret;
	}
	fprintf(stderr, "%s: unknown command %s\n", argv[0], argv[1]);
	return 2;
}
