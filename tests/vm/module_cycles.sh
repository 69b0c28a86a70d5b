#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# module_cycles.sh - unloads and reloads knem.ko many times inside the test
# VM (tests/harness/knem-vm), checking each time that /dev/knem comes and
# goes and works, and that the module cannot be unloaded while a file is
# open.  Leaves the module loaded.  Run as root with KNEM_VM_MODULES set:
#
#   tests/harness/knem-vm --module dom0-backend/knem.ko -- \
#       'sh tests/vm/module_cycles.sh'
#
# Environment: KNEM_CYCLES (default 50).  Exit 0 on success, 1 otherwise.
set -u

cycles=${KNEM_CYCLES:-50}
dev=/dev/knem

fail() {
	echo "module_cycles: FAIL: $*" >&2
	exit 1
}

say() {
	echo "module_cycles: $*"
}

# Number of knem lines in /proc/modules.
loaded_count() {
	grep -c '^knem ' /proc/modules
}

# Waits (up to ~5 s) until $dev exists (want=yes) or is gone (want=no).
wait_device() {
	want=$1
	tries=0
	while [ "$tries" -lt 50 ]; do
		if [ "$want" = yes ] && [ -c "$dev" ]; then
			return 0
		fi
		if [ "$want" = no ] && [ ! -e "$dev" ]; then
			return 0
		fi
		sleep 0.1
		tries=$((tries + 1))
	done
	return 1
}

# The module is loaded exactly once and /dev/knem works.
check_loaded() {
	n=$(loaded_count)
	[ "$n" = 1 ] || fail "$1: knem listed $n times in /proc/modules"
	[ -d /sys/module/knem ] || fail "$1: /sys/module/knem is missing"
	state=$(cat /sys/module/knem/initstate 2>/dev/null)
	[ "$state" = live ] || fail "$1: /sys/module/knem/initstate is '$state'"
	[ -d /sys/module/knem/parameters ] ||
		fail "$1: /sys/module/knem/parameters is missing"
	wait_device yes || fail "$1: $dev did not appear"
	stats=$(cat "$dev") || fail "$1: cat $dev failed"
	case "$stats" in
	*" Driver ABI=0xd"*) ;;
	*) fail "$1: cat $dev does not show ' Driver ABI=0xd': $stats" ;;
	esac
	# A read-write open makes (and closing it destroys) a context.
	if ! (exec 4<>"$dev") 2>/dev/null; then
		fail "$1: cannot open $dev read-write"
	fi
}

# The module is gone, with its device and sysfs directory.
check_unloaded() {
	n=$(loaded_count)
	[ "$n" = 0 ] || fail "$1: knem still listed $n times in /proc/modules"
	wait_device no || fail "$1: $dev is still there after rmmod"
	[ ! -e /sys/module/knem ] || fail "$1: /sys/module/knem is still there"
}

# rmmod must be refused while a file of the device is open ($1: redirection).
check_busy() {
	mode=$1
	# A failed `exec 3<...` would end the shell: try it in a subshell first.
	(exec 3<>"$dev") 2>/dev/null || fail "cannot open $dev"
	case "$mode" in
	read) exec 3<"$dev" || fail "cannot open $dev for reading" ;;
	readwrite) exec 3<>"$dev" || fail "cannot open $dev read-write" ;;
	esac
	if rmmod knem 2>/dev/null; then
		exec 3<&-
		fail "rmmod knem succeeded while $dev was open ($mode)"
	fi
	refcnt=$(cat /sys/module/knem/refcnt 2>/dev/null)
	exec 3<&-
	[ "$refcnt" = 1 ] ||
		fail "refcnt with one $mode file open is '$refcnt', want 1"
	check_loaded "after a refused rmmod ($mode)"
	refcnt=$(cat /sys/module/knem/refcnt)
	[ "$refcnt" = 0 ] || fail "refcnt after closing is '$refcnt', want 0"
}

[ "$(id -u)" = 0 ] || fail "must run as root"
for tool in insmod rmmod; do
	command -v "$tool" >/dev/null || fail "$tool not found"
done
ko=""
for m in ${KNEM_VM_MODULES:-}; do
	case "${m##*/}" in
	knem.ko) ko=$m ;;
	esac
done
[ -n "$ko" ] ||
	fail "KNEM_VM_MODULES names no knem.ko (KNEM_VM_MODULES='${KNEM_VM_MODULES:-}')"
[ -f "$ko" ] || fail "$ko does not exist"
case "$cycles" in
'' | *[!0-9]*) fail "KNEM_CYCLES must be a number, got '$cycles'" ;;
esac

say "module $ko, $cycles cycles"
check_loaded "at start"
check_busy read
check_busy readwrite

# (sh functions share variables: only this loop uses "cycle")
cycle=1
while [ "$cycle" -le "$cycles" ]; do
	rmmod knem || fail "cycle $cycle: rmmod knem failed"
	check_unloaded "cycle $cycle"
	insmod "$ko" || fail "cycle $cycle: insmod $ko failed"
	check_loaded "cycle $cycle"
	cycle=$((cycle + 1))
done

check_busy read
n=$(loaded_count)
[ "$n" = 1 ] || fail "at the end: knem listed $n times in /proc/modules"
[ -d /sys/module/knem ] || fail "at the end: /sys/module/knem is missing"
say "PASS: $cycles unload/reload cycles, rmmod refused while open, module loaded"
exit 0
