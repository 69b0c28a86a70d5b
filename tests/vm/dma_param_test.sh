#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# dma_param_test.sh - reloads knem.ko with dma=0 inside the test VM and runs
# the DmaOff tests of knem_vm_test: KNEM_FLAG_DMA is then in the ignored
# flags (GET_INFO, cat /dev/knem) and silently dropped from every copy,
# even with a DMA engine present.  Reloads knem.ko with its defaults at the
# end.  Run as root with KNEM_VM_MODULES set, best with the DMA provider:
#
#   tests/harness/knem-vm --module dom0-backend/knem.ko \
#       --module tests/dma-provider/knem_test_dma.ko -- \
#       'sh tests/vm/dma_param_test.sh'
#
# No file of /dev/knem may be open.  Exit 0 on success, 1 otherwise.
set -u

fail() {
	echo "dma_param_test: FAIL: $*" >&2
	exit 1
}

say() {
	echo "dma_param_test: $*"
}

# Waits (up to ~5 s) until /dev/knem exists.
wait_device() {
	tries=0
	while [ "$tries" -lt 50 ]; do
		[ -c /dev/knem ] && return 0
		sleep 0.1
		tries=$((tries + 1))
	done
	return 1
}

reload() {
	rmmod knem || fail "rmmod knem failed"
	insmod "$ko" "$@" || fail "insmod $ko $* failed"
	wait_device || fail "/dev/knem did not appear after insmod $ko $*"
}

[ "$(id -u)" = 0 ] || fail "must run as root"
ko=""
for m in ${KNEM_VM_MODULES:-}; do
	case "${m##*/}" in
	knem.ko) ko=$m ;;
	esac
done
[ -n "$ko" ] ||
	fail "KNEM_VM_MODULES names no knem.ko (KNEM_VM_MODULES='${KNEM_VM_MODULES:-}')"
[ -f "$ko" ] || fail "$ko does not exist"
prog=tests/vm/knem_vm_test
[ -x "$prog" ] || fail "$prog is missing (not built?)"

if [ -d /sys/module/knem_test_dma ]; then
	say "DMA provider loaded"
else
	say "no DMA provider: only the flags and the statistics are checked"
fi

reload dma=0
[ "$(cat /sys/module/knem/parameters/dma)" = 0 ] ||
	fail "knem was not loaded with dma=0"
log=$(mktemp) || fail "mktemp failed"
status=0
"./$prog" --gtest_filter='DmaOff.*' >"$log" 2>&1 || status=$?
cat "$log"
skipped=$(grep -c '^\[  SKIPPED \]' "$log")
ran=$(grep -c '^\[       OK \]' "$log")
rm -f "$log"
reload
[ "$(cat /sys/module/knem/parameters/dma)" = 1 ] ||
	fail "knem was not reloaded with dma=1"
[ "$status" = 0 ] || fail "DmaOff tests failed (status $status)"
[ "$skipped" = 0 ] || fail "the DmaOff tests skipped themselves with dma=0"
[ "$ran" -gt 0 ] || fail "no DmaOff test ran"
say "PASS: KNEM_FLAG_DMA ignored with dma=0; knem reloaded with defaults"
exit 0
