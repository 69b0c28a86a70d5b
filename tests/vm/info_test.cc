// SPDX-License-Identifier: BSD-3-Clause
//
// GET_INFO and the presence of the device (knem-abi.md §1, §2, §4).
#include "knem_vm_test.h"

#include <fstream>

using namespace knemtest;

namespace {

TEST(Info, ModuleLoadedAndDevicePresent)
{
	std::ifstream modules("/proc/modules");
	ASSERT_TRUE(modules.good()) << "cannot read /proc/modules";
	std::string line;
	int found = 0;
	while (std::getline(modules, line))
		if (line.compare(0, 5, "knem ") == 0)
			found++;
	EXPECT_EQ(1, found) << "knem is not listed once in /proc/modules";

	struct stat st;
	ASSERT_EQ(0, ::stat(KNEM_DEVICE_FILENAME, &st))
		<< KNEM_DEVICE_FILENAME << ": " << strerror(errno);
	EXPECT_TRUE(S_ISCHR(st.st_mode)) << "not a character device";
	EXPECT_EQ(10u, major(st.st_rdev)) << "not a misc device";

	EXPECT_EQ(0, ::access("/sys/module/knem/parameters", R_OK))
		<< "/sys/module/knem/parameters is missing";
}

// The sharing id of the device (doc/xen-setup.md): "none" off Xen, where
// no other domain exists, and readable by everyone.
TEST(Info, SharingIdIsNoneOffXenAndReadableByAll)
{
	const char *path = "/sys/class/misc/knem/sharing_id";
	struct stat st;
	ASSERT_EQ(0, ::stat(path, &st)) << path << ": " << strerror(errno);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0444u, st.st_mode & 07777) << std::oct << st.st_mode;

	Fd fd(::open(path, O_RDONLY | O_CLOEXEC));
	ASSERT_TRUE(fd.valid()) << path << ": " << strerror(errno);
	EXPECT_EQ("none\n", ReadAll(fd.get()));

	EXPECT_EQ("", RunInChild([&]() -> std::string {
		std::string err = BecomeNobody();
		if (!err.empty())
			return err;
		Fd nobody(::open(path, O_RDONLY | O_CLOEXEC));
		if (!nobody.valid())
			return std::string("open as nobody: ") + strerror(errno);
		std::string text = ReadAll(nobody.get());
		return text == "none\n" ? "" : "nobody reads '" + text + "'";
	}));
}

TEST(Info, AbiIs0xdWithoutFeatures)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	knem_cmd_info info;
	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(Ok(), Ioctl(fd.get(), KNEM_CMD_GET_INFO, &info));
	EXPECT_EQ(0xdu, info.abi);
	EXPECT_EQ(static_cast<uint32_t>(KNEM_ABI_VERSION), info.abi);
	// The test VM has no DMA engine (unless tests/dma-provider is
	// loaded): the DMA feature must not be claimed without one.
	const uint32_t allowed = DmaChannelsPresent() ? KNEM_FEATURE_DMA : 0;
	EXPECT_EQ(0u, info.features & ~allowed)
		<< "features 0x" << std::hex << info.features;
}

TEST(Info, WorksOnWriteOnlyFd)
{
	KNEM_OPEN_OR_FAIL(fd, O_WRONLY);
	knem_cmd_info info;
	ASSERT_EQ(Ok(), GetInfo(fd.get(), &info));
	EXPECT_EQ(0xdu, info.abi);
}

TEST(Info, IgnoredAndForcedFlagsMatchModuleParameters)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	knem_cmd_info info;
	ASSERT_EQ(Ok(), GetInfo(fd.get(), &info));

	unsigned long long dma, thread, sync, pinlocal, forceflags, ignoreflags;
	ASSERT_TRUE(ReadParamU64("dma", &dma)) << ParamPath("dma");
	ASSERT_TRUE(ReadParamU64("thread", &thread)) << ParamPath("thread");
	ASSERT_TRUE(ReadParamU64("sync", &sync)) << ParamPath("sync");
	ASSERT_TRUE(ReadParamU64("pinlocal", &pinlocal))
		<< ParamPath("pinlocal");
	ASSERT_TRUE(ReadParamU64("forceflags", &forceflags))
		<< ParamPath("forceflags");
	ASSERT_TRUE(ReadParamU64("ignoreflags", &ignoreflags))
		<< ParamPath("ignoreflags");

	uint32_t ignored = static_cast<uint32_t>(ignoreflags);
	uint32_t forced = static_cast<uint32_t>(forceflags);
	if (!dma)
		ignored |= KNEM_FLAG_DMA;
	if (sync)
		ignored |= KNEM_FLAG_ANY_ASYNC_MASK;
	if (!thread)
		ignored |= KNEM_FLAG_ANY_THREAD_MASK;
	if (pinlocal)
		forced |= KNEM_FLAG_PINLOCAL;

	EXPECT_EQ(ignored, info.ignored_flags)
		<< std::hex << "dma=" << dma << " thread=" << thread
		<< " sync=" << sync << " ignoreflags=0x" << ignoreflags;
	EXPECT_EQ(forced, info.forced_flags)
		<< std::hex << "pinlocal=" << pinlocal << " forceflags=0x"
		<< forceflags;
	EXPECT_EQ(0u, info.ignored_flags & info.forced_flags);
}

TEST(Info, DefaultParametersIgnoreAndForceNothing)
{
	// The suite runs with the module's default parameters; the async
	// and DMA expectations of the other tests rely on them.
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	knem_cmd_info info;
	ASSERT_EQ(Ok(), GetInfo(fd.get(), &info));
	EXPECT_EQ(0u, info.ignored_flags);
	EXPECT_EQ(0u, info.forced_flags);
}

TEST(Info, BadArgumentPointerIsEfault)
{
	KNEM_OPEN_OR_FAIL(fd, O_RDWR);
	EXPECT_EQ(Err{EFAULT}, IoctlRaw(fd.get(), KNEM_CMD_GET_INFO, 0));
	EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), KNEM_CMD_GET_INFO,
				     UnmappedAddress()));
	EXPECT_EQ(Err{EFAULT},
		  Ioctl(fd.get(), KNEM_CMD_GET_INFO, KernelAddress()));
	// A read-only page cannot receive the answer.
	KNEM_MAP_OR_FAIL(ro, kPage, PROT_READ);
	EXPECT_EQ(Err{EFAULT}, Ioctl(fd.get(), KNEM_CMD_GET_INFO, ro.data()));
}

} // namespace
