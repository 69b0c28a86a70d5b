#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Real MPI clients over our module: Open MPI and UCX built from Debian's
# source packages against common/knem_io.h (tests/mpi/build-openmpi.sh and
# build-ucx.sh, cached in .cache/mpi), then, in Debian's kernel under QEMU
# TCG with dom0-backend/knem.ko (tests/mpi/guest-mpi.sh), a two-rank
# bandwidth test over Open MPI's btl self,vader with knem single copy (data
# checked byte for byte) and ucx_perftest over UCX's knem transport, with
# the /dev/knem counters checked exactly.  Then Debian's own packages as
# installed (openmpi-bin, mpich, ucx-utils: tests/mpi/build-stock.sh) with
# the knemxen transport preloaded, in a second boot
# (tests/mpi/guest-stock-mpi.sh).
#
#   tests/mpi/run.sh     host setup, build, Open MPI and UCX (8 to 14
#                        minutes the first time, nothing once cached), the
#                        two VM runs (about 75 seconds and 3 minutes)
#
# Ends with "N passed, M failed" (the in-VM checks) for each boot; exits
# non-zero on any failure, a guest kernel-log finding included.  Sourced
# (tests/run-all.sh), it only defines mpi_test and stock_mpi_test, to run
# after knem_ensure_host and knem_build.
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=SCRIPTDIR/../harness/build.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../harness/build.sh"

# mpi_test: builds (or finds) Open MPI, UCX and the test program, boots
# the VM; the VM's output goes to stdout and $KNEM_LOGS/mpi.log.
mpi_test() {
	local ompi ucx status=0
	mkdir -p "$KNEM_LOGS"
	rm -f "$KNEM_LOGS/mpi.log"
	ompi=$(bash "$KNEM_REPO/tests/mpi/build-openmpi.sh") || return 1
	ucx=$(bash "$KNEM_REPO/tests/mpi/build-ucx.sh") || return 1
	mkdir -p "$ompi/tests"
	"$ompi/prefix/bin/mpicc" -O2 -Wall -Wextra -Werror -std=c11 \
		-o "$ompi/tests/knem_mpi_bw" "$KNEM_REPO/tests/mpi/knem_mpi_bw.c" || return 1
	knem_step "Open MPI and UCX over knem.ko (Debian $KNEM_RELEASE under QEMU TCG)"
	"$KNEM_HARNESS/knem-vm" --module "$KNEM_REPO/dom0-backend/knem.ko" -- \
		"bash tests/mpi/guest-mpi.sh '$ompi' '$ucx'" | tee "$KNEM_LOGS/mpi.log" ||
		status=${PIPESTATUS[0]}
	return "$status"
}

# stock_mpi_test: Debian's own Open MPI, MPICH and UCX packages with the
# knemxen transport (libknem/uct) preloaded, in the VM; the VM's output goes
# to stdout and $KNEM_LOGS/stock-mpi.log.
stock_mpi_test() {
	local programs status=0
	mkdir -p "$KNEM_LOGS"
	rm -f "$KNEM_LOGS/stock-mpi.log"
	programs=$(bash "$KNEM_REPO/tests/mpi/build-stock.sh") || return 1
	knem_step "Debian's Open MPI and MPICH with the knemxen UCX transport over knem.ko"
	"$KNEM_HARNESS/knem-vm" --module "$KNEM_REPO/dom0-backend/knem.ko" -- \
		"bash tests/mpi/guest-stock-mpi.sh '$programs' '$KNEM_TRANSPORT'" |
		tee "$KNEM_LOGS/stock-mpi.log" || status=${PIPESTATUS[0]}
	return "$status"
}

main() {
	local status=0 log
	knem_ensure_host
	knem_step "building"
	knem_build
	knem_step "Open MPI and UCX against common/knem_io.h"
	mpi_test || status=$?
	stock_mpi_test || status=$?
	for log in "$KNEM_LOGS/mpi.log" "$KNEM_LOGS/stock-mpi.log"; do
		grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$log" 2>/dev/null ||
			echo "0 passed, 1 failed"
	done
	exit "$status"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
