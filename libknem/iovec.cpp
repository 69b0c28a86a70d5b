// SPDX-License-Identifier: BSD-3-Clause
//
// iovec.cpp - segment lists in the u64 form of the ABI.
#include "internal.hpp"

#include <limits>

namespace knem::detail {

IovecArray::IovecArray(Span<const Segment> segments) : size_(segments.size())
{
	knem_cmd_param_iovec* out = inline_.data();
	if (segments.size() > inline_capacity) {
		heap_.resize(segments.size());
		out = heap_.data();
	}
	for (std::size_t i = 0; i < segments.size(); ++i) {
		out[i].base = address(segments[i].base);
		out[i].len = segments[i].length;
	}
	data_ = out;
}

knem_u32 iovec_count(std::size_t count, const char* what)
{
	if (count > std::numeric_limits<knem_u32>::max())
		throw_error(EINVAL, std::string(what) + ": " + std::to_string(count) +
					    " segments (more than 2^32-1)");
	return static_cast<knem_u32>(count);
}

} // namespace knem::detail
