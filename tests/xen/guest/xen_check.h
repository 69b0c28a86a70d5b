/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xen_check.h - the check lines of the Xen scenarios' guest programs.
 * tests/xen/run-suite.sh counts the lines
 *	xen-check: PASS <role>:<name>   or   xen-check: FAIL <role>:<name>: <why>
 * and a program exits 1 when one failed (failures != 0).  A program sets
 * role to what its mode does before its first check, so that the same
 * check name from two modes or two programs stays apart.
 * Included once, by the program's only source file.
 */
#ifndef XEN_CHECK_H
#define XEN_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static const char *role = "?";

static void check(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("xen-check: PASS %s:%s\n", role, name);
	} else {
		failures++;
		printf("xen-check: FAIL %s:%s: ", role, name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
	/* the scenario reads the output while the program still runs */
	fflush(stdout);
}

/* A failed system call that leaves nothing else to check: FAIL and exit. */
static void die(const char *what)
{
	check(0, what, "%s", strerror(errno));
	exit(1);
}

#endif
