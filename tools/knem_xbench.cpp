// SPDX-License-Identifier: BSD-3-Clause
//
// knem-xbench - knem between two virtual machines against TCP between them.
//
// Two processes, one per machine (two Xen guests whose knem-front share a
// sharing group in dom0, or two processes of one machine), joined by one
// TCP connection:
//
//   knem-xbench sender [--port P]
//       owns the messages: listens, serves one receiver, exits when it
//       leaves;
//   knem-xbench receiver --peer ADDRESS [options]
//       drives the benchmark, times it, checks the data and prints the
//       results.
//
// Per message size (powers of two), the receiver measures:
//
//   knem-single       the MPI rendezvous: per message the sender declares a
//                     single-use region of its buffer and sends the cookie;
//                     the receiver reads it into its buffer with one
//                     INLINE_COPY and acks;
//   knem-cached       the sender's region is declared once (a registration
//                     cache hit): per message only the cookie goes across,
//                     the receiver reads it with INLINE_COPY;
//   knem-cached-copy  both buffers are regions declared once and the
//                     receiver copies region to region (COPY_BOUNDED);
//   tcp               the sender writes the message on the connection, the
//                     receiver reads all of it.
//
// Timing: CLOCK_MONOTONIC in the receiver, from its request until the data
// is in its buffer.  A request asks for a window of messages (16, at most
// 16 MiB) so that the round trip of the request is spread over several
// messages, as in knem-bench; the ack of a window is not timed.  Every
// method and size first moves one message with a fresh pattern that the
// receiver checks byte by byte (untimed), then warm-up windows, then the
// timed ones.
//
// Output: a table on stdout, then the same figures as CSV between the lines
// "# csv begin" and "# csv end" (the columns of knem-bench's CSV, section
// "across-machines").  Exit status 0 when every checked message arrived
// intact, 1 on a failure, 2 on a usage error.
#include <knem.hpp>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.hpp"

namespace {

using namespace knem_bench;

const char* const program = "knem-xbench";

constexpr std::uint64_t window_bytes = 16 * MiB;
constexpr unsigned max_window = 64;
constexpr std::uint16_t default_port = 7707;
constexpr unsigned connect_seconds = 60;



// ---------------------------------------------------------------------------
// Options

enum class Method { Single, Cached, CachedCopy, Tcp };
constexpr Method all_methods[] = {Method::Single, Method::Cached, Method::CachedCopy,
				  Method::Tcp};

const char* method_name(Method method)
{
	switch (method) {
	case Method::Single: return "knem-single";
	case Method::Cached: return "knem-cached";
	case Method::CachedCopy: return "knem-cached-copy";
	case Method::Tcp: return "tcp";
	}
	return "?";
}

struct Options {
	bool sender = false;
	std::string peer;
	std::uint16_t port = default_port;
	std::uint64_t min_size = 4 * KiB;
	std::uint64_t max_size = 64 * MiB;
	unsigned samples = 9;
	unsigned min_samples = 3;
	std::uint64_t budget = 256 * MiB;
	unsigned warmup = 1;
	unsigned window = 16;
	std::vector<Method> methods{std::begin(all_methods), std::end(all_methods)};
	std::string label;
};

void usage(std::FILE* out)
{
	std::fprintf(out,
		"Usage: %s sender [--port P]\n"
		"       %s receiver --peer ADDRESS [options]\n"
		"knem between two machines (single-use and cached regions) against TCP\n"
		"between them.  Needs /dev/knem on both, their knem sharing one group.\n"
		"  -a, --peer ADDRESS      the sender's IPv4 address (receiver)\n"
		"  -p, --port P            TCP port (default %u)\n"
		"  -s, --sizes MIN:MAX     message sizes, powers of two (default 4K:64M)\n"
		"  -n, --samples N         timed windows per method and size, at most (default 9)\n"
		"  -m, --min-samples N     ... and at least (default 3)\n"
		"  -b, --budget BYTES      bytes per method and size that bound the samples\n"
		"                          between those two (default 256M)\n"
		"  -w, --warmup N          untimed windows per method and size first (default 1)\n"
		"  -W, --window N          messages per request, at most (default 16, at most %u;\n"
		"                          and at most 16M of messages per request)\n"
		"  -M, --methods LIST      knem-single,knem-cached,knem-cached-copy,tcp (default all)\n"
		"  -L, --label TEXT        how the run was made, printed in the header\n"
		"  -h, --help              this help\n"
		"Sizes take K, M or G suffixes (powers of 1024).\n",
		program, program, default_port, max_window);
}

[[noreturn]] void bad_usage(const char* what, const char* value)
{
	std::fprintf(stderr, "%s: %s '%s'\n", program, what, value);
	usage(stderr);
	std::exit(2);
}

std::vector<Method> parse_methods(const char* text)
{
	std::vector<Method> methods;
	const std::string list(text);
	std::size_t begin = 0;
	while (begin <= list.size()) {
		const std::size_t comma = std::min(list.find(',', begin), list.size());
		const std::string name = list.substr(begin, comma - begin);
		const auto known = std::find_if(std::begin(all_methods), std::end(all_methods),
						[&](Method m) { return name == method_name(m); });
		if (known == std::end(all_methods))
			bad_usage("unknown method", name.c_str());
		methods.push_back(*known);
		begin = comma + 1;
	}
	return methods;
}

Options parse_options_or_throw(int argc, char** argv)
{
	static const struct option long_options[] = {
		{"peer", required_argument, nullptr, 'a'},
		{"port", required_argument, nullptr, 'p'},
		{"sizes", required_argument, nullptr, 's'},
		{"samples", required_argument, nullptr, 'n'},
		{"min-samples", required_argument, nullptr, 'm'},
		{"budget", required_argument, nullptr, 'b'},
		{"warmup", required_argument, nullptr, 'w'},
		{"window", required_argument, nullptr, 'W'},
		{"methods", required_argument, nullptr, 'M'},
		{"label", required_argument, nullptr, 'L'},
		{"help", no_argument, nullptr, 'h'},
		{nullptr, 0, nullptr, 0},
	};
	Options options;
	if (argc < 2) {
		usage(stderr);
		std::exit(2);
	}
	const std::string role = argv[1];
	if (role == "-h" || role == "--help") {
		usage(stdout);
		std::exit(0);
	}
	if (role != "sender" && role != "receiver")
		bad_usage("the role is sender or receiver, not", argv[1]);
	options.sender = role == "sender";
	optind = 2;
	int c;
	while ((c = getopt_long(argc, argv, "a:p:s:n:m:b:w:W:M:L:h", long_options, nullptr)) !=
	       -1) {
		switch (c) {
		case 'a': options.peer = optarg; break;
		case 'p': options.port = static_cast<std::uint16_t>(parse_count(optarg, 1, 65535)); break;
		case 's':
			parse_size_range(optarg, 8, options.min_size, options.max_size);
			break;
		case 'n': options.samples = parse_count(optarg, 1, 100000); break;
		case 'm': options.min_samples = parse_count(optarg, 1, 100000); break;
		case 'b': options.budget = parse_size(optarg); break;
		case 'w': options.warmup = parse_count(optarg, 0, 100000); break;
		case 'W': options.window = parse_count(optarg, 1, max_window); break;
		case 'M': options.methods = parse_methods(optarg); break;
		case 'L': options.label = optarg; break;
		case 'h': usage(stdout); std::exit(0);
		default: usage(stderr); std::exit(2);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument", argv[optind]);
	if (!options.sender && options.peer.empty())
		bad_usage("the receiver needs --peer, got", "");
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
// Buffers, patterns, the connection

// Anonymous memory, touched so that no page fault is timed.
class Buffer {
public:
	explicit Buffer(std::size_t length) : length_(length)
	{
		void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			throw_errno("mmap of " + std::to_string(length) + " bytes");
		data_ = static_cast<unsigned char*>(p);
	}
	Buffer(const Buffer&) = delete;
	Buffer& operator=(const Buffer&) = delete;
	~Buffer() { ::munmap(data_, length_); }

	unsigned char* data() const { return data_; }
	std::size_t length() const { return length_; }

private:
	unsigned char* data_;
	std::size_t length_;
};

// The 8-byte word at `index` of the pattern `tag`: distinct for every word
// and tag, so that a stale, misplaced or partial message shows.
std::uint64_t pattern_word(std::uint32_t tag, std::uint64_t index)
{
	std::uint64_t z = (static_cast<std::uint64_t>(tag) << 40) + index * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void fill_pattern(unsigned char* buffer, std::size_t length, std::uint32_t tag)
{
	for (std::size_t i = 0; i < length / 8; ++i) {
		const std::uint64_t word = pattern_word(tag, i);
		std::memcpy(buffer + i * 8, &word, 8);
	}
}

// Offset of the first byte that differs from the pattern, or -1.
long long first_difference(const unsigned char* buffer, std::size_t length, std::uint32_t tag)
{
	for (std::size_t i = 0; i < length / 8; ++i) {
		const std::uint64_t expected = pattern_word(tag, i);
		if (std::memcmp(buffer + i * 8, &expected, 8) != 0)
			return static_cast<long long>(i * 8);
	}
	return -1;
}

using Socket = knem::detail::UniqueFd;

Socket tcp_socket()
{
	const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		throw_errno("socket");
	return Socket(fd);
}

// A connected TCP socket without Nagle's delay: requests and cookies are
// small messages that wait for an answer.
class Connection {
public:
	explicit Connection(Socket socket) : socket_(std::move(socket)), fd_(socket_.get())
	{
		const int one = 1;
		if (::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
			throw_errno("TCP_NODELAY");
	}

	void send(const void* data, std::size_t length) const
	{
		const auto* p = static_cast<const unsigned char*>(data);
		while (length > 0) {
			const ssize_t n = ::send(fd_, p, length, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				throw_errno("send");
			p += n;
			length -= static_cast<std::size_t>(n);
		}
	}

	// False when the peer closed the connection before the first byte.
	bool receive(void* data, std::size_t length) const
	{
		auto* p = static_cast<unsigned char*>(data);
		const std::size_t wanted = length;
		while (length > 0) {
			const ssize_t n = ::recv(fd_, p, length, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				throw_errno("recv");
			if (n == 0) {
				if (length == wanted)
					return false;
				errno = ECONNRESET;
				throw_errno("recv: the peer closed the connection in a message");
			}
			p += n;
			length -= static_cast<std::size_t>(n);
		}
		return true;
	}

	template <typename T>
	void send_value(const T& value) const { send(&value, sizeof value); }

	template <typename T>
	T receive_value() const
	{
		T value{};
		if (!receive(&value, sizeof value)) {
			errno = ECONNRESET;
			throw_errno("recv: the peer closed the connection");
		}
		return value;
	}

private:
	Socket socket_;
	int fd_;
};

Connection accept_one(std::uint16_t port)
{
	const Socket socket = tcp_socket();
	const int listener = socket.get();
	const int one = 1;
	::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sockaddr_in address{};
	address.sin_family = AF_INET;
	address.sin_port = htons(port);
	address.sin_addr.s_addr = htonl(INADDR_ANY);
	if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
		throw_errno("bind to port " + std::to_string(port));
	if (::listen(listener, 1) != 0)
		throw_errno("listen");
	std::printf("%s: sender listening on port %u\n", program, port);
	std::fflush(stdout);
	int fd;
	while ((fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) < 0)
		if (errno != EINTR)
			throw_errno("accept");
	return Connection(Socket(fd));
}

// Retries while the sender is not listening yet.
Connection connect_to(const std::string& peer, std::uint16_t port)
{
	sockaddr_in address{};
	address.sin_family = AF_INET;
	address.sin_port = htons(port);
	if (::inet_pton(AF_INET, peer.c_str(), &address.sin_addr) != 1)
		bad_usage("not an IPv4 address", peer.c_str());
	const std::uint64_t deadline = now_ns() + connect_seconds * 1000000000ULL;
	for (;;) {
		Socket socket = tcp_socket();
		if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
			return Connection(std::move(socket));
		if ((errno != ECONNREFUSED && errno != EINTR && errno != ENETUNREACH &&
		     errno != EHOSTUNREACH) ||
		    now_ns() > deadline)
			throw_errno("connect to " + peer + ":" + std::to_string(port));
		::usleep(200000);
	}
}

// ---------------------------------------------------------------------------
// The protocol: the receiver sends a Request, the sender answers with a
// Reply and its payload (cookies, or the message bytes for TCP); Ack ends a
// window of single-use regions.

enum class Op : std::uint32_t { Hello = 1, Fill, Single, Cached, Tcp, Ack, Quit };

constexpr std::uint32_t request_magic = 0x6b786231; // "kxb1"

struct Request {
	std::uint32_t magic = request_magic;
	Op op = Op::Quit;
	std::uint64_t size = 0;  // bytes per message (Hello: the largest)
	std::uint32_t count = 0; // messages
	std::uint32_t tag = 0;   // Fill: the pattern
};

struct Reply {
	std::int32_t error = 0; // an errno value, 0 on success
	std::uint32_t count = 0; // cookies that follow
};

// ---------------------------------------------------------------------------
// The sender

int sender_main(const Options& options)
{
	knem::Device device;
	Connection connection = accept_one(options.port);
	std::optional<Buffer> buffer;
	knem::Region cached;
	std::vector<knem::Cookie> cookies;
	Request request;
	while (connection.receive(&request, sizeof request)) {
		if (request.magic != request_magic)
			throw std::runtime_error("not a knem-xbench receiver");
		Reply reply;
		cookies.clear();
		try {
			if (request.op != Op::Hello && request.op != Op::Ack && request.op != Op::Quit &&
			    (!buffer || request.size > buffer->length() ||
			     request.count > max_window)) {
				errno = EINVAL;
				throw_errno("request out of bounds");
			}
			switch (request.op) {
			case Op::Hello:
				cached = knem::Region();
				buffer.reset();
				buffer.emplace(request.size);
				cached = knem::Region(device, buffer->data(), buffer->length(),
						      knem::Protection::Read);
				break;
			case Op::Fill:
				fill_pattern(buffer->data(), request.size, request.tag);
				break;
			case Op::Single:
				// Released: the receiver's read consumes them.
				for (std::uint32_t i = 0; i < request.count; ++i)
					cookies.push_back(knem::Region(device, buffer->data(), request.size,
								       knem::Protection::Read,
								       knem::RegionFlags::SingleUse)
								  .release());
				break;
			case Op::Cached:
				cookies.assign(request.count, cached.cookie());
				break;
			case Op::Tcp:
				for (std::uint32_t i = 0; i < request.count; ++i)
					connection.send(buffer->data(), request.size);
				continue;
			case Op::Ack:
				continue;
			case Op::Quit:
				return 0;
			}
		} catch (const std::system_error& e) {
			std::fprintf(stderr, "%s: sender: %s\n", program, e.what());
			reply.error = e.code().value();
			cookies.clear();
		}
		reply.count = static_cast<std::uint32_t>(cookies.size());
		connection.send_value(reply);
		if (!cookies.empty())
			connection.send(cookies.data(), cookies.size() * sizeof cookies[0]);
	}
	return 0;
}

// ---------------------------------------------------------------------------
// The receiver



Summary summarize(const std::vector<double>& values)
{
	Summary s;
	s.samples = values.size();
	if (values.empty())
		return s;
	s.median = quantile(values, 0.5);
	s.low = quantile(values, 0.25);
	s.high = quantile(values, 0.75);
	return s;
}



class Receiver {
public:
	Receiver(std::uint64_t max_size, const knem::Device& device, const Connection& connection)
		: device_(device), connection_(connection), buffer_(max_size),
		  region_(device, buffer_.data(), buffer_.length(), knem::Protection::Write)
	{
		exchange({request_magic, Op::Hello, max_size, 0, 0});
	}

	// One window of `count` messages of `size` bytes by `method`; returns
	// the time from the request until the last message is in the buffer.
	std::uint64_t window(Method method, std::uint64_t size, std::uint32_t count)
	{
		const std::uint64_t start = now_ns();
		switch (method) {
		case Method::Single:
			for (knem::Cookie cookie : exchange({request_magic, Op::Single, size, count, 0}))
				device_.read(cookie, 0, buffer_.data(), size);
			break;
		case Method::Cached:
			for (knem::Cookie cookie : exchange({request_magic, Op::Cached, size, count, 0}))
				device_.read(cookie, 0, buffer_.data(), size);
			break;
		case Method::CachedCopy:
			for (knem::Cookie cookie : exchange({request_magic, Op::Cached, size, count, 0}))
				device_.copy(cookie, 0, region_.cookie(), 0, size);
			break;
		case Method::Tcp:
			connection_.send_value(Request{request_magic, Op::Tcp, size, count, 0});
			for (std::uint32_t i = 0; i < count; ++i)
				connection_.receive(buffer_.data(), size);
			break;
		}
		const std::uint64_t elapsed = now_ns() - start;
		if (method == Method::Single)
			connection_.send_value(Request{request_magic, Op::Ack, size, count, 0});
		return elapsed;
	}

	// A fresh pattern, one message, every byte checked; throws on a
	// mismatch.
	void verify(Method method, std::uint64_t size)
	{
		const std::uint32_t tag = ++tag_;
		exchange({request_magic, Op::Fill, size, 0, tag});
		std::memset(buffer_.data(), 0xa5, size);
		window(method, size, 1);
		const long long at = first_difference(buffer_.data(), size, tag);
		if (at >= 0)
			throw std::runtime_error(std::string(method_name(method)) + ", " +
						 size_text(size) + ": byte " + std::to_string(at) +
						 " differs from the sender's");
	}

	void quit() { connection_.send_value(Request{request_magic, Op::Quit, 0, 0, 0}); }

private:
	std::vector<knem::Cookie> exchange(const Request& request)
	{
		connection_.send_value(request);
		const auto reply = connection_.receive_value<Reply>();
		if (reply.error != 0) {
			errno = reply.error;
			throw_errno("the sender's answer");
		}
		std::vector<knem::Cookie> cookies(reply.count);
		if (reply.count > 0 &&
		    !connection_.receive(cookies.data(), cookies.size() * sizeof cookies[0])) {
			errno = ECONNRESET;
			throw_errno("recv: cookies");
		}
		return cookies;
	}

	const knem::Device& device_;
	const Connection& connection_;
	Buffer buffer_;
	knem::Region region_;
	std::uint32_t tag_ = 0;
};

std::uint32_t window_of(const Options& options, std::uint64_t size)
{
	return static_cast<std::uint32_t>(
		std::clamp<std::uint64_t>(window_bytes / size, 1, options.window));
}

unsigned samples_of(const Options& options, std::uint64_t size)
{
	const std::uint64_t per_window = size * window_of(options, size);
	return static_cast<unsigned>(std::clamp<std::uint64_t>(
		options.budget / per_window, options.min_samples, options.samples));
}

int receiver_main(const Options& options)
{
	knem::Device device;
	Connection connection = connect_to(options.peer, options.port);
	Receiver receiver(options.max_size, device, connection);

	std::vector<std::uint64_t> sizes;
	for (std::uint64_t size = options.min_size; size <= options.max_size; size *= 2)
		sizes.push_back(size);
	std::map<std::pair<Method, std::uint64_t>, Summary> results;
	for (std::uint64_t size : sizes) {
		const std::uint32_t count = window_of(options, size);
		for (Method method : options.methods) {
			receiver.verify(method, size);
			for (unsigned i = 0; i < options.warmup; ++i)
				receiver.window(method, size, count);
			std::vector<double> per_message;
			for (unsigned i = 0; i < samples_of(options, size); ++i)
				per_message.push_back(static_cast<double>(receiver.window(method, size, count)) /
						      count);
			results[{method, size}] = summarize(per_message);
		}
		std::fprintf(stderr, "%s: %s done\n", program, size_text(size).c_str());
	}
	receiver.quit();

	std::printf("# %s: knem (ABI 0x%x) between two machines; %s\n", program,
		    device.info().abi, options.label.empty() ? "(no label)" : options.label.c_str());
	std::printf("# sizes %s to %s; per method and size: 1 checked message, %u warm-up + %u "
		    "to %u timed windows of up to %u messages (%s per window at most)\n",
		    size_text(options.min_size).c_str(), size_text(options.max_size).c_str(),
		    options.warmup, options.min_samples, options.samples, options.window,
		    size_text(window_bytes).c_str());
	std::printf("\n# Bandwidth between the machines, MB/s (bytes per microsecond), median "
		    "± interquartile range %%\n");
	std::printf("%9s", "size");
	for (Method method : options.methods)
		std::printf(" %17s", method_name(method));
	std::printf("\n");
	for (std::uint64_t size : sizes) {
		std::printf("%9s", size_text(size).c_str());
		for (Method method : options.methods) {
			const Summary& s = results[{method, size}];
			std::printf(" %10.0f ±%4.1f%%", megabytes_per_second(size, s.median),
				    s.spread_percent());
		}
		std::printf("\n");
	}
	std::printf("\n# csv begin\n");
	std::printf("section,method,size,samples,runs,median_ns,low_ns,high_ns,spread_pct,value,"
		    "unit\n");
	for (Method method : options.methods)
		for (std::uint64_t size : sizes) {
			const Summary& s = results[{method, size}];
			std::printf("across-machines,%s,%" PRIu64 ",%zu,1,%.0f,%.0f,%.0f,%.2f,%.4f,MB/s\n",
				    method_name(method), size, s.samples, s.median, s.low, s.high,
				    s.spread_percent(), megabytes_per_second(size, s.median));
		}
	std::printf("# csv end\n");
	return 0;
}

} // namespace

int main(int argc, char** argv)
{
	const Options options = parse_options(argc, argv);
	try {
		return options.sender ? sender_main(options) : receiver_main(options);
	} catch (const std::exception& e) {
		std::fprintf(stderr, "%s: %s\n", program, e.what());
		return 1;
	}
}
