/* SPDX-License-Identifier: BSD-3-Clause */
/* ufront_ring.c - the connection and the shared ring (ufront.h). */
#include <fcntl.h>
#include <string.h>

#include "ufront.h"
#include "xen_check.h"
#include "xen_sync.h"

struct gpage ring_pg;
struct sring *sr;
unsigned int ring_port;
uint32_t req_prod_pvt, rsp_cons;
uint64_t next_id = 1;
unsigned int persistent_map;

void ufront_open(void)
{
	xs_fd = open("/dev/xen/xenbus", O_RDWR);
	gnt_fd = open("/dev/xen/gntalloc", O_RDWR);
	evt_fd = open("/dev/xen/evtchn", O_RDWR);
	if (xs_fd < 0 || gnt_fd < 0 || evt_fd < 0)
		die_in(UFRONT_SETUP,
		       "opening /dev/xen/{xenbus,gntalloc,evtchn}");
	xs_find_device();
}

int reset_link(void)
{
	double end = now_s() + 30;
	int s = be_state();

	/* a device just attached: the backend has not probed it yet */
	while ((s == XB_INITIALISING || s < 0) && now_s() < end) {
		nap_ms(50);
		s = be_state();
	}

	if (s == XB_INITWAIT)
		return 1;
	if (s == XB_CONNECTED || s == XB_CLOSING) {
		if (!switch_and_wait(XB_CLOSING, XB_CLOSED, XB_CLOSED, 30))
			return 0;
	}
	fe_state(XB_CLOSED);
	return switch_and_wait(XB_INITIALISING, XB_INITWAIT, XB_INITWAIT, 30);
}

void ring_setup(void)
{
	grant(&ring_pg, 1, 0, 1);
	sr = (struct sring *)ring_pg.p;
	memset(sr, 0, GNT_PAGE);
	sr->req_event = sr->rsp_event = 1;
	req_prod_pvt = rsp_cons = 0;
	ring_port = bind_port(0);
}

void connect_be(void)
{
	if (!reset_link())
		die_in(UFRONT_SETUP,
		       "the backend does not come back to InitWait");
	ring_setup();
	xs_writeu(fe_path, KNEMIF_XS_VERSION, KNEMIF_VERSION);
	xs_writeu(fe_path, KNEMIF_XS_RING_REF, ring_pg.gref);
	xs_writeu(fe_path, KNEMIF_XS_EVENT_CHANNEL, ring_port);
	xs_writeu(fe_path, KNEMIF_XS_FEATURE_PERSISTENT_MAP, persistent_map);
	if (!switch_and_wait(XB_INITIALISED, XB_CONNECTED, XB_CONNECTED, 30))
		die_in(UFRONT_SETUP, "the backend did not connect");
	fe_state(XB_CONNECTED);
}

/*
 * The ring's grant ends when the process exits (gntalloc defers it while
 * mapped).
 */
int close_be(void)
{
	if (!switch_and_wait(XB_CLOSING, XB_CLOSED, XB_CLOSED, 30))
		return 0;
	fe_state(XB_CLOSED);
	return 1;
}

void notify(void)
{
	notify_port(ring_port);
}

void push(const struct knemif_request *r)
{
	sr->ring[req_prod_pvt % SLOTS].req = *r;
	req_prod_pvt++;
}

void publish(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	sr->req_prod = req_prod_pvt;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	notify();
}

int next_rsp(struct knemif_response *rsp, double secs)
{
	double end = now_s() + secs;

	for (;;) {
		if (__atomic_load_n(&sr->rsp_prod, __ATOMIC_ACQUIRE) !=
		    rsp_cons) {
			*rsp = sr->ring[rsp_cons % SLOTS].rsp;
			rsp_cons++;
			sr->rsp_event = rsp_cons + 1;
			return 1;
		}
		sr->rsp_event = rsp_cons + 1;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (sr->rsp_prod != rsp_cons)
			continue;
		if (now_s() > end)
			return 0;
		drain_events(10);
	}
}

int call(struct knemif_request *r, uint64_t *val)
{
	struct knemif_response rsp;

	r->id = next_id++;
	push(r);
	publish();
	if (!next_rsp(&rsp, 30))
		return -1;
	if (rsp.id != r->id || rsp.op != r->op)
		return -2;
	if (val)
		*val = rsp.val;
	return rsp.status;
}
