// SPDX-License-Identifier: BSD-3-Clause
//
// device.cpp - opening /dev/knem, GET_INFO and the ABI check.
#include "internal.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace knem {

namespace detail {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept
{
	if (this != &other) {
		reset();
		fd_ = std::exchange(other.fd_, -1);
	}
	return *this;
}

UniqueFd::~UniqueFd()
{
	reset();
}

void UniqueFd::reset() noexcept
{
	// Linux releases the descriptor even when close() reports EINTR, so
	// it is never retried.
	if (fd_ >= 0)
		::close(std::exchange(fd_, -1));
}

} // namespace detail

Device::Device() : Device(DeviceOptions()) {}

Device::Device(const DeviceOptions& options) : path_(options.path)
{
	const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		const int err = errno;
		detail::throw_error(err, "open " + path_);
	}
	fd_ = detail::UniqueFd(fd);

	knem_cmd_info raw{};
	detail::ioctl_or_throw(fd, KNEM_CMD_GET_INFO, &raw,
			       [&] { return "KNEM_CMD_GET_INFO on " + path_; });
	info_.abi = raw.abi;
	info_.features = raw.features;
	info_.ignored_flags = raw.ignored_flags;
	info_.forced_flags = raw.forced_flags;

	if (options.check_abi && info_.abi != KNEM_ABI_VERSION)
		detail::throw_error(EPROTO, path_ + ": driver ABI " + detail::hex(info_.abi) +
						    " instead of " + detail::hex(KNEM_ABI_VERSION));
}

void Device::destroy_region(Cookie cookie) const
{
	detail::ioctl_or_throw(fd(), KNEM_CMD_DESTROY_REGION, &cookie, [&] {
		return "KNEM_CMD_DESTROY_REGION of cookie " + detail::hex(cookie);
	});
}

} // namespace knem
