/* SPDX-License-Identifier: BSD-3-Clause */
/* xen_gntalloc.c - granted pages (xen_gntalloc.h). */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <xen/gntalloc.h>

#include "xen_gntalloc.h"

const char *gnt_alloc(int fd, struct gpage *pg, unsigned int n,
		      unsigned int domid, int writable)
{
	size_t size = sizeof(struct ioctl_gntalloc_alloc_gref) +
		      n * sizeof(uint32_t);
	struct ioctl_gntalloc_alloc_gref *a = calloc(1, size);
	unsigned char *map;
	unsigned int i;

	if (!a)
		return "calloc";
	a->domid = domid;
	a->flags = writable ? GNTALLOC_FLAG_WRITABLE : 0;
	a->count = n;
	if (ioctl(fd, IOCTL_GNTALLOC_ALLOC_GREF, a)) {
		free(a);	/* keeps errno */
		return "IOCTL_GNTALLOC_ALLOC_GREF";
	}
	map = mmap(NULL, (size_t)n * GNT_PAGE, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, a->index);
	if (map == MAP_FAILED) {
		free(a);
		return "mmap gntalloc";
	}
	for (i = 0; i < n; i++) {
		pg[i].gref = a->gref_ids[i];
		pg[i].index = a->index + (uint64_t)i * GNT_PAGE;
		pg[i].p = map + (size_t)i * GNT_PAGE;
	}
	free(a);
	return NULL;
}

const char *gnt_end(int fd, struct gpage *pg)
{
	struct ioctl_gntalloc_dealloc_gref d = { .index = pg->index,
						 .count = 1 };

	if (ioctl(fd, IOCTL_GNTALLOC_DEALLOC_GREF, &d))
		return "IOCTL_GNTALLOC_DEALLOC_GREF";
	munmap(pg->p, GNT_PAGE);
	pg->p = NULL;
	return NULL;
}
