# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced after rootfs/dom0-lib.sh
# run-suite-args: --domu-module-params knem.ko forceflags=0x80 --net
#
# dom0 script of tests/xen/run-suite.sh: an unmodified MPI-style client
# across two guests of one sharing group.  The guests' knem is loaded with
# forceflags=0x80, as an administrator does for MPI libraries, which never
# set ANY_USER_ACCESS; the classic client (tests/abi/knem_classic_client.c,
# written from the classic header layout only) creates a region in guest A
# without the flag, and in guest B reads it, copies from it and writes its
# second half; A checks what landed.  dom0's knem.ko has no sharinggroup
# here: a dom0 process and the guests are refused each other's regions
# (EPERM).  Then a smoke run of the benchmark between the guests
# (tools/knem_xbench.cpp, as tools/xen-bench.sh runs it, over the guests'
# network): B reads A's messages of 4 KiB to 256 KiB through single-use
# and cached regions, region to region and over TCP, one checked message
# (every byte) and one timed window each; dom0 counts B's copies.  One
# "xen-check:" line per check.
X=/xt/knem_xcopy
C=/xt/knem_classic_client
GROUP=knemgrp
rc=0

# check NAME STATUS OUTPUT: the output (its own FAIL lines fail the
# scenario), then the check of the status.
check() {
	printf '%s\n' "$3"
	! printf '%s\n' "$3" | grep -q '^xen-check: FAIL' || rc=1
	if [ "$2" -eq 0 ]; then
		echo "xen-check: PASS $1"
	else
		echo "xen-check: FAIL $1: exit status $2"
		rc=1
	fi
}

progress "starting the guests (group $GROUP, knem forceflags=0x80)"
start_knem_guests "$GROUP" || exit $?
cookie=$(guest_run A "$X bg /tmp/classic.log $C export")
case "$cookie" in
'' | *[!0-9]*)
	echo "xen-check: FAIL classic-across-guests-export-cookie: $cookie"
	exit 1 ;;
esac
D=$($X bg /tmp/dom0-export.log $X dom0-export)
$X probe dom0-without-group-refused "$cookie" EPERM || rc=1
# the probe prints its own check, the status is the classic client's
out=$(guest_run B "$X probe guest-refused-dom0-without-group ${D%% *} EPERM
$C import $cookie")
check classic-across-guests-B "$?" "$out"
$X finish -s /tmp/dom0-export.log > /dev/null
out=$(guest_run A "$X finish /tmp/classic.log")
check classic-across-guests-A "$?" "$out"

progress "knem-xbench smoke between the guests"
copies() { sed -n "s/^ Xen domain $1: .* copies \([0-9]*\) .*/\1/p" /dev/knem; }
DB=$(guest_domid B)
before=$(copies "$DB")
guest_run A '/xt/knem-xbench sender > /tmp/xbench.log 2>&1 &'
out=$(guest_run B '/xt/knem-xbench receiver --peer 10.77.0.1 --sizes 4K:256K --samples 1 --min-samples 1 --warmup 0')
st=$?
printf '%s\n' "$out" | sed -n '/^# Bandwidth/,/^$/p'
rows=$(printf '%s\n' "$out" | grep -c '^across-machines,[a-z-]*,[0-9]*,1,')
[ "$rows" -eq 28 ] || { printf '%s\n' "$out" | tail -n 5; st=1; }
check xbench-across-guests-every-byte "$st" "$rows of 28 results"
after=$(copies "$DB")
# 7 sizes x 3 knem methods x (1 checked + a window of 16 messages)
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -eq $((before + 357)) ]; then
	echo "xen-check: PASS xbench-copies-counted-by-dom0"
else
	echo "xen-check: FAIL xbench-copies-counted-by-dom0: B's copies '$before' then '$after' (want +357)"
	rc=1
fi
grep 'Xen domain' /dev/knem
exit $rc
