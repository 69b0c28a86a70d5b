// SPDX-License-Identifier: BSD-3-Clause
//
// knem_pingpong - two processes exchange buffers through /dev/knem.
//
// The parent and a forked child each open their own /dev/knem.  In every
// iteration each side fills its send buffer with a pattern unique to the
// side and the iteration, declares a region over it (single-use, or one
// cached region made up front with -C), publishes the cookie in a shared
// anonymous mapping, waits for the peer's cookie and reads the peer's
// region into its receive buffer (INLINE_COPY write=0).  With -R each side
// instead declares its receive buffer and writes its send buffer into the
// peer's region (write=1).  Both sides then synchronise.  The received data
// and a guard area behind it are checked after every iteration: a mismatch
// exits with status 1, so the tool doubles as a test.
//
// Both directions run at the same time, so one iteration is a round trip;
// the table gives half of it (iteration time / 2) and the bandwidth of one
// direction over that half (= both directions over the whole iteration).
// Filling and checking the buffers are not timed.
#include <knem.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::size_t guard_size = 64;
constexpr unsigned char guard_byte = 0xa5;

const char* const program = "knem_pingpong";

// ---------------------------------------------------------------------------
// Options

struct Options {
	std::uint64_t start = 1 * KiB;
	std::uint64_t end = 4 * MiB + 1;
	std::uint64_t multiplier = 2;
	std::uint64_t increment = 0;
	std::uint64_t iterations = 256;
	std::uint64_t warmup = 16;
	std::uint64_t budget = 64 * MiB; // bytes per size and direction, 0 = no cap
	bool cached = false;
	bool reverse = false;
	std::optional<std::pair<int, int>> binding;
	knem::CopyFlags flags = knem::CopyFlags::None;
	std::string device = KNEM_DEVICE_FILENAME;
};

void usage(std::FILE* out)
{
	std::fprintf(out,
		"Usage: %s [options]\n"
		"Two processes read (or with -R write) each other's buffers through knem.\n"
		"  -S <size>    first size in bytes (default 1024)\n"
		"  -E <size>    end size, exclusive (default 4 MiB + 1)\n"
		"  -M <mult>    size multiplier (default 2)\n"
		"  -I <incr>    size increment (default 0): next = size * mult + incr\n"
		"  -N <iter>    iterations per size (default 256)\n"
		"  -W <iter>    warmup iterations per size (default 16)\n"
		"  -L <bytes>   cap on the bytes moved per size and direction (default 64 MiB,\n"
		"               0 = no cap): iterations = min(N, max(1, L / size)); when the\n"
		"               cap cuts N, warmup = min(W, max(1, iterations / 4))\n"
		"  -q           quick run for slow (emulated) machines: unless given, -E 1 MiB+1,\n"
		"               -N 32, -W 4, -L 16 MiB\n"
		"  -C           one cached region per side instead of a single-use region per\n"
		"               iteration\n"
		"  -R           reverse: write into the peer's region instead of reading it\n"
		"  -b <n>,<m>   bind the parent to CPU n and the child to CPU m\n"
		"  -F <flags>   copy flags to add (synchronous ones only: DMA=0x1, PINLOCAL=0x10)\n"
		"  -d <path>    device (default " KNEM_DEVICE_FILENAME ")\n"
		"  -h           this help\n"
		"Sizes accept a K, M or G suffix (powers of 1024).\n",
		program);
}

[[noreturn]] void bad_usage(const char* message, const char* value)
{
	std::fprintf(stderr, "%s: %s '%s'\n", program, message, value);
	usage(stderr);
	std::exit(2);
}

std::uint64_t parse_size(const char* text)
{
	errno = 0;
	char* end = nullptr;
	const unsigned long long value = std::strtoull(text, &end, 0);
	if (errno != 0 || end == text || text[0] == '-')
		bad_usage("invalid number", text);
	std::uint64_t scale = 1;
	switch (*end) {
	case 'k': case 'K': scale = KiB; ++end; break;
	case 'm': case 'M': scale = MiB; ++end; break;
	case 'g': case 'G': scale = 1024 * MiB; ++end; break;
	default: break;
	}
	if (*end != '\0' || (value != 0 && value > UINT64_MAX / scale))
		bad_usage("invalid number", text);
	return value * scale;
}

Options parse_options(int argc, char** argv)
{
	Options options;
	bool quick = false;
	bool have_end = false, have_iterations = false, have_warmup = false, have_budget = false;
	int c;
	while ((c = getopt(argc, argv, "S:E:M:I:N:W:L:qCRb:F:d:h")) != -1) {
		switch (c) {
		case 'S': options.start = parse_size(optarg); break;
		case 'E': options.end = parse_size(optarg); have_end = true; break;
		case 'M': options.multiplier = parse_size(optarg); break;
		case 'I': options.increment = parse_size(optarg); break;
		case 'N': options.iterations = parse_size(optarg); have_iterations = true; break;
		case 'W': options.warmup = parse_size(optarg); have_warmup = true; break;
		case 'L': options.budget = parse_size(optarg); have_budget = true; break;
		case 'q': quick = true; break;
		case 'C': options.cached = true; break;
		case 'R': options.reverse = true; break;
		case 'b': {
			int first = -1, second = -1, consumed = 0;
			if (std::sscanf(optarg, "%d,%d%n", &first, &second, &consumed) != 2 ||
			    optarg[consumed] != '\0' || first < 0 || second < 0 ||
			    first >= CPU_SETSIZE || second >= CPU_SETSIZE)
				bad_usage("invalid CPU pair", optarg);
			options.binding = std::make_pair(first, second);
			break;
		}
		case 'F': {
			const std::uint64_t flags = parse_size(optarg);
			if (flags & ~std::uint64_t{KNEM_FLAG_DMA | KNEM_FLAG_PINLOCAL})
				bad_usage("only the synchronous flags DMA (0x1) and PINLOCAL (0x10) are"
					  " supported, not", optarg);
			options.flags = static_cast<knem::CopyFlags>(flags);
			break;
		}
		case 'd': options.device = optarg; break;
		case 'h': usage(stdout); std::exit(0);
		default: usage(stderr); std::exit(2);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument", argv[optind]);
	if (quick) {
		if (!have_end)
			options.end = 1 * MiB + 1;
		if (!have_iterations)
			options.iterations = 32;
		if (!have_warmup)
			options.warmup = 4;
		if (!have_budget)
			options.budget = 16 * MiB;
	}
	if (options.iterations == 0)
		bad_usage("the iteration count must be positive, not", "0");
	return options;
}

// ---------------------------------------------------------------------------
// The sizes and how many iterations each gets.

struct Step {
	std::uint64_t size;
	std::uint64_t iterations;
	std::uint64_t warmup;
};

std::vector<Step> schedule(const Options& options)
{
	std::vector<Step> steps;
	for (std::uint64_t size = options.start; size < options.end;) {
		Step step{size, options.iterations, options.warmup};
		if (options.budget != 0 && size != 0)
			step.iterations = std::min(options.iterations,
						   std::max<std::uint64_t>(1, options.budget / size));
		if (step.iterations < options.iterations)
			step.warmup = std::min(options.warmup,
					       std::max<std::uint64_t>(1, step.iterations / 4));
		steps.push_back(step);

		if (size > (UINT64_MAX - options.increment) / std::max<std::uint64_t>(options.multiplier, 1))
			break;
		const std::uint64_t next = size * options.multiplier + options.increment;
		if (next <= size) {
			std::fprintf(stderr, "%s: sizes do not grow (size %" PRIu64 ", -M %" PRIu64
				     ", -I %" PRIu64 ")\n",
				     program, size, options.multiplier, options.increment);
			std::exit(2);
		}
		size = next;
	}
	return steps;
}

// ---------------------------------------------------------------------------
// Memory

// An anonymous mapping, unmapped on destruction.
class Mapping {
public:
	Mapping(std::size_t length, int flags) : length_(length)
	{
		void* address = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS,
				       -1, 0);
		if (address == MAP_FAILED)
			throw std::system_error(errno, std::generic_category(),
						"mmap of " + std::to_string(length) + " bytes");
		address_ = static_cast<unsigned char*>(address);
	}
	Mapping(const Mapping&) = delete;
	Mapping& operator=(const Mapping&) = delete;
	~Mapping() { ::munmap(address_, length_); }

	unsigned char* data() const noexcept { return address_; }
	std::size_t size() const noexcept { return length_; }

private:
	unsigned char* address_ = nullptr;
	std::size_t length_;
};

// The pattern of one side in one round: 64-bit words counting up from a
// seed, stored little-endian by memcpy (the tail takes the low bytes).
std::uint64_t seed(int side, std::uint64_t round)
{
	std::uint64_t x = round * 2 + static_cast<std::uint64_t>(side) + 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

constexpr std::uint64_t stride = 0x2545f4914f6cdd1dULL;

void fill(unsigned char* buffer, std::size_t size, std::uint64_t value)
{
	std::size_t offset = 0;
	for (; offset + 8 <= size; offset += 8, value += stride)
		std::memcpy(buffer + offset, &value, 8);
	std::memcpy(buffer + offset, &value, size - offset);
}

// Returns the offset of the first byte that differs from the pattern.
std::optional<std::size_t> check(const unsigned char* buffer, std::size_t size, std::uint64_t value,
				 unsigned char* expected_byte)
{
	std::size_t offset = 0;
	unsigned char expected[8];
	for (; offset < size; offset += 8, value += stride) {
		const std::size_t n = std::min<std::size_t>(8, size - offset);
		std::memcpy(expected, &value, 8);
		if (std::memcmp(buffer + offset, expected, n) == 0)
			continue;
		for (std::size_t i = 0; i < n; ++i)
			if (buffer[offset + i] != expected[i]) {
				*expected_byte = expected[i];
				return offset + i;
			}
	}
	return std::nullopt;
}

// ---------------------------------------------------------------------------
// The two processes

// The rendezvous area, in a MAP_SHARED mapping made before fork().
struct alignas(64) SideState {
	std::atomic<std::uint64_t> cookie{0};
	std::atomic<std::uint64_t> cookie_round{0}; // round in which cookie was published
	std::atomic<std::uint64_t> ready_round{0};  // buffers prepared for this round
	std::atomic<std::uint64_t> done_round{0};   // copy of this round finished
};

struct Control {
	SideState side[2];
	alignas(64) std::atomic<int> abort{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
		      std::atomic<int>::is_always_lock_free,
	      "the shared atomics must be lock-free to work across processes");

// Thrown when the peer gave up; it has already said why.
struct PeerFailed {};

class Side {
public:
	Side(int index, Control& control, pid_t peer) : index_(index), control_(control), peer_(peer)
	{
	}

	int index() const noexcept { return index_; }
	const char* name() const noexcept { return index_ == 0 ? "parent" : "child"; }
	SideState& mine() const noexcept { return control_.side[index_]; }
	SideState& theirs() const noexcept { return control_.side[1 - index_]; }

	void wait_for(const std::atomic<std::uint64_t>& value, std::uint64_t round)
	{
		for (unsigned spins = 1; value.load(std::memory_order_acquire) < round; ++spins) {
			if (control_.abort.load(std::memory_order_relaxed))
				throw PeerFailed();
			if (spins % 4096 == 0)
				check_peer();
			sched_yield();
		}
	}

	// The exit status of the child once reaped by the parent.
	std::optional<int> child_status() const noexcept { return child_status_; }

private:
	void check_peer()
	{
		if (index_ == 0) {
			int status = 0;
			if (::waitpid(peer_, &status, WNOHANG) == peer_) {
				child_status_ = status;
				std::fprintf(stderr, "%s: the child process died\n", program);
				throw PeerFailed();
			}
		} else if (::getppid() != peer_) {
			throw PeerFailed();
		}
	}

	int index_;
	Control& control_;
	pid_t peer_;
	std::optional<int> child_status_;
};

void bind_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (::sched_setaffinity(0, sizeof(set), &set) < 0)
		throw std::system_error(errno, std::generic_category(),
					"binding to CPU " + std::to_string(cpu));
}

[[noreturn]] void mismatch(const Side& side, const char* what, std::uint64_t size,
			   std::uint64_t round, std::size_t offset, unsigned got, unsigned expected)
{
	std::fprintf(stderr,
		     "%s: %s: DATA MISMATCH in the %s: size %" PRIu64 ", round %" PRIu64
		     ", byte %zu is 0x%02x instead of 0x%02x\n",
		     program, side.name(), what, size, round, offset, got, expected);
	throw PeerFailed(); // reported; the caller only sets the abort flag
}

// Runs the whole benchmark on one side; side 0 prints the table.
void run(Side& side, const Options& options, const std::vector<Step>& steps)
{
	if (options.binding)
		bind_cpu(side.index() == 0 ? options.binding->first : options.binding->second);

	const knem::Device device(knem::DeviceOptions{options.device, true});

	std::uint64_t largest = 0;
	for (const Step& step : steps)
		largest = std::max(largest, step.size);
	const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
	const std::size_t length = (largest + guard_size + page - 1) / page * page;
	const Mapping send(length, MAP_PRIVATE);
	const Mapping receive(length, MAP_PRIVATE);
	std::memset(send.data(), 0, length);
	std::memset(receive.data(), 0, length);

	// Forward: the peer reads my send buffer.  Reverse: the peer writes
	// into my receive buffer.
	unsigned char* const exposed = options.reverse ? receive.data() : send.data();
	const knem::Protection protection =
		options.reverse ? knem::Protection::Write : knem::Protection::Read;

	std::uint64_t round = 0;
	const auto publish = [&](knem::Cookie cookie) {
		side.mine().cookie.store(cookie, std::memory_order_relaxed);
		side.mine().cookie_round.store(round, std::memory_order_release);
		side.wait_for(side.theirs().cookie_round, round);
		return side.theirs().cookie.load(std::memory_order_relaxed);
	};

	knem::Region cached;
	knem::Cookie cached_peer = 0;
	if (options.cached) {
		cached = knem::Region(device, exposed, largest, protection);
		++round;
		cached_peer = publish(cached.cookie());
	}

	for (const Step& step : steps) {
		const std::size_t size = static_cast<std::size_t>(step.size);
		std::memset(receive.data() + size, guard_byte, guard_size);
		std::chrono::steady_clock::duration timed{};

		for (std::uint64_t i = 0; i < step.warmup + step.iterations; ++i) {
			++round;
			fill(send.data(), size, seed(side.index(), round));
			side.mine().ready_round.store(round, std::memory_order_release);
			side.wait_for(side.theirs().ready_round, round);

			const auto begin = std::chrono::steady_clock::now();
			knem::Region region;
			knem::Cookie peer = cached_peer;
			if (!options.cached) {
				region = knem::Region(device, exposed, size, protection,
						      knem::RegionFlags::SingleUse);
				peer = publish(region.cookie());
			}
			if (options.reverse)
				device.write(peer, 0, send.data(), size, options.flags);
			else
				device.read(peer, 0, receive.data(), size, options.flags);
			side.mine().done_round.store(round, std::memory_order_release);
			side.wait_for(side.theirs().done_round, round);
			const auto end = std::chrono::steady_clock::now();
			if (i >= step.warmup)
				timed += end - begin;
			// The peer's copy consumed the single-use region.
			static_cast<void>(region.release());

			unsigned char expected = 0;
			if (const auto bad = check(receive.data(), size, seed(1 - side.index(), round),
						   &expected))
				mismatch(side, "received data", step.size, round, *bad,
					 receive.data()[*bad], expected);
			for (std::size_t g = 0; g < guard_size; ++g)
				if (receive.data()[size + g] != guard_byte)
					mismatch(side, "guard area behind the received data", step.size,
						 round, size + g, receive.data()[size + g], guard_byte);
		}

		if (side.index() == 0) {
			const double iteration_us =
				std::chrono::duration<double, std::micro>(timed).count() /
				static_cast<double>(step.iterations);
			const double half_us = iteration_us / 2;
			const double mb_per_s = half_us > 0 ? static_cast<double>(step.size) / half_us : 0;
			std::printf("% 9lld:\t%.3f us\t%.2f MB/s\t %.2f MiB/s\n",
				    static_cast<long long>(step.size), half_us, mb_per_s,
				    mb_per_s * 1e6 / static_cast<double>(MiB));
			std::fflush(stdout);
		}
	}
}

// Runs one side and turns every failure into an exit status.
int guarded_run(Side& side, Control& control, const Options& options,
		const std::vector<Step>& steps)
{
	try {
		run(side, options, steps);
		return 0;
	} catch (const PeerFailed&) {
	} catch (const std::exception& e) {
		std::fprintf(stderr, "%s: %s: %s\n", program, side.name(), e.what());
	}
	control.abort.store(1, std::memory_order_relaxed);
	return 1;
}

const char* flags_text(knem::CopyFlags flags)
{
	switch (knem::bits(flags)) {
	case 0: return "none";
	case KNEM_FLAG_DMA: return "DMA";
	case KNEM_FLAG_PINLOCAL: return "PINLOCAL";
	default: return "DMA|PINLOCAL";
	}
}

int pingpong(int argc, char** argv)
{
	Options options = parse_options(argc, argv);
	const std::vector<Step> steps = schedule(options);
	if (steps.empty()) {
		std::fprintf(stderr, "%s: no size in [%" PRIu64 ", %" PRIu64 ")\n", program,
			     options.start, options.end);
		return 2;
	}

	// Check the device once before forking, for one clear message.
	try {
		const knem::Device probe(knem::DeviceOptions{options.device, true});
		if (any(options.flags & knem::CopyFlags::Dma) && !probe.has_dma()) {
			std::printf("# DMA support not available, ignoring it\n");
			options.flags = options.flags & knem::CopyFlags::PinLocal;
		}
	} catch (const std::system_error& e) {
		std::fprintf(stderr, "%s: %s\n", program, e.what());
		if (e.code().value() == ENOENT || e.code().value() == ENODEV ||
		    e.code().value() == ENXIO)
			std::fprintf(stderr, "  knem module not loaded?\n");
		else if (e.code().value() == EACCES)
			std::fprintf(stderr, "  no access: join the 'rdma' group or check the udev rule\n");
		return 1;
	}

	std::printf("# %s: 2 processes, each %s with INLINE_COPY, %s, copy flags %s\n", program,
		    options.reverse ? "writes into the peer's region (-R)"
				    : "reads the peer's region",
		    options.cached ? "one cached region per side (-C)"
				   : "a single-use region per iteration",
		    flags_text(options.flags));
	std::printf("# sizes %" PRIu64 " to %" PRIu64 " (exclusive), x%" PRIu64 " +%" PRIu64
		    "; %" PRIu64 " iterations + %" PRIu64 " warmup, at most %" PRIu64
		    " bytes per size (-L, 0 = no cap); CPUs %s\n",
		    options.start, options.end, options.multiplier, options.increment,
		    options.iterations, options.warmup, options.budget,
		    options.binding ? (std::to_string(options.binding->first) + "," +
				       std::to_string(options.binding->second)).c_str()
				    : "not bound");
	std::printf("# size: half round trip, bandwidth of one direction (both run at once)\n");
	std::fflush(stdout);

	Mapping shared(sizeof(Control), MAP_SHARED);
	Control* const control = new (shared.data()) Control();

	const pid_t parent = ::getpid();
	const pid_t child = ::fork();
	if (child < 0) {
		std::fprintf(stderr, "%s: fork: %s\n", program, std::strerror(errno));
		return 1;
	}
	if (child == 0) {
		::prctl(PR_SET_PDEATHSIG, SIGKILL);
		Side side(1, *control, parent);
		const int status = ::getppid() == parent ? guarded_run(side, *control, options, steps) : 1;
		std::fflush(nullptr);
		::_exit(status);
	}

	Side side(0, *control, child);
	int status = guarded_run(side, *control, options, steps);

	int child_status = 0;
	if (side.child_status()) {
		child_status = *side.child_status();
	} else {
		while (::waitpid(child, &child_status, 0) < 0) {
			if (errno != EINTR) {
				std::fprintf(stderr, "%s: waitpid: %s\n", program, std::strerror(errno));
				return 1;
			}
		}
	}
	if (WIFSIGNALED(child_status)) {
		std::fprintf(stderr, "%s: the child was killed by signal %d\n", program,
			     WTERMSIG(child_status));
		status = 1;
	} else if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0) {
		status = 1;
	}
	control->~Control();
	if (status != 0)
		std::fprintf(stderr, "%s: FAILED\n", program);
	return status;
}

} // namespace

int main(int argc, char** argv)
{
	try {
		return pingpong(argc, argv);
	} catch (const std::exception& e) {
		std::fprintf(stderr, "%s: %s\n", program, e.what());
		return 1;
	}
}
