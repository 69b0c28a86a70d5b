#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# dma_provider_test.sh - checks the test-only DMA-engine provider
# knem_test_dma.ko inside the test VM (tests/harness/knem-vm): its memcpy
# channels are registered with the dmaengine core (/sys/class/dma/dma*chan*
# with their memcpy_count and bytes_transferred counters), its parameters
# exist, and it unloads and reloads cleanly 3 times.  The reloads keep the
# current `channels` value; the other parameters go back to their defaults.
# Leaves the module loaded.  Run as root with KNEM_VM_MODULES set:
#
#   tests/harness/knem-vm --module tests/dma-provider/knem_test_dma.ko -- \
#       'sh tests/dma-provider/dma_provider_test.sh'
#
# No dmaengine client (knem with open contexts, for one) may hold its
# channels, or it cannot be unloaded.  Exit 0 on success, 1 otherwise.
set -u

name=knem_test_dma
sysmod=/sys/module/$name
params="channels fail_every prep_fail_every poll_progress delay_us cookie_start copies bytes errors"
cycles=3

fail() {
	echo "dma_provider_test: FAIL: $*" >&2
	exit 1
}

say() {
	echo "dma_provider_test: $*"
}

is_number() {
	case "$1" in
	'' | *[!0-9]*) return 1 ;;
	esac
	return 0
}

# The /sys/class/dma channel directories whose parent device is ours.
our_channels() {
	for c in /sys/class/dma/dma*chan*; do
		[ -e "$c" ] || continue
		dev=$(readlink -f "$c/device" 2>/dev/null) || continue
		[ "${dev##*/}" = "$name" ] && echo "$c"
	done
}

# The module is loaded once, with its parameters and $1 channels.
check_loaded() {
	what=$1 want=$2
	n=$(grep -c "^$name " /proc/modules)
	[ "$n" = 1 ] || fail "$what: $name listed $n times in /proc/modules"
	state=$(cat "$sysmod/initstate" 2>/dev/null)
	[ "$state" = live ] || fail "$what: $sysmod/initstate is '$state'"
	for p in $params; do
		[ -f "$sysmod/parameters/$p" ] ||
			fail "$what: parameter $p is missing"
	done
	for p in copies bytes errors; do
		v=$(cat "$sysmod/parameters/$p") ||
			fail "$what: cannot read parameter $p"
		is_number "$v" || fail "$what: parameter $p is '$v'"
		if (echo 1 >"$sysmod/parameters/$p") 2>/dev/null; then
			fail "$what: read-only parameter $p accepted a write"
		fi
	done
	v=$(cat "$sysmod/parameters/channels")
	[ "$v" = "$want" ] || fail "$what: channels is '$v', want $want"

	chans=$(our_channels)
	n=$(echo "$chans" | grep -c .)
	[ "$n" = "$want" ] ||
		fail "$what: $n channels of $name in /sys/class/dma, want $want"
	for c in $chans; do
		for f in memcpy_count bytes_transferred in_use; do
			v=$(cat "$c/$f" 2>/dev/null) ||
				fail "$what: cannot read $c/$f"
			is_number "$v" || fail "$what: $c/$f is '$v'"
		done
	done
}

# The module, its sysfs directory and its channels are gone.
check_unloaded() {
	what=$1
	n=$(grep -c "^$name " /proc/modules)
	[ "$n" = 0 ] || fail "$what: $name still listed in /proc/modules"
	[ ! -e "$sysmod" ] || fail "$what: $sysmod is still there"
	[ -z "$(our_channels)" ] ||
		fail "$what: channels of $name still in /sys/class/dma"
	[ ! -e "/sys/devices/platform/$name" ] ||
		fail "$what: platform device $name is still there"
}

[ "$(id -u)" = 0 ] || fail "must run as root"
for tool in insmod rmmod readlink; do
	command -v "$tool" >/dev/null || fail "$tool not found"
done
ko=""
for m in ${KNEM_VM_MODULES:-}; do
	case "${m##*/}" in
	"$name.ko") ko=$m ;;
	esac
done
[ -n "$ko" ] ||
	fail "KNEM_VM_MODULES names no $name.ko (KNEM_VM_MODULES='${KNEM_VM_MODULES:-}')"
[ -f "$ko" ] || fail "$ko does not exist"
[ -d "$sysmod" ] || fail "$name is not loaded"

nchan=$(cat "$sysmod/parameters/channels" 2>/dev/null)
is_number "$nchan" || fail "cannot read $sysmod/parameters/channels"
say "module $ko, $nchan channel(s)"
check_loaded "at start" "$nchan"
say "channels: $(our_channels | sed 's|.*/||' | tr '\n' ' ')"

i=1
while [ "$i" -le "$cycles" ]; do
	refcnt=$(cat "$sysmod/refcnt")
	[ "$refcnt" = 0 ] ||
		fail "cycle $i: $name is in use (refcnt $refcnt): a dmaengine client holds its channels"
	rmmod "$name" || fail "cycle $i: rmmod $name failed"
	check_unloaded "cycle $i"
	insmod "$ko" "channels=$nchan" || fail "cycle $i: insmod $ko failed"
	check_loaded "cycle $i" "$nchan"
	for p in copies bytes errors; do
		v=$(cat "$sysmod/parameters/$p")
		[ "$v" = 0 ] || fail "cycle $i: $p is $v after a reload, want 0"
	done
	i=$((i + 1))
done

say "PASS: channels registered, parameters present, $cycles unload/reload cycles, module loaded"
exit 0
