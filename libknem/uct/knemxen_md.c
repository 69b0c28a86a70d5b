/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * knemxen_md.c - the knemxen memory domain: /dev/knem, the sharing id of
 * this domain, and registrations (knem regions, cached by UCX's
 * registration cache).
 *
 * UCP registers the local buffer of a rendezvous for this transport too
 * (UCT_MD_FLAG_NEED_MEMH), so that a copy between two registered buffers
 * is one KNEM_CMD_COPY_BOUNDED between two cached regions: across Xen
 * guests, the path dom0 serves from its persistent mappings.  UCP asserts
 * that such a registration succeeds, so a registration knem refuses
 * becomes a memh without a region, and the copies through it fall back to
 * KNEM_CMD_INLINE_COPY.
 */
#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "knemxen.h"

#include <ucm/api/ucm.h>
#include <ucs/debug/log.h>
#include <ucs/debug/memtrack_int.h>
#include <ucs/sys/sys.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static ucs_config_field_t uct_knemxen_md_config_table[] = {
    {"", "", NULL,
     ucs_offsetof(uct_knemxen_md_config_t, super),
     UCS_CONFIG_TYPE_TABLE(uct_md_config_table)},

    {"RCACHE", "try", "Enable the memory registration cache",
     ucs_offsetof(uct_knemxen_md_config_t, rcache_enable),
     UCS_CONFIG_TYPE_TERNARY},

    {"", "", NULL,
     ucs_offsetof(uct_knemxen_md_config_t, rcache),
     UCS_CONFIG_TYPE_TABLE(uct_md_config_rcache_table)},

    {NULL}
};

/* The sharing id of this domain (0 for "none" or an older module). */
static uint64_t uct_knemxen_read_sharing_id(void)
{
    char text[32] = "";
    uint64_t id;
    char *end;
    FILE *file;

    file = fopen(UCT_KNEMXEN_SHARING_ID, "r");
    if (file == NULL) {
        /* a knem without Xen support: processes of one kernel only */
        return 0;
    }
    if (fgets(text, sizeof(text), file) == NULL) {
        text[0] = '\0';
    }
    fclose(file);
    if (!strcmp(text, "none\n")) {
        return 0;
    }
    errno = 0;
    id    = strtoull(text, &end, 16);
    if ((errno != 0) || (end != text + 16) || (*end != '\n')) {
        ucs_warn(UCT_KNEMXEN_NAME ": unexpected " UCT_KNEMXEN_SHARING_ID
                 " contents: other domains will not be reached");
        return 0;
    }
    return id;
}

/* Opens /dev/knem and checks its ABI; -1 if it cannot be used. */
static int uct_knemxen_open_device(void)
{
    struct knem_cmd_info info = {0};
    int fd;

    fd = open(UCT_KNEMXEN_DEVICE, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    if (ioctl(fd, KNEM_CMD_GET_INFO, &info) < 0) {
        close(fd);
        return -1;
    }
    if (info.abi != KNEM_ABI_VERSION) {
        ucs_warn(UCT_KNEMXEN_NAME ": " UCT_KNEMXEN_DEVICE " has ABI 0x%x, "
                 "not 0x%x: transport disabled", info.abi, KNEM_ABI_VERSION);
        close(fd);
        errno = EPROTO;
        return -1;
    }
    return fd;
}

static ucs_status_t
uct_knemxen_query_md_resources(uct_component_t *component,
                               uct_md_resource_desc_t **resources_p,
                               unsigned *num_resources_p)
{
    static int warned;
    int fd = uct_knemxen_open_device();

    if (fd < 0) {
        /* UCX asks once per context: say it once per process */
        if ((errno != EPROTO) && !warned) {
            ucs_warn(UCT_KNEMXEN_NAME ": cannot use " UCT_KNEMXEN_DEVICE
                     " (%m): transport disabled");
            warned = 1;
        }
        return uct_md_query_empty_md_resource(resources_p, num_resources_p);
    }
    close(fd);
    return uct_md_query_single_md_resource(component, resources_p,
                                           num_resources_p);
}

static ucs_status_t uct_knemxen_md_query(uct_md_h tl_md, uct_md_attr_t *attr)
{
    uct_knemxen_md_t *md = ucs_derived_of(tl_md, uct_knemxen_md_t);

    attr->rkey_packed_size     = sizeof(uct_knemxen_key_t);
    attr->cap.flags            = UCT_MD_FLAG_REG | UCT_MD_FLAG_NEED_MEMH |
                                 UCT_MD_FLAG_NEED_RKEY;
    attr->cap.reg_mem_types    = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    attr->cap.alloc_mem_types  = 0;
    attr->cap.access_mem_types = UCS_BIT(UCS_MEMORY_TYPE_HOST);
    attr->cap.detect_mem_types = 0;
    attr->cap.max_alloc        = 0;
    attr->cap.max_reg          = ULONG_MAX;
    attr->reg_cost             = md->reg_cost;
    memset(&attr->local_cpus, 0xff, sizeof(attr->local_cpus));
    return UCS_OK;
}

/*
 * Declares [address, address + length) as a knem region: one that peers may
 * read and write, or, when the memory cannot be written (a send buffer in
 * read-only memory), one they may only read.
 */
static ucs_status_t uct_knemxen_region_create(uct_knemxen_md_t *md,
                                              void *address, size_t length,
                                              int report,
                                              uct_knemxen_key_t *key)
{
    struct knem_cmd_param_iovec iov = {
        .base = (uintptr_t)address,
        .len  = length
    };
    struct knem_cmd_create_region create = {
        .iovec_array = (uintptr_t)&iov,
        .iovec_nr    = 1,
        .flags       = md->region_flags,
        .protection  = PROT_READ | PROT_WRITE
    };
    int ret;

    ret = ioctl(md->fd, KNEM_CMD_CREATE_REGION, &create);
    if ((ret < 0) && (errno == EFAULT)) {
        create.protection = PROT_READ;
        ret = ioctl(md->fd, KNEM_CMD_CREATE_REGION, &create);
    }
    if (ret < 0) {
        if (report) {
            ucs_warn(UCT_KNEMXEN_NAME ": cannot declare a region of %zu bytes "
                     "at %p (%m): copies into it are given inline", length,
                     address);
        }
        return UCS_ERR_IO_ERROR;
    }
    key->cookie  = create.cookie;
    key->address = (uintptr_t)address;
    return UCS_OK;
}

static void uct_knemxen_region_destroy(uct_knemxen_md_t *md,
                                       const uct_knemxen_key_t *key)
{
    knem_cookie_t cookie = key->cookie;

    if (ioctl(md->fd, KNEM_CMD_DESTROY_REGION, &cookie) < 0) {
        ucs_warn(UCT_KNEMXEN_NAME ": destroying region 0x%" PRIx64 ": %m",
                 key->cookie);
    }
}

/*
 * A registration: a region of the registration cache, or of its own when
 * the cache is disabled; a memh without region when knem refuses it.
 */
static ucs_status_t uct_knemxen_mem_reg(uct_md_h tl_md, void *address,
                                        size_t length, unsigned flags,
                                        uct_mem_h *memh_p)
{
    uct_knemxen_md_t *md = ucs_derived_of(tl_md, uct_knemxen_md_t);
    ucs_rcache_region_t *rregion;
    uct_knemxen_key_t *key;

    *memh_p = &md->unregistered;
    if (md->rcache != NULL) {
        if (ucs_rcache_get(md->rcache, address, length,
                           PROT_READ | PROT_WRITE, &flags,
                           &rregion) == UCS_OK) {
            *memh_p = &ucs_derived_of(rregion,
                                      uct_knemxen_rcache_region_t)->key;
        }
        return UCS_OK;
    }
    key = ucs_malloc(sizeof(*key), "uct_knemxen_key_t");
    if (key == NULL) {
        return UCS_OK;
    }
    if (uct_knemxen_region_create(md, address, length,
                                  !(flags & UCT_MD_MEM_FLAG_HIDE_ERRORS),
                                  key) != UCS_OK) {
        ucs_free(key);
        return UCS_OK;
    }
    *memh_p = key;
    return UCS_OK;
}

static ucs_status_t
uct_knemxen_mem_dereg(uct_md_h tl_md, const uct_md_mem_dereg_params_t *params)
{
    uct_knemxen_md_t *md = ucs_derived_of(tl_md, uct_knemxen_md_t);
    uct_knemxen_key_t *key;

    UCT_MD_MEM_DEREG_CHECK_PARAMS(params, 0);
    key = params->memh;
    if (key == &md->unregistered) {
        return UCS_OK;
    }
    if (md->rcache != NULL) {
        ucs_rcache_region_put(md->rcache,
                              &ucs_container_of(key,
                                                uct_knemxen_rcache_region_t,
                                                key)->super);
    } else {
        uct_knemxen_region_destroy(md, key);
        ucs_free(key);
    }
    return UCS_OK;
}

static ucs_status_t
uct_knemxen_rkey_pack(uct_md_h tl_md, uct_mem_h memh,
                      const uct_md_mkey_pack_params_t *params,
                      void *rkey_buffer)
{
    *(uct_knemxen_key_t *)rkey_buffer = *(const uct_knemxen_key_t *)memh;
    return UCS_OK;
}

static ucs_status_t uct_knemxen_rkey_unpack(uct_component_t *component,
                                            const void *rkey_buffer,
                                            uct_rkey_t *rkey_p,
                                            void **handle_p)
{
    const uct_knemxen_key_t *packed = rkey_buffer;
    uct_knemxen_key_t *key;

    /* A buffer whose registration knem refused has no region the peer
     * could copy from or into: UCP then drops this transport for that
     * buffer and picks another rendezvous protocol. */
    if (packed->cookie == 0) {
        return UCS_ERR_UNREACHABLE;
    }
    key = ucs_malloc(sizeof(*key), "uct_knemxen_rkey");
    if (key == NULL) {
        return UCS_ERR_NO_MEMORY;
    }
    *key      = *packed;
    *handle_p = NULL;
    *rkey_p   = (uintptr_t)key;
    return UCS_OK;
}

static ucs_status_t uct_knemxen_rkey_release(uct_component_t *component,
                                             uct_rkey_t rkey, void *handle)
{
    ucs_free((void *)rkey);
    return UCS_OK;
}

static ucs_status_t
uct_knemxen_rcache_mem_reg_cb(void *context, ucs_rcache_t *rcache, void *arg,
                              ucs_rcache_region_t *rregion,
                              uint16_t rcache_mem_reg_flags)
{
    uct_knemxen_rcache_region_t *region =
            ucs_derived_of(rregion, uct_knemxen_rcache_region_t);
    const unsigned *flags = arg;
    /* the cache retries a refused registration with exact bounds, silently
     * first: report only the last try */
    int report = !(rcache_mem_reg_flags & UCS_RCACHE_MEM_REG_HIDE_ERRORS) &&
                 !(*flags & UCT_MD_MEM_FLAG_HIDE_ERRORS);

    return uct_knemxen_region_create(context,
                                     (void *)region->super.super.start,
                                     region->super.super.end -
                                     region->super.super.start,
                                     report, &region->key);
}

static void uct_knemxen_rcache_mem_dereg_cb(void *context, ucs_rcache_t *rcache,
                                            ucs_rcache_region_t *rregion)
{
    uct_knemxen_rcache_region_t *region =
            ucs_derived_of(rregion, uct_knemxen_rcache_region_t);

    uct_knemxen_region_destroy(context, &region->key);
}

static void uct_knemxen_rcache_dump_region_cb(void *context,
                                              ucs_rcache_t *rcache,
                                              ucs_rcache_region_t *rregion,
                                              char *buf, size_t max)
{
    uct_knemxen_rcache_region_t *region =
            ucs_derived_of(rregion, uct_knemxen_rcache_region_t);

    snprintf(buf, max, "cookie 0x%" PRIx64 " address 0x%" PRIxPTR,
             region->key.cookie, region->key.address);
}

static ucs_rcache_ops_t uct_knemxen_rcache_ops = {
    .mem_reg     = uct_knemxen_rcache_mem_reg_cb,
    .mem_dereg   = uct_knemxen_rcache_mem_dereg_cb,
    .dump_region = uct_knemxen_rcache_dump_region_cb
};

static void uct_knemxen_md_close(uct_md_h tl_md)
{
    uct_knemxen_md_t *md = ucs_derived_of(tl_md, uct_knemxen_md_t);

    if (md->rcache != NULL) {
        ucs_rcache_destroy(md->rcache);
    }
    close(md->fd);
    ucs_free(md);
}

static uct_md_ops_t uct_knemxen_md_ops = {
    .close              = uct_knemxen_md_close,
    .query              = uct_knemxen_md_query,
    .mkey_pack          = uct_knemxen_rkey_pack,
    .mem_reg            = uct_knemxen_mem_reg,
    .mem_dereg          = uct_knemxen_mem_dereg,
    .detect_memory_type = ucs_empty_function_return_unsupported,
};

/* The registration cache, unless disabled; UCX goes on without it on "try". */
static ucs_status_t
uct_knemxen_md_rcache_create(uct_knemxen_md_t *md,
                             const uct_knemxen_md_config_t *config)
{
    ucs_rcache_params_t params;
    ucs_status_t status;

    if (config->rcache_enable == UCS_NO) {
        return UCS_OK;
    }
    uct_md_set_rcache_params(&params, &config->rcache);
    params.region_struct_size = sizeof(uct_knemxen_rcache_region_t);
    params.max_alignment      = ucs_get_page_size();
    params.ucm_events         = UCM_EVENT_VM_UNMAPPED;
    params.context            = md;
    params.ops                = &uct_knemxen_rcache_ops;
    status = ucs_rcache_create(&params, UCT_KNEMXEN_NAME, ucs_stats_get_root(),
                               &md->rcache);
    if (status != UCS_OK) {
        md->rcache = NULL;
        return (config->rcache_enable == UCS_YES) ? status : UCS_OK;
    }
    md->reg_cost = ucs_linear_func_make(
            uct_md_rcache_overhead(&config->rcache), 0);
    return UCS_OK;
}

static ucs_status_t
uct_knemxen_md_open(uct_component_t *component, const char *md_name,
                    const uct_md_config_t *tl_config, uct_md_h *md_p)
{
    const uct_knemxen_md_config_t *config =
            ucs_derived_of(tl_config, uct_knemxen_md_config_t);
    uct_knemxen_md_t *md;
    ucs_status_t status;

    md = ucs_calloc(1, sizeof(*md), "uct_knemxen_md_t");
    if (md == NULL) {
        return UCS_ERR_NO_MEMORY;
    }
    md->fd = uct_knemxen_open_device();
    if (md->fd < 0) {
        ucs_error(UCT_KNEMXEN_NAME ": cannot use " UCT_KNEMXEN_DEVICE ": %m");
        ucs_free(md);
        return UCS_ERR_IO_ERROR;
    }
    md->super.ops       = &uct_knemxen_md_ops;
    md->super.component = &uct_knemxen_component;
    /* measured cost of a knem region declaration, as UCX's knem transport */
    md->reg_cost        = ucs_linear_func_make(1200.0e-9, 0.007e-9);
    md->sharing_id      = uct_knemxen_read_sharing_id();
    /* a peer in another domain uses the region as another user */
    md->region_flags    = md->sharing_id ? KNEM_FLAG_ANY_USER_ACCESS : 0;

    status = uct_knemxen_md_rcache_create(md, config);
    if (status != UCS_OK) {
        ucs_error(UCT_KNEMXEN_NAME ": cannot create the registration cache: %s",
                  ucs_status_string(status));
        uct_knemxen_md_close(&md->super);
        return status;
    }
    *md_p = &md->super;
    return UCS_OK;
}

uct_component_t uct_knemxen_component = {
    .query_md_resources = uct_knemxen_query_md_resources,
    .md_open            = uct_knemxen_md_open,
    .cm_open            = ucs_empty_function_return_unsupported,
    .rkey_unpack        = uct_knemxen_rkey_unpack,
    .rkey_ptr           = ucs_empty_function_return_unsupported,
    .rkey_release       = uct_knemxen_rkey_release,
    .name               = UCT_KNEMXEN_NAME,
    .md_config          = {
        .name           = "knemxen memory domain",
        .prefix         = "KNEMXEN_",
        .table          = uct_knemxen_md_config_table,
        .size           = sizeof(uct_knemxen_md_config_t),
    },
    .cm_config          = UCS_CONFIG_EMPTY_GLOBAL_LIST_ENTRY,
    .tl_list            = UCT_COMPONENT_TL_LIST_INITIALIZER(
                                  &uct_knemxen_component),
    .flags              = 0,
    .md_vfs_init        = (uct_component_md_vfs_init_func_t)ucs_empty_function
};
