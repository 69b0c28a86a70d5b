/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * knem_mpi_bw - a two-rank MPI bandwidth test that checks every byte.
 *
 *   mpirun -np 2 knem_mpi_bw [-i ITERATIONS] [-W WARMUP] [-w WINDOW] [-r] [-y] SIZE...
 *
 * For each SIZE, rank 0 sends WARMUP (default 0) then ITERATIONS windows of
 * WINDOW messages
 * (MPI_Isend, one buffer per message) and rank 1 receives them (MPI_Irecv
 * into buffers filled with a poison byte) and checks every byte of every
 * message against a pattern unique to that message.  The buffers start at
 * odd offsets, so that the copies are not page aligned.  With -r, the
 * sender's buffers are read-only while their messages are in flight (as
 * when a program sends constant data), writable only to be filled.  With
 * -y, a rank that waits polls MPI_Testall and calls sched_yield() between
 * polls, as Open MPI's progress loop does when oversubscribed: when both
 * ranks share one CPU, the one with work then runs at once instead of at
 * the next scheduler tick (the deterministic benchmark, one CPU, counts
 * instructions; a spinning rank would add whole ticks to every window).
 *
 * Prints one line per size ("size S: N messages, B bytes, X MB/s, data ok",
 * the bandwidth of the transfers of the ITERATIONS timed windows alone: the
 * warm-up ones, which pay for registrations and mappings, are checked but
 * not timed) and a last line "messages N bytes B bad K" (every window);
 * exits 0 only if every byte of every message arrived (K = 0).
 */
#define _DEFAULT_SOURCE /* POSIX 2008 and MAP_ANONYMOUS */

#include <mpi.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SENDER = 0, RECEIVER = 1, DATA_TAG = 1, READY_TAG = 2, POISON = 0xa5 };

/* Bytes between consecutive buffers' starts beyond their size: odd, so
 * that no two buffers share an alignment. */
static const size_t buffer_skew = 4099;

struct options {
	unsigned iterations;
	unsigned warmup;
	unsigned window;
	bool read_only;
	bool yield;
	size_t *sizes;
	int nsizes;
};

/* Byte @i of message @seq: a message that came from another buffer, another
 * iteration or an offset shifted by any amount does not match. */
static uint8_t pattern(uint64_t seq, size_t i)
{
	uint64_t x = (seq << 40) ^ (uint64_t)i;

	x *= 0x9e3779b97f4a7c15ULL;
	return (uint8_t)(x >> 56);
}

static void fill(uint8_t *buf, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(seq, i);
}

/* The index of the first wrong byte, or @len. */
static size_t first_mismatch(const uint8_t *buf, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(seq, i))
			return i;
	return len;
}

static int usage(int rank)
{
	if (rank == 0)
		fprintf(stderr, "usage: knem_mpi_bw [-i ITERATIONS] [-W WARMUP] [-w WINDOW] [-r] [-y] SIZE...\n");
	return 2;
}

/* @text as a number in [@min, @max], into @value. */
static int parse_number(const char *text, unsigned long long min, unsigned long long max,
			unsigned long long *value)
{
	char *end;

	errno = 0;
	*value = strtoull(text, &end, 0);
	return errno || end == text || *end || *value < min || *value > max ? -1 : 0;
}

static int parse(int argc, char **argv, struct options *opt)
{
	unsigned long long value;
	int c;

	opt->iterations = 4;
	opt->warmup = 0;
	opt->window = 8;
	opt->read_only = false;
	opt->yield = false;
	while ((c = getopt(argc, argv, "i:W:w:ry")) != -1) {
		if (c == 'r') {
			opt->read_only = true;
			continue;
		}
		if (c == 'y') {
			opt->yield = true;
			continue;
		}
		if (c == '?' || parse_number(optarg, c == 'W' ? 0 : 1, 100000, &value))
			return -1;
		if (c == 'i')
			opt->iterations = (unsigned)value;
		else if (c == 'W')
			opt->warmup = (unsigned)value;
		else
			opt->window = (unsigned)value;
	}
	opt->nsizes = argc - optind;
	if (opt->nsizes == 0)
		return -1;
	opt->sizes = calloc((size_t)opt->nsizes, sizeof(*opt->sizes));
	if (!opt->sizes)
		return -1;
	for (int i = 0; i < opt->nsizes; i++) {
		if (parse_number(argv[optind + i], 1, 1ULL << 30, &value))
			return -1;
		opt->sizes[i] = (size_t)value;
	}
	return 0;
}

/*
 * The buffers of a window of messages (one mapping, so that -r can make it
 * read-only), the requests and their statuses: MPICH's MPI_STATUSES_IGNORE
 * is a constant pointer, which GCC 12 takes for an array of size 0 that
 * MPI_Waitall writes past.
 */
struct window {
	uint8_t *arena;
	size_t arena_len;
	MPI_Request *requests;
	MPI_Status *statuses;
};

static void protect(const struct window *w, int prot)
{
	if (mprotect(w->arena, w->arena_len, prot)) {
		perror("knem_mpi_bw: mprotect");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
}

/* Waits for @count requests; with -y, yields the CPU between polls. */
static void wait_all(const struct options *opt, int count, MPI_Request *requests,
		     MPI_Status *statuses)
{
	int done = 0;

	if (!opt->yield) {
		MPI_Waitall(count, requests, statuses);
		return;
	}
	for (;;) {
		MPI_Testall(count, requests, &done, statuses);
		if (done)
			return;
		sched_yield();
	}
}

/*
 * One size: returns the number of bad messages (receiver) or 0.  Each
 * window starts when the receiver, its buffers poisoned and its receives
 * posted, says it is ready; the sender times from its first MPI_Isend to the
 * end of its MPI_Waitall (which, for a message sent by RGET, is the
 * receiver's notice that its copy is done), so neither the pattern fill nor
 * the check is in the figure.
 */
static unsigned run_size(int rank, const struct options *opt, size_t size,
			 const struct window *w, uint64_t *seq)
{
	uint8_t *const arena = w->arena;
	const size_t stride = size + buffer_skew;
	unsigned bad = 0;
	double seconds = 0;

	for (unsigned it = 0; it < opt->warmup + opt->iterations; it++) {
		const uint64_t first = *seq;
		const bool timed = it >= opt->warmup;

		if (rank == SENDER) {
			double started;

			if (opt->read_only)
				protect(w, PROT_READ | PROT_WRITE);
			for (unsigned m = 0; m < opt->window; m++)
				fill(arena + 1 + m * stride, size, first + m);
			if (opt->read_only)
				protect(w, PROT_READ);
			MPI_Irecv(NULL, 0, MPI_BYTE, RECEIVER, READY_TAG, MPI_COMM_WORLD,
				  &w->requests[0]);
			wait_all(opt, 1, w->requests, w->statuses);
			started = MPI_Wtime();
			for (unsigned m = 0; m < opt->window; m++)
				MPI_Isend(arena + 1 + m * stride, (int)size, MPI_BYTE, RECEIVER,
					  DATA_TAG, MPI_COMM_WORLD, &w->requests[m]);
			wait_all(opt, (int)opt->window, w->requests, w->statuses);
			if (timed)
				seconds += MPI_Wtime() - started;
		} else {
			for (unsigned m = 0; m < opt->window; m++) {
				memset(arena + 1 + m * stride, POISON, size);
				MPI_Irecv(arena + 1 + m * stride, (int)size, MPI_BYTE, SENDER,
					  DATA_TAG, MPI_COMM_WORLD, &w->requests[m]);
			}
			MPI_Send(NULL, 0, MPI_BYTE, SENDER, READY_TAG, MPI_COMM_WORLD);
			wait_all(opt, (int)opt->window, w->requests, w->statuses);
			for (unsigned m = 0; m < opt->window; m++) {
				const uint8_t *buf = arena + 1 + m * stride;
				const size_t at = first_mismatch(buf, size, first + m);

				if (at == size)
					continue;
				if (bad++ < 5)
					fprintf(stderr,
						"knem_mpi_bw: size %zu iteration %u message %u: byte %zu is 0x%02x, expected 0x%02x\n",
						size, it, m, at, buf[at], pattern(first + m, at));
			}
		}
		*seq += opt->window;
	}
	if (rank == SENDER) {
		const double bytes = (double)size * opt->iterations * opt->window;

		printf("size %zu: %u messages, %.0f bytes, %.1f MB/s", size,
		       opt->iterations * opt->window, bytes, bytes / seconds / 1e6);
	}
	return bad;
}

int main(int argc, char **argv)
{
	struct options opt;
	int rank, nranks, bad_total = 0;
	uint64_t seq = 1, messages = 0, bytes = 0;
	size_t largest = 0;
	struct window w;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	if (parse(argc, argv, &opt)) {
		MPI_Finalize();
		return usage(rank);
	}
	if (nranks != 2) {
		if (rank == 0)
			fprintf(stderr, "knem_mpi_bw: needs exactly 2 ranks, got %d\n", nranks);
		MPI_Finalize();
		return 2;
	}
	for (int i = 0; i < opt.nsizes; i++)
		if (opt.sizes[i] > largest)
			largest = opt.sizes[i];
	w.arena_len = 1 + opt.window * (largest + buffer_skew);
	w.arena = mmap(NULL, w.arena_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.requests = calloc(opt.window, sizeof(*w.requests));
	w.statuses = calloc(opt.window, sizeof(*w.statuses));
	if (w.arena == MAP_FAILED || !w.requests || !w.statuses) {
		fprintf(stderr, "knem_mpi_bw: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}

	for (int i = 0; i < opt.nsizes; i++) {
		int bad = (int)run_size(rank, &opt, opt.sizes[i], &w, &seq);
		int bad_for_size = 0;

		/* The sender prints the verdict the receiver reached. */
		MPI_Reduce(&bad, &bad_for_size, 1, MPI_INT, MPI_SUM, SENDER, MPI_COMM_WORLD);
		if (rank == SENDER) {
			printf(", %s\n", bad_for_size ? "DATA CORRUPTED" : "data ok");
			fflush(stdout);
		}
		bad_total += bad_for_size;
		messages += (uint64_t)(opt.warmup + opt.iterations) * opt.window;
		bytes += (uint64_t)(opt.warmup + opt.iterations) * opt.window * opt.sizes[i];
	}
	if (rank == SENDER)
		printf("messages %" PRIu64 " bytes %" PRIu64 " bad %d\n", messages, bytes,
		       bad_total);

	free(w.statuses);
	free(w.requests);
	munmap(w.arena, w.arena_len);
	free(opt.sizes);
	MPI_Bcast(&bad_total, 1, MPI_INT, SENDER, MPI_COMM_WORLD);
	MPI_Finalize();
	return bad_total ? 1 : 0;
}
