#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# guest-stock-mpi.sh PROGRAMS_DIR TRANSPORT - inside the test VM
# (tests/harness/knem-vm, cwd = the repository, knem.ko loaded, nothing
# else using it): Debian's own MPI and UCX packages, as installed, reach
# knem through this project's UCX transport (TRANSPORT, the knemxen
# library, loaded with LD_PRELOAD).  PROGRAMS_DIR has knem_mpi_bw built
# with Debian's mpicc.openmpi (bw-openmpi) and mpicc.mpich (bw-mpich).
#
# UCX's defaults, as a user has them: of the two single-copy transports
# then available, CMA and knemxen, UCX gives the rendezvous to knemxen (its
# higher bandwidth figure).  Per message above UCX's rendezvous threshold,
# the receiver reads the
# sender's buffer with GET zero-copy: UCP registered both buffers with the
# transport (a knem region each, kept in its registration cache), so each
# segment of UCX_KNEMXEN_SEG_SIZE bytes is one KNEM_CMD_COPY_BOUNDED
# between two regions, never an INLINE_COPY.  Messages of 1000 bytes go
# eagerly through UCX's shared memory (no knem); 1 MiB and 4 MiB + 1 go by
# rendezvous, whatever UCX's threshold (tens of KiB).  So
#   submitted = processed = messages x segments per message,
# every other counter unchanged, and the receiver checks every byte.  The
# same job without the transport moves no counter (Debian's UCX has no
# knem transport of its own); with knem.ko unloaded the transport says so
# in one line and the job runs over shared memory alone.
#
# Prints one "mpi-check: PASS|FAIL name" line per check and a last line
# "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
shopt -s inherit_errexit

[ $# -eq 2 ] || { echo "usage: guest-stock-mpi.sh PROGRAMS_DIR TRANSPORT" >&2; exit 2; }
readonly PROGRAMS=$1 TRANSPORT=$2
readonly SIZES=(1000 1048576 4194305) RENDEZVOUS_SIZES=(1048576 4194305)
readonly ITERATIONS=3 WINDOW=8
readonly PERF_SIZE=1048576 PERF_ITERATIONS=20 PERF_PORT=13338
readonly KNEM_BOUNDED_COPY=4b34 KNEM_INLINE_COPY=4b33 # ioctl type and number

# shellcheck source=SCRIPTDIR/checks.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/checks.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# UCX_KNEMXEN_SEG_SIZE in bytes, as UCX reads it with the transport loaded.
seg_size() {
	LD_PRELOAD=$TRANSPORT ucx_info -c -f | config_bytes UCX_KNEMXEN_SEG_SIZE
}

# The knem copies of one job: rendezvous messages times their segments.
expected_copies() {
	local seg=$1 size copies=0
	for size in "${RENDEZVOUS_SIZES[@]}"; do
		copies=$((copies + ITERATIONS * WINDOW * ((size + seg - 1) / seg)))
	done
	echo "$copies"
}

# mpi_job MPI LOG [TRANSPORT [OPTION]]: knem_mpi_bw's two ranks with
# Debian's MPI (openmpi: mpirun --mca pml ucx; mpich: hydra's mpiexec,
# ch4:ucx), UCX's lane choice printed (UCX_LOG_LEVEL=info), the transport
# preloaded when given (not when empty), with knem_mpi_bw's OPTION; the
# ioctls of each rank's threads are traced into $work/strace.MPI.PID.
mpi_job() {
	local mpi=$1 log=$2 transport=${3:-} status=0
	local -a env=(UCX_LOG_LEVEL=info ${transport:+LD_PRELOAD="$transport"})
	local -a run=(strace -ff -X raw -e trace=ioctl -o "$work/strace.$mpi"
		"$PROGRAMS/bw-$mpi" -i "$ITERATIONS" -w "$WINDOW" ${4:+"$4"} "${SIZES[@]}")
	local v
	rm -f "$work/strace.$mpi."*
	case $mpi in
	openmpi)
		local -a args=(--allow-run-as-root --oversubscribe --bind-to none -np 2
			--mca pml ucx --mca pml_ucx_tls any --mca pml_ucx_devices any)
		for v in "${env[@]}"; do args+=(-x "$v"); done
		echo "\$ ${env[*]} mpirun.openmpi ${args[*]} ${run[*]}"
		timeout 600 mpirun.openmpi "${args[@]}" "${run[@]}" > "$log" 2>&1 || status=$?
		;;
	mpich)
		local -a args=(-n 2)
		for v in "${env[@]}"; do args+=(-genv "${v%%=*}" "${v#*=}"); done
		echo "\$ mpiexec.mpich ${args[*]} ${run[*]}"
		timeout 600 mpiexec.mpich "${args[@]}" "${run[@]}" > "$log" 2>&1 || status=$?
		;;
	esac
	grep -vE 'UCX +(DIAG|INFO) +(Version|UCX_\* env|rdma|failed to open CM)' "$log" |
		sed 's/^/  | /'
	return $status
}

# Both ranks printed UCX's lanes, and the tag lanes of each endpoint
# include (or, with "!", do not include) the knemxen transport.
lanes() {
	local log=$1 want=$2 total with
	total=$(grep -c 'ep_cfg\[[0-9]*\]: tag(' "$log" || true)
	with=$(grep -c 'ep_cfg\[[0-9]*\]: tag([^)]*knemxen/memory' "$log" || true)
	[ "$total" -gt 0 ] || return 1
	if [ "$want" = knemxen ]; then
		[ "$with" -eq "$total" ]
	else
		[ "$with" -eq 0 ]
	fi
}

# KNEM ioctls of number NR (type 'K') that the ranks made.
ioctls() {
	cat "$work/strace.$1."* | grep -c "ioctl([0-9]*, 0x[0-9a-f]*$2," || true
}

ioctls_are() {
	local n
	n=$(ioctls "$1" "$2")
	echo "  $n ioctls 0x...$2, expected $3"
	[ "$n" -eq "$3" ]
}

stock_mpi_checks() {
	local mpi=$1 copies=$2 status
	echo "== Debian's $mpi, knemxen preloaded"
	snapshot "$work/before"
	status=0
	mpi_job "$mpi" "$work/$mpi.log" "$TRANSPORT" || status=$?
	snapshot "$work/after"
	check "$mpi with knemxen: exits 0" test "$status" -eq 0
	check "$mpi with knemxen: every byte of every message intact" \
		data_intact "$work/$mpi.log" ${#SIZES[@]}
	check "$mpi with knemxen: UCX chose knemxen for the tag lanes of every endpoint" \
		lanes "$work/$mpi.log" knemxen
	check "$mpi with knemxen: one knem copy per segment of each rendezvous message, nothing else" \
		counters_moved "$work/before" "$work/after" "submitted=$copies" "processed=$copies"
	check "$mpi with knemxen: every copy between two registered regions (COPY_BOUNDED)" \
		ioctls_are "$mpi" "$KNEM_BOUNDED_COPY" "$copies"
	check "$mpi with knemxen: no INLINE_COPY" ioctls_are "$mpi" "$KNEM_INLINE_COPY" 0

	echo "== Debian's $mpi as installed (no knemxen)"
	snapshot "$work/before"
	status=0
	mpi_job "$mpi" "$work/$mpi-stock.log" || status=$?
	snapshot "$work/after"
	check "$mpi without knemxen: exits 0" test "$status" -eq 0
	check "$mpi without knemxen: every byte intact" \
		data_intact "$work/$mpi-stock.log" ${#SIZES[@]}
	check "$mpi without knemxen: UCX has no knem lane" lanes "$work/$mpi-stock.log" '!'
	check "$mpi without knemxen: no knem counter moved" \
		counters_moved "$work/before" "$work/after"
}

# ucx_perftest's server and client in this VM, with the transport.
perftest() {
	local log=$1 server status=0
	shift
	echo "\$ LD_PRELOAD=knemxen ucx_perftest $* & ucx_perftest 127.0.0.1 $*"
	LD_PRELOAD=$TRANSPORT timeout 300 ucx_perftest "$@" -p "$PERF_PORT" > "$log.server" 2>&1 &
	server=$!
	wait_listening "$PERF_PORT" || true
	LD_PRELOAD=$TRANSPORT timeout 300 ucx_perftest 127.0.0.1 "$@" -p "$PERF_PORT" > "$log" 2>&1 ||
		status=$?
	[ "$status" -eq 0 ] || kill "$server" 2>/dev/null || true
	wait "$server" || status=$?
	sed 's/^/  | /' "$log"
	return $status
}

perftest_checks() {
	local seg=$1 copies status=0
	# put_bw at UCT level: one put_zcopy per iteration plus the sentinel,
	# each cut into segments, from a registered buffer into one
	copies=$(((PERF_ITERATIONS + 1) * ((PERF_SIZE + seg - 1) / seg)))
	echo "== ucx_perftest -t put_bw over knemxen (UCT)"
	snapshot "$work/before"
	perftest "$work/put.log" -t put_bw -x knemxen -d memory -D zcopy \
		-s "$PERF_SIZE" -n "$PERF_ITERATIONS" -w 0 || status=$?
	snapshot "$work/after"
	check "ucx_perftest put_bw over knemxen exits 0" test "$status" -eq 0
	check "ucx_perftest put_bw: one knem copy per segment of each put and of the sentinel" \
		counters_moved "$work/before" "$work/after" "submitted=$copies" "processed=$copies"
}

# A program that sends from read-only memory: the sender's buffers cannot
# be pinned for writing, so their regions are declared read-only.
read_only_checks() {
	local copies=$1 status=0
	echo "== Debian's MPICH, knemxen preloaded, send buffers read-only (-r)"
	snapshot "$work/before"
	mpi_job mpich "$work/read-only.log" "$TRANSPORT" -r || status=$?
	snapshot "$work/after"
	check "read-only send buffers: exits 0" test "$status" -eq 0
	check "read-only send buffers: every byte intact" \
		data_intact "$work/read-only.log" ${#SIZES[@]}
	check "read-only send buffers: one knem copy per segment, region to region" \
		counters_moved "$work/before" "$work/after" "submitted=$copies" "processed=$copies"
}

no_knem_checks() {
	local status=0
	echo "== knemxen preloaded, knem.ko unloaded"
	check "knem.ko unloads" rmmod knem
	mpi_job mpich "$work/absent.log" "$TRANSPORT" || status=$?
	check "without /dev/knem: the job runs" test "$status" -eq 0
	check "without /dev/knem: every byte intact" data_intact "$work/absent.log" ${#SIZES[@]}
	check "without /dev/knem: knemxen says so, once per rank" \
		test "$(grep -c 'knemxen: cannot use /dev/knem (No such file or directory): transport disabled' \
			"$work/absent.log")" -eq 2
	check "without /dev/knem: UCX has no knem lane" lanes "$work/absent.log" '!'
	# shellcheck disable=SC2086 # the list of module paths
	check "knem.ko reloads" insmod ${KNEM_VM_MODULES%% *}
}

main() {
	local needed seg copies
	for needed in "$PROGRAMS/bw-openmpi" "$PROGRAMS/bw-mpich" "$TRANSPORT" "$STAT"; do
		[ -e "$needed" ] || { echo "guest-stock-mpi: $needed missing" >&2; exit 1; }
	done
	ip link set lo up 2>/dev/null || true
	# ORTE refuses the kernel's default "(none)" as a node name.
	[ "$(hostname)" != "(none)" ] || hostname knem-vm

	seg=$(seg_size) || true
	echo "guest-stock-mpi: UCX_KNEMXEN_SEG_SIZE = ${seg:-?} bytes"
	check "ucx_info shows knemxen's configuration with the transport preloaded" test -n "$seg"
	seg=${seg:-524288}
	copies=$(expected_copies "$seg")
	echo "guest-stock-mpi: expecting $copies knem copies per job"
	stock_mpi_checks openmpi "$copies"
	stock_mpi_checks mpich "$copies"
	read_only_checks "$copies"
	perftest_checks "$seg"
	no_knem_checks
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
