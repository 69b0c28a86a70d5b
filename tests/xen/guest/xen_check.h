/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xen_check.h - the check lines of the Xen scenarios' guest programs.
 * tests/xen/run-suite.sh counts the lines
 *	xen-check: PASS <role>:<name>   or   xen-check: FAIL <role>:<name>: <why>
 * and a program exits 1 when one failed (failures != 0).  A program sets
 * role to what its mode does before its first check, so that the same
 * check name from two modes or two programs stays apart; with role NULL
 * (hostile_front, whose names are unique already) the lines carry the
 * name alone.
 */
#ifndef XEN_CHECK_H
#define XEN_CHECK_H

extern int failures;
extern const char *role;

void check(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A failed system call that leaves nothing else to check: FAIL and exit. */
void die(const char *what) __attribute__((noreturn));

/* The same, as check @name failing because of step @what. */
void die_in(const char *name, const char *what) __attribute__((noreturn));

#endif
