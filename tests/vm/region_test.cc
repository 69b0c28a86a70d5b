// SPDX-License-Identifier: BSD-3-Clause
//
// CREATE_REGION and DESTROY_REGION (knem-abi.md §2, §5, §6; decisions 4, 6, 7).
#include "knem_vm_test.h"

#include <set>

using namespace knemtest;

namespace {

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;

TEST(Region, ZeroLengthRegionIsLegal)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	char buf[16];
	knem_cookie_t c1 = 0, c2 = 0, c3 = 0;
	// No iovec at all.
	std::vector<knem_cmd_param_iovec> none;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), none, KNEM_PROT_READ, 0, &c1));
	EXPECT_NE(0u, c1);
	// One empty iovec, and several empty ones (skipped even when their
	// base points nowhere).
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), buf, 0, kRW, 0, &c2));
	EXPECT_NE(0u, c2);
	ASSERT_EQ(Ok(), CreateRegion(fd.get(),
				     {Iov(buf, 0), Iov(UnmappedAddress(), 0),
				      Iov(buf + 3, 0)},
				     kRW, 0, &c3));
	EXPECT_NE(0u, c3);

	// Copies through it move nothing and succeed.
	uint32_t status = 0;
	memset(buf, 0x5a, sizeof(buf));
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(buf, sizeof(buf))}, false,
				      c1, 0, 0, &status),
			   status));
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(buf, sizeof(buf))}, true,
				      c2, 0, 0, &status),
			   status));
	status = 0;
	EXPECT_TRUE(SyncOk(Copy(fd.get(), c2, 0, c3, 0, 0, &status), status));
	for (char ch : buf)
		EXPECT_EQ(0x5a, ch);

	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), c1));
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), c2));
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), c3));
}

TEST(Region, OneByteStackRegionReadWrite)
{
	// UCX md_query: a 1-byte region on a stack variable, PROT_READ|WRITE.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	char byte = 42;
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), &byte, 1, kRW, 0, &cookie));
	EXPECT_NE(0u, cookie);

	char out = 0;
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(&out, 1)}, false, cookie,
				      0, 0, &status),
			   status));
	EXPECT_EQ(42, out);
	char in = 17;
	status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(&in, 1)}, true, cookie, 0,
				      0, &status),
			   status));
	EXPECT_EQ(17, *static_cast<volatile char *>(&byte));
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), cookie));
}

TEST(Region, CookiesAreNonZeroAndUnique)
{
	KNEM_OPEN_OR_FAIL(fd1, O_RDWR);
	KNEM_OPEN_OR_FAIL(fd2, O_RDWR);
	char byte = 1;
	std::set<knem_cookie_t> seen;
	std::vector<knem_cookie_t> on_fd1;
	for (int i = 0; i < 1000; i++) {
		knem_cookie_t cookie = 0;
		uint32_t flags = (i % 3 == 0) ? KNEM_FLAG_SINGLEUSE : 0;
		ASSERT_EQ(Ok(), CreateRegion(fd1.get(), &byte, 1, kRW, flags,
					     &cookie))
			<< "region " << i;
		ASSERT_NE(0u, cookie) << "region " << i;
		EXPECT_TRUE(seen.insert(cookie).second)
			<< "cookie " << std::hex << cookie << " repeated";
		on_fd1.push_back(cookie);
	}
	for (int i = 0; i < 100; i++) {
		knem_cookie_t cookie = 0;
		ASSERT_EQ(Ok(), CreateRegion(fd2.get(), &byte, 1, kRW, 0,
					     &cookie));
		ASSERT_NE(0u, cookie);
		EXPECT_TRUE(seen.insert(cookie).second)
			<< "cookie " << std::hex << cookie << " repeated";
	}
	// Destroying and recreating never hands out an old cookie again
	// right away.
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(Ok(), DestroyRegion(fd1.get(), on_fd1[i]));
	for (int i = 0; i < 100; i++) {
		knem_cookie_t cookie = 0;
		ASSERT_EQ(Ok(), CreateRegion(fd1.get(), &byte, 1, kRW, 0,
					     &cookie));
		ASSERT_NE(0u, cookie);
		EXPECT_TRUE(seen.insert(cookie).second)
			<< "cookie " << std::hex << cookie << " reused";
	}
	for (int i = 100; i < 1000; i++)
		ASSERT_EQ(Ok(), DestroyRegion(fd1.get(), on_fd1[i]))
			<< "region " << i;
}

TEST(Region, EveryProtectionValueIsAccepted)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, kPage);
	for (uint32_t prot : {0u, 1u, 2u, 3u}) {
		for (uint32_t flags :
		     {0u, static_cast<uint32_t>(KNEM_FLAG_SINGLEUSE),
		      static_cast<uint32_t>(KNEM_FLAG_ANY_USER_ACCESS),
		      static_cast<uint32_t>(KNEM_FLAG_ANY_CREATE_MASK)}) {
			knem_cookie_t cookie = 0;
			EXPECT_EQ(Ok(), CreateRegion(fd.get(), buf.data(), 100,
						     prot, flags, &cookie))
				<< "prot " << prot << " flags " << flags;
			EXPECT_NE(0u, cookie);
			EXPECT_EQ(Ok(), DestroyRegion(fd.get(), cookie));
		}
	}
}

TEST(Region, UnmappedMemoryIsEfault)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	for (uint32_t prot : {1u, 2u, 3u}) {
		knem_cookie_t cookie = 1;
		EXPECT_EQ(Err{EFAULT}, CreateRegion(fd.get(), UnmappedAddress(),
						    kPage, prot, 0, &cookie))
			<< "prot " << prot;
		EXPECT_EQ(Err{EFAULT}, CreateRegion(fd.get(), nullptr, 16, prot,
						    0, &cookie))
			<< "prot " << prot;
		EXPECT_EQ(Err{EFAULT},
			  CreateRegion(fd.get(), KernelAddress(), kPage, prot, 0,
				       &cookie))
			<< "prot " << prot;
	}
}

TEST(Region, PartiallyMappedRangeIsEfault)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, 3 * kPage);
	ASSERT_EQ(0, ::munmap(buf.data() + 2 * kPage, kPage));
	buf.reset(buf.data(), 2 * kPage);
	memset(buf.data(), 1, 2 * kPage);
	knem_cookie_t cookie;
	EXPECT_EQ(Err{EFAULT}, CreateRegion(fd.get(), buf.data() + 100,
					    2 * kPage, kRW, 0, &cookie));
	// Good first segment, bad second one.
	EXPECT_EQ(Err{EFAULT},
		  CreateRegion(fd.get(),
			       {Iov(buf.data(), 10),
				Iov(buf.data() + 2 * kPage, 10)},
			       KNEM_PROT_READ, 0, &cookie));
	// The mapped part alone is fine.
	EXPECT_EQ(Ok(), CreateRegion(fd.get(), buf.data() + 100, 2 * kPage - 100,
				     kRW, 0, &cookie));
}

TEST(Region, ProtNoneMappingIsEfault)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(none, 2 * kPage, PROT_NONE);
	knem_cookie_t cookie;
	for (uint32_t prot : {1u, 2u, 3u})
		EXPECT_EQ(Err{EFAULT}, CreateRegion(fd.get(), none.data(), kPage,
						    prot, 0, &cookie))
			<< "prot " << prot;
}

TEST(Region, WritableRegionOnReadOnlyMappingIsEfault)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(ro, 2 * kPage);
	FillPattern(ro.data(), 2 * kPage, 7);
	ASSERT_EQ(0, ::mprotect(ro.data(), 2 * kPage, PROT_READ));
	knem_cookie_t cookie = 0;
	EXPECT_EQ(Err{EFAULT}, CreateRegion(fd.get(), ro.data(), 2 * kPage,
					    KNEM_PROT_WRITE, 0, &cookie));
	EXPECT_EQ(Err{EFAULT}, CreateRegion(fd.get(), ro.data(), 2 * kPage, kRW,
					    0, &cookie));
	// Reading it is fine.
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), ro.data(), 2 * kPage,
				     KNEM_PROT_READ, 0, &cookie));
	std::vector<uint8_t> out(2 * kPage);
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), out.size())},
				      false, cookie, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), ro.data(), out.size()));
}

TEST(Region, WrappingSegmentIsEfault)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	knem_cookie_t cookie;
	// base + len wraps past 2^64.
	knem_cmd_param_iovec wrap;
	wrap.base = 0xfffffffffffff000ull;
	wrap.len = 0x2000;
	for (uint32_t prot : {1u, 2u})
		EXPECT_EQ(Err{EFAULT},
			  CreateRegion(fd.get(), {wrap}, prot, 0, &cookie));
}

TEST(Region, WrappingTotalLengthIsEinval)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(buf, kPage);
	knem_cookie_t cookie = 0;
	// Two segments of 2^63 bytes: the total wraps to 0.
	EXPECT_EQ(Err{EINVAL},
		  CreateRegion(fd.get(),
			       {Iov(buf.data(), 1ull << 63),
				Iov(buf.data(), 1ull << 63)},
			       KNEM_PROT_READ, 0, &cookie));
	// Three segments whose sum wraps to a small value.
	EXPECT_EQ(Err{EINVAL},
		  CreateRegion(fd.get(),
			       {Iov(buf.data(), 16), Iov(buf.data(), 1ull << 63),
				Iov(buf.data(), (1ull << 63) - 8)},
			       KNEM_PROT_READ, 0, &cookie));
}

TEST(Region, WriteLandsInOwnerMemoryNotInTheZeroPage)
{
	// Decision 4: a writable region is pinned for write.  Untouched or
	// read-only-faulted anonymous memory is backed by the shared zero
	// page; pinning without FOLL_WRITE would write into it.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 4 * kPage;
	KNEM_MAP_OR_FAIL(target, len);
	KNEM_MAP_OR_FAIL(witness, len);
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < len; i += kPage) // map the zero page (reads)
		sink = sink + target.data()[i] + witness.data()[i];

	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), target.data(), len,
				     KNEM_PROT_WRITE, 0, &cookie));
	std::vector<uint8_t> data = PatternBytes(len, 99);
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(data.data(), len)}, true,
				      cookie, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(target.data(), data.data(), len, "owner memory"));

	std::vector<uint8_t> zeros(len, 0);
	EXPECT_TRUE(SameBytes(witness.data(), zeros.data(), len,
			      "another untouched mapping (the zero page)"));
	KNEM_MAP_OR_FAIL(fresh, len);
	EXPECT_TRUE(SameBytes(fresh.data(), zeros.data(), len,
			      "a fresh mapping (the zero page)"));

	// Region-to-region writes take the same care.
	KNEM_MAP_OR_FAIL(target2, len);
	for (size_t i = 0; i < len; i += kPage)
		sink = sink + target2.data()[i];
	knem_cookie_t src = 0, dst = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), data.data(), len, KNEM_PROT_READ,
				     0, &src));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), target2.data(), len, kRW, 0,
				     &dst));
	status = 0;
	ASSERT_TRUE(SyncOk(Copy(fd.get(), src, 0, dst, 0, 0, &status), status));
	EXPECT_TRUE(SameBytes(target2.data(), data.data(), len,
			      "owner memory (COPY)"));
	EXPECT_TRUE(SameBytes(witness.data(), zeros.data(), len,
			      "the zero page after COPY"));
}

TEST(Region, OverlappingAndRepeatedSegments)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	std::vector<uint8_t> buf = PatternBytes(300, 5);
	std::vector<knem_cmd_param_iovec> segs = {
		Iov(buf.data(), 100), Iov(buf.data() + 50, 100),
		Iov(buf.data(), 100), Iov(buf.data() + 299, 1)};
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), segs, KNEM_PROT_READ, 0,
				     &cookie));
	std::vector<uint8_t> want = Gather(segs);
	std::vector<uint8_t> out(want.size() + 10, 0xee);
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), out.size())},
				      false, cookie, 0, 0, &status),
			   status));
	EXPECT_TRUE(SameBytes(out.data(), want.data(), want.size()));
	for (size_t i = want.size(); i < out.size(); i++)
		EXPECT_EQ(0xee, out[i]) << "byte " << i << " past the region";
}

TEST(Region, ManyTinySegments)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t n = 4096;
	std::vector<uint8_t> buf = PatternBytes(2 * n, 11);
	std::vector<knem_cmd_param_iovec> segs;
	for (size_t i = 0; i < n; i++)
		segs.push_back(Iov(buf.data() + 2 * i + 1, 1)); // odd bytes
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), segs, KNEM_PROT_READ, 0,
				     &cookie));
	std::vector<uint8_t> out(n);
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(out.data(), n)}, false,
				      cookie, 0, 0, &status),
			   status));
	std::vector<uint8_t> want = Gather(segs);
	EXPECT_TRUE(SameBytes(out.data(), want.data(), n));
}

TEST(Region, DestroyIsPerRegion)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	char a = 1, b = 2;
	knem_cookie_t ca = 0, cb = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), &a, 1, kRW, 0, &ca));
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), &b, 1, kRW, 0, &cb));
	ASSERT_EQ(Ok(), DestroyRegion(fd.get(), ca));
	char out = 0;
	uint32_t status = 0;
	EXPECT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(&out, 1)}, false, cb, 0,
				      0, &status),
			   status));
	EXPECT_EQ(2, out);
	EXPECT_EQ(Ok(), DestroyRegion(fd.get(), cb));
}

} // namespace
