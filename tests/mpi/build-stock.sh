#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs Debian's own MPI and UCX packages when missing
# (tests/harness/ensure-host.sh --mpi) and builds tests/mpi/knem_mpi_bw with
# each MPI's compiler wrapper (mpicc.openmpi, mpicc.mpich); prints the
# directory holding bw-openmpi and bw-mpich on stdout.  Rebuilt only when
# the source changed.
set -euo pipefail
shopt -s inherit_errexit

readonly NAME=build-stock
# shellcheck source=SCRIPTDIR/debian-source.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/debian-source.sh"

readonly SOURCE=$REPO/tests/mpi/knem_mpi_bw.c

main() {
	local dest=$CACHE/stock mpi out
	bash "$REPO/tests/harness/ensure-host.sh" --mpi || die "host setup failed"
	mkdir -p "$dest"
	for mpi in openmpi mpich; do
		out=$dest/bw-$mpi
		[ "$out" -nt "$SOURCE" ] ||
			"mpicc.$mpi" -O2 -Wall -Wextra -Werror -std=c11 -o "$out" "$SOURCE" ||
			die "cannot build $out with mpicc.$mpi"
	done
	echo "$dest"
}

main "$@"
