#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh
# /init of the PV domUs (busybox sh, PID 1) in the Xen harness: loads the
# --domu-module modules, reports "ready" (xenstore data/knem-xen/init and
# the console), then serves dom0's guest_run requests: it watches
# data/knem-xen/req (written by dom0), runs the base64 command of req/cmd
# for each new req/seq and answers under data/knem-xen/rsp: status, chunks
# (the number of base64 output chunks out/0 ...), seq last.  Paths are
# relative to the guest's own /local/domain/<domid>.
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
export KNEM_XEN=1 KNEM_XEN_GUEST="$name" KNEM_XEN_DOMU_MODULES=""
status=ok
while read -r m; do
	KNEM_XEN_DOMU_MODULES="$KNEM_XEN_DOMU_MODULES${KNEM_XEN_DOMU_MODULES:+ }/knem-xen/modules/$m"
	if ! err=$(insmod "/knem-xen/modules/$m" 2>&1); then
		status="insmod $m failed: $err"
		break
	fi
done < /knem-xen/modules/order
xenstore-write "$D/init" "$status" "$D/rsp/seq" 0 ||
	say "error: cannot write xenstore ($D)"
say "ready ($status) uptime $(cut -d' ' -f1 /proc/uptime) s"

# answer SEQ: runs the current request, writes the response.
answer() {
	local seq=$1 st size n
	xenstore-read "$D/req/cmd" | base64 -d > "$W/cmd"
	(cd / && exec sh "$W/cmd") < /dev/null > "$W/out" 2>&1
	st=$?
	size=$(wc -c < "$W/out")
	if [ "$size" -gt "$OUTPUT_MAX" ]; then
		head -c "$OUTPUT_MAX" "$W/out" > "$W/cut"
		printf '\n[knem-xen: output cut to %d of %d bytes]\n' "$OUTPUT_MAX" "$size" >> "$W/cut"
		mv "$W/cut" "$W/out"
	fi
	# Base64 has no blanks nor quotes: xargs passes key/value pairs as they
	# are, 50 pairs per xenstore-write.
	xenstore-rm "$D/rsp/out" 2>/dev/null
	base64 -w "$CHUNK" "$W/out" > "$W/out.b64"
	n=$(wc -l < "$W/out.b64")
	awk -v d="$D/rsp/out" '{ print d "/" NR - 1; print }' "$W/out.b64" |
		xargs -r -n 100 -s 250000 xenstore-write ||
		say "error: cannot write the output of request $seq"
	xenstore-write "$D/rsp/status" "$st" "$D/rsp/chunks" "$n" "$D/rsp/seq" "$seq" ||
		say "error: cannot write the answer to request $seq"
}

# One watch event per change below req (and one when the watch is set):
# each runs the request whose seq is new.
last=0
while :; do
	xenstore-watch "$D/req" | while read -r _; do
		seq=$(xenstore-read "$D/req/seq" 2>/dev/null) || continue
		[ "$seq" != "$last" ] || continue
		last=$seq
		answer "$seq"
	done
	say "error: the xenstore watch ended; setting it again"
	last=$(xenstore-read "$D/rsp/seq" 2>/dev/null || echo 0)
	sleep 1
done
