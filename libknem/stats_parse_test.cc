// SPDX-License-Identifier: BSD-3-Clause
//
// stats_parse_test.cc - knem::Stats::parse on texts built from the exact
// classic labels (padded like the driver pads them).
#include "knem.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

namespace {

// The 13 counter labels exactly as the driver prints them, up to and
// including the colon.
const char* const counter_lines[] = {
	" Requests submitted                           :",
	" Requests processed (total)                   :",
	"          processed (using DMA)               :",
	"          processed (offloaded to thread)     :",
	"          processed (with pinned local pages) :",
	" Requests rejected (invalid flags)            :",
	"          rejected (not enough memory)        :",
	"          rejected (invalid ioctl argument)   :",
	"          rejected (unexisting region cookie) :",
	"          rejected (failed to pin local pages):",
	" Requests failed during memcpy from/to user   :",
	"          failed during DMA copy              :",
	" DMA copy cleanup timeout                     :",
};

struct Sample {
	std::string version = "2.0.0";
	std::string abi = "0xd";
	std::string flags = "forcing 0x0, ignoring 0x0";
	std::string dma = "NoKernelSupport";
	std::string debug = "NotBuilt";
	std::vector<long long> values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
	int skip_counter = -1;
	std::string trailer;

	std::string text() const
	{
		std::string out = "knem " + version + "\n";
		out += " Driver ABI=" + abi + "\n";
		out += " Flags: " + flags + "\n";
		out += " DMAEngine: " + dma + "\n";
		out += " Debug: " + debug + "\n";
		for (int i = 0; i < 13; ++i) {
			if (i == skip_counter)
				continue;
			char value[32];
			std::snprintf(value, sizeof(value), " %lld\n", values[static_cast<size_t>(i)]);
			out += counter_lines[i];
			out += value;
		}
		return out + trailer;
	}
};

// Runs parse() and returns the errno it threw, 0 if it did not throw.
int parse_error(const std::string& text)
{
	try {
		knem::Stats::parse(text);
	} catch (const std::system_error& e) {
		return e.code().value();
	}
	return 0;
}

TEST(StatsParse, DefaultText)
{
	const Sample sample;
	const knem::Stats stats = knem::Stats::parse(sample.text());
	EXPECT_EQ(stats.version, "2.0.0");
	EXPECT_EQ(stats.abi, 0xdU);
	EXPECT_EQ(stats.forced_flags, 0U);
	EXPECT_EQ(stats.ignored_flags, 0U);
	EXPECT_EQ(stats.dma, "NoKernelSupport");
	EXPECT_EQ(stats.dma_state, knem::DmaState::NoKernelSupport);
	EXPECT_EQ(stats.debug, "NotBuilt");
	EXPECT_FALSE(stats.debug_built);
	EXPECT_FALSE(stats.debug_enabled);
	EXPECT_TRUE(stats.extra.empty());

	const knem::Counters& c = stats.counters;
	EXPECT_EQ(c.submitted, 1U);
	EXPECT_EQ(c.processed, 2U);
	EXPECT_EQ(c.processed_dma, 3U);
	EXPECT_EQ(c.processed_thread, 4U);
	EXPECT_EQ(c.processed_pinlocal, 5U);
	EXPECT_EQ(c.rejected_invalid_flags, 6U);
	EXPECT_EQ(c.rejected_nomem, 7U);
	EXPECT_EQ(c.rejected_invalid_argument, 8U);
	EXPECT_EQ(c.rejected_unknown_cookie, 9U);
	EXPECT_EQ(c.rejected_pin_local, 10U);
	EXPECT_EQ(c.failed_memcpy, 11U);
	EXPECT_EQ(c.failed_dma, 12U);
	EXPECT_EQ(c.dma_cleanup_timeout, 13U);
}

TEST(StatsParse, CounterFieldsFollowTextOrder)
{
	Sample sample;
	for (size_t i = 0; i < sample.values.size(); ++i)
		sample.values[i] = 1000 + static_cast<long long>(i);
	const knem::Stats stats = knem::Stats::parse(sample.text());
	const auto fields = knem::counter_fields();
	ASSERT_EQ(fields.size(), 13U);
	for (size_t i = 0; i < fields.size(); ++i) {
		EXPECT_EQ(stats.counters.*fields[i].member, 1000U + i) << fields[i].name;
		// The label is the counter line without blanks and colon.
		std::string line = counter_lines[i];
		EXPECT_NE(line.find(fields[i].label), std::string::npos) << fields[i].name;
	}
}

TEST(StatsParse, LargeValuesAndGitVersion)
{
	Sample sample;
	sample.version = "2.0.0 (git20250101.abc1234)";
	sample.values[0] = 9223372036854775807LL;
	const knem::Stats stats = knem::Stats::parse(sample.text());
	EXPECT_EQ(stats.version, "2.0.0 (git20250101.abc1234)");
	EXPECT_EQ(stats.counters.submitted, 9223372036854775807ULL);
}

TEST(StatsParse, Flags)
{
	Sample sample;
	sample.flags = "forcing 0x10, ignoring 0xe";
	const knem::Stats stats = knem::Stats::parse(sample.text());
	EXPECT_EQ(stats.forced_flags, 0x10U);
	EXPECT_EQ(stats.ignored_flags, 0xeU);
}

TEST(StatsParse, DmaLines)
{
	Sample sample;
	sample.dma = "KernelSupported Disabled";
	EXPECT_EQ(knem::Stats::parse(sample.text()).dma_state, knem::DmaState::Disabled);

	sample.dma = "KernelSupported Enabled NoChannelAvailable";
	EXPECT_EQ(knem::Stats::parse(sample.text()).dma_state, knem::DmaState::NoChannel);

	sample.dma = "KernelSupported Enabled ChansAvail ChunkMin=1024B";
	const knem::Stats stats = knem::Stats::parse(sample.text());
	EXPECT_EQ(stats.dma_state, knem::DmaState::Available);
	EXPECT_EQ(stats.dma_chunk_min, 1024U);
	EXPECT_EQ(stats.dma, "KernelSupported Enabled ChansAvail ChunkMin=1024B");

	sample.dma = "SomethingNew";
	EXPECT_EQ(knem::Stats::parse(sample.text()).dma_state, knem::DmaState::Unknown);

	sample.dma = "KernelSupported Enabled ChansAvail ChunkMin=xB";
	EXPECT_EQ(parse_error(sample.text()), EPROTO);
}

TEST(StatsParse, DebugLines)
{
	Sample sample;
	sample.debug = "BuiltIn Enabled";
	knem::Stats stats = knem::Stats::parse(sample.text());
	EXPECT_TRUE(stats.debug_built);
	EXPECT_TRUE(stats.debug_enabled);

	sample.debug = "BuiltIn Disabled";
	stats = knem::Stats::parse(sample.text());
	EXPECT_TRUE(stats.debug_built);
	EXPECT_FALSE(stats.debug_enabled);

	sample.debug = "Maybe";
	EXPECT_EQ(parse_error(sample.text()), EPROTO);
}

TEST(StatsParse, VerboseListingGoesToExtra)
{
	Sample sample;
	sample.trailer = " Context 5d343d48\n"
			 "  Region 5d344ad1 SingleUse\n"
			 "  Listed 1 regions\n"
			 " Context 5d343d49\n"
			 "  Listed 0 regions\n"
			 " Listed 2 contexts (1 hidden)\n";
	const knem::Stats stats = knem::Stats::parse(sample.text());
	ASSERT_EQ(stats.extra.size(), 6U);
	EXPECT_EQ(stats.extra[0], " Context 5d343d48");
	EXPECT_EQ(stats.extra[1], "  Region 5d344ad1 SingleUse");
	EXPECT_EQ(stats.extra[5], " Listed 2 contexts (1 hidden)");
	EXPECT_EQ(stats.counters.dma_cleanup_timeout, 13U);
}

TEST(StatsParse, NulTerminatedAndNoFinalNewline)
{
	Sample sample;
	std::string text = sample.text();
	text.pop_back(); // no final newline
	EXPECT_EQ(knem::Stats::parse(text).counters.dma_cleanup_timeout, 13U);

	text = sample.text();
	text.push_back('\0');
	text += "garbage after the terminator";
	EXPECT_EQ(knem::Stats::parse(text).counters.dma_cleanup_timeout, 13U);
}

TEST(StatsParse, MissingCounterIsAnError)
{
	for (int i = 0; i < 13; ++i) {
		Sample sample;
		sample.skip_counter = i;
		EXPECT_EQ(parse_error(sample.text()), EPROTO) << "counter " << i;
	}
}

TEST(StatsParse, TruncatedTextIsAnError)
{
	const std::string text = Sample().text();
	// Cutting the text anywhere before its last counter loses a line
	// (cutting inside the last number would still parse a shorter value).
	const size_t last = text.rfind(counter_lines[12]);
	for (size_t cut = 0; cut < last; cut += 7)
		EXPECT_EQ(parse_error(text.substr(0, cut)), EPROTO) << "cut at " << cut;
}

TEST(StatsParse, MissingHeaderLinesAreErrors)
{
	const std::string text = Sample().text();
	for (const char* header : {" Driver ABI=", " Flags: ", " DMAEngine: ", " Debug: "}) {
		const size_t start = text.find(header);
		ASSERT_NE(start, std::string::npos);
		const size_t end = text.find('\n', start);
		std::string without = text;
		without.erase(start, end - start + 1);
		EXPECT_EQ(parse_error(without), EPROTO) << header;
	}
	EXPECT_EQ(parse_error(text.substr(text.find('\n') + 1)), EPROTO) << "no version line";
	EXPECT_EQ(parse_error(""), EPROTO);
}

TEST(StatsParse, MalformedValuesAreErrors)
{
	Sample sample;
	sample.abi = "0xzz";
	EXPECT_EQ(parse_error(sample.text()), EPROTO);

	sample = Sample();
	sample.flags = "forcing 0x0 ignoring 0x0";
	EXPECT_EQ(parse_error(sample.text()), EPROTO);

	sample = Sample();
	sample.values[3] = -1;
	EXPECT_EQ(parse_error(sample.text()), EPROTO);

	std::string text = Sample().text();
	text.replace(text.find(": 5\n"), 4, ": 5x\n");
	EXPECT_EQ(parse_error(text), EPROTO);
}

TEST(StatsParse, RepeatedLinesAreErrors)
{
	Sample sample;
	sample.trailer = std::string(counter_lines[4]) + " 99\n";
	EXPECT_EQ(parse_error(sample.text()), EPROTO);

	sample.trailer = " Driver ABI=0xd\n";
	EXPECT_EQ(parse_error(sample.text()), EPROTO);
}

TEST(StatsParse, ErrorMessageNamesTheProblem)
{
	Sample sample;
	sample.skip_counter = 9;
	try {
		knem::Stats::parse(sample.text());
		FAIL() << "no exception";
	} catch (const std::system_error& e) {
		EXPECT_EQ(e.code(), std::error_code(EPROTO, std::generic_category()));
		EXPECT_NE(std::string(e.what()).find("rejected (failed to pin local pages)"),
			  std::string::npos)
			<< e.what();
	}
}

TEST(StatsRead, MissingFileThrowsEnoent)
{
	try {
		knem::Stats::read("/nonexistent/knem-stats-test");
		FAIL() << "no exception";
	} catch (const std::system_error& e) {
		EXPECT_EQ(e.code(), std::error_code(ENOENT, std::generic_category()));
	}
}

} // namespace
