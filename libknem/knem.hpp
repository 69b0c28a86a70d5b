// SPDX-License-Identifier: BSD-3-Clause
//
// knem.hpp - C++17 interface to /dev/knem (ABI 0xd).
//
// The classes wrap the ioctls of <knem_io.h> with RAII ownership and
// exceptions:
//
//   knem::Device       an open /dev/knem (one kernel context), the copy
//                      commands, synchronous and asynchronous;
//   knem::Region       a declared memory region, destroyed with its owner object;
//   knem::StatusArray  the mmap'ed status slots of a Device, allocated for
//                      its asynchronous copies;
//   knem::AsyncCopy    one asynchronous copy in flight, owning its slot;
//   knem::NotifyQueue  the completions of KNEM_FLAG_NOTIFY_FD copies, read
//                      from the Device's file;
//   knem::Stats        the statistics text of /dev/knem, parsed, and its reset.
//
// Every failure is reported as std::system_error carrying the errno value
// (generic category) and a message naming what was attempted.  The
// synchronous copies (Device::read, write, copy) return once the data has
// moved; the asynchronous ones (Device::submit_*) return an AsyncCopy at
// once, see "Asynchronous copies" below.
//
// Link with `pkg-config --cflags --libs libknem`; needs C++17.
#ifndef KNEM_HPP
#define KNEM_HPP

#include <knem_io.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace knem {

using Cookie = knem_cookie_t;

// ---------------------------------------------------------------------------
// Span: a non-owning view of contiguous elements (std::span is C++20).

template <typename T>
class Span {
public:
	using element_type = T;
	using value_type = std::remove_cv_t<T>;
	using size_type = std::size_t;
	using iterator = T*;

	constexpr Span() noexcept = default;
	constexpr Span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}

	// Any contiguous container or array of T (or of non-const T for a
	// Span of const T): std::vector, std::array, C arrays, Span<U>.
	template <typename Container,
		  typename Element = std::remove_pointer_t<decltype(std::data(std::declval<Container&>()))>,
		  typename = std::enable_if_t<
			  !std::is_same_v<std::remove_cv_t<std::remove_reference_t<Container>>, Span> &&
			  std::is_convertible_v<Element (*)[], T (*)[]>>>
	constexpr Span(Container&& container) noexcept
		: data_(std::data(container)), size_(std::size(container))
	{
	}

	constexpr T* data() const noexcept { return data_; }
	constexpr std::size_t size() const noexcept { return size_; }
	constexpr bool empty() const noexcept { return size_ == 0; }
	constexpr T* begin() const noexcept { return data_; }
	constexpr T* end() const noexcept { return data_ + size_; }
	constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }

private:
	T* data_ = nullptr;
	std::size_t size_ = 0;
};

// A run of bytes in the caller's address space.
struct Segment {
	void* base = nullptr;
	std::size_t length = 0;
};

// ---------------------------------------------------------------------------
// Flag sets.  Each enumerator has the value of the matching <knem_io.h> bit.

enum class Protection : std::uint32_t {
	None = 0, // legal: every copy through such a region fails with EACCES
	Read = KNEM_PROT_READ,
	Write = KNEM_PROT_WRITE,
	ReadWrite = KNEM_PROT_READ | KNEM_PROT_WRITE,
};

enum class RegionFlags : std::uint32_t {
	None = 0,
	SingleUse = KNEM_FLAG_SINGLEUSE,        // destroyed by its first use
	AnyUserAccess = KNEM_FLAG_ANY_USER_ACCESS, // any uid may use the cookie
};

// Copy flags.  The asynchronous ones (AsyncDmaComplete, DmaThread,
// MemcpyThread, and NotifyFd with them) need the Device's status array:
// pass them to Device::submit_*, which manage the slots.  The synchronous
// calls (read, write, copy) refuse them with EINVAL unless the caller
// mapped the status array itself.
enum class CopyFlags : std::uint32_t {
	None = 0,
	Dma = KNEM_FLAG_DMA, // needs Device::has_dma(), else EINVAL
	AsyncDmaComplete = KNEM_FLAG_ASYNCDMACOMPLETE,
	DmaThread = KNEM_FLAG_DMATHREAD,
	MemcpyThread = KNEM_FLAG_MEMCPYTHREAD,
	PinLocal = KNEM_FLAG_PINLOCAL,
	NotifyFd = KNEM_FLAG_NOTIFY_FD,
};

#define KNEM_HPP_FLAG_OPERATORS(Type)                                              \
	constexpr Type operator|(Type a, Type b) noexcept                          \
	{                                                                          \
		return static_cast<Type>(static_cast<std::uint32_t>(a) |           \
					 static_cast<std::uint32_t>(b));           \
	}                                                                          \
	constexpr Type operator&(Type a, Type b) noexcept                          \
	{                                                                          \
		return static_cast<Type>(static_cast<std::uint32_t>(a) &           \
					 static_cast<std::uint32_t>(b));           \
	}                                                                          \
	constexpr Type& operator|=(Type& a, Type b) noexcept { return a = a | b; } \
	constexpr bool any(Type a) noexcept { return static_cast<std::uint32_t>(a) != 0; } \
	constexpr std::uint32_t bits(Type a) noexcept { return static_cast<std::uint32_t>(a); }

KNEM_HPP_FLAG_OPERATORS(Protection)
KNEM_HPP_FLAG_OPERATORS(RegionFlags)
KNEM_HPP_FLAG_OPERATORS(CopyFlags)
#undef KNEM_HPP_FLAG_OPERATORS

// The state of a copy request (knem_status_t values).
enum class Status : std::uint8_t {
	Pending = KNEM_STATUS_PENDING,
	Success = KNEM_STATUS_SUCCESS,
	Failed = KNEM_STATUS_FAILED,
};

// What a copy returned.  A FAILED copy is thrown (EIO), never returned, so
// status is Success, or Pending for an asynchronous request.
struct CopyResult {
	Status status = Status::Pending;

	constexpr bool done() const noexcept { return status == Status::Success; }
};

// KNEM_CMD_GET_INFO.
struct Info {
	std::uint32_t abi = 0;
	std::uint32_t features = 0;      // KNEM_FEATURE_*
	std::uint32_t ignored_flags = 0; // flags the driver drops from every command
	std::uint32_t forced_flags = 0;  // flags the driver adds to every command

	constexpr bool has_dma() const noexcept { return (features & KNEM_FEATURE_DMA) != 0; }
};

namespace detail {

// An owned file descriptor, closed on destruction.
class UniqueFd {
public:
	UniqueFd() noexcept = default;
	explicit UniqueFd(int fd) noexcept : fd_(fd) {}
	UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
	UniqueFd& operator=(UniqueFd&& other) noexcept;
	UniqueFd(const UniqueFd&) = delete;
	UniqueFd& operator=(const UniqueFd&) = delete;
	~UniqueFd();

	int get() const noexcept { return fd_; }
	void reset() noexcept;

private:
	int fd_ = -1;
};

// The shared state of a StatusArray: the mapping, a duplicate of the
// Device's descriptor, the free slots.  Kept alive by every AsyncCopy.
struct StatusState;
// Builds AsyncCopy handles and reaches the state of a StatusArray.
struct AsyncAccess;

} // namespace detail

class StatusArray;
class AsyncCopy;

struct DeviceOptions {
	std::string path = KNEM_DEVICE_FILENAME;
	// Refuse a driver whose GET_INFO abi is not KNEM_ABI_VERSION (EPROTO).
	bool check_abi = true;
};

// An open /dev/knem, i.e. one kernel context: it owns the regions created
// through it, which die when it is closed.  Move-only.  The copy methods
// are const and may be called from several threads at once.
class Device {
public:
	// Opens options.path O_RDWR|O_CLOEXEC and queries GET_INFO.
	// Throws std::system_error: the open() errno (ENOENT when the module
	// is not loaded, EACCES without permission), the GET_INFO errno, or
	// EPROTO "driver ABI 0x.. instead of 0xd" when check_abi is set.
	Device();
	explicit Device(const DeviceOptions& options);

	Device(Device&&) noexcept = default;
	Device& operator=(Device&&) noexcept = default;
	Device(const Device&) = delete;
	Device& operator=(const Device&) = delete;
	~Device() = default;

	int fd() const noexcept { return fd_.get(); }
	const std::string& path() const noexcept { return path_; }

	// GET_INFO as read when the device was opened (it cannot change
	// during the life of the context).
	const Info& info() const noexcept { return info_; }
	bool has_dma() const noexcept { return info_.has_dma(); }

	// INLINE_COPY with write=0: reads the region `remote` from
	// remote_offset into the local segments, as many bytes as both sides
	// hold.  The *_bounded variants copy at most `length` bytes.
	CopyResult read(Cookie remote, std::uint64_t remote_offset, Span<const Segment> local,
			CopyFlags flags = CopyFlags::None) const;
	CopyResult read(Cookie remote, std::uint64_t remote_offset,
			Span<const knem_cmd_param_iovec> local,
			CopyFlags flags = CopyFlags::None) const;
	CopyResult read(Cookie remote, std::uint64_t remote_offset, void* buffer, std::size_t length,
			CopyFlags flags = CopyFlags::None) const;
	CopyResult read_bounded(Cookie remote, std::uint64_t remote_offset, Span<const Segment> local,
				std::uint64_t length, CopyFlags flags = CopyFlags::None) const;
	CopyResult read_bounded(Cookie remote, std::uint64_t remote_offset,
				Span<const knem_cmd_param_iovec> local, std::uint64_t length,
				CopyFlags flags = CopyFlags::None) const;

	// INLINE_COPY with write=1: writes the local segments into the region
	// `remote` from remote_offset.
	CopyResult write(Cookie remote, std::uint64_t remote_offset, Span<const Segment> local,
			 CopyFlags flags = CopyFlags::None) const;
	CopyResult write(Cookie remote, std::uint64_t remote_offset,
			 Span<const knem_cmd_param_iovec> local,
			 CopyFlags flags = CopyFlags::None) const;
	CopyResult write(Cookie remote, std::uint64_t remote_offset, const void* buffer,
			 std::size_t length, CopyFlags flags = CopyFlags::None) const;
	CopyResult write_bounded(Cookie remote, std::uint64_t remote_offset, Span<const Segment> local,
				 std::uint64_t length, CopyFlags flags = CopyFlags::None) const;
	CopyResult write_bounded(Cookie remote, std::uint64_t remote_offset,
				 Span<const knem_cmd_param_iovec> local, std::uint64_t length,
				 CopyFlags flags = CopyFlags::None) const;

	// Region to region (COPY, or COPY_BOUNDED when a length is given).
	// Either region may belong to any context.
	CopyResult copy(Cookie source, std::uint64_t source_offset, Cookie destination,
			std::uint64_t destination_offset,
			std::optional<std::uint64_t> length = std::nullopt,
			CopyFlags flags = CopyFlags::None) const;

	// DESTROY_REGION on a cookie created through this device (see Region
	// for the owning form).  EINVAL if it is unknown or already consumed.
	void destroy_region(Cookie cookie) const;

	// Asynchronous copies (see "Asynchronous copies" below).  Each takes
	// a free slot of `slots`, which must have been made on this Device
	// (else EINVAL), issues the same command as its synchronous
	// counterpart with `flags` and that slot, and returns the handle of
	// the request; the data must stay in place until it is done.
	//
	// flags: by default MemcpyThread, the copy runs on the context's
	// offload worker.  Dma|DmaThread or Dma|AsyncDmaComplete offload it
	// to the DMA engine (Device::has_dma(), else EINVAL).  Add NotifyFd
	// to also get the slot index through a NotifyQueue (it needs
	// MemcpyThread or DmaThread, not AsyncDmaComplete).  Flags without
	// an asynchronous bit make a synchronous copy: the handle is then
	// complete on return.
	//
	// Throws std::system_error: EBUSY when every slot is held by an
	// AsyncCopy or when the notify queue is full (NotifyFd: as many
	// events outstanding, unread included, as slots); otherwise the
	// errno of the ioctl (EINVAL, EPERM, EACCES, EFAULT, ENOMEM).  A copy
	// that starts and fails is not thrown here: AsyncCopy::wait() throws
	// EIO.
	AsyncCopy submit_read(StatusArray& slots, Cookie remote, std::uint64_t remote_offset,
			      Span<const Segment> local,
			      CopyFlags flags = CopyFlags::MemcpyThread) const;
	AsyncCopy submit_read(StatusArray& slots, Cookie remote, std::uint64_t remote_offset,
			      void* buffer, std::size_t length,
			      CopyFlags flags = CopyFlags::MemcpyThread) const;
	AsyncCopy submit_read_bounded(StatusArray& slots, Cookie remote,
				      std::uint64_t remote_offset, Span<const Segment> local,
				      std::uint64_t length,
				      CopyFlags flags = CopyFlags::MemcpyThread) const;
	AsyncCopy submit_write(StatusArray& slots, Cookie remote, std::uint64_t remote_offset,
			       Span<const Segment> local,
			       CopyFlags flags = CopyFlags::MemcpyThread) const;
	AsyncCopy submit_write(StatusArray& slots, Cookie remote, std::uint64_t remote_offset,
			       const void* buffer, std::size_t length,
			       CopyFlags flags = CopyFlags::MemcpyThread) const;
	AsyncCopy submit_write_bounded(StatusArray& slots, Cookie remote,
				       std::uint64_t remote_offset, Span<const Segment> local,
				       std::uint64_t length,
				       CopyFlags flags = CopyFlags::MemcpyThread) const;
	AsyncCopy submit_copy(StatusArray& slots, Cookie source, std::uint64_t source_offset,
			      Cookie destination, std::uint64_t destination_offset,
			      std::optional<std::uint64_t> length = std::nullopt,
			      CopyFlags flags = CopyFlags::MemcpyThread) const;

private:
	detail::UniqueFd fd_;
	std::string path_;
	Info info_;
};

// A region of the caller's memory, declared to the driver (CREATE_REGION),
// destroyed (DESTROY_REGION) by the destructor.  Move-only.  It keeps the
// descriptor number of its Device, so it must not outlive that Device;
// closing the Device destroys the region in the driver anyway.
class Region {
public:
	Region() noexcept = default;
	Region(const Device& device, Span<const Segment> segments, Protection protection,
	       RegionFlags flags = RegionFlags::None);
	Region(const Device& device, Span<const knem_cmd_param_iovec> segments,
	       Protection protection, RegionFlags flags = RegionFlags::None);
	Region(const Device& device, const void* base, std::size_t length, Protection protection,
	       RegionFlags flags = RegionFlags::None);

	Region(Region&& other) noexcept;
	Region& operator=(Region&& other) noexcept;
	Region(const Region&) = delete;
	Region& operator=(const Region&) = delete;
	// Destroys the region; every error is ignored (a consumed single-use
	// region gives EINVAL, which is expected).
	~Region();

	Cookie cookie() const noexcept { return cookie_; }
	bool single_use() const noexcept { return single_use_; }
	explicit operator bool() const noexcept { return cookie_ != 0; }

	// Destroys the region now and empties this object (also when it
	// throws).  Returns false when a single-use region had already been
	// consumed (EINVAL), true when it was destroyed; any other error
	// throws std::system_error.  An empty Region returns false.
	bool destroy();

	// Gives up ownership without destroying: the region lives until it is
	// consumed (single use), destroyed through Device::destroy_region, or
	// its Device is closed.
	[[nodiscard]] Cookie release() noexcept;

private:
	int fd_ = -1;
	Cookie cookie_ = 0;
	bool single_use_ = false;
};

// ---------------------------------------------------------------------------
// Asynchronous copies.
//
// The driver reports asynchronous requests through a status array: bytes
// of memory shared with the kernel (mmap of the Device's file), one slot
// per request in flight, PENDING until the request is done, then SUCCESS
// or FAILED.  A file maps its array once in its life.  The requests of one
// Device complete in submission order, whatever engine ran them (inline,
// offload worker, DMA engine).
//
//   knem::Device dev;
//   knem::StatusArray slots(dev);              // 4096 slots
//   knem::AsyncCopy a = dev.submit_read(slots, cookie, 0, buf, len);
//   ... overlap ...
//   a.wait();                                  // or poll a.done()
//
// With CopyFlags::NotifyFd, the slot index of each completed request is
// also queued on the file, to be read by a NotifyQueue (poll(2)-able).

// The status array of a Device: mmap of `slots` bytes at offset 0, which
// the driver rounds up to whole pages (at least 4096 slots; at most 2^32).
// The slots are handed out by Device::submit_* and come back when their
// AsyncCopy is done and destroyed: users never pick indices.  Move-only.
//
// The array keeps a duplicate of the Device's descriptor, so it (and every
// AsyncCopy and NotifyQueue made from it) may outlive the Device object;
// the kernel context lives until all of them are gone.  Thread-safe.
class StatusArray {
public:
	static constexpr std::size_t default_slots = 4096;

	// Throws std::system_error: EBUSY when the Device's file already
	// mapped its array (a file maps once, ever), EINVAL for 0 or more
	// than 2^32 slots, ENOMEM, or the errno of dup().
	explicit StatusArray(const Device& device, std::size_t slots = default_slots);

	StatusArray(StatusArray&&) noexcept = default;
	StatusArray& operator=(StatusArray&&) noexcept = default;
	StatusArray(const StatusArray&) = delete;
	StatusArray& operator=(const StatusArray&) = delete;
	// Unmaps when the last AsyncCopy or NotifyQueue using it is gone too.
	~StatusArray() = default;

	// Number of slots (page-rounded).
	std::size_t size() const noexcept;
	// Slots not held by an AsyncCopy.
	std::size_t available() const;
	// The raw slot (for diagnostics; an AsyncCopy reads its own);
	// EINVAL past the end.
	Status slot(std::uint32_t index) const;
	// The duplicated descriptor of the Device's file.
	int fd() const noexcept;

private:
	friend struct detail::AsyncAccess;
	friend class NotifyQueue;
	std::shared_ptr<detail::StatusState> state_;
};

// One request submitted by Device::submit_*: it owns its slot until it is
// destroyed.  Move-only, like std::future; a handle is used by one thread
// at a time.  An empty handle (default-constructed or moved-from) reports
// Success.
class AsyncCopy {
public:
	AsyncCopy() noexcept = default;
	AsyncCopy(AsyncCopy&& other) noexcept;
	// Waits for the request held so far (as the destructor does), then
	// takes other's.
	AsyncCopy& operator=(AsyncCopy&& other) noexcept;
	AsyncCopy(const AsyncCopy&) = delete;
	AsyncCopy& operator=(const AsyncCopy&) = delete;
	// Waits until the request is done if it still is PENDING, because
	// the kernel writes into the slot, then gives the slot back.
	// Never throws: a FAILED request is silently dropped.
	~AsyncCopy();

	bool valid() const noexcept { return state_ != nullptr; }
	explicit operator bool() const noexcept { return valid(); }
	// The slot index: what a NotifyQueue returns for this request.
	std::uint32_t slot() const noexcept { return slot_; }

	// Pending, Success or Failed, without waiting.
	Status status() const noexcept;
	bool done() const noexcept { return status() != Status::Pending; }
	// Waits, spinning then sleeping with a growing backoff (up to 1 ms).
	// Throws std::system_error(EIO) when the request FAILED.
	void wait() const;
	// Like wait(), at most `timeout`; false if still pending.
	bool wait_for(std::chrono::nanoseconds timeout) const;

private:
	friend struct detail::AsyncAccess;
	AsyncCopy(std::shared_ptr<detail::StatusState> state, std::uint32_t slot,
		  Status known) noexcept;
	// Waits quietly, gives the slot back, empties the handle.
	void reset() noexcept;

	std::shared_ptr<detail::StatusState> state_;
	std::uint32_t slot_ = 0;
	// The result once known (from current_status or the slot).
	mutable Status known_ = Status::Success;
};

// The completion queue of NOTIFY_FD requests: each event is the slot index
// of one completed request (success or failure), in completion order =
// submission order.  It reads the file of `slots` (its duplicated
// descriptor), which it makes non-blocking: that changes nothing for the
// copy commands, only for read(2).  One NotifyQueue per StatusArray.
class NotifyQueue {
public:
	explicit NotifyQueue(const StatusArray& slots);

	NotifyQueue(NotifyQueue&&) noexcept = default;
	NotifyQueue& operator=(NotifyQueue&&) noexcept = default;
	NotifyQueue(const NotifyQueue&) = delete;
	NotifyQueue& operator=(const NotifyQueue&) = delete;
	~NotifyQueue() = default;

	// For poll(2)/epoll: POLLIN when events are queued.
	int fd() const noexcept;
	// Waits until an event is queued (std::nullopt: forever); false on
	// timeout.
	bool wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt) const;
	// The events queued now, at most max; empty when none.
	std::vector<std::uint32_t> try_pop(std::size_t max = 64) const;
	// At least one event (waiting up to timeout), at most max; empty on
	// timeout.
	std::vector<std::uint32_t> pop(std::size_t max = 64,
				       std::optional<std::chrono::milliseconds> timeout = std::nullopt) const;
	// Exactly n events, waiting as long as it takes.
	std::vector<std::uint32_t> pop_exactly(std::size_t n) const;

private:
	std::shared_ptr<detail::StatusState> state_;
};

// ---------------------------------------------------------------------------
// Statistics: `cat /dev/knem`.

// The 13 request counters, in the order of the text.
struct Counters {
	std::uint64_t submitted = 0;
	std::uint64_t processed = 0;
	std::uint64_t processed_dma = 0;
	std::uint64_t processed_thread = 0;
	std::uint64_t processed_pinlocal = 0;
	std::uint64_t rejected_invalid_flags = 0;
	std::uint64_t rejected_nomem = 0;
	std::uint64_t rejected_invalid_argument = 0;
	std::uint64_t rejected_unknown_cookie = 0;
	std::uint64_t rejected_pin_local = 0;
	std::uint64_t failed_memcpy = 0;
	std::uint64_t failed_dma = 0;
	std::uint64_t dma_cleanup_timeout = 0;
};

// One counter: a short name, its label in the text (without the leading
// blanks, padding and colon), and its field.
struct CounterField {
	const char* name;
	const char* label;
	std::uint64_t Counters::*member;
};

// The 13 counters, in text order.
Span<const CounterField> counter_fields() noexcept;

enum class DmaState {
	NoKernelSupport, // " DMAEngine: NoKernelSupport"
	Disabled,        // " DMAEngine: KernelSupported Disabled"
	NoChannel,       // " DMAEngine: KernelSupported Enabled NoChannelAvailable"
	Available,       // " DMAEngine: KernelSupported Enabled ChansAvail ChunkMin=<n>B"
	Unknown,         // anything else
};

struct Stats {
	std::string version;          // "knem <version>": the part after "knem "
	std::uint32_t abi = 0;        // " Driver ABI=0x<hex>"
	std::uint32_t forced_flags = 0;  // " Flags: forcing 0x<hex>, ignoring 0x<hex>"
	std::uint32_t ignored_flags = 0;
	std::string dma;              // text after " DMAEngine: "
	DmaState dma_state = DmaState::Unknown;
	std::uint32_t dma_chunk_min = 0; // ChunkMin when Available
	std::string debug;            // text after " Debug: "
	bool debug_built = false;     // "BuiltIn ..." rather than "NotBuilt"
	bool debug_enabled = false;   // "BuiltIn Enabled"
	Counters counters;
	// Lines that are none of the above (the statsverbose listing of
	// contexts and regions), verbatim, in order.
	std::vector<std::string> extra;

	// Parses the text.  Pure: touches no file.  Every header line and all
	// 13 counters must be present exactly once, else std::system_error
	// with EPROTO naming the missing or malformed line.
	static Stats parse(std::string_view text);

	// Reads the whole text from `path` opened O_RDONLY.
	static std::string read_text(const std::string& path = KNEM_DEVICE_FILENAME);
	// read_text() + parse().
	static Stats read(const std::string& path = KNEM_DEVICE_FILENAME);
	// Writes "1\n" to `path` opened O_WRONLY: resets the counters.  Needs
	// CAP_SYS_ADMIN (EPERM otherwise).
	static void reset(const std::string& path = KNEM_DEVICE_FILENAME);
};

} // namespace knem

#endif // KNEM_HPP
