/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dma_foreign.c - DMA-engine copies into and out of a page another domain
 * granted to dom0, for tests/xen/scenario-dma.sh.  Runs in a guest and in
 * dom0 (as /xt/dma_foreign).  Each check prints one line
 *	xen-check: PASS dma-foreign-<side>:<name>   or
 *	xen-check: FAIL dma-foreign-<side>:<name>: <why>
 * and the exit status is 1 when one failed.
 *
 *   grant PAGES        (guest) grants PAGES pages to dom0 writable through
 *                      /dev/xen/gntalloc, fills them with pattern 1, prints
 *                      their grant references on one line, waits for
 *                      SIGUSR1 (knem_xcopy finish -s), then checks that
 *                      dom0 wrote pattern 2 into all of them
 *   map-copy DOMID GREF...  (dom0) maps the grants through /dev/xen/gntdev,
 *                      declares a knem region on the mapping and copies
 *                      from it and into it with KNEM_FLAG_DMA: the data,
 *                      knem's "processed (using DMA)" counter and the test
 *                      DMA provider's descriptor counter must follow
 *
 * The region on the mapping pins grant-mapped pages (pages of dom0 whose
 * kernel mapping is the foreign frame): the DMA engine's mappings of those
 * pages are what the backend's persistent mappings will hand it.
 * Built by tests/xen/Makefile.am.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* types the uapi header uses without defining them */
typedef uint32_t grant_ref_t;
typedef uint16_t domid_t;
#include <xen/gntdev.h>

#include "xen_check.h"
#include "xen_gntalloc.h"
#include "xen_knem.h"
#include "xen_pattern.h"

#define PAGE GNT_PAGE
#define MAX_PAGES 64u
#define DMA_COUNTER_LABEL "processed (using DMA)"
#define PROVIDER_COPIES "/sys/module/knem_test_dma/parameters/copies"

static unsigned int pages_arg(const char *s)
{
	unsigned long n = strtoul(s, NULL, 0);

	if (n < 1 || n > MAX_PAGES) {
		fprintf(stderr, "page count %s: 1 to %u\n", s, MAX_PAGES);
		exit(2);
	}
	return (unsigned int)n;
}

/* ---- guest side -------------------------------------------------------- */

static int grant(unsigned int pages)
{
	struct timespec ts = { 600, 0 };
	size_t len = (size_t)pages * PAGE;
	struct gpage pg[MAX_PAGES];
	const char *failed;
	sigset_t usr1;
	uint8_t *p;
	long bad;
	unsigned int i;
	int fd;

	role = "dma-foreign-guest";
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	fd = open("/dev/xen/gntalloc", O_RDWR);
	if (fd < 0)
		die("open-gntalloc");
	failed = gnt_alloc(fd, pg, pages, 0, 1);
	if (failed)
		die(failed);
	p = pg[0].p;
	fill(p, len, 1);
	for (i = 0; i < pages; i++)
		printf("%s%u", i ? " " : "", pg[i].gref);
	putchar('\n');
	fflush(stdout);

	if (sigtimedwait(&usr1, NULL, &ts) != SIGUSR1)
		check(0, "signal", "no SIGUSR1 in 600 s");
	bad = mismatch(p, len, 2);
	check(bad < 0, "granted-pages-hold-the-dma-write",
	      "byte %ld is %#x, want %#x", bad, bad < 0 ? 0 : p[bad],
	      bad < 0 ? 0 : pat(2, bad));
	return failures ? 1 : 0;
}

/* ---- dom0 side --------------------------------------------------------- */

/* knem's "processed (using DMA)" counter, or -1. */
static long long knem_dma_counter(void)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen(KNEM_DEVICE_FILENAME, "r");
	char *colon;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, DMA_COUNTER_LABEL) &&
		    (colon = strchr(line, ':'))) {
			v = strtoll(colon + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long long provider_copies(void)
{
	long long v = -1;
	FILE *f = fopen(PROVIDER_COPIES, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static knem_cookie_t create_region(int knem, void *base, size_t len,
				   const char *name)
{
	knem_cookie_t cookie = 0;

	errno = knem_create_flat(knem, base, len,
				 KNEM_PROT_READ | KNEM_PROT_WRITE, 0, &cookie);
	if (errno)
		die_in(name, "KNEM_CMD_CREATE_REGION");
	return cookie;
}

/* A synchronous DMA copy of @len bytes; checks its status and counters. */
static void dma_copy(int knem, knem_cookie_t src, knem_cookie_t dst,
		     size_t len, unsigned int pages, const char *name)
{
	long long dma0 = knem_dma_counter(), copies0 = provider_copies();
	long long dma1, copies1;
	int r = knem_copy_bounded(knem, src, 0, dst, 0, len, KNEM_FLAG_DMA);
	char what[128];

	dma1 = knem_dma_counter();
	copies1 = provider_copies();
	check(r == 0, name, "%s", knem_result_str(r));
	snprintf(what, sizeof(what), "%s-counted-by-knem", name);
	check(dma0 >= 0 && dma1 == dma0 + 1, what,
	      "knem's DMA counter went from %lld to %lld", dma0, dma1);
	/* Page-aligned on both sides: one descriptor per page. */
	snprintf(what, sizeof(what), "%s-done-by-the-engine", name);
	check(copies0 >= 0 && copies1 == copies0 + pages, what,
	      "the provider's copies went from %lld to %lld, want +%u",
	      copies0, copies1, pages);
}

static int map_copy(int argc, char **argv)
{
	unsigned int pages = (unsigned int)argc - 1, i;
	struct ioctl_gntdev_map_grant_ref *m;
	struct ioctl_gntdev_unmap_grant_ref u = { 0 };
	knem_cookie_t foreign, local, back;
	uint8_t *fp, *lp, *bp;
	size_t len;
	long bad;
	int gnt, knem;

	role = "dma-foreign-dom0";
	if (pages > MAX_PAGES) {
		fprintf(stderr, "%u grants: at most %u\n", pages, MAX_PAGES);
		return 2;
	}
	len = (size_t)pages * PAGE;
	m = calloc(1, sizeof(*m) + pages * sizeof(m->refs[0]));
	gnt = open("/dev/xen/gntdev", O_RDWR);
	if (gnt < 0 || !m)
		die("open-gntdev");
	m->count = pages;
	for (i = 0; i < pages; i++) {
		m->refs[i].domid = (uint32_t)strtoul(argv[0], NULL, 0);
		m->refs[i].ref = (uint32_t)strtoul(argv[i + 1], NULL, 0);
	}
	if (ioctl(gnt, IOCTL_GNTDEV_MAP_GRANT_REF, m))
		die("map-grant-ref");
	fp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, gnt, m->index);
	if (fp == MAP_FAILED)
		die("mmap-gntdev");
	bad = mismatch(fp, len, 1);
	check(bad < 0, "mapping-shows-the-guest-data", "byte %ld differs", bad);

	lp = aligned_alloc(PAGE, len);
	bp = aligned_alloc(PAGE, len);
	knem = open(KNEM_DEVICE_FILENAME, O_RDWR);
	if (!lp || !bp || knem < 0)
		die("open-knem");
	fill(lp, len, 2);
	memset(bp, 0, len);
	foreign = create_region(knem, fp, len, "region-on-grant-mapping");
	local = create_region(knem, lp, len, "local-region");
	back = create_region(knem, bp, len, "readback-region");

	dma_copy(knem, foreign, back, len, pages, "dma-read-of-foreign-pages");
	bad = mismatch(bp, len, 1);
	check(bad < 0, "dma-read-of-foreign-pages-data", "byte %ld differs",
	      bad);
	dma_copy(knem, local, foreign, len, pages, "dma-write-into-foreign-pages");
	bad = mismatch(fp, len, 2);
	check(bad < 0, "dma-write-into-foreign-pages-data",
	      "byte %ld differs in dom0's mapping", bad);

	for (i = 0; i < 3; i++) {
		knem_cookie_t c = i == 0 ? foreign : i == 1 ? local : back;

		if (ioctl(knem, KNEM_CMD_DESTROY_REGION, &c))
			die("destroy-region");
	}
	close(knem);
	if (munmap(fp, len))
		die("munmap-gntdev");
	u.index = m->index;
	u.count = pages;
	if (ioctl(gnt, IOCTL_GNTDEV_UNMAP_GRANT_REF, &u))
		die("unmap-grant-ref");
	close(gnt);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "grant"))
		return grant(pages_arg(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "map-copy"))
		return map_copy(argc - 2, argv + 2);
	fprintf(stderr, "usage: %s grant PAGES | map-copy DOMID GREF...\n",
		argv[0]);
	return 2;
}
