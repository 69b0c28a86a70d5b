# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced after tests/xen/rootfs/dom0-lib.sh
#
# dom0 script of tools/xen-bench.sh (tests/xen/knem-xen-vm --net): the
# figures of the benchmark between two Xen guests, in one boot.  /xb (the
# --dom0-files and --domu-files) holds knem-bench and knem-xbench, static,
# and "params" (sh assignments: SIZES, BENCH_ARGS, XBENCH_ARGS, GROUP,
# MPI_STAGE, MPI_LIBS, MPI_ARGS); the guests also have Debian's MPI staged
# by tests/xen/stage-mpi.sh (/mpi, the libraries), which is MPI_STAGE on
# the host.  Writes into $KNEM_XEN_OUT:
#   dom0.txt       knem-bench's bandwidth section in dom0 (native knem.ko),
#                  before the guests start;
#   in-guest.txt   the same inside guest A (knem-front, forceflags=0x80);
#   across.txt     knem-xbench: B reads A's messages through knem (single-use
#                  and cached regions) and over TCP (netfront, bridge,
#                  netback);
#   mpi-WHERE-LIB.txt  knem_mpi_bw MPI_ARGS with Debian's LIB (mpich, ompi)
#                  and the knemxen transport: WHERE = dom0 (the host's
#                  packages, native knem.ko, before the guests start),
#                  in-guest (both ranks in A), across (a rank in each
#                  guest, one sharing group: knem through dom0) and tcp
#                  (the same after B moved to another group: TCP alone).
# Exits non-zero when a step failed.
# shellcheck source=/dev/null # written by tools/xen-bench.sh
. /xb/params
# shellcheck source-path=SCRIPTDIR/../tests/xen source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"
# shellcheck source-path=SCRIPTDIR/../tests/xen source=mpi-jobs.sh
. "/host$KNEM_XEN_REPO/tests/xen/mpi-jobs.sh"
# shellcheck disable=SC2034 # read by guest_run: the longest step, with margin
KNEM_XEN_RUN_TIMEOUT=3000
# shellcheck disable=SC2034 # read by mpi-jobs.sh
T=600 # s: the longest MPI job (about 60 s), with margin

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

# mpi WHERE LIB [again]: one knem_mpi_bw job into mpi-WHERE-LIB.txt: every
# byte arrived, and UCX's lanes across the guests are those of WHERE
# (knemxen over knem, or not); an MPICH job that hung in its finalize is
# run once more ("again").
mpi() {
	local f="$KNEM_XEN_OUT/mpi-$1-$2.txt" st lanes
	progress "knem_mpi_bw with $2: $1"
	# shellcheck disable=SC2153 # MPI_ARGS: from /xb/params
	case $1 in
	dom0) mpi_local dom0 "$2" "$MPI_ARGS" ;;
	in-guest) mpi_local A "$2" "$MPI_ARGS" ;;
	*) if [ "$2" = mpich ]; then mpich_across "$1-$2" "$MPI_ARGS"; else ompi_across "$1-$2" "$MPI_ARGS"; fi ;;
	esac
	st=$?
	if [ "$2" = mpich ] && [ "${3:-}" != again ] && mpich_finalize_hung "$st"; then
		echo "mpi-$1-$2: every message arrived, then MPICH 4.0.2's finalize hung (pmodels/mpich#6596): once more"
		mpi "$1" "$2" again
		return
	fi
	printf '%s\n' "$MPI_OUT" > "$f"
	lanes=$(sed -n 's/.*\(ep_cfg\[[0-9]*\]: .*\)/\1/p' "$f" | sort -u)
	printf '%s\n' "$lanes" | sed "s/^/mpi $1 $2 lanes: /"
	# across the guests, the endpoints to the other rank (the only ones
	# with tcp/eth0)
	case $1 in across | tcp) lanes=$(printf '%s\n' "$lanes" | grep 'tcp/eth0') ;; esac
	if [ "$st" -ne 0 ] || ! grep -q '^messages [0-9]* bytes [0-9]* bad 0$' "$f"; then
		fail "mpi-$1-$2" "exit status $st, not every byte arrived"
		grep -v 'UCX  INFO' "$f" | tail -n 20
	elif [ "$1" = tcp ] && printf '%s\n' "$lanes" | grep -q knemxen; then
		fail "mpi-$1-$2" "knemxen among the lanes of guests in two groups"
	elif [ "$1" != tcp ] && ! printf '%s\n' "$lanes" | grep -q knemxen; then
		fail "mpi-$1-$2" "knemxen is not among the lanes"
	else
		pass "mpi-$1-$2"
	fi
	stop_if_hung
}

progress "knem-bench in dom0 (native knem.ko)"
# shellcheck disable=SC2086 # options
/xb/knem-bench -S bandwidth -s "$SIZES" $BENCH_ARGS > "$KNEM_XEN_OUT/dom0.txt" 2>&1
step "knem-bench in dom0" "$KNEM_XEN_OUT/dom0.txt" $?

# Open MPI refuses dom0's hostname, "(none)", as a node name.
hostname knem-dom0
mpi_stage_in_dom0 "$MPI_STAGE"
for lib in $MPI_LIBS; do
	mpi dom0 "$lib"
done

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

for lib in $MPI_LIBS; do
	mpi in-guest "$lib"
	mpi across "$lib"
done
progress "moving B to sharing group other: MPI across the guests over TCP"
# shellcheck disable=SC2034 # read by settle
id_b=$(gr B "cat /sys/class/misc/knem/sharing_id")
knem_xen_attach --group other "$(guest_domid B)" || fail group-other "knem-xen-attach failed"
# shellcheck disable=SC2016 # settle evaluates it, again and again
settle b-sharing-id-changed "B's sharing id did not change" \
	'[ "$(gr B "cat /sys/class/misc/knem/sharing_id")" != "$id_b" ]'
for lib in $MPI_LIBS; do
	mpi tcp "$lib"
done
grep 'Xen domain' /dev/knem
exit $rc
