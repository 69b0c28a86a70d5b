/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * knem_classic_client.c - a /dev/knem client as an MPI library built
 * against the classic KNEM 1.1 knem_io.h sees the device.
 *
 * It deliberately does not include the project's header: the structures
 * and the ioctl numbers below are written out from the classic layout
 * (knem-abi.md §2), numbers hard-coded as they appear in binaries that
 * were compiled years ago.  Two processes exchange cookies and copy in
 * both directions; the errno of every refusal a client relies on is
 * checked.  One line per check; exit status 0 only when all passed.
 *
 * Across Xen guests (tests/xen/scenario-copies.sh), with knem-front loaded
 * with forceflags=0x80 as an administrator does for unmodified MPI
 * libraries, which never set ANY_USER_ACCESS:
 *   knem_classic_client export        prints the cookie of a region (first
 *                                     line), waits for the peer's write
 *   knem_classic_client import COOKIE in the other guest: reads the region,
 *                                     writes its second half, copies from it
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the classic interface, as compiled into existing clients ---------- */
#define CLASSIC_DEVICE "/dev/knem"
#define CLASSIC_ABI 0x0000000dU

#define CLASSIC_CMD_GET_INFO 0x40104b10UL
#define CLASSIC_CMD_CREATE_REGION 0xc0204b21UL
#define CLASSIC_CMD_DESTROY_REGION 0x80084b22UL
#define CLASSIC_CMD_INLINE_COPY 0x80304b33UL
#define CLASSIC_CMD_COPY_BOUNDED 0x80384b34UL

#define CLASSIC_FLAG_SINGLEUSE 0x20U
#define CLASSIC_FLAG_ANY_USER_ACCESS 0x80U
#define CLASSIC_STATUS_SUCCESS 1U

struct classic_iovec {
	uint64_t base;
	uint64_t len;
};

struct classic_info {
	uint32_t abi;
	uint32_t features;
	uint32_t ignored_flags;
	uint32_t forced_flags;
};

struct classic_create_region {
	uint64_t iovec_array;
	uint32_t iovec_nr;
	uint32_t flags;
	uint32_t protection;
	uint32_t pad1;
	uint64_t cookie;
};

struct classic_inline_copy {
	uint64_t local_iovec_array;
	uint32_t local_iovec_nr;
	uint32_t write;
	uint64_t remote_cookie;
	uint64_t remote_offset;
	uint32_t flags;
	uint32_t current_status;
	uint32_t async_status_index;
	uint32_t pad;
};

struct classic_copy_bounded {
	uint64_t src_cookie;
	uint64_t src_offset;
	uint64_t dst_cookie;
	uint64_t dst_offset;
	uint64_t length;
	uint32_t flags;
	uint32_t current_status;
	uint32_t async_status_index;
	uint32_t pad;
};

/* C99 compile-time checks of the layout. */
#define CLASSIC_CHECK(name, cond) typedef char classic_check_##name[(cond) ? 1 : -1]
CLASSIC_CHECK(info_size, sizeof(struct classic_info) == 16);
CLASSIC_CHECK(create_size, sizeof(struct classic_create_region) == 32);
CLASSIC_CHECK(create_cookie, offsetof(struct classic_create_region, cookie) == 24);
CLASSIC_CHECK(create_prot, offsetof(struct classic_create_region, protection) == 16);
CLASSIC_CHECK(inline_size, sizeof(struct classic_inline_copy) == 48);
CLASSIC_CHECK(inline_status, offsetof(struct classic_inline_copy, current_status) == 36);
CLASSIC_CHECK(bounded_size, sizeof(struct classic_copy_bounded) == 56);
CLASSIC_CHECK(bounded_status, offsetof(struct classic_copy_bounded, current_status) == 44);
/* The sizes encoded in the ioctl numbers (bits 16-29). */
CLASSIC_CHECK(num_info, ((CLASSIC_CMD_GET_INFO >> 16) & 0x3fff) == sizeof(struct classic_info));
CLASSIC_CHECK(num_create, ((CLASSIC_CMD_CREATE_REGION >> 16) & 0x3fff) == sizeof(struct classic_create_region));
CLASSIC_CHECK(num_inline, ((CLASSIC_CMD_INLINE_COPY >> 16) & 0x3fff) == sizeof(struct classic_inline_copy));
CLASSIC_CHECK(num_bounded, ((CLASSIC_CMD_COPY_BOUNDED >> 16) & 0x3fff) == sizeof(struct classic_copy_bounded));

/* ---- reporting ---------------------------------------------------------- */
static int checks, failures;

static void report(int ok, const char *who, const char *what, const char *detail)
{
	checks++;
	if (!ok)
		failures++;
	printf("%s [%s] %s%s%s\n", ok ? "PASS" : "FAIL", who, what,
	       detail && *detail ? ": " : "", detail ? detail : "");
	fflush(stdout);
}

/* Checks an ioctl result: want_errno 0 means success (with SUCCESS status). */
static void check_rc(const char *who, const char *what, int rc, int err,
		     int want_errno)
{
	char detail[160];

	if (want_errno == 0 && rc == 0) {
		report(1, who, what, NULL);
	} else if (want_errno != 0 && rc == -1 && err == want_errno) {
		snprintf(detail, sizeof(detail), "%s as expected", strerror(err));
		report(1, who, what, detail);
	} else {
		snprintf(detail, sizeof(detail), "got rc %d (%s), want %s", rc,
			 rc ? strerror(err) : "success",
			 want_errno ? strerror(want_errno) : "success");
		report(0, who, what, detail);
	}
}

/* ---- helpers -------------------------------------------------------------- */
static uint8_t pattern(uint64_t i, unsigned seed)
{
	return (uint8_t)(i * 131U + seed * 7U + (i >> 9) + (i >> 17));
}

static void fill(uint8_t *p, size_t len, unsigned seed, uint64_t start)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern(start + i, seed);
}

/* Index of the first byte that is not pattern(start + i), or -1. */
static long mismatch(const uint8_t *p, size_t len, unsigned seed, uint64_t start)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern(start + i, seed))
			return (long)i;
	return -1;
}

static void check_data(const char *who, const char *what, const uint8_t *p,
		       size_t len, unsigned seed, uint64_t start)
{
	char detail[96];
	long bad = mismatch(p, len, seed, start);

	if (bad < 0) {
		report(1, who, what, NULL);
	} else {
		snprintf(detail, sizeof(detail), "byte %ld of %zu differs", bad, len);
		report(0, who, what, detail);
	}
}

static int create_region(int fd, void *base, uint64_t len, uint32_t prot,
			 uint32_t flags, uint64_t *cookie, int *err)
{
	struct classic_iovec iov;
	struct classic_create_region cr;
	int rc;

	iov.base = (uint64_t)(uintptr_t)base;
	iov.len = len;
	memset(&cr, 0, sizeof(cr));
	cr.iovec_array = (uint64_t)(uintptr_t)&iov;
	cr.iovec_nr = 1;
	cr.flags = flags;
	cr.protection = prot;
	rc = ioctl(fd, CLASSIC_CMD_CREATE_REGION, &cr);
	*err = errno;
	*cookie = rc == 0 ? cr.cookie : 0;
	return rc;
}

/* INLINE_COPY as UCX does it: current_status pre-set to 0, checked after. */
static int inline_copy(int fd, void *local, uint64_t len, int write,
		       uint64_t cookie, uint64_t offset, int *err,
		       uint32_t *status)
{
	struct classic_iovec iov;
	struct classic_inline_copy ic;
	int rc;

	iov.base = (uint64_t)(uintptr_t)local;
	iov.len = len;
	memset(&ic, 0, sizeof(ic));
	ic.local_iovec_array = (uint64_t)(uintptr_t)&iov;
	ic.local_iovec_nr = 1;
	ic.write = (uint32_t)write;
	ic.remote_cookie = cookie;
	ic.remote_offset = offset;
	ic.current_status = 0;
	rc = ioctl(fd, CLASSIC_CMD_INLINE_COPY, &ic);
	*err = errno;
	*status = ic.current_status;
	if (rc == 0 && ic.current_status != CLASSIC_STATUS_SUCCESS) {
		*err = EIO;
		return -2;
	}
	return rc;
}

static int copy_bounded(int fd, uint64_t src, uint64_t src_off, uint64_t dst,
			uint64_t dst_off, uint64_t length, int *err)
{
	struct classic_copy_bounded cb;
	int rc;

	memset(&cb, 0, sizeof(cb));
	cb.src_cookie = src;
	cb.src_offset = src_off;
	cb.dst_cookie = dst;
	cb.dst_offset = dst_off;
	cb.length = length;
	rc = ioctl(fd, CLASSIC_CMD_COPY_BOUNDED, &cb);
	*err = errno;
	if (rc == 0 && cb.current_status != CLASSIC_STATUS_SUCCESS) {
		*err = EIO;
		return -2;
	}
	return rc;
}

static int destroy_region(int fd, uint64_t cookie, int *err)
{
	int rc = ioctl(fd, CLASSIC_CMD_DESTROY_REGION, &cookie);

	*err = errno;
	return rc;
}

/* One-byte messages between the two processes. */
static void send_msg(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		perror("pipe write");
}

static char recv_msg(int fd)
{
	char c = 0;

	if (read(fd, &c, 1) != 1)
		return 0;
	return c;
}

/* ---- the exchange ---------------------------------------------------------- */
#define LEN (3 * 4096 + 333)	/* three pages and a bit: offsets cross pages */

/* Cookies published through a MAP_SHARED page. */
struct board {
	uint64_t ro, wo, rw_single, any_ro;
};

static const uint64_t offsets[] = {0, 1, 4095, 4097, LEN - 10};
#define NR_OFFSETS (sizeof(offsets) / sizeof(offsets[0]))

/*
 * The "owner" side: creates a read-only, a write-only, a single-use
 * read-write and an any-user read-only region over its buffers.
 */
struct owned {
	uint8_t *ro_buf, *wo_buf, *rw_buf;
	uint64_t ro, wo, rw_single, any_ro;
};

static int own_regions(const char *who, int fd, struct owned *o, unsigned seed,
		       struct board *board)
{
	int err, rc, ok = 1;

	o->ro_buf = malloc(LEN);
	o->wo_buf = malloc(LEN);
	o->rw_buf = malloc(LEN);
	if (!o->ro_buf || !o->wo_buf || !o->rw_buf)
		return 0;
	fill(o->ro_buf, LEN, seed, 0);
	memset(o->wo_buf, 0, LEN);
	fill(o->rw_buf, LEN, seed + 1, 0);
	rc = create_region(fd, o->ro_buf, LEN, PROT_READ, 0, &o->ro, &err);
	check_rc(who, "CREATE_REGION persistent PROT_READ", rc, err, 0);
	ok &= rc == 0;
	rc = create_region(fd, o->wo_buf, LEN, PROT_WRITE, 0, &o->wo, &err);
	check_rc(who, "CREATE_REGION persistent PROT_WRITE", rc, err, 0);
	ok &= rc == 0;
	rc = create_region(fd, o->rw_buf, LEN, PROT_READ | PROT_WRITE,
			   CLASSIC_FLAG_SINGLEUSE, &o->rw_single, &err);
	check_rc(who, "CREATE_REGION single-use PROT_READ|PROT_WRITE", rc, err, 0);
	ok &= rc == 0;
	rc = create_region(fd, o->ro_buf, LEN, PROT_READ,
			   CLASSIC_FLAG_ANY_USER_ACCESS, &o->any_ro, &err);
	check_rc(who, "CREATE_REGION ANY_USER_ACCESS PROT_READ", rc, err, 0);
	ok &= rc == 0;
	report(o->ro && o->wo && o->rw_single && o->any_ro, who,
	       "cookies are not 0", NULL);
	board->ro = o->ro;
	board->wo = o->wo;
	board->rw_single = o->rw_single;
	board->any_ro = o->any_ro;
	return ok;
}

/*
 * The "user" side: copies from and into the peer's regions with remote
 * offsets, checks the errnos on them.  peer_seed is the seed of the
 * peer's read-only buffer, my_seed that of what this side writes.
 */
static void use_regions(const char *who, int fd, const struct board *b,
			unsigned peer_seed, unsigned my_seed)
{
	uint8_t *buf = malloc(LEN);
	uint32_t status;
	char what[128];
	size_t i;
	int err, rc;

	if (!buf) {
		report(0, who, "malloc", NULL);
		return;
	}
	/* Reads at remote offsets. */
	for (i = 0; i < NR_OFFSETS; i++) {
		uint64_t off = offsets[i];

		memset(buf, 0, LEN);
		rc = inline_copy(fd, buf, LEN - off, 0, b->ro, off, &err, &status);
		snprintf(what, sizeof(what),
			 "INLINE_COPY read peer region at offset %llu",
			 (unsigned long long)off);
		check_rc(who, what, rc, err, 0);
		if (rc == 0) {
			strncat(what, ": data", sizeof(what) - strlen(what) - 1);
			check_data(who, what, buf, LEN - off, peer_seed, off);
		}
	}
	/* Writes at remote offsets: each writes the stream of my_seed from off. */
	for (i = 0; i < NR_OFFSETS; i++) {
		uint64_t off = offsets[i];

		fill(buf, LEN - off, my_seed, off);
		rc = inline_copy(fd, buf, LEN - off, 1, b->wo, off, &err, &status);
		snprintf(what, sizeof(what),
			 "INLINE_COPY write peer region at offset %llu",
			 (unsigned long long)off);
		check_rc(who, what, rc, err, 0);
	}
	/* Third party: region to region between two regions of the peer. */
	rc = copy_bounded(fd, b->ro, 100, b->wo, 0, 50, &err);
	check_rc(who, "COPY_BOUNDED peer PROT_READ -> peer PROT_WRITE (50 bytes)",
		 rc, err, 0);

	/* Protection mismatches. */
	rc = inline_copy(fd, buf, 100, 0, b->wo, 0, &err, &status);
	check_rc(who, "INLINE_COPY read of a PROT_WRITE region", rc, err, EACCES);
	rc = inline_copy(fd, buf, 100, 1, b->ro, 0, &err, &status);
	check_rc(who, "INLINE_COPY write into a PROT_READ region", rc, err,
		 EACCES);
	rc = copy_bounded(fd, b->wo, 0, b->ro, 0, 10, &err);
	check_rc(who, "COPY_BOUNDED PROT_WRITE -> PROT_READ", rc, err, EACCES);

	/* Single use: once, then EINVAL. */
	rc = inline_copy(fd, buf, LEN, 0, b->rw_single, 0, &err, &status);
	check_rc(who, "INLINE_COPY read of a single-use region", rc, err, 0);
	rc = inline_copy(fd, buf, LEN, 0, b->rw_single, 0, &err, &status);
	check_rc(who, "second use of a single-use region", rc, err, EINVAL);

	/* Cookies that do not exist. */
	rc = inline_copy(fd, buf, 10, 0, 0, 0, &err, &status);
	check_rc(who, "INLINE_COPY with cookie 0", rc, err, EINVAL);
	rc = inline_copy(fd, buf, 10, 0, b->ro ^ 0x0123450000000000ULL, 0, &err,
			 &status);
	check_rc(who, "INLINE_COPY with a forged cookie", rc, err, EINVAL);

	/* Nobody else can destroy the peer's regions. */
	rc = destroy_region(fd, b->ro, &err);
	check_rc(who, "DESTROY_REGION of the peer's region", rc, err, EINVAL);
	free(buf);
}

/* After use_regions() on our regions: what the peer wrote is there. */
static void verify_owned(const char *who, struct owned *o, unsigned peer_seed,
			 unsigned my_seed)
{
	/*
	 * The last write (offset LEN-10) wrote bytes LEN-10..; the one before
	 * (4097) wrote 4097..LEN-1 entirely; all of them wrote the peer's
	 * stream at the same positions, then COPY_BOUNDED put 50 bytes of
	 * our read-only buffer (from 100) at 0.
	 */
	check_data(who, "the other side's writes landed at their remote offsets",
		   o->wo_buf + 50, LEN - 50, peer_seed, 50);
	check_data(who, "the other side's third-party COPY_BOUNDED landed",
		   o->wo_buf, 50,
		   my_seed, 100);
}

static void destroy_owned(const char *who, int fd, struct owned *o)
{
	int err, rc;

	rc = destroy_region(fd, o->ro, &err);
	check_rc(who, "DESTROY_REGION", rc, err, 0);
	rc = destroy_region(fd, o->ro, &err);
	check_rc(who, "DESTROY_REGION twice", rc, err, EINVAL);
	rc = destroy_region(fd, o->rw_single, &err);
	check_rc(who, "DESTROY_REGION of a consumed single-use region", rc, err,
		 EINVAL);
}

/* ---- EPERM: another uid ---------------------------------------------------- */
static void check_other_uid(int fd, const struct board *b)
{
	pid_t pid;
	int wstatus = 0;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		report(0, "nobody", "fork", strerror(errno));
		return;
	}
	if (pid == 0) {
		uint8_t buf[64];
		uint32_t status;
		int err, rc;

		checks = failures = 0;
		/* fd was opened by root; the uid that counts is ours now. */
		if (setgid(65534) != 0 || setuid(65534) != 0) {
			report(0, "nobody", "setuid(65534)", strerror(errno));
			_exit(1);
		}
		rc = inline_copy(fd, buf, sizeof(buf), 0, b->ro, 0, &err, &status);
		check_rc("nobody", "INLINE_COPY read of root's region", rc, err,
			 EPERM);
		rc = inline_copy(fd, buf, sizeof(buf), 1, b->wo, 0, &err, &status);
		check_rc("nobody", "INLINE_COPY write into root's region", rc, err,
			 EPERM);
		rc = copy_bounded(fd, b->ro, 0, b->wo, 0, 8, &err);
		check_rc("nobody", "COPY_BOUNDED between root's regions", rc, err,
			 EPERM);
		rc = inline_copy(fd, buf, sizeof(buf), 0, b->any_ro, 0, &err,
				 &status);
		check_rc("nobody", "INLINE_COPY read of an ANY_USER_ACCESS region",
			 rc, err, 0);
		_exit(failures ? 1 : 0);
	}
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	/* The child's lines were counted by the child: count its verdict. */
	report(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "root",
	       "uid checks in the setuid child", NULL);
}

/* ---- across Xen guests ------------------------------------------------------ */
#define CROSS_LEN (5 * 4096 + 99)
#define CROSS_HALF (CROSS_LEN / 2)

/* GET_INFO must report ANY_USER_ACCESS as forced (forceflags=0x80). */
static void check_forced(const char *who, int fd)
{
	struct classic_info info;
	char detail[64];
	int rc;

	memset(&info, 0, sizeof(info));
	rc = ioctl(fd, CLASSIC_CMD_GET_INFO, &info);
	snprintf(detail, sizeof(detail), "forced flags 0x%x", info.forced_flags);
	report(rc == 0 && (info.forced_flags & CLASSIC_FLAG_ANY_USER_ACCESS),
	       who, "GET_INFO reports ANY_USER_ACCESS forced", detail);
}

static int cross_export(void)
{
	uint8_t *buf = malloc(CROSS_LEN);
	uint64_t cookie;
	int fd, err, rc, waited;

	fd = open(CLASSIC_DEVICE, O_RDWR);
	if (fd < 0 || !buf) {
		report(0, "export", "open " CLASSIC_DEVICE, strerror(errno));
		return 1;
	}
	fill(buf, CROSS_LEN, 50, 0);
	/* no ANY_USER_ACCESS: what an MPI library asks for */
	rc = create_region(fd, buf, CROSS_LEN, PROT_READ | PROT_WRITE, 0,
			   &cookie, &err);
	if (rc) {
		check_rc("export", "CREATE_REGION", rc, err, 0);
		return 1;
	}
	printf("%llu\n", (unsigned long long)cookie);
	check_forced("export", fd);
	/* the peer writes the second half; wait for it, at most 300 s */
	for (waited = 0; waited < 30000; waited++) {
		if (mismatch(buf + CROSS_HALF, CROSS_LEN - CROSS_HALF, 60,
			     CROSS_HALF) < 0)
			break;
		usleep(10000);
	}
	check_data("export", "the other guest's INLINE_COPY write landed",
		   buf + CROSS_HALF, CROSS_LEN - CROSS_HALF, 60, CROSS_HALF);
	check_data("export", "the first half is unchanged", buf, CROSS_HALF, 50,
		   0);
	rc = destroy_region(fd, cookie, &err);
	check_rc("export", "DESTROY_REGION", rc, err, 0);
	printf("knem_classic_client: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

static int cross_import(uint64_t cookie)
{
	uint8_t *buf = malloc(CROSS_LEN + 1), *own = malloc(4096);
	uint64_t own_cookie;
	uint32_t status;
	int fd, err, rc;

	fd = open(CLASSIC_DEVICE, O_RDWR);
	if (fd < 0 || !buf || !own) {
		report(0, "import", "open " CLASSIC_DEVICE, strerror(errno));
		return 1;
	}
	check_forced("import", fd);
	memset(buf, 0, CROSS_LEN + 1);
	rc = inline_copy(fd, buf + 1, CROSS_HALF, 0, cookie, 0, &err, &status);
	check_rc("import", "INLINE_COPY read of the other guest's region", rc,
		 err, 0);
	check_data("import", "data read", buf + 1, CROSS_HALF, 50, 0);
	memset(own, 0, 4096);
	rc = create_region(fd, own, 4096, PROT_READ | PROT_WRITE, 0,
			   &own_cookie, &err);
	check_rc("import", "CREATE_REGION", rc, err, 0);
	rc = copy_bounded(fd, cookie, 100, own_cookie, 7, 1000, &err);
	check_rc("import", "COPY_BOUNDED other guest -> own region", rc, err, 0);
	check_data("import", "data copied", own + 7, 1000, 50, 100);
	fill(buf + 1, CROSS_LEN - CROSS_HALF, 60, CROSS_HALF);
	rc = inline_copy(fd, buf + 1, CROSS_LEN - CROSS_HALF, 1, cookie,
			 CROSS_HALF, &err, &status);
	check_rc("import", "INLINE_COPY write into the other guest's region",
		 rc, err, 0);
	printf("knem_classic_client: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

/* ---- main ----------------------------------------------------------------- */
static int classic_main(void)
{
	struct classic_info info;
	struct board *board;
	struct owned mine;
	int to_child[2], to_parent[2];
	int fd, rofd, err, rc, wstatus = 0;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(CLASSIC_DEVICE, O_RDWR);
	if (fd < 0) {
		report(0, "root", "open " CLASSIC_DEVICE " O_RDWR", strerror(errno));
		printf("knem_classic_client: %d checks, %d failed\n", checks, failures);
		return 1;
	}
	report(1, "root", "open " CLASSIC_DEVICE " O_RDWR", NULL);

	memset(&info, 0xff, sizeof(info));
	rc = ioctl(fd, CLASSIC_CMD_GET_INFO, &info);
	check_rc("root", "GET_INFO", rc, errno, 0);
	{
		char detail[64];

		snprintf(detail, sizeof(detail), "abi 0x%x", info.abi);
		report(rc == 0 && info.abi == CLASSIC_ABI, "root",
		       "GET_INFO reports ABI 0xd", detail);
	}

	/* EBADF: a read-only file has no context. */
	rofd = open(CLASSIC_DEVICE, O_RDONLY);
	if (rofd < 0) {
		report(0, "root", "open " CLASSIC_DEVICE " O_RDONLY", strerror(errno));
	} else {
		rc = ioctl(rofd, CLASSIC_CMD_GET_INFO, &info);
		check_rc("root", "GET_INFO on an O_RDONLY fd", rc, errno, EBADF);
		close(rofd);
	}

	/* EFAULT: bad pointers and unpinnable memory. */
	rc = ioctl(fd, CLASSIC_CMD_INLINE_COPY, NULL);
	check_rc("root", "INLINE_COPY with a NULL argument", rc, errno, EFAULT);
	rc = ioctl(fd, CLASSIC_CMD_CREATE_REGION, NULL);
	check_rc("root", "CREATE_REGION with a NULL argument", rc, errno, EFAULT);
	{
		uint64_t cookie;
		void *hole = mmap(NULL, 4 * 4096, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (hole != MAP_FAILED)
			munmap(hole, 4 * 4096);
		rc = create_region(fd, hole, 4096, PROT_READ, 0, &cookie, &err);
		check_rc("root", "CREATE_REGION over unmapped memory", rc, err,
			 EFAULT);
	}

	board = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (board == MAP_FAILED || pipe(to_child) || pipe(to_parent)) {
		report(0, "root", "shared page and pipes", strerror(errno));
		return 1;
	}

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		report(0, "root", "fork", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		/* The peer: its own fd, its own regions. */
		struct owned peer;
		int pfd = open(CLASSIC_DEVICE, O_RDWR);

		checks = failures = 0;
		if (pfd < 0) {
			report(0, "peer", "open " CLASSIC_DEVICE, strerror(errno));
			send_msg(to_parent[1], 'x');
			_exit(1);
		}
		memset(&peer, 0, sizeof(peer));
		if (!own_regions("peer", pfd, &peer, 10, board)) {
			send_msg(to_parent[1], 'x');
			_exit(1);
		}
		/* Phase 1: the parent uses our regions. */
		send_msg(to_parent[1], 'r');
		if (recv_msg(to_child[0]) != 'd')
			_exit(1);
		verify_owned("peer", &peer, 20, 10);
		destroy_owned("peer", pfd, &peer);
		send_msg(to_parent[1], 'D');
		/* Phase 2: we use the parent's regions. */
		if (recv_msg(to_child[0]) != 'r')
			_exit(1);
		{
			struct board theirs = *board;

			use_regions("peer", pfd, &theirs, 30, 40);
		}
		send_msg(to_parent[1], 'd');
		_exit(failures ? 1 : 0);
	}

	/* Phase 1: use the peer's regions. */
	if (recv_msg(to_parent[0]) != 'r') {
		report(0, "root", "the peer failed to set up", NULL);
	} else {
		struct board theirs = *board;
		uint8_t buf[16];
		uint32_t status;

		use_regions("root", fd, &theirs, 10, 20);
		send_msg(to_child[1], 'd');
		/* The peer destroys its read-only region: EINVAL afterwards. */
		if (recv_msg(to_parent[0]) == 'D') {
			rc = inline_copy(fd, buf, sizeof(buf), 0, theirs.ro, 0, &err,
					 &status);
			check_rc("root", "INLINE_COPY of a destroyed region", rc, err,
				 EINVAL);
		}
	}

	/* Phase 2: the peer uses ours. */
	memset(&mine, 0, sizeof(mine));
	if (own_regions("root", fd, &mine, 30, board)) {
		send_msg(to_child[1], 'r');
		if (recv_msg(to_parent[0]) == 'd')
			verify_owned("root", &mine, 40, 30);
		else
			report(0, "root", "the peer did not finish phase 2", NULL);
		check_other_uid(fd, board);
		destroy_owned("root", fd, &mine);
	} else {
		send_msg(to_child[1], 'x');
	}

	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	report(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "root",
	       "all of the peer's checks passed", NULL);
	close(fd);
	printf("knem_classic_client: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "export") == 0)
		return cross_export();
	if (argc == 3 && strcmp(argv[1], "import") == 0)
		return cross_import(strtoull(argv[2], NULL, 0));
	if (argc != 1) {
		fprintf(stderr, "usage: %s [export | import COOKIE]\n", argv[0]);
		return 2;
	}
	return classic_main();
}
