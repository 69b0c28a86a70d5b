/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * regions_check.c - knem-front's regions across two guests
 * (tests/xen/scenario-regions.sh).  Guest A owns regions, guest B uses
 * them; every command prints what it checked and exits non-zero on a
 * failure.
 *
 *   hold MB                 A: a MB MiB region (ANY_USER_ACCESS, read-write),
 *                           cookie on stdout; waits for /tmp/hold.stop, then
 *                           checks the bytes B wrote and those it did not
 *   peer COOKIE MB          B: reads near the end of A's region (INLINE_COPY,
 *                           COPY), a 20 MiB inline read and write (above
 *                           one INLINE_COPY), a write near the end
 *   su-create               A: a single-use region, cookie on stdout; waits
 *                           for /tmp/su.stop
 *   su-use COOKIE           B: first use succeeds, the second fails (EINVAL)
 *   su-sink N PAGES [race]  B: consumes N single-use regions of A, announced
 *                           in its mailbox region (cookie on stdout)
 *   su-source N PAGES MBOX [race]  A: creates them, at most WINDOW
 *                           unconsumed.  With "race" A also uses each
 *                           region itself as soon as it announced it; each
 *                           side counts its uses (EINVAL: the other one
 *                           had it), the two counts must add up to N
 *   unmap-create            A: a region, cookie on stdout; munmaps its memory
 *                           once /tmp/unmap.go exists, then waits for
 *                           /tmp/unmap.stop
 *   unmap-read COOKIE ok|fail  B: a copy from it succeeds, or fails (EFAULT
 *                           or KNEM_STATUS_FAILED) within 10 s
 *   too-big MB              A: creating a MB MiB region fails with ENOMEM
 *   many N                  A: N one-page regions (each a REGION_CREATE in
 *                           dom0), prints "many: N regions", then sleeps
 *                           until killed (tests/xen/scenario-hostile.sh
 *                           destroys the guest with them)
 *
 * Its output is prose for the scenario (lines starting with FAIL on a
 * failure), not check lines.  Built by tests/xen/Makefile.am.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen_knem.h"
#include "xen_sync.h"

#define MIB (1024UL * 1024)
#define PAGE 4096UL
/* B's 20 MiB inline copies: above one INLINE_COPY (2048 pages). */
#define BIG_IO (20 * MIB)
/* where B writes in A's region, relative to its start and end */
#define WRITE_AT (8 * MIB + 100)
#define TAIL_BACK (PAGE + 77)
#define TAIL_LEN (PAGE + 50)
/* single-use regions of the loop that may wait for B at once */
#define WINDOW 8
#define MBOX_SLOTS 256
#define MAGIC 0x6b6e656d78656e31ULL

static int knem_fd;

static void die(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A's original bytes and B's, by offset in the region. */
static unsigned char pat_a(uint64_t off)
{
	return (unsigned char)(off * 7 + (off >> 12) * 13 + 1);
}

static unsigned char pat_b(uint64_t off)
{
	return (unsigned char)(off * 5 + (off >> 12) * 11 + 3);
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* Every region is for the other guest: ANY_USER_ACCESS.  0 or errno. */
static int create_region(void *buf, size_t len, unsigned int flags,
			 unsigned int prot, uint64_t *cookie)
{
	return knem_create_flat(knem_fd, buf, len, prot,
				flags | KNEM_FLAG_ANY_USER_ACCESS, cookie);
}

/* INLINE_COPY (xen_knem.h's answer). */
static int inline_copy(uint64_t cookie, uint64_t off,
		       struct knem_cmd_param_iovec *iov, unsigned int nr,
		       int write)
{
	return knem_inline_copy(knem_fd, iov, nr, write, cookie, off, 0, 0);
}

static void inline_ok(const char *what, uint64_t cookie, uint64_t off,
		      struct knem_cmd_param_iovec *iov, unsigned int nr,
		      int write)
{
	int r = inline_copy(cookie, off, iov, nr, write);

	if (r > 0) {
		errno = r;
		die(what);
	}
	if (r) {
		printf("FAIL %s: %s\n", what, knem_result_str(r));
		exit(1);
	}
}

static void check_bytes(const char *what, const unsigned char *p,
			uint64_t region_off, size_t len,
			unsigned char (*pat)(uint64_t))
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != pat(region_off + i)) {
			printf("FAIL %s: byte %zu of %zu is %u, not %u\n",
			       what, i, len, p[i], pat(region_off + i));
			exit(1);
		}
	}
}

static void await_file(const char *path, int seconds)
{
	if (wait_file(path, seconds))
		return;
	printf("FAIL waiting for %s\n", path);
	exit(1);
}

static void print_cookie(uint64_t cookie)
{
	printf("%llu\n", (unsigned long long)cookie);
	fflush(stdout);
}

static int cmd_hold(size_t mb)
{
	size_t len = mb * MIB, i;
	unsigned char *buf = map(len);
	uint64_t cookie;
	int err;

	for (i = 0; i < len; i++)
		buf[i] = pat_a(i);
	err = create_region(buf, len, 0, KNEM_PROT_READ | KNEM_PROT_WRITE,
			    &cookie);
	if (err) {
		errno = err;
		die("create");
	}
	print_cookie(cookie);
	await_file("/tmp/hold.stop", 900);
	for (i = 0; i < len; i++) {
		int by_b = (i >= WRITE_AT && i < WRITE_AT + BIG_IO) ||
			   (i >= len - TAIL_BACK &&
			    i < len - TAIL_BACK + TAIL_LEN);
		unsigned char want = by_b ? pat_b(i) : pat_a(i);

		if (buf[i] != want) {
			printf("FAIL hold: byte %zu is %u, not %u (%s)\n", i,
			       buf[i], want, by_b ? "B's" : "A's");
			return 1;
		}
	}
	printf("hold: all %zu bytes as expected (B's writes included)\n",
	       len);
	return 0;
}

static int cmd_peer(uint64_t cookie, size_t mb)
{
	size_t len = mb * MIB, i;
	unsigned char *buf = map(BIG_IO + 2 * PAGE);
	struct knem_cmd_param_iovec iov[3];
	uint64_t off, local, src_off;
	int err;

	/* the last MiB and a bit, to the end */
	off = len - MIB - 123;
	iov[0] = (struct knem_cmd_param_iovec){ (uintptr_t)buf + 5, MIB + 123 };
	inline_ok("inline read at the end", cookie, off, iov, 1, 0);
	check_bytes("inline read at the end", buf + 5, off, MIB + 123, pat_a);
	printf("peer: inline read of the last %lu bytes OK\n", MIB + 123);

	/* region to region near the end */
	memset(buf, 0, MIB);
	err = create_region(buf, MIB, 0, KNEM_PROT_READ | KNEM_PROT_WRITE,
			    &local);
	if (err) {
		errno = err;
		die("local create");
	}
	src_off = len - MIB / 2 - 9;
	err = knem_copy(knem_fd, cookie, src_off, local, 0, 0, 0);
	if (err > 0) {
		errno = err;
		die("copy");
	}
	if (err) {
		printf("FAIL copy: %s\n", knem_result_str(err));
		return 1;
	}
	check_bytes("copy at the end", buf, src_off, MIB / 2 + 9, pat_a);
	printf("peer: region copy of the last %lu bytes OK\n", MIB / 2 + 9);

	/* 20 MiB inline read, three unaligned iovecs */
	off = 40 * MIB + 17;
	memset(buf, 0, BIG_IO + 2 * PAGE);
	iov[0] = (struct knem_cmd_param_iovec){ (uintptr_t)buf + 3,
						7 * MIB + 3 };
	iov[1] = (struct knem_cmd_param_iovec){ iov[0].base + iov[0].len,
						6 * MIB + 1001 };
	iov[2] = (struct knem_cmd_param_iovec){ iov[1].base + iov[1].len,
						BIG_IO - iov[0].len -
						iov[1].len };
	inline_ok("20 MiB inline read", cookie, off, iov, 3, 0);
	check_bytes("20 MiB inline read", buf + 3, off, BIG_IO, pat_a);
	printf("peer: 20 MiB inline read (3 iovecs) OK\n");

	/* 20 MiB inline write, two iovecs */
	for (i = 0; i < BIG_IO; i++)
		buf[7 + i] = pat_b(WRITE_AT + i);
	iov[0] = (struct knem_cmd_param_iovec){ (uintptr_t)buf + 7,
						11 * MIB + 5 };
	iov[1] = (struct knem_cmd_param_iovec){ iov[0].base + iov[0].len,
						BIG_IO - iov[0].len };
	inline_ok("20 MiB inline write", cookie, WRITE_AT, iov, 2, 1);
	printf("peer: 20 MiB inline write OK\n");

	/* a write near the end */
	off = len - TAIL_BACK;
	for (i = 0; i < TAIL_LEN; i++)
		buf[i] = pat_b(off + i);
	iov[0] = (struct knem_cmd_param_iovec){ (uintptr_t)buf, TAIL_LEN };
	inline_ok("inline write at the end", cookie, off, iov, 1, 1);

	/* read back what was written */
	memset(buf, 0, BIG_IO + 2 * PAGE);
	iov[0] = (struct knem_cmd_param_iovec){ (uintptr_t)buf, BIG_IO };
	inline_ok("20 MiB read back", cookie, WRITE_AT, iov, 1, 0);
	check_bytes("20 MiB read back", buf, WRITE_AT, BIG_IO, pat_b);
	iov[0] = (struct knem_cmd_param_iovec){ (uintptr_t)buf, 2 * PAGE };
	inline_ok("read back at the end", cookie, len - TAIL_BACK, iov, 1, 0);
	check_bytes("read back at the end", buf, len - TAIL_BACK, TAIL_LEN,
		    pat_b);
	check_bytes("read back at the end", buf + TAIL_LEN,
		    len - TAIL_BACK + TAIL_LEN, TAIL_BACK - TAIL_LEN, pat_a);
	printf("peer: writes read back OK\n");
	return 0;
}

static int cmd_su_create(void)
{
	size_t len = 8 * PAGE, i;
	unsigned char *buf = map(len);
	uint64_t cookie;
	int err;

	for (i = 0; i < len; i++)
		buf[i] = pat_a(i);
	err = create_region(buf, len, KNEM_FLAG_SINGLEUSE, KNEM_PROT_READ,
			    &cookie);
	if (err) {
		errno = err;
		die("single-use create");
	}
	print_cookie(cookie);
	await_file("/tmp/su.stop", 900);
	return 0;
}

static int cmd_su_use(uint64_t cookie)
{
	unsigned char *buf = map(8 * PAGE);
	struct knem_cmd_param_iovec iov = { (uintptr_t)buf, 8 * PAGE };
	int r;

	inline_ok("first use", cookie, 0, &iov, 1, 0);
	check_bytes("first use", buf, 0, 8 * PAGE, pat_a);
	printf("su-use: first use OK\n");
	r = inline_copy(cookie, 0, &iov, 1, 0);
	if (r != EINVAL) {
		printf("FAIL second use: %s\n",
		       r ? knem_result_str(r) : "allowed");
		return 1;
	}
	printf("su-use: second use refused (EINVAL)\n");
	return 0;
}

/*
 * The loop's mailboxes are ordinary regions written by the other guest
 * with INLINE_COPY; each entry carries a check word, so a torn or old
 * entry is recognised and read again.
 */
struct mbox_entry {
	uint64_t cookie;
	uint64_t check;
};

struct mbox {			/* B's: the cookies, and A's mailbox */
	struct mbox_entry ack_box;
	struct mbox_entry slot[MBOX_SLOTS];
};

static uint64_t entry_check(uint64_t cookie, uint64_t seq)
{
	return cookie ^ MAGIC ^ (seq * 0x9e3779b97f4a7c15ULL);
}

/* Waits up to 120 s for a valid entry of @seq above @above. */
static uint64_t entry_read(volatile struct mbox_entry *e, uint64_t seq,
			   uint64_t above)
{
	int i;

	for (i = 0; i < 600000; i++) {
		uint64_t cookie = e->cookie, check = e->check;

		if (cookie > above && check == entry_check(cookie, seq))
			return cookie;
		usleep(200);
	}
	printf("FAIL mailbox: nothing from the other guest (entry %llu)\n",
	       (unsigned long long)seq);
	exit(1);
}

static void entry_write(uint64_t box, uint64_t off, uint64_t cookie,
			uint64_t seq)
{
	struct mbox_entry e = { cookie, entry_check(cookie, seq) };
	struct knem_cmd_param_iovec iov = { (uintptr_t)&e, sizeof(e) };

	inline_ok("mailbox write", box, off, &iov, 1, 1);
}

/*
 * One use of single-use region @i (pattern i * 7 + 1); in a race, EINVAL
 * (the other guest used it) is an answer too.  1 when it was this use.
 */
static int su_consume(const char *who, uint64_t cookie, unsigned int i,
		      unsigned char *buf, size_t len, int race)
{
	struct knem_cmd_param_iovec iov = { (uintptr_t)buf, len };
	unsigned char want = (unsigned char)(i * 7 + 1);
	size_t k;
	int r;

	if (!race) {
		inline_ok("consume", cookie, 0, &iov, 1, 0);
	} else {
		r = inline_copy(cookie, 0, &iov, 1, 0);
		if (r == EINVAL)
			return 0;
		if (r) {
			printf("FAIL %s: region %u: %s\n", who, i,
			       knem_result_str(r));
			exit(1);
		}
	}
	for (k = 0; k < len; k++) {
		if (buf[k] != want) {
			printf("FAIL %s: region %u: byte %zu is %u, not %u\n",
			       who, i, k, buf[k], want);
			exit(1);
		}
	}
	return 1;
}

static void race_result(const char *who, unsigned int used, unsigned int n)
{
	printf("%s: used %u of %u single-use regions, EINVAL for %u\n", who,
	       used, n, n - used);
}

static int cmd_su_sink(unsigned int n, unsigned int pages, int race)
{
	struct mbox *box = map(sizeof(*box));
	size_t len = (size_t)pages * PAGE;
	unsigned char *buf = map(len);
	uint64_t mine, ack_box, cookie;
	unsigned int i, used = 0;
	int err;

	err = create_region(box, sizeof(*box), 0,
			    KNEM_PROT_READ | KNEM_PROT_WRITE, &mine);
	if (err) {
		errno = err;
		die("mailbox create");
	}
	print_cookie(mine);
	ack_box = entry_read(&box->ack_box, 0, 0);
	for (i = 0; i < n; i++) {
		memset(buf, 0, len);
		cookie = entry_read(&box->slot[i % MBOX_SLOTS], i + 1, 0);
		used += su_consume("su-sink", cookie, i, buf, len, race);
		entry_write(ack_box, 0, i + 1, 0);
	}
	if (race)
		race_result("su-sink", used, n);
	else
		printf("su-sink: consumed %u single-use regions of %u pages\n",
		       n, pages);
	return 0;
}

static int cmd_su_source(unsigned int n, unsigned int pages, uint64_t sink,
			 int race)
{
	struct mbox_entry *ack = map(PAGE);
	size_t len = (size_t)pages * PAGE;
	unsigned char *buf = map(WINDOW * len);
	unsigned char *own = map(len);
	uint64_t mine, cookie = 0, acked = 0;
	unsigned int i, used = 0;
	int err;

	err = create_region(ack, PAGE, 0, KNEM_PROT_READ | KNEM_PROT_WRITE,
			    &mine);
	if (err) {
		errno = err;
		die("ack mailbox create");
	}
	entry_write(sink, 0, mine, 0);
	for (i = 0; i < n; i++) {
		unsigned char *b = buf + (size_t)(i % WINDOW) * len;

		/* buffer i % WINDOW is free once region i - WINDOW is read */
		if (acked + WINDOW <= i)
			acked = entry_read(ack, 0, acked);
		memset(b, i * 7 + 1, len);
		err = create_region(b, len, KNEM_FLAG_SINGLEUSE,
				    KNEM_PROT_READ, &cookie);
		if (err) {
			printf("FAIL single-use region %u: %s\n", i,
			       strerror(err));
			return 1;
		}
		entry_write(sink,
			    sizeof(struct mbox_entry) *
			    (1 + i % MBOX_SLOTS), cookie, i + 1);
		if (race) {
			memset(own, 0, len);
			used += su_consume("su-source", cookie, i, own, len, 1);
		}
	}
	while (acked < n)
		acked = entry_read(ack, 0, acked);
	if (race)
		race_result("su-source", used, n);
	else
		printf("su-source: %u single-use regions of %u pages consumed by B\n",
		       n, pages);
	return 0;
}

static int cmd_unmap_create(void)
{
	size_t len = 16 * PAGE, i;
	unsigned char *buf = map(len);
	uint64_t cookie;
	int err;

	for (i = 0; i < len; i++)
		buf[i] = pat_a(i);
	err = create_region(buf, len, 0, KNEM_PROT_READ, &cookie);
	if (err) {
		errno = err;
		die("create");
	}
	print_cookie(cookie);
	await_file("/tmp/unmap.go", 900);
	if (munmap(buf, len))
		die("munmap");
	printf("unmap-create: unmapped\n");
	fflush(stdout);
	await_file("/tmp/unmap.stop", 900);
	return 0;
}

static int cmd_unmap_read(uint64_t cookie, int expect_ok)
{
	unsigned char *buf = map(16 * PAGE);
	struct knem_cmd_param_iovec iov = { (uintptr_t)buf, 16 * PAGE };
	int r, i;

	for (i = 0; i < 100; i++) {
		r = inline_copy(cookie, 0, &iov, 1, 0);
		if (expect_ok) {
			if (r)
				break;
			check_bytes("read before unmap", buf, 0, 16 * PAGE,
				    pat_a);
			printf("unmap-read: read OK\n");
			return 0;
		}
		if (r == EFAULT || r == KNEM_FAILED) {
			printf("unmap-read: refused after unmap (%s)\n",
			       r == EFAULT ? "EFAULT" : "KNEM_STATUS_FAILED");
			return 0;
		}
		if (r > 0)
			break;
		nap_ms(100);
	}
	printf("FAIL unmap-read: %s\n",
	       r ? knem_result_str(r) : "still allowed");
	return 1;
}

static int cmd_too_big(size_t mb)
{
	size_t len = mb * MIB;
	unsigned char *buf = map(len);
	uint64_t cookie;
	int err;

	memset(buf, 1, len);
	err = create_region(buf, len, 0, KNEM_PROT_READ, &cookie);
	if (err != ENOMEM) {
		printf("FAIL too-big: %s\n",
		       err ? strerror(err) : "created");
		return 1;
	}
	printf("too-big: a %zu MiB region refused (ENOMEM)\n", mb);
	return 0;
}

static int cmd_many(unsigned int n)
{
	unsigned char *buf = map((size_t)n * PAGE);
	uint64_t cookie;
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		buf[(size_t)i * PAGE] = (unsigned char)i;
		err = create_region(buf + (size_t)i * PAGE, PAGE, 0,
				    KNEM_PROT_READ | KNEM_PROT_WRITE, &cookie);
		if (err) {
			errno = err;
			printf("many: region %u of %u\n", i, n);
			die("create");
		}
	}
	printf("many: %u regions\n", n);
	/* pause() returns only for a caught signal: none is caught */
	while (pause() == -1)
		;
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	knem_fd = open("/dev/knem", O_RDWR);
	if (knem_fd < 0)
		die("open /dev/knem");
	if (!strcmp(cmd, "hold") && argc == 3)
		return cmd_hold(strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "peer") && argc == 4)
		return cmd_peer(strtoull(argv[2], NULL, 0),
				strtoul(argv[3], NULL, 0));
	if (!strcmp(cmd, "su-create") && argc == 2)
		return cmd_su_create();
	if (!strcmp(cmd, "su-use") && argc == 3)
		return cmd_su_use(strtoull(argv[2], NULL, 0));
	if (!strcmp(cmd, "su-sink") && (argc == 4 || argc == 5))
		return cmd_su_sink(strtoul(argv[2], NULL, 0),
				   strtoul(argv[3], NULL, 0),
				   argc == 5 && !strcmp(argv[4], "race"));
	if (!strcmp(cmd, "su-source") && (argc == 5 || argc == 6))
		return cmd_su_source(strtoul(argv[2], NULL, 0),
				     strtoul(argv[3], NULL, 0),
				     strtoull(argv[4], NULL, 0),
				     argc == 6 && !strcmp(argv[5], "race"));
	if (!strcmp(cmd, "unmap-create") && argc == 2)
		return cmd_unmap_create();
	if (!strcmp(cmd, "unmap-read") && argc == 4)
		return cmd_unmap_read(strtoull(argv[2], NULL, 0),
				      !strcmp(argv[3], "ok"));
	if (!strcmp(cmd, "many") && argc == 3)
		return cmd_many(strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "too-big") && argc == 3)
		return cmd_too_big(strtoul(argv[2], NULL, 0));
	fprintf(stderr, "usage: see the comment at the top of regions_check.c\n");
	return 2;
}
