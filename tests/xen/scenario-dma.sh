# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced after rootfs/dom0-lib.sh
# run-suite-args: --domu-image-module xen-gntalloc
# run-suite-args: --dom0-module-params knem.ko sharinggroup=knemgrp
#
# dom0 script of tests/xen/run-suite.sh: knem's DMA-engine path in a Xen
# PV dom0, with the test-only DMA provider (tests/dma-provider).  Dom0's
# DMA ops are Xen's swiotlb (machine addresses), so the provider puts its
# device behind an emulated IOMMU; this checks that it loads that way and
# that knem offers its channel, runs the DMA tests of tests/vm/knem_vm_test
# (Dma*: data around dmamin, inline and vectorial copies, engine errors and
# refusals, many asynchronous copies, the status of every command, libknem's
# offload) as dom0 processes, checks that
# knem's "processed (using DMA)" counter, the provider's counters and the
# dmaengine core's channel counters moved, then copies with KNEM_FLAG_DMA
# from and into pages that guest A granted to dom0 and a dom0 process
# mapped through /dev/xen/gntdev (guest/dma_foreign.c).  A copy of A's with
# KNEM_FLAG_DMA between its own regions stays in A (on its CPU: dom0's
# engine is for copies with other domains).  Then copies across
# guests with KNEM_FLAG_DMA (guest/persist_check.c): B reads A's region 4
# times and writes it 3 times; after the first grant copy of each new pair
# of regions, the backend copies through its persistent mappings with the
# DMA engine (B's "DMA" counter in dom0's statistics, the provider's
# counters), and both guests check every byte.  At last unloads knem and
# the provider (no descriptor leaked: the kernel log is checked).
# One "xen-check:" line per check.
KTD=knem_test_dma
KTD_KO=/host$KNEM_XEN_REPO/tests/dma-provider/$KTD.ko
PARAMS=/sys/module/$KTD/parameters
VM_TEST=tests/vm/knem_vm_test
# the DMA tests of the native VM's DMA stage; DmaOff needs knem with dma=0
VM_TEST_FILTER='Dma*:-DmaOff.*'
VM_TEST_MIN=17
X=/xt/knem_xcopy
F=/xt/dma_foreign
P=/xt/persist_check
FOREIGN_PAGES=4
GROUP=knemgrp
SIZE=1048909	# 1 MiB + 333 bytes, at odd offsets in both guests
# shellcheck disable=SC2034 # read by guest_run
KNEM_XEN_RUN_TIMEOUT=180
# shellcheck source-path=SCRIPTDIR source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"

# The provider's channels: /sys/class/dma entries whose device is ours.
provider_channels() {
	for c in /sys/class/dma/dma*chan*; do
		[ -e "$c/device" ] || continue
		[ "$(basename "$(readlink -f "$c/device")")" = "$KTD" ] && echo "$c"
	done
}

# The sum of file $1 over the provider's channels.
channels_sum() {
	s=0
	for c in $(provider_channels); do
		s=$((s + $(cat "$c/$1")))
	done
	echo "$s"
}

# engine_copies NAME ROUNDS WHAT: B's last guest command made one grant
# copy then ROUNDS copies with the DMA engine through persistent mappings,
# which moved most of their bytes through the provider (chunks up to
# dmamin stay on the CPU).
engine_copies() {
	g=$(dom_stat "$DB" copy) m=$(dom_stat "$DB" mapped) d=$(dom_stat "$DB" DMA)
	c=$(cat $PARAMS/copies) b=$(cat $PARAMS/bytes)
	if [ "$g" = $((last_g + 1)) ] && [ "$m" = "$last_m" ] &&
		[ "$d" = $((last_d + $2)) ]; then
		pass "$1-grant-then-dma"
	else
		fail "$1-grant-then-dma" "B's grant copies $last_g -> $g (+1 expected), mapped by the CPU $last_m -> $m (+0), DMA $last_d -> $d (+$2)"
	fi
	if [ "$c" -gt "$last_c" ] && [ $((b - last_b)) -ge $(($2 * SIZE * 9 / 10)) ]; then
		pass "$1-done-by-the-engine ($((c - last_c)) descriptors, $((b - last_b)) bytes)"
	else
		fail "$1-done-by-the-engine" "the provider's copies $last_c -> $c, bytes $last_b -> $b for $2 copies of $SIZE bytes ($3)"
	fi
	last_g=$g last_m=$m last_d=$d last_c=$c last_b=$b
}

progress "loading $KTD in dom0"
if ! out=$(insmod "$KTD_KO" 2>&1); then
	fail provider-loads-in-dom0 "insmod $KTD_KO: $out"
	dmesg | tail -n 5
	exit 1
fi
pass provider-loads-in-dom0
if dmesg | grep -q "$KTD.*behind an emulated IOMMU"; then
	pass provider-behind-emulated-iommu
else
	fail provider-behind-emulated-iommu "no such line in dom0's log (are dom0's DMA mappings direct?)"
fi
nchan=$(provider_channels | grep -c .)
if [ "$nchan" = "$(cat $PARAMS/channels)" ]; then
	pass provider-channels-registered
else
	fail provider-channels-registered "$nchan channels in /sys/class/dma, want $(cat $PARAMS/channels)"
fi
if grep -q ' DMAEngine: KernelSupported Enabled ChansAvail ' /dev/knem; then
	pass knem-offers-the-channel
else
	fail knem-offers-the-channel "$(grep DMAEngine /dev/knem)"
fi

copies0=$(cat $PARAMS/copies) bytes0=$(cat $PARAMS/bytes)
processed0=$(knem_dma_processed) memcpy0=$(channels_sum memcpy_count)
progress "knem_vm_test $VM_TEST_FILTER in dom0"
status=0
out=$(host_run "$VM_TEST --gtest_filter='$VM_TEST_FILTER' --gtest_brief=1" 2>&1) || status=$?
printf '%s\n' "$out"
ran=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\.$/\1/p')
if [ "$status" -ne 0 ]; then
	fail knem-vm-test-dma "exit status $status"
elif [ "${ran:-0}" -lt "$VM_TEST_MIN" ] || printf '%s\n' "$out" | grep -q '^\[  SKIPPED \]'; then
	fail knem-vm-test-dma "${ran:-no} tests passed, some skipped or missing"
else
	pass "knem-vm-test-dma ($ran tests)"
fi
copies1=$(cat $PARAMS/copies) bytes1=$(cat $PARAMS/bytes)
processed1=$(knem_dma_processed) memcpy1=$(channels_sum memcpy_count)
if [ "$copies1" -gt "$copies0" ] && [ "$bytes1" -gt "$bytes0" ]; then
	pass "provider-counters-moved (copies +$((copies1 - copies0)), bytes +$((bytes1 - bytes0)))"
else
	fail provider-counters-moved "copies $copies0 -> $copies1, bytes $bytes0 -> $bytes1"
fi
if [ "$memcpy1" -eq $((memcpy0 + copies1 - copies0)) ]; then
	pass "dmaengine-channel-counters-moved (memcpy_count +$((memcpy1 - memcpy0)))"
else
	fail dmaengine-channel-counters-moved "memcpy_count $memcpy0 -> $memcpy1, the provider copied $((copies1 - copies0))"
fi
if [ "${processed1:-0}" -gt "${processed0:-0}" ]; then
	pass "knem-dma-counter-moved (+$((processed1 - processed0)))"
else
	fail knem-dma-counter-moved "processed (using DMA) $processed0 -> $processed1"
fi

progress "starting the guests (group $GROUP)"
start_knem_guests "$GROUP" || exit $?
DA=$(guest_domid A) DB=$(guest_domid B)

progress "DMA copies with pages granted by guest A"
grefs=$(guest_run A "$X bg /tmp/grant.log $F grant $FOREIGN_PAGES")
case "$grefs" in
'' | *[!0-9\ ]*)
	fail dma-foreign-grant "guest A printed '$grefs'"
	guest_run A "cat /tmp/grant.log"
	;;
*)
	# shellcheck disable=SC2086 # one grant reference per word
	$F map-copy "$(guest_domid A)" $grefs || rc=1
	out=$(guest_run A "$X finish -s /tmp/grant.log")
	status=$?
	printf '%s\n' "$out"
	! printf '%s\n' "$out" | grep -q '^xen-check: FAIL' || rc=1
	[ "$status" -eq 0 ] || fail dma-foreign-guest "exit status $status"
	;;
esac

progress "B reads and writes A's region with KNEM_FLAG_DMA"
if grep -q "^ Xen domain $DB: .*, persistent mappings" /dev/knem; then
	pass b-negotiated-persistent-mappings
else
	fail b-negotiated-persistent-mappings "$(grep "Xen domain $DB:" /dev/knem)"
fi
last_g=$(dom_stat "$DB" copy) last_m=$(dom_stat "$DB" mapped) last_d=$(dom_stat "$DB" DMA)
last_c=$(cat $PARAMS/copies) last_b=$(cat $PARAMS/bytes)
C=$(guest_run A "$X bg /tmp/hold.log $P hold $SIZE")
case "$C" in
'' | *[!0-9]*)
	fail hold-A "$C"
	exit 1
	;;
esac
# A's own copy with the flag: dom0 offers its engine, A has none of its
# own; the copy runs on A's CPU and never reaches dom0.
a_copies=$(dom_stat "$DA" copies)
out=$(guest_run A "$P pull $C $SIZE 1 1 1 dma")
relay pull-dma-in-A $? "$out"
check dma-flag-copy-inside-A-stays-in-A "dom0 counted A's own copy" \
	test "$(dom_stat "$DA" copies)" = "$a_copies"
out=$(guest_run B "$P pull $C $SIZE 1 4 1 dma")
relay pull-dma $? "$out"
engine_copies dma-read-across-guests 3 "B reads A's region"
out=$(guest_run A "$X signal /tmp/hold.log rewritten")
relay rewrite $? "$out"
out=$(guest_run B "$P push $C $SIZE 3 3 dma")
relay push-dma $? "$out"
engine_copies dma-write-across-guests 2 "B writes A's region"
out=$(guest_run A "$X finish -s /tmp/hold.log")
relay hold-check $? "$out"
grep '^ Xen' /dev/knem
destroy_guest A
destroy_guest B

progress "unloading knem and $KTD"
# the backend lets go of the destroyed guests a little later
n=0
while ! rmmod knem 2>/dev/null && [ "$n" -lt 40 ]; do
	sleep 0.5
	n=$((n + 1))
done
if ! grep -q '^knem ' /proc/modules && rmmod "$KTD"; then
	pass provider-unloads-after-knem
else
	fail provider-unloads-after-knem "$(grep -E "^(knem|$KTD) " /proc/modules)"
fi
exit $rc
