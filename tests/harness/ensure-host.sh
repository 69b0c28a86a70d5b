#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Idempotent host setup for a Debian 12 machine: installs the build and VM
# test dependencies that are missing, then unpacks (never installs) Debian's
# image of the kernel the tests use into the cache ($KNEM_CACHE, else
# <repo>/.cache).  Quiet when all is in place.  Root is needed only for
# apt-get update/install: without it, the script re-runs itself through
# sudo when it has something to install.
#
# The kernel: by default the release that the installed metapackage
# linux-headers-amd64 depends on (Debian 12's 6.1, e.g. 6.1.0-57-amd64),
# never "the newest headers in /usr/src": headers installed for another
# kernel (a backport, -rt) must not switch every test to that kernel.
# Another kernel is only ever chosen with --kernel, as a release
# (6.12.118+deb12-rt-amd64) or as the Debian flavour of a metapackage
# linux-headers-FLAVOUR (6.12-amd64, 6.12-rt-amd64: the release apt offers
# today).  Its headers are unpacked into <cache>/headers/<release>, not
# installed: Debian's 6.12 headers depend on their kernel image, which apt
# would install on the host (initramfs, boot loader) with them.
#
#   ensure-host.sh                    set up, print progress on stderr
#   ensure-host.sh --print-image-dir  same, then print the unpacked image dir
#                                     (<cache>/kernel/<release>) on stdout
#   ensure-host.sh --print-build-dir  same, then print the kernel's build
#                                     tree (its headers: the -C of Kbuild)
#   ensure-host.sh --kernel K [...]   for kernel K instead of the default
#   ensure-host.sh --no-xen-tree [--print-build-dir]
#                                     instead of a kernel image: the default
#                                     kernel's source prepared without Xen
#                                     (see no_xen_tree), for a build only
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
# Another kernel than the default: pahole, which Kbuild runs for the BTF of
# modules when the headers ship a vmlinux (Debian's 6.12 headers do).
readonly KERNEL_PACKAGES=(dwarves)
# "make olddefconfig modules_prepare" in a kernel source tree (the no-Xen
# build of tests/harness/matrix.sh).
readonly SOURCE_TREE_PACKAGES=(bc bison flex libelf-dev libssl-dev xz-utils dwarves)
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
	echo "usage: ${0##*/} [--plot] [--mpi] [--no-xen-tree] [--kernel RELEASE|FLAVOUR]" \
		"[--print-image-dir|--print-build-dir|--print-release]" >&2
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

# The default kernel: the release the installed linux-headers-amd64 depends
# on ("linux-headers-6.1.0-57-amd64 (= 6.1.192-3)" gives 6.1.0-57-amd64).
default_release() {
	local dep
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) || return 0
	dep=${dep%%[ ,]*}
	echo "${dep#linux-headers-}"
}

# The release of the metapackage linux-headers-FLAVOUR in apt's lists (the
# version apt would install today), or nothing.
flavour_release() {
	local dep
	dep=$(apt-cache show --no-all-versions "linux-headers-$1" 2>/dev/null |
		sed -n 's/^Depends: linux-headers-\([^ ,]*\).*/\1/p' | head -n 1)
	echo "$dep"
}

# release_of K: K itself when it names a release (it has a dot after its
# version: 6.1.0-57-amd64, 6.12.118+deb12-rt-amd64), else the release of
# the metapackage of flavour K (6.12-amd64), updating apt's lists once if
# they do not know it.
release_of() {
	local k=$1 r
	if [[ $k =~ ^[0-9]+\.[0-9]+\.[0-9] ]]; then
		echo "$k"
		return
	fi
	r=$(flavour_release "$k")
	if [ -z "$r" ]; then
		apt_update_once
		r=$(flavour_release "$k")
	fi
	[ -n "$r" ] || die "apt knows no metapackage linux-headers-$k (nor is '$k' a kernel release)"
	echo "$r"
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

# Downloads the first of the packages "$@" that apt has into the current
# directory.
download_one() {
	local name
	for name in "$@"; do
		knem_apt apt-get download -qq "$name" >/dev/null 2>>apt.err && return 0
	done
	return 1
}

# download WHAT PACKAGE...: download_one in $tmp, after an apt-get update
# when the lists are too old to have it.
download() {
	local what=$1
	shift
	if ! (cd "$tmp" && download_one "$@"); then
		apt_update_once
		(cd "$tmp" && download_one "$@") || {
			cat "$tmp/apt.err" >&2
			die "cannot download $what with apt-get download"
		}
	fi
}

unpack_image() {
	local release=$1 dest=$cache/kernel/$1
	[ -f "$dest/boot/vmlinuz-$release" ] && return 0
	say "downloading linux-image-$release"
	mkdir -p "$cache/kernel"
	tmp=$(mktemp -d "$cache/kernel/.dl.XXXXXX")
	download "linux-image-$release (nor -unsigned)" \
		"linux-image-$release" "linux-image-$release-unsigned"
	say "unpacking linux-image-$release into $dest"
	dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/root" || die "dpkg-deb -x failed"
	[ -f "$tmp/root/boot/vmlinuz-$release" ] ||
		die "no boot/vmlinuz-$release in the package"
	# modules.dep lets modprobe work in the guest (the package ships none).
	depmod -b "$tmp/root" "$release" || die "depmod failed"
	rm -rf "$dest"
	mv "$tmp/root" "$dest"
	rm -rf "$tmp"
	tmp=""
}

# The headers of a kernel that is not the default one, unpacked with what
# they depend on for building (linux-headers-*-common*, linux-kbuild-*) into
# <cache>/headers/<release>.  Their Makefile includes the common part by
# its absolute /usr/src path: it is pointed into the cache instead (the
# other links are relative).
unpack_headers() {
	local release=$1 dest=$cache/headers/$1 deps dep pkg
	local tree=$cache/headers/$1/usr/src/linux-headers-$1
	[ -f "$tree/.knem-unpacked" ] && return 0
	say "downloading linux-headers-$release"
	mkdir -p "$cache/headers"
	tmp=$(mktemp -d "$cache/headers/.dl.XXXXXX")
	download "linux-headers-$release" "linux-headers-$release"
	deps=$(dpkg-deb -f "$tmp"/linux-headers-*.deb Depends) || die "dpkg-deb -f failed"
	for dep in ${deps//,/ }; do
		case "$dep" in
		linux-headers-*-common* | linux-kbuild-*) download "$dep" "$dep" ;;
		esac
	done
	say "unpacking linux-headers-$release into $dest"
	for pkg in "$tmp"/*.deb; do
		dpkg-deb -x "$pkg" "$tmp/root" || die "dpkg-deb -x $pkg failed"
	done
	sed -i "s|^include /usr/src/|include $dest/usr/src/|" \
		"$tmp/root/usr/src/linux-headers-$release/Makefile"
	grep -q "^include $dest/" "$tmp/root/usr/src/linux-headers-$release/Makefile" ||
		die "unexpected Makefile in linux-headers-$release"
	touch "$tmp/root/usr/src/linux-headers-$release/.knem-unpacked"
	rm -rf "$dest"
	mv "$tmp/root" "$dest"
	rm -rf "$tmp"
	tmp=""
}

# The kernel build tree of release $1 (see unpack_headers).
build_dir() {
	if [ "$1" = "$(default_release)" ]; then
		echo "/usr/src/linux-headers-$1"
	else
		echo "$cache/headers/$1/usr/src/linux-headers-$1"
	fi
}

# The Version of package $1 that apt would install, updating apt's lists
# once if they do not know it.
candidate_version() {
	local v
	v=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p')
	if [ -z "$v" ]; then
		apt_update_once
		v=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p')
	fi
	[ -n "$v" ] || die "apt has no package $1"
	echo "$v"
}

# A kernel configured without Xen, for a build-only check (most HPC sites
# run kernels without CONFIG_XEN): Debian's source of the default kernel
# (linux-source-6.1) with the default kernel's config minus CONFIG_XEN
# (olddefconfig drops everything that depends on it), made ready for
# external modules with "make modules_prepare".  Prepared once, in
# <cache>/no-xen/<key>/, the key made of the source package's version,
# the config and these two functions: a new source or config prepares a
# new tree (and the old one is removed).  Prints the tree.
#
# modules_prepare builds no vmlinux, hence no Module.symvers, and modpost
# would then skip its check of undefined symbols with a warning.  The
# Module.symvers of the default kernel's headers (same source, with Xen) is
# put in the tree without what the Xen code exports (the symbols of
# drivers/xen and arch/x86/xen, the modules in a xen* directory or named
# xen*), so that a module needing Xen fails to link here as it would fail
# to load there.
no_xen_tree() {
	local release=$1 mm version key dest headers=/usr/src/linux-headers-$1
	[[ $release =~ ^([0-9]+\.[0-9]+)\. ]] || die "unexpected release $release"
	mm=${BASH_REMATCH[1]}
	version=$(candidate_version "linux-source-$mm")
	key=$({
		echo "linux-source-$mm $version"
		sha256sum "$headers/.config"
		declare -f no_xen_tree prepare_no_xen_tree
	} | sha256sum | cut -c1-12)
	dest=$cache/no-xen/$mm-$key
	if [ ! -f "$dest/.knem-prepared" ]; then
		prepare_no_xen_tree "$mm" "$version" "$headers" "$dest" >&2
	fi
	echo "$dest/linux-source-$mm"
}

prepare_no_xen_tree() {
	local mm=$1 version=$2 headers=$3 dest=$4 tree t0=$SECONDS
	say "preparing linux-source-$mm $version without Xen in $dest (once; a few minutes)"
	mkdir -p "$cache/no-xen"
	tmp=$(mktemp -d "$cache/no-xen/.dl.XXXXXX")
	download "linux-source-$mm" "linux-source-$mm=$version"
	dpkg-deb --fsys-tarfile "$tmp"/linux-source-*.deb |
		tar -x -C "$tmp" --wildcards '*/linux-source-*.tar.xz' ||
		die "no source tarball in linux-source-$mm"
	tar -xJf "$tmp"/usr/src/linux-source-"$mm".tar.xz -C "$tmp" ||
		die "unpacking linux-source-$mm.tar.xz failed"
	tree=$tmp/linux-source-$mm
	[ -f "$tree/Makefile" ] || die "no linux-source-$mm/Makefile in the tarball"
	rm -rf "${tmp:?}/usr" "$tmp"/*.deb
	cp "$headers/.config" "$tree/.config"
	# Debian's config names its own certificates, not in the source.
	"$tree/scripts/config" --file "$tree/.config" --disable XEN \
		--set-str SYSTEM_TRUSTED_KEYS "" --set-str SYSTEM_REVOCATION_KEYS ""
	make -s -C "$tree" olddefconfig || die "make olddefconfig failed"
	! grep -q '^CONFIG_XEN' "$tree/.config" || die "CONFIG_XEN* left in the config"
	make -s -C "$tree" -j"$(nproc)" modules_prepare || die "make modules_prepare failed"
	# shellcheck disable=SC2016 # awk's $2
	grep -rhoE 'EXPORT_SYMBOL[A-Z_]*\( *[A-Za-z0-9_]+' "$tree/drivers/xen" "$tree/arch/x86/xen" |
		sed 's/.*( *//' | sort -u |
		awk 'NR == FNR { xen[$1] = 1; next } !($2 in xen) && $3 !~ /(^|\/)xen/' - \
			"$headers/Module.symvers" > "$tree/Module.symvers"
	touch "$tmp/.knem-prepared"
	rm -rf "$cache/no-xen/$mm"-*
	mv "$tmp" "$dest"
	tmp=""
	say "linux-source-$mm without Xen prepared in $((SECONDS - t0)) s"
}

main() {
	local print="" kernel="" release no_xen=0 tree
	while [ $# -gt 0 ]; do
		case "$1" in
		--print-image-dir) print=image ;;
		--print-build-dir) print=build ;;
		--print-release) print=release ;;
		--kernel) [ $# -ge 2 ] || usage; kernel=$2; shift ;;
		--no-xen-tree) no_xen=1; wanted+=("${SOURCE_TREE_PACKAGES[@]}") ;;
		--plot) wanted+=("${PLOT_PACKAGES[@]}") ;;
		--mpi) wanted+=("${MPI_PACKAGES[@]}") ;;
		*) usage ;;
		esac
		shift
	done
	[ -z "$kernel" ] || wanted+=("${KERNEL_PACKAGES[@]}")
	install_packages
	release=$(default_release)
	[ -n "$release" ] || die "linux-headers-amd64 names no kernel release"
	if [ "$no_xen" -eq 1 ]; then
		# Built only: no image to boot, and always the default kernel's source.
		if [ -n "$kernel" ] || [ "$print" = image ] || [ "$print" = release ]; then
			usage
		fi
		tree=$(no_xen_tree "$release")
		[ "$print" != build ] || echo "$tree"
		return
	fi
	[ -z "$kernel" ] || release=$(release_of "$kernel")
	unpack_image "$release"
	[ "$release" = "$(default_release)" ] || unpack_headers "$release"
	case "$print" in
	image) echo "$cache/kernel/$release" ;;
	build) build_dir "$release" ;;
	release) echo "$release" ;;
	esac
}

ARGS=("$@")
main "$@"
