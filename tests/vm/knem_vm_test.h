// SPDX-License-Identifier: BSD-3-Clause
//
// knem_vm_test.h - helpers shared by the in-VM tests of /dev/knem.
//
// These tests talk to the driver with raw ioctls and the structures of
// knem_io.h: they check the ABI itself, not a library on top of it.  They
// run as root inside the test VM with knem.ko loaded; every test opens
// /dev/knem itself and fails (never skips) when the module is missing.
#ifndef KNEM_VM_TEST_H
#define KNEM_VM_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "knem_io.h"

namespace knemtest {

constexpr uid_t kNobodyUid = 65534;
constexpr gid_t kNobodyGid = 65534;
constexpr size_t kPage = 4096;
// Written into current_status before an ioctl that must fail: a failed
// ioctl leaves the structure untouched.
constexpr uint32_t kStatusSentinel = 0xa5a5a5a5u;

// ---- errno values that print by name ----------------------------------
struct Err {
	int value;
};
inline bool operator==(Err a, Err b) { return a.value == b.value; }
inline bool operator!=(Err a, Err b) { return a.value != b.value; }
inline std::ostream &operator<<(std::ostream &os, Err e)
{
	if (e.value == 0)
		return os << "0 (success)";
	const char *name = strerrorname_np(e.value);
	return os << (name ? name : "errno") << " (" << e.value << ")";
}
inline Err Ok() { return Err{0}; }

// ---- file descriptors -------------------------------------------------
class Fd {
public:
	Fd() = default;
	explicit Fd(int fd) : fd_(fd) {}
	~Fd() { reset(); }
	Fd(Fd &&other) noexcept : fd_(other.release()) {}
	Fd &operator=(Fd &&other) noexcept
	{
		if (this != &other)
			reset(other.release());
		return *this;
	}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;

	int get() const { return fd_; }
	bool valid() const { return fd_ >= 0; }
	int release()
	{
		int fd = fd_;
		fd_ = -1;
		return fd;
	}
	void reset(int fd = -1)
	{
		if (fd_ >= 0)
			::close(fd_);
		fd_ = fd;
	}

private:
	int fd_ = -1;
};

inline Fd OpenKnem(int flags = O_RDWR)
{
	return Fd(::open(KNEM_DEVICE_FILENAME, flags | O_CLOEXEC));
}

// Declares `var` as a /dev/knem descriptor opened with `flags`, or fails
// the test: a missing module is a failure, not a skip.
#define KNEM_OPEN_OR_FAIL(var, flags)                                       \
	::knemtest::Fd var = ::knemtest::OpenKnem(flags);                   \
	ASSERT_TRUE(var.valid())                                            \
		<< "open(" KNEM_DEVICE_FILENAME ", " #flags ") failed: "      \
		<< strerror(errno) << " -- is knem.ko loaded?"

// ---- raw ioctls -------------------------------------------------------
// Returns Ok() when the ioctl returned 0, else its errno.  A positive
// return value (never valid for /dev/knem) shows up as Err{10000 + ret}.
inline Err Ioctl(int fd, unsigned long cmd, void *arg)
{
	errno = 0;
	int ret = ::ioctl(fd, cmd, arg);
	if (ret == 0)
		return Ok();
	if (ret > 0)
		return Err{10000 + ret};
	return Err{errno};
}

inline Err IoctlRaw(int fd, unsigned long cmd, unsigned long arg)
{
	errno = 0;
	int ret = ::ioctl(fd, cmd, arg);
	if (ret == 0)
		return Ok();
	if (ret > 0)
		return Err{10000 + ret};
	return Err{errno};
}

inline knem_cmd_param_iovec Iov(const void *base, uint64_t len)
{
	knem_cmd_param_iovec iov;
	iov.base = reinterpret_cast<uintptr_t>(base);
	iov.len = len;
	return iov;
}

inline uint64_t Addr(const void *p) { return reinterpret_cast<uintptr_t>(p); }

inline uint64_t TotalLength(const std::vector<knem_cmd_param_iovec> &iovs)
{
	uint64_t total = 0;
	for (const auto &iov : iovs)
		total += iov.len;
	return total;
}

inline Err GetInfo(int fd, knem_cmd_info *info)
{
	memset(info, 0, sizeof(*info));
	return Ioctl(fd, KNEM_CMD_GET_INFO, info);
}

inline Err CreateRegion(int fd, const std::vector<knem_cmd_param_iovec> &iovs,
			uint32_t protection, uint32_t flags,
			knem_cookie_t *cookie)
{
	knem_cmd_create_region cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.iovec_array = Addr(iovs.data());
	cmd.iovec_nr = static_cast<uint32_t>(iovs.size());
	cmd.flags = flags;
	cmd.protection = protection;
	Err e = Ioctl(fd, KNEM_CMD_CREATE_REGION, &cmd);
	if (cookie)
		*cookie = e == Ok() ? cmd.cookie : 0;
	return e;
}

inline Err CreateRegion(int fd, const void *base, uint64_t len,
			uint32_t protection, uint32_t flags,
			knem_cookie_t *cookie)
{
	return CreateRegion(fd, {Iov(base, len)}, protection, flags, cookie);
}

inline Err DestroyRegion(int fd, knem_cookie_t cookie)
{
	return Ioctl(fd, KNEM_CMD_DESTROY_REGION, &cookie);
}

// The copy helpers write *status into current_status before the ioctl and
// return the value the structure holds afterwards in *status.
inline Err InlineCopy(int fd, const std::vector<knem_cmd_param_iovec> &local,
		      bool write, knem_cookie_t cookie, uint64_t offset,
		      uint32_t flags, uint32_t *status)
{
	knem_cmd_inline_copy cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.local_iovec_array = Addr(local.data());
	cmd.local_iovec_nr = static_cast<uint32_t>(local.size());
	cmd.write = write ? 1 : 0;
	cmd.remote_cookie = cookie;
	cmd.remote_offset = offset;
	cmd.flags = flags;
	cmd.current_status = *status;
	Err e = Ioctl(fd, KNEM_CMD_INLINE_COPY, &cmd);
	*status = cmd.current_status;
	return e;
}

// @index: the status slot, for asynchronous flags.
inline Err InlineCopyBounded(int fd,
			     const std::vector<knem_cmd_param_iovec> &local,
			     bool write, knem_cookie_t cookie, uint64_t offset,
			     uint64_t length, uint32_t flags, uint32_t *status,
			     uint32_t index = 0)
{
	knem_cmd_inline_copy_bounded cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.local_iovec_array = Addr(local.data());
	cmd.local_iovec_nr = static_cast<uint32_t>(local.size());
	cmd.write = write ? 1 : 0;
	cmd.remote_cookie = cookie;
	cmd.remote_offset = offset;
	cmd.length = length;
	cmd.flags = flags;
	cmd.async_status_index = index;
	cmd.current_status = *status;
	Err e = Ioctl(fd, KNEM_CMD_INLINE_COPY_BOUNDED, &cmd);
	*status = cmd.current_status;
	return e;
}

inline Err Copy(int fd, knem_cookie_t src, uint64_t src_offset,
		knem_cookie_t dst, uint64_t dst_offset, uint32_t flags,
		uint32_t *status)
{
	knem_cmd_copy cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.src_cookie = src;
	cmd.src_offset = src_offset;
	cmd.dst_cookie = dst;
	cmd.dst_offset = dst_offset;
	cmd.flags = flags;
	cmd.current_status = *status;
	Err e = Ioctl(fd, KNEM_CMD_COPY, &cmd);
	*status = cmd.current_status;
	return e;
}

// @index: the status slot, for asynchronous flags.
inline Err CopyBounded(int fd, knem_cookie_t src, uint64_t src_offset,
		       knem_cookie_t dst, uint64_t dst_offset, uint64_t length,
		       uint32_t flags, uint32_t *status, uint32_t index = 0)
{
	knem_cmd_copy_bounded cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.src_cookie = src;
	cmd.src_offset = src_offset;
	cmd.dst_cookie = dst;
	cmd.dst_offset = dst_offset;
	cmd.length = length;
	cmd.flags = flags;
	cmd.async_status_index = index;
	cmd.current_status = *status;
	Err e = Ioctl(fd, KNEM_CMD_COPY_BOUNDED, &cmd);
	*status = cmd.current_status;
	return e;
}

// Convenience: a synchronous copy that must succeed with SUCCESS.  The
// status is taken by reference: in SyncOk(InlineCopy(..., &status), status)
// it is read only after the copy ran, whatever the argument evaluation
// order.
inline ::testing::AssertionResult SyncOk(Err e, const uint32_t &status)
{
	if (e != Ok())
		return ::testing::AssertionFailure()
		       << "ioctl failed with " << e;
	if (status != KNEM_STATUS_SUCCESS)
		return ::testing::AssertionFailure()
		       << "ioctl returned 0 but current_status=" << status
		       << " (want SUCCESS=1)";
	return ::testing::AssertionSuccess();
}

// ---- memory -----------------------------------------------------------
// An anonymous mapping, unmapped on destruction (unless released).
class Mapping {
public:
	explicit Mapping(size_t len, int prot = PROT_READ | PROT_WRITE,
			 int flags = MAP_PRIVATE | MAP_ANONYMOUS)
		: len_(len)
	{
		void *p = ::mmap(nullptr, len, prot, flags, -1, 0);
		addr_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t *>(p);
	}
	~Mapping()
	{
		if (addr_)
			::munmap(addr_, len_);
	}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;

	bool ok() const { return addr_ != nullptr; }
	uint8_t *data() const { return addr_; }
	size_t size() const { return len_; }
	// Forget the mapping (the test unmapped or moved it itself).
	void forget() { addr_ = nullptr; }
	void reset(void *addr, size_t len)
	{
		addr_ = static_cast<uint8_t *>(addr);
		len_ = len;
	}

private:
	uint8_t *addr_ = nullptr;
	size_t len_ = 0;
};

#define KNEM_MAP_OR_FAIL(var, ...)                                         \
	::knemtest::Mapping var(__VA_ARGS__);                              \
	ASSERT_TRUE(var.ok()) << "mmap failed: " << strerror(errno)

// An address range that is guaranteed not to be mapped right now.
inline void *UnmappedAddress(size_t len = 4 * kPage)
{
	void *p = ::mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (p == MAP_FAILED)
		return reinterpret_cast<void *>(0x1000);
	::munmap(p, len);
	return p;
}

// A pointer into the kernel half of the address space.
inline void *KernelAddress()
{
	return reinterpret_cast<void *>(0xffffffff81000000ull);
}

// ---- data patterns ----------------------------------------------------
inline uint64_t Mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

// Byte `pos` of the pattern stream `seed`.
inline uint8_t PatternByte(uint64_t seed, uint64_t pos)
{
	return static_cast<uint8_t>(Mix64(seed * 0x100000001b3ull + pos / 8) >>
				    ((pos % 8) * 8));
}

// Fills p[0..len) with the bytes start..start+len of pattern stream `seed`.
inline void FillPattern(void *p, size_t len, uint64_t seed, uint64_t start = 0)
{
	uint8_t *b = static_cast<uint8_t *>(p);
	size_t i = 0;
	while (i < len && (start + i) % 8)
		b[i] = PatternByte(seed, start + i), i++;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = Mix64(seed * 0x100000001b3ull + (start + i) / 8);
		memcpy(b + i, &w, 8);
	}
	for (; i < len; i++)
		b[i] = PatternByte(seed, start + i);
}

inline std::vector<uint8_t> PatternBytes(size_t len, uint64_t seed,
					 uint64_t start = 0)
{
	std::vector<uint8_t> v(len);
	FillPattern(v.data(), len, seed, start);
	return v;
}

// Compares two byte ranges and reports the first differences.
inline ::testing::AssertionResult SameBytes(const void *actual,
					    const void *expected, size_t len,
					    const char *what = "buffer")
{
	const uint8_t *a = static_cast<const uint8_t *>(actual);
	const uint8_t *e = static_cast<const uint8_t *>(expected);
	if (memcmp(a, e, len) == 0)
		return ::testing::AssertionSuccess();
	size_t first = 0, count = 0, last = 0;
	for (size_t i = 0; i < len; i++) {
		if (a[i] != e[i]) {
			if (!count)
				first = i;
			last = i;
			count++;
		}
	}
	char msg[256];
	snprintf(msg, sizeof(msg),
		 "%s differs in %zu of %zu bytes: first at %zu (got 0x%02x, "
		 "want 0x%02x), last at %zu",
		 what, count, len, first, a[first], e[first], last);
	return ::testing::AssertionFailure() << msg;
}

// Concatenation of the bytes behind an iovec list.
inline std::vector<uint8_t> Gather(const std::vector<knem_cmd_param_iovec> &iovs)
{
	std::vector<uint8_t> out;
	out.reserve(TotalLength(iovs));
	for (const auto &iov : iovs) {
		const uint8_t *p = reinterpret_cast<const uint8_t *>(
			static_cast<uintptr_t>(iov.base));
		out.insert(out.end(), p, p + iov.len);
	}
	return out;
}

// The model of a copy: writes data[0..n) into the stream of `segs`
// starting at stream offset `offset`, inside `image`, a snapshot of the
// memory that starts at address `image_base`.
inline void ModelScatter(std::vector<uint8_t> &image, const void *image_base,
			 const std::vector<knem_cmd_param_iovec> &segs,
			 uint64_t offset, const uint8_t *data, uint64_t n)
{
	uint64_t pos = 0;
	for (const auto &seg : segs) {
		if (!n)
			break;
		uint64_t end = pos + seg.len;
		if (end > offset) {
			uint64_t skip = offset > pos ? offset - pos : 0;
			uint64_t take = seg.len - skip < n ? seg.len - skip : n;
			memcpy(&image[seg.base + skip - Addr(image_base)], data,
			       take);
			data += take;
			n -= take;
		}
		pos = end;
	}
}

// ---- processes --------------------------------------------------------
// A forked child that runs a function and reports a verdict: "" when the
// function returned "", else its message (or how the child died).  The
// child never returns into GoogleTest.
class Child {
public:
	Child() = default;
	~Child()
	{
		if (pid_ > 0) {
			::kill(pid_, SIGKILL);
			Wait();
		}
	}
	Child(const Child &) = delete;
	Child &operator=(const Child &) = delete;

	// Returns false (and sets the verdict) when the child cannot start.
	bool Start(const std::function<std::string()> &fn)
	{
		int p[2];
		if (::pipe(p) != 0) {
			verdict_ = std::string("pipe: ") + strerror(errno);
			return false;
		}
		fflush(nullptr);
		pid_t pid = ::fork();
		if (pid < 0) {
			verdict_ = std::string("fork: ") + strerror(errno);
			::close(p[0]);
			::close(p[1]);
			return false;
		}
		if (pid == 0) {
			::close(p[0]);
			std::string msg;
			try {
				msg = fn();
			} catch (...) {
				msg = "child threw an exception";
			}
			size_t off = 0;
			while (off < msg.size()) {
				ssize_t w = ::write(p[1], msg.data() + off,
						    msg.size() - off);
				if (w <= 0)
					break;
				off += static_cast<size_t>(w);
			}
			::_exit(msg.empty() ? 0 : 1);
		}
		::close(p[1]);
		pid_ = pid;
		pipe_ = p[0];
		return true;
	}

	// Waits for the child and returns its verdict.
	std::string Wait()
	{
		if (pid_ <= 0)
			return verdict_;
		std::string msg;
		char buf[512];
		ssize_t r;
		while ((r = ::read(pipe_, buf, sizeof(buf))) > 0 ||
		       (r < 0 && errno == EINTR))
			if (r > 0)
				msg.append(buf, static_cast<size_t>(r));
		::close(pipe_);
		pipe_ = -1;
		int wstatus = 0;
		while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR)
			;
		pid_ = -1;
		if (WIFSIGNALED(wstatus))
			msg += " [child killed by signal " +
			       std::to_string(WTERMSIG(wstatus)) + "]";
		else if (!WIFEXITED(wstatus) ||
			 (WEXITSTATUS(wstatus) != 0 && msg.empty()))
			msg += " [child exited with status " +
			       std::to_string(WEXITSTATUS(wstatus)) + "]";
		verdict_ = msg;
		return msg;
	}

	pid_t pid() const { return pid_; }

private:
	pid_t pid_ = -1;
	int pipe_ = -1;
	std::string verdict_;
};

inline std::string RunInChild(const std::function<std::string()> &fn)
{
	Child child;
	if (!child.Start(fn))
		return child.Wait();
	return child.Wait();
}

// Builds the failure message of a child-side check.
inline std::string Expect(const char *what, Err got, Err want)
{
	if (got == want)
		return "";
	std::ostringstream os;
	os << what << ": got " << got << ", want " << want << "; ";
	return os.str();
}

// A pipe for small messages between a test and its children.
class Channel {
public:
	Channel()
	{
		if (::pipe(fds_) != 0)
			fds_[0] = fds_[1] = -1;
	}
	~Channel()
	{
		for (int fd : fds_)
			if (fd >= 0)
				::close(fd);
	}
	Channel(const Channel &) = delete;
	Channel &operator=(const Channel &) = delete;
	bool ok() const { return fds_[0] >= 0; }
	bool Send(uint64_t v) { return ::write(fds_[1], &v, 8) == 8; }
	// Waits at most timeout_ms for the value (a dead peer would block
	// forever otherwise).
	bool Recv(uint64_t *v, int timeout_ms = 120000)
	{
		size_t got = 0;
		while (got < 8) {
			struct pollfd pfd = {fds_[0], POLLIN, 0};
			int n = ::poll(&pfd, 1, timeout_ms);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return false;
			ssize_t r = ::read(fds_[0], reinterpret_cast<char *>(v) + got,
					   8 - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return false;
			got += static_cast<size_t>(r);
		}
		return true;
	}

private:
	int fds_[2];
};

// Drops root for the rest of the (child) process.
inline std::string BecomeNobody()
{
	if (::setgid(kNobodyGid) != 0)
		return std::string("setgid: ") + strerror(errno);
	if (::setuid(kNobodyUid) != 0)
		return std::string("setuid: ") + strerror(errno);
	if (::getuid() != kNobodyUid || ::geteuid() != kNobodyUid)
		return "uid did not change";
	return "";
}

// Makes /dev/knem world read-write for its lifetime, then restores the mode.
class OpenDeviceToAll {
public:
	OpenDeviceToAll()
	{
		struct stat st;
		if (::stat(KNEM_DEVICE_FILENAME, &st) == 0) {
			mode_ = st.st_mode & 07777;
			ok_ = ::chmod(KNEM_DEVICE_FILENAME, 0666) == 0;
		}
	}
	~OpenDeviceToAll()
	{
		if (ok_)
			::chmod(KNEM_DEVICE_FILENAME, mode_);
	}
	OpenDeviceToAll(const OpenDeviceToAll &) = delete;
	OpenDeviceToAll &operator=(const OpenDeviceToAll &) = delete;
	bool ok() const { return ok_; }

private:
	mode_t mode_ = 0600;
	bool ok_ = false;
};

// ---- files: statistics and module parameters ---------------------------
inline std::string ReadAll(int fd)
{
	std::string out;
	char buf[4096];
	for (;;) {
		ssize_t r = ::read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		out.append(buf, static_cast<size_t>(r));
	}
	return out;
}

// The text of `cat /dev/knem`, or "" (and errno) when it cannot be read.
inline std::string ReadStats()
{
	Fd fd(::open(KNEM_DEVICE_FILENAME, O_RDONLY | O_CLOEXEC));
	if (!fd.valid())
		return "";
	return ReadAll(fd.get());
}

inline std::vector<std::string> SplitLines(const std::string &text)
{
	std::vector<std::string> lines;
	std::istringstream is(text);
	std::string line;
	while (std::getline(is, line))
		lines.push_back(line);
	return lines;
}

// The VmPin line of /proc/self/status (pages pinned for this process,
// knem's regions included), in kB, or -1.
inline long long VmPinKb()
{
	Fd fd(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
	for (const std::string &line : SplitLines(ReadAll(fd.get())))
		if (line.compare(0, 6, "VmPin:") == 0)
			return strtoll(line.c_str() + 6, nullptr, 10);
	return -1;
}

inline const char *const kCounterLabels[] = {
	" Requests submitted                           : ",
	" Requests processed (total)                   : ",
	"          processed (using DMA)               : ",
	"          processed (offloaded to thread)     : ",
	"          processed (with pinned local pages) : ",
	" Requests rejected (invalid flags)            : ",
	"          rejected (not enough memory)        : ",
	"          rejected (invalid ioctl argument)   : ",
	"          rejected (unexisting region cookie) : ",
	"          rejected (failed to pin local pages): ",
	" Requests failed during memcpy from/to user   : ",
	"          failed during DMA copy              : ",
	" DMA copy cleanup timeout                     : ",
};
constexpr int kNrCounters = 13;
// After the classic counters: the refusals of the limits and the pinned
// pages (knem-xen's own lines, before the statsverbose listing).
inline const char *const kLimitLabels[] = {
	" Requests refused (over RLIMIT_MEMLOCK)       : ",
	"          refused (too many regions in file)  : ",
	"          refused (too many queued copies)    : ",
	"          refused (too many offload workers)  : ",
	" Pages pinned by regions (long-term)          : ",
};
constexpr int kNrLimitLines = 5;
enum LimitLine {
	kRefusedMemlock,
	kRefusedRegions,
	kRefusedQueued,
	kRefusedWorkers,
	kPinnedPages,
};
// The line where the statsverbose listing starts.
constexpr size_t kListingLine = 5 + kNrCounters + kNrLimitLines;
enum Counter {
	kSubmitted,
	kProcessed,
	kProcessedDma,
	kProcessedThread,
	kProcessedPinLocal,
	kRejectedFlags,
	kRejectedNoMem,
	kRejectedArgument,
	kRejectedCookie,
	kRejectedPinLocal,
	kFailedMemcpy,
	kFailedDma,
	kDmaCleanupTimeout,
};

struct Counters {
	bool ok = false;
	std::string error;
	long long value[kNrCounters] = {};
	long long operator[](Counter c) const { return value[c]; }
};

// Parses the 13 counter lines, which follow the 5 header lines.
inline Counters ParseCounters(const std::string &text)
{
	Counters c;
	std::vector<std::string> lines = SplitLines(text);
	if (lines.size() < 5 + kNrCounters) {
		c.error = "stats text has only " + std::to_string(lines.size()) +
			  " lines:\n" + text;
		return c;
	}
	for (int i = 0; i < kNrCounters; i++) {
		const std::string &line = lines[5 + i];
		std::string label = kCounterLabels[i];
		if (line.compare(0, label.size(), label) != 0) {
			c.error = "stats line " + std::to_string(6 + i) + " is '" +
				  line + "', want label '" + label + "'";
			return c;
		}
		std::string num = line.substr(label.size());
		char *end = nullptr;
		errno = 0;
		long long v = strtoll(num.c_str(), &end, 10);
		if (num.empty() || *end || errno) {
			c.error = "stats line '" + line + "' has no integer value";
			return c;
		}
		c.value[i] = v;
	}
	c.ok = true;
	return c;
}

// The value of one of the lines after the classic counters, or -1.
inline long long ReadLimitLine(LimitLine which)
{
	std::vector<std::string> lines = SplitLines(ReadStats());
	size_t at = 5 + kNrCounters + which;
	std::string label = kLimitLabels[which];
	if (lines.size() <= at || lines[at].compare(0, label.size(), label))
		return -1;
	return strtoll(lines[at].c_str() + label.size(), nullptr, 10);
}

inline Counters ReadCounters()
{
	std::string text = ReadStats();
	if (text.empty()) {
		Counters c;
		c.error = std::string("cannot read ") + KNEM_DEVICE_FILENAME +
			  ": " + strerror(errno);
		return c;
	}
	return ParseCounters(text);
}

// Whether the kernel has any DMA-engine channel (the test VM has none
// unless tests/dma-provider is loaded).
inline bool DmaChannelsPresent()
{
	DIR *dir = ::opendir("/sys/class/dma");
	if (!dir)
		return false;
	bool any = false;
	while (struct dirent *de = ::readdir(dir))
		if (de->d_name[0] != '.')
			any = true;
	::closedir(dir);
	return any;
}

inline std::string ParamPath(const std::string &name)
{
	return "/sys/module/knem/parameters/" + name;
}

// Reads a module parameter; false when it does not exist.
inline bool ReadParam(const std::string &name, std::string *value)
{
	Fd fd(::open(ParamPath(name).c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.valid())
		return false;
	std::string v = ReadAll(fd.get());
	while (!v.empty() && (v.back() == '\n' || v.back() == ' '))
		v.pop_back();
	*value = v;
	return true;
}

inline bool ReadParamU64(const std::string &name, unsigned long long *value)
{
	std::string s;
	if (!ReadParam(name, &s) || s.empty())
		return false;
	char *end = nullptr;
	*value = strtoull(s.c_str(), &end, 0);
	if (*end == 0)
		return true;
	// bool parameters read as Y/N
	if (s == "Y" || s == "N") {
		*value = s == "Y";
		return true;
	}
	return false;
}

inline bool WriteParam(const std::string &name, const std::string &value)
{
	Fd fd(::open(ParamPath(name).c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd.valid())
		return false;
	return ::write(fd.get(), value.data(), value.size()) ==
	       static_cast<ssize_t>(value.size());
}

} // namespace knemtest

#endif // KNEM_VM_TEST_H
