# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by every script that runs apt-get (tests/harness/ensure-host.sh,
# tests/xen/ensure-xen-host.sh, tests/mpi/debian-source.sh,
# tests/packaging/check-packaging.sh):
#
#   knem_apt CMD...   runs the apt-get command line CMD (which may start
#                     with sudo, env, chroot or a shell function such as
#                     as_root before the word apt-get), waiting up to
#                     $APT_LOCK_WAIT seconds (default 900) for the locks of
#                     another apt-get, dpkg or unattended-upgrades instead
#                     of failing on them.
#
# apt-get waits for the dpkg frontend lock itself when given
# DPkg::Lock::Timeout (added after the word apt-get); it does not wait for
# the lists lock of apt-get update or the archives lock of a download, so
# a command that failed on "Could not get lock" is run again, every 10 s,
# until the wait is over.  Its output goes where the caller sends it; the
# lock errors of the attempts that are retried go to stderr as one line.

: "${APT_LOCK_WAIT:=900}"

knem_apt() {
	local args=() arg seen=0 start=$SECONDS err rc waited=0
	local locked='Could not get lock|Unable to lock|Unable to acquire the dpkg frontend lock'
	for arg in "$@"; do
		args+=("$arg")
		if [ "$seen" -eq 0 ] && [ "${arg##*/}" = apt-get ]; then
			args+=(-o "DPkg::Lock::Timeout=$APT_LOCK_WAIT")
			seen=1
		fi
	done
	[ "$seen" -eq 1 ] || { echo "knem_apt: no apt-get in: $*" >&2; return 2; }
	err=$(mktemp)
	while :; do
		rc=0
		"${args[@]}" 2> "$err" || rc=$?
		if [ "$rc" -eq 0 ] ||
			! grep -qE "$locked" "$err" ||
			[ $((SECONDS - start)) -ge "$APT_LOCK_WAIT" ]; then
			cat "$err" >&2
			rm -f "$err"
			return "$rc"
		fi
		if [ "$waited" -eq 0 ]; then
			echo "knem_apt: waiting up to ${APT_LOCK_WAIT}s for another apt:" \
				"$(grep -m1 -E "$locked" "$err")" >&2
			waited=1
		fi
		sleep 10
	done
}
