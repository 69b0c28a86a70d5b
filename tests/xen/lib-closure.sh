# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by tests/xen/knem-xen-vm and tests/xen/stage-mpi.sh, which put
# host binaries into the initramfs of dom0 or of the guests (no host files
# there: a binary needs its libraries next to it).
#   lib_closure ELF...        the shared libraries the ELF files load
#   copy_into ROOT FILE...    copies files to the same paths below ROOT

# Prints the shared libraries that the ELF files "$@" load, with the
# dynamic loader, plus libgcc_s that glibc dlopen()s for pthread_cancel
# (xl aborts without it).
lib_closure() {
	{
		ldd "$@" | awk '/=> \// { print $3 } /^\t\/[^ ]*ld-linux/ { print $1 }'
		ldconfig -p | awk '/libgcc_s\.so\.1 .*x86-64/ && !n++ { print $NF }'
	} | sort -u
}

# Copies files (absolute paths) to the same paths below directory $1.
copy_into() {
	local root=$1 f
	shift
	for f in "$@"; do
		mkdir -p "$root${f%/*}"
		cp -L "$f" "$root$f"
	done
}
