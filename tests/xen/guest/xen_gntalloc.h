/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xen_gntalloc.h - pages of this domain granted to another one through
 * /dev/xen/gntalloc (dma_foreign's pages for dom0, hostile_front's ring,
 * indirect and data pages).
 */
#ifndef XEN_GNTALLOC_H
#define XEN_GNTALLOC_H

#include <stdint.h>

#define GNT_PAGE 4096

struct gpage {
	uint32_t gref;		/* the grant reference the other domain uses */
	uint64_t index;		/* gntalloc's offset of the page */
	unsigned char *p;	/* this domain's mapping */
};

/*
 * Grants @n pages to @domid, writable or read-only, mapped contiguously
 * from pg[0].p on; the grants end when the process exits.  NULL, or the
 * step that failed with errno set.
 */
const char *gnt_alloc(int fd, struct gpage *pg, unsigned int n,
		      unsigned int domid, int writable);

/* Ends the grant of one page: its gref names nothing any more. */
const char *gnt_end(int fd, struct gpage *pg);

#endif
