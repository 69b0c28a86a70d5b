/* SPDX-License-Identifier: BSD-3-Clause */
/* xen_check.c - the check lines (xen_check.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xen_check.h"

int failures;
const char *role = "?";

static void vcheck(int ok, const char *name, const char *fmt, va_list ap)
{
	const char *verdict = ok ? "PASS" : "FAIL";

	if (role)
		printf("xen-check: %s %s:%s", verdict, role, name);
	else
		printf("xen-check: %s %s", verdict, name);
	if (!ok) {
		failures++;
		fputs(": ", stdout);
		vprintf(fmt, ap);
	}
	putchar('\n');
	/* the scenario reads the output while the program still runs */
	fflush(stdout);
}

void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcheck(ok, name, fmt, ap);
	va_end(ap);
}

void die(const char *what)
{
	check(0, what, "%s", strerror(errno));
	exit(1);
}

void die_in(const char *name, const char *what)
{
	/* printf may change errno */
	const char *why = strerror(errno);

	check(0, name, "%s: %s", what, why);
	exit(1);
}
