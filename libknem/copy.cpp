// SPDX-License-Identifier: BSD-3-Clause
//
// copy.cpp - INLINE_COPY[_BOUNDED] and COPY[_BOUNDED].
#include "internal.hpp"

namespace knem {

namespace {

// Written into current_status before the ioctl: the driver overwrites it on
// success, so seeing it afterwards means no status was reported.
constexpr knem_u32 no_status = 0xffffffffU;

enum class Direction { Read, Write };

// Turns the current_status of a successful ioctl into a result.
template <typename What>
CopyResult finish(knem_u32 status, What&& what)
{
	switch (status) {
	case KNEM_STATUS_SUCCESS:
		return CopyResult{Status::Success};
	case KNEM_STATUS_PENDING:
		return CopyResult{Status::Pending};
	case KNEM_STATUS_FAILED:
		detail::throw_error(EIO, what() + ": the copy failed (status FAILED)");
	default:
		detail::throw_error(EPROTO, what() + ": unexpected status " + detail::hex(status));
	}
}

CopyResult inline_copy(int fd, Direction direction, Cookie remote, std::uint64_t remote_offset,
		       const knem_cmd_param_iovec* local, std::size_t count,
		       std::optional<std::uint64_t> length, CopyFlags flags)
{
	const char* const name = length ? "KNEM_CMD_INLINE_COPY_BOUNDED" : "KNEM_CMD_INLINE_COPY";
	const auto what = [&] {
		return std::string(name) + (direction == Direction::Write ? " (write)" : " (read)") +
		       " of cookie " + detail::hex(remote) + " at offset " +
		       std::to_string(remote_offset);
	};
	const knem_u32 nr = detail::iovec_count(count, name);
	const knem_u32 write = direction == Direction::Write ? 1 : 0;

	if (length) {
		knem_cmd_inline_copy_bounded cmd{};
		cmd.local_iovec_array = detail::address(local);
		cmd.local_iovec_nr = nr;
		cmd.write = write;
		cmd.remote_cookie = remote;
		cmd.remote_offset = remote_offset;
		cmd.length = *length;
		cmd.flags = bits(flags);
		cmd.current_status = no_status;
		detail::ioctl_or_throw(fd, KNEM_CMD_INLINE_COPY_BOUNDED, &cmd, what);
		return finish(cmd.current_status, what);
	}
	knem_cmd_inline_copy cmd{};
	cmd.local_iovec_array = detail::address(local);
	cmd.local_iovec_nr = nr;
	cmd.write = write;
	cmd.remote_cookie = remote;
	cmd.remote_offset = remote_offset;
	cmd.flags = bits(flags);
	cmd.current_status = no_status;
	detail::ioctl_or_throw(fd, KNEM_CMD_INLINE_COPY, &cmd, what);
	return finish(cmd.current_status, what);
}

CopyResult inline_copy(int fd, Direction direction, Cookie remote, std::uint64_t remote_offset,
		       Span<const Segment> local, std::optional<std::uint64_t> length,
		       CopyFlags flags)
{
	const detail::IovecArray iovecs(local);
	return inline_copy(fd, direction, remote, remote_offset, iovecs.data(), iovecs.size(),
			   length, flags);
}

} // namespace

CopyResult Device::read(Cookie remote, std::uint64_t remote_offset, Span<const Segment> local,
			CopyFlags flags) const
{
	return inline_copy(fd(), Direction::Read, remote, remote_offset, local, std::nullopt, flags);
}

CopyResult Device::read(Cookie remote, std::uint64_t remote_offset,
			Span<const knem_cmd_param_iovec> local, CopyFlags flags) const
{
	return inline_copy(fd(), Direction::Read, remote, remote_offset, local.data(), local.size(),
			   std::nullopt, flags);
}

CopyResult Device::read(Cookie remote, std::uint64_t remote_offset, void* buffer,
			std::size_t length, CopyFlags flags) const
{
	const knem_cmd_param_iovec iovec{detail::address(buffer), length};
	return inline_copy(fd(), Direction::Read, remote, remote_offset, &iovec, 1, std::nullopt,
			   flags);
}

CopyResult Device::read_bounded(Cookie remote, std::uint64_t remote_offset,
				Span<const Segment> local, std::uint64_t length,
				CopyFlags flags) const
{
	return inline_copy(fd(), Direction::Read, remote, remote_offset, local, length, flags);
}

CopyResult Device::read_bounded(Cookie remote, std::uint64_t remote_offset,
				Span<const knem_cmd_param_iovec> local, std::uint64_t length,
				CopyFlags flags) const
{
	return inline_copy(fd(), Direction::Read, remote, remote_offset, local.data(), local.size(),
			   length, flags);
}

CopyResult Device::write(Cookie remote, std::uint64_t remote_offset, Span<const Segment> local,
			 CopyFlags flags) const
{
	return inline_copy(fd(), Direction::Write, remote, remote_offset, local, std::nullopt,
			   flags);
}

CopyResult Device::write(Cookie remote, std::uint64_t remote_offset,
			 Span<const knem_cmd_param_iovec> local, CopyFlags flags) const
{
	return inline_copy(fd(), Direction::Write, remote, remote_offset, local.data(),
			   local.size(), std::nullopt, flags);
}

CopyResult Device::write(Cookie remote, std::uint64_t remote_offset, const void* buffer,
			 std::size_t length, CopyFlags flags) const
{
	const knem_cmd_param_iovec iovec{detail::address(buffer), length};
	return inline_copy(fd(), Direction::Write, remote, remote_offset, &iovec, 1, std::nullopt,
			   flags);
}

CopyResult Device::write_bounded(Cookie remote, std::uint64_t remote_offset,
				 Span<const Segment> local, std::uint64_t length,
				 CopyFlags flags) const
{
	return inline_copy(fd(), Direction::Write, remote, remote_offset, local, length, flags);
}

CopyResult Device::write_bounded(Cookie remote, std::uint64_t remote_offset,
				 Span<const knem_cmd_param_iovec> local, std::uint64_t length,
				 CopyFlags flags) const
{
	return inline_copy(fd(), Direction::Write, remote, remote_offset, local.data(),
			   local.size(), length, flags);
}

CopyResult Device::copy(Cookie source, std::uint64_t source_offset, Cookie destination,
			std::uint64_t destination_offset, std::optional<std::uint64_t> length,
			CopyFlags flags) const
{
	const auto what = [&] {
		return std::string(length ? "KNEM_CMD_COPY_BOUNDED" : "KNEM_CMD_COPY") +
		       " from cookie " + detail::hex(source) + " at offset " +
		       std::to_string(source_offset) + " to cookie " + detail::hex(destination) +
		       " at offset " + std::to_string(destination_offset);
	};
	if (length) {
		knem_cmd_copy_bounded cmd{};
		cmd.src_cookie = source;
		cmd.src_offset = source_offset;
		cmd.dst_cookie = destination;
		cmd.dst_offset = destination_offset;
		cmd.length = *length;
		cmd.flags = bits(flags);
		cmd.current_status = no_status;
		detail::ioctl_or_throw(fd(), KNEM_CMD_COPY_BOUNDED, &cmd, what);
		return finish(cmd.current_status, what);
	}
	knem_cmd_copy cmd{};
	cmd.src_cookie = source;
	cmd.src_offset = source_offset;
	cmd.dst_cookie = destination;
	cmd.dst_offset = destination_offset;
	cmd.flags = bits(flags);
	cmd.current_status = no_status;
	detail::ioctl_or_throw(fd(), KNEM_CMD_COPY, &cmd, what);
	return finish(cmd.current_status, what);
}

} // namespace knem
