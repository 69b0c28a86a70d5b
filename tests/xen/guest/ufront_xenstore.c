/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ufront_xenstore.c - the xenstore wire (xen/include/public/io/xs_wire.h)
 * through /dev/xen/xenbus, and the knem device's nodes and states
 * (ufront.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ufront.h"
#include "xen_check.h"
#include "xen_sync.h"

enum { XS_READ = 2, XS_WRITE = 11, XS_RM = 13, XS_ERROR = 16 };
struct xs_msg {
	uint32_t type, req_id, tx_id, len;
};

int xs_fd = -1;
char fe_path[128], be_path[128];

/* One request; the answer (NUL-terminated) in @out.  0 or -1. */
static int xs_call(uint32_t type, const char *payload, size_t len,
		   char *out, size_t out_size)
{
	char buf[4096 + sizeof(struct xs_msg)];
	struct xs_msg *m = (struct xs_msg *)buf;
	ssize_t n;

	if (len > 4096)
		return -1;
	m->type = type;
	m->req_id = 1;
	m->tx_id = 0;
	m->len = len;
	memcpy(buf + sizeof(*m), payload, len);
	if (write(xs_fd, buf, sizeof(*m) + len) != (ssize_t)(sizeof(*m) + len))
		die_in(UFRONT_SETUP, "xenstore write");
	n = read(xs_fd, buf, sizeof(buf) - 1);
	if (n < (ssize_t)sizeof(*m))
		die_in(UFRONT_SETUP, "xenstore read");
	buf[n] = 0;
	if (out && out_size) {
		size_t len = strnlen(buf + sizeof(*m), out_size - 1);

		memcpy(out, buf + sizeof(*m), len);
		out[len] = 0;
	}
	return m->type == XS_ERROR ? -1 : 0;
}

int xs_read(const char *path, char *out, size_t size)
{
	return xs_call(XS_READ, path, strlen(path) + 1, out, size);
}

void xs_write(const char *dir, const char *node, const char *value)
{
	char p[512];
	int n = snprintf(p, sizeof(p), "%s/%s", dir, node);

	memcpy(p + n + 1, value, strlen(value));
	if (xs_call(XS_WRITE, p, n + 1 + strlen(value), NULL, 0))
		die_in(UFRONT_SETUP, node);
}

void xs_writeu(const char *dir, const char *node, unsigned long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lu", v);
	xs_write(dir, node, s);
}

void xs_rm(const char *dir, const char *node)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, node);
	xs_call(XS_RM, p, strlen(p) + 1, NULL, 0);
}

void xs_find_device(void)
{
	char v[192];

	if (xs_read("domid", v, sizeof(v)))
		die_in(UFRONT_SETUP, "reading domid");
	snprintf(fe_path, sizeof(fe_path), "/local/domain/%u/device/knem/0",
		 (unsigned int)atoi(v));
	snprintf(v, sizeof(v), "%s/backend", fe_path);
	if (xs_read(v, be_path, sizeof(be_path)))
		die_in(UFRONT_SETUP,
		       "reading the device's backend node (not attached?)");
}

int be_feature_dma(void)
{
	char p[256], v[32];

	snprintf(p, sizeof(p), "%s/%s", be_path, KNEMIF_XS_FEATURE_DMA);
	return !xs_read(p, v, sizeof(v)) && strcmp(v, "1") == 0;
}

int be_state(void)
{
	char p[256], v[32];

	snprintf(p, sizeof(p), "%s/state", be_path);
	return xs_read(p, v, sizeof(v)) ? -1 : atoi(v);
}

void fe_state(enum xb_state s)
{
	xs_writeu(fe_path, "state", s);
}

int wait_be(int want, double secs)
{
	double end = now_s() + secs;

	while (be_state() != want) {
		if (now_s() > end)
			return 0;
		nap_ms(20);
	}
	return 1;
}

int switch_and_wait(enum xb_state s, int want, int alt, double secs)
{
	double end = now_s() + secs;
	int b;

	fe_state(s);
	for (;;) {
		b = be_state();
		if (b == want || b == alt)
			return 1;
		if (now_s() > end)
			return 0;
		nap_ms(20);
	}
}
