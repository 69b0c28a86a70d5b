// SPDX-License-Identifier: BSD-3-Clause
//
// stats.cpp - the statistics text of /dev/knem: reading, parsing, reset.
#include "internal.hpp"

#include <charconv>

#include <fcntl.h>
#include <unistd.h>

namespace knem {

namespace {

// The labels of the classic text (knem-abi.md §10), without the leading
// blanks, the padding and the colon.
constexpr CounterField fields[] = {
	{"submitted", "Requests submitted", &Counters::submitted},
	{"processed", "Requests processed (total)", &Counters::processed},
	{"processed_dma", "processed (using DMA)", &Counters::processed_dma},
	{"processed_thread", "processed (offloaded to thread)", &Counters::processed_thread},
	{"processed_pinlocal", "processed (with pinned local pages)",
	 &Counters::processed_pinlocal},
	{"rejected_invalid_flags", "Requests rejected (invalid flags)",
	 &Counters::rejected_invalid_flags},
	{"rejected_nomem", "rejected (not enough memory)", &Counters::rejected_nomem},
	{"rejected_invalid_argument", "rejected (invalid ioctl argument)",
	 &Counters::rejected_invalid_argument},
	{"rejected_unknown_cookie", "rejected (unexisting region cookie)",
	 &Counters::rejected_unknown_cookie},
	{"rejected_pin_local", "rejected (failed to pin local pages)",
	 &Counters::rejected_pin_local},
	{"failed_memcpy", "Requests failed during memcpy from/to user", &Counters::failed_memcpy},
	{"failed_dma", "failed during DMA copy", &Counters::failed_dma},
	{"dma_cleanup_timeout", "DMA copy cleanup timeout", &Counters::dma_cleanup_timeout},
};
constexpr std::size_t field_count = sizeof(fields) / sizeof(fields[0]);
static_assert(field_count == 13, "the classic text has 13 counters");

constexpr std::string_view blanks = " \t";

std::string_view trim(std::string_view text)
{
	const auto first = text.find_first_not_of(blanks);
	if (first == std::string_view::npos)
		return {};
	const auto last = text.find_last_not_of(blanks);
	return text.substr(first, last - first + 1);
}

bool starts_with(std::string_view text, std::string_view prefix)
{
	return text.substr(0, prefix.size()) == prefix;
}

[[noreturn]] void malformed(std::string_view line, const std::string& why)
{
	detail::throw_error(EPROTO, "knem statistics: " + why + " in line '" + std::string(line) + "'");
}

// An unsigned number filling `text` exactly: decimal, or hex after "0x".
template <typename Number>
bool parse_number(std::string_view text, Number& value)
{
	int base = 10;
	if (starts_with(text, "0x") || starts_with(text, "0X")) {
		text.remove_prefix(2);
		base = 16;
	}
	if (text.empty())
		return false;
	const char* const end = text.data() + text.size();
	const auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
	return ec == std::errc() && ptr == end;
}

// Which header lines were seen.
enum Seen : unsigned {
	seen_version = 1U << 0,
	seen_abi = 1U << 1,
	seen_flags = 1U << 2,
	seen_dma = 1U << 3,
	seen_debug = 1U << 4,
};

void parse_flags(std::string_view line, std::string_view body, Stats& stats)
{
	// "forcing 0x<hex>, ignoring 0x<hex>"
	constexpr std::string_view forcing = "forcing ";
	constexpr std::string_view ignoring = ", ignoring ";
	const auto comma = body.find(ignoring);
	if (!starts_with(body, forcing) || comma == std::string_view::npos ||
	    !parse_number(body.substr(forcing.size(), comma - forcing.size()), stats.forced_flags) ||
	    !parse_number(body.substr(comma + ignoring.size()), stats.ignored_flags))
		malformed(line, "bad flags");
}

void parse_dma(std::string_view line, std::string_view body, Stats& stats)
{
	stats.dma = std::string(body);
	constexpr std::string_view available = "KernelSupported Enabled ChansAvail ChunkMin=";
	if (body == "NoKernelSupport") {
		stats.dma_state = DmaState::NoKernelSupport;
	} else if (body == "KernelSupported Disabled") {
		stats.dma_state = DmaState::Disabled;
	} else if (body == "KernelSupported Enabled NoChannelAvailable") {
		stats.dma_state = DmaState::NoChannel;
	} else if (starts_with(body, available) && body.size() > available.size() &&
		   body.back() == 'B') {
		const auto number = body.substr(available.size(), body.size() - available.size() - 1);
		if (!parse_number(number, stats.dma_chunk_min))
			malformed(line, "bad DMA chunk size");
		stats.dma_state = DmaState::Available;
	} else {
		stats.dma_state = DmaState::Unknown;
	}
}

void parse_debug(std::string_view line, std::string_view body, Stats& stats)
{
	stats.debug = std::string(body);
	if (body == "NotBuilt") {
		stats.debug_built = false;
		stats.debug_enabled = false;
	} else if (body == "BuiltIn Enabled") {
		stats.debug_built = true;
		stats.debug_enabled = true;
	} else if (body == "BuiltIn Disabled") {
		stats.debug_built = true;
		stats.debug_enabled = false;
	} else {
		malformed(line, "unknown debug state");
	}
}

// A "<label> : <number>" line: returns true if the label is a counter's.
bool parse_counter(std::string_view line, Stats& stats, std::array<bool, field_count>& seen)
{
	const auto colon = line.rfind(':');
	if (colon == std::string_view::npos)
		return false;
	const auto label = trim(line.substr(0, colon));
	for (std::size_t i = 0; i < field_count; ++i) {
		if (label != fields[i].label)
			continue;
		if (seen[i])
			malformed(line, "repeated counter");
		seen[i] = true;
		if (!parse_number(trim(line.substr(colon + 1)), stats.counters.*fields[i].member))
			malformed(line, "bad counter value");
		return true;
	}
	return false;
}

} // namespace

Span<const CounterField> counter_fields() noexcept
{
	return Span<const CounterField>(fields, field_count);
}

Stats Stats::parse(std::string_view text)
{
	// The driver NUL-terminates a truncated buffer.
	text = text.substr(0, text.find('\0'));

	Stats stats;
	unsigned seen = 0;
	std::array<bool, field_count> counters_seen{};
	const auto header = [&](Seen which, std::string_view line) {
		if (seen & which)
			malformed(line, "repeated line");
		seen |= which;
	};

	bool first = true;
	while (!text.empty()) {
		const auto newline = text.find('\n');
		const std::string_view line = text.substr(0, newline);
		text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
		const std::string_view content = trim(line);

		if (first) {
			first = false;
			if (!starts_with(line, "knem ") || trim(line.substr(5)).empty())
				malformed(line, "no 'knem <version>' first line");
			header(seen_version, line);
			stats.version = std::string(trim(line.substr(5)));
		} else if (starts_with(content, "Driver ABI=")) {
			header(seen_abi, line);
			if (!parse_number(content.substr(11), stats.abi))
				malformed(line, "bad ABI");
		} else if (starts_with(content, "Flags: ")) {
			header(seen_flags, line);
			parse_flags(line, content.substr(7), stats);
		} else if (starts_with(content, "DMAEngine: ")) {
			header(seen_dma, line);
			parse_dma(line, content.substr(11), stats);
		} else if (starts_with(content, "Debug: ")) {
			header(seen_debug, line);
			parse_debug(line, content.substr(7), stats);
		} else if (!parse_counter(line, stats, counters_seen) && !content.empty()) {
			stats.extra.emplace_back(line);
		}
	}

	const std::pair<Seen, const char*> headers[] = {
		{seen_version, "knem <version>"}, {seen_abi, "Driver ABI="},
		{seen_flags, "Flags:"},           {seen_dma, "DMAEngine:"},
		{seen_debug, "Debug:"},
	};
	for (const auto& [bit, name] : headers)
		if (!(seen & bit))
			detail::throw_error(EPROTO, std::string("knem statistics: no '") + name + "' line");
	for (std::size_t i = 0; i < field_count; ++i)
		if (!counters_seen[i])
			detail::throw_error(EPROTO, std::string("knem statistics: no '") +
							    fields[i].label + "' counter");
	return stats;
}

std::string Stats::read_text(const std::string& path)
{
	const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (raw < 0) {
		const int err = errno;
		detail::throw_error(err, "open " + path + " for reading");
	}
	const detail::UniqueFd fd(raw);

	std::string text;
	char chunk[4096];
	for (;;) {
		const ssize_t n = ::read(fd.get(), chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			const int err = errno;
			if (err == EINTR)
				continue;
			detail::throw_error(err, "read " + path);
		}
		text.append(chunk, static_cast<std::size_t>(n));
	}
	return text;
}

Stats Stats::read(const std::string& path)
{
	return parse(read_text(path));
}

void Stats::reset(const std::string& path)
{
	const int raw = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
	if (raw < 0) {
		const int err = errno;
		detail::throw_error(err, "open " + path + " for writing");
	}
	const detail::UniqueFd fd(raw);

	constexpr std::string_view request = "1\n";
	for (;;) {
		const ssize_t n = ::write(fd.get(), request.data(), request.size());
		if (n >= 0)
			break;
		const int err = errno;
		if (err != EINTR)
			detail::throw_error(err, "reset the counters (write to " + path + ")");
	}
}

} // namespace knem
