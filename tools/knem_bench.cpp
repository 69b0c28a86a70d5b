// SPDX-License-Identifier: BSD-3-Clause
//
// knem-bench - single-copy transfers through /dev/knem against the other
// ways MPI moves a message between two processes of one node.
//
// One run, on the same buffers, measures per message size (powers of two):
//
//   knem-single  the rendezvous pattern of MPI libraries: per message the
//                sender declares a single-use region and hands its cookie
//                over; the receiver reads it with one INLINE_COPY;
//   knem-cached  the same with one region declared up front (a registration
//                cache hit);
//   cma          the receiver reads the sender's buffer with
//                process_vm_readv(2) after the same hand-over;
//   two-copy     the sender copies the message into a ring of fragments in
//                shared memory while the receiver copies them out, each
//                fragment handed over by a flag (an MPI shared-memory
//                transport: MPICH's nemesis copy buffer has 8 cells of
//                32 KiB, the defaults here);
//   memcpy       one memcpy in the receiver (the limit of any single copy);
//
// and also the cost of declaring a region (per page), the latency of small
// messages, and a broadcast: one root, N-1 readers of the same buffer, with
// one region for all readers (pinned once), one single-use region per reader,
// or CMA.
//
// Processes: the receiver (this process, which times everything), the sender
// and, for the broadcast, N-2 more readers, all exec'ed from this program.
// The message pattern lives in one memfd mapped by every process, the
// reference of every check; the messages themselves travel between private
// buffers: the sender's, which knem and CMA read, and the receiver's
// destination (and its own copy of the message, memcpy's source).  By
// default these are what an application has: aligned_alloc(4096, size)
// from the C library and no madvise, so they get transparent huge pages
// only where the kernel gives them to any memory (THP mode "always"; with
// "madvise", Ubuntu's default, they stay in 4 KiB pages).  With
// --huge-pages they are mappings aligned on 2 MiB and advised for huge
// pages (MADV_HUGEPAGE), which get them in the modes "always" and
// "madvise" if the kernel has them.  The header says which buffers, the
// THP mode, and how much of the sender's and the receiver's buffers are in
// huge pages.  A process waiting for another spins for 50 us, then sleeps
// on a futex (at once with one CPU), so that the benchmark also runs on
// one CPU.
//
// Timing: CLOCK_MONOTONIC from the receiver's request to the sender until
// the data is in the destination buffer.  In the bandwidth section the
// receiver asks for a window of messages at once (16, at most 16 MiB), as
// the rendezvous of that many outstanding sends, like OSU's bandwidth test
// (window 64): a message's time is the window's divided by its messages,
// so that the round trip between the processes (several microseconds when
// they share one CPU) is spread over the window; the latency section times
// one message per round trip, and the round trip alone ("handshake").
// For each size the methods take turns, message after message, after warm-up
// messages.  Every message is checked (one byte per page, untimed), the last
// one of each method and size entirely.  A region's release (unpinning its
// pages) is timed with the message that consumed or destroyed it, where
// knem.ko does it; where it leaves it to a worker (a Xen guest's regions
// shared with dom0), --settle makes the receiver pause after such messages
// so that the worker does not run during the next one.
//
// Output: tables on stdout, then the same figures as CSV between the lines
// "# csv begin" and "# csv end".  Exit status 0 when every message arrived
// intact (and, with --check-counters, /dev/knem counted exactly the copies
// the benchmark made), 1 otherwise, 2 on a usage error.
#include <knem.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <linux/futex.h>
#include <getopt.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.hpp"

namespace {

using namespace knem_bench;

const char* const program = "knem-bench";

constexpr std::size_t page_size = 4096; // marker stride; any page size works
constexpr unsigned max_processes = 16;
constexpr unsigned max_window = 64;
constexpr std::uint64_t window_bytes = 16 * MiB;
constexpr std::size_t huge_page_size = 2 * MiB;


// Thrown when another process of the benchmark failed: it said why.
struct TeamFailed {};

// ---------------------------------------------------------------------------
// Options

struct Options {
	std::uint64_t min_size = 4 * KiB;
	std::uint64_t max_size = 64 * MiB;
	unsigned samples = 9;          // timed messages per method and size, at most
	unsigned min_samples = 3;      // ... at least, whatever the budget
	std::uint64_t budget = 512 * MiB; // bytes per method and size that bound the samples
	unsigned warmup = 2;
	unsigned runs = 1;
	unsigned latency_samples = 200;
	unsigned processes = 4; // of the broadcast: the root and N-1 readers
	std::uint64_t fragment = 32 * KiB;
	unsigned fragments = 8;
	unsigned settle_ms = 0;
	unsigned window = 16;
	bool huge_pages = false;
	bool bandwidth = true, region = true, latency = true, broadcast = true;
	bool check_counters = false;
	std::string label;
};

void usage(std::FILE* out)
{
	std::fprintf(out,
		"Usage: %s [options]\n"
		"Bandwidth of knem (single-use and cached regions), CMA, two-copy through\n"
		"shared memory and memcpy, region creation cost, small-message latency and\n"
		"a one-to-many broadcast.  Needs /dev/knem (knem.ko loaded).\n"
		"  -s, --sizes MIN:MAX     message sizes, powers of two (default 4K:64M)\n"
		"  -n, --samples N         timed samples (messages, or windows of messages in the\n"
		"                          bandwidth section) per method and size, at most\n"
		"                          (default 9)\n"
		"  -m, --min-samples N     ... and at least (default 3)\n"
		"  -b, --budget BYTES      bytes per method and size that bound the samples\n"
		"                          between those two (default 512M)\n"
		"  -w, --warmup N          untimed samples per method and size first (default 2)\n"
		"  -r, --runs N            repeat every measurement N times: figures are then\n"
		"                          the median of the runs' medians (default 1)\n"
		"  -l, --latency-samples N messages per small-message latency (default 200)\n"
		"  -p, --processes N       processes of the broadcast, 2 to %u (default 4)\n"
		"  -f, --fragment BYTES    two-copy fragment size (default 32K)\n"
		"  -F, --fragments N       two-copy fragments in the ring (default 8)\n"
		"  -t, --settle MS         pause after each message that released a region,\n"
		"                          so that a release left to a kernel worker is not\n"
		"                          timed with the next message (default 0: no pause)\n"
		"  -W, --window N          bandwidth messages per request, at most (default 16,\n"
		"                          at most %u; and at most 16M of messages per request)\n"
		"  -H, --huge-pages        message buffers aligned on 2 MiB and advised for\n"
		"                          transparent huge pages (MADV_HUGEPAGE); default: as\n"
		"                          an application's, aligned_alloc(4096, size) with no\n"
		"                          advice, in huge pages only with THP mode \"always\"\n"
		"  -S, --sections LIST     bandwidth,region,latency,broadcast (default all)\n"
		"  -q, --quick             a short smoke run: sizes 4K:256K, 3 samples, 1 warm-up,\n"
		"                          20 latency samples, 3 processes\n"
		"  -c, --check-counters    also check that the /dev/knem request counters grew\n"
		"                          by exactly the copies made here (no other knem user)\n"
		"  -L, --label TEXT        how the run was made, printed in the header\n"
		"  -h, --help              this help\n"
		"Sizes take K, M or G suffixes (powers of 1024).\n",
		program, max_processes, max_window);
}

[[noreturn]] void bad_usage(const char* what, const char* value)
{
	std::fprintf(stderr, "%s: %s '%s'\n", program, what, value);
	usage(stderr);
	std::exit(2);
}

void parse_sections(Options& options, const char* text)
{
	options.bandwidth = options.region = options.latency = options.broadcast = false;
	std::string list(text);
	std::size_t begin = 0;
	while (begin <= list.size()) {
		const std::size_t comma = std::min(list.find(',', begin), list.size());
		const std::string name = list.substr(begin, comma - begin);
		if (name == "bandwidth")
			options.bandwidth = true;
		else if (name == "region")
			options.region = true;
		else if (name == "latency")
			options.latency = true;
		else if (name == "broadcast")
			options.broadcast = true;
		else
			bad_usage("unknown section", name.c_str());
		begin = comma + 1;
	}
}

Options parse_options_or_throw(int argc, char** argv)
{
	static const struct option long_options[] = {
		{"sizes", required_argument, nullptr, 's'},
		{"samples", required_argument, nullptr, 'n'},
		{"min-samples", required_argument, nullptr, 'm'},
		{"budget", required_argument, nullptr, 'b'},
		{"warmup", required_argument, nullptr, 'w'},
		{"runs", required_argument, nullptr, 'r'},
		{"latency-samples", required_argument, nullptr, 'l'},
		{"processes", required_argument, nullptr, 'p'},
		{"fragment", required_argument, nullptr, 'f'},
		{"fragments", required_argument, nullptr, 'F'},
		{"settle", required_argument, nullptr, 't'},
		{"window", required_argument, nullptr, 'W'},
		{"huge-pages", no_argument, nullptr, 'H'},
		{"sections", required_argument, nullptr, 'S'},
		{"quick", no_argument, nullptr, 'q'},
		{"check-counters", no_argument, nullptr, 'c'},
		{"label", required_argument, nullptr, 'L'},
		{"help", no_argument, nullptr, 'h'},
		{nullptr, 0, nullptr, 0},
	};
	Options options;
	Options quick;
	quick.max_size = 256 * KiB;
	quick.samples = quick.min_samples = 3;
	quick.warmup = 1;
	quick.latency_samples = 20;
	quick.processes = 3;

	// --quick first, so that the other options override its values.
	for (int i = 1; i < argc; ++i)
		if (std::strcmp(argv[i], "-q") == 0 || std::strcmp(argv[i], "--quick") == 0)
			options = quick;

	int c;
	while ((c = getopt_long(argc, argv, "s:n:m:b:w:r:l:p:f:F:t:W:HS:qcL:h", long_options,
				nullptr)) != -1) {
		switch (c) {
		case 's':
			parse_size_range(optarg, 1, options.min_size, options.max_size);
			break;
		case 'n': options.samples = parse_count(optarg, 1, 100000); break;
		case 'm': options.min_samples = parse_count(optarg, 1, 100000); break;
		case 'b': options.budget = parse_size(optarg); break;
		case 'w': options.warmup = parse_count(optarg, 0, 100000); break;
		case 'r': options.runs = parse_count(optarg, 1, 1000); break;
		case 'l': options.latency_samples = parse_count(optarg, 1, 10000000); break;
		case 'p': options.processes = parse_count(optarg, 2, max_processes); break;
		case 'f':
			options.fragment = parse_size(optarg);
			if (options.fragment == 0 || options.fragment > 64 * MiB)
				bad_usage("the fragment size must be in (0, 64M], not", optarg);
			break;
		case 'F': options.fragments = parse_count(optarg, 1, 1024); break;
		case 't': options.settle_ms = parse_count(optarg, 0, 10000); break;
		case 'W': options.window = parse_count(optarg, 1, max_window); break;
		case 'H': options.huge_pages = true; break;
		case 'S': parse_sections(options, optarg); break;
		case 'q': break;
		case 'c': options.check_counters = true; break;
		case 'L': options.label = optarg; break;
		case 'h': usage(stdout); std::exit(0);
		default: usage(stderr); std::exit(2);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument", argv[optind]);
	options.min_samples = std::min(options.min_samples, options.samples);
	return options;
}

Options parse_options(int argc, char** argv)
{
	try {
		return parse_options_or_throw(argc, argv);
	} catch (const UsageError& e) {
		bad_usage(e.what.c_str(), e.value.c_str());
	}
}

// ---------------------------------------------------------------------------
// Memory and files

using FileDescriptor = knem::detail::UniqueFd;

// A memfd of `length` bytes, to be shared with the processes exec'ed later.
FileDescriptor make_memfd(const char* name, std::size_t length)
{
	FileDescriptor fd(::memfd_create(name, MFD_CLOEXEC));
	if (fd.get() < 0)
		throw_errno(std::string("memfd_create ") + name);
	if (::ftruncate(fd.get(), static_cast<off_t>(length)) < 0)
		throw_errno(std::string("ftruncate ") + name);
	return fd;
}

std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

// The message buffers: as an application allocates them, or advised for
// transparent huge pages (--huge-pages).
enum class Pages { Malloc, Huge };

// The bytes in transparent huge pages of [begin, begin + length) in this
// process, from /proc/self/smaps (0 when it cannot be read).  smaps counts
// them per mapping (AnonHugePages): a mapping that the range only partly
// covers (the heap of a malloc'd buffer) counts at most the 2 MiB-aligned
// huge pages of the part in the range, which makes the figure an upper
// bound there; it is exact for a range that is its mappings' only content.
std::uint64_t huge_bytes_of(const void* address, std::size_t length)
{
	std::FILE* smaps = std::fopen("/proc/self/smaps", "re");
	if (!smaps)
		return 0;
	const auto begin = reinterpret_cast<std::uintptr_t>(address);
	const std::uintptr_t end = begin + length;
	std::uint64_t total = 0;
	std::uint64_t room = 0; // huge pages of the current mapping within the range
	char line[512];
	while (std::fgets(line, sizeof(line), smaps)) {
		unsigned long start = 0, stop = 0;
		unsigned long long kib = 0;
		if (std::sscanf(line, "%lx-%lx ", &start, &stop) == 2) {
			const std::uintptr_t low = round_up(std::max<std::uintptr_t>(start, begin),
							    huge_page_size);
			const std::uintptr_t high = std::min<std::uintptr_t>(stop, end) /
						    huge_page_size * huge_page_size;
			room = high > low ? high - low : 0;
		} else if (room != 0 && std::sscanf(line, "AnonHugePages: %llu kB", &kib) == 1) {
			total += std::min<std::uint64_t>(kib * KiB, room);
		}
	}
	std::fclose(smaps);
	return total;
}

// The kernel's THP mode: the bracketed word of
// /sys/kernel/mm/transparent_hugepage/enabled ("always", "madvise" or
// "never"), or why there is none.
std::string thp_mode()
{
	const char* const path = "/sys/kernel/mm/transparent_hugepage/enabled";
	std::FILE* file = std::fopen(path, "re");
	if (!file)
		return std::string("unknown (") + path + ": " + std::strerror(errno) + ")";
	char line[256] = "";
	const bool read = std::fgets(line, sizeof(line), file) != nullptr;
	std::fclose(file);
	const std::string text(read ? line : "");
	const std::size_t open = text.find('[');
	const std::size_t close = text.find(']', open);
	if (open == std::string::npos || close == std::string::npos)
		return std::string("unknown (") + path + " unreadable)";
	return text.substr(open + 1, close - open - 1);
}

// A private message buffer, freed on destruction: from aligned_alloc(4096)
// with no advice, as an application's (Malloc), or a mapping aligned on
// and advised for transparent huge pages, rounded up to whole ones, so
// that the kernel can give them from the first touch on (Huge; if it has
// them: see huge_bytes()).
class Buffer {
public:
	Buffer(std::size_t length, Pages pages)
		: length_(round_up(length, pages == Pages::Huge ? huge_page_size : page_size)),
		  memory_(pages == Pages::Huge ? map_huge(length_) : allocate(length_))
	{
	}

	unsigned char* data() const noexcept { return memory_.get(); }
	std::size_t size() const noexcept { return length_; }

	// Populates every page now, so that no message pays a page fault.
	void touch() const { std::memset(data(), 0, length_); }

	// Bytes of the buffer in transparent huge pages now.
	std::uint64_t huge_bytes() const { return huge_bytes_of(data(), length_); }

private:
	// Gives the memory back as it was obtained: munmap of `mapped` bytes
	// (Huge), or free (Malloc: mapped == 0).
	struct Release {
		std::size_t mapped = 0;
		void operator()(unsigned char* address) const noexcept
		{
			if (mapped != 0)
				::munmap(address, mapped);
			else
				std::free(address);
		}
	};
	using Memory = std::unique_ptr<unsigned char, Release>;

	static Memory allocate(std::size_t length)
	{
		errno = 0;
		void* address = std::aligned_alloc(page_size, length);
		if (!address)
			throw std::system_error(errno ? errno : ENOMEM, std::generic_category(),
						"aligned_alloc of " + std::to_string(length) +
							" bytes");
		return Memory(static_cast<unsigned char*>(address), Release{});
	}

	// `length` bytes (a multiple of huge_page_size) at a huge-page boundary:
	// a mapping one huge page longer, trimmed.
	static Memory map_huge(std::size_t length)
	{
		const std::size_t slack = huge_page_size;
		void* raw = ::mmap(nullptr, length + slack, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (raw == MAP_FAILED)
			throw_errno("mmap of " + std::to_string(length + slack) + " bytes");
		const auto begin = reinterpret_cast<std::uintptr_t>(raw);
		const std::uintptr_t aligned = round_up(begin, slack);
		if (aligned > begin)
			::munmap(raw, aligned - begin);
		if (begin + slack > aligned)
			::munmap(reinterpret_cast<void*>(aligned + length), begin + slack - aligned);
		auto* address = reinterpret_cast<unsigned char*>(aligned);
		// EINVAL from a kernel without THP: 4 KiB pages, nothing to undo
		::madvise(address, length, MADV_HUGEPAGE);
		return Memory(address, Release{length});
	}

	std::size_t length_;
	Memory memory_;
};

// A shared mapping of a file, unmapped on destruction.
class Mapping {
public:
	Mapping(std::size_t length, int fd) : length_(length)
	{
		void* address = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (address == MAP_FAILED)
			throw_errno("mmap of " + std::to_string(length) + " bytes");
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


// The source pattern: every 8-byte word distinct, so that a misplaced page
// or fragment shows.
void fill_pattern(unsigned char* buffer, std::size_t length)
{
	std::uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (std::size_t offset = 0; offset + 8 <= length; offset += 8) {
		std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		std::memcpy(buffer + offset, &z, 8);
	}
}


inline void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

// ---------------------------------------------------------------------------
// The shared control area: a memfd mapped by every process.  The fields of
// a mailbox are written before its sequence number is published (release)
// and read after it is seen (acquire).

enum class Op : std::uint32_t {
	None,
	Exit,
	Handshake,  // sender: answer at once
	Single,     // sender: answer `count` cookies of new single-use regions
	Cached,     // sender: answer the cookie of its region over the whole source
	Cma,        // sender: answer the address of the source
	TwoCopy,    // sender: copy `count` messages into the fragment ring
	BcastShared, // sender (root): one region for all readers
	BcastSingle, // sender (root): one single-use region per reader
	BcastCma,   // sender (root): readers use process_vm_readv
	ReadKnem,   // reader: read `arg` (a cookie)
	ReadCma,    // reader: read `arg` (an address in the sender)
};

// One per process (the receiver's is readers[0]): its requests, and the
// doorbell on which it sleeps when it has waited long enough.
struct alignas(64) Mailbox {
	std::atomic<std::uint64_t> posted{0};   // sequence number of the request
	std::atomic<std::uint64_t> answered{0}; // request whose `reply` is valid
	std::atomic<std::uint64_t> finished{0}; // request completely handled
	std::atomic<std::uint32_t> bell{0};     // futex word, bumped to wake the owner
	std::atomic<std::uint32_t> sleeping{0}; // the owner is (about to be) in futex_wait
	Op op = Op::None;
	std::uint64_t size = 0;
	unsigned count = 1;                     // messages of the request
	std::uint64_t arg = 0;
	std::uint64_t reply = 0;
	bool full_check = false;
};

struct alignas(64) FragmentFlag {
	std::atomic<std::uint32_t> full{0};
};

// What every process needs to know, set before they are started.
struct Config {
	std::uint64_t source_size;  // the source memfd's length
	std::uint64_t reader_size;  // the destination buffer of the broadcast readers
	std::uint64_t fragment;
	unsigned fragments;
	unsigned readers;           // of the broadcast, the receiver included
	pid_t receiver;
	Pages pages;                // of the message buffers
};

struct Control {
	Config config;
	std::atomic<int> abort{0};
	std::atomic<unsigned> ready{0};               // processes started
	std::atomic<std::uint64_t> peer_copies{0};    // knem copies of the other readers
	std::atomic<unsigned> readers_done{0};        // of the current broadcast
	std::atomic<pid_t> sender_pid{0};
	std::uint64_t source_address = 0;             // in the sender
	std::uint64_t source_bytes = 0;               // the sender's buffer
	std::uint64_t source_huge_bytes = 0;          // ... in transparent huge pages
	std::uint64_t cookies[max_window] = {};       // answer to Op::Single
	Mailbox sender;
	Mailbox readers[max_processes];               // [0] is the receiver
	FragmentFlag flags[1024];
};
// A peer reads the configuration from the start of the file before mapping it.
static_assert(offsetof(Control, config) == 0, "the configuration leads the control area");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free &&
		      std::atomic<std::uint32_t>::is_always_lock_free,
	      "the shared atomics must be lock-free to work across processes");

std::size_t control_length(const Config& config)
{
	return round_up(sizeof(Control), page_size) + config.fragment * config.fragments;
}

// One process's view of the benchmark's shared state and of its team.
class Team {
public:
	// `self`: the mailbox of this process, whose doorbell it sleeps on.
	Team(Control& control, unsigned char* ring, Mailbox& self, bool receiver)
		: control_(control), ring_(ring), self_(self), receiver_(receiver),
		  spin_ns_(::sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 50000 : 0)
	{
	}

	Control& control() const noexcept { return control_; }
	const Config& config() const noexcept { return control_.config; }
	unsigned char* fragment(unsigned index) const noexcept
	{
		return ring_ + static_cast<std::size_t>(index) * config().fragment;
	}
	// The processes whose death fails the benchmark (receiver only).
	void add_peer(pid_t pid) { peers_.push_back(pid); }
	void remove_peer(pid_t pid) { peers_.erase(std::remove(peers_.begin(), peers_.end(), pid), peers_.end()); }

	// Waits until `done`, giving up when another process failed or died.
	// It spins for 50 us, as MPI libraries poll, then sleeps on its
	// doorbell: a waiter that spins longer would take the CPU from the
	// process it waits for when they share one (the scheduler gives each
	// its fair share), and would be timed with it.  With one CPU it sleeps
	// at once.  Whoever changes what a process waits for rings it.
	template <typename Predicate>
	void wait_until(Predicate done) const
	{
		for (;;) {
			if (done())
				return;
			const std::uint64_t begin = spin_ns_ ? now_ns() : 0;
			for (unsigned polls = 1; spin_ns_ != 0; ++polls) {
				cpu_relax();
				if (done())
					return;
				if (polls % 64 == 0 && now_ns() - begin > spin_ns_)
					break;
			}
			const std::uint32_t bell = self_.bell.load(std::memory_order_acquire);
			self_.sleeping.store(1, std::memory_order_relaxed);
			std::atomic_thread_fence(std::memory_order_seq_cst);
			if (!done())
				futex_wait(self_.bell, bell);
			self_.sleeping.store(0, std::memory_order_release);
			check_team();
		}
	}

	// Wakes the owner of `box` if it sleeps; after the change it waits for
	// is stored.
	static void ring(Mailbox& box)
	{
		std::atomic_thread_fence(std::memory_order_seq_cst);
		if (box.sleeping.load(std::memory_order_relaxed) == 0)
			return;
		box.bell.fetch_add(1, std::memory_order_release);
		::syscall(SYS_futex, &box.bell, FUTEX_WAKE, 1, nullptr, nullptr, 0);
	}

	// With several CPUs, makes sure that the owner of `box` is awake
	// (spinning) before a timed message, so that its wake-up is not
	// timed.  With one CPU every hand-over wakes the peer anyway.
	void rouse(Mailbox& box) const
	{
		if (spin_ns_ == 0)
			return;
		while (box.sleeping.load(std::memory_order_acquire) != 0) {
			ring(box);
			::sched_yield();
		}
	}

	void wait_for(const std::atomic<std::uint64_t>& value, std::uint64_t sequence) const
	{
		wait_until([&] { return value.load(std::memory_order_acquire) >= sequence; });
	}

	// Posts a request for `count` messages into `box`.
	void post(Mailbox& box, std::uint64_t sequence, Op op, std::uint64_t size,
		  unsigned count = 1, std::uint64_t arg = 0, bool full_check = false) const
	{
		box.op = op;
		box.size = size;
		box.count = count;
		box.arg = arg;
		box.full_check = full_check;
		box.posted.store(sequence, std::memory_order_release);
		ring(box);
	}

	// Publishes `value` in `word` and rings the process waiting for it.
	template <typename T, typename U>
	static void publish(std::atomic<T>& word, U value, Mailbox& waiter)
	{
		word.store(static_cast<T>(value), std::memory_order_release);
		ring(waiter);
	}

	Mailbox& receiver_box() const noexcept { return control_.readers[0]; }
	Mailbox& sender_box() const noexcept { return control_.sender; }

	void fail() const noexcept { control_.abort.store(1, std::memory_order_relaxed); }

private:
	// Sleeps until the bell is rung (or 20 ms passed, to check the team).
	static void futex_wait(std::atomic<std::uint32_t>& bell, std::uint32_t seen)
	{
		const timespec timeout{0, 20000000};
		::syscall(SYS_futex, &bell, FUTEX_WAIT, seen, &timeout, nullptr, 0);
	}

	void check_team() const
	{
		if (control_.abort.load(std::memory_order_relaxed))
			throw TeamFailed();
		if (!receiver_) {
			if (::getppid() != config().receiver)
				throw TeamFailed();
			return;
		}
		for (pid_t pid : peers_) {
			int status = 0;
			if (::waitpid(pid, &status, WNOHANG) == pid) {
				std::fprintf(stderr, "%s: process %d ended early (%s %d)\n", program,
					     static_cast<int>(pid),
					     WIFSIGNALED(status) ? "signal" : "status",
					     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
				throw TeamFailed();
			}
		}
	}

	Control& control_;
	unsigned char* ring_;
	Mailbox& self_;
	bool receiver_;
	std::uint64_t spin_ns_;
	std::vector<pid_t> peers_;
};

// ---------------------------------------------------------------------------
// Data movers shared by the processes

// Reads `size` bytes at `remote` in process `pid` into `local`, however
// many calls it takes.
void cma_read(pid_t pid, std::uint64_t remote, unsigned char* local, std::size_t size)
{
	std::size_t done = 0;
	while (done < size) {
		const iovec local_iov{local + done, size - done};
		const iovec remote_iov{reinterpret_cast<void*>(remote + done), size - done};
		const ssize_t n = ::process_vm_readv(pid, &local_iov, 1, &remote_iov, 1, 0);
		if (n < 0)
			throw_errno("process_vm_readv of " + std::to_string(size - done) +
				    " bytes from process " + std::to_string(pid));
		if (n == 0)
			throw std::system_error(EIO, std::generic_category(),
						"process_vm_readv made no progress");
		done += static_cast<std::size_t>(n);
	}
}

// The two halves of the shared-memory pipeline: fragment k of a message
// goes through slot k % fragments, whose flag says who may touch it.
void two_copy_in(const Team& team, const unsigned char* source, std::size_t size)
{
	const Config& config = team.config();
	unsigned slot = 0;
	for (std::size_t offset = 0; offset < size; offset += config.fragment) {
		FragmentFlag& flag = team.control().flags[slot];
		team.wait_until([&] { return flag.full.load(std::memory_order_acquire) == 0; });
		std::memcpy(team.fragment(slot), source + offset,
			    std::min<std::size_t>(config.fragment, size - offset));
		Team::publish(flag.full, 1, team.receiver_box());
		slot = slot + 1 == config.fragments ? 0 : slot + 1;
	}
}

void two_copy_out(const Team& team, unsigned char* destination, std::size_t size)
{
	const Config& config = team.config();
	unsigned slot = 0;
	for (std::size_t offset = 0; offset < size; offset += config.fragment) {
		FragmentFlag& flag = team.control().flags[slot];
		team.wait_until([&] { return flag.full.load(std::memory_order_acquire) == 1; });
		std::memcpy(destination + offset, team.fragment(slot),
			    std::min<std::size_t>(config.fragment, size - offset));
		Team::publish(flag.full, 0, team.sender_box());
		slot = slot + 1 == config.fragments ? 0 : slot + 1;
	}
}

// A destination buffer checked against the source after each message:
// one marker byte per page (and the last byte) is scribbled before the
// message and must hold the source's byte after it; on request the whole
// message is compared.
class Destination {
public:
	Destination(const unsigned char* source, std::size_t length, Pages pages)
		: source_(source), buffer_(length, pages)
	{
		buffer_.touch();
	}

	unsigned char* data() const noexcept { return buffer_.data(); }
	std::size_t size() const noexcept { return buffer_.size(); }
	std::uint64_t huge_bytes() const { return buffer_.huge_bytes(); }

	void scribble(std::size_t size) const
	{
		for_each_marker(size, [&](std::size_t i) {
			buffer_.data()[i] = static_cast<unsigned char>(~source_[i]);
		});
	}

	// Returns false (after saying where) when the message is damaged.
	bool check(std::size_t size, bool full, const char* what) const
	{
		std::optional<std::size_t> bad;
		for_each_marker(size, [&](std::size_t i) {
			if (!bad && buffer_.data()[i] != source_[i])
				bad = i;
		});
		if (!bad && full && std::memcmp(buffer_.data(), source_, size) != 0)
			for (std::size_t i = 0; i < size && !bad; ++i)
				if (buffer_.data()[i] != source_[i])
					bad = i;
		if (!bad)
			return true;
		std::fprintf(stderr,
			     "%s: DATA MISMATCH: %s, %zu-byte message: byte %zu is 0x%02x instead of "
			     "0x%02x\n",
			     program, what, size, *bad, buffer_.data()[*bad], source_[*bad]);
		return false;
	}

private:
	template <typename Function>
	static void for_each_marker(std::size_t size, Function function)
	{
		if (size == 0)
			return;
		for (std::size_t i = 0; i < size; i += page_size)
			function(i);
		function(size - 1);
	}

	const unsigned char* source_;
	Buffer buffer_;
};

// ---------------------------------------------------------------------------
// The sender (also the broadcast's root) and the other broadcast readers

void serve_broadcast(const Team& team, const knem::Device& device, const Mailbox& request,
		     std::uint64_t sequence, const Buffer& source)
{
	Control& control = team.control();
	const unsigned readers = team.config().readers;
	const std::size_t size = request.size;
	knem::Region shared;
	control.readers_done.store(0, std::memory_order_relaxed);
	if (request.op == Op::BcastShared)
		shared = knem::Region(device, source.data(), size, knem::Protection::Read);
	for (unsigned r = 0; r < readers; ++r) {
		std::uint64_t arg = 0;
		Op op = Op::ReadKnem;
		if (request.op == Op::BcastShared) {
			arg = shared.cookie();
		} else if (request.op == Op::BcastSingle) {
			knem::Region region(device, source.data(), size, knem::Protection::Read,
					    knem::RegionFlags::SingleUse);
			arg = region.release(); // the reader's copy consumes it
		} else {
			op = Op::ReadCma;
			arg = control.source_address;
		}
		team.post(control.readers[r], sequence, op, size, 1, arg, request.full_check);
	}
	team.wait_until([&] {
		return control.readers_done.load(std::memory_order_acquire) == readers;
	});
	if (shared)
		shared.destroy();
}

void run_sender(Team& team, const Mapping& pattern)
{
	Control& control = team.control();
	const knem::Device device;
	const Buffer source(pattern.size(), team.config().pages);
	std::memcpy(source.data(), pattern.data(), pattern.size());
	control.source_bytes = source.size();
	control.source_huge_bytes = source.huge_bytes();
	const knem::Region cached(device, source.data(), source.size(), knem::Protection::Read);
	// CMA readers are siblings, not parents: let them in under Yama.
	::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	control.source_address = reinterpret_cast<std::uint64_t>(source.data());
	control.sender_pid.store(::getpid(), std::memory_order_release);
	control.ready.fetch_add(1, std::memory_order_release);
	Team::ring(team.receiver_box());

	Mailbox& box = control.sender;
	for (std::uint64_t handled = 0;;) {
		team.wait_until([&] { return box.posted.load(std::memory_order_acquire) > handled; });
		const std::uint64_t sequence = box.posted.load(std::memory_order_acquire);
		const std::size_t size = box.size;
		switch (box.op) {
		case Op::Exit:
			return;
		case Op::Handshake:
			box.reply = 0;
			break;
		case Op::Single:
			for (unsigned i = 0; i < box.count; ++i) {
				knem::Region region(device, source.data(), size,
						    knem::Protection::Read,
						    knem::RegionFlags::SingleUse);
				control.cookies[i] = region.release(); // the receiver's copy consumes it
			}
			break;
		case Op::Cached:
			box.reply = cached.cookie();
			break;
		case Op::Cma:
			box.reply = control.source_address;
			break;
		case Op::TwoCopy:
			for (unsigned i = 0; i < box.count; ++i)
				two_copy_in(team, source.data(), size);
			break;
		case Op::BcastShared:
		case Op::BcastSingle:
		case Op::BcastCma:
			serve_broadcast(team, device, box, sequence, source);
			break;
		default:
			std::fprintf(stderr, "%s: sender: unexpected request %u\n", program,
				     static_cast<unsigned>(box.op));
			throw TeamFailed();
		}
		box.answered.store(sequence, std::memory_order_release);
		Team::publish(box.finished, sequence, team.receiver_box());
		handled = sequence;
	}
}

// Reads one broadcast message into `destination` as reader `box`.
std::uint64_t broadcast_read(const Team& team, const knem::Device& device, const Mailbox& box,
			     const Destination& destination)
{
	const pid_t sender = team.control().sender_pid.load(std::memory_order_acquire);
	if (box.op == Op::ReadKnem) {
		device.read(box.arg, 0, destination.data(), box.size);
		return 1;
	}
	cma_read(sender, box.arg, destination.data(), box.size);
	return 0;
}

void run_reader(Team& team, unsigned index, const Mapping& source)
{
	Control& control = team.control();
	Mailbox& box = control.readers[index];
	const knem::Device device;
	const Destination destination(source.data(), team.config().reader_size,
				      team.config().pages);
	// The readers of a previous broadcast section left their Exit here.
	std::uint64_t handled = box.posted.load(std::memory_order_acquire);
	control.ready.fetch_add(1, std::memory_order_release);
	Team::ring(team.receiver_box());

	for (;;) {
		team.wait_until([&] { return box.posted.load(std::memory_order_acquire) > handled; });
		const std::uint64_t sequence = box.posted.load(std::memory_order_acquire);
		if (box.op == Op::Exit)
			return;
		if (box.op != Op::ReadKnem && box.op != Op::ReadCma) {
			std::fprintf(stderr, "%s: reader %u: unexpected request %u\n", program, index,
				     static_cast<unsigned>(box.op));
			throw TeamFailed();
		}
		control.peer_copies.fetch_add(broadcast_read(team, device, box, destination),
					      std::memory_order_relaxed);
		control.readers_done.fetch_add(1, std::memory_order_acq_rel);
		Team::ring(team.sender_box());
		if (!destination.check(box.size, box.full_check, "broadcast reader"))
			throw TeamFailed();
		destination.scribble(box.size);
		Team::publish(box.finished, sequence, team.receiver_box());
		handled = sequence;
	}
}

// The entry point of an exec'ed process: --peer sender|reader INDEX CONTROL_FD SOURCE_FD.
int peer_main(int argc, char** argv)
{
	if (argc != 6)
		return 2;
	const std::string role = argv[2];
	const unsigned index = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
	const int control_fd = static_cast<int>(std::strtol(argv[4], nullptr, 10));
	const FileDescriptor source_fd(static_cast<int>(std::strtol(argv[5], nullptr, 10)));
	Config config;
	if (::pread(control_fd, &config, sizeof(config), 0) != static_cast<ssize_t>(sizeof(config)))
		throw_errno("reading the configuration");
	const Mapping shared(control_length(config), control_fd);
	::close(control_fd);
	Control& control = *std::launder(reinterpret_cast<Control*>(shared.data()));
	Mailbox& self = role == "sender" ? control.sender : control.readers[std::min(index, max_processes - 1)];
	Team team(control, shared.data() + round_up(sizeof(Control), page_size), self, false);
	try {
		const Mapping source(config.source_size, source_fd.get());
		if (role == "sender")
			run_sender(team, source);
		else if (role == "reader" && index > 0 && index < config.readers)
			run_reader(team, index, source);
		else
			return 2;
		return 0;
	} catch (const TeamFailed&) {
	} catch (const std::exception& e) {
		std::fprintf(stderr, "%s: %s %u: %s\n", program, role.c_str(), index, e.what());
	}
	team.fail();
	return 1;
}

// ---------------------------------------------------------------------------
// Results

struct Key {
	std::string section;
	std::string method;
	std::uint64_t size;

	bool operator<(const Key& other) const
	{
		return std::tie(section, method, size) <
		       std::tie(other.section, other.method, other.size);
	}
};



class Results {
public:
	void add(const Key& key, unsigned run, double ns)
	{
		auto& runs = samples_[key];
		if (runs.size() <= run)
			runs.resize(run + 1);
		runs[run].push_back(ns);
	}

	bool has(const Key& key) const { return samples_.count(key) != 0; }

	// One run: the median of its samples, spread = interquartile range.
	// Several: the median of the runs' medians, spread = their range.
	Summary summary(const Key& key) const
	{
		const auto& runs = samples_.at(key);
		Summary s;
		for (const auto& run : runs)
			s.samples += run.size();
		if (runs.size() == 1) {
			s.median = quantile(runs[0], 0.5);
			s.low = quantile(runs[0], 0.25);
			s.high = quantile(runs[0], 0.75);
			return s;
		}
		std::vector<double> medians;
		for (const auto& run : runs)
			medians.push_back(quantile(run, 0.5));
		s.median = quantile(medians, 0.5);
		s.low = *std::min_element(medians.begin(), medians.end());
		s.high = *std::max_element(medians.begin(), medians.end());
		return s;
	}

private:
	std::map<Key, std::vector<std::vector<double>>> samples_;
};



// ---------------------------------------------------------------------------
// The receiver: starts the others, measures, reports

enum class Method { Handshake, Single, Cached, Cma, TwoCopy, Memcpy };

const char* method_name(Method method)
{
	switch (method) {
	case Method::Handshake: return "handshake";
	case Method::Single: return "knem-single";
	case Method::Cached: return "knem-cached";
	case Method::Cma: return "cma";
	case Method::TwoCopy: return "two-copy";
	case Method::Memcpy: return "memcpy";
	}
	return "?";
}

constexpr Method transfer_methods[] = {Method::Single, Method::Cached, Method::Cma,
				       Method::TwoCopy, Method::Memcpy};
constexpr Method latency_methods[] = {Method::Handshake, Method::Single, Method::Cached,
				      Method::Cma, Method::TwoCopy, Method::Memcpy};

struct BroadcastMethod {
	Op op;
	const char* name;
};
constexpr BroadcastMethod broadcast_methods[] = {
	{Op::BcastShared, "knem-pin-once"},
	{Op::BcastSingle, "knem-per-reader"},
	{Op::BcastCma, "cma"},
};

// The broadcast's sizes: those of the targets within the range, else the
// largest size.
std::vector<std::uint64_t> broadcast_sizes_of(const Options& options)
{
	std::vector<std::uint64_t> chosen;
	for (std::uint64_t size : {64 * KiB, 1 * MiB, 16 * MiB})
		if (size >= options.min_size && size <= options.max_size)
			chosen.push_back(size);
	if (chosen.empty())
		chosen.push_back(options.max_size);
	return chosen;
}

// An exec'ed peer process, killed if still there when this goes away.
class Peer {
public:
	Peer(const char* role, unsigned index, int control_fd, int source_fd)
	{
		const std::string args[] = {program, "--peer", role, std::to_string(index),
					    std::to_string(control_fd), std::to_string(source_fd)};
		const pid_t parent = ::getpid();
		pid_ = ::fork();
		if (pid_ < 0)
			throw_errno("fork");
		if (pid_ == 0) {
			::prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (::getppid() != parent)
				::_exit(1);
			::fcntl(control_fd, F_SETFD, 0);
			::fcntl(source_fd, F_SETFD, 0);
			const char* argv[] = {args[0].c_str(), args[1].c_str(), args[2].c_str(),
					      args[3].c_str(), args[4].c_str(), args[5].c_str(),
					      nullptr};
			::execv("/proc/self/exe", const_cast<char* const*>(argv));
			std::fprintf(stderr, "%s: exec /proc/self/exe: %s\n", program,
				     std::strerror(errno));
			::_exit(127);
		}
	}
	Peer(Peer&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
	Peer(const Peer&) = delete;
	Peer& operator=(const Peer&) = delete;
	~Peer()
	{
		if (pid_ > 0) {
			::kill(pid_, SIGKILL);
			::waitpid(pid_, nullptr, 0);
		}
	}

	pid_t pid() const noexcept { return pid_; }

	// Waits for the exit; true when it exited with status 0.
	bool join()
	{
		int status = 0;
		pid_t pid = std::exchange(pid_, -1);
		while (::waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return false;
		return WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}

private:
	pid_t pid_ = -1;
};

class Receiver {
public:
	Receiver(const Options& options, Team& team, const Mapping& source, int control_fd,
		 int source_fd)
		: options_(options), team_(team), control_(team.control()), pattern_(source),
		  control_fd_(control_fd), source_fd_(source_fd),
		  source_(source.size(), team.config().pages),
		  destination_(source.data(), source.size(), team.config().pages)
	{
		std::memcpy(source_.data(), pattern_.data(), pattern_.size());
	}

	// The bytes of the receiver's buffers in transparent huge pages.
	std::uint64_t huge_bytes() const { return source_.huge_bytes() + destination_.huge_bytes(); }
	std::uint64_t buffer_bytes() const { return source_.size() + destination_.size(); }

	// Starts a peer process and waits until it is ready.
	Peer start(const char* role, unsigned index)
	{
		Peer peer(role, index, control_fd_, source_fd_);
		team_.add_peer(peer.pid());
		++started_;
		team_.wait_until([&] {
			return control_.ready.load(std::memory_order_acquire) == started_;
		});
		return peer;
	}

	// Asks a peer to exit (in its mailbox) and waits for it.
	void stop(Peer& peer, Mailbox& box)
	{
		team_.post(box, ++sequence_, Op::Exit, 0);
		team_.remove_peer(peer.pid());
		if (!peer.join()) {
			std::fprintf(stderr, "%s: a peer process failed\n", program);
			throw TeamFailed();
		}
	}

	std::uint64_t copies() const noexcept { return copies_; }
	const Results& results() const noexcept { return results_; }

	void measure(unsigned run)
	{
		if (options_.bandwidth)
			bandwidth(run);
		if (options_.region)
			region(run);
		if (options_.latency)
			latency(run);
		if (options_.broadcast)
			broadcast(run);
	}

	std::vector<std::uint64_t> sizes() const
	{
		std::vector<std::uint64_t> sizes;
		for (std::uint64_t size = options_.min_size; size <= options_.max_size; size *= 2)
			sizes.push_back(size);
		return sizes;
	}

	std::vector<std::uint64_t> broadcast_sizes() const { return broadcast_sizes_of(options_); }

private:
	// Asks the sender for `count` messages by `op` and waits for its answer.
	std::uint64_t ask(Op op, std::size_t size, unsigned count)
	{
		const std::uint64_t sequence = ++sequence_;
		team_.post(control_.sender, sequence, op, size, count);
		team_.wait_for(control_.sender.answered, sequence);
		return control_.sender.reply;
	}

	// `count` messages by `method` after one request, each into the same
	// destination; returns the duration of one in ns.
	double transfer(Method method, std::size_t size, unsigned count)
	{
		unsigned char* const destination = destination_.data();
		const std::uint64_t begin = now_ns();
		switch (method) {
		case Method::Handshake:
			ask(Op::Handshake, size, count);
			break;
		case Method::Single:
			ask(Op::Single, size, count);
			for (unsigned i = 0; i < count; ++i)
				device_.read(control_.cookies[i], 0, destination, size);
			copies_ += count;
			break;
		case Method::Cached: {
			const std::uint64_t cookie = ask(Op::Cached, size, count);
			for (unsigned i = 0; i < count; ++i)
				device_.read(cookie, 0, destination, size);
			copies_ += count;
			break;
		}
		case Method::Cma: {
			const std::uint64_t address = ask(Op::Cma, size, count);
			const pid_t sender = control_.sender_pid.load(std::memory_order_relaxed);
			for (unsigned i = 0; i < count; ++i)
				cma_read(sender, address, destination, size);
			break;
		}
		case Method::TwoCopy: {
			const std::uint64_t sequence = ++sequence_;
			team_.post(control_.sender, sequence, Op::TwoCopy, size, count);
			for (unsigned i = 0; i < count; ++i)
				two_copy_out(team_, destination, size);
			break;
		}
		case Method::Memcpy:
			for (unsigned i = 0; i < count; ++i) {
				std::memcpy(destination, source_.data(), size);
				asm volatile("" ::: "memory"); // the copy is not dead
			}
			break;
		}
		return static_cast<double>(now_ns() - begin) / count;
	}

	void verify(const char* what, std::size_t size, bool full)
	{
		if (!destination_.check(size, full, what))
			throw TeamFailed();
		destination_.scribble(size);
	}

	// Where a destroyed or consumed region is released later by a kernel
	// worker, sleeping lets that work run now rather than during the next
	// message: its cost is the region's, not the next method's.
	void settle() const
	{
		if (options_.settle_ms == 0)
			return;
		const timespec pause{0, static_cast<long>(options_.settle_ms) * 1000000L};
		::nanosleep(&pause, nullptr);
	}

	unsigned window_for(std::uint64_t size) const
	{
		return static_cast<unsigned>(std::clamp<std::uint64_t>(window_bytes / size, 1,
								      options_.window));
	}

	// Timed windows (of `window` messages) within the budget of bytes.
	unsigned samples_for(std::uint64_t size, unsigned window = 1) const
	{
		const std::uint64_t by_budget = options_.budget / (size * window);
		return static_cast<unsigned>(std::clamp<std::uint64_t>(
			by_budget, options_.min_samples, options_.samples));
	}

	// Methods take turns, one message each, so that a slow phase of the
	// machine hits them all alike.
	void interleaved(const char* section, const Method* methods, std::size_t count,
			 std::size_t size, unsigned window, unsigned samples, unsigned run)
	{
		destination_.scribble(size);
		for (unsigned i = 0; i < options_.warmup + samples; ++i) {
			const bool last = i + 1 == options_.warmup + samples;
			for (std::size_t m = 0; m < count; ++m) {
				team_.rouse(control_.sender);
				const double ns = transfer(methods[m], size, window);
				if (methods[m] != Method::Handshake)
					verify(method_name(methods[m]), size, last);
				if (methods[m] == Method::Single)
					settle();
				if (i >= options_.warmup)
					results_.add({section, method_name(methods[m]), size}, run, ns);
			}
		}
	}

	void bandwidth(unsigned run)
	{
		for (std::uint64_t size : sizes())
			interleaved("bandwidth", transfer_methods, std::size(transfer_methods), size,
				    window_for(size), samples_for(size, window_for(size)), run);
	}

	void latency(unsigned run)
	{
		for (std::uint64_t size : {8, 1024})
			interleaved("latency", latency_methods, std::size(latency_methods), size, 1,
				    options_.latency_samples, run);
	}

	// CREATE_REGION and DESTROY_REGION over the destination buffer.
	void region(unsigned run)
	{
		for (std::uint64_t size : sizes()) {
			const unsigned samples = samples_for(size);
			for (unsigned i = 0; i < options_.warmup + samples; ++i) {
				const std::uint64_t begin = now_ns();
				knem::Region region(device_, destination_.data(), size,
						    knem::Protection::Read);
				const std::uint64_t created = now_ns();
				region.destroy();
				const std::uint64_t destroyed = now_ns();
				settle();
				if (i < options_.warmup)
					continue;
				results_.add({"region", "create", size}, run,
					     static_cast<double>(created - begin));
				results_.add({"region", "destroy", size}, run,
					     static_cast<double>(destroyed - created));
			}
		}
	}

	// The other readers exist only during the broadcast, so that they do
	// not compete for the CPUs with the other measurements.
	void broadcast(unsigned run)
	{
		const unsigned readers = team_.config().readers;
		std::vector<Peer> peers;
		for (unsigned r = 1; r < readers; ++r)
			peers.push_back(start("reader", r));
		Mailbox& mine = control_.readers[0];
		for (std::uint64_t size : broadcast_sizes()) {
			const unsigned samples = samples_for(size);
			destination_.scribble(size);
			for (unsigned i = 0; i < options_.warmup + samples; ++i) {
				const bool last = i + 1 == options_.warmup + samples;
				for (const BroadcastMethod& method : broadcast_methods) {
					team_.rouse(control_.sender);
					for (unsigned r = 1; r < readers; ++r)
						team_.rouse(control_.readers[r]);
					const std::uint64_t sequence = ++sequence_;
					const std::uint64_t begin = now_ns();
					Mailbox& request = control_.sender;
					team_.post(request, sequence, method.op, size, 1, 0, last);
					team_.wait_for(mine.posted, sequence);
					copies_ += broadcast_read(team_, device_, mine, destination_);
					control_.readers_done.fetch_add(1, std::memory_order_acq_rel);
					Team::ring(team_.sender_box());
					team_.wait_for(request.finished, sequence);
					const double ns = static_cast<double>(now_ns() - begin);
					verify(method.name, size, last);
					for (unsigned r = 1; r < readers; ++r)
						team_.wait_for(control_.readers[r].finished, sequence);
					if (method.op != Op::BcastCma)
						settle();
					if (i >= options_.warmup)
						results_.add({"broadcast", method.name, size}, run, ns);
				}
			}
		}
		for (unsigned r = 1; r < readers; ++r)
			stop(peers[r - 1], control_.readers[r]);
	}

	const Options& options_;
	Team& team_;
	Control& control_;
	const Mapping& pattern_;
	const int control_fd_;
	const int source_fd_;
	const Buffer source_; // memcpy's
	unsigned started_ = 0;
	const knem::Device device_;
	Destination destination_;
	Results results_;
	std::uint64_t sequence_ = 0;
	std::uint64_t copies_ = 0;
};

// ---------------------------------------------------------------------------
// Report

struct CsvRow {
	std::string section, method;
	std::uint64_t size;
	Summary summary;
	double value;
	const char* unit;
};

class Report {
public:
	Report(const Options& options, const Results& results, const Receiver& receiver)
		: options_(options), results_(results), receiver_(receiver)
	{
	}

	void print()
	{
		if (options_.bandwidth)
			bandwidth();
		if (options_.region)
			region();
		if (options_.latency)
			latency();
		if (options_.broadcast)
			broadcast();
		csv();
	}

private:
	Summary get(const char* section, const char* method, std::uint64_t size) const
	{
		return results_.summary({section, method, size});
	}

	void add_row(const char* section, const std::string& method, std::uint64_t size,
		     const Summary& summary, double value, const char* unit)
	{
		rows_.push_back({section, method, size, summary, value, unit});
	}

	void bandwidth()
	{
		std::printf("\n# Bandwidth, MB/s (bytes per microsecond), median ± spread %%\n");
		std::printf("%9s", "size");
		for (Method method : transfer_methods)
			std::printf(" %17s", method_name(method));
		std::printf(" | %7s %7s %7s %7s\n", "sgl/cma", "sgl/2cp", "sgl/mem", "cch/mem");
		for (std::uint64_t size : receiver_.sizes()) {
			std::printf("%9s", size_text(size).c_str());
			std::map<Method, double> mbps;
			for (Method method : transfer_methods) {
				const Summary s = get("bandwidth", method_name(method), size);
				mbps[method] = megabytes_per_second(size, s.median);
				std::printf(" %10.0f ±%4.1f%%", mbps[method], s.spread_percent());
				add_row("bandwidth", method_name(method), size, s, mbps[method], "MB/s");
			}
			const std::pair<const char*, double> ratios[] = {
				{"knem-single/cma", mbps[Method::Single] / mbps[Method::Cma]},
				{"knem-single/two-copy", mbps[Method::Single] / mbps[Method::TwoCopy]},
				{"knem-single/memcpy", mbps[Method::Single] / mbps[Method::Memcpy]},
				{"knem-cached/memcpy", mbps[Method::Cached] / mbps[Method::Memcpy]},
			};
			std::printf(" |");
			for (const auto& [name, ratio] : ratios) {
				std::printf(" %7.2f", ratio);
				add_row("ratio", name, size, Summary{}, ratio, "ratio");
			}
			std::printf("\n");
		}
	}

	void region()
	{
		std::printf("\n# Region creation and destruction (one iovec over private memory)\n");
		std::printf("%9s %6s %12s %12s %14s %14s\n", "size", "pages", "create us",
			    "destroy us", "create ns/pg", "destroy ns/pg");
		for (std::uint64_t size : receiver_.sizes()) {
			const Summary create = get("region", "create", size);
			const Summary destroy = get("region", "destroy", size);
			const double pages = static_cast<double>((size + page_size - 1) / page_size);
			std::printf("%9s %6.0f %8.1f ±%2.0f%% %8.1f ±%2.0f%% %14.1f %14.1f\n",
				    size_text(size).c_str(), pages, create.median / 1000,
				    create.spread_percent(), destroy.median / 1000,
				    destroy.spread_percent(), create.median / pages,
				    destroy.median / pages);
			add_row("region", "create", size, create, create.median / pages, "ns/page");
			add_row("region", "destroy", size, destroy, destroy.median / pages, "ns/page");
		}
	}

	void latency()
	{
		std::printf("\n# Small-message latency, us per message (handshake: the request and"
			    " answer alone), median ± spread %%\n");
		std::printf("%9s", "size");
		for (Method method : latency_methods)
			std::printf(" %16s", method_name(method));
		std::printf("\n");
		for (std::uint64_t size : {8, 1024}) {
			std::printf("%9s", size_text(size).c_str());
			for (Method method : latency_methods) {
				const Summary s = get("latency", method_name(method), size);
				std::printf(" %9.2f ±%4.1f%%", s.median / 1000, s.spread_percent());
				add_row("latency", method_name(method), size, s, s.median / 1000, "us");
			}
			std::printf("\n");
		}
	}

	void broadcast()
	{
		std::printf("\n# Broadcast: 1 root, %u readers of the same buffer; MB/s delivered"
			    " (readers x size / time), median ± spread %%\n",
			    options_.processes - 1);
		std::printf("%9s", "size");
		for (const BroadcastMethod& method : broadcast_methods)
			std::printf(" %17s", method.name);
		std::printf(" | %s\n", "pin-once/per-reader");
		for (std::uint64_t size : receiver_.broadcast_sizes()) {
			std::printf("%9s", size_text(size).c_str());
			std::map<std::string, double> mbps;
			for (const BroadcastMethod& method : broadcast_methods) {
				const Summary s = get("broadcast", method.name, size);
				mbps[method.name] = megabytes_per_second(
					size * (options_.processes - 1), s.median);
				std::printf(" %10.0f ±%4.1f%%", mbps[method.name], s.spread_percent());
				add_row("broadcast", method.name, size, s, mbps[method.name], "MB/s");
			}
			const double ratio = mbps["knem-pin-once"] / mbps["knem-per-reader"];
			std::printf(" | %7.2f\n", ratio);
			add_row("ratio", "pin-once/per-reader", size, Summary{}, ratio, "ratio");
		}
	}

	void csv()
	{
		std::printf("\n# csv begin\n");
		std::printf("section,method,size,samples,runs,median_ns,low_ns,high_ns,spread_pct,"
			    "value,unit\n");
		for (const CsvRow& row : rows_) {
			if (row.summary.samples == 0) {
				std::printf("%s,%s,%" PRIu64 ",,,,,,,%.4f,%s\n", row.section.c_str(),
					    row.method.c_str(), row.size, row.value, row.unit);
				continue;
			}
			std::printf("%s,%s,%" PRIu64 ",%zu,%u,%.0f,%.0f,%.0f,%.2f,%.4f,%s\n",
				    row.section.c_str(), row.method.c_str(), row.size,
				    row.summary.samples, options_.runs, row.summary.median,
				    row.summary.low, row.summary.high, row.summary.spread_percent(),
				    row.value, row.unit);
		}
		std::printf("# csv end\n");
	}

	const Options& options_;
	const Results& results_;
	const Receiver& receiver_;
	std::vector<CsvRow> rows_;
};

// The counters of /dev/knem, to check that its copies were counted.
struct CounterSnapshot {
	std::uint64_t submitted = 0, processed = 0, failed = 0;

	static CounterSnapshot read()
	{
		const knem::Counters c = knem::Stats::read().counters;
		return {c.submitted, c.processed, c.failed_memcpy};
	}
};

bool check_counters(const CounterSnapshot& before, std::uint64_t copies)
{
	const CounterSnapshot after = CounterSnapshot::read();
	const std::uint64_t submitted = after.submitted - before.submitted;
	const std::uint64_t processed = after.processed - before.processed;
	const std::uint64_t failed = after.failed - before.failed;
	const bool ok = submitted == copies && processed == copies && failed == 0;
	std::printf("# counters: %" PRIu64 " knem copies made; /dev/knem: submitted +%" PRIu64
		    ", processed +%" PRIu64 ", failed +%" PRIu64 ": %s\n",
		    copies, submitted, processed, failed, ok ? "OK" : "MISMATCH");
	return ok;
}

void print_header(const Options& options, const knem::Device& device)
{
	std::string version = "(version unknown: /dev/knem not readable)";
	try {
		version = knem::Stats::read().version;
	} catch (const std::system_error&) {
	}
	std::printf("# %s: knem %s (ABI 0x%x)%s%s\n", program, version.c_str(),
		    device.info().abi, options.label.empty() ? "" : "; ", options.label.c_str());
	std::printf("# sizes %s to %s; per method and size: %u warm-up + %u to %u timed samples"
		    " (budget %" PRIu64 " MiB); runs %u\n",
		    size_text(options.min_size).c_str(), size_text(options.max_size).c_str(),
		    options.warmup, options.min_samples, options.samples, options.budget / MiB,
		    options.runs);
	std::printf("# bandwidth: up to %u messages (%s) per request; two-copy: %u fragments of %s;"
		    " broadcast: %u processes; settle %u ms; %ld CPUs online\n",
		    options.window, size_text(window_bytes).c_str(), options.fragments,
		    size_text(options.fragment).c_str(), options.processes, options.settle_ms,
		    ::sysconf(_SC_NPROCESSORS_ONLN));
	std::printf("# spread: %s\n", options.runs > 1
						? "range of the runs' medians"
						: "interquartile range of the timed messages");
	std::fflush(stdout);
}

// Which message buffers, the kernel's THP mode, and how much of the buffers
// it gave in huge pages: a region's cost depends on it.
void print_pages(const Options& options, const Control& control, const Receiver& receiver)
{
	std::printf("# message buffers: %s; THP mode: %s; in transparent huge pages: sender %s"
		    " of %s, receiver %s of %s\n",
		    options.huge_pages ? "advised for huge pages (--huge-pages)"
				       : "as malloc'd: aligned_alloc(4096)",
		    thp_mode().c_str(), size_text(control.source_huge_bytes).c_str(),
		    size_text(control.source_bytes).c_str(),
		    size_text(receiver.huge_bytes()).c_str(),
		    size_text(receiver.buffer_bytes()).c_str());
	std::fflush(stdout);
}

int bench_main(int argc, char** argv)
{
	const Options options = parse_options(argc, argv);
	std::optional<knem::Device> probe;
	try {
		probe.emplace();
	} catch (const std::system_error& e) {
		std::fprintf(stderr, "%s: %s%s\n", program, e.what(),
			     e.code().value() == ENOENT ? " (knem module not loaded?)" : "");
		return 1;
	}
	print_header(options, *probe);
	const CounterSnapshot before =
		options.check_counters ? CounterSnapshot::read() : CounterSnapshot{};

	Config config{};
	// Large enough for the small-message latencies too.
	config.source_size = round_up(std::max<std::uint64_t>(options.max_size, page_size), page_size);
	config.reader_size = round_up(broadcast_sizes_of(options).back(), page_size);
	config.fragment = options.fragment;
	config.fragments = options.fragments;
	config.readers = options.broadcast ? options.processes - 1 : 1;
	config.receiver = ::getpid();
	config.pages = options.huge_pages ? Pages::Huge : Pages::Malloc;

	const FileDescriptor control_fd = make_memfd("knem-bench-control", control_length(config));
	const FileDescriptor source_fd = make_memfd("knem-bench-source", config.source_size);
	const Mapping shared(control_length(config), control_fd.get());
	const Mapping source(config.source_size, source_fd.get());
	fill_pattern(source.data(), source.size());
	Control* const control = new (shared.data()) Control();
	control->config = config;
	Team team(*control, shared.data() + round_up(sizeof(Control), page_size),
		  control->readers[0], true);

	int status = 0;
	std::optional<Receiver> receiver;
	try {
		receiver.emplace(options, team, source, control_fd.get(), source_fd.get());
		Peer sender = receiver->start("sender", 0);
		print_pages(options, *control, *receiver);
		for (unsigned run = 0; run < options.runs; ++run)
			receiver->measure(run);
		receiver->stop(sender, control->sender);
	} catch (const TeamFailed&) {
		team.fail();
		status = 1;
	} catch (const std::exception& e) {
		std::fprintf(stderr, "%s: %s\n", program, e.what());
		team.fail();
		status = 1;
	}
	if (status == 0) {
		Report(options, receiver->results(), *receiver).print();
		if (options.check_counters &&
		    !check_counters(before, receiver->copies() +
						     control->peer_copies.load(std::memory_order_relaxed)))
			status = 1;
	}
	control->~Control();
	if (status != 0)
		std::fprintf(stderr, "%s: FAILED\n", program);
	std::fflush(stdout);
	return status;
}

} // namespace

int main(int argc, char** argv)
{
	try {
		if (argc > 1 && std::strcmp(argv[1], "--peer") == 0)
			return peer_main(argc, argv);
		return bench_main(argc, argv);
	} catch (const std::exception& e) {
		std::fprintf(stderr, "%s: %s\n", program, e.what());
		return 1;
	}
}
