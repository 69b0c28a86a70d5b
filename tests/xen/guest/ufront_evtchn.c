/* SPDX-License-Identifier: BSD-3-Clause */
/* ufront_evtchn.c - the event channel through /dev/xen/evtchn (ufront.h). */
#include <poll.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* <xen/evtchn.h> uses Xen's domid_t without defining it */
typedef uint16_t domid_t;
#include <xen/evtchn.h>

#include "ufront.h"
#include "xen_check.h"

int evt_fd = -1;

unsigned int bind_port(unsigned int domid)
{
	struct ioctl_evtchn_bind_unbound_port b = { .remote_domain = domid };
	int port = ioctl(evt_fd, IOCTL_EVTCHN_BIND_UNBOUND_PORT, &b);

	if (port < 0)
		die_in(UFRONT_SETUP, "IOCTL_EVTCHN_BIND_UNBOUND_PORT");
	return port;
}

void notify_port(unsigned int port)
{
	struct ioctl_evtchn_notify n = { .port = port };

	ioctl(evt_fd, IOCTL_EVTCHN_NOTIFY, &n);
}

void drain_events(int timeout_ms)
{
	struct pollfd p = { .fd = evt_fd, .events = POLLIN };
	uint32_t ports[16];
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	n = read(evt_fd, ports, sizeof(ports));
	if (n > 0)
		if (write(evt_fd, ports, n) != n)
			die_in(UFRONT_SETUP, "evtchn unmask");
}
