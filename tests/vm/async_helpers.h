// SPDX-License-Identifier: BSD-3-Clause
//
// async_helpers.h - helpers shared by the in-VM tests of the asynchronous
// half of /dev/knem: the status array, the notify fd, the offload worker
// and the DMA-engine provider (tests/dma-provider/knem_test_dma.ko).
#ifndef KNEM_ASYNC_HELPERS_H
#define KNEM_ASYNC_HELPERS_H

#include <dirent.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "knem_vm_test.h"

namespace knemasync {

using knemtest::Err;
using knemtest::Ok;

constexpr uint32_t kRW = KNEM_PROT_READ | KNEM_PROT_WRITE;
// Written into a slot before an asynchronous request: the driver must
// overwrite it (PENDING, then the result); a synchronous one must not.
constexpr uint8_t kSlotSentinel = 0x77;
constexpr int kCompletionTimeoutMs = 60000;

inline std::string Hex(uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
	return buf;
}

// ---- the status array --------------------------------------------------
// mmap of the status array of `fd`; munmap on destruction.
class StatusMap {
public:
	StatusMap() = default;
	StatusMap(int fd, size_t len, off_t offset = KNEM_STATUS_ARRAY_FILE_OFFSET)
	{
		Map(fd, len, offset);
	}
	~StatusMap() { Unmap(); }
	StatusMap(const StatusMap &) = delete;
	StatusMap &operator=(const StatusMap &) = delete;

	// Returns Ok() or the mmap errno.
	Err Map(int fd, size_t len, off_t offset = KNEM_STATUS_ARRAY_FILE_OFFSET)
	{
		Unmap();
		errno = 0;
		void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				 fd, offset);
		if (p == MAP_FAILED) {
			err_ = Err{errno};
			return err_;
		}
		addr_ = static_cast<uint8_t *>(p);
		len_ = len;
		err_ = Ok();
		return err_;
	}
	void Unmap()
	{
		if (addr_)
			::munmap(addr_, len_);
		addr_ = nullptr;
		len_ = 0;
	}
	bool ok() const { return addr_ != nullptr; }
	Err error() const { return err_; }
	// Slots are bytes the kernel writes behind our back.
	uint8_t Load(size_t i) const
	{
		return __atomic_load_n(&addr_[i], __ATOMIC_ACQUIRE);
	}
	void Store(size_t i, uint8_t v)
	{
		__atomic_store_n(&addr_[i], v, __ATOMIC_RELEASE);
	}
	uint8_t *data() const { return addr_; }

private:
	uint8_t *addr_ = nullptr;
	size_t len_ = 0;
	Err err_ = Ok();
};

#define KNEM_STATUS_MAP_OR_FAIL(var, fd, len)                              \
	::knemasync::StatusMap var(fd, len);                               \
	ASSERT_TRUE(var.ok()) << "mmap of the status array failed: "       \
			      << var.error()

// Waits until slot i leaves PENDING; returns its value, or PENDING after
// timeout_ms.
inline uint8_t WaitSlot(const StatusMap &slots, size_t i,
			int timeout_ms = kCompletionTimeoutMs)
{
	auto deadline = std::chrono::steady_clock::now() +
			std::chrono::milliseconds(timeout_ms);
	unsigned spins = 0;
	for (;;) {
		uint8_t v = slots.Load(i);
		if (v != KNEM_STATUS_PENDING)
			return v;
		if (std::chrono::steady_clock::now() > deadline)
			return KNEM_STATUS_PENDING;
		if (++spins < 64)
			sched_yield();
		else
			::usleep(200);
	}
}

inline const char *StatusName(uint32_t s)
{
	switch (s) {
	case KNEM_STATUS_PENDING:
		return "PENDING";
	case KNEM_STATUS_SUCCESS:
		return "SUCCESS";
	case KNEM_STATUS_FAILED:
		return "FAILED";
	case kSlotSentinel:
		return "untouched";
	default:
		return "?";
	}
}

inline std::string FlagsName(uint32_t flags)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{KNEM_FLAG_DMA, "DMA"},
		{KNEM_FLAG_ASYNCDMACOMPLETE, "ASYNCDMACOMPLETE"},
		{KNEM_FLAG_DMATHREAD, "DMATHREAD"},
		{KNEM_FLAG_MEMCPYTHREAD, "MEMCPYTHREAD"},
		{KNEM_FLAG_PINLOCAL, "PINLOCAL"},
		{KNEM_FLAG_NOTIFY_FD, "NOTIFY_FD"},
	};
	std::string s;
	for (const auto &n : names) {
		if (flags & n.bit) {
			if (!s.empty())
				s += "|";
			s += n.name;
		}
	}
	return s.empty() ? "0" : s;
}

// ---- GET_INFO ----------------------------------------------------------
inline bool HasDma(int fd)
{
	knem_cmd_info info;
	return knemtest::GetInfo(fd, &info) == Ok() &&
	       (info.features & KNEM_FEATURE_DMA);
}

// ---- legacy commands ---------------------------------------------------
inline Err InitAsyncRecvCmd(int fd, const std::vector<knem_cmd_param_iovec> &iovs,
			    knem_cookie_t cookie, uint32_t flags, uint32_t index)
{
	knem_cmd_init_async_recv_param recv;
	memset(&recv, 0, sizeof(recv));
	recv.recv_iovec_array = knemtest::Addr(iovs.data());
	recv.recv_iovec_nr = static_cast<uint32_t>(iovs.size());
	recv.status_index = index;
	recv.send_cookie = cookie;
	recv.flags = flags;
	return knemtest::Ioctl(fd, KNEM_CMD_INIT_ASYNC_RECV, &recv);
}

inline Err SyncRecvCmd(int fd, const std::vector<knem_cmd_param_iovec> &iovs,
		       knem_cookie_t cookie, uint32_t flags, uint32_t *status)
{
	knem_cmd_sync_recv_param recv;
	memset(&recv, 0, sizeof(recv));
	recv.recv_iovec_array = knemtest::Addr(iovs.data());
	recv.recv_iovec_nr = static_cast<uint32_t>(iovs.size());
	recv.send_cookie = cookie;
	recv.flags = flags;
	recv.status = *status;
	Err e = knemtest::Ioctl(fd, KNEM_CMD_SYNC_RECV, &recv);
	*status = recv.status;
	return e;
}

// Asynchronous COPY_BOUNDED with a slot index.
inline Err AsyncCopyBounded(int fd, knem_cookie_t src, uint64_t src_offset,
			    knem_cookie_t dst, uint64_t dst_offset,
			    uint64_t length, uint32_t flags, uint32_t index,
			    uint32_t *status)
{
	return knemtest::CopyBounded(fd, src, src_offset, dst, dst_offset,
				     length, flags, status, index);
}

// Asynchronous INLINE_COPY_BOUNDED with a slot index.
inline Err AsyncInlineBounded(int fd,
			      const std::vector<knem_cmd_param_iovec> &local,
			      bool write, knem_cookie_t cookie, uint64_t offset,
			      uint64_t length, uint32_t flags, uint32_t index,
			      uint32_t *status)
{
	return knemtest::InlineCopyBounded(fd, local, write, cookie, offset,
					   length, flags, status, index);
}

inline bool SetNonBlocking(int fd, bool on)
{
	int fl = ::fcntl(fd, F_GETFL);
	if (fl < 0)
		return false;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return ::fcntl(fd, F_SETFL, fl) == 0;
}

// read() of a context fd: the events in *out, the errno (Ok() when the
// read returned >= 0).
inline Err ReadEvents(int fd, size_t count, std::vector<uint32_t> *out,
		      size_t bytes = 0)
{
	std::vector<uint32_t> buf(count ? count : 1);
	if (!bytes)
		bytes = count * 4;
	errno = 0;
	ssize_t r = ::read(fd, buf.data(), bytes);
	if (r < 0)
		return Err{errno};
	if (r % 4)
		return Err{20000 + static_cast<int>(r)};
	buf.resize(static_cast<size_t>(r) / 4);
	if (out)
		*out = buf;
	return Ok();
}

// poll() of one fd; returns revents, 0 on timeout, -1 on error.
inline int PollFd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {fd, events, 0};
	int n;
	do {
		n = ::poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	return n ? pfd.revents : 0;
}

// Collects `count` events, polling and reading without blocking.
inline ::testing::AssertionResult DrainEvents(int fd, size_t count,
					      std::vector<uint32_t> *out,
					      int timeout_ms = kCompletionTimeoutMs)
{
	auto deadline = std::chrono::steady_clock::now() +
			std::chrono::milliseconds(timeout_ms);
	if (!SetNonBlocking(fd, true))
		return ::testing::AssertionFailure() << "fcntl O_NONBLOCK";
	out->clear();
	while (out->size() < count) {
		if (std::chrono::steady_clock::now() > deadline) {
			SetNonBlocking(fd, false);
			return ::testing::AssertionFailure()
			       << "only " << out->size() << " of " << count
			       << " notify events after " << timeout_ms << " ms";
		}
		int rev = PollFd(fd, POLLIN, 100);
		if (rev <= 0)
			continue;
		std::vector<uint32_t> got;
		Err e = ReadEvents(fd, std::min<size_t>(count - out->size(), 512),
				   &got);
		if (e == Err{EAGAIN})
			continue;
		if (e != Ok()) {
			SetNonBlocking(fd, false);
			return ::testing::AssertionFailure()
			       << "read of the notify fd: " << e;
		}
		out->insert(out->end(), got.begin(), got.end());
	}
	SetNonBlocking(fd, false);
	return ::testing::AssertionSuccess();
}

// Nothing is queued on the notify fd right now.
inline ::testing::AssertionResult NoEventQueued(int fd)
{
	int rev = PollFd(fd, POLLIN, 0);
	if (rev != 0)
		return ::testing::AssertionFailure()
		       << "poll reports revents " << Hex(rev)
		       << " on a queue that should be empty";
	return ::testing::AssertionSuccess();
}

// ---- module parameters of knem and of the DMA provider ----------------
inline std::string DmaParamPath(const std::string &name)
{
	return "/sys/module/knem_test_dma/parameters/" + name;
}

inline bool ReadFileU64(const std::string &path, unsigned long long *value)
{
	knemtest::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd.valid())
		return false;
	std::string s = knemtest::ReadAll(fd.get());
	char *end = nullptr;
	errno = 0;
	*value = strtoull(s.c_str(), &end, 0);
	return end != s.c_str() && !errno;
}

inline bool WriteFile(const std::string &path, const std::string &value)
{
	knemtest::Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd.valid())
		return false;
	return ::write(fd.get(), value.data(), value.size()) ==
	       static_cast<ssize_t>(value.size());
}

inline unsigned long long DmaCounter(const std::string &name)
{
	unsigned long long v = 0;
	if (!ReadFileU64(DmaParamPath(name), &v))
		return ~0ull;
	return v;
}

inline bool DmaProviderLoaded()
{
	return ::access("/sys/module/knem_test_dma", F_OK) == 0;
}

// Sets a parameter (a sysfs file) for the scope and restores it.
class ParamGuard {
public:
	ParamGuard(const std::string &path, const std::string &value)
		: path_(path)
	{
		knemtest::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
		if (!fd.valid())
			return;
		old_ = knemtest::ReadAll(fd.get());
		while (!old_.empty() && (old_.back() == '\n' || old_.back() == ' '))
			old_.pop_back();
		ok_ = WriteFile(path, value);
	}
	~ParamGuard()
	{
		if (ok_)
			WriteFile(path_, old_);
	}
	ParamGuard(const ParamGuard &) = delete;
	ParamGuard &operator=(const ParamGuard &) = delete;
	bool ok() const { return ok_; }

private:
	std::string path_, old_;
	bool ok_ = false;
};

// ---- the offload workers ------------------------------------------------
// The pids of the threads whose comm starts with "knem-ctx-", by comm.
inline std::vector<std::pair<pid_t, std::string>> KnemWorkers()
{
	std::vector<std::pair<pid_t, std::string>> out;
	DIR *d = ::opendir("/proc");
	if (!d)
		return out;
	while (struct dirent *e = ::readdir(d)) {
		char *end = nullptr;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		std::string path = std::string("/proc/") + e->d_name + "/comm";
		knemtest::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
		if (!fd.valid())
			continue;
		std::string comm = knemtest::ReadAll(fd.get());
		while (!comm.empty() && comm.back() == '\n')
			comm.pop_back();
		if (comm.compare(0, 9, "knem-ctx-") == 0)
			out.emplace_back(static_cast<pid_t>(pid), comm);
	}
	::closedir(d);
	return out;
}

inline std::set<pid_t> KnemWorkerPids()
{
	std::set<pid_t> s;
	for (const auto &w : KnemWorkers())
		s.insert(w.first);
	return s;
}

inline std::string CpuSetString(const cpu_set_t &set)
{
	std::string s;
	for (int i = 0; i < CPU_SETSIZE; i++) {
		if (CPU_ISSET(i, &set)) {
			if (!s.empty())
				s += ",";
			s += std::to_string(i);
		}
	}
	return "{" + s + "}";
}

inline std::string Affinity(pid_t pid)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (::sched_getaffinity(pid, sizeof(set), &set) != 0)
		return std::string("sched_getaffinity: ") + strerror(errno);
	return CpuSetString(set);
}

inline std::string CpuList(std::initializer_list<int> cpus)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	for (int c : cpus)
		CPU_SET(c, &set);
	return CpuSetString(set);
}

inline int OnlineCpus()
{
	return static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
}

// Sets the calling thread's affinity for the scope.
class AffinityGuard {
public:
	explicit AffinityGuard(std::initializer_list<int> cpus)
	{
		ok_ = ::sched_getaffinity(0, sizeof(old_), &old_) == 0;
		cpu_set_t set;
		CPU_ZERO(&set);
		for (int c : cpus)
			CPU_SET(c, &set);
		ok_ = ok_ && ::sched_setaffinity(0, sizeof(set), &set) == 0;
	}
	~AffinityGuard() { ::sched_setaffinity(0, sizeof(old_), &old_); }
	AffinityGuard(const AffinityGuard &) = delete;
	AffinityGuard &operator=(const AffinityGuard &) = delete;
	bool ok() const { return ok_; }

private:
	cpu_set_t old_;
	bool ok_ = false;
};

// ---- statsverbose listing ------------------------------------------------
struct ContextListing {
	uint32_t id;
	int regions;
};

// The " Context %08x" entries of the stats text (statsverbose=1).
inline std::vector<ContextListing> ParseContexts(const std::string &text)
{
	std::vector<ContextListing> out;
	for (const std::string &line : knemtest::SplitLines(text)) {
		unsigned id = 0;
		int n = 0;
		if (sscanf(line.c_str(), " Context %x", &id) == 1 &&
		    line.compare(0, 9, " Context ") == 0)
			out.push_back({id, 0});
		else if (line.compare(0, 9, "  Listed ") == 0 &&
			 sscanf(line.c_str(), "  Listed %d regions", &n) == 1 &&
			 !out.empty())
			out.back().regions = n;
	}
	return out;
}

// The model of the DMA path: the chunks of a copy (page- and
// segment-bounded on both sides, like the driver's plan) and which of them
// go to the engine (longer than dmamin).
struct DmaPlan {
	uint64_t chunks = 0;
	uint64_t dma_chunks = 0;
	uint64_t dma_bytes = 0;
};

inline DmaPlan PlanChunks(const std::vector<knem_cmd_param_iovec> &src,
			  uint64_t src_offset,
			  const std::vector<knem_cmd_param_iovec> &dst,
			  uint64_t dst_offset, uint64_t length, uint64_t dmamin)
{
	struct Cursor {
		const std::vector<knem_cmd_param_iovec> *segs;
		size_t index = 0;
		uint64_t pos = 0;
		void Settle()
		{
			while (index < segs->size() && pos >= (*segs)[index].len) {
				pos -= (*segs)[index].len;
				index++;
			}
		}
		bool Done() const { return index >= segs->size(); }
		uint64_t Room() const
		{
			const auto &s = (*segs)[index];
			uint64_t in_page =
				knemtest::kPage - ((s.base + pos) % knemtest::kPage);
			return std::min<uint64_t>(in_page, s.len - pos);
		}
	};
	Cursor s{&src, 0, src_offset}, d{&dst, 0, dst_offset};
	s.Settle();
	d.Settle();
	DmaPlan plan;
	while (length && !s.Done() && !d.Done()) {
		uint64_t n = std::min({s.Room(), d.Room(), length});
		plan.chunks++;
		if (n > dmamin) {
			plan.dma_chunks++;
			plan.dma_bytes += n;
		}
		length -= n;
		s.pos += n;
		d.pos += n;
		s.Settle();
		d.Settle();
	}
	return plan;
}

} // namespace knemasync

#endif // KNEM_ASYNC_HELPERS_H
