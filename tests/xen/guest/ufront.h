/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ufront.h - a knem frontend in user space, hostile_front's plumbing: the
 * guest's end of the knem device (doc/xen-protocol.md) through
 * /dev/xen/xenbus (xenstore), /dev/xen/gntalloc (grants) and
 * /dev/xen/evtchn (event channel), in a guest where knem-front is not
 * loaded.  It does each step a frontend takes (nodes, states, ring,
 * requests) as its own call, so that its caller can skip, repeat or
 * corrupt any of them.
 *	ufront_xenstore.c  the xenstore wire; the device's nodes and states
 *	ufront_grant.c     pages granted to dom0 or another guest
 *	ufront_evtchn.c    the event channel
 *	ufront_ring.c      the connection and the shared ring
 *	ufront_req.c       requests and response statuses
 * A system call that fails ends the program with the check line
 *	xen-check: FAIL hostile-setup: <step>: <errno text>
 */
#ifndef UFRONT_H
#define UFRONT_H

#include <stddef.h>
#include <stdint.h>

#include "knem_xen_io.h"
#include "xen_gntalloc.h"

/* the check name of a failed setup step (die_in) */
#define UFRONT_SETUP "hostile-setup"
#define SLOTS KNEMIF_RING_SLOTS

/* Xen's shared ring (xen/include/public/io/ring.h), one page. */
struct sring {
	uint32_t req_prod, req_event, rsp_prod, rsp_event;
	uint8_t pad[48];
	union {
		struct knemif_request req;
		struct knemif_response rsp;
	} ring[SLOTS];
};
_Static_assert(offsetof(struct sring, ring) == 64, "ring header");
_Static_assert(sizeof(struct sring) <= GNT_PAGE, "one page");

enum xb_state {
	XB_UNKNOWN, XB_INITIALISING, XB_INITWAIT, XB_INITIALISED,
	XB_CONNECTED, XB_CLOSING, XB_CLOSED
};

/* ---- ufront_xenstore.c ------------------------------------------------- */

extern int xs_fd;
/* this guest's device node and its backend's */
extern char fe_path[128], be_path[128];

/* Reads node @path into @out (NUL-terminated); 0, or -1 for an error. */
int xs_read(const char *path, char *out, size_t size);
void xs_write(const char *dir, const char *node, const char *value);
void xs_writeu(const char *dir, const char *node, unsigned long v);
void xs_rm(const char *dir, const char *node);

/* Finds this guest's knem device and its backend (fe_path, be_path). */
void xs_find_device(void);

/* The backend's feature-dma node: the DMA kflag is accepted when 1. */
int be_feature_dma(void);

/* The backend's state, or -1 when it has none. */
int be_state(void);
void fe_state(enum xb_state s);

/* Waits up to @secs for the backend to reach @want. */
int wait_be(int want, double secs);

/* Switches to @s; waits up to @secs for the backend to be @want or @alt. */
int switch_and_wait(enum xb_state s, int want, int alt, double secs);

/* ---- ufront_grant.c ---------------------------------------------------- */

extern int gnt_fd;

/* @n pages granted to @domid, writable or read-only. */
void grant(struct gpage *pg, unsigned int n, unsigned int domid,
	   int writable);

/* Ends the grant of one page: its gref names nothing any more. */
void end_grant(struct gpage *pg);

/* ---- ufront_evtchn.c --------------------------------------------------- */

extern int evt_fd;

/* A new port for @domid to bind. */
unsigned int bind_port(unsigned int domid);
void notify_port(unsigned int port);

/* Drains pending events of the evtchn device (and unmasks them). */
void drain_events(int timeout_ms);

/* ---- ufront_ring.c ----------------------------------------------------- */

extern struct gpage ring_pg;
extern struct sring *sr;
extern unsigned int ring_port;
extern uint32_t req_prod_pvt, rsp_cons;
extern uint64_t next_id;
/* the consent connect_be() gives (feature-persistent-map) */
extern unsigned int persistent_map;

/* Opens the three Xen devices and finds the knem device (xenstore). */
void ufront_open(void);

/* Backend back to InitWait (from Closed), for a new connection. */
int reset_link(void);

/* A fresh ring and event channel; writes the nodes but not the state. */
void ring_setup(void);
void connect_be(void);

/* Orderly close: Closing, the backend Closed, then Closed. */
int close_be(void);

/* Requests go into the ring with push(), become visible with publish(). */
void push(const struct knemif_request *r);
void publish(void);
void notify(void);

/* The next response, or 0 after @secs. */
int next_rsp(struct knemif_response *rsp, double secs);

/* Sends one request and returns its response's status (-1: none). */
int call(struct knemif_request *r, uint64_t *val);

/* ---- ufront_req.c ------------------------------------------------------ */

/* KNEMIF_E_* by name; -1 and -2 are call()'s answers. */
const char *status_name(int s);

/* A request of @op, everything else zero. */
struct knemif_request req(uint8_t op);

/* Segments 0..n-1 (at most 512) in indirect page @ind. */
void segs_one_per_page(struct gpage *ind, const struct gpage *pages,
		       unsigned int n);
struct knemif_request create_req(struct gpage *ind, unsigned int n,
				 uint32_t prot, uint32_t kflags);
struct knemif_request copy_req(uint64_t src, uint64_t soff, uint64_t dst,
			       uint64_t doff, uint64_t len);
struct knemif_request cookie_req(uint8_t op, uint64_t cookie);

/* A chunk of build @handle: one segment, in indirect page @ind. */
struct knemif_request append_req(struct gpage *ind, uint64_t handle,
				 uint64_t chunk_len, uint8_t flags);

/* WAIT_RELEASED: the released cookies onto the page of @page_gref. */
struct knemif_request wait_released_req(uint32_t page_gref);

#endif
