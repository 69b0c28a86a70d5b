# SPDX-License-Identifier: BSD-3-Clause
# The sources of the kernel modules: the one list, read by the Kbuild files,
# by the Makefile.am's (distribution, install-dkms) and by common/Makefile.am
# (the copy core in user space, for the unit tests).  Plain make syntax that
# automake reads too.
#
# knem.ko, built in dom0-backend/: the native driver (/dev/knem) on the
# copy core, plus dom0's Xen backend where the kernel has CONFIG_XEN_BACKEND.
# knem-front.ko, built in domU-frontend/ where the kernel has the Xen guest
# side (CONFIG_XEN_XENBUS_FRONTEND): registers a guest's Xen operations with
# knem.ko, through the symbols knem.ko exports in the namespace KNEM.

# common/: the copy core, also built in user space.
knem_core_sources = knem_seg.c knem_plan.c knem_region.c knem_cookie.c \
	knem_cpu_copy.c knem_flags.c knem_stats.c knem_xen_validate.c
knem_core_headers = knem_io.h knem_platform.h knem_seg.h knem_plan.h \
	knem_region.h knem_cookie.h knem_cpu_copy.h knem_flags.h knem_stats.h \
	knem_xen_io.h knem_xen_validate.h

# dom0-backend/: the native driver, in every knem.ko.
knem_native_sources = knem_main.c knem_context.c knem_user_region.c \
	knem_copy.c knem_copy_map.c knem_async.c knem_dma.c knem_statsfile.c \
	knem_xen_ops.c
knem_native_headers = knem_native.h

# dom0-backend/: the Xen backend, in knem.ko with CONFIG_XEN_BACKEND.
knem_backend_sources = knemback_main.c knemback_xenbus.c knemback_ring.c \
	knemback_region.c knemback_copy.c knemback_gntcopy.c \
	knemback_mapcopy.c knemback_map.c knemback_policy.c
knem_backend_headers = knemback.h

# domU-frontend/: knem-front.ko.
knem_front_sources = knemfront_main.c knemfront_xenbus.c knemfront_ring.c \
	knemfront_grant.c knemfront_region.c knemfront_released.c \
	knemfront_copy.c
knem_front_headers = knemfront.h
