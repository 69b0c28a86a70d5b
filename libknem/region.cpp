// SPDX-License-Identifier: BSD-3-Clause
//
// region.cpp - CREATE_REGION / DESTROY_REGION with RAII ownership.
#include "internal.hpp"

namespace knem {

namespace {

Cookie create(int fd, const knem_cmd_param_iovec* iovecs, std::size_t count,
	      Protection protection, RegionFlags flags)
{
	knem_cmd_create_region create{};
	create.iovec_array = detail::address(iovecs);
	create.iovec_nr = detail::iovec_count(count, "KNEM_CMD_CREATE_REGION");
	create.flags = bits(flags);
	create.protection = bits(protection);
	detail::ioctl_or_throw(fd, KNEM_CMD_CREATE_REGION, &create, [&] {
		return "KNEM_CMD_CREATE_REGION of " + std::to_string(count) +
		       " segment(s), protection " + detail::hex(bits(protection)) + ", flags " +
		       detail::hex(bits(flags));
	});
	return create.cookie;
}

// DESTROY_REGION; returns the errno, 0 on success.
int destroy_cookie(int fd, Cookie cookie) noexcept
{
	return ::ioctl(fd, KNEM_CMD_DESTROY_REGION, &cookie) < 0 ? errno : 0;
}

} // namespace

Region::Region(const Device& device, Span<const Segment> segments, Protection protection,
	       RegionFlags flags)
	: fd_(device.fd()), single_use_(any(flags & RegionFlags::SingleUse))
{
	const detail::IovecArray iovecs(segments);
	cookie_ = create(fd_, iovecs.data(), iovecs.size(), protection, flags);
}

Region::Region(const Device& device, Span<const knem_cmd_param_iovec> segments,
	       Protection protection, RegionFlags flags)
	: fd_(device.fd()), single_use_(any(flags & RegionFlags::SingleUse))
{
	cookie_ = create(fd_, segments.data(), segments.size(), protection, flags);
}

Region::Region(const Device& device, const void* base, std::size_t length,
	       Protection protection, RegionFlags flags)
	: fd_(device.fd()), single_use_(any(flags & RegionFlags::SingleUse))
{
	const knem_cmd_param_iovec iovec{detail::address(base), length};
	cookie_ = create(fd_, &iovec, 1, protection, flags);
}

Region::Region(Region&& other) noexcept
	: fd_(other.fd_), cookie_(std::exchange(other.cookie_, 0)), single_use_(other.single_use_)
{
}

Region& Region::operator=(Region&& other) noexcept
{
	if (this != &other) {
		if (cookie_ != 0)
			destroy_cookie(fd_, cookie_);
		fd_ = other.fd_;
		cookie_ = std::exchange(other.cookie_, 0);
		single_use_ = other.single_use_;
	}
	return *this;
}

Region::~Region()
{
	// Destructors cannot report: EINVAL is the normal outcome for a
	// consumed single-use region, and any other error is dropped too.
	if (cookie_ != 0)
		destroy_cookie(fd_, cookie_);
}

bool Region::destroy()
{
	const Cookie cookie = release();
	if (cookie == 0)
		return false;
	const int err = destroy_cookie(fd_, cookie);
	if (err == 0)
		return true;
	if (err == EINVAL && single_use_)
		return false;
	detail::throw_error(err, "KNEM_CMD_DESTROY_REGION of cookie " + detail::hex(cookie));
}

Cookie Region::release() noexcept
{
	return std::exchange(cookie_, 0);
}

} // namespace knem
