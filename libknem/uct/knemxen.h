/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * knemxen.h - the "knemxen" UCT transport: knem single copies for UCX
 * builds without their own knem transport (Debian's UCX 1.13), between
 * processes of one machine or one Xen guest, and between processes of two
 * guests of one Xen host that dom0 put in the same sharing group.
 *
 * It derives from UCX's single-copy ("scopy") base classes, which
 * libuct.so exports; it is built against the internal headers of the UCX
 * version it was configured with and refuses to register on another one.
 */
#ifndef UCT_KNEMXEN_H
#define UCT_KNEMXEN_H

#include <knem_io.h>

#include <ucs/memory/rcache.h>
#include <uct/base/uct_md.h>
#include <uct/sm/scopy/base/scopy_ep.h>
#include <uct/sm/scopy/base/scopy_iface.h>

#define UCT_KNEMXEN_NAME        "knemxen"
#define UCT_KNEMXEN_DEVICE      "/dev/knem"
/* Written by knem.ko and knem-front.ko: who may reach this kernel's regions. */
#define UCT_KNEMXEN_SHARING_ID  "/sys/class/misc/knem/sharing_id"

/*
 * A registration (memh) and its packed remote key: the region's cookie and
 * the address its first byte has in the owner's address space.  A memh
 * with cookie 0 is a registration that knem refused: the local side of a
 * copy through it is then given inline, the remote side cannot be reached.
 */
typedef struct uct_knemxen_key {
    uint64_t  cookie;
    uintptr_t address;
} uct_knemxen_key_t;

typedef struct uct_knemxen_md_config {
    uct_md_config_t          super;
    ucs_ternary_auto_value_t rcache_enable;
    uct_md_rcache_config_t   rcache;
} uct_knemxen_md_config_t;

typedef struct uct_knemxen_md {
    struct uct_md     super;
    int               fd;           /* /dev/knem */
    uint64_t          sharing_id;   /* 0: no other domain may be reached */
    uint32_t          region_flags; /* KNEM_FLAG_ANY_USER_ACCESS with a group */
    ucs_rcache_t      *rcache;      /* NULL when disabled */
    ucs_linear_func_t reg_cost;
    uct_knemxen_key_t unregistered; /* the memh of refused registrations */
} uct_knemxen_md_t;

typedef struct uct_knemxen_rcache_region {
    ucs_rcache_region_t super;
    uct_knemxen_key_t   key;        /* given to UCX as the memh */
} uct_knemxen_rcache_region_t;

/*
 * The device address: this kernel (UCX's system id, from the boot id) and
 * the sharing id of its domain.  Two processes reach each other through
 * knem when they run on the same kernel, or when both sharing ids are set
 * and equal (two guests, or dom0 and a guest, in one sharing group).
 */
typedef struct uct_knemxen_device_addr {
    uint64_t system_id;
    uint64_t sharing_id;
} UCS_S_PACKED uct_knemxen_device_addr_t;

typedef struct uct_knemxen_iface_config {
    uct_scopy_iface_config_t super;
} uct_knemxen_iface_config_t;

typedef struct uct_knemxen_iface {
    uct_scopy_iface_t super;
    uct_knemxen_md_t  *md;
} uct_knemxen_iface_t;

typedef struct uct_knemxen_ep {
    uct_scopy_ep_t super;
} uct_knemxen_ep_t;

extern uct_component_t uct_knemxen_component;

UCS_CLASS_DECLARE_NEW_FUNC(uct_knemxen_ep_t, uct_ep_t, const uct_ep_params_t *);
UCS_CLASS_DECLARE_DELETE_FUNC(uct_knemxen_ep_t, uct_ep_t);

ucs_status_t uct_knemxen_ep_tx(uct_ep_h tl_ep, const uct_iov_t *iov,
                               size_t iov_cnt, ucs_iov_iter_t *iov_iter,
                               size_t *length_p, uint64_t remote_addr,
                               uct_rkey_t rkey, uct_scopy_tx_op_t tx_op);

#endif
