// SPDX-License-Identifier: BSD-3-Clause
//
// Limits of what a caller of /dev/knem can make the kernel hold (issue 14,
// items 8 to 12): sizes taken from the caller are bounded before anything
// is allocated or pinned, long-term pins are charged to RLIMIT_MEMLOCK,
// regions and queued copies per file are bounded, the offload worker stays
// in the caller's CPUs, and writable long-term pins of file-backed shared
// mappings are refused.
#include "async_helpers.h"

using namespace knemtest;
using namespace knemasync;

namespace {

using Clock = std::chrono::steady_clock;

long long ElapsedMs(Clock::time_point since)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		       Clock::now() - since)
		.count();
}

// ---- item 9: sizes straight from the user --------------------------------

TEST(Limits, StatusArrayNear4GiBIsRefusedAtOnce)
{
	unsigned long long maxslots = 65536;
	EXPECT_TRUE(ReadParamU64("maxslots", &maxslots))
		<< "no maxslots parameter";
	EXPECT_EQ(65536u, maxslots) << "the default";
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	StatusMap map;
	for (size_t len : {(size_t(1) << 32) - kPage, size_t(2) << 30,
			   size_t(maxslots) + kPage}) {
		SCOPED_TRACE("mmap of " + std::to_string(len) + " bytes");
		Clock::time_point start = Clock::now();
		EXPECT_EQ(Err{EINVAL}, map.Map(fd.get(), len));
		// Before the fix: seconds in vmalloc, then a kvmalloc warning.
		EXPECT_LT(ElapsedMs(start), 200);
	}
	// The refusals left the file free to map its array.
	EXPECT_EQ(Ok(), map.Map(fd.get(), maxslots));
}

TEST(Limits, HugeLocalIovecPinsOnlyWhatTheCopyReaches)
{
	// One local iovec of 2^40 bytes against a one-page region: the copy
	// moves a page; the old driver sized a 2 GiB page array from the
	// iovec (kvmalloc warning, ENOMEM).
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	KNEM_MAP_OR_FAIL(region_buf, kPage);
	KNEM_MAP_OR_FAIL(local_buf, 4 * kPage);
	FillPattern(local_buf.data(), kPage, 91);
	knem_cookie_t cookie = 0;
	ASSERT_EQ(Ok(), CreateRegion(fd.get(), region_buf.data(), kPage, kRW,
				     0, &cookie));
	const uint64_t huge = uint64_t(1) << 40;
	struct Case {
		bool write;
		uint32_t flags;
	} cases[] = {{true, 0}, {true, KNEM_FLAG_PINLOCAL},
		     {false, KNEM_FLAG_PINLOCAL}};
	for (const Case &c : cases) {
		SCOPED_TRACE(std::string(c.write ? "write" : "read") +
			     " flags " + Hex(c.flags));
		if (c.write) {
			memset(region_buf.data(), 0, kPage);
		} else {
			FillPattern(region_buf.data(), kPage, 91);
			memset(local_buf.data(), 0, kPage);
		}
		uint32_t status = kStatusSentinel;
		Clock::time_point start = Clock::now();
		EXPECT_TRUE(SyncOk(InlineCopy(fd.get(),
					      {Iov(local_buf.data(), huge)},
					      c.write, cookie, 0, c.flags,
					      &status),
				   status));
		EXPECT_LT(ElapsedMs(start), 200);
		EXPECT_TRUE(SameBytes(c.write ? region_buf.data() :
						local_buf.data(),
				      PatternBytes(kPage, 91).data(), kPage));
	}
	// Offloaded: the worker gets the trimmed, pinned iovecs.
	KNEM_STATUS_MAP_OR_FAIL(slots, fd.get(), kPage);
	memset(region_buf.data(), 0, kPage);
	FillPattern(local_buf.data(), kPage, 92);
	uint32_t status = kStatusSentinel;
	ASSERT_EQ(Ok(), InlineCopyBounded(fd.get(),
					  {Iov(local_buf.data(), huge)}, true,
					  cookie, 0, huge, KNEM_FLAG_MEMCPYTHREAD,
					  &status, 3));
	EXPECT_EQ(KNEM_STATUS_SUCCESS, WaitSlot(slots, 3));
	EXPECT_TRUE(SameBytes(region_buf.data(),
			      PatternBytes(kPage, 92).data(), kPage));
}

} // namespace
