#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Stages Debian's own MPI stacks for the Xen guests
# (tests/xen/scenario-mpi.sh): the guests have busybox and an initramfs
# root, no disk and no access to the host's files, so everything a job
# runs or loads has to be in their --domu-files.
#
#   tests/xen/stage-mpi.sh    prints the staged directory on stdout
#
# Installs Debian's packages when missing and builds tests/mpi/knem_mpi_bw.c
# with Debian's Open MPI and MPICH (tests/mpi/build-stock.sh), stages these
# as /mpi/knem_mpi_bw.openmpi and /mpi/knem_mpi_bw.mpich, the knemxen UCX
# transport (libknem/uct, built by make) as /mpi/libuct_knemxen.so, and copies, at
# their own paths, the programs (ucx_perftest, ucx_info, mpirun.openmpi,
# orted, mpiexec.hydra, hydra_pmi_proxy), what they dlopen() (UCX's cma
# module, Open MPI's components, PMIx's plugins), the data they read
# (Open MPI's and PMIx's help texts and configuration), and the shared
# libraries all of these load, with the dynamic loader.  Open MPI's Open
# SHMEM components and those for hardware a guest has not (verbs, OFI,
# PSM), UCX's ib and rdmacm modules and hwloc's plugins (OpenCL, X11,
# libxml2 and ICU: 38 MB) are left out: these stacks run without them,
# and each MB staged is guest memory twice (the initramfs and its copy).
# Also /mpi/rsh-agent, Open MPI's remote shell between the guests
# (tests/xen/mpi-rsh-agent.sh).
#
# Cached in .cache/xen-mpi/stage (or $KNEM_CACHE/xen-mpi/stage), staged
# again when one of the staged host files (size, time) or the list of
# components changed, or this script, the agent or the test's source.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${KNEM_CACHE:-$REPO/.cache}/xen-mpi
readonly HERE REPO CACHE
# shellcheck source=SCRIPTDIR/lib-closure.sh
. "$HERE/lib-closure.sh"

readonly LIBDIR=/usr/lib/x86_64-linux-gnu
readonly PROGRAMS=(/usr/bin/ucx_perftest /usr/bin/ucx_info /usr/bin/mpirun.openmpi
	/usr/bin/orted /usr/bin/mpiexec.hydra /usr/bin/hydra_pmi_proxy)
readonly OMPI_COMPONENTS=$LIBDIR/openmpi/lib/openmpi3
readonly PMIX_PLUGINS=$LIBDIR/pmix2/lib/pmix
readonly UCX_MODULES=(libuct_cma.so.0)
# Components that link one of these are left out (see the head).
readonly SKIP_LIBS='lib(ibverbs|fabric|psm|infinipath|rdmacm|oshmem)'
readonly TRANSPORT=$REPO/libknem/uct/.libs/libuct_knemxen.so
tmp="" # the stage being built, removed on exit
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

say() { echo "stage-mpi: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Prints the host files to stage, one per line, except the test programs
# (built here) and the libraries they load (listed after the build).
host_files() {
	local c ucs m
	printf '%s\n' "${PROGRAMS[@]}"
	for c in "$OMPI_COMPONENTS"/*.so; do
		[[ $(ldd "$c") =~ $SKIP_LIBS ]] || echo "$c"
	done
	# UCX looks for its modules in ucx/ next to the libucs it loaded
	ucs=$(lib_closure /usr/bin/ucx_info | grep '/libucs\.so')
	for m in "${UCX_MODULES[@]}"; do echo "${ucs%/*}/ucx/$m"; done
	printf '%s\n' "$PMIX_PLUGINS"/*.so "$LIBDIR"/pmix2/share/pmix-mca-params.conf \
		"$LIBDIR"/pmix2/share/pmix/help-*.txt /usr/share/openmpi/help-*.txt \
		/etc/openmpi/openmpi-mca-params.conf /etc/openmpi/openmpi-default-hostfile
}

# Digest of what the stage is made of: the staged host files' names, sizes
# and times (manifest $1), the directories whose plugins are chosen here,
# this script, the agent, the test programs (directory $2) and the
# transport.
inputs_digest() {
	{
		xargs -d '\n' stat -L -c '%n %s %Y' < "$1"
		ls "$OMPI_COMPONENTS" "$PMIX_PLUGINS"
		sha256sum "${BASH_SOURCE[0]}" "$HERE/lib-closure.sh" "$HERE/mpi-rsh-agent.sh" \
			"$2"/bw-* "$TRANSPORT"
	} | sha256sum | cut -c1-16
}

# Builds the stage into directory $1, from the test programs of directory
# $3, and its manifest (the host files copied) into file $2.
build_stage() {
	local stage=$1 manifest=$2 programs=$3 mpi files elves libs
	mkdir -p "$stage/mpi"
	for mpi in openmpi mpich; do
		install -m 755 "$programs/bw-$mpi" "$stage/mpi/knem_mpi_bw.$mpi"
	done
	install -m 755 "$TRANSPORT" "$stage/mpi/libuct_knemxen.so"
	install -m 755 "$HERE/mpi-rsh-agent.sh" "$stage/mpi/rsh-agent"
	mapfile -t files < <(host_files)
	mapfile -t elves < <(printf '%s\n' "${files[@]}" | grep -E '\.so(\.[0-9]+)?$|^/usr/bin/')
	mapfile -t libs < <(lib_closure "${elves[@]}" "$stage"/mpi/knem_mpi_bw.* \
		"$stage/mpi/libuct_knemxen.so")
	copy_into "$stage" "${files[@]}" "${libs[@]}"
	printf '%s\n' "${files[@]}" "${libs[@]}" > "$manifest"
}

main() {
	local dir=$CACHE/stage manifest=$CACHE/stage.manifest digest=$CACHE/stage.digest
	local new programs
	programs=$(bash "$REPO/tests/mpi/build-stock.sh") || die "cannot build the test programs"
	[ -f "$TRANSPORT" ] || die "$TRANSPORT is not built (make)"
	if [ -d "$dir" ] && [ -f "$manifest" ] && [ -f "$digest" ] &&
		[ "$(inputs_digest "$manifest" "$programs")" = "$(cat "$digest")" ]; then
		echo "$dir"
		return
	fi
	say "staging Debian's Open MPI, MPICH and UCX for the Xen guests"
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/.stage.XXXXXX")
	build_stage "$tmp/stage" "$tmp/manifest" "$programs"
	new=$(inputs_digest "$tmp/manifest" "$programs")
	rm -rf "$dir" "$digest"
	mv "$tmp/stage" "$dir"
	mv "$tmp/manifest" "$manifest"
	echo "$new" > "$digest"
	say "staged $(find "$dir" -type f | wc -l) files, $(du -sm "$dir" | cut -f1) MB, in $dir"
	echo "$dir"
}

main "$@"
