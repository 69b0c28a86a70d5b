// SPDX-License-Identifier: BSD-3-Clause
//
// async.cpp - asynchronous copies: the status array, the slots handed to
// AsyncCopy handles, and the notify-fd queue.
#include "internal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace knem {

namespace detail {

StatusState::~StatusState()
{
	if (base)
		::munmap(base, length);
}

struct AsyncAccess {
	static const std::shared_ptr<StatusState>& state(const StatusArray& slots) noexcept
	{
		return slots.state_;
	}
	static std::shared_ptr<StatusState>& state(StatusArray& slots) noexcept
	{
		return slots.state_;
	}
	static AsyncCopy make(std::shared_ptr<StatusState> state, std::uint32_t slot,
			      Status known) noexcept
	{
		return AsyncCopy(std::move(state), slot, known);
	}
};

} // namespace detail

namespace {

constexpr std::uint64_t max_slots = std::uint64_t(1) << 32;
// Written into current_status before the ioctl (see copy.cpp).
constexpr knem_u32 no_status = 0xffffffffU;

std::size_t page_size() noexcept
{
	static const long size = ::sysconf(_SC_PAGESIZE);
	return size > 0 ? static_cast<std::size_t>(size) : 4096;
}

// One step of waiting: spin, then yield, then sleep 1 us doubling to 1 ms.
void backoff(unsigned& round) noexcept
{
	if (round < 64) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	} else if (round < 128) {
		::sched_yield();
	} else {
		const unsigned shift = std::min(round - 128, 10U);
		struct timespec ts = {0, static_cast<long>(1000L << shift)};
		::nanosleep(&ts, nullptr);
	}
	if (round < 1000)
		++round;
}

// Throws for a final status other than Success.
void check_final(Status status, std::uint32_t slot)
{
	if (status == Status::Success)
		return;
	if (status == Status::Failed)
		detail::throw_error(EIO, "asynchronous knem copy in slot " + std::to_string(slot) +
						 " failed (status FAILED)");
	detail::throw_error(EPROTO, "asynchronous knem copy in slot " + std::to_string(slot) +
					    ": unexpected status " +
					    detail::hex(static_cast<std::uint8_t>(status)));
}

enum class Direction { Read, Write };

// Takes a slot of `slots` for a request issued on `device_fd`, issues it,
// and wraps the result.  Cmd is one of the copy structures.
template <typename Cmd, typename What>
AsyncCopy submit(int device_fd, StatusArray& slots, unsigned long request, Cmd& cmd,
		 What&& what)
{
	const std::shared_ptr<detail::StatusState>& state = detail::AsyncAccess::state(slots);
	if (!state)
		detail::throw_error(EINVAL, what() + ": empty StatusArray");
	if (state->origin_fd != device_fd)
		detail::throw_error(EINVAL, what() + ": the StatusArray belongs to another Device");
	std::uint32_t slot;
	{
		std::lock_guard<std::mutex> guard(state->lock);
		const std::optional<std::uint32_t> free = state->free.acquire();
		if (!free)
			detail::throw_error(EBUSY, what() + ": all " +
							   std::to_string(state->free.size()) +
							   " status slots are in use");
		slot = *free;
	}
	const auto give_back = [&] {
		std::lock_guard<std::mutex> guard(state->lock);
		state->free.release(slot);
	};
	cmd.async_status_index = slot;
	cmd.current_status = no_status;
	if (::ioctl(device_fd, request, &cmd) < 0) {
		const int err = errno;
		give_back();
		detail::throw_error(err, what());
	}
	Status known;
	switch (cmd.current_status) {
	case KNEM_STATUS_PENDING:
		known = Status::Pending;
		break;
	case KNEM_STATUS_SUCCESS:
		known = Status::Success;
		break;
	case KNEM_STATUS_FAILED:
		known = Status::Failed;
		break;
	default:
		give_back();
		detail::throw_error(EPROTO, what() + ": unexpected status " +
						    detail::hex(cmd.current_status));
	}
	return detail::AsyncAccess::make(state, slot, known);
}

AsyncCopy submit_inline(int fd, StatusArray& slots, Direction direction, Cookie remote,
			std::uint64_t remote_offset, const knem_cmd_param_iovec* local,
			std::size_t count, std::optional<std::uint64_t> length, CopyFlags flags)
{
	const char* const name = length ? "KNEM_CMD_INLINE_COPY_BOUNDED" : "KNEM_CMD_INLINE_COPY";
	const auto what = [&] {
		return std::string("asynchronous ") + name +
		       (direction == Direction::Write ? " (write)" : " (read)") + " of cookie " +
		       detail::hex(remote) + " at offset " + std::to_string(remote_offset);
	};
	const knem_u32 nr = detail::iovec_count(count, name);
	if (length) {
		knem_cmd_inline_copy_bounded cmd{};
		cmd.local_iovec_array = detail::address(local);
		cmd.local_iovec_nr = nr;
		cmd.write = direction == Direction::Write ? 1 : 0;
		cmd.remote_cookie = remote;
		cmd.remote_offset = remote_offset;
		cmd.length = *length;
		cmd.flags = bits(flags);
		return submit(fd, slots, KNEM_CMD_INLINE_COPY_BOUNDED, cmd, what);
	}
	knem_cmd_inline_copy cmd{};
	cmd.local_iovec_array = detail::address(local);
	cmd.local_iovec_nr = nr;
	cmd.write = direction == Direction::Write ? 1 : 0;
	cmd.remote_cookie = remote;
	cmd.remote_offset = remote_offset;
	cmd.flags = bits(flags);
	return submit(fd, slots, KNEM_CMD_INLINE_COPY, cmd, what);
}

AsyncCopy submit_inline(int fd, StatusArray& slots, Direction direction, Cookie remote,
			std::uint64_t remote_offset, Span<const Segment> local,
			std::optional<std::uint64_t> length, CopyFlags flags)
{
	const detail::IovecArray iovecs(local);
	return submit_inline(fd, slots, direction, remote, remote_offset, iovecs.data(),
			     iovecs.size(), length, flags);
}

} // namespace

// ---------------------------------------------------------------------------
// StatusArray

StatusArray::StatusArray(const Device& device, std::size_t slots)
{
	const auto what = [&] {
		return "mmap of " + std::to_string(slots) + " status slots on " + device.path();
	};
	if (slots == 0 || slots > max_slots)
		detail::throw_error(EINVAL, what() + ": between 1 and 2^32 slots");
	const std::size_t page = page_size();
	const std::size_t length = (slots + page - 1) / page * page;

	auto state = std::make_shared<detail::StatusState>();
	const int dup = ::fcntl(device.fd(), F_DUPFD_CLOEXEC, 0);
	if (dup < 0) {
		const int err = errno;
		detail::throw_error(err, what() + ": dup of the descriptor");
	}
	state->fd = detail::UniqueFd(dup);
	state->origin_fd = device.fd();
	void* base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, device.fd(),
			    KNEM_STATUS_ARRAY_FILE_OFFSET);
	if (base == MAP_FAILED) {
		const int err = errno;
		detail::throw_error(err, what());
	}
	state->base = static_cast<std::uint8_t*>(base);
	state->length = length;
	state->free = detail::SlotFreeList(length);
	state_ = std::move(state);
}

std::size_t StatusArray::size() const noexcept
{
	return state_ ? state_->length : 0;
}

std::size_t StatusArray::available() const
{
	if (!state_)
		return 0;
	std::lock_guard<std::mutex> guard(state_->lock);
	return static_cast<std::size_t>(state_->free.available());
}

Status StatusArray::slot(std::uint32_t index) const
{
	if (!state_ || index >= state_->length)
		detail::throw_error(EINVAL, "status slot " + std::to_string(index) +
						    " out of range");
	return state_->load(index);
}

int StatusArray::fd() const noexcept
{
	return state_ ? state_->fd.get() : -1;
}

// ---------------------------------------------------------------------------
// AsyncCopy

AsyncCopy::AsyncCopy(std::shared_ptr<detail::StatusState> state, std::uint32_t slot,
		     Status known) noexcept
	: state_(std::move(state)), slot_(slot), known_(known)
{
}

AsyncCopy::AsyncCopy(AsyncCopy&& other) noexcept
	: state_(std::move(other.state_)), slot_(other.slot_), known_(other.known_)
{
	other.known_ = Status::Success;
}

AsyncCopy& AsyncCopy::operator=(AsyncCopy&& other) noexcept
{
	if (this != &other) {
		reset();
		state_ = std::move(other.state_);
		slot_ = other.slot_;
		known_ = other.known_;
		other.known_ = Status::Success;
	}
	return *this;
}

AsyncCopy::~AsyncCopy()
{
	reset();
}

void AsyncCopy::reset() noexcept
{
	if (!state_)
		return;
	unsigned round = 0;
	while (!done())
		backoff(round);
	{
		std::lock_guard<std::mutex> guard(state_->lock);
		state_->free.release(slot_);
	}
	state_.reset();
	known_ = Status::Success;
}

Status AsyncCopy::status() const noexcept
{
	if (!state_ || known_ != Status::Pending)
		return known_;
	const Status now = state_->load(slot_);
	if (now != Status::Pending)
		known_ = now;
	return now;
}

void AsyncCopy::wait() const
{
	unsigned round = 0;
	while (!done())
		backoff(round);
	check_final(status(), slot_);
}

bool AsyncCopy::wait_for(std::chrono::nanoseconds timeout) const
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	unsigned round = 0;
	while (!done()) {
		if (std::chrono::steady_clock::now() >= deadline)
			return false;
		backoff(round);
	}
	check_final(status(), slot_);
	return true;
}

// ---------------------------------------------------------------------------
// Device::submit_*

AsyncCopy Device::submit_read(StatusArray& slots, Cookie remote, std::uint64_t remote_offset,
			      Span<const Segment> local, CopyFlags flags) const
{
	return submit_inline(fd(), slots, Direction::Read, remote, remote_offset, local,
			     std::nullopt, flags);
}

AsyncCopy Device::submit_read(StatusArray& slots, Cookie remote, std::uint64_t remote_offset,
			      void* buffer, std::size_t length, CopyFlags flags) const
{
	const knem_cmd_param_iovec iovec{detail::address(buffer), length};
	return submit_inline(fd(), slots, Direction::Read, remote, remote_offset, &iovec, 1,
			     std::nullopt, flags);
}

AsyncCopy Device::submit_read_bounded(StatusArray& slots, Cookie remote,
				      std::uint64_t remote_offset, Span<const Segment> local,
				      std::uint64_t length, CopyFlags flags) const
{
	return submit_inline(fd(), slots, Direction::Read, remote, remote_offset, local, length,
			     flags);
}

AsyncCopy Device::submit_write(StatusArray& slots, Cookie remote, std::uint64_t remote_offset,
			       Span<const Segment> local, CopyFlags flags) const
{
	return submit_inline(fd(), slots, Direction::Write, remote, remote_offset, local,
			     std::nullopt, flags);
}

AsyncCopy Device::submit_write(StatusArray& slots, Cookie remote, std::uint64_t remote_offset,
			       const void* buffer, std::size_t length, CopyFlags flags) const
{
	const knem_cmd_param_iovec iovec{detail::address(buffer), length};
	return submit_inline(fd(), slots, Direction::Write, remote, remote_offset, &iovec, 1,
			     std::nullopt, flags);
}

AsyncCopy Device::submit_write_bounded(StatusArray& slots, Cookie remote,
				       std::uint64_t remote_offset, Span<const Segment> local,
				       std::uint64_t length, CopyFlags flags) const
{
	return submit_inline(fd(), slots, Direction::Write, remote, remote_offset, local, length,
			     flags);
}

AsyncCopy Device::submit_copy(StatusArray& slots, Cookie source, std::uint64_t source_offset,
			      Cookie destination, std::uint64_t destination_offset,
			      std::optional<std::uint64_t> length, CopyFlags flags) const
{
	const auto what = [&] {
		return std::string("asynchronous ") +
		       (length ? "KNEM_CMD_COPY_BOUNDED" : "KNEM_CMD_COPY") + " from cookie " +
		       detail::hex(source) + " at offset " + std::to_string(source_offset) +
		       " to cookie " + detail::hex(destination) + " at offset " +
		       std::to_string(destination_offset);
	};
	if (length) {
		knem_cmd_copy_bounded cmd{};
		cmd.src_cookie = source;
		cmd.src_offset = source_offset;
		cmd.dst_cookie = destination;
		cmd.dst_offset = destination_offset;
		cmd.length = *length;
		cmd.flags = bits(flags);
		return submit(fd(), slots, KNEM_CMD_COPY_BOUNDED, cmd, what);
	}
	knem_cmd_copy cmd{};
	cmd.src_cookie = source;
	cmd.src_offset = source_offset;
	cmd.dst_cookie = destination;
	cmd.dst_offset = destination_offset;
	cmd.flags = bits(flags);
	return submit(fd(), slots, KNEM_CMD_COPY, cmd, what);
}

// ---------------------------------------------------------------------------
// NotifyQueue

NotifyQueue::NotifyQueue(const StatusArray& slots) : state_(detail::AsyncAccess::state(slots))
{
	if (!state_)
		detail::throw_error(EINVAL, "NotifyQueue of an empty StatusArray");
	const int fd = state_->fd.get();
	const int flags = ::fcntl(fd, F_GETFL);
	if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		const int err = errno;
		detail::throw_error(err, "NotifyQueue: fcntl(O_NONBLOCK)");
	}
}

int NotifyQueue::fd() const noexcept
{
	return state_ ? state_->fd.get() : -1;
}

bool NotifyQueue::wait(std::optional<std::chrono::milliseconds> timeout) const
{
	if (!state_)
		detail::throw_error(EINVAL, "NotifyQueue::wait on a moved-from queue");
	using clock = std::chrono::steady_clock;
	const auto deadline = timeout ? clock::now() + *timeout : clock::time_point::max();
	for (;;) {
		int ms = -1;
		if (timeout) {
			const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline - clock::now());
			ms = static_cast<int>(std::clamp<long long>(left.count(), 0, 1 << 30));
		}
		struct pollfd pfd = {state_->fd.get(), POLLIN, 0};
		const int n = ::poll(&pfd, 1, ms);
		if (n < 0) {
			const int err = errno;
			if (err == EINTR)
				continue;
			detail::throw_error(err, "poll of the knem notify queue");
		}
		if (n == 0) {
			if (timeout && clock::now() >= deadline)
				return false;
			continue;
		}
		if (pfd.revents & (POLLERR | POLLNVAL))
			detail::throw_error(EINVAL, "poll of the knem notify queue: no status array");
		if (pfd.revents & POLLIN)
			return true;
	}
}

std::vector<std::uint32_t> NotifyQueue::try_pop(std::size_t max) const
{
	if (!state_)
		detail::throw_error(EINVAL, "NotifyQueue::try_pop on a moved-from queue");
	std::vector<std::uint32_t> events(max);
	if (max == 0)
		return events;
	for (;;) {
		const ssize_t n = ::read(state_->fd.get(), events.data(),
					 max * sizeof(std::uint32_t));
		if (n >= 0) {
			events.resize(static_cast<std::size_t>(n) / sizeof(std::uint32_t));
			return events;
		}
		const int err = errno;
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK) {
			events.clear();
			return events;
		}
		detail::throw_error(err, "read of the knem notify queue");
	}
}

std::vector<std::uint32_t> NotifyQueue::pop(std::size_t max,
					    std::optional<std::chrono::milliseconds> timeout) const
{
	using clock = std::chrono::steady_clock;
	const auto deadline = timeout ? clock::now() + *timeout : clock::time_point::max();
	for (;;) {
		std::vector<std::uint32_t> events = try_pop(max);
		if (!events.empty() || max == 0)
			return events;
		std::optional<std::chrono::milliseconds> left;
		if (timeout) {
			left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
										     clock::now());
			if (left->count() < 0)
				left = std::chrono::milliseconds(0);
		}
		if (!wait(left))
			return events;
	}
}

std::vector<std::uint32_t> NotifyQueue::pop_exactly(std::size_t n) const
{
	std::vector<std::uint32_t> out;
	out.reserve(n);
	while (out.size() < n) {
		const std::vector<std::uint32_t> got = pop(n - out.size());
		out.insert(out.end(), got.begin(), got.end());
	}
	return out;
}

} // namespace knem
