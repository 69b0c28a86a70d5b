# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh
# Helpers for dom0 scripts of the Xen harness (busybox sh), sourced before
# the --dom0-script.  A guest is named A or B (or knemA, knemB); its xl
# config is /etc/xen/knemA.cfg (the script may edit it before creating the
# guest).  Return status: the command's own for guest_run, 0 on success,
# 97 when a guest's --domu-module did not load, 124 on a timeout, 125 when
# the harness could not do its part (guest not running, channel error).
#
#   start_guests [HOOK]   create both guests paused, call HOOK NAME DOMID for
#                         each (e.g. to write xenstore device nodes), unpause
#                         both, wait until both report "ready"
#   start_guest G [HOOK]  the same for one guest
#   create_guest G        xl create -p (paused)
#   unpause_guest G       xl unpause
#   wait_guest G          wait for the guest's init to report "ready"
#                         ($KNEM_XEN_BOOT_TIMEOUT s, default 300)
#   guest_domid G         the guest's domain id
#   guest_run G 'cmd'     run cmd with sh in the guest (cwd /, stdin
#                         /dev/null); prints its stdout+stderr, returns its
#                         status ($KNEM_XEN_RUN_TIMEOUT s, default 600)
#   guest_dmesg G         the guest's kernel log (guest_run G dmesg)
#   guest_console G       the guest's console log kept by xenconsoled (also
#                         after the guest died)
#   destroy_guest G       xl destroy
#   host_run 'cmd'        run cmd with bash in the host root (chroot /host),
#                         cwd = the repository
#   progress 'text'       print a progress line on the launcher's output
#
# The guest command channel is xenstore: dom0 writes a base64 command and
# a sequence number under /local/domain/<domid>/data/knem-xen/req; the
# guest's init watches that node, runs the command and writes its base64
# output (in chunks, at most 256 KiB of output, cut beyond with a note) and
# exit status under data/knem-xen/rsp, the sequence number last; dom0
# watches rsp/seq.

KNEM_XEN_STATE=/run/knem-xen-guests
KNEM_XEN_CMD_MAX=3000 # base64 bytes: a xenstore message carries 4096
KNEM_XEN_NL='
'

_now() { cut -d. -f1 /proc/uptime; }

# Waits until xenstore node $1 changes, or 2 s (in case the change came
# before the watch was set): cheaper than polling under emulation.
_wait_node() { timeout 2 xenstore-watch -n 2 "$1" >/dev/null 2>&1; }

# Prints "knemA" for A or knemA; fails on other names.
_guest_name() {
	case "$1" in
	A | B) echo "knem$1" ;;
	knemA | knemB) echo "$1" ;;
	*) echo "knem-xen: unknown guest '$1' (A or B)" >&2; return 125 ;;
	esac
}

progress() { echo "@@knem-xen: note $*" > /dev/console; }

guest_domid() {
	local name d
	name=$(_guest_name "$1") || return
	d=""
	[ ! -f "$KNEM_XEN_STATE/$name" ] || read -r d < "$KNEM_XEN_STATE/$name"
	if [ -n "$d" ] && [ "$(xenstore-read "/local/domain/$d/name" 2>/dev/null)" = "$name" ]; then
		echo "$d"
		return 0
	fi
	d=$(xl domid "$name" 2>/dev/null) || {
		echo "knem-xen: guest $name is not running" >&2
		return 125
	}
	echo "$d" > "$KNEM_XEN_STATE/$name"
	echo "$d"
}

guest_console() {
	local name
	name=$(_guest_name "$1") || return
	cat "/var/log/xen/console/guest-$name.log"
}

_console_tail() {
	echo "knem-xen: last lines of $1's console:" >&2
	tail -n 30 "/var/log/xen/console/guest-$1.log" 2>/dev/null | sed 's/^/  | /' >&2
}

# Copies the guests' kernel and initramfs from 9p to tmpfs, once:
# libxenguest maps them page by page, which is slow on 9p.
_guest_images() {
	local dir=/var/lib/knem-xen
	[ -f "$dir/domu.cpio" ] && return 0
	mkdir -p "$dir"
	if ! cp "/lower$KNEM_XEN_DOMU_KERNEL" "$dir/vmlinux" ||
		! cp /run/knem-xen/in/domu.cpio "$dir/domu.cpio.tmp"; then
		echo "knem-xen: cannot copy the guests' kernel and initramfs" >&2
		return 125
	fi
	mv "$dir/domu.cpio.tmp" "$dir/domu.cpio"
}

create_guest() {
	local name
	name=$(_guest_name "$1") || return
	_guest_images || return
	rm -f "$KNEM_XEN_STATE/$name"
	xl create -q -p "/etc/xen/$name.cfg" || {
		echo "knem-xen: xl create $name failed" >&2
		return 125
	}
	guest_domid "$name" > /dev/null
}

unpause_guest() {
	local name
	name=$(_guest_name "$1") || return
	xl unpause "$name" || return 125
	_now > "$KNEM_XEN_STATE/$name.unpaused"
}

wait_guest() {
	local name d base st t0 deadline
	name=$(_guest_name "$1") || return
	d=$(guest_domid "$name") || return
	base=/local/domain/$d/data/knem-xen
	t0=$(cat "$KNEM_XEN_STATE/$name.unpaused" 2>/dev/null || _now)
	deadline=$(($(_now) + ${KNEM_XEN_BOOT_TIMEOUT:-300}))
	until st=$(xenstore-read "$base/init" 2>/dev/null); do
		if ! xenstore-read "/local/domain/$d/name" >/dev/null 2>&1; then
			echo "knem-xen: guest $name died while booting" >&2
			_console_tail "$name"
			return 125
		fi
		if [ "$(_now)" -ge "$deadline" ]; then
			echo "knem-xen: guest $name not ready after ${KNEM_XEN_BOOT_TIMEOUT:-300} s" >&2
			_console_tail "$name"
			return 124
		fi
		_wait_node "$base/init"
	done
	if [ "$st" != ok ]; then
		echo "knem-xen: guest $name: $st" >&2
		_console_tail "$name"
		return 97
	fi
	echo "@@knem-xen: guest $name ready (domid $d, $(($(_now) - t0)) s after unpause)" > /dev/console
}

start_guest() {
	local name
	name=$(_guest_name "$1") || return
	create_guest "$name" || return
	if [ -n "${2:-}" ]; then "$2" "$name" "$(guest_domid "$name")" || return; fi
	unpause_guest "$name" || return
	wait_guest "$name"
}

start_guests() {
	local g
	for g in A B; do
		create_guest "$g" || return
		if [ -n "${1:-}" ]; then "$1" "knem$g" "$(guest_domid "$g")" || return; fi
	done
	for g in A B; do unpause_guest "$g" || return; done
	for g in A B; do wait_guest "$g" || return; done
}

# The repository's tools/knem-xen-attach.
knem_xen_attach() { sh "/host$KNEM_XEN_REPO/tools/knem-xen-attach" "$@"; }

# start_knem_guests GROUP: start_guests with both guests attached to the
# knem backend in sharing group GROUP, then waits until both are connected.
start_knem_guests() {
	_knem_xen_group=$1
	start_guests _knem_xen_attach_paused || return
	for g in A B; do
		knem_xen_attach --wait --timeout 120 "$(guest_domid "$g")" || return
	done
}
_knem_xen_attach_paused() {
	knem_xen_attach --no-wait --group "$_knem_xen_group" "$2"
}

destroy_guest() {
	local name
	name=$(_guest_name "$1") || return
	xl destroy "$name" || return 125
	rm -f "$KNEM_XEN_STATE/$name" "$KNEM_XEN_STATE/$name.unpaused"
}

guest_run() {
	local name d base cmd seq r n i keys st deadline
	name=$(_guest_name "$1") || return
	d=$(guest_domid "$name") || return
	base=/local/domain/$d/data/knem-xen
	cmd=$(printf '%s' "$2" | base64 -w 0)
	if [ "${#cmd}" -gt "$KNEM_XEN_CMD_MAX" ]; then
		echo "knem-xen: guest_run: command too long (${#cmd} bytes in base64, at most $KNEM_XEN_CMD_MAX): put a script in --domu-files" >&2
		return 125
	fi
	# req/seq exists from "ready" on.
	seq=$(xenstore-read "$base/req/seq" 2>/dev/null) || {
		echo "knem-xen: guest_run: guest $name is not ready (wait_guest first)" >&2
		return 125
	}
	seq=$((seq + 1))
	xenstore-write "$base/req/cmd" "$cmd" "$base/req/seq" "$seq" || return 125
	deadline=$(($(_now) + ${KNEM_XEN_RUN_TIMEOUT:-600}))
	while :; do
		_wait_node "$base/rsp/seq"
		# A failing read means the guest is gone, or that it has not
		# answered its first command yet (a guest whose init wrote no
		# rsp/status at boot).
		if r=$(xenstore-read "$base/rsp/seq" "$base/rsp/status" "$base/rsp/chunks" 2>/dev/null); then
			[ "${r%%"$KNEM_XEN_NL"*}" != "$seq" ] || break
		elif ! xenstore-read "/local/domain/$d/name" >/dev/null 2>&1; then
			echo "knem-xen: guest_run: guest $name died" >&2
			_console_tail "$name"
			return 125
		fi
		if [ "$(_now)" -ge "$deadline" ]; then
			echo "knem-xen: guest_run: no answer from $name after ${KNEM_XEN_RUN_TIMEOUT:-600} s" >&2
			return 124
		fi
	done
	n=${r##*"$KNEM_XEN_NL"}
	r=${r%"$KNEM_XEN_NL"*}
	st=${r##*"$KNEM_XEN_NL"}
	if [ "$n" -gt 0 ]; then
		keys="" i=0
		while [ "$i" -lt "$n" ]; do
			keys="$keys $base/rsp/out/$i"
			i=$((i + 1))
		done
		# shellcheck disable=SC2086 # one key per word
		xenstore-read $keys | tr -d '\n' | base64 -d || return 125
	fi
	return "$st"
}

guest_dmesg() { guest_run "$1" dmesg; }

host_run() {
	# shellcheck disable=SC2016 # expanded by the chroot's bash
	chroot /host /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root TERM=dumb LANG=C.UTF-8 KNEM_XEN=1 KNEM_XEN_OUT="$KNEM_XEN_OUT" \
		KNEM_XEN_DOM0_MODULES="$KNEM_XEN_DOM0_MODULES" \
		KNEM_XEN_RELEASE="$KNEM_XEN_RELEASE" KNEM_XEN_REPO="$KNEM_XEN_REPO" \
		/bin/bash -c 'cd "$KNEM_XEN_REPO" && eval "$1"' host_run "$1"
}
