/* SPDX-License-Identifier: BSD-3-Clause */
/* ufront_grant.c - the frontend's granted pages (ufront.h). */
#include "ufront.h"
#include "xen_check.h"

int gnt_fd = -1;

void grant(struct gpage *pg, unsigned int n, unsigned int domid,
	   int writable)
{
	const char *failed = gnt_alloc(gnt_fd, pg, n, domid, writable);

	if (failed)
		die_in(UFRONT_SETUP, failed);
}

void end_grant(struct gpage *pg)
{
	const char *failed = gnt_end(gnt_fd, pg);

	if (failed)
		die_in(UFRONT_SETUP, failed);
}
