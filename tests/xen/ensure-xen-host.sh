#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Idempotent host setup for the Xen harness (tests/xen/knem-xen-vm): runs
# tests/harness/ensure-host.sh (build and QEMU packages, Debian's kernel
# image unpacked into the cache), then installs the Xen 4.17 hypervisor and
# toolstack packages that are missing.  On the host they only add files
# under /boot and /usr (no boot loader is touched here); the harness copies
# them into the dom0 initramfs.  Quiet when all is in place.  Root is needed
# only for apt-get: without it, the script re-runs itself through sudo.
#
#   ensure-xen-host.sh                    set up, print progress on stderr
#   ensure-xen-host.sh --print-image-dir  same, then print the unpacked
#                                         kernel image dir on stdout
set -euo pipefail
shopt -s inherit_errexit

readonly XEN_VERSION=4.17
readonly PACKAGES=("xen-hypervisor-$XEN_VERSION-amd64" "xen-utils-$XEN_VERSION"
	xen-utils-common xenstore-utils xz-utils)

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
readonly HERE
# shellcheck source=SCRIPTDIR/../harness/apt.sh
. "$HERE/../harness/apt.sh"

say() { echo "ensure-xen-host: $*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
	echo "usage: ${0##*/} [--print-image-dir]" >&2
	exit 2
}

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

install_packages() {
	local p missing=()
	for p in "${PACKAGES[@]}"; do
		installed "$p" || missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "must run as root (no sudo available) to install ${missing[*]}"
		say "re-running as root through sudo to install ${missing[*]}"
		exec sudo -- env ${KNEM_CACHE:+"KNEM_CACHE=$KNEM_CACHE"} bash "$(readlink -f "$0")" "${ARGS[@]}"
	fi
	say "apt-get update"
	# waits for the locks of another apt (knem_apt, tests/harness/apt.sh)
	knem_apt apt-get update -qq >&2 || die "apt-get update failed"
	say "installing ${missing[*]}"
	# The packages' maintainer scripts complain that this host runs no Xen
	# ("Can't find hypervisor information in sysfs"): harmless.
	knem_apt env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
}

main() {
	local print_dir=0 image
	case "${1:-}" in
	"") ;;
	--print-image-dir) print_dir=1 ;;
	*) usage ;;
	esac
	image=$(bash "$HERE/../harness/ensure-host.sh" --print-image-dir) ||
		die "tests/harness/ensure-host.sh failed"
	install_packages
	[ -f "/boot/xen-$XEN_VERSION-amd64.gz" ] ||
		die "no /boot/xen-$XEN_VERSION-amd64.gz after installing xen-hypervisor-$XEN_VERSION-amd64"
	[ "$print_dir" -eq 0 ] || echo "$image"
}

ARGS=("$@")
main "$@"
