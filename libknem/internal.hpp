// SPDX-License-Identifier: BSD-3-Clause
//
// internal.hpp - helpers shared by the libknem sources; not installed.
#ifndef KNEM_INTERNAL_HPP
#define KNEM_INTERNAL_HPP

#include "knem.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <optional>
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

// The free slots of a status array of `size` slots (up to 2^32).  Slots
// never handed out are counted, not listed, so that a huge array costs
// nothing; released ones are reused first, last released first.  Not
// thread-safe: StatusState locks it.
class SlotFreeList {
public:
	explicit SlotFreeList(std::uint64_t size) noexcept : size_(size) {}

	std::uint64_t size() const noexcept { return size_; }
	std::uint64_t in_use() const noexcept { return in_use_; }
	std::uint64_t available() const noexcept { return size_ - in_use_; }

	// A free slot, or nothing when all are in use.
	std::optional<std::uint32_t> acquire()
	{
		if (!released_.empty()) {
			const std::uint32_t slot = released_.back();
			released_.pop_back();
			++in_use_;
			return slot;
		}
		if (fresh_ < size_) {
			++in_use_;
			return static_cast<std::uint32_t>(fresh_++);
		}
		return std::nullopt;
	}

	// Gives back a slot obtained from acquire().  Returns false (and
	// changes nothing) for a slot that was never handed out or when
	// nothing is in use: a double release would hand a slot out twice.
	bool release(std::uint32_t slot)
	{
		if (slot >= fresh_ || in_use_ == 0)
			return false;
		released_.push_back(slot);
		--in_use_;
		return true;
	}

private:
	std::uint64_t size_;
	std::uint64_t fresh_ = 0; // slots [fresh_, size_) were never handed out
	std::uint64_t in_use_ = 0;
	std::vector<std::uint32_t> released_;
};

} // namespace knem::detail

namespace knem::detail {

struct StatusState {
	UniqueFd fd;            // dup of the Device's descriptor
	int origin_fd = -1;     // the Device's descriptor number
	std::uint8_t* base = nullptr;
	std::size_t length = 0; // bytes mapped (page-rounded slots)
	std::mutex lock;        // protects free
	SlotFreeList free{0};

	StatusState() = default;
	StatusState(const StatusState&) = delete;
	StatusState& operator=(const StatusState&) = delete;
	~StatusState();

	Status load(std::uint32_t slot) const noexcept
	{
		return static_cast<Status>(__atomic_load_n(base + slot, __ATOMIC_ACQUIRE));
	}
};

} // namespace knem::detail

#endif // KNEM_INTERNAL_HPP
