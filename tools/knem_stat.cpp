// SPDX-License-Identifier: BSD-3-Clause
//
// knem_stat - show or reset the request counters of /dev/knem.
#include <knem.hpp>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#include <getopt.h>
#include <unistd.h>

namespace {

const char* program = "knem_stat";

void usage(std::FILE* out)
{
	std::fprintf(out,
		     "Usage: %s [--raw] [--reset] [--device PATH]\n"
		     "Shows the request counters of the knem driver, one per line.\n"
		     "  -r, --raw          print the statistics text as the driver gives it\n"
		     "  -z, --reset        reset the counters (needs root); with --raw, print the\n"
		     "                     text after the reset\n"
		     "  -d, --device PATH  device file (default " KNEM_DEVICE_FILENAME ")\n"
		     "  -h, --help         this help\n",
		     program);
}

// A hint for the errno of a failed open/read/write of the device.
std::string hint(int err, bool resetting)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return "knem module not loaded? (modprobe knem)";
	case EACCES:
		return resetting ? "resetting needs root; as root, check the mode of the device file"
				 : "no access to the device: add your user to the 'rdma' group "
				   "(udev rule 10-knem.rules: KERNEL==\"knem\", GROUP=\"rdma\") "
				   "or make the rule set MODE=\"0666\"";
	case EPERM:
		return "resetting the counters needs root (CAP_SYS_ADMIN)";
	case EPROTO:
		return "unexpected statistics text; try --raw";
	default:
		return {};
	}
}

int fail(const std::system_error& e, bool resetting)
{
	const std::string extra = hint(e.code().value(), resetting);
	std::fprintf(stderr, "%s: %s%s%s\n", program, e.what(), extra.empty() ? "" : "\n  ",
		     extra.c_str());
	return 1;
}

void print(const knem::Stats& stats)
{
	std::printf("%-27s %s\n", "version", stats.version.c_str());
	std::printf("%-27s 0x%" PRIx32 "\n", "driver_abi", stats.abi);
	std::printf("%-27s 0x%" PRIx32 "\n", "forced_flags", stats.forced_flags);
	std::printf("%-27s 0x%" PRIx32 "\n", "ignored_flags", stats.ignored_flags);
	std::printf("%-27s %s\n", "dma_engine", stats.dma.c_str());
	std::printf("%-27s %s\n", "debug", stats.debug.c_str());
	for (const knem::CounterField& field : knem::counter_fields())
		std::printf("%-27s %" PRIu64 "\n", field.name, stats.counters.*field.member);
	for (const std::string& line : stats.extra)
		std::printf("%s\n", line.c_str());
}

} // namespace

int main(int argc, char** argv)
{
	const option options[] = {
		{"raw", no_argument, nullptr, 'r'},
		{"reset", no_argument, nullptr, 'z'},
		{"device", required_argument, nullptr, 'd'},
		{"help", no_argument, nullptr, 'h'},
		{nullptr, 0, nullptr, 0},
	};
	bool raw = false;
	bool reset = false;
	std::string path = KNEM_DEVICE_FILENAME;

	int c;
	while ((c = getopt_long(argc, argv, "rzd:h", options, nullptr)) != -1) {
		switch (c) {
		case 'r':
			raw = true;
			break;
		case 'z':
			reset = true;
			break;
		case 'd':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		std::fprintf(stderr, "%s: unexpected argument '%s'\n", program, argv[optind]);
		usage(stderr);
		return 2;
	}

	if (reset) {
		try {
			knem::Stats::reset(path);
		} catch (const std::system_error& e) {
			return fail(e, true);
		}
		std::printf("knem counters reset\n");
		if (!raw)
			return 0;
	}

	try {
		if (raw)
			std::fputs(knem::Stats::read_text(path).c_str(), stdout);
		else
			print(knem::Stats::read(path));
	} catch (const std::system_error& e) {
		return fail(e, false);
	}
	if (std::fflush(stdout) != 0) {
		std::fprintf(stderr, "%s: writing the output: %s\n", program, std::strerror(errno));
		return 1;
	}
	return 0;
}
