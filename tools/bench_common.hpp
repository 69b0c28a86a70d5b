// SPDX-License-Identifier: BSD-3-Clause
// bench_common.hpp - what the benchmarks (knem-bench, knem-xbench) measure
// and print the same way: sizes on the command line and in tables, the
// clock, bandwidth, and the median and quartiles of timed samples.
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

// A size as "64", "4k", "16M" or "1G" (powers of 1024); false when `text`
// is not one or overflows.
inline bool parse_size_text(const char* text, std::uint64_t& size)
{
	char* end = nullptr;
	errno = 0;
	const unsigned long long value = std::strtoull(text, &end, 0);
	if (errno != 0 || end == text || text[0] == '-')
		return false;
	std::uint64_t unit = 1;
	switch (*end) {
	case 'k': case 'K': unit = KiB; ++end; break;
	case 'm': case 'M': unit = MiB; ++end; break;
	case 'g': case 'G': unit = 1024 * MiB; ++end; break;
	default: break;
	}
	if (*end != '\0' || value > UINT64_MAX / unit)
		return false;
	size = value * unit;
	return true;
}

inline bool power_of_two(std::uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

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
