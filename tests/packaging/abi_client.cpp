// SPDX-License-Identifier: BSD-3-Clause
// A client of the installed development package (libknem-dev), compiled
// with `pkg-config --cflags --libs libknem knem` by check-packaging.sh and
// run in the VM: the classic GET_INFO through knem_io.h, then one copy
// through libknem.  Exits non-zero on any mismatch.
#include <knem.hpp>
#include <knem_io.h>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

namespace {

bool classic_abi_ok() {
	const int fd = open("/dev/knem", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		std::perror("open /dev/knem");
		return false;
	}
	knem_cmd_info info{};
	const int rc = ioctl(fd, KNEM_CMD_GET_INFO, &info);
	close(fd);
	if (rc < 0) {
		std::perror("KNEM_CMD_GET_INFO");
		return false;
	}
	std::printf("knem_io.h: driver ABI 0x%x, header ABI 0x%x\n", info.abi,
		    static_cast<unsigned>(KNEM_ABI_VERSION));
	return info.abi == KNEM_ABI_VERSION;
}

bool libknem_copy_ok() {
	const knem::Device device;
	std::vector<char> source(1 << 20, 'k');
	std::vector<char> target(source.size(), 0);
	const knem::Region region(device, source.data(), source.size(), knem::Protection::Read);
	const bool done = device.read(region.cookie(), 0, target.data(), target.size()).done();
	std::printf("libknem: copy of %zu bytes %s\n", target.size(), done ? "done" : "not done");
	return done && target == source;
}

} // namespace

int main() {
	try {
		return classic_abi_ok() && libknem_copy_ok() ? 0 : 1;
	} catch (const std::exception& e) {
		std::fprintf(stderr, "abi_client: %s\n", e.what());
		return 1;
	}
}
