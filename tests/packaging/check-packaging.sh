#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The install paths of doc/install.md, checked from the release tarball
# (make check-packaging; run as root, on Debian 12):
#   1. knem_local_install, then --uninstall, in a Debian chroot: the module
#      and the udev rule land where modprobe and udev look, depmod runs, a
#      modified file is set aside, and --uninstall leaves the root exactly
#      as it was (listing, modes and checksums of every file);
#   2. dpkg-buildpackage -us -uc -Ppkg.knem-xen.ucx from the unpacked
#      tarball (the UCX transport against the tree knem_build used), with a
#      version of its own (2.0.0+pkgcheck.DATE), so nothing collides with it;
#   3. the .debs installed with apt in that chroot (which has Debian's
#      ucx-utils): dkms builds knem.ko and knem-front.ko for Debian's kernel headers; a
#      program compiled against libknem-dev through pkg-config;
#   4. Debian's kernel under QEMU (tests/harness/knem-vm) runs the chroot:
#      modprobe knem finds the DKMS module, cat /dev/knem shows the driver
#      and its ABI, the packaged knem_pingpong and the compiled program run,
#      and Debian's ucx_perftest with knem-ucx's transport preloaded copies
#      through /dev/knem;
#   5. rpmbuild -tb --with ucx on the tarball (--nodeps: this host's rpm
#      database knows none of Debian's packages).
#   check-packaging.sh [TARBALL]    default: make dist in this tree
# Logs: .cache/packaging/logs/.  The Debian chroot is built once with
# mmdebstrap and cached as a tarball; each run unpacks a fresh copy.
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=SCRIPTDIR/../harness/build.sh
. "$(dirname "$(readlink -f "$0")")/../harness/build.sh"
# shellcheck source=SCRIPTDIR/../harness/apt.sh
. "$KNEM_HARNESS/apt.sh"

readonly HOST_PACKAGES=(dpkg-dev debhelper dh-dkms mmdebstrap rpm)
readonly CACHE=${KNEM_CACHE:-$KNEM_REPO/.cache}/packaging
readonly LOGS=$CACHE/logs
readonly WORK=$CACHE/run
ROOT=$WORK/root

fail() { echo "check-packaging: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

# Runs "$@" with its output in log $1; shows the log's end on failure.
logged() {
	local log=$LOGS/$1
	shift
	if ! "$@" > "$log" 2>&1; then
		tail -n 40 "$log" | sed 's/^/  | /'
		fail "'$*' failed (log: $log)"
	fi
}

ensure_host_packages() {
	local p missing=()
	for p in "${HOST_PACKAGES[@]}"; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
			missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	knem_step "installing ${missing[*]}"
	# waits for the locks of another apt (knem_apt, tests/harness/apt.sh)
	knem_apt apt-get update -qq
	knem_apt env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" > /dev/null
}

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 HOME=/root "$@"; }

# The cached Debian 12 root: kernel headers for the VM's kernel, dkms,
# what the checks compile with and Debian's UCX tools (knem-ucx's
# transport goes into them), as an installed system has them.  Sets
# CHROOT_TAR.
ensure_chroot_tarball() {
	local packages key
	packages="dkms,linux-headers-$KNEM_RELEASE,kmod,adduser,g++,pkg-config,ucx-utils"
	key=$( { echo "$packages"; cat /etc/apt/sources.list.d/debian.sources; } |
		sha256sum | cut -c1-12)
	CHROOT_TAR=$CACHE/bookworm-$key.tar
	[ ! -f "$CHROOT_TAR" ] || return 0
	knem_step "creating the Debian chroot (mmdebstrap, once; cached in $CHROOT_TAR)"
	logged mmdebstrap.log mmdebstrap --variant=minbase --format=tar --include="$packages" \
		bookworm "$CHROOT_TAR.tmp" /etc/apt/sources.list.d/debian.sources
	mv "$CHROOT_TAR.tmp" "$CHROOT_TAR"
}

# A fresh root with /proc and /dev; the mounts go with this process's
# mount namespace (the script runs under unshare --mount).
setup_root() {
	ensure_chroot_tarball
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	tar -C "$ROOT" --numeric-owner -xf "$CHROOT_TAR"
	mount -t proc proc "$ROOT/proc"
	mount --rbind /dev "$ROOT/dev"
	# An installed system: udev's rules directory, the kernel's module lists
	# and index.
	mkdir -p "$ROOT/etc/udev/rules.d"
	touch "$ROOT/lib/modules/$KNEM_RELEASE/"modules.{order,builtin,builtin.modinfo}
	logged depmod.log in_root depmod "$KNEM_RELEASE"
}

# Every file of the root but the pseudo file systems: type, mode, owner,
# link target, checksum.  Directory times are left out: they change when a
# file comes and goes, which is not a difference in what is installed.
snapshot() {
	(cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp \) -prune \
		-o -printf '%p %y %m %u:%g %l\n' | sort) > "$1"
	(cd "$ROOT" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp \) -prune \
		-o -type f -print0 | sort -z | xargs -0 sha256sum) >> "$1"
}

check_local_install() {
	local rules=$ROOT/etc/udev/rules.d/10-knem.rules extra=$ROOT/lib/modules/$KNEM_RELEASE/extra
	local inst=(env "KVERSION=$KNEM_RELEASE" /opt/knem/sbin/knem_local_install) aside
	knem_step "knem_local_install and --uninstall in the chroot"
	logged local-make-install.log make -C "$KNEM_REPO" install DESTDIR="$ROOT"
	snapshot "$WORK/before"

	logged local-install.log in_root "${inst[@]}"
	cmp -s "$KNEM_REPO/dom0-backend/knem.ko" "$extra/knem.ko" || fail "no knem.ko in $extra"
	cmp -s "$KNEM_REPO/domU-frontend/knem-front.ko" "$extra/knem-front.ko" ||
		fail "no knem-front.ko in $extra"
	grep -q '^extra/knem.ko:' "$ROOT/lib/modules/$KNEM_RELEASE/modules.dep" ||
		fail "depmod did not index extra/knem.ko"
	cmp -s "$KNEM_REPO/10-knem.rules" "$rules" || fail "the udev rule is not in /etc/udev/rules.d"
	ok "modules in /lib/modules/$KNEM_RELEASE/extra, indexed by depmod; rule in /etc/udev/rules.d"

	logged local-reinstall.log in_root "${inst[@]}"
	[ -z "$(find "$ROOT/etc/udev/rules.d" "$extra" -name '10-knem.rules.*' -o -name '*.ko.*')" ] ||
		fail "a second install set identical files aside"
	logged local-uninstall.log in_root "${inst[@]}" --uninstall
	snapshot "$WORK/after"
	diff -u "$WORK/before" "$WORK/after" > "$LOGS/local-uninstall.diff" ||
		fail "--uninstall left the root changed (see $LOGS/local-uninstall.diff)"
	ok "install twice then --uninstall: every file as before ($(wc -l < "$WORK/before") entries)"

	echo 'KERNEL=="knem", MODE="0666"' > "$rules"
	logged local-aside.log in_root "${inst[@]}"
	aside=$(find "$ROOT/etc/udev/rules.d" -name '10-knem.rules.*')
	if [ -z "$aside" ] || ! grep -q 0666 "$aside" || ! cmp -s "$KNEM_REPO/10-knem.rules" "$rules"; then
		fail "the administrator's rule was not set aside"
	fi
	echo '# edited' >> "$rules"
	rm -f "$aside"
	logged local-aside-uninstall.log in_root "${inst[@]}" --uninstall
	aside=$(find "$ROOT/etc/udev/rules.d" -name '10-knem.rules.*')
	if [ -e "$rules" ] || [ -z "$aside" ] || ! grep -q '# edited' "$aside"; then
		fail "--uninstall did not set the edited rule aside"
	fi
	ok "a modified rule is set aside, by the install and by --uninstall"
	rm -f "$aside"
	rm -rf "$ROOT/opt/knem"
}

build_debs() {
	local src=$WORK/src dir version
	knem_step "dpkg-buildpackage -us -uc from $(basename "$TARBALL")"
	mkdir -p "$src"
	tar -C "$src" -xzf "$TARBALL"
	dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d)
	version=$(dpkg-parsechangelog -l "$dir/debian/changelog" -S Version)+pkgcheck.$(date +%Y%m%d%H%M%S)
	{
		printf 'knem-xen (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * make check-packaging.\n\n -- knem-xen check <check@localhost>  %s\n\n' \
			"$(date -R)"
		cat "$dir/debian/changelog"
	} > "$WORK/changelog" && mv "$WORK/changelog" "$dir/debian/changelog"
	# nocheck: make check is the unit tests' own layer (tests/run-all.sh)
	(cd "$dir" && logged dpkg-buildpackage.log \
		env DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" KNEM_UCX_SOURCE="$KNEM_UCX_SOURCE" \
		dpkg-buildpackage -us -uc -Ppkg.knem-xen.ucx)
	DEBS=()
	local p
	for p in knem-dkms knem-utils libknem0 libknem-dev knem-ucx; do
		DEBS+=("$(find "$src" -maxdepth 1 -name "${p}_${version}_*.deb")")
		[ -n "${DEBS[-1]}" ] || fail "no $p package was built"
	done
	ok "built ${DEBS[*]##*/}"
}

check_debs() {
	local kdir=/lib/modules/$KNEM_RELEASE/updates/dkms f debs=()
	knem_step "installing the packages in the chroot: DKMS builds for $KNEM_RELEASE"
	mkdir -p "$ROOT/tmp/debs"
	cp "${DEBS[@]}" "$ROOT/tmp/debs/"
	for f in "${DEBS[@]}"; do
		debs+=("/tmp/debs/${f##*/}")
	done
	# the chroot's own dpkg: knem_apt waits should anything hold its lock
	logged apt-install.log knem_apt in_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y "${debs[@]}"
	in_root dkms status -k "$KNEM_RELEASE" | grep -q '^knem/.*: installed' ||
		fail "dkms status shows no installed knem for $KNEM_RELEASE"
	for f in knem.ko knem-front.ko; do
		[ "$(in_root modinfo -F vermagic "$kdir/$f" | cut -d' ' -f1)" = "$KNEM_RELEASE" ] ||
			fail "no $f for $KNEM_RELEASE in $kdir"
	done
	ok "dkms built and installed knem.ko and knem-front.ko in $kdir"
	in_root getent group rdma > /dev/null || fail "knem-utils did not create the group rdma"
	grep -q 'GROUP="rdma", MODE="0660"' "$ROOT/lib/udev/rules.d/10-knem.rules" ||
		fail "knem-utils has no udev rule in /lib/udev/rules.d"
	ok "group rdma and /lib/udev/rules.d/10-knem.rules"
	cp "$KNEM_REPO/tests/packaging/abi_client.cpp" "$ROOT/tmp/"
	# shellcheck disable=SC2016 # expanded in the chroot
	logged pkg-config-client.log in_root sh -c \
		'g++ -std=c++17 -o /tmp/abi_client /tmp/abi_client.cpp $(pkg-config --cflags --libs libknem knem)'
	ok "a client compiled against libknem-dev through pkg-config"
}

# Runs in the VM, cwd = the repository: the chroot with the packages.
vm_command() {
	cat <<EOF
set -eu
root='$ROOT'
mount --bind /dev "\$root/dev"
mount -t proc proc "\$root/proc"
mount -t sysfs sysfs "\$root/sys"
in_root() { chroot "\$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "\$@"; }
echo "\\\$ modprobe knem"
in_root modprobe knem
echo "module file: \$(in_root modinfo -n knem)"
case \$(in_root modinfo -n knem) in */updates/dkms/knem.ko) ;; *) echo "not the DKMS module"; exit 1 ;; esac
test -c /dev/knem
echo "\\\$ cat /dev/knem"
in_root cat /dev/knem | tee /tmp/stats
grep -q '^knem $KNEM_VERSION\$' /tmp/stats
grep -q 'Driver ABI=0xd' /tmp/stats
echo "\\\$ knem_pingpong -q"
in_root knem_pingpong -q
echo "\\\$ /tmp/abi_client"
in_root /tmp/abi_client
ip link set lo up
transport=\$(in_root sh -c 'echo /usr/lib/*/knem-xen/libuct_knemxen.so')
perftest() { in_root env LD_PRELOAD="\$transport" ucx_perftest "\$@" -t put_bw -x knemxen -d memory -D zcopy -s 1048576 -n 10 -w 0 -p 13339; }
echo "\\\$ LD_PRELOAD=\$transport ucx_perftest -t put_bw -x knemxen ... (server and client)"
processed() { in_root knem_stat | awk '\$1 == "processed" { print \$2 }'; }
before=\$(processed)
perftest > /tmp/perf-server 2>&1 &
server=\$!
# until the server listens (port 13339 = 0x341B, state 0A)
for i in \$(seq 150); do grep -q ':341B [0-9A-F:]* 0A' /proc/net/tcp && break; sleep 0.2; done
perftest 127.0.0.1 | tail -n 3
wait "\$server"
after=\$(processed)
echo "knem copies: \$((after - before)), expected 22 (11 puts of 2 segments)"
test "\$((after - before))" -eq 22
in_root modprobe -r knem
EOF
}

check_in_vm() {
	knem_step "Debian $KNEM_RELEASE under QEMU: the DKMS module and the packaged tools"
	if ! "$KNEM_HARNESS/knem-vm" -- "$(vm_command)" > "$LOGS/vm.log" 2>&1; then
		sed 's/^/  | /' "$LOGS/vm.log"
		fail "the packaged module in the VM (log: $LOGS/vm.log)"
	fi
	sed -n '/^\$ cat/,/^\$ knem_pingpong/p' "$LOGS/vm.log" | sed 's/^/  | /'
	ok "modprobe knem loaded the DKMS module; /dev/knem, knem_pingpong, the client and ucx_perftest over knem-ucx's transport work"
}

check_rpm() {
	local top=$WORK/rpm
	knem_step "rpmbuild -tb --nodeps $(basename "$TARBALL")"
	logged rpmbuild.log rpmbuild -tb --nodeps --define "_topdir $top" \
		--with ucx --define "ucx_source $KNEM_UCX_SOURCE" "$TARBALL"
	for p in knem knem-devel knem-dkms knem-ucx; do
		find "$top/RPMS" -name "$p-$KNEM_VERSION-*.rpm" | grep -q . || fail "no $p rpm"
	done
	rpm -qlp "$(find "$top/RPMS" -name "knem-dkms-$KNEM_VERSION-*.rpm")" |
		grep -q "^/usr/src/knem-$KNEM_VERSION/dkms.conf\$" || fail "knem-dkms has no dkms.conf"
	rpm -qlp "$(find "$top/RPMS" -name "knem-ucx-$KNEM_VERSION-*.rpm")" |
		grep -q "/knem-xen/libuct_knemxen.so\$" || fail "knem-ucx has no libuct_knemxen.so"
	ok "$(cd "$top/RPMS" && find . -name '*.rpm' -printf '%f ')"
}

main() {
	[ "$(id -u)" -eq 0 ] || fail "run as root (chroot, mounts, apt)"
	if [ -z "${KNEM_PKGCHECK_NS:-}" ]; then
		KNEM_PKGCHECK_NS=1 exec unshare --mount --propagation private -- \
			bash "$(readlink -f "$0")" "$@"
	fi
	local t0=$SECONDS
	knem_ensure_host
	ensure_host_packages
	knem_step "building"
	knem_build
	rm -rf "$WORK"
	mkdir -p "$WORK" "$LOGS"
	if [ $# -ge 1 ]; then
		TARBALL=$(readlink -f "$1")
	else
		knem_step "make dist"
		logged dist.log make -C "$KNEM_REPO" dist
		TARBALL=$KNEM_REPO/knem-xen-$(sed -n 's/^PACKAGE_VERSION = //p' "$KNEM_REPO/Makefile").tar.gz
	fi
	[ -f "$TARBALL" ] || fail "no tarball"
	KNEM_VERSION=$(basename "$TARBALL" .tar.gz)
	KNEM_VERSION=${KNEM_VERSION#knem-xen-}
	setup_root
	check_local_install
	build_debs
	check_debs
	# qemu serves the host's root to the VM: no host /proc or /dev in it
	umount -R "$ROOT/dev" "$ROOT/proc"
	check_in_vm
	rm -rf "$ROOT"
	check_rpm
	echo "check-packaging: all passed in $((SECONDS - t0)) s"
}

main "$@"
