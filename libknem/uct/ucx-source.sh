#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Prints a UCX source tree of the version of the installed libucx0,
# configured as Debian built it, for `configure --with-ucx-source=DIR`
# (the knemxen transport needs UCX's internal headers and config.h, which
# libucx-dev does not ship).  Fetched with apt-get source (deb-src entries
# are added when apt has none) and cached under .cache/mpi: a rerun prints
# the directory at once.  About 3 minutes the first time.
#
#   libknem/uct/ucx-source.sh      progress on stderr, the directory on stdout
set -euo pipefail
shopt -s inherit_errexit

readonly NAME=ucx-source
# shellcheck source=SCRIPTDIR/../../tests/mpi/debian-source.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../tests/mpi/debian-source.sh"

readonly PACKAGES=(libucx-dev dpkg-dev autoconf automake libtool pkg-config)
# debian/rules' configure options of Debian 12's ucx that shape the
# structures of the internal headers (multi-threading, logging, assertions
# and statistics left at their defaults, as there); the transports it
# builds do not matter here.
readonly DEBIAN_OPTIONS=(--enable-mt --disable-backtrace-detail --disable-logging
	--enable-devel-headers --enable-cma)

configure_tree() {
	local version=$1 dest=$2 log=$2.log src
	rm -rf "$dest"
	mkdir -p "$dest"
	: > "$log"
	say "fetching Debian's ucx $version source (log: $log)"
	src=$(fetch_source ucx "$version" "$dest" "$log")
	say "generating and configuring it as Debian does"
	step "$log" "$src" autogen.sh ./autogen.sh
	step "$log" "$src" configure ./configure --prefix=/usr "${DEBIAN_OPTIONS[@]}" \
		--without-verbs --without-rdmacm --without-java --without-go \
		--disable-doxygen-doc
	ln -sfn "${src##*/}" "$dest/tree"
}

main() {
	local version dest
	ensure_packages "${PACKAGES[@]}"
	# the source of the UCX that processes will load the transport into
	version=$(dpkg-query -W -f='${source:Version}' libucx0)
	[ -n "$version" ] || die "cannot tell the version of the installed libucx0"
	ensure_deb_src ucx
	dest=$CACHE/knemxen-ucx-$version-$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-8)
	if [ ! -f "$dest/complete" ]; then
		remove_other_builds "$dest" knemxen-ucx
		configure_tree "$version" "$dest"
		touch "$dest/complete"
	fi
	echo "$dest/tree"
}

main "$@"
