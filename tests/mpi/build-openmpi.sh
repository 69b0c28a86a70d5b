#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Builds Open MPI from Debian's source package against this tree's
# knem_io.h, the way an MPI user would (--with-knem=PREFIX with the header
# at PREFIX/include/knem_io.h), and prints the install prefix on stdout.
#
# The result is cached under $KNEM_CACHE/mpi (default .cache/mpi), keyed by
# the Debian source version and the header's checksum: a rerun with the same
# header only prints the prefix.  The build is trimmed to what a two-rank job
# over btl self,vader with knem single-copy needs (no Fortran, Java, OSHMEM,
# MPI-IO, network transports), against Debian's libevent, hwloc and PMIx as
# Debian's own build is; it takes about 10 minutes on 2 cores.
#
# Debian's patches are applied (dpkg-source) and the tree regenerated with
# its autogen.pl, as debian/rules does; dpkg-buildpackage itself is not run
# (it builds every transport, Fortran and Java, several times slower).
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${KNEM_CACHE:-$REPO/.cache}/mpi
readonly HERE REPO CACHE
readonly HEADER=$REPO/common/knem_io.h
readonly PACKAGES=(build-essential dpkg-dev autoconf automake libtool perl flex
	libevent-dev libhwloc-dev libpmix-dev)
readonly DEB_SRC_LIST=/etc/apt/sources.list.d/knem-xen-deb-src.sources

say() { echo "build-openmpi: $*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2
}

# apt-get source needs deb-src entries; Debian's images ship only deb ones.
# The deb-src twin of every deb822 "Types: deb" entry and of every one-line
# "deb" entry, in a file of our own.
ensure_deb_src() {
	apt-get source --print-uris openmpi > /dev/null 2>&1 && return 0
	say "enabling deb-src entries ($DEB_SRC_LIST)"
	local tmp
	tmp=$(mktemp)
	shopt -s nullglob
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ "$f" = "$DEB_SRC_LIST" ] && continue
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
			/(^|\n)Types:[^\n]*[ \t]deb([ \t]|\n|$)/ &&
			!/(^|\n)Enabled:[ \t]*no/ {
				sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print
			}' "$f" >> "$tmp"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >> "$tmp"
	done
	shopt -u nullglob
	grep -q . "$tmp" || { rm -f "$tmp"; die "no deb entries in /etc/apt to derive deb-src from"; }
	# deb822 and one-line entries cannot share a file: keep the deb822 form
	# when there is one, else the one-line form.
	if grep -q '^Types:' "$tmp"; then
		grep -v '^deb-src ' "$tmp" > "$tmp.out" || true
		as_root install -m 644 "$tmp.out" "$DEB_SRC_LIST"
	else
		as_root install -m 644 "$tmp" "${DEB_SRC_LIST%.sources}.list"
	fi
	rm -f "$tmp" "$tmp.out"
	as_root apt-get update -qq
	apt-get source --print-uris openmpi > /dev/null 2>&1 ||
		die "apt-get source openmpi still fails after enabling deb-src"
}

# The Debian source version apt would fetch, e.g. 4.1.4-3.
source_version() {
	apt-get source --print-uris openmpi 2>/dev/null |
		sed -n "s/^'[^']*' openmpi_\(.*\)\.dsc .*/\1/p" | head -n 1
}

# Runs "$@" with its output in the log; shows the log's end on failure.
logged() {
	local log=$1
	shift
	if ! "$@" >> "$log" 2>&1; then
		tail -n 40 "$log" | sed 's/^/  | /' >&2
		die "'$*' failed (full log: $log)"
	fi
}

# make in the background, a progress line every minute: the build is long
# and quiet otherwise.
make_with_progress() {
	local dir=$1 log=$2 started=$SECONDS pid objects
	shift 2
	make -C "$dir" "$@" >> "$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		if [ $(((SECONDS - started) % 60)) -lt 5 ] && [ $((SECONDS - started)) -ge 60 ]; then
			objects=$(find "$dir" -name '*.lo' | wc -l)
			say "  make $*: $(((SECONDS - started) / 60)) min, $objects objects compiled so far"
		fi
	done
	if ! wait "$pid"; then
		tail -n 40 "$log" | sed 's/^/  | /' >&2
		die "make $* failed (full log: $log)"
	fi
}

build() {
	local version=$1 dest=$2 work=$CACHE/work-$version log started=$SECONDS
	log=$dest.log
	rm -rf "$work" "$dest"
	mkdir -p "$work" "$dest/knem/include"
	: > "$log"
	# The header as an installed knem lays it out: PREFIX/include/knem_io.h.
	install -m 644 "$HEADER" "$dest/knem/include/knem_io.h"

	say "fetching Debian's openmpi $version source and applying its patches"
	(cd "$work" && logged "$log" apt-get source "openmpi=$version")
	local src
	src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'openmpi-*' | head -n 1)
	[ -n "$src" ] || die "no source tree in $work"

	say "regenerating the build system (autogen.pl, as debian/rules does)"
	(cd "$src/config" && logged "$log" autom4te --language=m4sh opal_get_version.m4sh -o opal_get_version.sh)
	(cd "$src" && logged "$log" ./autogen.pl --force)

	say "configuring (log: $log)"
	local multiarch
	multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	mkdir -p "$work/build"
	(cd "$work/build" && logged "$log" "$src/configure" \
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
		--enable-mca-no-build=btl-tcp,btl-uct,btl-openib,btl-ofi,btl-usnic,btl-smcuda,btl-portals4,btl-ugni,mtl,osc-rdma,osc-ucx,osc-pt2pt,coll-monitoring,pml-monitoring,osc-monitoring,pml-cm,pml-ucx,pml-v,vprotocol,fcoll,fbtl,fs,sharedfp,io,topo-treematch,coll-hcoll,coll-fca,coll-portals4,coll-cuda,coll-adapt,coll-han,coll-sm,rcache-udreg,rcache-rgpusm,rcache-gpusm,mpool-memkind,reachable-netlink \
		CFLAGS=-O2)
	grep -q '^#define OPAL_BTL_VADER_HAVE_KNEM 1' "$work/build/opal/include/opal_config.h" ||
		die "configure did not enable knem in btl/vader (log: $log)"

	say "building with make -j2 (log: $log)"
	make_with_progress "$work/build" "$log" -j2
	make_with_progress "$work/build" "$log" install
	rm -rf "$work"
	say "built in $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s: $dest/prefix"
}

main() {
	[ -r "$HEADER" ] || die "no $HEADER"
	ensure_packages
	ensure_deb_src
	local version key dest
	version=$(source_version)
	[ -n "$version" ] || die "cannot tell the version of Debian's openmpi source"
	key=$(sha256sum "$HEADER" | cut -c1-12)
	dest=$CACHE/openmpi-$version-knem-$key
	mkdir -p "$CACHE"
	if [ -f "$dest/complete" ]; then
		say "cached: $dest (Open MPI $version, knem_io.h $key)"
	else
		build "$version" "$dest"
		touch "$dest/complete"
	fi
	echo "$dest"
}

main "$@"
