// SPDX-License-Identifier: BSD-3-Clause
//
// internal.hpp - helpers shared by the libknem sources; not installed.
#ifndef KNEM_INTERNAL_HPP
#define KNEM_INTERNAL_HPP

#include "knem.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include <sys/ioctl.h>

#define KNEM_HIDDEN __attribute__((visibility("hidden")))

namespace knem::detail {

// std::system_error(err, generic_category(), what).
[[noreturn]] KNEM_HIDDEN void throw_error(int err, const std::string& what);

// "0x" followed by the lower-case hex digits of value.
KNEM_HIDDEN std::string hex(std::uint64_t value);

// ioctl(fd, request, arg); on failure throws the errno with what().
template <typename Arg, typename What>
void ioctl_or_throw(int fd, unsigned long request, Arg* arg, What&& what)
{
	if (::ioctl(fd, request, arg) < 0) {
		const int err = errno;
		throw_error(err, what());
	}
}

inline knem_u64 address(const void* pointer) noexcept
{
	return static_cast<knem_u64>(reinterpret_cast<std::uintptr_t>(pointer));
}

// The ABI form (u64 base and length) of a list of segments.  Short lists
// stay on the stack.  It points into itself: neither copyable nor movable.
class IovecArray {
public:
	explicit KNEM_HIDDEN IovecArray(Span<const Segment> segments);
	IovecArray(const IovecArray&) = delete;
	IovecArray& operator=(const IovecArray&) = delete;

	const knem_cmd_param_iovec* data() const noexcept { return data_; }
	std::size_t size() const noexcept { return size_; }

private:
	static constexpr std::size_t inline_capacity = 8;
	std::array<knem_cmd_param_iovec, inline_capacity> inline_{};
	std::vector<knem_cmd_param_iovec> heap_;
	const knem_cmd_param_iovec* data_ = nullptr;
	std::size_t size_ = 0;
};

// An iovec count as the u32 of the ABI; EINVAL if it does not fit.
KNEM_HIDDEN knem_u32 iovec_count(std::size_t count, const char* what);

} // namespace knem::detail

#endif // KNEM_INTERNAL_HPP
