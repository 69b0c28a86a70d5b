#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A real MPI client over our module: Open MPI built from Debian's source
# package against common/knem_io.h (tests/mpi/build-openmpi.sh, cached in
# .cache/mpi), then a two-rank bandwidth test over btl self,vader with knem
# single copy in Debian's kernel under QEMU TCG with dom0-backend/knem.ko
# (tests/mpi/guest-mpi.sh: data checked byte for byte, /dev/knem counters
# checked exactly).
#
#   tests/mpi/run.sh     host setup, build, Open MPI (about 10 minutes the
#                        first time, seconds once cached), the VM run
#
# Ends with "N passed, M failed" (the in-VM checks); exits non-zero on any
# failure, a guest kernel-log finding included.  Sourced (tests/run-all.sh),
# it only defines mpi_test, to run after knem_ensure_host and knem_build.
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=SCRIPTDIR/../harness/build.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../harness/build.sh"

# mpi_test: builds (or finds) Open MPI and the test program, boots the VM;
# the VM's output goes to stdout and $KNEM_LOGS/mpi.log.
mpi_test() {
	local ompi status=0
	mkdir -p "$KNEM_LOGS"
	rm -f "$KNEM_LOGS/mpi.log"
	ompi=$(bash "$KNEM_REPO/tests/mpi/build-openmpi.sh") || return 1
	mkdir -p "$ompi/tests"
	"$ompi/prefix/bin/mpicc" -O2 -Wall -Wextra -Werror -std=c11 \
		-o "$ompi/tests/knem_mpi_bw" "$KNEM_REPO/tests/mpi/knem_mpi_bw.c" || return 1
	knem_step "Open MPI two-rank test over knem.ko (Debian $KNEM_RELEASE under QEMU TCG)"
	"$KNEM_HARNESS/knem-vm" --module "$KNEM_REPO/dom0-backend/knem.ko" -- \
		"bash tests/mpi/guest-mpi.sh '$ompi'" | tee "$KNEM_LOGS/mpi.log" ||
		status=${PIPESTATUS[0]}
	return "$status"
}

main() {
	local status=0
	knem_ensure_host
	knem_step "building"
	knem_build
	knem_step "Open MPI against common/knem_io.h"
	mpi_test || status=$?
	grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$KNEM_LOGS/mpi.log" 2>/dev/null ||
		echo "0 passed, 1 failed"
	exit "$status"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
