/* SPDX-License-Identifier: BSD-3-Clause */
/* ufront_req.c - requests and response statuses (ufront.h). */
#include <stdio.h>
#include <string.h>

#include "ufront.h"

const char *status_name(int s)
{
	static const char *const names[] = {
		"OK", "INVAL", "NOENT", "PERM", "ACCES", "NOSPC", "STALE",
		"IO", "NOTSUPP", "BUSY", "NOMEM", "FAULT"
	};
	static char buf[32];

	if (s >= 0 && s < (int)(sizeof(names) / sizeof(names[0])))
		return names[s];
	snprintf(buf, sizeof(buf), s == -1 ? "no response" :
		 s == -2 ? "a response to another request" : "status %d", s);
	return buf;
}

struct knemif_request req(uint8_t op)
{
	struct knemif_request r;

	memset(&r, 0, sizeof(r));
	r.op = op;
	return r;
}

void segs_one_per_page(struct gpage *ind, const struct gpage *pages,
		       unsigned int n)
{
	struct knemif_seg *s = (struct knemif_seg *)ind->p;
	unsigned int i;

	for (i = 0; i < n; i++) {
		s[i].gref = pages[i].gref;
		s[i].offset = 0;
		s[i].len = GNT_PAGE;
	}
}

struct knemif_request create_req(struct gpage *ind, unsigned int n,
				 uint32_t prot, uint32_t kflags)
{
	struct knemif_request r = req(KNEMIF_OP_REGION_CREATE);

	r.nr_segs = n;
	r.nr_indirect = n ? 1 : 0;
	r.u.create.total_len = (uint64_t)n * GNT_PAGE;
	r.u.create.protection = prot;
	r.u.create.kflags = kflags;
	r.u.create.indirect[0] = n ? ind->gref : 0;
	return r;
}

struct knemif_request copy_req(uint64_t src, uint64_t soff, uint64_t dst,
			       uint64_t doff, uint64_t len)
{
	struct knemif_request r = req(KNEMIF_OP_COPY);

	r.u.copy.src_cookie = src;
	r.u.copy.src_offset = soff;
	r.u.copy.dst_cookie = dst;
	r.u.copy.dst_offset = doff;
	r.u.copy.length = len;
	return r;
}

struct knemif_request cookie_req(uint8_t op, uint64_t cookie)
{
	struct knemif_request r = req(op);

	r.u.destroy.cookie = cookie;
	return r;
}

struct knemif_request append_req(struct gpage *ind, uint64_t handle,
				 uint64_t chunk_len, uint8_t flags)
{
	struct knemif_request r = req(KNEMIF_OP_REGION_APPEND);

	r.flags = flags;
	r.nr_segs = 1;
	r.nr_indirect = 1;
	r.u.append.indirect[0] = ind->gref;
	r.u.append.handle = handle;
	r.u.append.chunk_len = chunk_len;
	return r;
}

struct knemif_request wait_released_req(uint32_t page_gref)
{
	struct knemif_request r = req(KNEMIF_OP_WAIT_RELEASED);

	r.u.wait_released.page_gref = page_gref;
	return r;
}
