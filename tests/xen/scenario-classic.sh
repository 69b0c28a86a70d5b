# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced after rootfs/dom0-lib.sh
# run-suite-args: --domu-module-params knem-front.ko forceflags=0x80
#
# dom0 script of tests/xen/run-suite.sh: an unmodified MPI-style client
# across two guests of one sharing group.  knem-front is loaded with
# forceflags=0x80, as an administrator does for MPI libraries, which never
# set ANY_USER_ACCESS; the classic client (tests/abi/knem_classic_client.c,
# written from the classic header layout only) creates a region in guest A
# without the flag, and in guest B reads it, copies from it and writes its
# second half; A checks what landed.  dom0's knem.ko has no sharinggroup
# here: a dom0 process and the guests are refused each other's regions
# (EPERM).  One "xen-check:" line per check.
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

progress "starting the guests (group $GROUP, knem-front forceflags=0x80)"
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
grep 'Xen domain' /dev/knem
exit $rc
