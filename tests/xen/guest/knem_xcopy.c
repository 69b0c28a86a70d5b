/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * knem_xcopy.c - /dev/knem copies across Xen domains, for
 * tests/xen/scenario-copies.sh.  Runs in the guests (as /xt/knem_xcopy)
 * and in dom0.  Each check prints one line
 *	xen-check: PASS <name>      or      xen-check: FAIL <name>: <why>
 * and the exit status is 1 when one failed.
 *
 *   bg LOG PROG [ARGS...]  runs PROG in the background in its own session,
 *                          its output in LOG; prints PROG's first output
 *                          line (its cookies) and returns once PROG printed
 *                          it; PROG's exit status goes to LOG.status
 *   finish [-s] LOG        (-s: sends SIGUSR1 to the background PROG first)
 *                          waits up to 300 s for it to end, prints LOG,
 *                          exits with its status
 *   signal LOG MARK        sends SIGUSR1 to the background PROG, waits up
 *                          to 300 s for a line starting with MARK in LOG,
 *                          prints LOG
 *   export                 regions of this domain for the peer: prints
 *                          "R1 R2 RN RRO" (see below), waits for SIGUSR1,
 *                          then checks what the peers wrote into R2
 *   import R1 R2 RN RRO    the peer side: vectorial, offset, bounded,
 *                          region-to-region and asynchronous copies from and
 *                          into the exported regions, and the refusals
 *   dom0-import R1 R2      a dom0 process reads R1 and writes its part of R2
 *   pp-a / pp-b COOKIE     the two ends of a ping-pong (see pingpong())
 *   intra                  two processes of this domain copy between their
 *                          regions after SIGUSR1 (regions created before),
 *                          print "intra: done", exit after another SIGUSR1
 *                          (the regions live until then)
 *   probe NAME COOKIE WANT INLINE_COPY read of COOKIE until it gives WANT
 *                          (ok, EPERM, EINVAL...), at most 20 s
 *   hammer NAME COOKIE LOCAL  copies from and into COOKIE in a loop until
 *                          they fail (its domain destroyed), then copies
 *                          within this domain and with dom0's region LOCAL
 *   dom0-export            dom0's regions: prints "D1 D2", waits for
 *                          SIGUSR1, checks what a guest wrote into D2
 *   guest-dom0 D1 D2       a guest reads D1 and writes D2
 *
 * Regions of "export" (E = this domain):
 *   R1  vectorial, read-write, ANY_USER_ACCESS: pattern 1, read by peers
 *   R2  vectorial, read-write, ANY_USER_ACCESS: pattern 2, written by peers
 *       at the ranges of r2_writes[]
 *   RN  read-write without ANY_USER_ACCESS: peers get EPERM
 *   RRO read-only, ANY_USER_ACCESS: peers writing get EACCES
 * Built by tests/xen/Makefile.am.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xen_check.h"
#include "xen_knem.h"
#include "xen_pattern.h"
#include "xen_sync.h"

#define R1_LEN (256 * 1024 + 333)
#define R2_LEN (64 * 1024 + 123)
#define SMALL_LEN (3 * 4096 + 77)
#define PP_DATA (1024 * 1024 + 8192)
#define DEADLINE_S 60
#define POLL_MS 2	/* while waiting for a peer or a status slot */

static int open_knem(void)
{
	int fd = open(KNEM_DEVICE_FILENAME, O_RDWR);

	if (fd < 0)
		die("open /dev/knem");
	return fd;
}

/*
 * A scattered buffer: segments of irregular lengths with gaps between
 * them, at odd addresses, several per page; the stream is their
 * concatenation.
 */
struct vec {
	uint8_t *mem;
	size_t memlen;
	struct knem_cmd_param_iovec *iov;
	unsigned int nr;
	size_t len;
};

static void vec_make(struct vec *v, size_t len, size_t maxseg)
{
	size_t at = 3, done = 0, k;
	unsigned int cap = 16;

	v->memlen = len * 2 + 4096;
	v->mem = mmap(NULL, v->memlen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	v->iov = malloc(cap * sizeof(*v->iov));
	if (v->mem == MAP_FAILED || !v->iov)
		die("vec memory");
	v->nr = 0;
	for (k = 0; done < len; k++) {
		size_t seg = 1 + (k * 7919 + 13) % maxseg;

		if (seg > len - done)
			seg = len - done;
		if (v->nr == cap) {
			cap *= 2;
			v->iov = realloc(v->iov, cap * sizeof(*v->iov));
			if (!v->iov)
				die("vec iovecs");
		}
		v->iov[v->nr].base = (uintptr_t)(v->mem + at);
		v->iov[v->nr].len = seg;
		v->nr++;
		at += seg + (k * 13) % 5;
		done += seg;
	}
	v->len = len;
	memset(v->mem, 0xee, v->memlen);
}

/* The byte at stream position pos. */
static uint8_t *vec_at(const struct vec *v, size_t pos)
{
	unsigned int i;

	for (i = 0; i < v->nr; i++) {
		if (pos < v->iov[i].len)
			return (uint8_t *)(uintptr_t)v->iov[i].base + pos;
		pos -= v->iov[i].len;
	}
	return NULL;
}

/* Stream bytes [from, from + n) = pat(seed, start + i). */
static void vec_fill(const struct vec *v, size_t from, size_t n, unsigned seed,
		     uint64_t start)
{
	size_t i;

	for (i = 0; i < n; i++)
		*vec_at(v, from + i) = pat(seed, start + i);
}

/* Walks the segments once: -1 when all match, else the first bad index. */
static long vec_cmp(const struct vec *v, size_t from, size_t n, unsigned seed,
		    uint64_t start)
{
	size_t pos = 0, i = 0;
	unsigned int s;

	for (s = 0; s < v->nr && i < n; s++) {
		const uint8_t *b = (const uint8_t *)(uintptr_t)v->iov[s].base;
		size_t j;

		for (j = 0; j < v->iov[s].len && i < n; j++, pos++) {
			if (pos < from)
				continue;
			if (b[j] != pat(seed, start + i))
				return (long)i;
			i++;
		}
	}
	return i == n ? -1 : (long)i;
}

static void check_vec(const char *name, const struct vec *v, size_t from,
		      size_t n, unsigned seed, uint64_t start)
{
	long bad = vec_cmp(v, from, n, seed, start);

	check(bad < 0, name, "byte %ld of %zu differs", bad, n);
}

static void check_flat(const char *name, const uint8_t *p, size_t n,
		       unsigned seed, uint64_t start)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pat(seed, start + i))
			break;
	check(i == n, name, "byte %zu of %zu differs", i, n);
}

static knem_cookie_t create_vec(int fd, const struct vec *v, unsigned int prot,
				unsigned int flags)
{
	knem_cookie_t cookie = 0;

	errno = knem_create(fd, v->iov, v->nr, prot, flags, &cookie);
	if (errno)
		die("CREATE_REGION");
	return cookie;
}

static knem_cookie_t create_flat(int fd, void *p, size_t len, unsigned int prot,
				 unsigned int flags)
{
	knem_cookie_t cookie = 0;

	errno = knem_create_flat(fd, p, len, prot, flags, &cookie);
	if (errno)
		die("CREATE_REGION");
	return cookie;
}

static void check_ok(const char *name, int r)
{
	check(r == 0, name, "%s", knem_result_str(r));
}

static void check_errno(const char *name, int r, int want)
{
	check(r == want, name, "%s, want %s", knem_result_str(r),
	      strerror(want));
}

/* Waits for SIGUSR1 (sent by "finish -s"), at most 600 s. */
static void wait_usr1(void)
{
	struct timespec ts = { 600, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigtimedwait(&set, NULL, &ts) != SIGUSR1)
		check(0, "signal", "no SIGUSR1 in 600 s");
}

static void block_usr1(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static unsigned long long cookie_arg(const char *s)
{
	return strtoull(s, NULL, 0);
}

/* ---- bg / finish ----------------------------------------------------- */

static int bg(int argc, char **argv)
{
	const char *log = argv[0];
	int announce[2], out[2];
	char path[4096], buf[4096];
	pid_t pid;

	if (argc < 2 || pipe(announce))
		return 2;
	snprintf(path, sizeof(path), "%s.status", log);
	unlink(path);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {		/* supervisor: relays PROG's output */
		int logfd, first = 1, st;
		FILE *in;
		pid_t child;

		close(announce[0]);
		setsid();
		logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (logfd < 0 || pipe(out))
			_exit(2);
		child = fork();
		if (child == 0) {
			close(out[0]);
			close(announce[1]);
			dup2(out[1], 1);
			dup2(out[1], 2);
			close(out[1]);
			execv(argv[1], argv + 1);
			_exit(127);
		}
		close(out[1]);
		snprintf(path, sizeof(path), "%s.pid", log);
		snprintf(buf, sizeof(buf), "%d\n", (int)child);
		write_file(path, buf);
		dup2(logfd, 1);
		dup2(logfd, 2);
		in = fdopen(out[0], "r");
		while (in && fgets(buf, sizeof(buf), in)) {
			if (write(logfd, buf, strlen(buf)) < 0)
				break;
			if (first) {
				if (write(announce[1], buf, strlen(buf)) < 0)
					break;
				close(announce[1]);
				first = 0;
			}
		}
		st = 0;
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		snprintf(path, sizeof(path), "%s.status", log);
		snprintf(buf, sizeof(buf), "%d\n",
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		write_file(path, buf);
		_exit(0);
	}
	close(announce[1]);
	{
		ssize_t n = read(announce[0], buf, sizeof(buf) - 1);

		if (n <= 0)
			return 1;
		buf[n] = 0;
		fputs(buf, stdout);
	}
	return 0;
}

static int read_pid(const char *log)
{
	char path[4096];
	int pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s.pid", log);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

static int print_log(const char *log, const char *mark)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen(log, "r");

	while (f && fgets(line, sizeof(line), f)) {
		fputs(line, stdout);
		found |= mark && !strncmp(line, mark, strlen(mark));
	}
	if (f)
		fclose(f);
	return found;
}

/* Reads the log until a line starts with @mark: output is only scanned. */
static int log_has(const char *log, const char *mark)
{
	char line[4096];
	int found = 0;
	FILE *f = fopen(log, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, mark, strlen(mark));
	if (f)
		fclose(f);
	return found;
}

static int signal_mark(const char *log, const char *mark)
{
	double deadline = now_s() + 300;
	int pid = read_pid(log);

	role = "signal";
	if (pid > 0)
		kill(pid, SIGUSR1);
	while (pid > 0 && !log_has(log, mark) && now_s() < deadline)
		nap_ms(POLL_MS);
	if (!print_log(log, mark)) {
		check(0, log, "no line '%s' in 300 s", mark);
		return 1;
	}
	return 0;
}

static int finish(int argc, char **argv)
{
	int sig = 0, status = -1, pid;
	char path[4096];
	double deadline;
	FILE *f;

	if (argc >= 1 && !strcmp(argv[0], "-s")) {
		sig = 1;
		argv++;
		argc--;
	}
	if (argc < 1)
		return 2;
	pid = read_pid(argv[0]);
	if (pid > 0 && sig)
		kill(pid, SIGUSR1);
	deadline = now_s() + 300;
	snprintf(path, sizeof(path), "%s.status", argv[0]);
	while (pid > 0 && now_s() < deadline) {
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%d", &status) != 1)
				status = -1;
			fclose(f);
			break;
		}
		nap_ms(POLL_MS);
	}
	if (status < 0 && pid > 0)
		kill(pid, SIGKILL);
	print_log(argv[0], NULL);
	if (status < 0) {
		role = "finish";
		check(0, argv[0], "the background program did not end in 300 s");
		return 1;
	}
	return status;
}

/* ---- export / import ------------------------------------------------- */

/*
 * Who writes what into R2 (stream offsets); the rest keeps pattern 2.
 * The import side and dom0-import write them, export checks them.
 */
struct r2_write {
	const char *what;
	size_t off, len;
	unsigned seed;		/* pat(seed, start + i) */
	uint64_t start;
};

static const struct r2_write r2_writes[] = {
	{ "inline-write-vectorial", 1, 20000, 21, 0 },
	{ "inline-bounded-write", 30001, 7777, 22, 0 },
	{ "copy-from-peer-region", 40000, 9000, 23, 5 },
	{ "copy-bounded-from-peer-region", 50000, 3333, 23, 0 },
	{ "third-party-copy-bounded-R1-to-R2", 55000, 2000, 1, 0 },
	{ "async-offloaded-write", 58000, 3000, 24, 0 },
	{ "dom0-inline-write", 62000, 3000, 25, 0 },
};
#define NR_R2_WRITES (sizeof(r2_writes) / sizeof(r2_writes[0]))
#define PEER_RB_LEN 9005	/* COPY into R2 at 40000 moves 9005 - 5 bytes */

static int export(void)
{
	struct vec r1, r2;
	static uint8_t rn[SMALL_LEN], rro[SMALL_LEN];
	knem_cookie_t c1, c2, cn, cro;
	size_t i, pos = 0;
	long bad = -1;
	int fd = open_knem();

	role = "export";
	block_usr1();
	vec_make(&r1, R1_LEN, 1500);
	vec_make(&r2, R2_LEN, 700);
	vec_fill(&r1, 0, R1_LEN, 1, 0);
	vec_fill(&r2, 0, R2_LEN, 2, 0);
	memset(rn, 0x5a, sizeof(rn));
	memset(rro, 0x6b, sizeof(rro));
	c1 = create_vec(fd, &r1, PROT_READ | PROT_WRITE,
			KNEM_FLAG_ANY_USER_ACCESS);
	c2 = create_vec(fd, &r2, PROT_READ | PROT_WRITE,
			KNEM_FLAG_ANY_USER_ACCESS);
	cn = create_flat(fd, rn, sizeof(rn), PROT_READ | PROT_WRITE, 0);
	cro = create_flat(fd, rro, sizeof(rro), PROT_READ,
			  KNEM_FLAG_ANY_USER_ACCESS);
	printf("%llu %llu %llu %llu\n", (unsigned long long)c1,
	       (unsigned long long)c2, (unsigned long long)cn,
	       (unsigned long long)cro);
	fflush(stdout);
	wait_usr1();
	printf("export: R1 %u segments, R2 %u segments\n", r1.nr, r2.nr);
	check_vec("R1-unchanged-by-reads", &r1, 0, R1_LEN, 1, 0);
	/* R2: each written range (ascending), and pattern 2 between them */
	for (i = 0; i <= NR_R2_WRITES; i++) {
		size_t end = i < NR_R2_WRITES ? r2_writes[i].off : R2_LEN;
		char name[128];

		if (bad < 0 && end > pos)
			bad = vec_cmp(&r2, pos, end - pos, 2, pos);
		if (i == NR_R2_WRITES)
			break;
		snprintf(name, sizeof(name), "R2-has-%s", r2_writes[i].what);
		check_vec(name, &r2, r2_writes[i].off, r2_writes[i].len,
			  r2_writes[i].seed, r2_writes[i].start);
		pos = r2_writes[i].off + r2_writes[i].len;
	}
	check(bad < 0, "R2-untouched-outside-the-writes",
	      "byte %ld after offset %zu changed", bad, pos);
	check(rn[0] == 0x5a && rn[SMALL_LEN - 1] == 0x5a &&
	      rro[0] == 0x6b && rro[SMALL_LEN - 1] == 0x6b,
	      "refused-regions-unchanged", "changed");
	return failures ? 1 : 0;
}

/* Asynchronous copies across domains through the status array. */
static void import_async(int fd, knem_cookie_t c1, knem_cookie_t c2)
{
	enum { NR = 24 };
	static const unsigned int modes[] = {
		KNEM_FLAG_ASYNCDMACOMPLETE,	/* runs in the ioctl */
		KNEM_FLAG_MEMCPYTHREAD,		/* offloaded */
		KNEM_FLAG_MEMCPYTHREAD | KNEM_FLAG_NOTIFY_FD,
	};
	static const char *const mode_names[] = {
		"async-in-ioctl", "async-offloaded", "async-offloaded-notify",
	};
	struct vec dst[NR];
	uint8_t *slots;
	unsigned int m, i, got[NR];
	double deadline;
	char name[128];

	slots = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     KNEM_STATUS_ARRAY_FILE_OFFSET);
	if (slots == MAP_FAILED)
		die("mmap status array");
	for (i = 0; i < NR; i++)
		vec_make(&dst[i], 10000 + i * 100, 300);
	for (m = 0; m < 3; m++) {
		unsigned int flags = modes[m], pending = 0, bad = 0, n = 0;
		int r, notify = flags & KNEM_FLAG_NOTIFY_FD;

		for (i = 0; i < NR; i++) {
			unsigned int slot = m * NR + i;

			memset(dst[i].mem, 0, dst[i].memlen);
			r = knem_inline_copy(fd, dst[i].iov, dst[i].nr, 0, c1,
					     i * 4099 + 1, flags, slot);
			if (r == KNEM_PENDING)
				pending++;
			else if (r != 0)
				bad++;
		}
		check(!bad, mode_names[m], "%u of %d submissions refused",
		      bad, NR);
		if (m == 0)
			check(!pending, "async-in-ioctl-completes",
			      "%u copies PENDING on return", pending);
		deadline = now_s() + DEADLINE_S;
		for (i = 0; i < NR; i++) {
			while (slots[m * NR + i] == KNEM_STATUS_PENDING &&
			       now_s() < deadline)
				nap_ms(POLL_MS);
			if (slots[m * NR + i] != KNEM_STATUS_SUCCESS)
				bad++;
		}
		snprintf(name, sizeof(name), "%s-slots-success", mode_names[m]);
		check(!bad, name, "%u slots not SUCCESS", bad);
		for (i = 0; i < NR && !bad; i++)
			if (vec_cmp(&dst[i], 0, dst[i].len, 1, i * 4099 + 1) >= 0)
				bad++;
		snprintf(name, sizeof(name), "%s-data", mode_names[m]);
		check(!bad, name, "%u copies with wrong data", bad);
		if (notify) {
			struct pollfd p = { fd, POLLIN, 0 };

			memset(got, 0xff, sizeof(got));
			while (n < NR && poll(&p, 1, DEADLINE_S * 1000) > 0) {
				ssize_t k = read(fd, got + n,
						 (NR - n) * sizeof(got[0]));

				if (k <= 0)
					break;
				n += k / sizeof(got[0]);
			}
			for (i = 0; i < n; i++)
				if (got[i] != m * NR + i)
					break;
			check(n == NR && i == NR, "async-notify-fd-events",
			      "%u events, first out of order at %u", n, i);
		}
	}
	/* an offloaded write into R2 and an offloaded COPY R1 -> R2 */
	{
		const struct r2_write *w = &r2_writes[5];
		struct vec src;
		unsigned int slot = 3 * NR;
		int r;

		vec_make(&src, w->len, 200);
		vec_fill(&src, 0, w->len, w->seed, w->start);
		r = knem_inline_copy(fd, src.iov, src.nr, 1, c2, w->off,
				     KNEM_FLAG_MEMCPYTHREAD |
				     KNEM_FLAG_NOTIFY_FD, slot);
		deadline = now_s() + DEADLINE_S;
		while (r == KNEM_PENDING &&
		       slots[slot] == KNEM_STATUS_PENDING && now_s() < deadline)
			nap_ms(POLL_MS);
		check((r == KNEM_PENDING &&
		       slots[slot] == KNEM_STATUS_SUCCESS) || !r,
		      "async-offloaded-write", "%s, slot %u",
		      knem_result_str(r), slots[slot]);
		{
			struct pollfd p = { fd, POLLIN, 0 };

			check(poll(&p, 1, DEADLINE_S * 1000) == 1 &&
			      read(fd, got, sizeof(got[0])) == sizeof(got[0]) &&
			      got[0] == slot, "async-offloaded-write-notify",
			      "no event for slot %u", slot);
		}
	}
	munmap(slots, 4096);
}

static int import(knem_cookie_t c1, knem_cookie_t c2, knem_cookie_t cn,
		  knem_cookie_t cro)
{
	static const uint64_t offsets[] = { 0, 1, 4095, 4097, 65537,
					    R1_LEN - 10 };
	struct vec local, big;
	static uint8_t rb[PEER_RB_LEN], rd[20000];
	knem_cookie_t crb, crd;
	char name[128];
	size_t i;
	int fd = open_knem(), r;

	role = "import";
	/* INLINE_COPY reads of R1 into many small local segments */
	vec_make(&big, R1_LEN, 600);
	printf("import: %u local segments\n", big.nr);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		memset(big.mem, 0, big.memlen);
		r = knem_inline_copy(fd, big.iov, big.nr, 0, c1, offsets[i], 0,
				     0);
		snprintf(name, sizeof(name), "inline-read-vectorial@%llu",
			 (unsigned long long)offsets[i]);
		check_ok(name, r);
		if (!r) {
			strcat(name, "-data");
			check_vec(name, &big, 0, R1_LEN - offsets[i], 1,
				  offsets[i]);
		}
	}
	/* bounded read: 5000 bytes land, the rest stays */
	memset(big.mem, 0, big.memlen);
	r = knem_inline_bounded(fd, big.iov, big.nr, 0, c1, 777, 5000);
	check_ok("inline-bounded-read", r);
	check_vec("inline-bounded-read-data", &big, 0, 5000, 1, 777);
	check(*vec_at(&big, 5000) == 0, "inline-bounded-read-bound",
	      "byte past the bound written");

	/* writes into R2 (checked by export) */
	vec_make(&local, r2_writes[0].len, 150);
	vec_fill(&local, 0, local.len, r2_writes[0].seed, 0);
	check_ok("inline-write-vectorial",
		 knem_inline_copy(fd, local.iov, local.nr, 1, c2,
				  r2_writes[0].off, 0, 0));
	vec_make(&local, 10000, 450);
	vec_fill(&local, 0, local.len, r2_writes[1].seed, 0);
	check_ok("inline-bounded-write",
		 knem_inline_bounded(fd, local.iov, local.nr, 1, c2,
				     r2_writes[1].off, r2_writes[1].len));

	/* region to region: B -> A and A -> B, and a third-party copy */
	for (i = 0; i < sizeof(rb); i++)
		rb[i] = pat(23, i);
	crb = create_flat(fd, rb, sizeof(rb), PROT_READ | PROT_WRITE, 0);
	check_ok("copy-local-to-peer",
		 knem_copy(fd, crb, 5, c2, r2_writes[2].off, 0, 0));
	check_ok("copy-bounded-local-to-peer",
		 knem_copy_bounded(fd, crb, 0, c2, r2_writes[3].off,
				   r2_writes[3].len, 0));
	check_ok("copy-bounded-third-party",
		 knem_copy_bounded(fd, c1, 0, c2, r2_writes[4].off,
				   r2_writes[4].len, 0));
	memset(rd, 0, sizeof(rd));
	crd = create_flat(fd, rd + 1, sizeof(rd) - 1, PROT_READ | PROT_WRITE,
			  0);
	r = knem_copy(fd, c1, R1_LEN - 15000, crd, 3, 0, 0);
	check_ok("copy-peer-to-local", r);
	check_flat("copy-peer-to-local-data", rd + 4, 15000, 1, R1_LEN - 15000);
	check(rd[15004] == 0, "copy-peer-to-local-length", "wrote past the end");
	memset(rd, 0, sizeof(rd));
	check_ok("copy-bounded-peer-to-local",
		 knem_copy_bounded(fd, c1, 4000, crd, 0, 12345, 0));
	check_flat("copy-bounded-peer-to-local-data", rd + 1, 12345, 1, 4000);
	check(rd[12346] == 0, "copy-bounded-peer-to-local-bound",
	      "wrote past the bound");

	import_async(fd, c1, c2);

	/* refusals */
	check_errno("refused-no-any-user-access",
		    knem_inline_copy(fd, big.iov, 1, 0, cn, 0, 0, 0), EPERM);
	check_errno("refused-copy-no-any-user-access",
		    knem_copy(fd, cn, 0, crd, 0, 0, 0), EPERM);
	check_errno("refused-write-read-only",
		    knem_inline_copy(fd, big.iov, 1, 1, cro, 0, 0, 0), EACCES);
	check_errno("refused-copy-into-read-only",
		    knem_copy(fd, crb, 0, cro, 0, 0, 0), EACCES);
	check_errno("refused-unknown-cookie",
		    knem_inline_copy(fd, big.iov, 1, 0,
				     c1 ^ 0x0001000000000000ULL, 0, 0, 0),
		    EINVAL);
	check_errno("inline-read-past-the-end-copies-nothing",
		    knem_inline_copy(fd, big.iov, 1, 0, c1, R1_LEN + 10, 0, 0),
		    0);
	return failures ? 1 : 0;
}

/* dom0's process: reads R1 and writes its range of R2. */
static int dom0_import(knem_cookie_t c1, knem_cookie_t c2)
{
	const struct r2_write *w = &r2_writes[6];
	struct vec v;
	static uint8_t rd[30000];
	knem_cookie_t crd;
	int fd = open_knem(), r;

	role = "dom0-import";
	vec_make(&v, R1_LEN, 900);
	r = knem_inline_copy(fd, v.iov, v.nr, 0, c1, 3, 0, 0);
	check_ok("dom0-inline-read-guest", r);
	check_vec("dom0-inline-read-guest-data", &v, 0, R1_LEN - 3, 1, 3);
	crd = create_flat(fd, rd + 5, sizeof(rd) - 5, PROT_READ | PROT_WRITE, 0);
	check_ok("dom0-copy-bounded-guest-to-dom0",
		 knem_copy_bounded(fd, c1, 100000, crd, 0, 25000, 0));
	check_flat("dom0-copy-bounded-guest-to-dom0-data", rd + 5, 25000, 1,
		   100000);
	vec_make(&v, w->len, 333);
	vec_fill(&v, 0, w->len, w->seed, w->start);
	check_ok("dom0-inline-write-guest",
		 knem_inline_copy(fd, v.iov, v.nr, 1, c2, w->off, 0, 0));
	return failures ? 1 : 0;
}

/* ---- dom0's regions for a guest --------------------------------------- */

#define D_LEN (512 * 1024 + 5)

static int dom0_export(void)
{
	static uint8_t d1[D_LEN + 8], d2[D_LEN + 8];
	knem_cookie_t c1, c2;
	size_t i;
	int fd = open_knem();

	role = "dom0-export";
	block_usr1();
	for (i = 0; i < D_LEN; i++)
		d1[i + 1] = pat(31, i);
	memset(d2, 0, sizeof(d2));
	c1 = create_flat(fd, d1 + 1, D_LEN, PROT_READ,
			 KNEM_FLAG_ANY_USER_ACCESS);
	c2 = create_flat(fd, d2 + 3, D_LEN, PROT_READ | PROT_WRITE,
			 KNEM_FLAG_ANY_USER_ACCESS);
	printf("%llu %llu\n", (unsigned long long)c1, (unsigned long long)c2);
	fflush(stdout);
	wait_usr1();
	check_flat("dom0-region-written-by-guest", d2 + 3 + 11, D_LEN - 11, 32,
		   0);
	check_flat("dom0-region-read-only-unchanged", d1 + 1, D_LEN, 31, 0);
	return failures ? 1 : 0;
}

static int guest_dom0(knem_cookie_t d1, knem_cookie_t d2)
{
	struct vec v;
	static uint8_t rl[D_LEN];
	knem_cookie_t cl;
	int fd = open_knem(), r;

	role = "guest-dom0";
	vec_make(&v, D_LEN, 2000);
	r = knem_inline_copy(fd, v.iov, v.nr, 0, d1, 0, 0, 0);
	check_ok("guest-inline-read-dom0", r);
	check_vec("guest-inline-read-dom0-data", &v, 0, D_LEN, 31, 0);
	memset(rl, 0, sizeof(rl));
	cl = create_flat(fd, rl, sizeof(rl), PROT_READ | PROT_WRITE, 0);
	check_ok("guest-copy-dom0-to-guest",
		 knem_copy(fd, d1, 1000, cl, 0, 0, 0));
	check_flat("guest-copy-dom0-to-guest-data", rl, D_LEN - 1000, 31,
		   1000);
	vec_fill(&v, 0, D_LEN, 32, 0);
	check_ok("guest-inline-write-dom0",
		 knem_inline_copy(fd, v.iov, v.nr, 1, d2, 11, 0, 0));
	check_errno("guest-write-dom0-read-only",
		    knem_inline_copy(fd, v.iov, v.nr, 1, d1, 0, 0, 0), EACCES);
	return failures ? 1 : 0;
}

/* ---- ping-pong ---------------------------------------------------------- */

/*
 * Each side owns one region, a control page then PP_DATA bytes, with
 * ANY_USER_ACCESS.  B learns A's cookie from the command line and writes
 * its own cookie into A's control page.  Round k: A writes its message
 * (pattern 100 + k) into B's data at offset off_k then k into B's
 * control word; B waits for it in its own memory, checks the message,
 * reads A's message of the round from A's region (A prepared it at the
 * same offset), and answers: its message (200 + k) into A's data, then k
 * into A's control word; A checks both.  Everything moves by knem copies.
 */
struct pp_ctrl {
	volatile uint64_t seq;
	volatile uint64_t peer_cookie;
};

static const size_t pp_sizes[] = { 1, 4096, 1024 * 1024, 1, 4096,
				   1024 * 1024, 777, 65536 + 3 };
static const size_t pp_offs[] = { 0, 0, 0, 4095, 1, 4097, 8191, 3 };
#define PP_ROUNDS (sizeof(pp_sizes) / sizeof(pp_sizes[0]))

struct pp_side {
	int fd;
	uint8_t *mem;		/* control page, then data */
	struct pp_ctrl *ctrl;
	uint8_t *data;
	uint8_t *msg;		/* local buffer of the outgoing message */
	knem_cookie_t cookie;
};

static void pp_setup(struct pp_side *s)
{
	s->fd = open_knem();
	s->mem = mmap(NULL, 4096 + PP_DATA, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	s->msg = malloc(PP_DATA + 16);
	if (s->mem == MAP_FAILED || !s->msg)
		die("ping-pong memory");
	memset(s->mem, 0, 4096 + PP_DATA);
	s->ctrl = (struct pp_ctrl *)s->mem;
	s->data = s->mem + 4096;
	s->cookie = create_flat(s->fd, s->mem, 4096 + PP_DATA,
				PROT_READ | PROT_WRITE,
				KNEM_FLAG_ANY_USER_ACCESS);
}

/* Writes a u64 into the peer's control page at @field. */
static int pp_poke(struct pp_side *s, knem_cookie_t peer, size_t field,
		   uint64_t value)
{
	static uint64_t word;
	struct knem_cmd_param_iovec iov = { (uintptr_t)&word, sizeof(word) };

	word = value;
	return knem_inline_copy(s->fd, &iov, 1, 1, peer, field, 0, 0);
}

static int pp_wait(struct pp_side *s, uint64_t seq)
{
	double deadline = now_s() + DEADLINE_S;

	while (__atomic_load_n(&s->ctrl->seq, __ATOMIC_ACQUIRE) != seq) {
		if (now_s() > deadline)
			return 0;
		nap_ms(POLL_MS);
	}
	return 1;
}

/* The message of @seed at @off, sent from s->msg + 1 (unaligned). */
static int pp_send(struct pp_side *s, knem_cookie_t peer, unsigned seed,
		   size_t off, size_t len)
{
	struct knem_cmd_param_iovec iov = { (uintptr_t)(s->msg + 1), len };
	size_t i;

	for (i = 0; i < len; i++)
		s->msg[1 + i] = pat(seed, i);
	return knem_inline_copy(s->fd, &iov, 1, 1, peer, 4096 + off, 0, 0);
}

static int pp_fetch(struct pp_side *s, knem_cookie_t peer, unsigned seed,
		    size_t off, size_t len, const char *name)
{
	struct knem_cmd_param_iovec iov = { (uintptr_t)(s->msg + 3), len };
	int r;

	memset(s->msg, 0, len + 8);
	r = knem_inline_copy(s->fd, &iov, 1, 0, peer, 4096 + off, 0, 0);
	if (r) {
		check(0, name, "read from the peer: %s", knem_result_str(r));
		return 0;
	}
	check_flat(name, s->msg + 3, len, seed, 0);
	return 1;
}

static void pp_prepare(struct pp_side *s, unsigned seed, size_t off,
		       size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		s->data[off + i] = pat(seed, i);
}

static int pingpong(int a, knem_cookie_t peer)
{
	struct pp_side s;
	char name[96];
	size_t k;
	double t0;
	int r;

	role = a ? "pingpong-A" : "pingpong-B";
	pp_setup(&s);
	if (a) {
		printf("%llu\n", (unsigned long long)s.cookie);
		fflush(stdout);
		t0 = now_s() + 600;
		while (!s.ctrl->peer_cookie && now_s() < t0)
			nap_ms(POLL_MS);
		peer = s.ctrl->peer_cookie;
		check(peer != 0, "cookie-from-peer", "B never wrote its cookie");
		if (!peer)
			return 1;
	} else {
		check_ok("cookie-to-peer",
			 pp_poke(&s, peer, offsetof(struct pp_ctrl, peer_cookie),
				 s.cookie));
	}
	t0 = now_s();
	for (k = 0; k < PP_ROUNDS; k++) {
		size_t len = pp_sizes[k], off = pp_offs[k];
		uint64_t seq = k + 1;

		snprintf(name, sizeof(name), "round%zu-%zuB@%zu", seq, len, off);
		if (a) {
			/* A's message is readable in A's data for B, too */
			pp_prepare(&s, 100 + seq, off, len);
			r = pp_send(&s, peer, 100 + seq, off, len);
			if (!r)
				r = pp_poke(&s, peer, 0, seq);
			if (r) {
				check(0, name, "ping: %s", knem_result_str(r));
				return 1;
			}
			if (!pp_wait(&s, seq)) {
				check(0, name, "no pong in %d s", DEADLINE_S);
				return 1;
			}
			strcat(name, "-pong-data");
			check_flat(name, s.data + off, len, 200 + seq, 0);
			strcat(name, "-read");
			pp_fetch(&s, peer, 200 + seq, off, len, name);
		} else {
			if (!pp_wait(&s, seq)) {
				check(0, name, "no ping in %d s", DEADLINE_S);
				return 1;
			}
			strcat(name, "-ping-data");
			check_flat(name, s.data + off, len, 100 + seq, 0);
			strcat(name, "-read");
			pp_fetch(&s, peer, 100 + seq, off, len, name);
			/* B's answer stays readable in B's data for A */
			pp_prepare(&s, 200 + seq, off, len);
			r = pp_send(&s, peer, 200 + seq, off, len);
			if (!r)
				r = pp_poke(&s, peer, 0, seq);
			if (r) {
				check(0, name, "pong: %s", knem_result_str(r));
				return 1;
			}
		}
	}
	/* B's region must outlive A's last read: B exits only when told */
	if (a)
		check_ok("done-to-peer", pp_poke(&s, peer, 0, PP_ROUNDS + 1));
	else if (!pp_wait(&s, PP_ROUNDS + 1))
		check(0, "done-from-peer", "A never said it was done");
	printf("%s: %zu round trips in %.2f s\n", role, PP_ROUNDS, now_s() - t0);
	return failures ? 1 : 0;
}

/* ---- within one domain -------------------------------------------------- */

#define INTRA_ROUNDS 200

static int intra(void)
{
	struct vec v;
	uint8_t *mine, *theirs;
	knem_cookie_t cm, ct, *shared;
	int fd, sync_pipe[2], done_pipe[2], r, bad = 0;
	unsigned int i;
	pid_t pid;
	char c;

	role = "intra";
	block_usr1();
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || pipe(sync_pipe) || pipe(done_pipe))
		die("setup");
	pid = fork();
	if (pid == 0) {		/* the other process: one region, waits */
		close(done_pipe[1]);
		fd = open_knem();
		theirs = malloc(SMALL_LEN);
		for (i = 0; i < SMALL_LEN; i++)
			theirs[i] = pat(41, i);
		shared[0] = create_flat(fd, theirs, SMALL_LEN,
					PROT_READ | PROT_WRITE, 0);
		c = 'r';
		if (write(sync_pipe[1], &c, 1) != 1 ||
		    read(done_pipe[0], &c, 1) != 1)
			_exit(1);
		/* the parent's last write landed */
		for (i = 0; i < 100; i++)
			if (theirs[i + 10] != pat(42, i))
				break;
		c = i == 100 ? 'y' : 'n';
		if (write(sync_pipe[1], &c, 1) != 1)
			_exit(1);
		/* the region lives until the parent ends (EOF) */
		while (read(done_pipe[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(done_pipe[0]);
	fd = open_knem();
	if (read(sync_pipe[0], &c, 1) != 1)
		die("peer process");
	ct = shared[0];
	mine = malloc(SMALL_LEN);
	memset(mine, 0, SMALL_LEN);
	cm = create_flat(fd, mine, SMALL_LEN, PROT_READ | PROT_WRITE, 0);
	vec_make(&v, 5000, 100);
	printf("%llu %llu\n", (unsigned long long)cm, (unsigned long long)ct);
	fflush(stdout);
	wait_usr1();
	for (i = 0; i < INTRA_ROUNDS; i++) {
		r = knem_inline_copy(fd, v.iov, v.nr, 0, ct, i % 7, 0, 0);
		bad += r != 0 || vec_cmp(&v, 0, v.len, 41, i % 7) >= 0;
		r = knem_copy(fd, ct, i % 5, cm, 0, 0, 0);
		bad += r != 0 || mine[0] != pat(41, i % 5);
		r = knem_copy_bounded(fd, cm, 0, ct, 8000, 100, 0);
		bad += r != 0;
	}
	check(!bad, "intra-guest-copies", "%d of %d copies failed or wrong",
	      bad, 3 * INTRA_ROUNDS);
	vec_fill(&v, 0, 100, 42, 0);
	check_ok("intra-guest-inline-write",
		 knem_inline_copy(fd, v.iov, v.nr, 1, ct, 10, 0, 0));
	c = 'd';
	if (write(done_pipe[1], &c, 1) != 1 || read(sync_pipe[0], &c, 1) != 1)
		die("peer process");
	check(c == 'y', "intra-guest-write-seen-by-the-other-process",
	      "the other process did not see the write");
	printf("intra: done, %d copies within the domain\n",
	       3 * INTRA_ROUNDS + 1);
	fflush(stdout);
	wait_usr1();		/* regions destroyed from here on */
	close(done_pipe[1]);
	waitpid(pid, &r, 0);
	return failures ? 1 : 0;
}

/* ---- probe / hammer ----------------------------------------------------- */

static int parse_want(const char *s)
{
	if (!strcmp(s, "ok"))
		return 0;
	if (!strcmp(s, "EPERM"))
		return EPERM;
	if (!strcmp(s, "EINVAL"))
		return EINVAL;
	if (!strcmp(s, "EACCES"))
		return EACCES;
	if (!strcmp(s, "EFAULT"))
		return EFAULT;
	return -100;
}

static int probe(const char *name, knem_cookie_t cookie, const char *wants)
{
	static uint8_t buf[100];
	struct knem_cmd_param_iovec iov = { (uintptr_t)buf, sizeof(buf) };
	int fd = open_knem(), want = parse_want(wants), r, n = 0;
	double deadline = now_s() + 20;

	role = "probe";
	do {
		r = knem_inline_copy(fd, &iov, 1, 0, cookie, 0, 0, 0);
		n++;
		if (r == want)
			break;
		nap_ms(POLL_MS);
	} while (now_s() < deadline);
	check(r == want, name, "%s after %d tries, want %s",
	      knem_result_str(r), n, wants);
	return r == want ? 0 : 1;
}

/*
 * Copies from and into the peer's region in a loop (synchronous reads
 * and writes, and an offloaded asynchronous read) until a copy fails:
 * the peer was destroyed.  Every later copy must fail too, quickly; then
 * copies within this domain and with dom0's region must still work.
 */
static int hammer(const char *name, knem_cookie_t peer, knem_cookie_t dom0)
{
	enum { LEN = 64 * 1024 + 7 };
	static uint8_t buf[LEN + 8], own[LEN];
	struct knem_cmd_param_iovec iov = { (uintptr_t)(buf + 1), LEN };
	uint8_t *slots;
	knem_cookie_t co;
	unsigned long ok = 0;
	unsigned int slot = 0;
	double deadline, t;
	int fd = open_knem(), r = 0, step = 0;

	role = name;
	slots = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     KNEM_STATUS_ARRAY_FILE_OFFSET);
	if (slots == MAP_FAILED)
		die("mmap status array");
	r = knem_inline_copy(fd, &iov, 1, 0, peer, 0, 0, 0);
	if (r) {
		check_ok("first-copy-from-peer", r);
		return 1;
	}
	printf("copying\n");	/* announced: the peer may go now */
	check_ok("first-copy-from-peer", r);
	deadline = now_s() + 300;
	while (now_s() < deadline) {
		step = ok % 3;
		if (step == 0) {
			r = knem_inline_copy(fd, &iov, 1, 0, peer, 0, 0, 0);
		} else if (step == 1) {
			r = knem_inline_copy(fd, &iov, 1, 1, peer, 0, 0, 0);
		} else {
			slot = (slot + 1) % 4096;
			r = knem_inline_copy(fd, &iov, 1, 0, peer, 0,
					     KNEM_FLAG_MEMCPYTHREAD, slot);
			t = now_s() + DEADLINE_S;
			while (r == KNEM_PENDING &&
			       slots[slot] == KNEM_STATUS_PENDING &&
			       now_s() < t)
				nap_ms(POLL_MS);
			if (r == KNEM_PENDING)
				r = slots[slot] == KNEM_STATUS_SUCCESS ? 0 :
				    slots[slot] == KNEM_STATUS_FAILED ?
				    KNEM_FAILED : -3;
		}
		if (r)
			break;
		ok++;
	}
	printf("%s: %lu copies before the first failure (%s, step %d)\n",
	       name, ok, r == -3 ? "still PENDING" : knem_result_str(r), step);
	check(r != 0 && r != -3 && ok > 0, "copies-fail-cleanly",
	      "%s after %lu copies",
	      r == -3 ? "hung PENDING" : knem_result_str(r), ok);
	r = knem_inline_copy(fd, &iov, 1, 0, peer, 0, 0, 0);
	check(r == EINVAL || r == KNEM_FAILED || r == EFAULT,
	      "later-copy-refused", "%s", knem_result_str(r));
	r = knem_inline_copy(fd, &iov, 1, 0, peer, 0, KNEM_FLAG_MEMCPYTHREAD,
			     4095);
	t = now_s() + DEADLINE_S;
	while (r == KNEM_PENDING && slots[4095] == KNEM_STATUS_PENDING &&
	       now_s() < t)
		nap_ms(POLL_MS);
	check(r == EINVAL || r == KNEM_FAILED ||
	      (r == KNEM_PENDING && slots[4095] == KNEM_STATUS_FAILED),
	      "later-async-copy-refused", "%s, slot %u", knem_result_str(r),
	      slots[4095]);
	/* still working: within this domain and with dom0 */
	memset(own, 0, sizeof(own));
	co = create_flat(fd, own, sizeof(own), PROT_READ | PROT_WRITE, 0);
	memset(buf, 0x77, sizeof(buf));
	check_ok("copy-within-domain-after",
		 knem_inline_copy(fd, &iov, 1, 1, co, 0, 0, 0));
	check(own[0] == 0x77 && own[LEN - 1] == 0x77,
	      "copy-within-domain-after-data", "data not written");
	r = knem_inline_copy(fd, &iov, 1, 0, dom0, 0, 0, 0);
	check_ok("copy-with-dom0-after", r);
	check_flat("copy-with-dom0-after-data", buf + 1, LEN, 31, 0);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "bg"))
		return bg(argc - 2, argv + 2);
	if (!strcmp(mode, "finish"))
		return finish(argc - 2, argv + 2);
	if (!strcmp(mode, "signal") && argc == 4)
		return signal_mark(argv[2], argv[3]);
	if (!strcmp(mode, "export"))
		return export();
	if (!strcmp(mode, "import") && argc == 6)
		return import(cookie_arg(argv[2]), cookie_arg(argv[3]),
			      cookie_arg(argv[4]), cookie_arg(argv[5]));
	if (!strcmp(mode, "dom0-import") && argc == 4)
		return dom0_import(cookie_arg(argv[2]), cookie_arg(argv[3]));
	if (!strcmp(mode, "dom0-export"))
		return dom0_export();
	if (!strcmp(mode, "guest-dom0") && argc == 4)
		return guest_dom0(cookie_arg(argv[2]), cookie_arg(argv[3]));
	if (!strcmp(mode, "pp-a"))
		return pingpong(1, 0);
	if (!strcmp(mode, "pp-b") && argc == 3)
		return pingpong(0, cookie_arg(argv[2]));
	if (!strcmp(mode, "intra"))
		return intra();
	if (!strcmp(mode, "probe") && argc == 5)
		return probe(argv[2], cookie_arg(argv[3]), argv[4]);
	if (!strcmp(mode, "hammer") && argc == 5)
		return hammer(argv[2], cookie_arg(argv[3]),
			      cookie_arg(argv[4]));
	fprintf(stderr, "usage: see the head of tests/xen/guest/knem_xcopy.c\n");
	return 2;
}
