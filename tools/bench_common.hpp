// SPDX-License-Identifier: BSD-3-Clause
// bench_common.hpp - what the benchmarks (knem-bench, knem-xbench) read,
// measure and print the same way: sizes and counts on the command line and
// in tables, the clock, bandwidth, and the median and quartiles of timed
// samples.
#ifndef KNEM_BENCH_COMMON_HPP
#define KNEM_BENCH_COMMON_HPP

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <system_error>
#include <vector>

#include <time.h>

namespace knem_bench {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;

[[noreturn]] inline void throw_errno(const std::string& what)
{
	throw std::system_error(errno, std::generic_category(), what);
}

inline std::uint64_t now_ns()
{
	timespec ts;
	::clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
	       static_cast<std::uint64_t>(ts.tv_nsec);
}

inline bool power_of_two(std::uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

// A command-line value a tool refuses: it prints `what` and `value` with
// its usage and exits with status 2.
struct UsageError {
	std::string what;
	std::string value;
};

// A size as "64", "4k", "16M" or "1G" (powers of 1024).
inline std::uint64_t parse_size(const char* text)
{
	char* end = nullptr;
	errno = 0;
	const unsigned long long value = std::strtoull(text, &end, 0);
	if (errno != 0 || end == text || text[0] == '-')
		throw UsageError{"invalid size", text};
	std::uint64_t unit = 1;
	switch (*end) {
	case 'k': case 'K': unit = KiB; ++end; break;
	case 'm': case 'M': unit = MiB; ++end; break;
	case 'g': case 'G': unit = 1024 * MiB; ++end; break;
	default: break;
	}
	if (*end != '\0' || value > UINT64_MAX / unit)
		throw UsageError{"invalid size", text};
	return value * unit;
}

inline unsigned parse_count(const char* text, unsigned min, unsigned max)
{
	const std::uint64_t value = parse_size(text);
	if (value < min || value > max)
		throw UsageError{"count out of range", text};
	return static_cast<unsigned>(value);
}

// "MIN:MAX", two powers of two with smallest <= MIN <= MAX <= 1G.
inline void parse_size_range(const char* text, std::uint64_t smallest, std::uint64_t& min,
			     std::uint64_t& max)
{
	const std::string range(text);
	const std::size_t colon = range.find(':');
	if (colon == std::string::npos)
		throw UsageError{"sizes are MIN:MAX, not", text};
	min = parse_size(range.substr(0, colon).c_str());
	max = parse_size(range.substr(colon + 1).c_str());
	if (!power_of_two(min) || !power_of_two(max) || min < smallest || min > max ||
	    max > 1024 * MiB)
		throw UsageError{"sizes must be powers of two, " +
					 (smallest > 1 ? std::to_string(smallest) + " <= " : "") +
					 "MIN <= MAX <= 1G, not",
				 text};
}

// A figure and its spread, in ns (per message or per window).
struct Summary {
	std::size_t samples = 0;
	double median = 0;
	double low = 0;  // first quartile, or the lowest of several runs' medians
	double high = 0; // third quartile, or the highest

	double spread_percent() const { return median > 0 ? (high - low) / median * 100 : 0; }
};

// The q-quantile of `values`, interpolated between the two nearest ranks.
inline double quantile(std::vector<double> values, double q)
{
	std::sort(values.begin(), values.end());
	const double position = q * static_cast<double>(values.size() - 1);
	const std::size_t below = static_cast<std::size_t>(position);
	const std::size_t above = std::min(below + 1, values.size() - 1);
	const double weight = position - static_cast<double>(below);
	return values[below] * (1 - weight) + values[above] * weight;
}

inline double megabytes_per_second(std::uint64_t bytes, double ns)
{
	return ns > 0 ? static_cast<double>(bytes) * 1000.0 / ns : 0;
}

inline std::string size_text(std::uint64_t size)
{
	if (size >= MiB && size % MiB == 0)
		return std::to_string(size / MiB) + " MiB";
	if (size >= KiB && size % KiB == 0)
		return std::to_string(size / KiB) + " KiB";
	return std::to_string(size) + " B";
}

} // namespace knem_bench

#endif // KNEM_BENCH_COMMON_HPP
