/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hostile_front.c - a hostile knem frontend in user space, for
 * tests/xen/scenario-hostile.sh.  It plays the guest's end of the knem
 * device (doc/xen-protocol.md) through /dev/xen/gntalloc (grants),
 * /dev/xen/evtchn (event channel) and /dev/xen/xenbus (xenstore), in a
 * guest where knem-front is not loaded, and sends dom0's backend
 * malformed and malicious requests.  Each check prints one line
 *	xen-check: PASS <name>      or      xen-check: FAIL <name>: <why>
 * and the exit status is 1 when one failed.
 *
 *   malformed [ACOOKIE APRIV ARO]  unknown ops, bad flags, reserved
 *                     bytes, counts, lengths, segments, grant references
 *                     (invalid, revoked, granted to another domain,
 *                     read-only), forged cookies and handles, quotas,
 *                     WAIT_RELEASED misuse; with guest A's cookies: A's
 *                     shared region is read, but neither it nor A's
 *                     private region can be destroyed, marked stale or
 *                     reached otherwise, nor its read-only one written
 *   flood N           N requests, the ring full (32 in flight) at each
 *                     round, each answered exactly once; an event flood;
 *                     garbage in the ring's response indexes
 *   ahead             req_prod 33 ahead, then req_prod going backwards:
 *                     each time the backend disconnects this guest
 *   badconnect        bad versions, ring-refs and event channels: each
 *                     time the backend refuses the connection
 *   churn SEED FILE   a valid region (attach_copy's pattern SEED), cookie
 *                     in FILE; once FILE.go exists and 3 s later, destroys
 *                     it while guest A copies from it, and overwrites its
 *                     pages as soon as the destroy is answered
 *   serve SEED FILE   a valid region (attach_copy's pattern SEED), cookie
 *                     in FILE; then copies within this guest and its
 *                     WAIT_RELEASED stay in flight until the process is
 *                     killed (or FILE.stop exists)
 *   parked-behind     a WAIT_RELEASED parked, then req_prod one behind
 *                     req_cons: the backend disconnects this guest
 *   pile N            up to N single-use regions of 3584 segments, each
 *                     consumed, none collected: NOSPC once the page
 *                     quota is reached; WAIT_RELEASED gives it back
 *   many              65536 regions (NOSPC beyond), MARK_STALE of the
 *                     newest as cheap as of the oldest, quick teardown
 *   stalemap SEED FILE N  with persistent mappings: a region (cookie in
 *                     FILE) read by dom0 processes while N regions are
 *                     mapped, marked stale twice and destroyed, under
 *                     eviction; then the region itself marked stale
 *   xenwatch FILE     two 1 GiB regions (cookies in FILE) for dom0's
 *                     copies; on FILE.go, REGION_DESTROY of the first and
 *                     an orderly close while those copies run
 *   budget            regions without pages until NOSPC: with dom0's
 *                     xenbudget set low, long before the guest's quota
 *   inline2048 COOKIE SEED SEED2  INLINE_COPYs of 2048 scattered small
 *                     segments from and to guest A's region COOKIE
 *                     (pattern SEED, then SEED2 written): exact bytes
 *   relro N           N WAIT_RELEASED rounds; twice the page's grant is
 *                     ended (once re-granted read-only) while parked: IO,
 *                     nothing written, the next rounds work
 *   flap N            N rounds of state flapping and ring-ref /
 *                     event-channel nodes removed or garbage during the
 *                     backend's connect; then a proper connection
 *   quotafull FILE    65536 regions (NOSPC beyond), FILE written; on
 *                     FILE.go still NOSPC, then the teardown
 *   badstate garbage|rm  connected, then its state node overwritten with
 *                     garbage or removed: the backend goes Closed
 *   hello             a proper connection, one request, an orderly close
 * Domain A's id comes from $HOSTILE_PEER (grants made to it, not to dom0).
 * ACOOKIE APRIV ARO: R1, RN and RRO of knem_xcopy export in guest A.
 * Its Xen plumbing is ufront.h's; built by tests/xen/Makefile.am.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ufront.h"
#include "xen_check.h"
#include "xen_pattern.h"
#include "xen_sync.h"

#define PAGE GNT_PAGE

static unsigned int peer_domid;	/* $HOSTILE_PEER: guest A */

/* Sends @r and checks that the status is @want. */
static int expect(const char *name, struct knemif_request *r, int want,
		  uint64_t *val)
{
	int s = call(r, val);

	check(s == want, name, "%s, expected %s", status_name(s),
	      status_name(want));
	return s == want;
}

/*
 * A transfer that must fail without a byte copied: the backend reports
 * the local side's failure as IO or, when the remote side is a guest's
 * region too, as FAULT.
 */
static void expect_failed(const char *name, struct knemif_request *r)
{
	uint64_t val = 1;
	int s = call(r, &val);

	check((s == KNEMIF_E_IO || s == KNEMIF_E_FAULT) && val == 0, name,
	      "%s, %llu bytes", status_name(s), (unsigned long long)val);
}

/* A region of @n whole pages; its cookie, or 0. */
static uint64_t region(const char *name, struct gpage *ind,
		       const struct gpage *pages, unsigned int n, uint32_t prot,
		       uint32_t kflags)
{
	struct knemif_request r;
	uint64_t cookie = 0;

	segs_one_per_page(ind, pages, n);
	r = create_req(ind, n, prot, kflags);
	if (!expect(name, &r, KNEMIF_E_OK, &cookie))
		return 0;
	return cookie;
}

static void destroy(const char *name, uint64_t cookie)
{
	struct knemif_request r = cookie_req(KNEMIF_OP_REGION_DESTROY, cookie);

	expect(name, &r, KNEMIF_E_OK, NULL);
}

static uint64_t rand64(void)
{
	uint64_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		die_in(UFRONT_SETUP, "urandom");
	close(fd);
	return v;
}

/* ---- malformed --------------------------------------------------------- */

#define NDATA 8

static void malformed_ops(void)
{
	struct knemif_request r;
	int op;

	r = req(0);
	expect("op-zero-notsupp", &r, KNEMIF_E_NOTSUPP, NULL);
	for (op = 8; op <= 255; op += 247) {
		char name[32];

		r = req(op);
		snprintf(name, sizeof(name), "op-%d-notsupp", op);
		expect(name, &r, KNEMIF_E_NOTSUPP, NULL);
	}
	r = req(KNEMIF_OP_REGION_CREATE);
	r.flags = 0x80;
	expect("create-unknown-flag-inval", &r, KNEMIF_E_INVAL, NULL);
	r = req(KNEMIF_OP_REGION_CREATE);
	r.flags = KNEMIF_F_MORE | KNEMIF_F_UNSHARED;
	r.u.create.total_len = 1;
	expect("create-more-and-unshared-inval", &r, KNEMIF_E_INVAL, NULL);
	r = copy_req(1, 0, 1, 0, 0);
	r.flags = KNEMIF_F_WRITE;
	expect("copy-with-inline-flag-inval", &r, KNEMIF_E_INVAL, NULL);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, 1);
	r.u.destroy.reserved[17] = 1;
	expect("destroy-reserved-byte-inval", &r, KNEMIF_E_INVAL, NULL);
	r = req(KNEMIF_OP_WAIT_RELEASED);
	r.u.wait_released.reserved[43] = 0xff;
	expect("wait-released-reserved-byte-inval", &r, KNEMIF_E_INVAL, NULL);
	r = req(KNEMIF_OP_REGION_CREATE);
	r.flags = KNEMIF_F_UNSHARED;
	r.u.create.kflags = 0x2;	/* ASYNCDMACOMPLETE: a frontend flag */
	expect("create-frontend-kflag-inval", &r, KNEMIF_E_INVAL, NULL);
	r = req(KNEMIF_OP_REGION_CREATE);
	r.flags = KNEMIF_F_UNSHARED;
	r.u.create.protection = 0x4;
	expect("create-unknown-protection-inval", &r, KNEMIF_E_INVAL, NULL);
	r = copy_req(1, 0, 1, 0, 0);
	r.u.copy.kflags = KNEMIF_KFLAG_DMA;
	if (be_feature_dma())
		expect("copy-dma-offered-accepted", &r, KNEMIF_E_NOENT, NULL);
	else
		expect("copy-dma-not-offered-notsupp", &r, KNEMIF_E_NOTSUPP,
		       NULL);
	r = copy_req(1, 0, 1, 0, 0);
	r.u.copy.kflags = 0x100;
	expect("copy-unknown-kflag-inval", &r, KNEMIF_E_INVAL, NULL);
}

static void malformed_counts(struct gpage *ind, struct gpage *data)
{
	struct knemif_request r;
	struct knemif_seg *s = (struct knemif_seg *)ind->p;

	segs_one_per_page(ind, data, 1);
	r = create_req(ind, 1, KNEMIF_PROT_READ, 0);
	r.nr_indirect = 9;
	expect("nr-indirect-9-inval", &r, KNEMIF_E_INVAL, NULL);
	r = create_req(ind, 1, KNEMIF_PROT_READ, 0);
	r.nr_indirect = 0xffff;
	expect("nr-indirect-65535-inval", &r, KNEMIF_E_INVAL, NULL);
	r = create_req(ind, 1, KNEMIF_PROT_READ, 0);
	r.nr_segs = 0xffffffffU;
	r.nr_indirect = 7;
	r.u.create.total_len = ~0ULL;
	expect("nr-segs-4g-inval", &r, KNEMIF_E_INVAL, NULL);
	r = create_req(ind, 1, KNEMIF_PROT_READ, 0);
	r.nr_segs = 513;
	r.u.create.total_len = 513ULL * PAGE;
	expect("nr-segs-beyond-indirect-page-inval", &r, KNEMIF_E_INVAL, NULL);
	r = create_req(ind, 1, KNEMIF_PROT_READ, 0);
	r.nr_indirect = 2;
	r.u.create.indirect[1] = ind->gref;
	expect("spare-indirect-page-inval", &r, KNEMIF_E_INVAL, NULL);
	r = create_req(ind, 1, KNEMIF_PROT_READ, 0);
	r.u.create.indirect[6] = 12345;
	expect("unused-indirect-slot-inval", &r, KNEMIF_E_INVAL, NULL);
	r = copy_req(1, 0, 1, 0, 0);
	r.nr_segs = 1;
	r.nr_indirect = 1;
	expect("copy-with-segments-inval", &r, KNEMIF_E_INVAL, NULL);
	r = req(KNEMIF_OP_INLINE_COPY);
	r.nr_segs = 5 * 512;
	r.nr_indirect = 5;
	r.u.inline_copy.remote_cookie = 1;
	expect("inline-5-indirect-pages-inval", &r, KNEMIF_E_INVAL, NULL);

	/* lengths that disagree with the segments */
	r = create_req(ind, 1, KNEMIF_PROT_READ, 0);
	r.u.create.total_len = 0;
	expect("create-len-0-for-1-seg-inval", &r, KNEMIF_E_INVAL, NULL);
	r.u.create.total_len = PAGE + 1;
	expect("create-len-above-segs-inval", &r, KNEMIF_E_INVAL, NULL);
	r.u.create.total_len = ~0ULL;
	expect("create-len-max-inval", &r, KNEMIF_E_INVAL, NULL);
	r.u.create.total_len = 100;	/* the segment holds 4096 */
	expect("create-len-differs-from-segs-inval", &r, KNEMIF_E_INVAL, NULL);
	s[0].len = 0;
	r.u.create.total_len = 1;
	expect("segment-len-0-inval", &r, KNEMIF_E_INVAL, NULL);
	s[0].offset = 4000;
	s[0].len = 100;
	r.u.create.total_len = 100;
	expect("segment-beyond-page-inval", &r, KNEMIF_E_INVAL, NULL);
	s[0].offset = 0xffff;
	s[0].len = 0xffff;
	r.u.create.total_len = PAGE;
	expect("segment-offset-len-65535-inval", &r, KNEMIF_E_INVAL, NULL);
	r = req(KNEMIF_OP_REGION_CREATE);
	r.flags = KNEMIF_F_MORE;
	expect("build-len-0-inval", &r, KNEMIF_E_INVAL, NULL);
	r.u.create.total_len = 262144ULL * PAGE + 1;
	expect("build-len-above-max-region-inval", &r, KNEMIF_E_INVAL, NULL);
	r.u.create.total_len = ~0ULL;
	expect("build-len-max-inval", &r, KNEMIF_E_INVAL, NULL);
}

static void malformed_builds(struct gpage *ind, struct gpage *data)
{
	struct knemif_request r;
	uint64_t handle = 0, cookie = 0, h;
	char name[48];
	int i;

	r = append_req(ind, 0, PAGE, 0);
	expect("append-handle-0-noent", &r, KNEMIF_E_NOENT, NULL);
	r.u.append.handle = 0x5eed;
	expect("append-forged-handle-noent", &r, KNEMIF_E_NOENT, NULL);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, 0x5eed);
	r.flags = KNEMIF_F_HANDLE;
	expect("destroy-forged-handle-noent", &r, KNEMIF_E_NOENT, NULL);

	/* a build of 2 pages: overflowing and overlong chunks end it */
	segs_one_per_page(ind, data, 1);
	r = req(KNEMIF_OP_REGION_CREATE);
	r.flags = KNEMIF_F_MORE;
	r.u.create.total_len = 2 * PAGE;
	r.u.create.protection = KNEMIF_PROT_READ;
	if (expect("build-start", &r, KNEMIF_E_OK, &handle)) {
		struct knemif_request a = append_req(ind, handle, ~0ULL,
						     KNEMIF_F_MORE);

		expect("append-chunk-len-max-inval", &a, KNEMIF_E_INVAL, NULL);
		/* any error ends the build, a malformed request's too */
		a.u.append.chunk_len = PAGE;
		expect("append-after-malformed-chunk-noent", &a, KNEMIF_E_NOENT,
		       NULL);
	}
	if (expect("build-start-again", &r, KNEMIF_E_OK, &handle)) {
		/* a chunk that ends the region too early ends the build */
		struct knemif_request a = append_req(ind, handle, PAGE, 0);

		expect("append-short-last-chunk-inval", &a, KNEMIF_E_INVAL,
		       NULL);
		a.flags = KNEMIF_F_MORE;
		expect("append-after-error-noent", &a, KNEMIF_E_NOENT, NULL);
	}
	r.u.create.total_len = PAGE;
	if (expect("build-start-1-page", &r, KNEMIF_E_OK, &handle)) {
		/* leaves no byte for the next */
		struct knemif_request a = append_req(ind, handle, PAGE,
						     KNEMIF_F_MORE);

		expect("append-more-without-bytes-left-inval", &a,
		       KNEMIF_E_INVAL, NULL);
	}
	r.u.create.total_len = 2 * PAGE;
	if (expect("build-start-2-pages", &r, KNEMIF_E_OK, &handle)) {
		struct knemif_request a = append_req(ind, handle, PAGE,
						     KNEMIF_F_MORE);

		expect("append-chunk-1", &a, KNEMIF_E_OK, NULL);
		a.flags = 0;
		if (expect("append-chunk-2-cookie", &a, KNEMIF_E_OK, &cookie))
			destroy("built-region-destroy", cookie);
	}

	/* 8 builds at once, the 9th NOSPC; abandoned with F_HANDLE */
	uint64_t handles[8];
	int ok = 1;

	r.u.create.total_len = PAGE;
	for (i = 0; i < 8; i++)
		ok &= call(&r, &handles[i]) == KNEMIF_E_OK;
	check(ok, "eight-builds-at-once", "a build start failed");
	expect("ninth-build-nospc", &r, KNEMIF_E_NOSPC, NULL);
	for (i = 0; i < 8; i++) {
		struct knemif_request d =
			cookie_req(KNEMIF_OP_REGION_DESTROY, handles[i]);

		d.flags = KNEMIF_F_HANDLE;
		snprintf(name, sizeof(name), "abandon-build-%d", i);
		if (call(&d, NULL) != KNEMIF_E_OK)
			check(0, name, "not OK");
	}
	h = 0;
	check(call(&r, &h) == KNEMIF_E_OK && h, "build-slot-free-again",
	      "no build start after abandoning");
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, h);
	r.flags = KNEMIF_F_HANDLE;
	call(&r, NULL);
}

/* Grant references dom0 must refuse to use, and read-only pages. */
static void malformed_grants(struct gpage *ind, struct gpage *data)
{
	struct knemif_request r;
	struct gpage gone, to_peer[2], ro;
	struct knemif_seg *s = (struct knemif_seg *)ind->p;
	uint64_t val = 0, src, bad;
	unsigned int i;

	grant(&gone, 1, 0, 1);
	end_grant(&gone);
	grant(to_peer, 2, peer_domid, 1);
	grant(&ro, 1, 0, 0);
	memset(to_peer[0].p, 0x5a, PAGE);
	memset(ro.p, 0xa5, PAGE);

	segs_one_per_page(ind, data, 1);
	r = create_req(ind, 1, KNEMIF_PROT_READ, 0);
	r.u.create.indirect[0] = 0xffffffffU;
	expect("indirect-gref-out-of-range-io", &r, KNEMIF_E_IO, NULL);
	r.u.create.indirect[0] = gone.gref;
	expect("indirect-gref-revoked-io", &r, KNEMIF_E_IO, NULL);
	memcpy(to_peer[1].p, ind->p, PAGE);
	r.u.create.indirect[0] = to_peer[1].gref;
	expect("indirect-granted-to-other-domain-io", &r, KNEMIF_E_IO, NULL);

	/* the source: one page of our own */
	memset(data[0].p, 0x11, PAGE);
	src = region("grants-source-region", ind, data, 1,
		     KNEMIF_PROT_READ | KNEMIF_PROT_WRITE, 0);

	/* segments naming pages dom0 may not write: created, copies fail */
	struct {
		const char *name;
		uint32_t gref;
	} bads[] = {
		{ "seg-gref-out-of-range", 0xfffffff0U },
		{ "seg-gref-revoked", gone.gref },
		{ "seg-granted-to-other-domain", to_peer[0].gref },
		{ "seg-granted-read-only", ro.gref },
	};
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char name[80];

		s[0].gref = bads[i].gref;
		s[0].offset = 0;
		s[0].len = PAGE;
		r = create_req(ind, 1, KNEMIF_PROT_READ | KNEMIF_PROT_WRITE, 0);
		snprintf(name, sizeof(name), "%s-region-create", bads[i].name);
		bad = 0;
		if (!expect(name, &r, KNEMIF_E_OK, &bad))
			continue;
		r = copy_req(src, 0, bad, 0, KNEMIF_LENGTH_UNBOUNDED);
		snprintf(name, sizeof(name), "%s-write-fault", bads[i].name);
		val = 1;
		if (expect(name, &r, KNEMIF_E_FAULT, &val))
			check(val == 0, name, "%llu bytes reported copied",
			      (unsigned long long)val);
		r = copy_req(bad, 0, src, 0, KNEMIF_LENGTH_UNBOUNDED);
		snprintf(name, sizeof(name), "%s-read", bads[i].name);
		/* dom0 may read a read-only grant; nothing else */
		expect(name, &r, bads[i].gref == ro.gref ? KNEMIF_E_OK :
							   KNEMIF_E_FAULT,
		       NULL);
		snprintf(name, sizeof(name), "%s-region-destroy", bads[i].name);
		destroy(name, bad);
	}
	for (i = 0; i < PAGE && to_peer[0].p[i] == 0x5a && ro.p[i] == 0xa5; i++)
		;
	check(i == PAGE, "pages-not-granted-writable-unchanged",
	      "byte %u changed", i);

	/* the local side of an inline copy */
	s[0].gref = 0xfffffff0U;
	s[0].offset = 0;
	s[0].len = PAGE;
	r = req(KNEMIF_OP_INLINE_COPY);
	r.nr_segs = 1;
	r.nr_indirect = 1;
	r.u.inline_copy.indirect[0] = ind->gref;
	r.u.inline_copy.remote_cookie = src;
	r.u.inline_copy.length = KNEMIF_LENGTH_UNBOUNDED;
	expect_failed("inline-local-gref-out-of-range-fails", &r);
	s[0].gref = ro.gref;
	expect_failed("inline-local-read-only-fails", &r);
	for (i = 0; i < PAGE && ro.p[i] == 0xa5; i++)
		;
	check(i == PAGE, "inline-read-only-page-unchanged", "byte %u changed",
	      i);
	if (src)
		destroy("grants-source-destroy", src);
}

static void malformed_cookies(void)
{
	struct knemif_request r;
	uint64_t forged = rand64() & ~KNEMIF_COOKIE_INVALID_BITS;

	forged |= 1;
	r = copy_req(0, 0, forged, 0, 1);
	expect("copy-cookie-0-noent", &r, KNEMIF_E_NOENT, NULL);
	r = copy_req(forged | KNEMIF_COOKIE_INVALID_BITS, 0, forged, 0, 1);
	expect("copy-cookie-bit63-noent", &r, KNEMIF_E_NOENT, NULL);
	r = copy_req(forged, 0, forged, 0, 1);
	expect("copy-forged-cookie-noent", &r, KNEMIF_E_NOENT, NULL);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, forged);
	expect("destroy-forged-cookie-noent", &r, KNEMIF_E_NOENT, NULL);
	r = cookie_req(KNEMIF_OP_REGION_MARK_STALE, forged);
	expect("mark-stale-forged-cookie-noent", &r, KNEMIF_E_NOENT, NULL);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, 0);
	expect("destroy-cookie-0-noent", &r, KNEMIF_E_NOENT, NULL);
}

/*
 * Guest A's regions (knem_xcopy export): R1 shared, RN private, RRO
 * read-only.  Readable when shared in the group, never destroyable.
 */
static void malformed_peer(struct gpage *ind, struct gpage *data,
			   uint64_t r1, uint64_t rn, uint64_t rro)
{
	struct knemif_request r;
	uint64_t dst, val = 0;
	size_t i;

	memset(data[0].p, 0, PAGE);
	dst = region("peer-dst-region", ind, data, 1,
		     KNEMIF_PROT_READ | KNEMIF_PROT_WRITE, 0);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, r1);
	expect("destroy-other-guests-cookie-noent", &r, KNEMIF_E_NOENT, NULL);
	r = cookie_req(KNEMIF_OP_REGION_MARK_STALE, r1);
	expect("mark-stale-other-guests-cookie-noent", &r, KNEMIF_E_NOENT,
	       NULL);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, rn);
	expect("destroy-other-guests-private-cookie-noent", &r, KNEMIF_E_NOENT,
	       NULL);
	r = copy_req(rn, 0, dst, 0, KNEMIF_LENGTH_UNBOUNDED);
	expect("copy-other-guests-private-region-perm", &r, KNEMIF_E_PERM,
	       NULL);
	/* the uid is meaningless across domains: uid 0 gets nothing more */
	r.u.copy.uid = 0;
	expect("copy-other-guests-private-as-uid-0-perm", &r, KNEMIF_E_PERM,
	       NULL);
	r = copy_req(dst, 0, rro, 0, KNEMIF_LENGTH_UNBOUNDED);
	expect("copy-into-other-guests-read-only-acces", &r, KNEMIF_E_ACCES,
	       NULL);
	/* after all that, A's region is still there with its pattern 1 */
	r = copy_req(r1, 0, dst, 0, KNEMIF_LENGTH_UNBOUNDED);
	if (expect("copy-other-guests-shared-region", &r, KNEMIF_E_OK, &val)) {
		for (i = 0; i < val && data[0].p[i] == pat(1, i); i++)
			;
		check(val == PAGE && i == val,
		      "copy-other-guests-shared-bytes",
		      "%llu bytes, mismatch at %zu", (unsigned long long)val,
		      i);
	}
	if (dst)
		destroy("peer-dst-destroy", dst);
}

static void valid_paths(struct gpage *ind, struct gpage *data,
			struct gpage *relpage, struct gpage *ro)
{
	struct knemif_request r, w;
	uint64_t a, b, su, un, val = 0;
	size_t i;

	for (i = 0; i < 2 * PAGE; i++)
		data[i / PAGE].p[i % PAGE] = (unsigned char)(i * 13 + 1);
	memset(data[2].p, 0, PAGE);
	memset(data[3].p, 0, PAGE);
	a = region("valid-create", ind, data, 2, KNEMIF_PROT_READ, 0);
	b = region("valid-create-dst", ind, data + 2, 2,
		   KNEMIF_PROT_READ | KNEMIF_PROT_WRITE, 0);
	r = copy_req(a, 100, b, 7, 5000);
	if (expect("valid-copy", &r, KNEMIF_E_OK, &val)) {
		for (i = 0; i < 5000 &&
		     data[2 + (7 + i) / PAGE].p[(7 + i) % PAGE] ==
			     (unsigned char)((100 + i) * 13 + 1);
		     i++)
			;
		check(val == 5000 && i == 5000, "valid-copy-bytes",
		      "%llu bytes, mismatch at %zu", (unsigned long long)val,
		      i);
	}
	r = copy_req(a, ~0ULL, b, 0, KNEMIF_LENGTH_UNBOUNDED);
	val = 1;
	expect("copy-offset-max-copies-nothing", &r, KNEMIF_E_OK, &val);
	check(val == 0, "copy-offset-max-zero-bytes", "%llu bytes",
	      (unsigned long long)val);
	r = copy_req(a, 10, b, ~0ULL - 5, ~0ULL - 3);
	val = 1;
	expect("copy-offsets-overflowing-copies-nothing", &r, KNEMIF_E_OK,
	       &val);
	r = copy_req(b, 0, a, 0, 1);
	expect("copy-into-read-only-region-acces", &r, KNEMIF_E_ACCES, NULL);

	/* unshared: no pages, every copy refused */
	r = req(KNEMIF_OP_REGION_CREATE);
	r.flags = KNEMIF_F_UNSHARED;
	r.u.create.total_len = ~0ULL;
	r.u.create.protection = KNEMIF_PROT_MASK;
	un = 0;
	expect("unshared-create", &r, KNEMIF_E_OK, &un);
	r = copy_req(un, 0, b, 0, KNEMIF_LENGTH_UNBOUNDED);
	expect("unshared-copy-perm", &r, KNEMIF_E_PERM, NULL);
	destroy("unshared-destroy", un);

	/* WAIT_RELEASED: one parked, a second BUSY, released cookies */
	w = wait_released_req(relpage->gref);
	w.id = 0x7e1ea5e;
	push(&w);
	publish();
	r = wait_released_req(relpage->gref);
	expect("second-wait-released-busy", &r, KNEMIF_E_BUSY, NULL);
	memset(relpage->p, 0, PAGE);
	su = region("single-use-create", ind, data, 1, KNEMIF_PROT_READ,
		    KNEMIF_KFLAG_SINGLEUSE);
	r = copy_req(su, 0, b, 0, 10);
	expect("single-use-consumed", &r, KNEMIF_E_OK, NULL);
	/* the release is answered once the copy's response is out */
	{
		struct knemif_response rsp;
		int got = next_rsp(&rsp, 20);

		check(got && rsp.id == w.id && rsp.status == KNEMIF_E_OK &&
			      rsp.val == 1 &&
			      *(uint64_t *)relpage->p == su,
		      "wait-released-reports-consumed",
		      "got %d id %llx status %s val %llu", got,
		      (unsigned long long)rsp.id, status_name(rsp.status),
		      (unsigned long long)rsp.val);
	}
	r = copy_req(su, 0, b, 0, 10);
	expect("single-use-second-use-noent", &r, KNEMIF_E_NOENT, NULL);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, su);
	expect("destroy-reported-single-use-noent", &r, KNEMIF_E_NOENT, NULL);

	/* a WAIT_RELEASED page dom0 cannot write: IO, nothing written */
	w.u.wait_released.page_gref = ro->gref;
	w.id = 0x7e1ea5f;
	push(&w);
	publish();
	memset(ro->p, 0xa5, PAGE);
	su = region("single-use-create-2", ind, data, 1, KNEMIF_PROT_READ,
		    KNEMIF_KFLAG_SINGLEUSE);
	r = copy_req(su, 0, b, 0, 10);
	expect("single-use-consumed-2", &r, KNEMIF_E_OK, NULL);
	{
		struct knemif_response rsp;
		int got = next_rsp(&rsp, 20);

		check(got && rsp.id == w.id && rsp.status == KNEMIF_E_IO &&
			      ro->p[0] == 0xa5,
		      "wait-released-read-only-page-io",
		      "got %d id %llx status %s", got,
		      (unsigned long long)rsp.id, status_name(rsp.status));
	}

	/* mark stale: later copies STALE; the cookie still destroyable */
	r = cookie_req(KNEMIF_OP_REGION_MARK_STALE, a);
	expect("mark-stale", &r, KNEMIF_E_OK, NULL);
	r = copy_req(a, 0, b, 0, 1);
	expect("copy-from-stale-region-stale", &r, KNEMIF_E_STALE, NULL);
	destroy("stale-region-destroy", a);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, a);
	expect("double-destroy-noent", &r, KNEMIF_E_NOENT, NULL);
	destroy("valid-destroy-dst", b);
}

static int cmd_malformed(int argc, char **argv)
{
	struct gpage ind, data[NDATA], rel, ro;

	connect_be();
	check(1, "hostile-connect", "not connected");
	grant(&ind, 1, 0, 0);
	grant(data, NDATA, 0, 1);
	grant(&rel, 1, 0, 1);
	grant(&ro, 1, 0, 0);
	malformed_ops();
	malformed_counts(&ind, data);
	malformed_builds(&ind, data);
	malformed_grants(&ind, data);
	malformed_cookies();
	if (argc >= 3)
		malformed_peer(&ind, data, strtoull(argv[0], NULL, 0),
			       strtoull(argv[1], NULL, 0),
			       strtoull(argv[2], NULL, 0));
	valid_paths(&ind, data, &rel, &ro);
	check(close_be(), "hostile-orderly-close", "backend not Closed");
	return failures != 0;
}

/* ---- flood ------------------------------------------------------------- */

static int cmd_flood(unsigned long n)
{
	struct gpage ind, data[2];
	struct knemif_response rsp;
	struct knemif_request r;
	unsigned long sent = 0, answered = 0, wrong = 0, i;
	uint64_t a, b, forged = (rand64() & ~KNEMIF_COOKIE_INVALID_BITS) | 1;
	static unsigned char seen[SLOTS];
	double t0;

	connect_be();
	grant(&ind, 1, 0, 0);
	grant(data, 2, 0, 1);
	a = region("flood-src-region", &ind, data, 1, KNEMIF_PROT_READ, 0);
	b = region("flood-dst-region", &ind, data + 1, 1,
		   KNEMIF_PROT_READ | KNEMIF_PROT_WRITE, 0);
	t0 = now_s();
	while (sent < n) {
		uint64_t base = next_id;

		/* 32 in flight: the whole ring, one notification */
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < SLOTS; i++) {
			switch (i % 4) {
			case 0:
				r = req(100 + i);
				break;
			case 1:
				r = copy_req(forged, 0, b, 0, 1);
				break;
			case 2:
				r = copy_req(a, 0, b, i, 64);
				break;
			default:
				r = req(KNEMIF_OP_REGION_CREATE);
				r.nr_indirect = 3;
				break;
			}
			r.id = next_id++;
			push(&r);
		}
		publish();
		sent += SLOTS;
		for (i = 0; i < SLOTS; i++) {
			uint64_t k;
			int want;

			if (!next_rsp(&rsp, 30))
				break;
			answered++;
			k = rsp.id - base;
			if (k >= SLOTS || seen[k]++) {
				wrong++;
				continue;
			}
			want = k % 4 == 0 ? KNEMIF_E_NOTSUPP :
			       k % 4 == 1 ? KNEMIF_E_NOENT :
			       k % 4 == 2 ? KNEMIF_E_OK : KNEMIF_E_INVAL;
			if (rsp.status != want)
				wrong++;
		}
		if (i < SLOTS)
			break;
	}
	check(answered == sent && !wrong, "flood-every-request-answered-once",
	      "%lu sent, %lu answered, %lu wrong", sent, answered, wrong);
	printf("hostile: %lu requests in %.1f s\n", sent, now_s() - t0);

	/* an event storm without requests, then a request still answered */
	for (i = 0; i < 20000; i++)
		notify();
	r = copy_req(a, 0, b, 0, 64);
	expect("request-after-event-storm", &r, KNEMIF_E_OK, NULL);

	/* garbage in what only the backend writes, and in req_event */
	sr->rsp_prod = 0xdeadbeef;
	sr->rsp_event = 0x7fffffff;
	sr->req_event = 0x12345678;
	r = copy_req(a, 0, b, 0, 64);
	r.id = next_id++;
	push(&r);
	publish();
	{
		double end = now_s() + 20;
		int ok = 0;

		while (now_s() < end) {
			if (sr->rsp_prod == rsp_cons + 1 &&
			    sr->ring[rsp_cons % SLOTS].rsp.id == r.id) {
				ok = sr->ring[rsp_cons % SLOTS].rsp.status ==
				     KNEMIF_E_OK;
				rsp_cons++;
				break;
			}
			nap_ms(20);
		}
		check(ok, "garbage-ring-indexes-ignored",
		      "no answer after garbage in rsp_prod/rsp_event/req_event");
	}
	destroy("flood-src-destroy", a);
	destroy("flood-dst-destroy", b);
	check(close_be(), "flood-orderly-close", "backend not Closed");
	return failures != 0;
}

/* ---- ring indexes running ahead or back ------------------------------- */

static void expect_disconnect(const char *name)
{
	char p[256], err[256] = "";
	int closing = wait_be(XB_CLOSING, 20);

	snprintf(p, sizeof(p), "/local/domain/0/error%s/error",
		 be_path + strlen("/local/domain/0"));
	xs_read(p, err, sizeof(err));
	check(closing, name, "backend state %d", be_state());
	printf("hostile: backend error: %s\n", err);
	check(close_be(), "after-disconnect-closed", "backend not Closed");
}

static int cmd_ahead(void)
{
	struct knemif_request r;

	connect_be();
	/* 33 requests announced, none written */
	sr->req_prod = req_prod_pvt + SLOTS + 1;
	notify();
	expect_disconnect("req-prod-33-ahead-disconnects");

	connect_be();
	r = req(99);
	expect("reconnected-after-abuse", &r, KNEMIF_E_NOTSUPP, NULL);
	sr->req_prod = req_prod_pvt - 5;
	notify();
	expect_disconnect("req-prod-backwards-disconnects");

	/* 0xffffffff ahead: the index wraps */
	connect_be();
	sr->req_prod = req_prod_pvt - 1;
	notify();
	expect_disconnect("req-prod-wrapping-disconnects");
	return failures != 0;
}

/* ---- bad connections --------------------------------------------------- */

static void bad_connect(const char *name, const char *version,
			const char *ring_ref, const char *evtchn)
{
	if (!reset_link()) {
		check(0, name, "the backend does not come back to InitWait");
		return;
	}
	xs_rm(fe_path, KNEMIF_XS_VERSION);
	xs_rm(fe_path, KNEMIF_XS_RING_REF);
	xs_rm(fe_path, KNEMIF_XS_EVENT_CHANNEL);
	if (version)
		xs_write(fe_path, KNEMIF_XS_VERSION, version);
	if (ring_ref)
		xs_write(fe_path, KNEMIF_XS_RING_REF, ring_ref);
	if (evtchn)
		xs_write(fe_path, KNEMIF_XS_EVENT_CHANNEL, evtchn);
	{
		char st[256], fst[32] = "?", ver[32] = "?";
		int ok = switch_and_wait(XB_INITIALISED, XB_CLOSING, XB_CLOSED,
					 20);

		snprintf(st, sizeof(st), "%s/state", fe_path);
		xs_read(st, fst, sizeof(fst));
		snprintf(st, sizeof(st), "%s/version", fe_path);
		xs_read(st, ver, sizeof(ver));
		check(ok, name, "backend state %d, frontend state %s, version '%s'",
		      be_state(), fst, ver);
	}
	switch_and_wait(XB_CLOSING, XB_CLOSED, XB_CLOSED, 20);
	fe_state(XB_CLOSED);
}

static int cmd_badconnect(void)
{
	struct gpage good, ro, peer;
	char g[16], gx[16], r[16], p[16], e[16], pe[16];

	grant(&good, 1, 0, 1);
	grant(&ro, 1, 0, 0);
	grant(&peer, 1, peer_domid, 1);
	snprintf(g, sizeof(g), "%u", good.gref);
	snprintf(r, sizeof(r), "%u", ro.gref);
	snprintf(p, sizeof(p), "%u", peer.gref);
	snprintf(e, sizeof(e), "%u", bind_port(0));
	snprintf(pe, sizeof(pe), "%u", bind_port(peer_domid));
	bad_connect("connect-version-2-refused", "2", g, e);
	bad_connect("connect-version-garbage-refused", "1x", g, e);
	bad_connect("connect-no-nodes-refused", NULL, NULL, NULL);
	bad_connect("connect-ring-ref-out-of-range-refused", "1", "4294967295",
		    e);
	snprintf(gx, sizeof(gx), "%ux", good.gref);
	bad_connect("connect-ring-ref-garbage-refused", "1", gx, e);
	bad_connect("connect-ring-ref-read-only-refused", "1", r, e);
	bad_connect("connect-ring-ref-granted-to-other-refused", "1", p, e);
	bad_connect("connect-evtchn-bogus-refused", "1", g, "100000");
	bad_connect("connect-evtchn-for-other-domain-refused", "1", g, pe);
	/* and a good connection afterwards */
	connect_be();
	{
		struct knemif_request q = req(42);

		expect("connect-after-refusals", &q, KNEMIF_E_NOTSUPP, NULL);
	}
	check(close_be(), "badconnect-orderly-close", "backend not Closed");
	return failures != 0;
}

/* ---- serve: a valid region, then copies in flight until killed -------- */

#define SERVE_PAGES 64

static int cmd_serve(unsigned int seed, const char *file)
{
	struct gpage ind, data[SERVE_PAGES], rel;
	struct knemif_request r;
	struct knemif_response rsp;
	char stop[256];
	uint64_t cookie;
	size_t i;

	connect_be();
	grant(&ind, 1, 0, 0);
	grant(data, SERVE_PAGES, 0, 1);
	grant(&rel, 1, 0, 1);
	for (i = 0; i < (size_t)SERVE_PAGES * PAGE; i++)
		data[i / PAGE].p[i % PAGE] = pat_attach(seed, i);
	segs_one_per_page(&ind, data, SERVE_PAGES);
	r = create_req(&ind, SERVE_PAGES, KNEMIF_PROT_READ | KNEMIF_PROT_WRITE,
		       KNEMIF_KFLAG_ANY_USER_ACCESS);
	cookie = 0;
	if (call(&r, &cookie) != KNEMIF_E_OK)
		die_in(UFRONT_SETUP, "serve: create");
	if (write_cookie(file, cookie))
		die_in(UFRONT_SETUP, file);
	snprintf(stop, sizeof(stop), "%s.stop", file);

	/* a parked WAIT_RELEASED and 31 copies within the region, forever */
	r = wait_released_req(rel.gref);
	r.id = next_id++;
	push(&r);
	for (i = 0; i < SLOTS - 1; i++) {
		r = copy_req(cookie, 0, cookie, 0, KNEMIF_LENGTH_UNBOUNDED);
		r.id = next_id++;
		push(&r);
	}
	publish();
	while (access(stop, F_OK)) {
		if (!next_rsp(&rsp, 1))
			continue;
		r = copy_req(cookie, 0, cookie, 0, KNEMIF_LENGTH_UNBOUNDED);
		r.id = next_id++;
		push(&r);
		publish();
	}
	return 0;
}

/* ---- churn: a region destroyed while another guest copies from it ---- */

#define CHURN_PAGES 4	/* attach_copy reads 3 pages and 100 bytes */

static int cmd_churn(unsigned int seed, const char *file)
{
	struct gpage ind, data[CHURN_PAGES];
	struct knemif_request r;
	char go[256];
	uint64_t cookie = 0;
	size_t i;
	int n;

	connect_be();
	grant(&ind, 1, 0, 0);
	grant(data, CHURN_PAGES, 0, 1);
	for (i = 0; i < (size_t)CHURN_PAGES * PAGE; i++)
		data[i / PAGE].p[i % PAGE] = pat_attach(seed, i);
	segs_one_per_page(&ind, data, CHURN_PAGES);
	r = create_req(&ind, CHURN_PAGES, KNEMIF_PROT_READ,
		       KNEMIF_KFLAG_ANY_USER_ACCESS);
	if (call(&r, &cookie) != KNEMIF_E_OK)
		die_in(UFRONT_SETUP, "churn: create");
	if (write_cookie(file, cookie))
		die_in(UFRONT_SETUP, file);
	snprintf(go, sizeof(go), "%s.go", file);
	wait_file(go, 120);
	nap_ms(3000);	/* the peer's copies run */
	/*
	 * Answered once no copy uses the grants: scribbling right after
	 * must not reach a copy of the peer (it would see a mismatch).
	 */
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, cookie);
	n = call(&r, NULL);
	for (i = 0; i < CHURN_PAGES; i++)
		memset(data[i].p, 0xee, PAGE);
	check(n == KNEMIF_E_OK, "destroy-under-peer-copies", "%s",
	      status_name(n));
	check(close_be(), "churn-orderly-close", "backend not Closed");
	return failures != 0;
}

/* ---- issue 14: hardening ---------------------------------------------- */

/*
 * Sends @n (at most a ring) requests at once and collects their answers:
 * status[i] (-1: none within @secs) and val[i].  Returns how many came.
 */
static unsigned int batch(struct knemif_request *rs, unsigned int n,
			  int *status, uint64_t *val, double secs)
{
	struct knemif_response rsp;
	uint64_t base = next_id;
	unsigned int i, got = 0;

	for (i = 0; i < n; i++) {
		rs[i].id = next_id++;
		push(&rs[i]);
		status[i] = -1;
	}
	publish();
	while (got < n && next_rsp(&rsp, secs)) {
		uint64_t k = rsp.id - base;

		if (k >= n || status[k] != -1)
			continue;
		status[k] = rsp.status;
		if (val)
			val[k] = rsp.val;
		got++;
	}
	return got;
}

/*
 * Item 3: with a WAIT_RELEASED parked (rsp_prod_pvt one behind req_cons),
 * req_prod one behind req_cons is 2^32 - 1 requests ahead: the backend
 * must disconnect rather than consume the stale slots.
 */
static int cmd_parked_behind(void)
{
	struct knemif_request r;
	struct gpage rel;

	connect_be();
	grant(&rel, 1, 0, 1);
	r = req(99);
	expect("parked-behind-connected", &r, KNEMIF_E_NOTSUPP, NULL);
	r = wait_released_req(rel.gref);
	r.id = next_id++;
	push(&r);
	publish();
	nap_ms(1000);	/* parked */
	sr->req_prod = req_prod_pvt - 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	notify();
	expect_disconnect("req-prod-behind-with-wait-parked-disconnects");
	return failures != 0;
}

#define PILE_SEGS (KNEMIF_CREATE_MAX_INDIRECT * KNEMIF_SEGS_PER_INDIRECT_PAGE)

/*
 * Item 1: single-use regions of PILE_SEGS segments (all naming one
 * grant), each consumed by a COPY whose destination does not exist, and
 * no WAIT_RELEASED to drain them: the released regions count against the
 * domain's page quota (2^20) until the guest collects them.
 */
static int cmd_pile(unsigned int n)
{
	struct gpage ind[KNEMIF_CREATE_MAX_INDIRECT], data, rel;
	struct knemif_request r;
	uint64_t cookie, forged = (rand64() & ~KNEMIF_COOKIE_INVALID_BITS) | 1;
	uint64_t *rc;
	unsigned int i, k, made = 0, nospc_at = 0, bad = 0;
	int s;

	connect_be();
	grant(ind, KNEMIF_CREATE_MAX_INDIRECT, 0, 0);
	grant(&data, 1, 0, 1);
	grant(&rel, 1, 0, 1);
	for (k = 0; k < KNEMIF_CREATE_MAX_INDIRECT; k++) {
		struct knemif_seg *sg = (struct knemif_seg *)ind[k].p;

		for (i = 0; i < KNEMIF_SEGS_PER_INDIRECT_PAGE; i++) {
			sg[i].gref = data.gref;
			sg[i].offset = 0;
			sg[i].len = PAGE;
		}
	}
	for (i = 0; i < n; i++) {
		r = req(KNEMIF_OP_REGION_CREATE);
		r.nr_segs = PILE_SEGS;
		r.nr_indirect = KNEMIF_CREATE_MAX_INDIRECT;
		r.u.create.total_len = (uint64_t)PILE_SEGS * PAGE;
		r.u.create.protection = KNEMIF_PROT_READ;
		r.u.create.kflags = KNEMIF_KFLAG_SINGLEUSE;
		for (k = 0; k < KNEMIF_CREATE_MAX_INDIRECT; k++)
			r.u.create.indirect[k] = ind[k].gref;
		cookie = 0;
		s = call(&r, &cookie);
		if (s == KNEMIF_E_NOSPC) {
			nospc_at = i + 1;
			break;
		}
		if (s != KNEMIF_E_OK) {
			bad++;
			break;
		}
		made++;
		/* consumed by the source lookup, the destination is unknown */
		r = copy_req(cookie, 0, forged, 0, 1);
		s = call(&r, NULL);
		if (s != KNEMIF_E_NOENT)
			bad++;
	}
	printf("hostile: %u single-use regions of %u segments consumed, NOSPC at create %u\n",
	       made, PILE_SEGS, nospc_at);
	check(nospc_at && nospc_at <= (1U << 20) / PILE_SEGS + 1 && !bad,
	      "released-regions-count-against-page-quota",
	      "%u consumed regions of %u pages held by dom0 without NOSPC (%u bad answers)",
	      made, PILE_SEGS, bad);
	/* collected: the quota is back */
	rc = (uint64_t *)rel.p;
	for (k = 0; k < made; k += KNEMIF_COOKIES_PER_RELEASE_PAGE) {
		uint64_t v = 0;

		r = wait_released_req(rel.gref);
		s = call(&r, &v);
		if (s != KNEMIF_E_OK || !v || !rc[0])
			break;
	}
	check(k >= made, "wait-released-collects-the-pile",
	      "collected %u of %u", k, made);
	r = create_req(&ind[0], 1, KNEMIF_PROT_READ, KNEMIF_KFLAG_SINGLEUSE);
	segs_one_per_page(&ind[0], &data, 1);
	s = call(&r, &cookie);
	check(s == KNEMIF_E_OK, "quota-back-after-collection", "%s",
	      status_name(s));
	if (s == KNEMIF_E_OK)
		destroy("pile-destroy-last", cookie);
	check(close_be(), "pile-orderly-close", "backend not Closed");
	return failures != 0;
}

#define MANY_REGIONS 65536U

/*
 * Item 4 (and the region quota of item 7): 65536 regions, one more is
 * NOSPC; MARK_STALE of the newest region costs no more than of the
 * oldest (no list walk per lookup); the teardown of all of them is
 * quick.
 */
static int cmd_many(void)
{
	static uint64_t cookies[MANY_REGIONS];
	struct knemif_request rs[SLOTS];
	int st[SLOTS];
	uint64_t val[SLOTS];
	unsigned int i, k, made = 0, bad = 0, round;
	double t, t_old = 0, t_new = 0;

	connect_be();
	t = now_s();
	for (i = 0; i < MANY_REGIONS; i += SLOTS) {
		for (k = 0; k < SLOTS; k++) {
			rs[k] = req(KNEMIF_OP_REGION_CREATE);
			rs[k].flags = KNEMIF_F_UNSHARED;
		}
		if (batch(rs, SLOTS, st, val, 30) != SLOTS)
			break;
		for (k = 0; k < SLOTS; k++) {
			if (st[k] == KNEMIF_E_OK)
				cookies[made++] = val[k];
			else
				bad++;
		}
	}
	printf("hostile: %u regions created in %.1f s (%u refused)\n", made,
	       now_s() - t, bad);
	rs[0] = req(KNEMIF_OP_REGION_CREATE);
	rs[0].flags = KNEMIF_F_UNSHARED;
	check(made == MANY_REGIONS && !bad && batch(rs, 1, st, val, 30) == 1 &&
		      st[0] == KNEMIF_E_NOSPC,
	      "region-quota-65536", "%u made, %u refused, next %s", made, bad,
	      status_name(st[0]));
	if (made < SLOTS) {
		close_be();
		return 1;
	}
	/* lookups of the oldest and of the newest regions, interleaved */
	for (round = 0; round < 16; round++) {
		for (k = 0; k < SLOTS; k++)
			rs[k] = cookie_req(KNEMIF_OP_REGION_MARK_STALE,
					   cookies[k]);
		t = now_s();
		batch(rs, SLOTS, st, NULL, 30);
		t_old += now_s() - t;
		for (k = 0; k < SLOTS; k++)
			rs[k] = cookie_req(KNEMIF_OP_REGION_MARK_STALE,
					   cookies[made - 1 - k]);
		t = now_s();
		batch(rs, SLOTS, st, NULL, 30);
		t_new += now_s() - t;
		for (k = 0; k < SLOTS; k++)
			if (st[k] != KNEMIF_E_OK)
				bad++;
	}
	printf("hostile: 512 MARK_STALE of the oldest regions %.3f s, of the newest %.3f s\n",
	       t_old, t_new);
	check(!bad && t_new < 3 * t_old + 0.2, "lookup-cost-independent-of-position",
	      "newest %.3f s, oldest %.3f s, %u failed", t_new, t_old, bad);
	t = now_s();
	check(close_be(), "teardown-65536-regions", "backend not Closed");
	t = now_s() - t;
	printf("hostile: teardown of %u regions: %.1f s\n", made, t);
	check(t < 20, "teardown-65536-regions-quick", "%.1f s", t);
	return failures != 0;
}

#define STALEMAP_PAGES 4	/* attach_copy reads 3 pages and 100 bytes */

/*
 * Item 2: with persistent mappings (this frontend consents) and a tiny
 * mapping cache (the dom0 script sets mapcachepages), region R (pattern
 * SEED, cookie in FILE) is read by dom0 processes through its mapping
 * while this guest, N times, creates a region, copies it twice (mapped
 * the second time, evicting others), marks it stale twice, copies it
 * again (STALE) and destroys it; then R is marked stale and destroyed.
 * Each MARK_STALE answers only once dom0 no longer maps the region.
 */
static int cmd_stalemap(unsigned int seed, const char *file, unsigned int n)
{
	struct gpage ind, data[STALEMAP_PAGES], dd[STALEMAP_PAGES];
	struct gpage rk[STALEMAP_PAGES];
	struct knemif_request rs[8];
	int st[8];
	uint64_t val[8], r, d, c;
	unsigned int i, k, bad = 0;
	char go[256];
	size_t j;

	persistent_map = 1;
	connect_be();
	grant(&ind, 1, 0, 0);
	grant(data, STALEMAP_PAGES, 0, 1);
	grant(dd, STALEMAP_PAGES, 0, 1);
	grant(rk, STALEMAP_PAGES, 0, 1);
	for (j = 0; j < (size_t)STALEMAP_PAGES * PAGE; j++)
		data[j / PAGE].p[j % PAGE] = pat_attach(seed, j);
	r = region("stalemap-region", &ind, data, STALEMAP_PAGES,
		   KNEMIF_PROT_READ, KNEMIF_KFLAG_ANY_USER_ACCESS);
	d = region("stalemap-dst", &ind, dd, STALEMAP_PAGES,
		   KNEMIF_PROT_READ | KNEMIF_PROT_WRITE, 0);
	if (write_cookie(file, r))
		die_in(UFRONT_SETUP, file);
	snprintf(go, sizeof(go), "%s.go", file);
	wait_file(go, 60);
	for (i = 0; i < n; i++) {
		c = region("stalemap-create", &ind, rk, STALEMAP_PAGES,
			   KNEMIF_PROT_READ | KNEMIF_PROT_WRITE, 0);
		if (!c) {
			bad++;
			break;
		}
		rs[0] = copy_req(c, 0, d, 0, KNEMIF_LENGTH_UNBOUNDED);
		rs[1] = copy_req(c, 0, d, 0, KNEMIF_LENGTH_UNBOUNDED);
		rs[2] = copy_req(r, 0, d, 0, KNEMIF_LENGTH_UNBOUNDED);
		rs[3] = cookie_req(KNEMIF_OP_REGION_MARK_STALE, c);
		rs[4] = cookie_req(KNEMIF_OP_REGION_MARK_STALE, c);
		rs[5] = copy_req(c, 0, d, 0, KNEMIF_LENGTH_UNBOUNDED);
		rs[6] = cookie_req(KNEMIF_OP_REGION_DESTROY, c);
		if (batch(rs, 7, st, val, 30) != 7) {
			bad++;
			break;
		}
		for (k = 0; k < 7; k++) {
			int want = k == 5 ? KNEMIF_E_STALE : KNEMIF_E_OK;

			if (st[k] != want) {
				if (bad++ < 5)
					printf("hostile: round %u request %u: %s\n",
					       i, k, status_name(st[k]));
			}
		}
	}
	check(!bad, "mark-stale-and-destroy-with-mappings-and-eviction",
	      "%u wrong answers in %u rounds", bad, n);
	rs[0] = cookie_req(KNEMIF_OP_REGION_MARK_STALE, r);
	rs[1] = cookie_req(KNEMIF_OP_REGION_MARK_STALE, r);
	rs[2] = cookie_req(KNEMIF_OP_REGION_DESTROY, r);
	rs[3] = cookie_req(KNEMIF_OP_REGION_DESTROY, d);
	check(batch(rs, 4, st, val, 60) == 4 && !st[0] && !st[1] && !st[2] &&
		      !st[3], "mark-stale-under-peer-copies",
	      "%s %s %s %s", status_name(st[0]), status_name(st[1]),
	      status_name(st[2]), status_name(st[3]));
	check(close_be(), "stalemap-orderly-close", "backend not Closed");
	return failures != 0;
}

#define BIG_PAGES 262144U	/* max-region-pages */
#define BIG_CHUNK (KNEMIF_APPEND_MAX_INDIRECT * KNEMIF_SEGS_PER_INDIRECT_PAGE)

/* A region of BIG_PAGES segments, all naming @data; its cookie or 0. */
static uint64_t big_region(const char *name, struct gpage *ind,
			   uint32_t prot)
{
	struct knemif_request r = req(KNEMIF_OP_REGION_CREATE);
	uint64_t handle = 0, cookie = 0;
	unsigned int done, k;
	int s;

	r.flags = KNEMIF_F_MORE;
	r.u.create.total_len = (uint64_t)BIG_PAGES * PAGE;
	r.u.create.protection = prot;
	r.u.create.kflags = KNEMIF_KFLAG_ANY_USER_ACCESS;
	if (!expect(name, &r, KNEMIF_E_OK, &handle))
		return 0;
	for (done = 0; done < BIG_PAGES; done += BIG_CHUNK) {
		r = req(KNEMIF_OP_REGION_APPEND);
		r.nr_segs = BIG_CHUNK;
		r.nr_indirect = KNEMIF_APPEND_MAX_INDIRECT;
		r.u.append.handle = handle;
		r.u.append.chunk_len = (uint64_t)BIG_CHUNK * PAGE;
		for (k = 0; k < KNEMIF_APPEND_MAX_INDIRECT; k++)
			r.u.append.indirect[k] = ind[k].gref;
		if (done + BIG_CHUNK < BIG_PAGES)
			r.flags = KNEMIF_F_MORE;
		s = call(&r, &cookie);
		if (s != KNEMIF_E_OK) {
			check(0, name, "append at %u: %s", done, status_name(s));
			return 0;
		}
	}
	return cookie;
}

/*
 * Item 6: two 1 GiB regions (cookies "R D" in FILE) that dom0 processes
 * copy one into the other; once FILE.go exists, a REGION_DESTROY of R
 * (answered only when their copies are done) and at once an orderly
 * close: dom0's disconnect waits for those copies, xenwatch must not.
 */
static int cmd_xenwatch(const char *file)
{
	struct gpage ind[KNEMIF_APPEND_MAX_INDIRECT], data;
	struct knemif_request r;
	unsigned int i, k;
	uint64_t src, dst;
	char go[256], text[64];
	double t;

	connect_be();
	grant(ind, KNEMIF_APPEND_MAX_INDIRECT, 0, 0);
	grant(&data, 1, 0, 1);
	for (k = 0; k < KNEMIF_APPEND_MAX_INDIRECT; k++) {
		struct knemif_seg *sg = (struct knemif_seg *)ind[k].p;

		for (i = 0; i < KNEMIF_SEGS_PER_INDIRECT_PAGE; i++) {
			sg[i].gref = data.gref;
			sg[i].offset = 0;
			sg[i].len = PAGE;
		}
	}
	src = big_region("big-region-src", ind, KNEMIF_PROT_READ);
	dst = big_region("big-region-dst", ind,
			 KNEMIF_PROT_READ | KNEMIF_PROT_WRITE);
	if (!src || !dst)
		return 1;
	snprintf(text, sizeof(text), "%llu %llu\n", (unsigned long long)src,
		 (unsigned long long)dst);
	if (write_file(file, text))
		die_in(UFRONT_SETUP, file);
	snprintf(go, sizeof(go), "%s.go", file);
	wait_file(go, 120);
	r = cookie_req(KNEMIF_OP_REGION_DESTROY, src);
	r.id = next_id++;
	push(&r);
	publish();
	nap_ms(300);
	t = now_s();
	fe_state(XB_CLOSING);
	k = wait_be(XB_CLOSED, 300);
	printf("hostile: backend Closed %.1f s after Closing\n", now_s() - t);
	check(k, "close-while-destroy-waits-on-peer-copies", "backend state %d",
	      be_state());
	fe_state(XB_CLOSED);
	return failures != 0;
}

/*
 * Item 5: regions (no pages) until the backend refuses: with dom0's
 * global budget set low by the dom0 script, NOSPC comes long before the
 * guest's own quota of 65536 regions.
 */
static int cmd_budget(void)
{
	struct knemif_request rs[SLOTS];
	unsigned int made = 0, nospc = 0, other = 0, k;
	uint64_t val[SLOTS];
	int st[SLOTS];

	connect_be();
	while (made < MANY_REGIONS && !nospc && !other) {
		for (k = 0; k < SLOTS; k++) {
			rs[k] = req(KNEMIF_OP_REGION_CREATE);
			rs[k].flags = KNEMIF_F_UNSHARED;
		}
		if (batch(rs, SLOTS, st, val, 30) != SLOTS)
			break;
		for (k = 0; k < SLOTS; k++) {
			if (st[k] == KNEMIF_E_OK)
				made++;
			else if (st[k] == KNEMIF_E_NOSPC)
				nospc++;
			else
				other++;
		}
	}
	printf("hostile: %u regions before NOSPC\n", made);
	check(nospc && !other && made > 0 && made < MANY_REGIONS,
	      "global-budget-refuses-before-the-guest-quota",
	      "%u made, %u NOSPC, %u other", made, nospc, other);
	/* the regions go with the connection */
	check(close_be(), "budget-orderly-close", "backend not Closed");
	return failures != 0;
}

/* ---- item 7: the parts issue 14 left uncovered ------------------------- */

#define I7_SEGS (KNEMIF_INLINE_MAX_INDIRECT * KNEMIF_SEGS_PER_INDIRECT_PAGE)
_Static_assert(I7_SEGS == SCATTER_SEGS, "one request's segments");

/* attach_copy's scattered segments (scatter_seg) as grant segments */
static void i7_segs(struct gpage *ind, const struct gpage *data)
{
	unsigned int k, pg, off, len;

	for (k = 0; k < I7_SEGS; k++) {
		struct knemif_seg *sg = (struct knemif_seg *)
			ind[k / KNEMIF_SEGS_PER_INDIRECT_PAGE].p;

		scatter_seg(k, &pg, &off, &len);
		sg += k % KNEMIF_SEGS_PER_INDIRECT_PAGE;
		sg->gref = data[pg].gref;
		sg->offset = off;
		sg->len = len;
	}
}

/*
 * Walks the 2048 segments in region order: fills them with pattern
 * @seed (@fill_them) or counts the bytes that differ from it; bytes
 * outside every segment must hold @gap.
 */
static size_t i7_walk(struct gpage *data, unsigned int seed, int fill_them,
		      unsigned char gap)
{
	static unsigned char inside[SCATTER_PAGES][PAGE];
	unsigned int k, pg, off, len, j;
	size_t i = 0, bad = 0;

	memset(inside, 0, sizeof(inside));
	for (k = 0; k < I7_SEGS; k++) {
		scatter_seg(k, &pg, &off, &len);
		for (j = 0; j < len; j++, i++) {
			unsigned char *b = &data[pg].p[off + j];

			inside[pg][off + j] = 1;
			if (fill_them)
				*b = pat_attach(seed, i);
			else if (*b != pat_attach(seed, i))
				bad++;
		}
	}
	if (fill_them)
		return 0;
	for (pg = 0; pg < SCATTER_PAGES; pg++)
		for (j = 0; j < PAGE; j++)
			if (!inside[pg][j] && data[pg].p[j] != gap)
				bad++;
	return bad;
}

static struct knemif_request i7_inline(struct gpage *ind, uint64_t cookie,
				       int write)
{
	struct knemif_request r = req(KNEMIF_OP_INLINE_COPY);
	unsigned int k;

	r.flags = write ? KNEMIF_F_WRITE : 0;
	r.nr_segs = I7_SEGS;
	r.nr_indirect = KNEMIF_INLINE_MAX_INDIRECT;
	r.u.inline_copy.remote_cookie = cookie;
	r.u.inline_copy.length = KNEMIF_LENGTH_UNBOUNDED;
	for (k = 0; k < KNEMIF_INLINE_MAX_INDIRECT; k++)
		r.u.inline_copy.indirect[k] = ind[k].gref;
	return r;
}

static void i7_clear(struct gpage *data, unsigned char v)
{
	unsigned int pg;

	for (pg = 0; pg < SCATTER_PAGES; pg++)
		memset(data[pg].p, v, PAGE);
}

/*
 * Item 7: INLINE_COPYs of 2048 small segments (the most one request
 * takes), scattered over 9 pages, against region COOKIE of guest A
 * (attach_copy's pattern SEED, ATTACH_LEN bytes): the read gets exactly A's
 * bytes in segment order and nothing outside the segments; the write
 * puts pattern SEED2 there (A checks it), read back the same way.
 */
static int cmd_inline2048(uint64_t cookie, unsigned int seed,
			  unsigned int seed2)
{
	struct gpage ind[KNEMIF_INLINE_MAX_INDIRECT], data[SCATTER_PAGES];
	struct knemif_request r;
	uint64_t val = 0;
	size_t bad;

	connect_be();
	grant(ind, KNEMIF_INLINE_MAX_INDIRECT, 0, 0);
	grant(data, SCATTER_PAGES, 0, 1);
	i7_segs(ind, data);

	i7_clear(data, 0xee);
	r = i7_inline(ind, cookie, 0);
	if (expect("inline-2048-segs-read", &r, KNEMIF_E_OK, &val)) {
		bad = i7_walk(data, seed, 0, 0xee);
		check(val == ATTACH_LEN && !bad, "inline-2048-segs-read-exact-bytes",
		      "%llu bytes, %zu wrong", (unsigned long long)val, bad);
	}
	i7_clear(data, 0x11);
	i7_walk(data, seed2, 1, 0);
	r = i7_inline(ind, cookie, 1);
	val = 0;
	if (expect("inline-2048-segs-write", &r, KNEMIF_E_OK, &val))
		check(val == ATTACH_LEN, "inline-2048-segs-write-length",
		      "%llu bytes", (unsigned long long)val);
	i7_clear(data, 0x22);
	r = i7_inline(ind, cookie, 0);
	val = 0;
	if (expect("inline-2048-segs-read-back", &r, KNEMIF_E_OK, &val)) {
		bad = i7_walk(data, seed2, 0, 0x22);
		check(val == ATTACH_LEN && !bad,
		      "inline-2048-segs-read-back-exact-bytes",
		      "%llu bytes, %zu wrong", (unsigned long long)val, bad);
	}
	check(close_be(), "inline2048-orderly-close", "backend not Closed");
	return failures != 0;
}

/*
 * Sends @a; its status in sa[0], and the status and value of the parked
 * request @ida, answered meanwhile, in sa[1] and va[1] (-1: none).
 */
static void two_rsp(struct knemif_request *a, int *sa, uint64_t *va,
		    uint64_t ida)
{
	struct knemif_response rsp;
	int n = 0;

	*sa = -1;
	a->id = next_id++;
	push(a);
	publish();
	while (n < 2 && next_rsp(&rsp, 20)) {
		if (rsp.id == a->id) {
			*sa = rsp.status;
			n++;
		} else if (rsp.id == ida) {
			sa[1] = rsp.status;
			va[1] = rsp.val;
			n++;
		}
	}
}

/*
 * Item 7: N rounds of a WAIT_RELEASED parked on a writable page and a
 * single-use region consumed by this guest's own COPY, each release
 * reported on the page.  In round N/3 the guest ends the page's grant
 * after parking, in round 2N/3 it ends it and grants a read-only page
 * (the same grant reference if the guest's allocator gives it back):
 * dom0 answers IO and writes nothing; the following rounds work again
 * with a new page.
 */
static int cmd_relro(unsigned int n)
{
	struct gpage ind, data[2], rel, ro;
	struct knemif_request r, w;
	unsigned int i, ok = 0, io = 0, bad = 0, same = 0;
	int st[2];
	uint64_t b, su, val[2];

	connect_be();
	grant(&ind, 1, 0, 0);
	grant(data, 2, 0, 1);
	grant(&rel, 1, 0, 1);
	b = region("relro-dst", &ind, &data[1], 1, KNEMIF_PROT_MASK, 0);
	for (i = 0; i < n && b; i++) {
		int broken = i == n / 3 || i == 2 * n / 3;

		w = wait_released_req(rel.gref);
		w.id = next_id++;
		push(&w);
		publish();
		memset(rel.p, 0, PAGE);
		/* region() without a check line per round */
		segs_one_per_page(&ind, data, 1);
		r = create_req(&ind, 1, KNEMIF_PROT_READ,
			       KNEMIF_KFLAG_SINGLEUSE);
		su = 0;
		if (call(&r, &su) != KNEMIF_E_OK || !su) {
			bad++;
			break;
		}
		if (broken) {
			uint32_t old = rel.gref;

			end_grant(&rel);
			if (i == 2 * n / 3) {
				grant(&ro, 1, 0, 0);
				memset(ro.p, 0x5a, PAGE);
				same = ro.gref == old;
			}
		}
		r = copy_req(su, 0, b, 0, 10);
		st[1] = -1;
		two_rsp(&r, st, val, w.id);
		if (st[0] != KNEMIF_E_OK) {
			bad++;
		} else if (!broken) {
			if (st[1] == KNEMIF_E_OK && val[1] == 1 &&
			    *(uint64_t *)rel.p == su)
				ok++;
			else
				bad++;
		} else {
			if (st[1] == KNEMIF_E_IO &&
			    (i != 2 * n / 3 || ro.p[0] == 0x5a))
				io++;
			else
				bad++;
			grant(&rel, 1, 0, 1);
		}
	}
	printf("hostile: %u rounds: %u releases reported, %u IO on a broken page (read-only one with the same gref: %s), %u wrong\n",
	       i, ok, io, same ? "yes" : "no", bad);
	check(i == n && ok == n - 2 && io == 2 && !bad,
	      "wait-released-page-revoked-mid-stream-io",
	      "%u rounds of %u, %u reported, %u IO, %u wrong", i, n, ok, io,
	      bad);
	if (b)
		destroy("relro-destroy-dst", b);
	check(close_be(), "relro-orderly-close", "backend not Closed");
	return failures != 0;
}

/*
 * Item 7: the frontend's nodes and state flapping during the backend's
 * connect, N rounds without waiting for the backend: a fresh ring each
 * time, then (round % 4) every state in a row, the ring-ref and
 * event-channel nodes removed right after Initialised, garbage written
 * over them (and version) after Initialised, or Initialised /
 * Initialising flips.  Then an ordinary connection must work.
 */
static int cmd_flap(unsigned int n)
{
	static const char *const junk[] = { "", "-1", "0x10", "4294967296",
					    "12abc", "99999999999999999999" };
	unsigned int i;
	struct knemif_request r;

	if (!reset_link()) {
		check(0, "flap-start", "the backend does not come to InitWait");
		return 1;
	}
	for (i = 0; i < n; i++) {
		const char *j = junk[i % (sizeof(junk) / sizeof(junk[0]))];

		ring_setup();
		fe_state(XB_INITIALISING);
		xs_writeu(fe_path, KNEMIF_XS_VERSION, KNEMIF_VERSION);
		xs_writeu(fe_path, KNEMIF_XS_RING_REF, ring_pg.gref);
		xs_writeu(fe_path, KNEMIF_XS_EVENT_CHANNEL, ring_port);
		nap_ms(i % 3);
		fe_state(XB_INITIALISED);
		switch (i % 4) {
		case 0:
			nap_ms(i % 5);
			fe_state(XB_CONNECTED);
			break;
		case 1:
			nap_ms(i % 5);
			xs_rm(fe_path, KNEMIF_XS_RING_REF);
			xs_rm(fe_path, KNEMIF_XS_EVENT_CHANNEL);
			fe_state(XB_CONNECTED);
			break;
		case 2:
			nap_ms(i % 5);
			xs_write(fe_path, KNEMIF_XS_RING_REF, j);
			xs_write(fe_path, KNEMIF_XS_EVENT_CHANNEL, j);
			xs_write(fe_path, KNEMIF_XS_VERSION, j);
			break;
		default:
			fe_state(XB_INITIALISING);
			fe_state(XB_INITIALISED);
			fe_state(XB_INITIALISING);
			fe_state(XB_INITIALISED);
			break;
		}
		nap_ms(i % 7);
		fe_state(XB_CLOSING);
		nap_ms(i % 2);
		fe_state(XB_CLOSED);
	}
	nap_ms(2000);
	printf("hostile: %u rounds of flapping; backend state %d\n", n,
	       be_state());
	connect_be();
	r = req(99);
	expect("connect-after-flapping", &r, KNEMIF_E_NOTSUPP, NULL);
	{
		struct gpage ind, data;
		uint64_t c;

		grant(&ind, 1, 0, 0);
		grant(&data, 1, 0, 1);
		c = region("region-after-flapping", &ind, &data, 1,
			   KNEMIF_PROT_READ, 0);
		if (c)
			destroy("destroy-after-flapping", c);
	}
	check(close_be(), "flap-orderly-close", "backend not Closed");
	return failures != 0;
}

/*
 * Item 7: this guest at its region quota (65536, the next NOSPC) while
 * guest A creates regions (the dom0 script checks them): FILE written
 * once full; on FILE.go, still NOSPC, then the teardown.
 */
static int cmd_quotafull(const char *file)
{
	struct knemif_request rs[SLOTS];
	unsigned int made = 0, bad = 0, k;
	uint64_t val[SLOTS];
	char go[256];
	int st[SLOTS];

	connect_be();
	while (made < MANY_REGIONS && !bad) {
		for (k = 0; k < SLOTS; k++) {
			rs[k] = req(KNEMIF_OP_REGION_CREATE);
			rs[k].flags = KNEMIF_F_UNSHARED;
		}
		if (batch(rs, SLOTS, st, val, 30) != SLOTS)
			break;
		for (k = 0; k < SLOTS; k++) {
			if (st[k] == KNEMIF_E_OK)
				made++;
			else
				bad++;
		}
	}
	rs[0] = req(KNEMIF_OP_REGION_CREATE);
	rs[0].flags = KNEMIF_F_UNSHARED;
	st[0] = -1;
	check(made == MANY_REGIONS && !bad && batch(rs, 1, st, val, 30) == 1 &&
		      st[0] == KNEMIF_E_NOSPC,
	      "quotafull-65536-regions", "%u made, %u refused, next %s", made,
	      bad, status_name(st[0]));
	if (write_file(file, "full\n"))
		die_in(UFRONT_SETUP, file);
	snprintf(go, sizeof(go), "%s.go", file);
	wait_file(go, 900);
	rs[0] = req(KNEMIF_OP_REGION_CREATE);
	rs[0].flags = KNEMIF_F_UNSHARED;
	st[0] = -1;
	check(batch(rs, 1, st, val, 30) == 1 && st[0] == KNEMIF_E_NOSPC,
	      "quotafull-still-nospc-after-peer-creates", "%s",
	      status_name(st[0]));
	check(close_be(), "quotafull-orderly-close", "backend not Closed");
	return failures != 0;
}

/*
 * Item 7: a connected guest writes garbage over its state node, or
 * removes it: xenbus reads Unknown, the backend takes the frontend for
 * gone, tears the connection down and unregisters the device (the dom0
 * script checks it, then detaches and attaches the guest again).
 */
static int cmd_badstate(const char *how)
{
	struct knemif_request r;
	int b;

	connect_be();
	r = req(99);
	expect("badstate-connected", &r, KNEMIF_E_NOTSUPP, NULL);
	if (!strcmp(how, "rm"))
		xs_rm(fe_path, "state");
	else
		xs_write(fe_path, "state", "garbage");
	wait_be(XB_CLOSED, 20);
	b = be_state();
	printf("hostile: state node %s: backend state %d\n",
	       strcmp(how, "rm") ? "garbage" : "removed", b);
	check(b == XB_CLOSED || b < 0, "bad-state-node-closes-the-backend",
	      "backend state %d", b);
	return failures != 0;
}

/* A proper connection, one request, an orderly close. */
static int cmd_hello(void)
{
	struct knemif_request r;

	connect_be();
	r = req(99);
	expect("hello-connected", &r, KNEMIF_E_NOTSUPP, NULL);
	check(close_be(), "hello-orderly-close", "backend not Closed");
	return failures != 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *peer = getenv("HOSTILE_PEER");

	setvbuf(stdout, NULL, _IOLBF, 0);
	role = NULL;
	ufront_open();
	peer_domid = peer ? atoi(peer) : 0;

	if (!strcmp(cmd, "malformed"))
		return cmd_malformed(argc - 2, argv + 2);
	if (!strcmp(cmd, "flood") && argc == 3)
		return cmd_flood(strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "ahead"))
		return cmd_ahead();
	if (!strcmp(cmd, "badconnect"))
		return cmd_badconnect();
	if (!strcmp(cmd, "churn") && argc == 4)
		return cmd_churn(strtoul(argv[2], NULL, 0), argv[3]);
	if (!strcmp(cmd, "serve") && argc == 4)
		return cmd_serve(strtoul(argv[2], NULL, 0), argv[3]);
	if (!strcmp(cmd, "parked-behind"))
		return cmd_parked_behind();
	if (!strcmp(cmd, "pile") && argc == 3)
		return cmd_pile(strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "many"))
		return cmd_many();
	if (!strcmp(cmd, "budget"))
		return cmd_budget();
	if (!strcmp(cmd, "xenwatch") && argc == 3)
		return cmd_xenwatch(argv[2]);
	if (!strcmp(cmd, "stalemap") && argc == 5)
		return cmd_stalemap(strtoul(argv[2], NULL, 0), argv[3],
				    strtoul(argv[4], NULL, 0));
	if (!strcmp(cmd, "inline2048") && argc == 5)
		return cmd_inline2048(strtoull(argv[2], NULL, 0),
				      strtoul(argv[3], NULL, 0),
				      strtoul(argv[4], NULL, 0));
	if (!strcmp(cmd, "relro") && argc == 3)
		return cmd_relro(strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "flap") && argc == 3)
		return cmd_flap(strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "quotafull") && argc == 3)
		return cmd_quotafull(argv[2]);
	if (!strcmp(cmd, "badstate") && argc == 3)
		return cmd_badstate(argv[2]);
	if (!strcmp(cmd, "hello"))
		return cmd_hello();
	fprintf(stderr, "usage: hostile_front badstate garbage|rm | hello | inline2048 COOKIE SEED SEED2 | relro N | flap N | quotafull FILE | parked-behind | pile N | many | stalemap SEED FILE N | xenwatch FILE | budget | malformed [ACOOKIE APRIV ARO] | flood N | ahead | badconnect | churn SEED FILE | serve SEED FILE\n");
	return 2;
}
