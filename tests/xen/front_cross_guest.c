/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * front_cross_guest.c - knem-front across two guests (front-cross-guest.sh):
 *   create SECONDS   region with ANY_USER_ACCESS, prints its cookie, sleeps
 *   read COOKIE      INLINE_COPY from the cookie, checks the pattern
 *   copy COOKIE      COPY into a local region, then INLINE_COPY into it
 *   expect COOKIE    the INLINE_COPY must be refused
 * Built static: gcc -static -O2 -I common -o DIR/knem_xtest front_cross_guest.c
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "knem_io.h"

#define LEN (3 * 4096 + 100)

static unsigned char pat(size_t i) { return (unsigned char)(i * 7 + 3); }

int main(int argc, char **argv)
{
	static unsigned char buf[LEN + 8192];
	unsigned char *b = buf + 17;
	struct knem_cmd_param_iovec iov = { (unsigned long)b, LEN };
	int fd = open("/dev/knem", O_RDWR);
	size_t i;

	if (fd < 0) { perror("open"); return 2; }
	if (argc >= 2 && !strcmp(argv[1], "create")) {
		struct knem_cmd_create_region c = { 0 };
		for (i = 0; i < LEN; i++) b[i] = pat(i);
		c.iovec_array = (unsigned long)&iov; c.iovec_nr = 1;
		c.flags = KNEM_FLAG_ANY_USER_ACCESS;
		c.protection = KNEM_PROT_READ | KNEM_PROT_WRITE;
		if (ioctl(fd, KNEM_CMD_CREATE_REGION, &c)) { perror("create"); return 1; }
		printf("%llu\n", (unsigned long long)c.cookie); fflush(stdout);
		sleep(atoi(argv[2]));
		/* was the region written by the other guest? */
		for (i = 0; i < 100; i++) if (b[i] != 0xab) break;
		fprintf(stderr, "create: after sleep first bytes %s\n", i == 100 ? "written by peer" : "unchanged");
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "read")) {
		unsigned long long cookie = strtoull(argv[2], NULL, 0);
		struct knem_cmd_inline_copy ic = { 0 };
		memset(b, 0, LEN);
		ic.local_iovec_array = (unsigned long)&iov; ic.local_iovec_nr = 1;
		ic.remote_cookie = cookie;
		if (ioctl(fd, KNEM_CMD_INLINE_COPY, &ic)) { perror("inline read"); return 1; }
		if (ic.current_status != KNEM_STATUS_SUCCESS) { printf("status %u\n", ic.current_status); return 1; }
		for (i = 0; i < LEN; i++) if (b[i] != pat(i)) { printf("mismatch at %zu\n", i); return 1; }
		printf("inline read OK (%d bytes)\n", LEN);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "copy")) {
		unsigned long long cookie = strtoull(argv[2], NULL, 0);
		struct knem_cmd_create_region c = { 0 };
		struct knem_cmd_copy cp = { 0 };
		memset(b, 0, LEN);
		c.iovec_array = (unsigned long)&iov; c.iovec_nr = 1;
		c.protection = KNEM_PROT_READ | KNEM_PROT_WRITE;
		if (ioctl(fd, KNEM_CMD_CREATE_REGION, &c)) { perror("local create"); return 1; }
		cp.src_cookie = cookie; cp.dst_cookie = c.cookie;
		if (ioctl(fd, KNEM_CMD_COPY, &cp)) { perror("copy"); return 1; }
		if (cp.current_status != KNEM_STATUS_SUCCESS) { printf("status %u\n", cp.current_status); return 1; }
		for (i = 0; i < LEN; i++) if (b[i] != pat(i)) { printf("mismatch at %zu\n", i); return 1; }
		printf("region copy OK (%d bytes)\n", LEN);
		/* write into the peer's region */
		{
			struct knem_cmd_inline_copy ic = { 0 };
			memset(b, 0xab, LEN);
			ic.local_iovec_array = (unsigned long)&iov; ic.local_iovec_nr = 1;
			ic.remote_cookie = cookie; ic.write = 1;
			if (ioctl(fd, KNEM_CMD_INLINE_COPY, &ic)) { perror("inline write"); return 1; }
			printf("inline write status %u\n", ic.current_status);
		}
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "expect")) {
		unsigned long long cookie = strtoull(argv[2], NULL, 0);
		struct knem_cmd_inline_copy ic = { 0 };
		ic.local_iovec_array = (unsigned long)&iov; ic.local_iovec_nr = 1;
		ic.remote_cookie = cookie;
		if (ioctl(fd, KNEM_CMD_INLINE_COPY, &ic)) { printf("refused: %s\n", strerror(errno)); return 0; }
		printf("unexpectedly allowed, status %u\n", ic.current_status);
		return 1;
	}
	return 2;
}
