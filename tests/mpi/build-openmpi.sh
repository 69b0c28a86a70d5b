#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds Open MPI from Debian's source package against this tree's
# knem_io.h, the way an MPI user would (--with-knem=PREFIX with the header
# at PREFIX/include/knem_io.h), and prints the directory of the build
# (prefix/: the installation) on stdout.
#
# Cached under .cache/mpi (tests/mpi/debian-source.sh): a rerun with the
# same Debian version, header and build scripts only prints the directory.
# The build is trimmed to what a two-rank job over btl self,vader with knem
# single copy needs (no Fortran, Java, OSHMEM, MPI-IO, network transports),
# against Debian's libevent, hwloc and PMIx as Debian's own build is.
#
# Debian's patches are applied (dpkg-source) and the tree regenerated with
# its autogen.pl, as debian/rules does; dpkg-buildpackage itself is not run
# (it builds every transport, Fortran and Java, several times slower).
set -euo pipefail
shopt -s inherit_errexit

readonly NAME=build-openmpi
# shellcheck source=SCRIPTDIR/debian-source.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/debian-source.sh"

readonly PACKAGES=(build-essential dpkg-dev autoconf automake libtool perl flex
	libevent-dev libhwloc-dev libpmix-dev)
# Left out at autogen time, so that neither autogen.pl nor configure
# descends into them: the embedded libevent, hwloc and PMIx (Debian's are
# used) and ROMIO, whose own build systems are most of that time.
readonly LEFT_OUT=(event-libevent2022 hwloc-hwloc201 pmix-pmix3x io-romio321)
# Not built (configure --enable-mca-no-build; a framework name keeps its
# base, which libmpi needs): MPI-IO, the network transports, the
# collectives and one-sided components a two-rank point-to-point job does
# not load.
readonly NOT_BUILT=(io fcoll fbtl fs sharedfp
	btl-tcp btl-uct btl-openib btl-ofi btl-usnic btl-smcuda btl-portals4 btl-ugni
	mtl pml-cm pml-ucx pml-v pml-monitoring vprotocol
	osc-rdma osc-ucx osc-pt2pt osc-monitoring
	coll-monitoring coll-hcoll coll-fca coll-portals4 coll-cuda coll-adapt
	coll-han coll-sm topo-treematch
	rcache-udreg rcache-rgpusm rcache-gpusm mpool-memkind reachable-netlink)

build() {
	local version=$1 dest=$2 started=$SECONDS
	local work=$CACHE/work-openmpi log=$dest.log src multiarch
	rm -rf "$work" "$dest"
	mkdir -p "$work/build"
	: > "$log"
	install_header "$dest/knem"

	say "fetching Debian's openmpi $version source and applying its patches"
	src=$(fetch_source openmpi "$version" "$work" "$log")

	say "regenerating the build system (autogen.pl, as debian/rules does)"
	step "$log" "$src/config" autom4te \
		autom4te --language=m4sh opal_get_version.m4sh -o opal_get_version.sh
	step "$log" "$src" autogen.pl ./autogen.pl --force --no-oshmem \
		--exclude "$(IFS=,; echo "${LEFT_OUT[*]}")"

	say "configuring (log: $log)"
	multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	step "$log" "$work/build" configure "$src/configure" \
		--prefix="$dest/prefix" \
		--with-knem="$dest/knem" \
		--with-pmix="/usr/lib/$multiarch/pmix2" \
		--with-libevent=external --with-hwloc=external \
		--disable-mpi-fortran --disable-mpi-java --disable-oshmem \
		--disable-mpi-cxx --disable-io-romio --disable-mpi-io \
		--disable-dlopen --disable-static \
		--without-ucx --without-verbs --without-ofi --without-psm \
		--without-psm2 --without-portals4 --without-cuda --without-hcoll \
		--without-xpmem --without-fca --without-mxm --without-ugni \
		--without-usnic --without-tm --without-slurm --without-lsf \
		--without-sge --without-alps \
		--enable-mca-no-build="$(IFS=,; echo "${NOT_BUILT[*]}")" \
		CFLAGS=-O2
	grep -q '^#define OPAL_BTL_VADER_HAVE_KNEM 1' "$work/build/opal/include/opal_config.h" ||
		die "configure did not enable knem in btl/vader (log: $log)"

	say "building with make -j2 (log: $log)"
	step "$log" "$work/build" "make -j2" make -j2
	step "$log" "$work/build" "make install" make install
	rm -rf "$work"
	say "built in $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s: $dest/prefix"
}

main() {
	local dest
	[ -r "$HEADER" ] || die "no $HEADER"
	ensure_packages "${PACKAGES[@]}"
	ensure_deb_src openmpi
	dest=$(cache_dir openmpi "${BASH_SOURCE[0]}")
	if [ -f "$dest/complete" ]; then
		say "cached: $dest"
	else
		remove_other_builds "$dest" openmpi
		build "$(source_version openmpi)" "$dest"
		touch "$dest/complete"
	fi
	echo "$dest"
}

main "$@"
