# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced after tests/xen/rootfs/dom0-lib.sh
#
# dom0 script of tools/xen-bench.sh (tests/xen/knem-xen-vm --net): the
# figures of the benchmark between two Xen guests, in one boot.  /xb (the
# --dom0-files and --domu-files) holds knem-bench and knem-xbench, static,
# and "params" (sh assignments: SIZES, BENCH_ARGS, XBENCH_ARGS, GROUP).
# Writes into $KNEM_XEN_OUT:
#   dom0.txt       knem-bench's bandwidth section in dom0 (native knem.ko),
#                  before the guests start;
#   in-guest.txt   the same inside guest A (knem-front, forceflags=0x80);
#   across.txt     knem-xbench: B reads A's messages through knem (single-use
#                  and cached regions) and over TCP (netfront, bridge,
#                  netback).
# Exits non-zero when a step failed.
# shellcheck source=/dev/null # written by tools/xen-bench.sh
. /xb/params
# shellcheck disable=SC2034 # read by guest_run: the longest step, with margin
KNEM_XEN_RUN_TIMEOUT=3000
rc=0

# step NAME FILE STATUS: NAME failed unless STATUS is 0 and FILE has a CSV.
step() {
	if [ "$3" -ne 0 ] || ! grep -q '^# csv end' "$2"; then
		echo "xen-bench: $1 failed (status $3):"
		tail -n 20 "$2"
		rc=1
	else
		echo "xen-bench: $1 done"
	fi
}

# 64 MiB regions need 16384 grants each: a single-use region in flight
# beside a cached one is more than the default 64 grant frames.
for g in A B; do
	echo 'max_grant_frames = 256' >> "/etc/xen/knem$g.cfg"
done

progress "knem-bench in dom0 (native knem.ko)"
# shellcheck disable=SC2086 # options
/xb/knem-bench -S bandwidth -s "$SIZES" $BENCH_ARGS > "$KNEM_XEN_OUT/dom0.txt" 2>&1
step "knem-bench in dom0" "$KNEM_XEN_OUT/dom0.txt" $?

progress "starting the guests (group $GROUP)"
start_knem_guests "$GROUP" || exit $?

progress "knem-bench in guest A"
guest_run A "/xb/knem-bench -S bandwidth -s $SIZES $BENCH_ARGS" > "$KNEM_XEN_OUT/in-guest.txt" 2>&1
step "knem-bench in guest A" "$KNEM_XEN_OUT/in-guest.txt" $?

progress "knem-xbench: guest B receives guest A's messages"
guest_run A '/xb/knem-xbench sender > /tmp/sender.log 2>&1 &'
guest_run B "/xb/knem-xbench receiver --peer 10.77.0.1 -s $SIZES $XBENCH_ARGS" \
	> "$KNEM_XEN_OUT/across.txt" 2>&1
step "knem-xbench between the guests" "$KNEM_XEN_OUT/across.txt" $?
guest_run A 'sleep 1; cat /tmp/sender.log'
grep 'Xen domain' /dev/knem
exit $rc
