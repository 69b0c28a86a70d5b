#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh
# /init of the PV domUs (busybox sh, PID 1) in the Xen harness: loads the
# --domu-module modules, gives eth0 the address of knem_xen_ip= on the
# kernel command line (--net), names the guest (host name, /etc/hosts with
# both guests' names, root in /etc/passwd), reports "ready" (xenstore data/knem-xen/init and
# the console), then serves dom0's guest_run requests: it watches
# data/knem-xen/req (written by dom0), runs the base64 command of req/cmd
# for each new req/seq and answers under data/knem-xen/rsp: the base64
# output in chunks out/0 ..., then status, chunks (their number) and seq,
# last.  Paths are relative to the guest's own /local/domain/<domid>.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/
D=data/knem-xen
W=/run/knem-xen
OUTPUT_MAX=262144 # bytes of command output sent back
CHUNK=2000        # base64 bytes per node (the guest quota is 2048)

say() { echo "knem-xen-domu: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p "$W"

name=$(xenstore-read name) || say "error: cannot read xenstore (name)"
# What dynamically linked programs (Debian's MPI, tests/xen/stage-mpi.sh)
# look up: their launchers compare host names, and ask for the user's
# name and home.
hostname "$name"
echo "root:x:0:0:root:$HOME:/bin/sh" > /etc/passwd
echo 'root:x:0:' > /etc/group
export KNEM_XEN=1 KNEM_XEN_GUEST="$name" KNEM_XEN_DOMU_MODULES=""
status=ok
# shellcheck disable=SC2086 # the parameters are words
while read -r m params; do
	KNEM_XEN_DOMU_MODULES="$KNEM_XEN_DOMU_MODULES${KNEM_XEN_DOMU_MODULES:+ }/knem-xen/modules/$m"
	if ! err=$(insmod "/knem-xen/modules/$m" $params 2>&1); then
		status="insmod $m failed: $err"
		break
	fi
done < /knem-xen/modules/order
# --net: the static address dom0 put on the kernel command line, on the
# interface of xen-netfront (loaded above), which appears when the driver
# binds.
ip=$(sed -n 's/.*knem_xen_ip=\([0-9./]*\).*/\1/p' /proc/cmdline)
if [ -n "$ip" ] && [ "$status" = ok ]; then
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ "$i" -lt 100 ]; do
		usleep 100000
		i=$((i + 1))
	done
	if ip link set lo up && ip addr add "$ip" dev eth0 && ip link set eth0 up; then
		export KNEM_XEN_IP="${ip%/*}"
	else
		status="network: cannot set $ip on eth0 (xen-netfront)"
	fi
fi
# The guests' names resolve to the addresses dom0-init.sh gives them with
# --net, else the guest's own to itself.
{
	echo '127.0.0.1 localhost'
	if [ -n "${KNEM_XEN_IP:-}" ]; then
		printf '10.77.0.1 knemA\n10.77.0.2 knemB\n'
	else
		echo "127.0.1.1 $name"
	fi
} > /etc/hosts
# rsp/status and rsp/chunks exist from "ready" on: dom0 reads them with
# rsp/seq while the first command still runs.
xenstore-write "$D/req/seq" 0 "$D/rsp/seq" 0 "$D/rsp/status" 0 \
	"$D/rsp/chunks" 0 "$D/init" "$status" ||
	say "error: cannot write xenstore ($D)"
say "ready ($status) uptime $(cut -d' ' -f1 /proc/uptime) s"

NL='
'

# answer SEQ CMD: runs the base64 command CMD, writes the response (each
# process started costs ~0.1 s under emulation: few are).
answer() {
	local seq=$1 st size i chunk
	printf '%s' "$2" | base64 -d > "$W/cmd"
	(cd / && exec sh "$W/cmd") < /dev/null > "$W/out" 2>&1
	st=$?
	size=$(wc -c < "$W/out")
	if [ "$size" -gt "$OUTPUT_MAX" ]; then
		head -c "$OUTPUT_MAX" "$W/out" > "$W/cut"
		printf '\n[knem-xen: output cut to %d of %d bytes]\n' "$OUTPUT_MAX" "$size" >> "$W/cut"
		mv "$W/cut" "$W/out"
	fi
	# Chunks out/0..i-1, 50 per xenstore-write; the last write ends with
	# status, chunks and seq.  Chunks left from a longer output are unread.
	base64 -w "$CHUNK" "$W/out" > "$W/out.b64"
	set --
	i=0
	while read -r chunk; do
		set -- "$@" "$D/rsp/out/$i" "$chunk"
		i=$((i + 1))
		if [ "$#" -ge 100 ]; then
			xenstore-write "$@" || say "error: cannot write the output of request $seq"
			set --
		fi
	done < "$W/out.b64"
	xenstore-write "$@" "$D/rsp/status" "$st" "$D/rsp/chunks" "$i" "$D/rsp/seq" "$seq" ||
		say "error: cannot write the answer to request $seq"
}

# One watch event per change below req (and one when the watch is set):
# each runs the request whose seq is new.
last=0
while :; do
	xenstore-watch "$D/req" | while read -r _; do
		req=$(xenstore-read "$D/req/seq" "$D/req/cmd" 2>/dev/null) || continue
		seq=${req%%"$NL"*}
		[ "$seq" != "$last" ] || continue
		last=$seq
		answer "$seq" "${req#*"$NL"}"
	done
	say "error: the xenstore watch ended; setting it again"
	last=$(xenstore-read "$D/rsp/seq" 2>/dev/null || echo 0)
	sleep 1
done
