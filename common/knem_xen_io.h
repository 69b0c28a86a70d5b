/* SPDX-License-Identifier: MIT */
/*
 * knem_xen_io.h - knemif, the wire protocol between a guest's knem
 * frontend (knem-front) and dom0's knem backend (knemback), version 1.
 *
 * This header is the C reference of doc/xen-protocol.md; in case of
 * conflict the document is authoritative.  It is self-contained (it does
 * not need knem_io.h) and MIT-licensed so that any guest OS can implement
 * the frontend.  Usable from C and C++:
 *  - in the Linux kernel (__KERNEL__) it also defines the ring types
 *    knemif_sring, knemif_front_ring and knemif_back_ring through
 *    <xen/interface/io/ring.h>;
 *  - elsewhere it defines the wire structures only; an implementation
 *    that wants the ring types includes its own copy of Xen's public
 *    io/ring.h first and defines KNEMIF_DEFINE_RING_TYPES.
 *
 * Every field is a fixed-width little-endian integer (every architecture
 * Xen runs on is little-endian, so both ends use native order), every
 * structure has explicit padding and its size is asserted below: the
 * layout is the same for 32- and 64-bit guests, and there is no
 * "protocol" xenstore key.
 *
 * A "page" on the wire is always a 4096-byte Xen page (XEN_PAGE_SIZE),
 * whatever the guest's own page size; a grant reference names one.
 *
 ****************************************************************************
 *                               XENSTORE
 ****************************************************************************
 *
 * Device type "knem", one device per guest, devid 0:
 *   frontend: /local/domain/<domid>/device/knem/0
 *   backend:  /local/domain/<backend-domid>/backend/knem/<domid>/0
 * The toolstack (or the project's attach script) creates both directories
 * and the usual "frontend", "frontend-id", "backend", "backend-id" and
 * "state" nodes.  Integers are written in decimal.
 *
 *------------------------- Backend Device Properties -----------------------
 *
 * versions
 *      Values:         comma-separated list of decimal version numbers
 *      Default:        (required)
 *      Notes:          the protocol versions the backend speaks.  This
 *                      document describes version 1 (KNEMIF_VERSION).
 *
 * feature-grant-copy
 *      Values:         0/1 (boolean)
 *      Default:        0
 *      Notes:          1: the backend copies with GNTTABOP_copy, so region
 *                      pages only need to be granted (they are mapped only
 *                      with feature-persistent-map on both sides).  A
 *                      version 1 backend always writes 1.
 *
 * feature-persistent-map
 *      Values:         0/1 (boolean)
 *      Default:        0
 *      Notes:          1: the backend may keep a region's granted pages
 *                      mapped from its first use until the response to
 *                      REGION_DESTROY or REGION_MARK_STALE, the
 *                      WAIT_RELEASED response that reports the region, or
 *                      the backend leaving Connected, whichever comes
 *                      first; so the frontend can end the grants after
 *                      any of those.  Indirect pages and the local pages
 *                      of INLINE_COPY are never mapped.  Only used if the
 *                      frontend consents with its own
 *                      feature-persistent-map = 1.  knem.ko writes 1
 *                      unless loaded with persistentmap=0.
 *
 * feature-dma
 *      Values:         0/1 (boolean)
 *      Default:        0
 *      Notes:          1: KNEMIF_KFLAG_DMA is accepted in COPY and
 *                      INLINE_COPY (a DMA engine may do the copy).  The
 *                      frontend reports KNEM_FEATURE_DMA to its users only
 *                      when this is 1.  The flag is a hint: a DMA engine
 *                      needs mapped pages, so knem.ko uses one for copies
 *                      it serves from persistent mappings when dom0 has a
 *                      channel, and writes 1 only with persistent mappings
 *                      on and its dma parameter 1.
 *
 * max-indirect-pages
 *      Values:         1..KNEMIF_MAX_INDIRECT_PAGES
 *      Default:        1
 *      Notes:          the most indirect pages one request may name.  The
 *                      effective limit of an op is the smaller of this
 *                      value and the op's own capacity
 *                      (KNEMIF_*_MAX_INDIRECT).  Larger values are
 *                      treated as KNEMIF_MAX_INDIRECT_PAGES.
 *
 * max-region-pages
 *      Values:         0..4294967295
 *      Default:        KNEMIF_DEFAULT_MAX_REGION_PAGES
 *      Notes:          the most pages (segments) one shared region may
 *                      have, over all its chunks.  A frontend fails a
 *                      larger region locally with EINVAL.
 *
 * sharing-group
 *      Values:         1..KNEMIF_SHARING_GROUP_MAX characters of
 *                      [A-Za-z0-9._-]
 *      Default:        "" (no group: no other domain reaches this guest's
 *                      regions, and this guest reaches no other domain's)
 *      Notes:          written by the dom0 administrator or toolstack,
 *                      never by the backend driver and never by the guest
 *                      (the guest may read the backend directory but not
 *                      write it).  Two domains reach each other's regions
 *                      that carry KNEMIF_KFLAG_ANY_USER_ACCESS only if
 *                      their groups are equal and non-empty.  A malformed
 *                      value counts as "".  The backend watches the node:
 *                      a change applies to later lookups.
 *
 * sharing-id
 *      Values:         16 lowercase hex digits (a 64-bit value, never 0),
 *                      or "none"
 *      Default:        "none"
 *      Notes:          written by the backend driver when it connects and
 *                      each time it reads sharing-group again: a keyed hash
 *                      of the guest's group under a key the backend draws
 *                      when it loads, "none" without a valid group.
 *                      Equal values mean the same group of the same backend
 *                      instance; dom0's own processes have the value of
 *                      dom0's group.  Removed when the backend disconnects.
 *                      Only a hint that copies may be allowed: it grants
 *                      nothing, access control still decides every lookup.
 *
 * max-ring-page-order, multi-queue-max-queues
 *      Reserved for a later version (multi-page rings, several rings), with
 *      blkif's meaning.  A version 1 backend does not write them.
 *
 *------------------------- Frontend Device Properties ----------------------
 *
 * version
 *      Values:         one decimal version number taken from "versions"
 *      Default:        (required)
 *
 * ring-ref
 *      Values:         grant reference (decimal)
 *      Default:        (required)
 *      Notes:          the single ring page, granted read-write to the
 *                      backend.
 *
 * event-channel
 *      Values:         event-channel port (decimal)
 *      Default:        (required)
 *
 * feature-persistent-map
 *      Values:         0/1 (boolean)
 *      Default:        0
 *      Notes:          1: the guest consents to its region pages staying
 *                      mapped in dom0 between copies (see the backend key).
 *                      0: the backend may only grant-copy.
 *
 * ring-page-order, ring-ref<N>, multi-queue-num-queues, queue-<N>/...
 *      Reserved for a later version.  A version 1 frontend does not write
 *      them.
 *
 ****************************************************************************
 *                            REQUESTS AND RESPONSES
 ****************************************************************************
 *
 * One single-page ring (DEFINE_RING_TYPES) of 64-byte slots: 32 requests
 * in flight.  Every request is 64 bytes and carries an opaque id that the
 * response (24 bytes) echoes; responses may come in any order.  Fields
 * marked "reserved" must be 0 in a request (the backend rejects the
 * request otherwise, KNEMIF_E_INVAL) and are written 0 in a response.
 *
 * Lists of guest pages travel in indirect pages: 4096-byte guest pages,
 * granted read-only to the backend, holding packed arrays of struct
 * knemif_seg.  Segment k of a request is entry k % 512 of indirect page
 * k / 512; every indirect page but the last is full.
 */
#ifndef KNEM_XEN_IO_H
#define KNEM_XEN_IO_H

#ifdef __KERNEL__
#include <linux/stddef.h>
#include <linux/types.h>
#include <xen/interface/io/ring.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
#define KNEMIF_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define KNEMIF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ---- versions and xenstore node names ---------------------------------- */

#define KNEMIF_VERSION 1

#define KNEMIF_DEVICE_TYPE "knem"
#define KNEMIF_DEVID 0

#define KNEMIF_XS_VERSIONS "versions"
#define KNEMIF_XS_VERSION "version"
#define KNEMIF_XS_RING_REF "ring-ref"
#define KNEMIF_XS_EVENT_CHANNEL "event-channel"
#define KNEMIF_XS_FEATURE_GRANT_COPY "feature-grant-copy"
#define KNEMIF_XS_FEATURE_PERSISTENT_MAP "feature-persistent-map"
#define KNEMIF_XS_FEATURE_DMA "feature-dma"
#define KNEMIF_XS_MAX_INDIRECT_PAGES "max-indirect-pages"
#define KNEMIF_XS_MAX_REGION_PAGES "max-region-pages"
#define KNEMIF_XS_SHARING_GROUP "sharing-group"
#define KNEMIF_XS_SHARING_ID "sharing-id"
/* reserved for a later version */
#define KNEMIF_XS_MAX_RING_PAGE_ORDER "max-ring-page-order"
#define KNEMIF_XS_RING_PAGE_ORDER "ring-page-order"

/* Longest sharing-group value, in characters. */
#define KNEMIF_SHARING_GROUP_MAX 64

/* sharing-id: this many lowercase hex digits, or KNEMIF_SHARING_ID_NONE. */
#define KNEMIF_SHARING_ID_DIGITS 16
#define KNEMIF_SHARING_ID_NONE "none"

/* max-region-pages when the backend does not write it: 14 MiB. */
#define KNEMIF_DEFAULT_MAX_REGION_PAGES 3584

/* ---- pages, segments, indirect pages ----------------------------------- */

#define KNEMIF_PAGE_SHIFT 12
#define KNEMIF_PAGE_SIZE 4096

/*
 * One run of bytes inside one granted guest page:
 *   gref    grant reference of the page, granted to the backend domain
 *           (read-only unless the backend must write into it);
 *   offset  first byte in the page;
 *   len     bytes, 1 <= len and offset + len <= 4096.
 * The same page may appear in several segments.
 */
struct knemif_seg {
	uint32_t gref;
	uint16_t offset;
	uint16_t len;
};

/* Segments per indirect page: 4096 / sizeof(struct knemif_seg). */
#define KNEMIF_SEGS_PER_INDIRECT_PAGE 512

/* The most indirect pages any op can name; see max-indirect-pages. */
#define KNEMIF_MAX_INDIRECT_PAGES 8

/* ---- operations --------------------------------------------------------- */

/*
 * Op codes (knemif_request.op).  0 is never valid, so a zeroed slot is
 * rejected.  An unknown op gets KNEMIF_E_NOTSUPP.  Ops that take segments
 * (nr_segs, nr_indirect != 0) are marked; every other op requires
 * nr_segs = nr_indirect = 0.
 *
 * KNEMIF_OP_REGION_CREATE (segments)
 *   Declares a region, or starts building a large one.
 *   flags:   KNEMIF_F_MORE     the segments follow in REGION_APPENDs;
 *            KNEMIF_F_UNSHARED no pages, only a cookie (see below).
 *            Not both.
 *   Plain:   nr_segs segments (0..min(limit, 7 * 512), and at most
 *            max-region-pages) whose lengths add up to total_len; the
 *            region is usable at once.  Response val = the cookie.
 *   MORE:    nr_segs = 0; total_len (1..max-region-pages * 4096) is the
 *            length of the whole region.  Response val = a build handle
 *            (non-zero, meaningful to this frontend only) for the
 *            REGION_APPENDs; no cookie exists yet.
 *   UNSHARED: nr_segs = 0; total_len is informational.  The region has
 *            no pages in dom0: every use through the ring fails with
 *            KNEMIF_E_PERM, whoever asks.  For regions that no other
 *            domain can reach (no ANY_USER_ACCESS, or no sharing group),
 *            so that they cost no grants; the frontend copies them
 *            locally, or as the local side of an INLINE_COPY.
 *            Response val = the cookie.
 *   protection: KNEMIF_PROT_* (0 allowed: every copy is then refused).
 *   kflags:  KNEMIF_KFLAG_SINGLEUSE, KNEMIF_KFLAG_ANY_USER_ACCESS.
 *   owner_uid: the creating user in the guest, opaque to dom0.
 *   Segments are granted read-only unless protection has PROT_WRITE.
 *   Errors: INVAL, NOSPC (per-domain quota, too many builds), NOMEM,
 *   IO (an indirect page could not be read).
 *
 * KNEMIF_OP_REGION_APPEND (segments)
 *   Adds nr_segs (1..min(limit, 8 * 512)) segments, of chunk_len bytes in
 *   all, to the region being built under handle.  flags: KNEMIF_F_MORE if
 *   more chunks follow.  The frontend sends a chunk only after the
 *   response to the previous request of the same build.  Response val:
 *   0 with MORE; otherwise the cookie, and the region is usable.  The
 *   chunks' lengths must add up to the total_len announced at create;
 *   their segments to at most max-region-pages.  Any error ends the build
 *   (the handle is forgotten).
 *   Errors: INVAL (lengths disagree, too many pages), NOENT (unknown
 *   handle), BUSY (a chunk of this build is still being processed),
 *   NOSPC, NOMEM, IO.
 *
 * KNEMIF_OP_REGION_DESTROY
 *   Destroys a region of this frontend: the cookie no longer finds it.
 *   The response comes only once no copy uses the region's grants and the
 *   backend keeps none of its pages mapped: the frontend may then end the
 *   grants and unpin.  Response flags: KNEMIF_RSP_F_CONSUMED if a
 *   single-use region had already been consumed by a copy (the destroy
 *   then only collected it).
 *   flags:   KNEMIF_F_HANDLE: the cookie field is a build handle: abandon
 *            that unfinished build.
 *   Errors: NOENT (not a live or unreported region of this frontend),
 *   BUSY (the handle's build has a chunk in progress).
 *
 * KNEMIF_OP_REGION_MARK_STALE
 *   The owner's memory behind a region of this frontend is gone (unmapped
 *   in the guest).  Later copies through the cookie fail with
 *   KNEMIF_E_STALE; the cookie stays valid for REGION_DESTROY.  Answered,
 *   like REGION_DESTROY, once no copy uses the grants any more.
 *   Errors: NOENT.
 *
 * KNEMIF_OP_COPY
 *   Copies between two regions (any domains, the requester's included):
 *   min(src length - src_offset, dst length - dst_offset, length) bytes,
 *   0 if an offset is at or past its region's end.  length = UINT64_MAX
 *   means unbounded.  Response val = bytes copied.  kflags:
 *   KNEMIF_KFLAG_DMA (only if feature-dma = 1).  uid: the requesting user
 *   in the guest, compared with the owner_uid of this domain's regions.
 *   A single-use region is consumed by the lookup, even if the copy then
 *   fails.
 *   Check errors (nothing was copied): INVAL, NOTSUPP, NOENT, PERM, ACCES,
 *   STALE, NOMEM.  Transfer errors (val = bytes copied before the
 *   failure): FAULT.
 *
 * KNEMIF_OP_INLINE_COPY (segments)
 *   Copies between the segments of this request (the "local" side,
 *   granted for this request only: read-only with KNEMIF_F_WRITE,
 *   writable without) and the region of remote_cookie at remote_offset.
 *   flags:   KNEMIF_F_WRITE: local to region; otherwise region to local.
 *   nr_segs: 0..min(limit, 4 * 512); 0 copies nothing but still looks the
 *   cookie up (and consumes a single-use region).
 *   Bytes copied: min(local length, region length - remote_offset,
 *   length).  Response val = bytes copied.  kflags and uid as for COPY.
 *   Check errors: as for COPY.  Transfer errors: FAULT (the region's
 *   memory), IO (the local segments or the indirect pages); against
 *   another guest's region a grant copy cannot tell which side failed,
 *   and the answer is FAULT.
 *
 * KNEMIF_OP_WAIT_RELEASED
 *   Parked until the backend has released single-use regions of this
 *   frontend that another request consumed (their grants are no longer
 *   used): the backend writes up to 512 of their cookies (uint64_t each)
 *   at the start of the page page_gref (granted writable) and answers
 *   with val = their number.  Each released region is reported exactly
 *   once, here or by REGION_DESTROY's KNEMIF_RSP_F_CONSUMED.  The backend
 *   may also answer with val = 0 at any time (e.g. before disconnecting).
 *   At most one may be outstanding.
 *   Errors: BUSY (one is already outstanding), IO (page not writable).
 */
#define KNEMIF_OP_REGION_CREATE 1
#define KNEMIF_OP_REGION_APPEND 2
#define KNEMIF_OP_REGION_DESTROY 3
#define KNEMIF_OP_REGION_MARK_STALE 4
#define KNEMIF_OP_COPY 5
#define KNEMIF_OP_INLINE_COPY 6
#define KNEMIF_OP_WAIT_RELEASED 7

/* Request flags (knemif_request.flags); each op accepts only its own. */
#define KNEMIF_F_MORE (1U << 0)     /* REGION_CREATE, REGION_APPEND */
#define KNEMIF_F_UNSHARED (1U << 1) /* REGION_CREATE */
#define KNEMIF_F_WRITE (1U << 2)    /* INLINE_COPY */
#define KNEMIF_F_HANDLE (1U << 3)   /* REGION_DESTROY */

/* Response flags (knemif_response.flags). */
#define KNEMIF_RSP_F_CONSUMED (1U << 0) /* REGION_DESTROY */

/* Region protection: the values of knem's KNEM_PROT_*. */
#define KNEMIF_PROT_READ 0x1U
#define KNEMIF_PROT_WRITE 0x2U
#define KNEMIF_PROT_MASK (KNEMIF_PROT_READ | KNEMIF_PROT_WRITE)

/*
 * knem flags that matter in dom0, with the values of knem's KNEM_FLAG_*.
 * Every other knem flag (asynchronous completion, threads, NOTIFY_FD,
 * PINLOCAL) is handled by the frontend and never sent.
 */
#define KNEMIF_KFLAG_DMA (1U << 0)             /* COPY, INLINE_COPY */
#define KNEMIF_KFLAG_SINGLEUSE (1U << 5)       /* REGION_CREATE */
#define KNEMIF_KFLAG_ANY_USER_ACCESS (1U << 7) /* REGION_CREATE */
#define KNEMIF_KFLAG_CREATE_MASK \
	(KNEMIF_KFLAG_SINGLEUSE | KNEMIF_KFLAG_ANY_USER_ACCESS)
#define KNEMIF_KFLAG_COPY_MASK KNEMIF_KFLAG_DMA

/* COPY and INLINE_COPY length meaning "no bound". */
#define KNEMIF_LENGTH_UNBOUNDED (~(uint64_t)0)

/* Cookies: 63 random bits, bit 63 clear, never 0. */
#define KNEMIF_COOKIE_INVALID_BITS (1ULL << 63)

/* Cookies per page of a WAIT_RELEASED answer. */
#define KNEMIF_COOKIES_PER_RELEASE_PAGE (KNEMIF_PAGE_SIZE / 8)

/* ---- request layouts ---------------------------------------------------- */

/* Indirect pages each op's payload can name. */
#define KNEMIF_CREATE_MAX_INDIRECT 7
#define KNEMIF_APPEND_MAX_INDIRECT 8
#define KNEMIF_INLINE_MAX_INDIRECT 4

struct knemif_req_create {		/* offsets within the request */
	uint64_t total_len;		/* 16 */
	uint32_t owner_uid;		/* 24 */
	uint32_t kflags;		/* 28: KNEMIF_KFLAG_CREATE_MASK */
	uint32_t protection;		/* 32: KNEMIF_PROT_* */
	uint32_t indirect[KNEMIF_CREATE_MAX_INDIRECT]; /* 36: grefs */
};

struct knemif_req_append {
	uint64_t handle;		/* 16: from REGION_CREATE + MORE */
	uint64_t chunk_len;		/* 24: bytes of this chunk's segments */
	uint32_t indirect[KNEMIF_APPEND_MAX_INDIRECT]; /* 32 */
};

struct knemif_req_cookie {		/* REGION_DESTROY, REGION_MARK_STALE */
	uint64_t cookie;		/* 16: or KNEMIF_F_HANDLE's handle */
	uint8_t reserved[40];		/* 24 */
};

struct knemif_req_copy {
	uint64_t src_cookie;		/* 16 */
	uint64_t src_offset;		/* 24 */
	uint64_t dst_cookie;		/* 32 */
	uint64_t dst_offset;		/* 40 */
	uint64_t length;		/* 48: bound, UINT64_MAX = none */
	uint32_t kflags;		/* 56: KNEMIF_KFLAG_COPY_MASK */
	uint32_t uid;			/* 60 */
};

struct knemif_req_inline_copy {
	uint64_t remote_cookie;		/* 16 */
	uint64_t remote_offset;		/* 24 */
	uint64_t length;		/* 32: bound, UINT64_MAX = none */
	uint32_t kflags;		/* 40: KNEMIF_KFLAG_COPY_MASK */
	uint32_t uid;			/* 44 */
	uint32_t indirect[KNEMIF_INLINE_MAX_INDIRECT]; /* 48: local side */
};

struct knemif_req_wait_released {
	uint32_t page_gref;		/* 16: writable page for the cookies */
	uint8_t reserved[44];		/* 20 */
};

/*
 * A request, 64 bytes.  Indirect grefs beyond nr_indirect are reserved
 * (0).  nr_indirect is exactly ceil(nr_segs / 512).
 */
struct knemif_request {
	uint64_t id;			/* 0: opaque, echoed in the response */
	uint8_t op;			/* 8: KNEMIF_OP_* */
	uint8_t flags;			/* 9: KNEMIF_F_* */
	uint16_t nr_indirect;		/* 10: indirect pages named */
	uint32_t nr_segs;		/* 12: segments in them */
	union {				/* 16 */
		struct knemif_req_create create;
		struct knemif_req_append append;
		struct knemif_req_cookie destroy;
		struct knemif_req_cookie mark_stale;
		struct knemif_req_copy copy;
		struct knemif_req_inline_copy inline_copy;
		struct knemif_req_wait_released wait_released;
		uint8_t raw[48];
	} u;
};

/*
 * A response, 24 bytes.  val: the cookie (REGION_CREATE, last
 * REGION_APPEND), the build handle (REGION_CREATE + MORE), bytes copied
 * (COPY, INLINE_COPY, also on a transfer error), cookies written
 * (WAIT_RELEASED), else 0.
 */
struct knemif_response {
	uint64_t id;			/* 0: the request's id */
	uint8_t op;			/* 8: the request's op */
	uint8_t flags;			/* 9: KNEMIF_RSP_F_* */
	uint16_t status;		/* 10: KNEMIF_E_* */
	uint32_t reserved;		/* 12 */
	uint64_t val;			/* 16 */
};

/* ---- error numbers (knemif_response.status) ----------------------------- */

/*
 * Fixed wire values, not the errno of either end.  The frontend's errno
 * mapping is in doc/xen-protocol.md ("Error numbers").
 */
#define KNEMIF_E_OK 0      /* success */
#define KNEMIF_E_INVAL 1   /* malformed request */
#define KNEMIF_E_NOENT 2   /* unknown, destroyed or consumed cookie/handle */
#define KNEMIF_E_PERM 3    /* uid or cross-domain policy refuses access */
#define KNEMIF_E_ACCES 4   /* region lacks the needed protection */
#define KNEMIF_E_NOSPC 5   /* a backend quota or limit is reached */
#define KNEMIF_E_STALE 6   /* the region's memory or its owner is gone */
#define KNEMIF_E_IO 7      /* a grant op on the requester's pages failed */
#define KNEMIF_E_NOTSUPP 8 /* unknown op, or feature not offered */
#define KNEMIF_E_BUSY 9    /* conflicts with a request in progress */
#define KNEMIF_E_NOMEM 10  /* dom0 is out of memory */
#define KNEMIF_E_FAULT 11  /* a copy failed on a region's pages */

/* ---- layout checks ------------------------------------------------------ */

KNEMIF_STATIC_ASSERT(sizeof(struct knemif_seg) == 8, "knemif_seg size");
KNEMIF_STATIC_ASSERT(KNEMIF_PAGE_SIZE / sizeof(struct knemif_seg) ==
		     KNEMIF_SEGS_PER_INDIRECT_PAGE, "segs per page");
KNEMIF_STATIC_ASSERT(sizeof(struct knemif_req_create) == 48, "create");
KNEMIF_STATIC_ASSERT(sizeof(struct knemif_req_append) == 48, "append");
KNEMIF_STATIC_ASSERT(sizeof(struct knemif_req_cookie) == 48, "cookie");
KNEMIF_STATIC_ASSERT(sizeof(struct knemif_req_copy) == 48, "copy");
KNEMIF_STATIC_ASSERT(sizeof(struct knemif_req_inline_copy) == 48, "inline");
KNEMIF_STATIC_ASSERT(sizeof(struct knemif_req_wait_released) == 48, "wait");
KNEMIF_STATIC_ASSERT(sizeof(struct knemif_request) == 64, "request size");
KNEMIF_STATIC_ASSERT(sizeof(struct knemif_response) == 24, "response size");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_request, op) == 8, "op");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_request, nr_indirect) == 10,
		     "nr_indirect");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_request, nr_segs) == 12,
		     "nr_segs");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_request, u) == 16, "payload");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_request, u.create.indirect) ==
		     36, "create.indirect");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_request, u.append.indirect) ==
		     32, "append.indirect");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_request, u.copy.uid) == 60,
		     "copy.uid");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_request,
			      u.inline_copy.indirect) == 48,
		     "inline_copy.indirect");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_response, status) == 10,
		     "status");
KNEMIF_STATIC_ASSERT(offsetof(struct knemif_response, val) == 16, "val");

/* ---- the ring ------------------------------------------------------------ */

/* Slots of a one-page ring: (4096 - 64) / 64 = 63, rounded down to 2^n. */
#define KNEMIF_RING_SLOTS 32

#if defined(__KERNEL__) || defined(KNEMIF_DEFINE_RING_TYPES)
DEFINE_RING_TYPES(knemif, struct knemif_request, struct knemif_response);
KNEMIF_STATIC_ASSERT(__CONST_RING_SIZE(knemif, KNEMIF_PAGE_SIZE) ==
		     KNEMIF_RING_SLOTS, "one-page ring slots");
#endif

#endif /* KNEM_XEN_IO_H */
