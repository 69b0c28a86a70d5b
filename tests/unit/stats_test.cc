// SPDX-License-Identifier: BSD-3-Clause
//
// stats_test.cc - the counters and the text of `cat /dev/knem`
// (knem_stats.h, knem-abi.md §10), line for line.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_core.h"

namespace {

knem_stats_header header(knem_dma_state dma = KNEM_DMA_NO_KERNEL_SUPPORT)
{
	knem_stats_header h;
	h.version = "2.0.0";
	h.forced_flags = 0;
	h.ignored_flags = 0;
	h.dma = dma;
	h.dma_chunk_min = 1024;
	h.debug_built = false;
	h.debug_enabled = false;
	return h;
}

std::string format(const knem_stats_header &h, const u64 *counters,
		   size_t size = 4096)
{
	std::vector<char> buf(size + 1, 'X');
	size_t len = knem_stats_format(buf.data(), size, &h, counters);
	EXPECT_LT(len, size);
	EXPECT_EQ(buf[len], '\0');
	EXPECT_EQ(strlen(buf.data()), len);
	EXPECT_EQ(buf[size], 'X');	// nothing written past size
	return std::string(buf.data(), len);
}

const char *const kLabels[KNEM_COUNTER_NR] = {
	" Requests submitted                           : ",
	" Requests processed (total)                   : ",
	"          processed (using DMA)               : ",
	"          processed (offloaded to thread)     : ",
	"          processed (with pinned local pages) : ",
	" Requests rejected (invalid flags)            : ",
	"          rejected (not enough memory)        : ",
	"          rejected (invalid ioctl argument)   : ",
	"          rejected (unexisting region cookie) : ",
	"          rejected (failed to pin local pages): ",
	" Requests failed during memcpy from/to user   : ",
	"          failed during DMA copy              : ",
	" DMA copy cleanup timeout                     : ",
};

TEST(StatsText, ExactClassicText)
{
	knem_stats_header h = header();
	h.version = "2.0.0 (git20240601.abc1234)";
	h.forced_flags = KNEM_FLAG_PINLOCAL;
	h.ignored_flags = KNEM_FLAG_ANY_ASYNC_MASK | KNEM_FLAG_DMA;
	u64 c[KNEM_COUNTER_NR];
	for (int i = 0; i < KNEM_COUNTER_NR; i++)
		c[i] = i * 11;
	c[KNEM_COUNTER_SUBMITTED] = 123456789012345ULL;

	const std::string expected =
		"knem 2.0.0 (git20240601.abc1234)\n"
		" Driver ABI=0xd\n"
		" Flags: forcing 0x10, ignoring 0xf\n"
		" DMAEngine: NoKernelSupport\n"
		" Debug: NotBuilt\n"
		" Requests submitted                           : 123456789012345\n"
		" Requests processed (total)                   : 11\n"
		"          processed (using DMA)               : 22\n"
		"          processed (offloaded to thread)     : 33\n"
		"          processed (with pinned local pages) : 44\n"
		" Requests rejected (invalid flags)            : 55\n"
		"          rejected (not enough memory)        : 66\n"
		"          rejected (invalid ioctl argument)   : 77\n"
		"          rejected (unexisting region cookie) : 88\n"
		"          rejected (failed to pin local pages): 99\n"
		" Requests failed during memcpy from/to user   : 110\n"
		"          failed during DMA copy              : 121\n"
		" DMA copy cleanup timeout                     : 132\n";
	EXPECT_EQ(format(h, c), expected);
}

TEST(StatsText, LineByLine)
{
	u64 c[KNEM_COUNTER_NR] = {};
	std::string text = format(header(), c);
	std::vector<std::string> lines;
	size_t start = 0;
	for (size_t nl; (nl = text.find('\n', start)) != std::string::npos;
	     start = nl + 1)
		lines.push_back(text.substr(start, nl - start));
	EXPECT_EQ(start, text.size()) << "the text ends with a newline";
	ASSERT_EQ(lines.size(), 5U + KNEM_COUNTER_NR);
	EXPECT_EQ(lines[0], "knem 2.0.0");
	EXPECT_EQ(lines[1], " Driver ABI=0xd");
	EXPECT_EQ(lines[2], " Flags: forcing 0x0, ignoring 0x0");
	EXPECT_EQ(lines[3], " DMAEngine: NoKernelSupport");
	EXPECT_EQ(lines[4], " Debug: NotBuilt");
	for (int i = 0; i < KNEM_COUNTER_NR; i++) {
		EXPECT_EQ(lines[5 + i], std::string(kLabels[i]) + "0");
		// every label has the same width: 46 characters, ": "
		EXPECT_EQ(strlen(kLabels[i]), 48U);
		EXPECT_EQ(std::string(kLabels[i] + 46), ": ");
	}
}

TEST(StatsText, LowercaseHexFlags)
{
	knem_stats_header h = header();
	h.forced_flags = 0xab;
	h.ignored_flags = 0xcafe0;
	u64 c[KNEM_COUNTER_NR] = {};
	std::string text = format(h, c);
	EXPECT_NE(text.find("\n Flags: forcing 0xab, ignoring 0xcafe0\n"),
		  std::string::npos);
}

TEST(StatsText, DmaLines)
{
	u64 c[KNEM_COUNTER_NR] = {};
	struct {
		knem_dma_state state;
		const char *line;
	} cases[] = {
		{ KNEM_DMA_NO_KERNEL_SUPPORT, " DMAEngine: NoKernelSupport\n" },
		{ KNEM_DMA_DISABLED, " DMAEngine: KernelSupported Disabled\n" },
		{ KNEM_DMA_NO_CHANNEL,
		  " DMAEngine: KernelSupported Enabled NoChannelAvailable\n" },
		{ KNEM_DMA_AVAILABLE,
		  " DMAEngine: KernelSupported Enabled ChansAvail ChunkMin=1024B\n" },
	};
	for (const auto &tc : cases) {
		std::string text = format(header(tc.state), c);
		size_t at = text.find(" DMAEngine:");
		ASSERT_NE(at, std::string::npos);
		EXPECT_EQ(text.substr(at, strlen(tc.line)), tc.line);
		EXPECT_EQ(text.find(" Debug:"), at + strlen(tc.line));
	}
	knem_stats_header h = header(KNEM_DMA_AVAILABLE);
	h.dma_chunk_min = 4096;
	EXPECT_NE(format(h, c).find("ChunkMin=4096B\n"), std::string::npos);
}

TEST(StatsText, DebugLines)
{
	u64 c[KNEM_COUNTER_NR] = {};
	knem_stats_header h = header();
	EXPECT_NE(format(h, c).find("\n Debug: NotBuilt\n"), std::string::npos);
	h.debug_enabled = true;	// meaningless when not built
	EXPECT_NE(format(h, c).find("\n Debug: NotBuilt\n"), std::string::npos);
	h.debug_built = true;
	EXPECT_NE(format(h, c).find("\n Debug: BuiltIn Enabled\n"),
		  std::string::npos);
	h.debug_enabled = false;
	EXPECT_NE(format(h, c).find("\n Debug: BuiltIn Disabled\n"),
		  std::string::npos);
}

TEST(StatsText, CountersPrintAsLongLong)
{
	u64 c[KNEM_COUNTER_NR] = {};
	c[KNEM_COUNTER_DMA_CLEANUP_TIMEOUT] = UINT64_MAX;	// %lld: -1
	c[KNEM_COUNTER_FAILED_DMA] = (1ULL << 63) - 1;
	std::string text = format(header(), c);
	EXPECT_NE(text.find("          failed during DMA copy              : "
			    "9223372036854775807\n"),
		  std::string::npos);
	EXPECT_NE(text.find(" DMA copy cleanup timeout                     : -1\n"),
		  std::string::npos);
}

// Every buffer size: a NUL-terminated prefix of the full text, and the
// returned length is what was written.
TEST(StatsText, TruncatesSafelyAtEverySize)
{
	u64 c[KNEM_COUNTER_NR];
	for (int i = 0; i < KNEM_COUNTER_NR; i++)
		c[i] = 1000 + i;
	knem_stats_header h = header(KNEM_DMA_AVAILABLE);
	const std::string full = format(h, c);

	for (size_t size = 1; size <= full.size() + 3; size++) {
		// exactly size bytes: ASan catches any write past them
		std::unique_ptr<char[]> buf(new char[size]);
		memset(buf.get(), 'X', size);
		size_t len = knem_stats_format(buf.get(), size, &h, c);
		size_t want = std::min(size - 1, full.size());
		ASSERT_EQ(len, want) << size;
		ASSERT_EQ(buf[len], '\0') << size;
		ASSERT_EQ(std::string(buf.get(), len), full.substr(0, len))
			<< size;
	}
}

TEST(StatsText, ZeroSizeWritesNothing)
{
	u64 c[KNEM_COUNTER_NR] = {};
	knem_stats_header h = header();
	char canary = 'X';
	EXPECT_EQ(knem_stats_format(&canary, 0, &h, c), 0U);
	EXPECT_EQ(canary, 'X');
	EXPECT_EQ(knem_stats_format(nullptr, 0, &h, c), 0U);
}

TEST(Counters, IncReadReset)
{
	knem_counters counters;
	ASSERT_EQ(knem_counters_init(&counters), 0);
	u64 sums[KNEM_COUNTER_NR];
	knem_counters_read(&counters, sums);
	for (int i = 0; i < KNEM_COUNTER_NR; i++)
		EXPECT_EQ(sums[i], 0U) << i;

	for (int i = 0; i < KNEM_COUNTER_NR; i++)
		for (int k = 0; k <= i; k++)
			knem_counter_inc(&counters, (knem_counter)i);
	knem_counters_read(&counters, sums);
	for (int i = 0; i < KNEM_COUNTER_NR; i++)
		EXPECT_EQ(sums[i], (u64)i + 1) << i;

	knem_counters_reset(&counters);
	knem_counters_read(&counters, sums);
	for (int i = 0; i < KNEM_COUNTER_NR; i++)
		EXPECT_EQ(sums[i], 0U) << i;
	knem_counter_inc(&counters, KNEM_COUNTER_PROCESSED);
	knem_counters_read(&counters, sums);
	EXPECT_EQ(sums[KNEM_COUNTER_PROCESSED], 1U);
	EXPECT_EQ(sums[KNEM_COUNTER_SUBMITTED], 0U);
	knem_counters_destroy(&counters);
}

TEST(Counters, InitClearsGarbage)
{
	knem_counters counters;
	memset(&counters, 0x5a, sizeof(counters));
	ASSERT_EQ(knem_counters_init(&counters), 0);
	u64 sums[KNEM_COUNTER_NR];
	knem_counters_read(&counters, sums);
	for (int i = 0; i < KNEM_COUNTER_NR; i++)
		EXPECT_EQ(sums[i], 0U) << i;
	knem_counters_destroy(&counters);
}

TEST(Counters, ConcurrentIncrementsAreNotLost)
{
	knem_counters counters;
	ASSERT_EQ(knem_counters_init(&counters), 0);
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; t++)
		threads.emplace_back([&] {
			for (int i = 0; i < 50000; i++)
				knem_counter_inc(&counters,
						 KNEM_COUNTER_SUBMITTED);
		});
	for (auto &t : threads)
		t.join();
	u64 sums[KNEM_COUNTER_NR];
	knem_counters_read(&counters, sums);
	EXPECT_EQ(sums[KNEM_COUNTER_SUBMITTED], 200000U);
	knem_counters_destroy(&counters);
}

} // namespace
