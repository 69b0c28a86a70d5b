// SPDX-License-Identifier: BSD-3-Clause
//
// test_core.h - the copy core's C headers, for the C++ unit tests.
#ifndef KNEM_TEST_CORE_H
#define KNEM_TEST_CORE_H

// The C library headers that knem_platform.h pulls in, first and with C++
// linkage rules, so that the extern "C" block below only declares the
// core's own functions.
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <random>

extern "C" {
#include "knem_cookie.h"
#include "knem_cpu_copy.h"
#include "knem_flags.h"
#include "knem_io.h"
#include "knem_plan.h"
#include "knem_platform.h"
#include "knem_region.h"
#include "knem_seg.h"
#include "knem_stats.h"
}

namespace knem_test {

inline u64 addr_of(const void *p)
{
	return (u64)(uintptr_t)p;
}

} // namespace knem_test

#endif // KNEM_TEST_CORE_H
