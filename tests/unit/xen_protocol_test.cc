// SPDX-License-Identifier: BSD-3-Clause
//
// xen_protocol_test.cc - the knemif wire protocol (knem_xen_io.h): the
// layout that both ends compile against, and the backend's request and
// indirect-page validator (knem_xen_validate.h), fed with well-formed,
// malformed and hostile input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "test_core.h"

extern "C" {
#include "knem_xen_validate.h"
}

namespace {

// ---- layout, at compile time ------------------------------------------

#define XP_OFF(type, field, off) \
	static_assert(offsetof(type, field) == (off), #type "." #field)

static_assert(sizeof(knemif_seg) == 8, "seg");
static_assert(sizeof(knemif_request) == 64, "request");
static_assert(sizeof(knemif_response) == 24, "response");
static_assert(alignof(knemif_request) == 8, "request alignment");
static_assert(alignof(knemif_response) == 8, "response alignment");

XP_OFF(knemif_seg, gref, 0);
XP_OFF(knemif_seg, offset, 4);
XP_OFF(knemif_seg, len, 6);

XP_OFF(knemif_request, id, 0);
XP_OFF(knemif_request, op, 8);
XP_OFF(knemif_request, flags, 9);
XP_OFF(knemif_request, nr_indirect, 10);
XP_OFF(knemif_request, nr_segs, 12);
XP_OFF(knemif_request, u, 16);

XP_OFF(knemif_request, u.create.total_len, 16);
XP_OFF(knemif_request, u.create.owner_uid, 24);
XP_OFF(knemif_request, u.create.kflags, 28);
XP_OFF(knemif_request, u.create.protection, 32);
XP_OFF(knemif_request, u.create.indirect, 36);

XP_OFF(knemif_request, u.append.handle, 16);
XP_OFF(knemif_request, u.append.chunk_len, 24);
XP_OFF(knemif_request, u.append.indirect, 32);

XP_OFF(knemif_request, u.destroy.cookie, 16);
XP_OFF(knemif_request, u.destroy.reserved, 24);
XP_OFF(knemif_request, u.mark_stale.cookie, 16);

XP_OFF(knemif_request, u.copy.src_cookie, 16);
XP_OFF(knemif_request, u.copy.src_offset, 24);
XP_OFF(knemif_request, u.copy.dst_cookie, 32);
XP_OFF(knemif_request, u.copy.dst_offset, 40);
XP_OFF(knemif_request, u.copy.length, 48);
XP_OFF(knemif_request, u.copy.kflags, 56);
XP_OFF(knemif_request, u.copy.uid, 60);

XP_OFF(knemif_request, u.inline_copy.remote_cookie, 16);
XP_OFF(knemif_request, u.inline_copy.remote_offset, 24);
XP_OFF(knemif_request, u.inline_copy.length, 32);
XP_OFF(knemif_request, u.inline_copy.kflags, 40);
XP_OFF(knemif_request, u.inline_copy.uid, 44);
XP_OFF(knemif_request, u.inline_copy.indirect, 48);

XP_OFF(knemif_request, u.wait_released.page_gref, 16);
XP_OFF(knemif_request, u.wait_released.reserved, 20);

XP_OFF(knemif_response, id, 0);
XP_OFF(knemif_response, op, 8);
XP_OFF(knemif_response, flags, 9);
XP_OFF(knemif_response, status, 10);
XP_OFF(knemif_response, reserved, 12);
XP_OFF(knemif_response, val, 16);

// Each op's indirect array ends exactly at the end of the slot.
static_assert(offsetof(knemif_request, u.create.indirect) +
		      4 * KNEMIF_CREATE_MAX_INDIRECT == 64, "create cap");
static_assert(offsetof(knemif_request, u.append.indirect) +
		      4 * KNEMIF_APPEND_MAX_INDIRECT == 64, "append cap");
static_assert(offsetof(knemif_request, u.inline_copy.indirect) +
		      4 * KNEMIF_INLINE_MAX_INDIRECT == 64, "inline cap");
static_assert(KNEMIF_MAX_INDIRECT_PAGES == KNEMIF_APPEND_MAX_INDIRECT,
	      "the largest op capacity");

// ---- layout and wire constants, at run time --------------------------

// A ring slot holds a request or a response; Xen's shared ring has a
// 64-byte header and rounds the slot count down to a power of two.
TEST(XenProtocolLayout, OnePageRingHas32Slots)
{
	size_t slot = std::max(sizeof(knemif_request), sizeof(knemif_response));
	size_t slots = (KNEMIF_PAGE_SIZE - 64) / slot;
	size_t pow2 = 1;

	while (pow2 * 2 <= slots)
		pow2 *= 2;
	EXPECT_EQ(slots, 63U);
	EXPECT_EQ(pow2, (size_t)KNEMIF_RING_SLOTS);
}

TEST(XenProtocolLayout, IndirectPagesAndReleasePage)
{
	EXPECT_EQ(KNEMIF_PAGE_SIZE, 4096);
	EXPECT_EQ(KNEMIF_SEGS_PER_INDIRECT_PAGE * sizeof(knemif_seg),
		  (size_t)KNEMIF_PAGE_SIZE);
	EXPECT_EQ(KNEMIF_COOKIES_PER_RELEASE_PAGE, 512);
	EXPECT_EQ(KNEMIF_DEFAULT_MAX_REGION_PAGES,
		  KNEMIF_CREATE_MAX_INDIRECT * KNEMIF_SEGS_PER_INDIRECT_PAGE);
}

// The numbers are the protocol: changing one breaks every peer.
TEST(XenProtocolLayout, WireValuesArePinned)
{
	EXPECT_EQ(KNEMIF_VERSION, 1);
	EXPECT_STREQ(KNEMIF_DEVICE_TYPE, "knem");
	EXPECT_EQ(KNEMIF_DEVID, 0);

	EXPECT_EQ(KNEMIF_OP_REGION_CREATE, 1);
	EXPECT_EQ(KNEMIF_OP_REGION_APPEND, 2);
	EXPECT_EQ(KNEMIF_OP_REGION_DESTROY, 3);
	EXPECT_EQ(KNEMIF_OP_REGION_MARK_STALE, 4);
	EXPECT_EQ(KNEMIF_OP_COPY, 5);
	EXPECT_EQ(KNEMIF_OP_INLINE_COPY, 6);
	EXPECT_EQ(KNEMIF_OP_WAIT_RELEASED, 7);

	EXPECT_EQ(KNEMIF_F_MORE, 0x1U);
	EXPECT_EQ(KNEMIF_F_UNSHARED, 0x2U);
	EXPECT_EQ(KNEMIF_F_WRITE, 0x4U);
	EXPECT_EQ(KNEMIF_F_HANDLE, 0x8U);
	EXPECT_EQ(KNEMIF_RSP_F_CONSUMED, 0x1U);

	EXPECT_EQ(KNEMIF_E_OK, 0);
	EXPECT_EQ(KNEMIF_E_INVAL, 1);
	EXPECT_EQ(KNEMIF_E_NOENT, 2);
	EXPECT_EQ(KNEMIF_E_PERM, 3);
	EXPECT_EQ(KNEMIF_E_ACCES, 4);
	EXPECT_EQ(KNEMIF_E_NOSPC, 5);
	EXPECT_EQ(KNEMIF_E_STALE, 6);
	EXPECT_EQ(KNEMIF_E_IO, 7);
	EXPECT_EQ(KNEMIF_E_NOTSUPP, 8);
	EXPECT_EQ(KNEMIF_E_BUSY, 9);
	EXPECT_EQ(KNEMIF_E_NOMEM, 10);
	EXPECT_EQ(KNEMIF_E_FAULT, 11);

	EXPECT_EQ(KNEMIF_LENGTH_UNBOUNDED, UINT64_MAX);
	EXPECT_EQ(KNEMIF_COOKIE_INVALID_BITS, 1ULL << 63);
}

// The knem flags and protections keep knem_io.h's values on the wire.
TEST(XenProtocolLayout, KnemValuesAreReused)
{
	EXPECT_EQ(KNEMIF_KFLAG_DMA, (unsigned)KNEM_FLAG_DMA);
	EXPECT_EQ(KNEMIF_KFLAG_SINGLEUSE, (unsigned)KNEM_FLAG_SINGLEUSE);
	EXPECT_EQ(KNEMIF_KFLAG_ANY_USER_ACCESS,
		  (unsigned)KNEM_FLAG_ANY_USER_ACCESS);
	EXPECT_EQ(KNEMIF_KFLAG_CREATE_MASK,
		  (unsigned)KNEM_FLAG_ANY_CREATE_MASK);
	EXPECT_EQ(KNEMIF_PROT_READ, (unsigned)KNEM_PROT_READ);
	EXPECT_EQ(KNEMIF_PROT_WRITE, (unsigned)KNEM_PROT_WRITE);
}

// Little-endian encoding, byte by byte, as a peer on another OS sees it.
TEST(XenProtocolLayout, FieldsAreLittleEndian)
{
	knemif_request req;
	unsigned char raw[64];

	memset(&req, 0, sizeof(req));
	req.id = 0x0807060504030201ULL;
	req.op = KNEMIF_OP_COPY;
	req.nr_indirect = 0x0b0a;
	req.nr_segs = 0x0f0e0d0cU;
	req.u.copy.uid = 0x44332211U;
	memcpy(raw, &req, sizeof(raw));
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(raw[i], i + 1);
	EXPECT_EQ(raw[8], KNEMIF_OP_COPY);
	EXPECT_EQ(raw[10], 0x0a);
	EXPECT_EQ(raw[11], 0x0b);
	EXPECT_EQ(raw[12], 0x0c);
	EXPECT_EQ(raw[15], 0x0f);
	EXPECT_EQ(raw[60], 0x11);
	EXPECT_EQ(raw[63], 0x44);
}

// ---- helpers ----------------------------------------------------------

const u64 kCookieA = 0x1234567890abcdefULL;
const u64 kCookieB = 0x0fedcba987654321ULL;
const u32 kSegsPerPage = KNEMIF_SEGS_PER_INDIRECT_PAGE;

knemif_limits Limits(u32 indirect = 8, u32 region_pages = 262144,
		     bool dma = false)
{
	knemif_limits lim;

	lim.max_indirect_pages = indirect;
	lim.max_region_pages = region_pages;
	lim.feature_dma = dma;
	return lim;
}

knemif_request Zeroed(u8 op, u64 id = 42)
{
	knemif_request req;

	memset(&req, 0, sizeof(req));
	req.id = id;
	req.op = op;
	return req;
}

uint16_t IndirectFor(u32 nr_segs)
{
	return (uint16_t)((nr_segs + kSegsPerPage - 1) / kSegsPerPage);
}

// Names @nr indirect pages; a count beyond the op's @cap (hostile
// requests) fills only the slots there are.
void Fill(uint32_t *slots, u32 cap, u32 nr, u32 first_gref)
{
	for (u32 i = 0; i < nr && i < cap; i++)
		slots[i] = first_gref + i;
}

// A plain create of @nr_segs segments and @total bytes.
knemif_request Create(u32 nr_segs, u64 total)
{
	knemif_request req = Zeroed(KNEMIF_OP_REGION_CREATE);

	req.nr_segs = nr_segs;
	req.nr_indirect = IndirectFor(nr_segs);
	Fill(req.u.create.indirect, KNEMIF_CREATE_MAX_INDIRECT,
	     req.nr_indirect, 100);
	req.u.create.total_len = total;
	req.u.create.owner_uid = 1000;
	req.u.create.kflags = KNEMIF_KFLAG_ANY_USER_ACCESS;
	req.u.create.protection = KNEMIF_PROT_READ | KNEMIF_PROT_WRITE;
	return req;
}

knemif_request Append(u64 handle, u32 nr_segs, u64 chunk, bool more)
{
	knemif_request req = Zeroed(KNEMIF_OP_REGION_APPEND);

	req.flags = more ? KNEMIF_F_MORE : 0;
	req.nr_segs = nr_segs;
	req.nr_indirect = IndirectFor(nr_segs);
	Fill(req.u.append.indirect, KNEMIF_APPEND_MAX_INDIRECT,
	     req.nr_indirect, 200);
	req.u.append.handle = handle;
	req.u.append.chunk_len = chunk;
	return req;
}

knemif_request Copy(u64 src, u64 dst)
{
	knemif_request req = Zeroed(KNEMIF_OP_COPY);

	req.u.copy.src_cookie = src;
	req.u.copy.src_offset = 10;
	req.u.copy.dst_cookie = dst;
	req.u.copy.dst_offset = 20;
	req.u.copy.length = KNEMIF_LENGTH_UNBOUNDED;
	req.u.copy.uid = 1000;
	return req;
}

knemif_request Inline(u64 remote, u32 nr_segs, bool write)
{
	knemif_request req = Zeroed(KNEMIF_OP_INLINE_COPY);

	req.flags = write ? KNEMIF_F_WRITE : 0;
	req.nr_segs = nr_segs;
	req.nr_indirect = IndirectFor(nr_segs);
	Fill(req.u.inline_copy.indirect, KNEMIF_INLINE_MAX_INDIRECT,
	     req.nr_indirect, 300);
	req.u.inline_copy.remote_cookie = remote;
	req.u.inline_copy.remote_offset = 4096;
	req.u.inline_copy.length = 1 << 20;
	req.u.inline_copy.uid = 1000;
	return req;
}

knemif_request CookieOp(u8 op, u64 cookie)
{
	knemif_request req = Zeroed(op);

	req.u.destroy.cookie = cookie;
	return req;
}

int Validate(const knemif_request &req, const knemif_limits &lim = Limits())
{
	knemif_req_checked out;

	return knemif_req_validate(&req, &lim, &out);
}

knemif_req_checked Checked(const knemif_request &req,
			   const knemif_limits &lim = Limits())
{
	knemif_req_checked out;

	EXPECT_EQ(knemif_req_validate(&req, &lim, &out), KNEMIF_E_OK);
	return out;
}

// Every request of each op that the validator must accept.
std::vector<knemif_request> ValidSamples()
{
	std::vector<knemif_request> v;
	knemif_request r;

	v.push_back(Create(1, 1));
	v.push_back(Create(600, 600 * 4096ULL));
	r = Zeroed(KNEMIF_OP_REGION_CREATE);
	r.flags = KNEMIF_F_MORE;
	r.u.create.total_len = 1 << 30;
	v.push_back(r);
	r = Zeroed(KNEMIF_OP_REGION_CREATE);
	r.flags = KNEMIF_F_UNSHARED;
	r.u.create.total_len = 1ULL << 40;
	v.push_back(r);
	v.push_back(Append(7, 512, 512 * 4096, true));
	v.push_back(CookieOp(KNEMIF_OP_REGION_DESTROY, kCookieA));
	v.push_back(CookieOp(KNEMIF_OP_REGION_MARK_STALE, kCookieA));
	v.push_back(Copy(kCookieA, kCookieB));
	v.push_back(Inline(kCookieA, 3, true));
	r = Zeroed(KNEMIF_OP_WAIT_RELEASED);
	r.u.wait_released.page_gref = 77;
	v.push_back(r);
	return v;
}

// ---- well-formed requests ----------------------------------------------

TEST(XenValidate, EveryOpHasAValidForm)
{
	for (const knemif_request &req : ValidSamples())
		EXPECT_EQ(Validate(req), KNEMIF_E_OK) << "op " << (int)req.op;
}

TEST(XenValidate, CreateIsCheckedAndCopied)
{
	knemif_request req = Create(1000, 1000 * 4096ULL - 5);
	knemif_req_checked c = Checked(req);

	EXPECT_EQ(c.id, 42U);
	EXPECT_EQ(c.op, (u32)KNEMIF_OP_REGION_CREATE);
	EXPECT_EQ(c.nr_segs, 1000U);
	EXPECT_EQ(c.nr_indirect, 2U);
	EXPECT_EQ(c.indirect[0], 100U);
	EXPECT_EQ(c.indirect[1], 101U);
	EXPECT_EQ(c.seg_bytes, 1000 * 4096ULL - 5);
	EXPECT_TRUE(c.seg_bytes_exact);
	EXPECT_EQ(c.u.create.total_len, 1000 * 4096ULL - 5);
	EXPECT_EQ(c.u.create.owner_uid, 1000U);
	EXPECT_EQ(c.u.create.kflags, (u32)KNEMIF_KFLAG_ANY_USER_ACCESS);
	EXPECT_EQ(c.u.create.protection, KNEMIF_PROT_READ | KNEMIF_PROT_WRITE);
	EXPECT_FALSE(c.u.create.more);
	EXPECT_FALSE(c.u.create.unshared);
}

TEST(XenValidate, CreateAtEveryCapacityBoundary)
{
	// the op holds 7 indirect pages: 3584 segments
	EXPECT_EQ(Validate(Create(3584, 3584)), KNEMIF_E_OK);
	EXPECT_EQ(Validate(Create(3584, 3584 * 4096ULL)), KNEMIF_E_OK);
	knemif_request req = Create(3584, 3584);
	req.nr_segs = 3585;
	req.nr_indirect = 8;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
	// the advertised limit is lower than the op's capacity
	EXPECT_EQ(Validate(Create(513, 513), Limits(1)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Create(512, 512), Limits(1)), KNEMIF_E_OK);
	// max-region-pages
	EXPECT_EQ(Validate(Create(100, 100), Limits(8, 99)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Create(100, 100), Limits(8, 100)), KNEMIF_E_OK);
}

TEST(XenValidate, EmptyRegionIsValid)
{
	knemif_req_checked c = Checked(Create(0, 0));

	EXPECT_EQ(c.nr_indirect, 0U);
	EXPECT_EQ(knemif_segs_finish(&c, 0), KNEMIF_E_OK);
	// but a length needs segments
	EXPECT_EQ(Validate(Create(0, 1)), KNEMIF_E_INVAL);
}

TEST(XenValidate, CreateMoreAndUnshared)
{
	knemif_request req = Zeroed(KNEMIF_OP_REGION_CREATE);

	req.flags = KNEMIF_F_MORE;
	req.u.create.total_len = 262144ULL * 4096;
	knemif_req_checked c = Checked(req);
	EXPECT_TRUE(c.u.create.more);
	EXPECT_FALSE(c.seg_bytes_exact);

	// beyond max-region-pages, or empty
	req.u.create.total_len = 262144ULL * 4096 + 1;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
	req.u.create.total_len = 0;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
	req.u.create.total_len = UINT64_MAX;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);

	// a build's create carries no segments
	knemif_request with_segs = Create(4, 4 * 4096);
	with_segs.flags = KNEMIF_F_MORE;
	with_segs.u.create.total_len = 1 << 30;
	EXPECT_EQ(Validate(with_segs), KNEMIF_E_INVAL);

	// unshared: no segments, any length, not a build
	req = Zeroed(KNEMIF_OP_REGION_CREATE);
	req.flags = KNEMIF_F_UNSHARED;
	req.u.create.total_len = UINT64_MAX;
	c = Checked(req);
	EXPECT_TRUE(c.u.create.unshared);
	with_segs.flags = KNEMIF_F_UNSHARED;
	EXPECT_EQ(Validate(with_segs), KNEMIF_E_INVAL);
	req.flags = KNEMIF_F_UNSHARED | KNEMIF_F_MORE;
	req.u.create.total_len = 4096;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
}

TEST(XenValidate, AppendIsCheckedAndCopied)
{
	knemif_req_checked c = Checked(Append(9, 4096, 4096 * 4096ULL, false));

	EXPECT_EQ(c.nr_indirect, 8U);
	EXPECT_EQ(c.indirect[7], 207U);
	EXPECT_EQ(c.u.append.handle, 9U);
	EXPECT_FALSE(c.u.append.more);
	EXPECT_EQ(c.seg_bytes, 4096 * 4096ULL);
	EXPECT_TRUE(c.seg_bytes_exact);
}

TEST(XenValidate, CopyAndInlineCopyAreCopied)
{
	knemif_req_checked c = Checked(Copy(kCookieA, kCookieB));

	EXPECT_EQ(c.u.copy.src_cookie, kCookieA);
	EXPECT_EQ(c.u.copy.src_offset, 10U);
	EXPECT_EQ(c.u.copy.dst_cookie, kCookieB);
	EXPECT_EQ(c.u.copy.dst_offset, 20U);
	EXPECT_EQ(c.u.copy.length, KNEMIF_LENGTH_UNBOUNDED);
	EXPECT_EQ(c.u.copy.uid, 1000U);

	c = Checked(Inline(kCookieB, 2048, true));
	EXPECT_EQ(c.nr_indirect, 4U);
	EXPECT_TRUE(c.u.inline_copy.write);
	EXPECT_EQ(c.u.inline_copy.remote_cookie, kCookieB);
	EXPECT_EQ(c.u.inline_copy.remote_offset, 4096U);
	EXPECT_EQ(c.seg_bytes, 2048 * 4096ULL);
	EXPECT_FALSE(c.seg_bytes_exact);

	c = Checked(Inline(kCookieB, 1, false));
	EXPECT_FALSE(c.u.inline_copy.write);
}

TEST(XenValidate, OffsetsAndBoundsAreFree)
{
	// offsets past any region copy 0 bytes; the backend computes the
	// length without adding offsets, so nothing here can overflow
	knemif_request req = Copy(kCookieA, kCookieB);

	req.u.copy.src_offset = UINT64_MAX;
	req.u.copy.dst_offset = UINT64_MAX;
	req.u.copy.length = 0;
	EXPECT_EQ(Validate(req), KNEMIF_E_OK);
	req = Inline(kCookieA, 1, false);
	req.u.inline_copy.remote_offset = UINT64_MAX;
	req.u.inline_copy.length = UINT64_MAX;
	EXPECT_EQ(Validate(req), KNEMIF_E_OK);
}

TEST(XenValidate, EmptyInlineCopyStillLooksUp)
{
	knemif_req_checked c = Checked(Inline(kCookieA, 0, false));

	EXPECT_EQ(c.nr_indirect, 0U);
	EXPECT_EQ(knemif_segs_finish(&c, 0), KNEMIF_E_OK);
	EXPECT_EQ(Validate(Inline(0, 0, false)), KNEMIF_E_NOENT);
}

TEST(XenValidate, DmaNeedsTheFeature)
{
	knemif_request req = Copy(kCookieA, kCookieB);

	req.u.copy.kflags = KNEMIF_KFLAG_DMA;
	EXPECT_EQ(Validate(req, Limits(8, 1024, false)), KNEMIF_E_NOTSUPP);
	EXPECT_EQ(Validate(req, Limits(8, 1024, true)), KNEMIF_E_OK);
	req = Inline(kCookieA, 1, true);
	req.u.inline_copy.kflags = KNEMIF_KFLAG_DMA;
	EXPECT_EQ(Validate(req, Limits(8, 1024, false)), KNEMIF_E_NOTSUPP);
	EXPECT_EQ(Validate(req, Limits(8, 1024, true)), KNEMIF_E_OK);
}

TEST(XenValidate, DestroyHandleAndWait)
{
	knemif_request req = CookieOp(KNEMIF_OP_REGION_DESTROY, 1ULL << 63);

	// a build handle is any non-zero value
	req.flags = KNEMIF_F_HANDLE;
	knemif_req_checked c = Checked(req);
	EXPECT_TRUE(c.u.destroy.handle);
	EXPECT_EQ(c.u.destroy.cookie, 1ULL << 63);
	req.u.destroy.cookie = 0;
	EXPECT_EQ(Validate(req), KNEMIF_E_NOENT);

	req = Zeroed(KNEMIF_OP_WAIT_RELEASED);
	req.u.wait_released.page_gref = 0xffffffff;
	c = Checked(req);
	EXPECT_EQ(c.u.wait_released.page_gref, 0xffffffffU);
}

// ---- malformed and hostile requests --------------------------------------

TEST(XenValidateHostile, UnknownOpsAreNotSupported)
{
	knemif_limits lim = Limits();

	for (int op = 0; op < 256; op++) {
		if (op >= KNEMIF_OP_REGION_CREATE &&
		    op <= KNEMIF_OP_WAIT_RELEASED)
			continue;
		knemif_request req = Zeroed((u8)op, 0xabcdef);
		knemif_req_checked out;

		memset(&out, 0x5a, sizeof(out));
		EXPECT_EQ(knemif_req_validate(&req, &lim, &out),
			  KNEMIF_E_NOTSUPP) << op;
		// still answerable: id and op are echoed
		EXPECT_EQ(out.id, 0xabcdefU);
		EXPECT_EQ(out.op, (u32)op);
	}
}

TEST(XenValidateHostile, ErrorsStillEchoTheId)
{
	knemif_request req = Create(4, 1);	// total too small
	knemif_limits lim = Limits();
	knemif_req_checked out;

	req.id = 0x1122334455667788ULL;
	EXPECT_EQ(knemif_req_validate(&req, &lim, &out), KNEMIF_E_INVAL);
	EXPECT_EQ(out.id, 0x1122334455667788ULL);
	EXPECT_EQ(out.op, (u32)KNEMIF_OP_REGION_CREATE);
}

TEST(XenValidateHostile, EveryFlagOutsideTheOpIsRejected)
{
	for (const knemif_request &valid : ValidSamples()) {
		for (int bit = 0; bit < 8; bit++) {
			knemif_request req = valid;

			if (req.flags & (1U << bit))
				continue;
			req.flags |= (u8)(1U << bit);
			int err = Validate(req);
			bool allowed =
				(req.op == KNEMIF_OP_INLINE_COPY &&
				 bit == 2) ||
				(req.op == KNEMIF_OP_REGION_APPEND &&
				 bit == 0) ||
				(req.op == KNEMIF_OP_REGION_DESTROY &&
				 bit == 3);
			if (allowed)
				EXPECT_EQ(err, KNEMIF_E_OK);
			else
				EXPECT_EQ(err, KNEMIF_E_INVAL)
					<< "op " << (int)req.op << " bit "
					<< bit;
		}
	}
}

TEST(XenValidateHostile, UnknownKnemFlagsAndProtections)
{
	for (int bit = 0; bit < 32; bit++) {
		u32 f = 1U << bit;
		knemif_request req = Create(1, 1);

		req.u.create.kflags = f;
		EXPECT_EQ(Validate(req), (f & KNEMIF_KFLAG_CREATE_MASK) ?
			  KNEMIF_E_OK : KNEMIF_E_INVAL) << bit;

		req = Create(1, 1);
		req.u.create.protection = f;
		EXPECT_EQ(Validate(req), (f & KNEMIF_PROT_MASK) ?
			  KNEMIF_E_OK : KNEMIF_E_INVAL) << bit;

		// the frontend-only flags (async, threads, NOTIFY_FD,
		// PINLOCAL) never travel
		req = Copy(kCookieA, kCookieB);
		req.u.copy.kflags = f;
		EXPECT_EQ(Validate(req, Limits(8, 1024, true)),
			  f == KNEMIF_KFLAG_DMA ? KNEMIF_E_OK :
			  KNEMIF_E_INVAL) << bit;

		req = Inline(kCookieA, 1, false);
		req.u.inline_copy.kflags = f;
		EXPECT_EQ(Validate(req, Limits(8, 1024, true)),
			  f == KNEMIF_KFLAG_DMA ? KNEMIF_E_OK :
			  KNEMIF_E_INVAL) << bit;
	}
	knemif_request req = Create(1, 1);
	req.u.create.protection = 0;	// allowed: every copy is refused
	EXPECT_EQ(Validate(req), KNEMIF_E_OK);
}

TEST(XenValidateHostile, ReservedBytesMustBeZero)
{
	const u8 ops[] = { KNEMIF_OP_REGION_DESTROY,
			   KNEMIF_OP_REGION_MARK_STALE };

	for (u8 op : ops) {
		for (size_t i = 0; i < sizeof(knemif_req_cookie::reserved);
		     i++) {
			knemif_request req = CookieOp(op, kCookieA);

			req.u.destroy.reserved[i] = 1;
			EXPECT_EQ(Validate(req), KNEMIF_E_INVAL)
				<< (int)op << " byte " << i;
		}
	}
	for (size_t i = 0; i < sizeof(knemif_req_wait_released::reserved);
	     i++) {
		knemif_request req = Zeroed(KNEMIF_OP_WAIT_RELEASED);

		req.u.wait_released.reserved[i] = 0x80;
		EXPECT_EQ(Validate(req), KNEMIF_E_INVAL) << i;
	}
}

TEST(XenValidateHostile, UnusedIndirectSlotsMustBeZero)
{
	for (u32 slot = 1; slot < KNEMIF_CREATE_MAX_INDIRECT; slot++) {
		knemif_request req = Create(512, 512);	// one page used

		req.u.create.indirect[slot] = 5;
		EXPECT_EQ(Validate(req), KNEMIF_E_INVAL) << slot;
	}
	for (u32 slot = 2; slot < KNEMIF_APPEND_MAX_INDIRECT; slot++) {
		knemif_request req = Append(3, 1000, 1000, true);

		req.u.append.indirect[slot] = 1;
		EXPECT_EQ(Validate(req), KNEMIF_E_INVAL) << slot;
	}
	for (u32 slot = 0; slot < KNEMIF_INLINE_MAX_INDIRECT; slot++) {
		knemif_request req = Inline(kCookieA, 0, false);

		req.u.inline_copy.indirect[slot] = 1;
		EXPECT_EQ(Validate(req), KNEMIF_E_INVAL) << slot;
	}
}

TEST(XenValidateHostile, SegmentCountsMustMatchTheIndirectPages)
{
	knemif_request req = Create(512, 512);

	req.nr_indirect = 2;	// a spare page
	req.u.create.indirect[1] = 9;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
	req = Create(513, 513);
	req.nr_indirect = 1;	// one page cannot hold 513
	req.u.create.indirect[1] = 0;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
	req = Create(1, 1);
	req.nr_indirect = 0;	// segments but no page
	req.u.create.indirect[0] = 0;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
	req = Create(0, 0);
	req.nr_indirect = 1;	// a page but no segment
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
}

TEST(XenValidateHostile, HugeCounts)
{
	const u32 segs[] = { 0xffffffffU, 0x80000000U, 0x00200001U, 4097 };
	const uint16_t pages[] = { 0xffff, 0x8000, 9, 8 };

	for (u32 s : segs) {
		for (uint16_t p : pages) {
			knemif_request reqs[3] = {
				Create(1, 1), Append(1, 1, 1, true),
				Inline(kCookieA, 1, false) };

			for (knemif_request &req : reqs) {
				req.nr_segs = s;
				req.nr_indirect = p;
				EXPECT_EQ(Validate(req), KNEMIF_E_INVAL)
					<< (int)req.op << " " << s << " " << p;
			}
		}
	}
	// a backend that advertises more than the protocol allows is
	// clamped to 8 pages
	knemif_request req = Append(1, 4097, 4097, true);
	req.nr_indirect = 9;
	EXPECT_EQ(Validate(req, Limits(1000)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Append(1, 4096, 4096, true), Limits(1000)),
		  KNEMIF_E_OK);
	// and one that advertises 0 accepts no segments at all
	EXPECT_EQ(Validate(Create(1, 1), Limits(0)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Create(0, 0), Limits(0)), KNEMIF_E_OK);
}

TEST(XenValidateHostile, OpsWithoutSegmentsRefuseThem)
{
	const knemif_request reqs[] = {
		CookieOp(KNEMIF_OP_REGION_DESTROY, kCookieA),
		CookieOp(KNEMIF_OP_REGION_MARK_STALE, kCookieA),
		Copy(kCookieA, kCookieB),
		Zeroed(KNEMIF_OP_WAIT_RELEASED),
	};

	for (knemif_request req : reqs) {
		req.nr_segs = 1;
		req.nr_indirect = 1;
		EXPECT_EQ(Validate(req), KNEMIF_E_INVAL) << (int)req.op;
		req.nr_indirect = 0;
		EXPECT_EQ(Validate(req), KNEMIF_E_INVAL) << (int)req.op;
		req.nr_segs = 0;
		req.nr_indirect = 1;
		EXPECT_EQ(Validate(req), KNEMIF_E_INVAL) << (int)req.op;
	}
}

TEST(XenValidateHostile, LengthsThatDisagreeWithTheSegments)
{
	// a segment holds 1 to 4096 bytes
	EXPECT_EQ(Validate(Create(10, 9)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Create(10, 10 * 4096 + 1)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Create(10, UINT64_MAX)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Create(3584, 1ULL << 63)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Append(1, 10, 9, true)), KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Append(1, 10, 10 * 4096 + 1, true)),
		  KNEMIF_E_INVAL);
	EXPECT_EQ(Validate(Append(1, 10, UINT64_MAX, false)), KNEMIF_E_INVAL);
	// an append carries at least one segment
	EXPECT_EQ(Validate(Append(1, 0, 0, false)), KNEMIF_E_INVAL);
	// and belongs to a build
	EXPECT_EQ(Validate(Append(0, 1, 1, false)), KNEMIF_E_NOENT);
	// max-region-pages bounds one chunk too
	EXPECT_EQ(Validate(Append(1, 100, 100, true), Limits(8, 99)),
		  KNEMIF_E_INVAL);
}

TEST(XenValidateHostile, CookiesThatCannotExist)
{
	const u64 bad[] = { 0, 1ULL << 63, UINT64_MAX, (1ULL << 63) | 1 };

	for (u64 cookie : bad) {
		EXPECT_EQ(Validate(Copy(cookie, kCookieB)), KNEMIF_E_NOENT);
		EXPECT_EQ(Validate(Copy(kCookieA, cookie)), KNEMIF_E_NOENT);
		EXPECT_EQ(Validate(Inline(cookie, 1, true)), KNEMIF_E_NOENT);
		EXPECT_EQ(Validate(CookieOp(KNEMIF_OP_REGION_DESTROY,
					    cookie)), KNEMIF_E_NOENT);
		EXPECT_EQ(Validate(CookieOp(KNEMIF_OP_REGION_MARK_STALE,
					    cookie)), KNEMIF_E_NOENT);
	}
	// the largest possible cookie is fine
	EXPECT_EQ(Validate(Copy((1ULL << 63) - 1, 1)), KNEMIF_E_OK);
}

TEST(XenValidateHostile, MalformedBeforeUnknownCookie)
{
	// structural errors win, so a bad request never consumes a
	// single-use region through a lookup
	knemif_request req = Copy(0, kCookieB);

	req.u.copy.kflags = KNEM_FLAG_MEMCPYTHREAD;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
	req = Copy(0, kCookieB);
	req.nr_segs = 1;
	EXPECT_EQ(Validate(req), KNEMIF_E_INVAL);
}

// Random slots, and valid requests with a few random bytes changed: the
// validator never reads out of bounds (ASan), never overflows (UBSan),
// answers with a known status, and what it accepts satisfies the
// invariants the handlers rely on.
TEST(XenValidateHostile, RandomAndMutatedSlots)
{
	const std::vector<knemif_request> samples = ValidSamples();
	std::mt19937_64 rng(0x6b6e656d);
	knemif_limits lim = Limits(8, 4096, true);
	unsigned accepted = 0, rejected = 0;

	for (int iter = 0; iter < 200000; iter++) {
		knemif_request req;
		knemif_req_checked out;

		if (iter % 4 == 0) {
			u64 words[8];

			for (u64 &w : words)
				w = rng();
			memcpy(&req, words, sizeof(req));
		} else {
			unsigned char raw[sizeof(req)];
			int flips = (int)(rng() % 4);

			req = samples[rng() % samples.size()];
			memcpy(raw, &req, sizeof(raw));
			for (int f = 0; f < flips; f++)
				raw[8 + rng() % (sizeof(raw) - 8)] =
					(unsigned char)rng();
			memcpy(&req, raw, sizeof(req));
		}
		int err = knemif_req_validate(&req, &lim, &out);
		ASSERT_GE(err, KNEMIF_E_OK);
		ASSERT_LE(err, KNEMIF_E_FAULT);
		ASSERT_EQ(out.id, req.id);
		ASSERT_EQ(out.op, (u32)req.op);
		if (err) {
			rejected++;
			continue;
		}
		accepted++;
		ASSERT_GE(out.op, (u32)KNEMIF_OP_REGION_CREATE);
		ASSERT_LE(out.op, (u32)KNEMIF_OP_WAIT_RELEASED);
		ASSERT_LE(out.nr_indirect, (u32)KNEMIF_MAX_INDIRECT_PAGES);
		ASSERT_EQ(out.nr_indirect,
			  (out.nr_segs + kSegsPerPage - 1) / kSegsPerPage);
		ASSERT_LE(out.nr_segs, lim.max_region_pages);
		ASSERT_LE(out.seg_bytes, out.nr_segs * 4096ULL);
		if (out.seg_bytes_exact) {
			ASSERT_GE(out.seg_bytes, out.nr_segs);
		}
	}
	// both sides of every check are reached
	EXPECT_GT(accepted, 10000U);
	EXPECT_GT(rejected, 10000U);
}

// ---- indirect pages -------------------------------------------------------

std::vector<knemif_seg> Segs(u32 nr, uint16_t offset, uint16_t len)
{
	std::vector<knemif_seg> v(nr);

	for (u32 i = 0; i < nr; i++) {
		v[i].gref = 1000 + i;
		v[i].offset = offset;
		v[i].len = len;
	}
	return v;
}

TEST(XenSegs, PageSegmentCounts)
{
	knemif_req_checked c = Checked(Create(1000, 1000));

	EXPECT_EQ(knemif_req_page_segs(&c, 0), 512U);
	EXPECT_EQ(knemif_req_page_segs(&c, 1), 488U);
	EXPECT_EQ(knemif_req_page_segs(&c, 2), 0U);
	EXPECT_EQ(knemif_req_page_segs(&c, 0xffffffffU), 0U);
	c = Checked(Create(1024, 1024));
	EXPECT_EQ(knemif_req_page_segs(&c, 1), 512U);
}

TEST(XenSegs, FullPagesAddUp)
{
	knemif_req_checked c = Checked(Create(1024, 1024 * 4096ULL));
	std::vector<knemif_seg> page = Segs(512, 0, 4096);
	u64 total = 0;

	EXPECT_EQ(knemif_segs_validate(&c, 0, page.data(), &total),
		  KNEMIF_E_OK);
	EXPECT_EQ(total, 512 * 4096ULL);
	EXPECT_EQ(knemif_segs_finish(&c, total), KNEMIF_E_INVAL);
	EXPECT_EQ(knemif_segs_validate(&c, 1, page.data(), &total),
		  KNEMIF_E_OK);
	EXPECT_EQ(knemif_segs_finish(&c, total), KNEMIF_E_OK);
}

TEST(XenSegs, PartialSegmentsAtPageEdges)
{
	knemif_req_checked c = Checked(Create(3, 1 + 96 + 4096));
	knemif_seg segs[3] = { { 1, 4095, 1 }, { 2, 4000, 96 },
			       { 3, 0, 4096 } };
	u64 total = 0;

	EXPECT_EQ(knemif_segs_validate(&c, 0, segs, &total), KNEMIF_E_OK);
	EXPECT_EQ(knemif_segs_finish(&c, total), KNEMIF_E_OK);
}

TEST(XenSegs, BadSegmentsAreRejected)
{
	const knemif_seg bad[] = {
		{ 1, 0, 0 },		// empty
		{ 1, 4095, 2 },		// crosses the page end
		{ 1, 4096, 1 },		// starts past it
		{ 1, 0, 4097 },		// longer than a page
		{ 1, 0xffff, 0xffff },	// uint16_t extremes
		{ 1, 1, 0xffff },
	};

	for (const knemif_seg &s : bad) {
		knemif_req_checked c = Checked(Create(2, 2 * 4096));
		std::vector<knemif_seg> page = Segs(2, 0, 4096);
		u64 total = 7;

		page[1] = s;
		EXPECT_EQ(knemif_segs_validate(&c, 0, page.data(), &total),
			  KNEMIF_E_INVAL) << s.offset << "+" << s.len;
		EXPECT_EQ(total, 7U);	// untouched on error
	}
}

TEST(XenSegs, PagesBeyondTheRequest)
{
	knemif_req_checked c = Checked(Create(10, 10));
	std::vector<knemif_seg> page = Segs(10, 0, 1);
	u64 total = 0;

	EXPECT_EQ(knemif_segs_validate(&c, 1, page.data(), &total),
		  KNEMIF_E_INVAL);
	c = Checked(CookieOp(KNEMIF_OP_REGION_DESTROY, kCookieA));
	EXPECT_EQ(knemif_segs_validate(&c, 0, page.data(), &total),
		  KNEMIF_E_INVAL);
}

TEST(XenSegs, TotalsThatDisagree)
{
	// the announced total is smaller than the segments
	knemif_req_checked c = Checked(Create(4, 4 * 4096 - 1));
	std::vector<knemif_seg> page = Segs(4, 0, 4096);
	u64 total = 0;

	EXPECT_EQ(knemif_segs_validate(&c, 0, page.data(), &total),
		  KNEMIF_E_INVAL);
	// or larger
	c = Checked(Create(4, 4 * 4096));
	page[3].len = 4095;
	total = 0;
	EXPECT_EQ(knemif_segs_validate(&c, 0, page.data(), &total),
		  KNEMIF_E_OK);
	EXPECT_EQ(knemif_segs_finish(&c, total), KNEMIF_E_INVAL);
	// an append's chunk_len likewise
	c = Checked(Append(5, 2, 5000, true));
	page = Segs(2, 0, 2500);
	total = 0;
	EXPECT_EQ(knemif_segs_validate(&c, 0, page.data(), &total),
		  KNEMIF_E_OK);
	EXPECT_EQ(knemif_segs_finish(&c, total), KNEMIF_E_OK);
	EXPECT_EQ(knemif_segs_finish(&c, total - 1), KNEMIF_E_INVAL);
}

TEST(XenSegs, RunningTotalCannotOverflow)
{
	knemif_req_checked c = Checked(Inline(kCookieA, 4, false));
	std::vector<knemif_seg> page = Segs(4, 0, 4096);
	u64 total = UINT64_MAX - 100;

	EXPECT_EQ(knemif_segs_validate(&c, 0, page.data(), &total),
		  KNEMIF_E_INVAL);
	EXPECT_EQ(total, UINT64_MAX - 100);
}

TEST(XenSegs, InlineLocalLengthIsComputed)
{
	knemif_req_checked c = Checked(Inline(kCookieA, 600, true));
	std::vector<knemif_seg> p0 = Segs(512, 100, 1);
	std::vector<knemif_seg> p1 = Segs(88, 0, 4096);
	u64 total = 0;

	EXPECT_EQ(knemif_segs_validate(&c, 0, p0.data(), &total),
		  KNEMIF_E_OK);
	EXPECT_EQ(knemif_segs_validate(&c, 1, p1.data(), &total),
		  KNEMIF_E_OK);
	EXPECT_EQ(total, 512 + 88 * 4096ULL);
	EXPECT_EQ(knemif_segs_finish(&c, total), KNEMIF_E_OK);
	// a caller that skipped a page is caught
	EXPECT_EQ(knemif_segs_finish(&c, 512), KNEMIF_E_INVAL);
}

// ---- region builds ----------------------------------------------------------

knemif_req_checked BuildCreate(u64 total)
{
	knemif_request req = Zeroed(KNEMIF_OP_REGION_CREATE);

	req.flags = KNEMIF_F_MORE;
	req.u.create.total_len = total;
	return Checked(req);
}

TEST(XenBuild, ChunksCompleteTheRegion)
{
	knemif_limits lim = Limits();
	knemif_req_checked create = BuildCreate(3 * 4096 + 10);
	knemif_build b;
	bool done = true;

	knemif_build_start(&b, &create);
	knemif_req_checked a = Checked(Append(1, 2, 2 * 4096, true));
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_OK);
	EXPECT_FALSE(done);
	a = Checked(Append(1, 2, 4096 + 10, false));
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_OK);
	EXPECT_TRUE(done);
	EXPECT_EQ(b.bytes, 3 * 4096 + 10U);
	EXPECT_EQ(b.pages, 4U);
}

TEST(XenBuild, TotalsThatDisagree)
{
	knemif_limits lim = Limits();
	knemif_req_checked create = BuildCreate(10000);
	knemif_build b;
	bool done;

	// the last chunk leaves the region short
	knemif_build_start(&b, &create);
	knemif_req_checked a = Checked(Append(1, 2, 8000, false));
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_INVAL);
	EXPECT_FALSE(done);
	EXPECT_EQ(b.bytes, 0U);	// unchanged on error
	EXPECT_EQ(b.pages, 0U);

	// a chunk overshoots
	a = Checked(Append(1, 3, 10001, true));
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_INVAL);
	a = Checked(Append(1, 3, 10001, false));
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_INVAL);

	// a chunk with MORE already completes it
	a = Checked(Append(1, 3, 10000, true));
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_INVAL);

	// exact in one chunk is fine
	a = Checked(Append(1, 3, 10000, false));
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_OK);
	EXPECT_TRUE(done);
}

TEST(XenBuild, PagesAreBoundedOverAllChunks)
{
	knemif_limits lim = Limits(8, 5000);
	knemif_req_checked create = BuildCreate(5001);
	knemif_build b;
	bool done;

	knemif_build_start(&b, &create);
	knemif_req_checked a = Checked(Append(1, 4096, 4096, true), lim);
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_OK);
	// 4096 + 905 pages > 5000, even though the bytes would fit
	a = Checked(Append(1, 905, 905, false), lim);
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_INVAL);
	EXPECT_EQ(b.pages, 4096U);
	a = Checked(Append(1, 904, 905, false), lim);
	EXPECT_EQ(knemif_build_append(&b, &a, &lim, &done), KNEMIF_E_OK);
	EXPECT_TRUE(done);
	EXPECT_EQ(b.pages, 5000U);
}

TEST(XenBuild, GigabyteRegionInSixtyFourChunks)
{
	knemif_limits lim = Limits();
	const u64 total = 1ULL << 30;
	knemif_req_checked create = BuildCreate(total);
	knemif_build b;
	bool done = false;
	int chunks = 0;

	knemif_build_start(&b, &create);
	while (!done) {
		u64 left = total - b.bytes;
		u32 pages = (u32)std::min<u64>(left / 4096, 4096);
		knemif_req_checked a =
			Checked(Append(1, pages, pages * 4096ULL,
				       left > pages * 4096ULL));

		ASSERT_EQ(knemif_build_append(&b, &a, &lim, &done),
			  KNEMIF_E_OK);
		chunks++;
	}
	EXPECT_EQ(chunks, 64);
	EXPECT_EQ(b.pages, 262144U);
}

// ---- xenstore values --------------------------------------------------------

TEST(XenXenstore, Versions)
{
	EXPECT_TRUE(knemif_versions_has("1", 1));
	EXPECT_TRUE(knemif_versions_has("1,2", 1));
	EXPECT_TRUE(knemif_versions_has("3,2,1", 1));
	EXPECT_TRUE(knemif_versions_has("2,10", 10));
	EXPECT_FALSE(knemif_versions_has("2", 1));
	EXPECT_FALSE(knemif_versions_has("11", 1));
	EXPECT_FALSE(knemif_versions_has("10", 1));
	// malformed lists are refused as a whole
	EXPECT_FALSE(knemif_versions_has("", 1));
	EXPECT_FALSE(knemif_versions_has(",1", 1));
	EXPECT_FALSE(knemif_versions_has("1,", 1));
	EXPECT_FALSE(knemif_versions_has("1,,2", 1));
	EXPECT_FALSE(knemif_versions_has(" 1", 1));
	EXPECT_FALSE(knemif_versions_has("1 ,2", 1));
	EXPECT_FALSE(knemif_versions_has("1;2", 1));
	EXPECT_FALSE(knemif_versions_has("-1", 1));
	EXPECT_FALSE(knemif_versions_has("1,x", 1));
	// a number too long to be a version, even one that wraps to 1
	EXPECT_FALSE(knemif_versions_has("18446744073709551617", 1));
	EXPECT_FALSE(knemif_versions_has("1,99999999999", 1));
	EXPECT_TRUE(knemif_versions_has("4294967295", 0xffffffffU));
}

TEST(XenXenstore, SharingGroup)
{
	EXPECT_TRUE(knemif_sharing_group_valid("mpi"));
	EXPECT_TRUE(knemif_sharing_group_valid("job-42_rack.3"));
	EXPECT_TRUE(knemif_sharing_group_valid(std::string(64, 'a').c_str()));
	EXPECT_FALSE(knemif_sharing_group_valid(""));
	EXPECT_FALSE(knemif_sharing_group_valid(std::string(65, 'a').c_str()));
	EXPECT_FALSE(knemif_sharing_group_valid("a b"));
	EXPECT_FALSE(knemif_sharing_group_valid("a/b"));
	EXPECT_FALSE(knemif_sharing_group_valid("grp\n"));
	EXPECT_FALSE(knemif_sharing_group_valid("\xc3\xa9t\xc3\xa9"));
	EXPECT_FALSE(knemif_sharing_group_valid("*"));
}

} // namespace
