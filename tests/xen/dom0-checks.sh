# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh in dom0
# Checks and /dev/knem counters for the dom0 scripts of
# tests/xen/run-suite.sh, which source this file after rootfs/dom0-lib.sh:
#	. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"
# (the repository is bound at the same path under /host in dom0).
# A check prints one line, "xen-check: PASS NAME" or
# "xen-check: FAIL NAME: WHY", which run-suite.sh counts; a failure sets
# rc, the script's exit status (exit $rc).

# shellcheck disable=SC2034 # the scripts' exit status
rc=0

pass() { echo "xen-check: PASS $1"; }
fail() {
	echo "xen-check: FAIL $1: $2"
	rc=1
}

# check NAME WHY CMD...: PASS if CMD succeeds, else FAIL with WHY.
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# settle NAME WHY CMD: check, after waiting up to 20 s for the shell
# command CMD to hold (a guest releases the regions of an exited process,
# and dom0 forgets a destroyed guest, a little later).
settle() {
	local n=0
	while ! eval "$3" && [ "$n" -lt 40 ]; do
		sleep 0.5
		n=$((n + 1))
	done
	check "$1" "$2" eval "$3"
}

# gr G CMD: guest_run, but a guest that hangs (124) or is gone (125) ends
# the scenario at the next stop_if_hung (gr runs in $(...) subshells,
# where an exit would not end it): dom0 then collects the kernel logs
# instead of waiting on.
gr() {
	local st
	guest_run "$@"
	st=$?
	if [ "$st" -eq 124 ] || [ "$st" -eq 125 ]; then
		echo "xen-check: FAIL guest-$1-answers: guest_run status $st; stopping here"
		touch /tmp/guest-hung
	fi
	return "$st"
}

# stop_if_hung [OUTPUT]: after a gr, prints OUTPUT and ends the scenario
# if a guest hung.
# shellcheck disable=SC2120 # the scripts pass OUTPUT
stop_if_hung() {
	[ -e /tmp/guest-hung ] || return 0
	[ $# -eq 0 ] || printf '%s\n' "$1"
	exit 1
}

# relay NAME STATUS OUTPUT: prints a program's output (its own check
# lines); a FAIL line in it, or a non-zero status without one, fails the
# scenario; then stop_if_hung.
relay() {
	printf '%s\n' "$3"
	if printf '%s\n' "$3" | grep -q '^xen-check: FAIL'; then
		rc=1
	elif [ "$2" -ne 0 ]; then
		fail "$1" "exit status $2"
	fi
	stop_if_hung
}

# dom_stat DOMID NAME: the counter after "NAME " in dom0's statistics
# line of that domain (regions, copies, requests, copy, mapped, DMA...).
dom_stat() {
	sed -n "s/^ Xen domain $1:.*[ ,]$2 \([0-9][0-9]*\).*/\1/p" /dev/knem
}

# cache_stat NAME: the counter after "NAME " in dom0's mapping cache line
# (regions, pages, made, evicted...).
cache_stat() {
	sed -n "s/^ Xen mapping cache:.*[ ,]$1 \([0-9]*\).*/\1/p" /dev/knem
}

# The guest pages dom0's backend maps, all domains together.
backend_mapped() {
	sed -n 's/^ Xen backend: .*mapped guest pages \([0-9]*\).*/\1/p' /dev/knem
}

# knem's count of copies done with a DMA engine.
knem_dma_processed() {
	sed -n 's/^ *processed (using DMA) *: *//p' /dev/knem
}
