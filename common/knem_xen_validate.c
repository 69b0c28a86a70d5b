// SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause)
/*
 * knem_xen_validate.c - checking knemif requests and indirect pages.
 *
 * Nothing here trusts a count before it is bounded: segment counts are
 * compared with the op's capacity before any multiplication, and every
 * sum is checked for overflow even where the bounds make it impossible.
 */
#include "knem_xen_validate.h"
#include "knem_io.h"

/* The wire reuses knem's values; a mismatch would change the protocol. */
KNEMIF_STATIC_ASSERT(KNEMIF_KFLAG_DMA == KNEM_FLAG_DMA, "DMA");
KNEMIF_STATIC_ASSERT(KNEMIF_KFLAG_SINGLEUSE == KNEM_FLAG_SINGLEUSE,
		     "SINGLEUSE");
KNEMIF_STATIC_ASSERT(KNEMIF_KFLAG_ANY_USER_ACCESS ==
		     KNEM_FLAG_ANY_USER_ACCESS, "ANY_USER_ACCESS");
KNEMIF_STATIC_ASSERT(KNEMIF_PROT_READ == KNEM_PROT_READ, "PROT_READ");
KNEMIF_STATIC_ASSERT(KNEMIF_PROT_WRITE == KNEM_PROT_WRITE, "PROT_WRITE");
/* Fields are read in native order: the wire is little-endian. */
KNEMIF_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
		     "knemif is little-endian");

static bool knemif_all_zero(const u8 *bytes, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (bytes[i])
			return false;
	return true;
}

/* A cookie that the backend can have issued: non-zero, bit 63 clear. */
static bool knemif_cookie_plausible(u64 cookie)
{
	return cookie && !(cookie & KNEMIF_COOKIE_INVALID_BITS);
}

static u32 knemif_op_flags(u32 op)
{
	switch (op) {
	case KNEMIF_OP_REGION_CREATE:
		return KNEMIF_F_MORE | KNEMIF_F_UNSHARED;
	case KNEMIF_OP_REGION_APPEND:
		return KNEMIF_F_MORE;
	case KNEMIF_OP_REGION_DESTROY:
		return KNEMIF_F_HANDLE;
	case KNEMIF_OP_INLINE_COPY:
		return KNEMIF_F_WRITE;
	default:
		return 0;
	}
}

/* Indirect slots of the op's payload; 0 for ops without segments. */
static u32 knemif_op_indirect_cap(u32 op, const u32 **slots,
				  const struct knemif_request *req)
{
	switch (op) {
	case KNEMIF_OP_REGION_CREATE:
		*slots = req->u.create.indirect;
		return KNEMIF_CREATE_MAX_INDIRECT;
	case KNEMIF_OP_REGION_APPEND:
		*slots = req->u.append.indirect;
		return KNEMIF_APPEND_MAX_INDIRECT;
	case KNEMIF_OP_INLINE_COPY:
		*slots = req->u.inline_copy.indirect;
		return KNEMIF_INLINE_MAX_INDIRECT;
	default:
		*slots = NULL;
		return 0;
	}
}

/*
 * nr_segs and nr_indirect: within the op's capacity and the advertised
 * limit, nr_indirect = ceil(nr_segs / 512), unused slots 0.  Copies the
 * grefs to @out.
 */
static int knemif_check_indirect(const struct knemif_request *req,
				 const struct knemif_limits *lim,
				 struct knemif_req_checked *out)
{
	u32 nr_segs = req->nr_segs, nr_indirect = req->nr_indirect;
	const u32 *slots;
	u32 cap, limit, i;

	cap = knemif_op_indirect_cap(out->op, &slots, req);
	limit = min_t(u32, lim->max_indirect_pages, cap);
	if (nr_indirect > limit)
		return KNEMIF_E_INVAL;
	/* nr_indirect <= 8 here, so this cannot wrap */
	if (nr_segs > nr_indirect * KNEMIF_SEGS_PER_INDIRECT_PAGE)
		return KNEMIF_E_INVAL;
	/* no spare page: the last one holds at least one segment */
	if (nr_indirect &&
	    nr_segs <= (nr_indirect - 1) * KNEMIF_SEGS_PER_INDIRECT_PAGE)
		return KNEMIF_E_INVAL;
	for (i = 0; i < cap; i++) {
		if (i < nr_indirect)
			out->indirect[i] = slots[i];
		else if (slots[i])
			return KNEMIF_E_INVAL;
	}
	out->nr_segs = nr_segs;
	out->nr_indirect = nr_indirect;
	return KNEMIF_E_OK;
}

/* @len bytes in @nr_segs segments of 1 to 4096 bytes each. */
static bool knemif_len_fits_segs(u64 len, u32 nr_segs)
{
	return len >= nr_segs && len <= (u64)nr_segs * KNEMIF_PAGE_SIZE;
}

static int knemif_check_create(const struct knemif_req_create *c,
			       u32 flags, const struct knemif_limits *lim,
			       struct knemif_req_checked *out)
{
	bool more = flags & KNEMIF_F_MORE;
	bool unshared = flags & KNEMIF_F_UNSHARED;

	if (c->kflags & ~KNEMIF_KFLAG_CREATE_MASK ||
	    c->protection & ~KNEMIF_PROT_MASK)
		return KNEMIF_E_INVAL;
	if (more && unshared)
		return KNEMIF_E_INVAL;
	if (more || unshared) {
		/* no pages in the request itself */
		if (out->nr_segs)
			return KNEMIF_E_INVAL;
		if (more && (!c->total_len ||
			     c->total_len > (u64)lim->max_region_pages *
					    KNEMIF_PAGE_SIZE))
			return KNEMIF_E_INVAL;
	} else {
		if (out->nr_segs > lim->max_region_pages ||
		    !knemif_len_fits_segs(c->total_len, out->nr_segs))
			return KNEMIF_E_INVAL;
		out->seg_bytes = c->total_len;
		out->seg_bytes_exact = true;
	}
	out->u.create.total_len = c->total_len;
	out->u.create.owner_uid = c->owner_uid;
	out->u.create.kflags = c->kflags;
	out->u.create.protection = c->protection;
	out->u.create.more = more;
	out->u.create.unshared = unshared;
	return KNEMIF_E_OK;
}

static int knemif_check_append(const struct knemif_req_append *a,
			       u32 flags, const struct knemif_limits *lim,
			       struct knemif_req_checked *out)
{
	if (!out->nr_segs || out->nr_segs > lim->max_region_pages ||
	    !knemif_len_fits_segs(a->chunk_len, out->nr_segs))
		return KNEMIF_E_INVAL;
	if (!a->handle)
		return KNEMIF_E_NOENT;
	out->seg_bytes = a->chunk_len;
	out->seg_bytes_exact = true;
	out->u.append.handle = a->handle;
	out->u.append.more = flags & KNEMIF_F_MORE;
	return KNEMIF_E_OK;
}

static int knemif_check_copy_kflags(u32 kflags,
				    const struct knemif_limits *lim)
{
	if (kflags & ~KNEMIF_KFLAG_COPY_MASK)
		return KNEMIF_E_INVAL;
	if ((kflags & KNEMIF_KFLAG_DMA) && !lim->feature_dma)
		return KNEMIF_E_NOTSUPP;
	return KNEMIF_E_OK;
}

static int knemif_check_op(const struct knemif_request *req,
			   const struct knemif_limits *lim,
			   struct knemif_req_checked *out)
{
	int err;

	switch (out->op) {
	case KNEMIF_OP_REGION_CREATE:
		return knemif_check_create(&req->u.create, out->flags, lim,
					   out);

	case KNEMIF_OP_REGION_APPEND:
		return knemif_check_append(&req->u.append, out->flags, lim,
					   out);

	case KNEMIF_OP_REGION_DESTROY: {
		const struct knemif_req_cookie *d = &req->u.destroy;
		bool handle = out->flags & KNEMIF_F_HANDLE;

		if (!knemif_all_zero(d->reserved, sizeof(d->reserved)))
			return KNEMIF_E_INVAL;
		if (handle ? !d->cookie : !knemif_cookie_plausible(d->cookie))
			return KNEMIF_E_NOENT;
		out->u.destroy.cookie = d->cookie;
		out->u.destroy.handle = handle;
		return KNEMIF_E_OK;
	}

	case KNEMIF_OP_REGION_MARK_STALE: {
		const struct knemif_req_cookie *m = &req->u.mark_stale;

		if (!knemif_all_zero(m->reserved, sizeof(m->reserved)))
			return KNEMIF_E_INVAL;
		if (!knemif_cookie_plausible(m->cookie))
			return KNEMIF_E_NOENT;
		out->u.mark_stale.cookie = m->cookie;
		return KNEMIF_E_OK;
	}

	case KNEMIF_OP_COPY: {
		const struct knemif_req_copy *c = &req->u.copy;

		err = knemif_check_copy_kflags(c->kflags, lim);
		if (err)
			return err;
		if (!knemif_cookie_plausible(c->src_cookie) ||
		    !knemif_cookie_plausible(c->dst_cookie))
			return KNEMIF_E_NOENT;
		out->u.copy.src_cookie = c->src_cookie;
		out->u.copy.src_offset = c->src_offset;
		out->u.copy.dst_cookie = c->dst_cookie;
		out->u.copy.dst_offset = c->dst_offset;
		out->u.copy.length = c->length;
		out->u.copy.kflags = c->kflags;
		out->u.copy.uid = c->uid;
		return KNEMIF_E_OK;
	}

	case KNEMIF_OP_INLINE_COPY: {
		const struct knemif_req_inline_copy *c = &req->u.inline_copy;

		err = knemif_check_copy_kflags(c->kflags, lim);
		if (err)
			return err;
		if (!knemif_cookie_plausible(c->remote_cookie))
			return KNEMIF_E_NOENT;
		/* no announced local length: at most a full page each */
		out->seg_bytes = (u64)out->nr_segs * KNEMIF_PAGE_SIZE;
		out->seg_bytes_exact = false;
		out->u.inline_copy.remote_cookie = c->remote_cookie;
		out->u.inline_copy.remote_offset = c->remote_offset;
		out->u.inline_copy.length = c->length;
		out->u.inline_copy.kflags = c->kflags;
		out->u.inline_copy.uid = c->uid;
		out->u.inline_copy.write = out->flags & KNEMIF_F_WRITE;
		return KNEMIF_E_OK;
	}

	case KNEMIF_OP_WAIT_RELEASED: {
		const struct knemif_req_wait_released *w =
			&req->u.wait_released;

		if (!knemif_all_zero(w->reserved, sizeof(w->reserved)))
			return KNEMIF_E_INVAL;
		out->u.wait_released.page_gref = w->page_gref;
		return KNEMIF_E_OK;
	}

	default:
		return KNEMIF_E_NOTSUPP;
	}
}

int knemif_req_validate(const struct knemif_request *req,
			const struct knemif_limits *lim,
			struct knemif_req_checked *out)
{
	struct knemif_limits l = *lim;
	int err;

	memset(out, 0, sizeof(*out));
	out->id = req->id;
	out->op = req->op;
	out->flags = req->flags;

	if (out->op < KNEMIF_OP_REGION_CREATE ||
	    out->op > KNEMIF_OP_WAIT_RELEASED)
		return KNEMIF_E_NOTSUPP;
	if (out->flags & ~knemif_op_flags(out->op))
		return KNEMIF_E_INVAL;

	if (l.max_indirect_pages > KNEMIF_MAX_INDIRECT_PAGES)
		l.max_indirect_pages = KNEMIF_MAX_INDIRECT_PAGES;
	err = knemif_check_indirect(req, &l, out);
	if (err)
		return err;

	return knemif_check_op(req, &l, out);
}

int knemif_segs_validate(const struct knemif_req_checked *req, u32 page,
			 const struct knemif_seg *segs, u64 *total)
{
	u64 sum = *total;
	u32 nr, i;

	if (page >= req->nr_indirect)
		return KNEMIF_E_INVAL;
	nr = knemif_req_page_segs(req, page);
	for (i = 0; i < nr; i++) {
		u32 offset = segs[i].offset, len = segs[i].len;

		if (!len || offset + len > KNEMIF_PAGE_SIZE)
			return KNEMIF_E_INVAL;
		if (check_add_overflow(sum, (u64)len, &sum))
			return KNEMIF_E_INVAL;
	}
	if (sum > req->seg_bytes)
		return KNEMIF_E_INVAL;
	*total = sum;
	return KNEMIF_E_OK;
}

int knemif_segs_finish(const struct knemif_req_checked *req, u64 total)
{
	if (req->seg_bytes_exact)
		return total == req->seg_bytes ? KNEMIF_E_OK : KNEMIF_E_INVAL;
	if (total < req->nr_segs || total > req->seg_bytes)
		return KNEMIF_E_INVAL;
	return KNEMIF_E_OK;
}

void knemif_build_start(struct knemif_build *build,
			const struct knemif_req_checked *create)
{
	build->total_len = create->u.create.total_len;
	build->bytes = 0;
	build->pages = 0;
}

int knemif_build_append(struct knemif_build *build,
			const struct knemif_req_checked *append,
			const struct knemif_limits *lim, bool *done)
{
	u64 bytes, pages;

	*done = false;
	pages = (u64)build->pages + append->nr_segs;
	if (pages > lim->max_region_pages)
		return KNEMIF_E_INVAL;
	if (check_add_overflow(build->bytes, append->seg_bytes, &bytes) ||
	    bytes > build->total_len)
		return KNEMIF_E_INVAL;
	if (append->u.append.more ? bytes == build->total_len :
				    bytes != build->total_len)
		return KNEMIF_E_INVAL;
	build->bytes = bytes;
	build->pages = (u32)pages;
	*done = !append->u.append.more;
	return KNEMIF_E_OK;
}

bool knemif_versions_has(const char *list, u32 version)
{
	bool found = false;
	const char *p = list;

	for (;;) {
		u64 v = 0;
		unsigned int digits = 0;

		while (*p >= '0' && *p <= '9') {
			/* 10 digits keep v below 2^34: no overflow */
			if (++digits > 10)
				return false;
			v = v * 10 + (u64)(*p - '0');
			p++;
		}
		if (!digits)
			return false;	/* empty item, or a stray character */
		if (v == version)
			found = true;
		if (!*p)
			return found;
		if (*p != ',')
			return false;
		p++;
	}
}
KNEM_EXPORT(knemif_versions_has);

bool knemif_sharing_group_valid(const char *group)
{
	size_t i;

	for (i = 0; group[i]; i++) {
		char c = group[i];

		if (i >= KNEMIF_SHARING_GROUP_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return i > 0;
}
