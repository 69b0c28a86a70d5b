#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Idempotent host setup for a Debian 12 machine: installs the build and VM
# test dependencies that are missing, then unpacks (never installs) Debian's
# kernel image matching the newest installed linux-headers-*-amd64 into the
# cache ($KNEM_CACHE, else <repo>/.cache).  Quiet when all is in place.
# Root is needed only for apt-get update/install: without it, the script
# re-runs itself through sudo when it has something to install.
#
#   ensure-host.sh                    set up, print progress on stderr
#   ensure-host.sh --print-image-dir  same, then print the unpacked image dir
#                                     (<cache>/kernel/<release>) on stdout
#   ensure-host.sh --plot [...]       also install gnuplot (tools/bench.sh)
#   ensure-host.sh --mpi [...]        also install Debian's own MPI stacks
#                                     (tests/mpi/build-stock.sh)
#
# apt-get waits up to $APT_LOCK_WAIT s (900 by default) for the locks of
# another apt-get, dpkg or unattended-upgrades (knem_apt, apt.sh): other
# jobs on a shared machine install packages too, and failing on their lock
# would fail a test for nothing.
set -euo pipefail
shopt -s inherit_errexit

readonly PACKAGES=(build-essential autoconf automake libtool pkg-config g++
	libgtest-dev linux-headers-amd64 qemu-system-x86 busybox-static cpio
	kmod gzip libucx-dev ucx-utils)
# Only for the benchmark's plot: not needed by the tests.
readonly PLOT_PACKAGES=(gnuplot-nox)
# Debian's binary MPI and UCX, as users have them: run over knem.ko by
# tests/mpi/guest-stock-mpi.sh (which traces the ranks' ioctls) and
# between the Xen guests by tests/xen/scenario-mpi.sh.
readonly MPI_PACKAGES=(openmpi-bin libopenmpi-dev mpich libmpich-dev ucx-utils libucx0
	strace)
wanted=("${PACKAGES[@]}")

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)
# shellcheck source=SCRIPTDIR/apt.sh
. "$repo/tests/harness/apt.sh"
cache=${KNEM_CACHE:-$repo/.cache}
apt_updated=0
tmp=""  # download directory, removed on exit
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

say() { echo "ensure-host: $*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	echo "usage: ${0##*/} [--plot] [--mpi] [--print-image-dir]" >&2
	exit 2
}

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing_packages() {
	local p
	for p in "${wanted[@]}"; do
		installed "$p" || echo "$p"
	done
}

# Newest kernel release with amd64 headers in /usr/src, e.g. 6.1.0-56-amd64.
headers_release() {
	local d
	d=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' -printf '%f\n' |
		sort -V | tail -n 1)
	echo "${d#linux-headers-}"
}

# Root is only needed to change the host: re-exec through sudo then.
need_root() {
	local why=$1
	[ "$(id -u)" -eq 0 ] && return 0
	command -v sudo >/dev/null || die "must run as root (no sudo available) to $why"
	say "re-running as root through sudo to $why"
	[ -z "$tmp" ] || rm -rf "$tmp"
	exec sudo -- env "KNEM_CACHE=$cache" bash "$(readlink -f "$0")" "${ARGS[@]}"
}

apt_update_once() {
	[ "$apt_updated" -eq 1 ] && return 0
	need_root "run apt-get update"
	say "apt-get update"
	knem_apt apt-get update -qq >&2 || die "apt-get update failed"
	apt_updated=1
}

install_packages() {
	local missing
	mapfile -t missing < <(missing_packages)
	[ "${#missing[@]}" -eq 0 ] && return 0
	need_root "install ${missing[*]}"
	apt_update_once
	say "installing ${missing[*]}"
	knem_apt env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
}

# Downloads linux-image-<release>[-unsigned] into the current directory.
download_image() {
	local release=$1 name
	for name in "linux-image-$release" "linux-image-$release-unsigned"; do
		knem_apt apt-get download -qq "$name" >/dev/null 2>>apt.err && return 0
	done
	return 1
}

unpack_image() {
	local release=$1 dest=$cache/kernel/$1
	[ -f "$dest/boot/vmlinuz-$release" ] && return 0
	say "downloading linux-image-$release"
	mkdir -p "$cache/kernel"
	tmp=$(mktemp -d "$cache/kernel/.dl.XXXXXX")
	if ! (cd "$tmp" && download_image "$release"); then
		apt_update_once
		(cd "$tmp" && download_image "$release") || {
			cat "$tmp/apt.err" >&2
			die "cannot download linux-image-$release (nor -unsigned) with apt-get download"
		}
	fi
	say "unpacking linux-image-$release into $dest"
	dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/root" || die "dpkg-deb -x failed"
	[ -f "$tmp/root/boot/vmlinuz-$release" ] ||
		die "no boot/vmlinuz-$release in the package"
	# modules.dep lets modprobe work in the guest (the package ships none).
	depmod -b "$tmp/root" "$release" || die "depmod failed"
	rm -rf "$dest"
	mv "$tmp/root" "$dest"
}

main() {
	local print_dir=0 release
	while [ $# -gt 0 ]; do
		case "$1" in
		--print-image-dir) print_dir=1 ;;
		--plot) wanted+=("${PLOT_PACKAGES[@]}") ;;
		--mpi) wanted+=("${MPI_PACKAGES[@]}") ;;
		*) usage ;;
		esac
		shift
	done
	install_packages
	release=$(headers_release)
	[ -n "$release" ] || die "no /usr/src/linux-headers-*-amd64 after installing linux-headers-amd64"
	unpack_image "$release"
	[ "$print_dir" -eq 0 ] || echo "$cache/kernel/$release"
}

ARGS=("$@")
main "$@"
