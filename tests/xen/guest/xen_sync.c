/* SPDX-License-Identifier: BSD-3-Clause */
/* xen_sync.c - clock, naps and files (xen_sync.h). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "xen_sync.h"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	int bad;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	bad = fputs(text, f) == EOF;
	if (fclose(f) || bad || rename(tmp, path))
		return -1;
	return 0;
}

int write_cookie(const char *path, uint64_t cookie)
{
	char text[32];

	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)cookie);
	return write_file(path, text);
}

int wait_file(const char *path, double secs)
{
	double end = now_s() + secs;

	while (access(path, F_OK)) {
		if (secs >= 0 && now_s() > end)
			return 0;
		nap_ms(100);
	}
	return 1;
}
