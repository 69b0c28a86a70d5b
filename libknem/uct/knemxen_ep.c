/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * knemxen_ep.c - one segment of a GET or PUT zero-copy: a knem copy
 * between the peer's region and the local buffer.
 *
 * When the local buffer is registered (UCP registers it, the md asks for
 * it), the segment is a KNEM_CMD_COPY_BOUNDED between two regions: in a
 * Xen guest, dom0 then copies between two cached regions, which it maps
 * once.  Otherwise the local pages are given with the command
 * (KNEM_CMD_INLINE_COPY), as UCX's knem transport does.
 */
#ifdef HAVE_CONFIG_H
#  include "config.h"
#endif

#include "knemxen.h"

#include <uct/base/uct_iov.inl>
#include <uct/sm/base/sm_iface.h>
#include <ucs/debug/log.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

static const char *uct_knemxen_tx_op_name[] = {
    [UCT_SCOPY_TX_GET_ZCOPY] = "read",
    [UCT_SCOPY_TX_PUT_ZCOPY] = "write"
};

static UCS_CLASS_INIT_FUNC(uct_knemxen_ep_t, const uct_ep_params_t *params)
{
    UCS_CLASS_CALL_SUPER_INIT(uct_scopy_ep_t, params);
    return UCS_OK;
}

static UCS_CLASS_CLEANUP_FUNC(uct_knemxen_ep_t)
{
}

UCS_CLASS_DEFINE(uct_knemxen_ep_t, uct_scopy_ep_t)
UCS_CLASS_DEFINE_NEW_FUNC(uct_knemxen_ep_t, uct_ep_t, const uct_ep_params_t *);
UCS_CLASS_DEFINE_DELETE_FUNC(uct_knemxen_ep_t, uct_ep_t);

/*
 * A copy knem refused or failed.  As for UCX's CMA transport, it is a
 * failure of the endpoint: UCP fails the endpoint's operations when its
 * user asked for error handling; otherwise the error is fatal (the job
 * ends) rather than a request completed without its data, which an MPI
 * library that does not check statuses would take for a message received.
 * One line says what it means for the job.
 */
static ucs_status_t uct_knemxen_tx_failed(uct_ep_h tl_ep,
                                          uct_scopy_tx_op_t tx_op,
                                          size_t length, uint64_t cookie,
                                          int ret, unsigned status)
{
    uct_base_iface_t *iface = ucs_derived_of(tl_ep->iface, uct_base_iface_t);
    const char *op          = uct_knemxen_tx_op_name[tx_op];
    int error               = errno;
    const char *reason;
    char why[64];
    ucs_log_level_t level;
    ucs_status_t handled;

    handled = uct_iface_handle_ep_err(&iface->super, tl_ep,
                                      UCS_ERR_CONNECTION_RESET);
    level   = uct_base_iface_failure_log_level(iface, handled,
                                               UCS_ERR_CONNECTION_RESET);
    if (ret >= 0) {
        snprintf(why, sizeof(why), "ended with knem status %u", status);
        reason = why;
    } else if (error == EPERM) {
        reason = "refused (EPERM): the peer's domain is no longer in this "
                 "domain's sharing group";
    } else if (error == EINVAL) {
        reason = "refused (EINVAL): knem no longer knows the region (its "
                 "owner destroyed it, or a domain was detached from knem)";
    } else {
        snprintf(why, sizeof(why), "failed: %s", strerror(error));
        reason = why;
    }
    ucs_log(level, UCT_KNEMXEN_NAME ": %s of %zu bytes with region 0x%" PRIx64
            " %s", op, length, cookie, reason);
    return UCS_ERR_IO_ERROR;
}

/* The current iov element, whose registration @local covers, region to region. */
static ucs_status_t
uct_knemxen_ep_copy_regions(uct_ep_h tl_ep, int fd, const uct_iov_t *iov,
                            ucs_iov_iter_t *iov_iter, size_t *length_p,
                            const uct_knemxen_key_t *local,
                            const uct_knemxen_key_t *remote,
                            uint64_t remote_addr, uct_scopy_tx_op_t tx_op)
{
    size_t length      = ucs_min(*length_p, uct_iov_get_length(iov) -
                                            iov_iter->buffer_offset);
    uint64_t local_off = (uintptr_t)iov->buffer + iov_iter->buffer_offset -
                         local->address;
    uint64_t remote_off = remote_addr - remote->address;
    struct knem_cmd_copy_bounded copy = {
        .length = length
    };
    int ret;

    if (tx_op == UCT_SCOPY_TX_GET_ZCOPY) {
        copy.src_cookie = remote->cookie;
        copy.src_offset = remote_off;
        copy.dst_cookie = local->cookie;
        copy.dst_offset = local_off;
    } else {
        copy.src_cookie = local->cookie;
        copy.src_offset = local_off;
        copy.dst_cookie = remote->cookie;
        copy.dst_offset = remote_off;
    }
    ret = ioctl(fd, KNEM_CMD_COPY_BOUNDED, &copy);
    if (ucs_unlikely((ret < 0) ||
                     (copy.current_status != KNEM_STATUS_SUCCESS))) {
        return uct_knemxen_tx_failed(tl_ep, tx_op, length, remote->cookie, ret,
                                     copy.current_status);
    }
    iov_iter->buffer_offset += length;
    if (iov_iter->buffer_offset == uct_iov_get_length(iov)) {
        iov_iter->iov_index++;
        iov_iter->buffer_offset = 0;
    }
    *length_p = length;
    return UCS_OK;
}

static UCS_F_ALWAYS_INLINE void
uct_knemxen_iovec_set_length(struct knem_cmd_param_iovec *iov, size_t length)
{
    iov->len = length;
}

static UCS_F_ALWAYS_INLINE void
uct_knemxen_iovec_set_buffer(struct knem_cmd_param_iovec *iov, void *buffer)
{
    iov->base = (uintptr_t)buffer;
}

/* The local iov elements from the iterator on, given with the command. */
static ucs_status_t
uct_knemxen_ep_copy_inline(uct_ep_h tl_ep, int fd, const uct_iov_t *iov,
                           size_t iov_cnt,
                           ucs_iov_iter_t *iov_iter, size_t *length_p,
                           const uct_knemxen_key_t *remote,
                           uint64_t remote_addr, uct_scopy_tx_op_t tx_op)
{
    struct knem_cmd_param_iovec local_iov[UCT_SM_MAX_IOV];
    size_t local_iov_cnt = UCT_SM_MAX_IOV;
    struct knem_cmd_inline_copy copy = {
        .local_iovec_array = (uintptr_t)local_iov,
        .remote_cookie     = remote->cookie,
        .remote_offset     = remote_addr - remote->address,
        .write             = (tx_op == UCT_SCOPY_TX_PUT_ZCOPY),
    };
    size_t length;
    int ret;

    length = ucs_iov_converter(local_iov, &local_iov_cnt,
                               uct_knemxen_iovec_set_buffer,
                               uct_knemxen_iovec_set_length, iov, iov_cnt,
                               uct_iov_get_buffer, uct_iov_get_length,
                               *length_p, iov_iter);
    copy.local_iovec_nr = local_iov_cnt;
    ret = ioctl(fd, KNEM_CMD_INLINE_COPY, &copy);
    if (ucs_unlikely((ret < 0) ||
                     (copy.current_status != KNEM_STATUS_SUCCESS))) {
        return uct_knemxen_tx_failed(tl_ep, tx_op, length, remote->cookie, ret,
                                     copy.current_status);
    }
    *length_p = length;
    return UCS_OK;
}

ucs_status_t uct_knemxen_ep_tx(uct_ep_h tl_ep, const uct_iov_t *iov,
                               size_t iov_cnt, ucs_iov_iter_t *iov_iter,
                               size_t *length_p, uint64_t remote_addr,
                               uct_rkey_t rkey, uct_scopy_tx_op_t tx_op)
{
    uct_knemxen_iface_t *iface = ucs_derived_of(tl_ep->iface,
                                                uct_knemxen_iface_t);
    const uct_knemxen_key_t *remote = (const uct_knemxen_key_t *)rkey;
    const uct_iov_t *current        = &iov[iov_iter->iov_index];
    const uct_knemxen_key_t *local  = current->memh;

    if ((local != UCT_MEM_HANDLE_NULL) && (local->cookie != 0) &&
        (current->count == 1)) {
        return uct_knemxen_ep_copy_regions(tl_ep, iface->md->fd, current,
                                           iov_iter,
                                           length_p, local, remote,
                                           remote_addr, tx_op);
    }
    return uct_knemxen_ep_copy_inline(tl_ep, iface->md->fd, iov, iov_cnt,
                                      iov_iter,
                                      length_p, remote, remote_addr, tx_op);
}
