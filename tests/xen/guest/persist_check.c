/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * persist_check.c - region-to-region copies across guests that dom0's
 * backend serves through persistent mappings, for
 * tests/xen/scenario-persistent.sh.  Runs in the guests as /xt/persist_check.
 * Each check prints one line
 *	xen-check: PASS <role>:<name>   or   xen-check: FAIL <role>:<name>: <why>
 * and the exit status is 1 when one failed.
 *
 *   hold SIZE [once|drop]
 *                      declares a region of SIZE bytes (pattern 1) with
 *                      KNEM_FLAG_ANY_USER_ACCESS and prints its cookie; at
 *                      the first SIGUSR1 rewrites it with pattern 2 and
 *                      prints "rewritten"; at the second checks that it
 *                      holds pattern 3 (written by a peer) and exits.
 *                      With "once", exits at the first SIGUSR1; with
 *                      "drop", unmaps the region's memory at the first
 *                      (the region turns stale), prints "dropped", and
 *                      exits at the second
 *   pull COOKIE SIZE SEED ROUNDS NDST [dma]
 *                      declares NDST regions of SIZE bytes and copies
 *                      COOKIE into them ROUNDS times (KNEM_CMD_COPY, in
 *                      turn), each time from zeroed memory, and checks
 *                      that every byte is pattern SEED
 *   push COOKIE SIZE SEED ROUNDS [dma]
 *                      declares a region holding pattern SEED and copies
 *                      it into COOKIE ROUNDS times
 * With "dma" the copies carry KNEM_FLAG_DMA, which the guest's knem-front
 * accepts only if dom0 offers its DMA engine (feature-dma).
 * Built by tests/xen/Makefile.am.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen_check.h"
#include "xen_knem.h"
#include "xen_pattern.h"

/* Regions start at odd offsets in their buffers: segments are unaligned. */
#define HOLD_OFFSET 100
#define LOCAL_OFFSET 3011

static volatile sig_atomic_t signals;

struct region {
	uint8_t *base;
	size_t len;
	knem_cookie_t cookie;
};

static void region_create(int fd, struct region *r, size_t len, size_t offset)
{
	r->base = mmap(NULL, len + offset, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->base == MAP_FAILED)
		die("mmap");
	r->base += offset;
	r->len = len;
	memset(r->base, 0, len);
	errno = knem_create_flat(fd, r->base, len, PROT_READ | PROT_WRITE,
				 KNEM_FLAG_ANY_USER_ACCESS, &r->cookie);
	if (errno)
		die("create region");
}

/* KNEM_CMD_COPY of everything from @src to @dst; 0 or a reason. */
static const char *copy(int fd, knem_cookie_t src, knem_cookie_t dst,
			unsigned int flags)
{
	int r = knem_copy(fd, src, 0, dst, 0, flags, 0);

	if (r > 0)
		return strerror(r);
	return r ? "status not SUCCESS" : NULL;
}

static unsigned int copy_flags(int fd, int argc, char **argv, int at)
{
	struct knem_cmd_info info;

	if (argc <= at)
		return 0;
	if (strcmp(argv[at], "dma") != 0) {
		check(0, "usage", "unknown argument %s", argv[at]);
		exit(2);
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, KNEM_CMD_GET_INFO, &info) < 0)
		die("get info");
	check(info.features & KNEM_FEATURE_DMA, "dma-feature",
	      "KNEM_FEATURE_DMA not reported (features 0x%x)", info.features);
	return KNEM_FLAG_DMA;
}

static void on_signal(int sig)
{
	(void)sig;
	signals++;
}

/* Until the @n-th SIGUSR1 (blocked outside sigsuspend: none is lost). */
static void wait_signals(int n, const sigset_t *unblocked)
{
	while (signals < n)
		sigsuspend(unblocked);
}

enum hold_mode { HOLD_CHECK, HOLD_ONCE, HOLD_DROP };

static int hold(int fd, size_t len, enum hold_mode mode)
{
	struct region r;
	sigset_t mask, old;
	long bad;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGUSR1, on_signal);
	region_create(fd, &r, len, HOLD_OFFSET);
	fill(r.base, len, 1);
	printf("%" PRIu64 "\n", (uint64_t)r.cookie);
	fflush(stdout);
	wait_signals(1, &old);
	if (mode == HOLD_ONCE)
		return 0;
	if (mode == HOLD_DROP) {
		if (munmap(r.base - HOLD_OFFSET, len + HOLD_OFFSET) < 0)
			die("munmap");
		printf("dropped\n");
		fflush(stdout);
		wait_signals(2, &old);
		return 0;
	}
	fill(r.base, len, 2);
	printf("rewritten\n");
	fflush(stdout);
	wait_signals(2, &old);
	bad = mismatch(r.base, len, 3);
	check(bad < 0, "peer-wrote-pattern-3", "byte %ld of %zu is %u", bad,
	      len, bad < 0 ? 0 : r.base[bad]);
	return failures ? 1 : 0;
}

static int pull(int fd, int argc, char **argv)
{
	knem_cookie_t src = strtoull(argv[2], NULL, 0);
	size_t len = strtoull(argv[3], NULL, 0);
	unsigned int seed = strtoul(argv[4], NULL, 0);
	unsigned int rounds = strtoul(argv[5], NULL, 0);
	unsigned int ndst = strtoul(argv[6], NULL, 0);
	unsigned int flags = copy_flags(fd, argc, argv, 7);
	struct region *dst;
	const char *err = NULL;
	unsigned int i;
	long bad = -1;
	char name[64];

	dst = calloc(ndst ? ndst : 1, sizeof(*dst));
	if (!dst || !ndst)
		die("destination regions");
	for (i = 0; i < ndst; i++)
		region_create(fd, &dst[i], len, LOCAL_OFFSET + i * 64);
	for (i = 0; i < rounds && !err && bad < 0; i++) {
		struct region *d = &dst[i % ndst];

		memset(d->base, 0, len);
		err = copy(fd, src, d->cookie, flags);
		if (!err)
			bad = mismatch(d->base, len, seed);
	}
	snprintf(name, sizeof(name), "pull-pattern-%u%s", seed,
		 flags ? "-dma" : "");
	if (err)
		check(0, name, "copy %u of %u: %s", i, rounds, err);
	else
		check(bad < 0, name, "copy %u of %u: byte %ld wrong", i,
		      rounds, bad);
	return failures ? 1 : 0;
}

static int push(int fd, int argc, char **argv)
{
	knem_cookie_t dst = strtoull(argv[2], NULL, 0);
	size_t len = strtoull(argv[3], NULL, 0);
	unsigned int seed = strtoul(argv[4], NULL, 0);
	unsigned int rounds = strtoul(argv[5], NULL, 0);
	unsigned int flags = copy_flags(fd, argc, argv, 6);
	const char *err = NULL;
	struct region src;
	unsigned int i;
	char name[64];

	region_create(fd, &src, len, LOCAL_OFFSET);
	fill(src.base, len, seed);
	for (i = 0; i < rounds && !err; i++)
		err = copy(fd, src.cookie, dst, flags);
	snprintf(name, sizeof(name), "push-pattern-%u%s", seed,
		 flags ? "-dma" : "");
	check(!err, name, "copy %u of %u: %s", i, rounds, err);
	return failures ? 1 : 0;
}

static int usage(const char *program)
{
	fprintf(stderr,
		"usage: %s hold SIZE [once|drop] | pull COOKIE SIZE SEED ROUNDS NDST [dma] | push COOKIE SIZE SEED ROUNDS [dma]\n",
		program);
	return 2;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 3)
		return usage(argv[0]);
	role = argv[1];
	fd = open(KNEM_DEVICE_FILENAME, O_RDWR);
	if (fd < 0)
		die("open /dev/knem");
	if (strcmp(argv[1], "hold") == 0)
		return hold(fd, strtoull(argv[2], NULL, 0),
			    argc < 4 ? HOLD_CHECK :
			    strcmp(argv[3], "once") == 0 ? HOLD_ONCE :
			    strcmp(argv[3], "drop") == 0 ? HOLD_DROP :
			    HOLD_CHECK);
	if (argc >= 7 && strcmp(argv[1], "pull") == 0)
		return pull(fd, argc, argv);
	if (argc >= 6 && strcmp(argv[1], "push") == 0)
		return push(fd, argc, argv);
	return usage(argv[0]);
}
