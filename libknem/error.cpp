// SPDX-License-Identifier: BSD-3-Clause
//
// error.cpp - error reporting and small conversions shared by libknem.
#include "internal.hpp"

#include <cinttypes>
#include <cstdio>

namespace knem::detail {

void throw_error(int err, const std::string& what)
{
	throw std::system_error(err, std::generic_category(), what);
}

std::string hex(std::uint64_t value)
{
	char text[2 + 16 + 1];
	std::snprintf(text, sizeof(text), "0x%" PRIx64, value);
	return text;
}

} // namespace knem::detail
