#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds UCX from Debian's source package against this tree's knem_io.h
# (--with-knem=PREFIX, the header at PREFIX/include/knem_io.h), and prints
# the directory of the build (prefix/: the installation, with
# bin/ucx_perftest and the uct knem transport) on stdout.
#
# Cached under .cache/mpi (tests/mpi/debian-source.sh): a rerun with the
# same Debian version, header and build scripts only prints the directory.
# Debian's patches are applied (dpkg-source) and the tree generated with
# autogen.sh (dh's autoreconf step); configured with Debian's options but
# without the transports a shared-memory test does not need (verbs, RDMA
# CM, CUDA, ROCm, xpmem, uGNI) nor Java, Go and the documentation.
set -euo pipefail
shopt -s inherit_errexit

readonly NAME=build-ucx
# shellcheck source=SCRIPTDIR/debian-source.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/debian-source.sh"

readonly PACKAGES=(build-essential dpkg-dev autoconf automake libtool pkg-config)

build() {
	local version=$1 dest=$2 started=$SECONDS
	local work=$CACHE/work-ucx log=$dest.log src
	rm -rf "$work" "$dest"
	mkdir -p "$work/build"
	: > "$log"
	install_header "$dest/knem"

	say "fetching Debian's ucx $version source and applying its patches"
	src=$(fetch_source ucx "$version" "$work" "$log")

	say "generating the build system (autogen.sh)"
	step "$log" "$src" autogen.sh ./autogen.sh

	say "configuring (log: $log)"
	step "$log" "$work/build" configure "$src/configure" \
		--prefix="$dest/prefix" \
		--with-knem="$dest/knem" \
		--enable-mt --disable-logging --enable-cma \
		--disable-examples --disable-doxygen-doc --disable-static \
		--without-verbs --without-rdmacm --without-cuda --without-rocm \
		--without-gdrcopy --without-xpmem --without-ugni --without-fuse3 \
		--without-java --without-go --without-valgrind --disable-numa \
		CFLAGS=-O2 CXXFLAGS=-O2

	say "building with make -j2 (log: $log)"
	step "$log" "$work/build" "make -j2" make -j2
	step "$log" "$work/build" "make install" make install
	[ -e "$dest/prefix/lib/ucx/libuct_knem.so" ] ||
		die "no knem transport was built (log: $log)"
	rm -rf "$work"
	say "built in $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s: $dest/prefix"
}

main() {
	local dest
	[ -r "$HEADER" ] || die "no $HEADER"
	ensure_packages "${PACKAGES[@]}"
	ensure_deb_src ucx
	dest=$(cache_dir ucx "${BASH_SOURCE[0]}")
	if [ -f "$dest/complete" ]; then
		say "cached: $dest"
	else
		remove_other_builds "$dest" ucx
		build "$(source_version ucx)" "$dest"
		touch "$dest/complete"
	fi
	echo "$dest"
}

main "$@"
