/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * knemxen_iface.c - the knemxen interface: who it reaches, and its
 * registration with UCX when the library is loaded.
 *
 * Debian's UCX loads only the modules named at its build time; this
 * library registers its component and transport from its constructor, so
 * LD_PRELOAD is enough.  The classes it derives from are UCX's internal
 * ones: it registers only into the UCX version whose headers it was built
 * with, and says so in one line otherwise.
 */
#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "knemxen.h"

#include <ucs/debug/log.h>
#include <ucs/sys/sys.h>
#include <uct/api/version.h>
#include <uct/sm/base/sm_iface.h>

#include <dlfcn.h>
#include <stdio.h>

static ucs_config_field_t uct_knemxen_iface_config_table[] = {
    /* UCX's knem transport's default: knem is a single copy */
    {"SCOPY_", "SM_BW=13862MBs", NULL,
     ucs_offsetof(uct_knemxen_iface_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_scopy_iface_config_table)},

    {NULL}
};

static ucs_status_t uct_knemxen_iface_query(uct_iface_h tl_iface,
                                            uct_iface_attr_t *attr)
{
    uct_knemxen_iface_t *iface = ucs_derived_of(tl_iface, uct_knemxen_iface_t);

    uct_scopy_iface_query(&iface->super, attr);
    attr->device_addr_len     = sizeof(uct_knemxen_device_addr_t);
    attr->iface_addr_len      = 0;
    /*
     * The copy runs on the calling process's CPU, as CMA's does: rated the
     * same way (dedicated, not divided among the processes of the node),
     * so that UCX compares the two single copies like with like.
     */
    attr->bandwidth.dedicated = iface->super.super.config.bandwidth;
    attr->bandwidth.shared    = 0;
    return UCS_OK;
}

static ucs_status_t uct_knemxen_iface_get_device_address(uct_iface_h tl_iface,
                                                         uct_device_addr_t *addr)
{
    uct_knemxen_iface_t *iface = ucs_derived_of(tl_iface, uct_knemxen_iface_t);
    uct_knemxen_device_addr_t *dev_addr = (uct_knemxen_device_addr_t *)addr;

    dev_addr->system_id  = ucs_get_system_id();
    dev_addr->sharing_id = iface->md->sharing_id;
    return UCS_OK;
}

static int uct_knemxen_iface_is_reachable(const uct_iface_h tl_iface,
                                          const uct_device_addr_t *addr,
                                          const uct_iface_addr_t *iface_addr)
{
    uct_knemxen_iface_t *iface = ucs_derived_of(tl_iface, uct_knemxen_iface_t);
    const uct_knemxen_device_addr_t *dev_addr =
            (const uct_knemxen_device_addr_t *)addr;
    uint64_t sharing_id = iface->md->sharing_id;

    if (dev_addr->system_id == ucs_get_system_id()) {
        return 1;
    }
    return (sharing_id != 0) && (dev_addr->sharing_id == sharing_id);
}

static UCS_CLASS_DECLARE_DELETE_FUNC(uct_knemxen_iface_t, uct_iface_t);

static uct_iface_ops_t uct_knemxen_iface_tl_ops = {
    .ep_put_zcopy             = uct_scopy_ep_put_zcopy,
    .ep_get_zcopy             = uct_scopy_ep_get_zcopy,
    .ep_pending_add           = ucs_empty_function_return_busy,
    .ep_pending_purge         = ucs_empty_function,
    .ep_flush                 = uct_scopy_ep_flush,
    .ep_fence                 = uct_sm_ep_fence,
    .ep_create                = UCS_CLASS_NEW_FUNC_NAME(uct_knemxen_ep_t),
    .ep_destroy               = UCS_CLASS_DELETE_FUNC_NAME(uct_knemxen_ep_t),
    .iface_flush              = uct_scopy_iface_flush,
    .iface_fence              = uct_sm_iface_fence,
    .iface_progress_enable    = ucs_empty_function,
    .iface_progress_disable   = ucs_empty_function,
    .iface_progress           = uct_scopy_iface_progress,
    .iface_event_fd_get       = ucs_empty_function_return_unsupported,
    .iface_event_arm          = uct_scopy_iface_event_arm,
    .iface_close              = UCS_CLASS_DELETE_FUNC_NAME(uct_knemxen_iface_t),
    .iface_query              = uct_knemxen_iface_query,
    .iface_get_device_address = uct_knemxen_iface_get_device_address,
    .iface_get_address        = ucs_empty_function_return_success,
    .iface_is_reachable       = uct_knemxen_iface_is_reachable,
};

static uct_scopy_iface_ops_t uct_knemxen_iface_ops = {
    .super = {
        .iface_estimate_perf = uct_base_iface_estimate_perf,
        .iface_vfs_refresh   = (uct_iface_vfs_refresh_func_t)ucs_empty_function,
        .ep_query            = (uct_ep_query_func_t)
                                       ucs_empty_function_return_unsupported,
        .ep_invalidate       = (uct_ep_invalidate_func_t)
                                       ucs_empty_function_return_unsupported
    },
    .ep_tx = uct_knemxen_ep_tx,
};

static UCS_CLASS_INIT_FUNC(uct_knemxen_iface_t, uct_md_h md,
                           uct_worker_h worker,
                           const uct_iface_params_t *params,
                           const uct_iface_config_t *tl_config)
{
    UCS_CLASS_CALL_SUPER_INIT(uct_scopy_iface_t, &uct_knemxen_iface_tl_ops,
                              &uct_knemxen_iface_ops, md, worker, params,
                              tl_config);
    self->md = ucs_derived_of(md, uct_knemxen_md_t);
    return UCS_OK;
}

static UCS_CLASS_CLEANUP_FUNC(uct_knemxen_iface_t)
{
}

UCS_CLASS_DEFINE(uct_knemxen_iface_t, uct_scopy_iface_t);

static UCS_CLASS_DEFINE_NEW_FUNC(uct_knemxen_iface_t, uct_iface_t, uct_md_h,
                                 uct_worker_h, const uct_iface_params_t *,
                                 const uct_iface_config_t *);
static UCS_CLASS_DEFINE_DELETE_FUNC(uct_knemxen_iface_t, uct_iface_t);

/*
 * One device, "memory".  With a sharing id it reaches other domains as a
 * network does, and is typed so: MPI libraries give the processes of other
 * nodes an address of network devices alone (UCP_WORKER_ADDRESS_FLAG_NET_ONLY,
 * as Open MPI's pml ucx does), which would leave a shared-memory device out.
 */
static ucs_status_t
uct_knemxen_query_tl_devices(uct_md_h tl_md,
                             uct_tl_device_resource_t **tl_devices_p,
                             unsigned *num_tl_devices_p)
{
    uct_knemxen_md_t *md = ucs_derived_of(tl_md, uct_knemxen_md_t);

    return uct_single_device_resource(tl_md, UCT_SM_DEVICE_NAME,
                                      md->sharing_id ? UCT_DEVICE_TYPE_NET :
                                                       UCT_DEVICE_TYPE_SHM,
                                      UCS_SYS_DEVICE_ID_UNKNOWN, tl_devices_p,
                                      num_tl_devices_p);
}

UCT_TL_DEFINE_ENTRY(&uct_knemxen_component, knemxen,
                    uct_knemxen_query_tl_devices, uct_knemxen_iface_t,
                    "KNEMXEN_", uct_knemxen_iface_config_table,
                    uct_knemxen_iface_config_t);

/*
 * The version of the UCX this process runs, from libucp (libuct has no
 * version call); the same installation as the libuct this library was
 * linked with.  Returns 0 if it cannot be told.
 */
static int uct_knemxen_runtime_version(unsigned *major, unsigned *minor)
{
    void (*get_version)(unsigned *, unsigned *, unsigned *);
    unsigned release;
    void *ucp;

    ucp = dlopen("libucp.so.0", RTLD_LAZY | RTLD_LOCAL);
    if (ucp == NULL) {
        return 0;
    }
    *(void **)&get_version = dlsym(ucp, "ucp_get_version");
    if (get_version != NULL) {
        get_version(major, minor, &release);
    }
    dlclose(ucp);
    return get_version != NULL;
}

/*
 * Whether the running UCX is the one this library was built for: the same
 * major.minor, and base classes of the sizes our headers say.
 */
static int uct_knemxen_ucx_matches(void)
{
    unsigned major, minor;

    if (!uct_knemxen_runtime_version(&major, &minor)) {
        fprintf(stderr, UCT_KNEMXEN_NAME ": cannot tell the UCX version "
                "(no libucp.so.0): transport not registered\n");
        return 0;
    }
    if ((major != UCT_VERNO_MAJOR) || (minor != UCT_VERNO_MINOR)) {
        fprintf(stderr, UCT_KNEMXEN_NAME ": built for UCX %d.%d, running "
                "with UCX %u.%u: transport not registered\n",
                UCT_VERNO_MAJOR, UCT_VERNO_MINOR, major, minor);
        return 0;
    }
    if ((uct_scopy_iface_t_class.size != sizeof(uct_scopy_iface_t)) ||
        (uct_scopy_ep_t_class.size != sizeof(uct_scopy_ep_t))) {
        fprintf(stderr, UCT_KNEMXEN_NAME ": UCX %u.%u was built with another "
                "configuration than the headers of this library: transport "
                "not registered\n", major, minor);
        return 0;
    }
    return 1;
}

static int uct_knemxen_registered;

UCS_F_CTOR static void uct_knemxen_init(void)
{
    if (!uct_knemxen_ucx_matches()) {
        return;
    }
    uct_component_register(&uct_knemxen_component);
    uct_tl_register(&uct_knemxen_component, &uct_knemxen_tl);
    uct_knemxen_registered = 1;
}

UCS_F_DTOR static void uct_knemxen_cleanup(void)
{
    if (uct_knemxen_registered) {
        uct_tl_unregister(&uct_knemxen_tl);
        uct_component_unregister(&uct_knemxen_component);
    }
}
