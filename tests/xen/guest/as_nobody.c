/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * as_nobody.c - runs a command as uid and gid 65534, without
 * supplementary groups, for the scenarios' checks of what unprivileged
 * processes may read (the guests have busybox, no su or setpriv that
 * change uids without a passwd file):
 *   as_nobody PROG ARGS...
 * Exits 126 when it cannot drop root, else runs PROG (127 if it cannot).
 * Built by tests/xen/Makefile.am.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NOBODY 65534

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: as_nobody PROG ARGS...\n");
		return 2;
	}
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)) {
		fprintf(stderr, "as_nobody: %s\n", strerror(errno));
		return 126;
	}
	/* a setuid that did not take would make every check pass as root */
	if (getuid() != NOBODY || geteuid() != NOBODY ||
	    getgid() != NOBODY || getegid() != NOBODY) {
		fprintf(stderr, "as_nobody: still uid %u\n", (unsigned int)geteuid());
		return 126;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "as_nobody: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
