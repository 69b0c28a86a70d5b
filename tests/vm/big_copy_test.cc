// SPDX-License-Identifier: BSD-3-Clause
//
// One large copy: 64 MiB through a region, misaligned on both sides, every
// byte checked (and the bytes around it untouched).
#include "knem_vm_test.h"

using namespace knemtest;

namespace {

TEST(BigCopy, SixtyFourMiBInlineRead)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	const size_t len = 64ull << 20;
	const size_t slack = 2 * kPage;
	KNEM_MAP_OR_FAIL(src, len + slack);
	KNEM_MAP_OR_FAIL(dst, len + slack);
	uint8_t *s = src.data() + 1;   // odd source start
	uint8_t *d = dst.data() + 7;   // a different misalignment
	FillPattern(src.data(), src.size(), 64);
	memset(dst.data(), 0xa7, dst.size());

	knem_cookie_t c = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), s, len, KNEM_PROT_READ,
				     KNEM_FLAG_SINGLEUSE, &c));
	uint32_t status = 0;
	ASSERT_TRUE(SyncOk(InlineCopy(fd.get(), {Iov(d, len)}, false, c, 0, 0,
				      &status),
			   status));
	// The copied bytes are bytes 1.. of the source pattern.
	std::vector<uint8_t> head(7, 0xa7);
	EXPECT_TRUE(SameBytes(dst.data(), head.data(), head.size(), "head guard"));
	EXPECT_TRUE(SameBytes(d, s, len, "64 MiB copy"));
	std::vector<uint8_t> tail(dst.size() - len - 7, 0xa7);
	EXPECT_TRUE(SameBytes(d + len, tail.data(), tail.size(), "tail guard"));
	// And the source is intact.
	EXPECT_EQ(PatternByte(64, 1), s[0]);
	EXPECT_EQ(PatternByte(64, len), s[len - 1]);
}

} // namespace
