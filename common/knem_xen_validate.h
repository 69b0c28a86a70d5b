/* SPDX-License-Identifier: (GPL-2.0 OR BSD-3-Clause) */
/*
 * knem_xen_validate.h - checking what a guest's frontend sends to the
 * backend (knem_xen_io.h, doc/xen-protocol.md).
 *
 * The backend copies each request out of the shared ring once
 * (RING_COPY_REQUEST) and hands the copy to knemif_req_validate(), the
 * only way from the ring to the op handlers: they see the checked form,
 * never the raw request.  Indirect pages are likewise copied into dom0
 * memory once and checked with knemif_segs_validate() before any segment
 * is used.  Everything here is pure logic on private copies (no shared
 * memory, no allocation, no locks), compiled into the backend and into
 * the user-space unit tests (tests/unit/xen_protocol_test.cc).
 *
 * Every function returns a wire status, KNEMIF_E_OK (0) or a positive
 * KNEMIF_E_* value to put in the response, not an errno.
 */
#ifndef KNEM_XEN_VALIDATE_H
#define KNEM_XEN_VALIDATE_H

#include "knem_platform.h"
#include "knem_xen_io.h"

/* What the backend advertised in xenstore. */
struct knemif_limits {
	u32 max_indirect_pages;	/* max-indirect-pages (clamped to 8) */
	u32 max_region_pages;	/* max-region-pages */
	bool feature_dma;	/* feature-dma */
};

/*
 * A request that passed knemif_req_validate().  Only the member of @u
 * that belongs to @op is meaningful.
 */
struct knemif_req_checked {
	u64 id;
	u32 op;			/* KNEMIF_OP_* */
	u32 flags;		/* KNEMIF_F_* accepted by the op */
	u32 nr_segs;
	u32 nr_indirect;	/* ceil(nr_segs / 512) */
	/*
	 * Bytes that the segments must add up to: exactly (seg_bytes_exact:
	 * REGION_CREATE total_len, REGION_APPEND chunk_len), or at most
	 * (INLINE_COPY: nr_segs * 4096).
	 */
	u64 seg_bytes;
	bool seg_bytes_exact;
	u32 indirect[KNEMIF_MAX_INDIRECT_PAGES];	/* nr_indirect grefs */
	union {
		struct {
			u64 total_len;
			u32 owner_uid;
			u32 kflags;
			u32 protection;
			bool more;	/* a build: val will be a handle */
			bool unshared;
		} create;
		struct {
			u64 handle;
			bool more;
		} append;
		struct {
			u64 cookie;	/* or a build handle */
			bool handle;
		} destroy;
		struct {
			u64 cookie;
		} mark_stale;
		struct {
			u64 src_cookie;
			u64 src_offset;
			u64 dst_cookie;
			u64 dst_offset;
			u64 length;
			u32 kflags;
			u32 uid;
		} copy;
		struct {
			u64 remote_cookie;
			u64 remote_offset;
			u64 length;
			u32 kflags;
			u32 uid;
			bool write;	/* local to region */
		} inline_copy;
		struct {
			u32 page_gref;
		} wait_released;
	} u;
};

/*
 * Checks @req, a private copy of a ring slot, against the advertised
 * @lim, and fills @out.  @out->id and @out->op are always set (so that
 * the backend can answer); the rest only on success.  Checks, in order:
 * the op is known (NOTSUPP), its flags are its own, the segment counts
 * fit the op and @lim, reserved fields and unused indirect slots are 0,
 * the op's fields are consistent (INVAL); a feature not offered
 * (NOTSUPP); cookies and handles that cannot exist, 0 or bit 63 set
 * (NOENT).
 */
int knemif_req_validate(const struct knemif_request *req,
			const struct knemif_limits *lim,
			struct knemif_req_checked *out);

/* Segments held by indirect page @page (< nr_indirect) of @req. */
static inline u32 knemif_req_page_segs(const struct knemif_req_checked *req,
				       u32 page)
{
	if (page >= req->nr_indirect)
		return 0;
	return min_t(u32, req->nr_segs - page * KNEMIF_SEGS_PER_INDIRECT_PAGE,
		     KNEMIF_SEGS_PER_INDIRECT_PAGE);
}

/*
 * Checks the knemif_req_page_segs() segments at @segs, copied out of
 * indirect page @page of @req, and adds their bytes to *@total (updated
 * on success only).  Call it for pages 0, 1, ... in order with the same
 * @total, starting from 0, then knemif_segs_finish().  INVAL for a page
 * beyond nr_indirect, a segment of length 0 or crossing the end of its
 * page, or a running total above what @req announced.
 */
int knemif_segs_validate(const struct knemif_req_checked *req, u32 page,
			 const struct knemif_seg *segs, u64 *total);

/*
 * After every page: INVAL unless @total matches what @req announced
 * (exactly for REGION_CREATE and REGION_APPEND; for INLINE_COPY
 * at least one byte per segment).
 */
int knemif_segs_finish(const struct knemif_req_checked *req, u64 total);

/*
 * A region being built by REGION_CREATE + KNEMIF_F_MORE and
 * REGION_APPENDs.
 */
struct knemif_build {
	u64 total_len;		/* announced at create */
	u64 bytes;		/* appended so far */
	u32 pages;		/* segments appended so far */
};

/* Starts a build from a checked REGION_CREATE with create.more. */
void knemif_build_start(struct knemif_build *build,
			const struct knemif_req_checked *create);

/*
 * Accounts a checked REGION_APPEND whose segments passed
 * knemif_segs_finish().  INVAL when the region would exceed
 * max-region-pages or its announced length, when the last chunk leaves
 * it short, or when a chunk with MORE already completes it (the next
 * chunk could not be empty).  @build is unchanged on error; the backend
 * then abandons the build.  Returns OK and sets *@done once the last
 * chunk completed the region.
 */
int knemif_build_append(struct knemif_build *build,
			const struct knemif_req_checked *append,
			const struct knemif_limits *lim, bool *done);

/*
 * Whether the "versions" value @list (decimal numbers separated by
 * commas, nothing else) is well formed and contains @version.
 */
bool knemif_versions_has(const char *list, u32 version);

/*
 * Whether @group is a usable sharing-group value: 1 to
 * KNEMIF_SHARING_GROUP_MAX characters of [A-Za-z0-9._-].  The backend
 * treats anything else as no group.
 */
bool knemif_sharing_group_valid(const char *group);

#endif /* KNEM_XEN_VALIDATE_H */
