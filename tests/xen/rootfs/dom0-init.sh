#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh
# /init of dom0 (busybox sh, PID 1) in the Xen harness (tests/xen/knem-xen-vm).
# Brings up the Xen toolstack from the initramfs, mounts the host's root
# (virtio-9p, read-only, made writable by a tmpfs overlay) at /host and the
# run directory (virtio-9p, writable) at /run/knem-xen, loads the
# --dom0-module modules, sets up the guests' network (--net: bridge xenbr0,
# xen-netback, vif hotplug), writes the two guests' xl configs, runs the dom0
# script with the helpers of /knem-xen/lib.sh, destroys the guests left,
# saves the logs into the run directory, checks them (dom0's, Xen's and the
# guests' consoles) and that no domain outlived its destruction, and powers
# off.  Lines starting with "@@knem-xen:" are read by the launcher.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
M='@@knem-xen:'
RUN=/run/knem-xen
CONSOLE_LOGS=/var/log/xen/console

mark() { echo "$M $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
power_off() {
	sync
	poweroff -f
	sleep 30
}
fail() {
	mark "error dom0 setup failed: $*"
	power_off
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
ln -s /proc/self/fd /dev/fd
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /var/lib/xen /var/lib/xenstored /var/lock /run/xen /run/xenstored \
	"$CONSOLE_LOGS" "$RUN" /run/knem-xen-guests /lower /rw /host /overlay
ln -s /run /var/run
mark "dom0-init (dom0 uptime $(uptime_s) s)"

while read -r m; do
	insmod "/knem-xen/modules/$m.ko" || fail "insmod $m"
done < /knem-xen/modules/order

# The toolstack: xenstored, dom0's own nodes, the guest consoles' logger.
mount -t xenfs xenfs /proc/xen || fail "mounting xenfs"
xenstored --pid-file=/run/xenstored.pid || fail "starting xenstored"
n=0
until xenstore-read /local >/dev/null 2>&1; do
	n=$((n + 1))
	[ "$n" -lt 100 ] || fail "xenstored does not answer"
	sleep 0.1
done
xen-init-dom0 >/dev/null || fail "xen-init-dom0"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest \
	--log-dir="$CONSOLE_LOGS" || fail "starting xenconsoled"
mark "toolstack-up (dom0 uptime $(uptime_s) s)"

# The host root: read-only 9p below, tmpfs above; the run directory.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose \
	hostroot /lower || fail "mounting the host root over 9p"
mount -t tmpfs -o mode=755 rw /rw || fail "tmpfs on /rw"
mkdir /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work \
	overlay /host || fail "mounting the overlay"
mount --bind /host /overlay
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none \
	knemrun "$RUN" || fail "mounting the run directory over 9p"
# shellcheck source=/dev/null # written by the launcher
. "$RUN/in/env"
for d in dev proc sys; do
	mount -o rbind "/$d" "/host/$d" || fail "bind /$d"
done
for d in tmp run dev/shm; do
	mkdir -p "/host/$d"
	mount -t tmpfs -o mode=1777 tmpfs "/host/$d" || fail "tmpfs on /host/$d"
done
for d in "$RUN" /run/xenstored; do
	mkdir -p "/host$d"
	mount -o rbind "$d" "/host$d" || fail "bind $d"
done
# The repository stays writable (in the overlay) even below /tmp or /run.
mkdir -p "/host$KNEM_XEN_REPO" "/host/lib/modules/$KNEM_XEN_RELEASE"
mount --bind "/overlay$KNEM_XEN_REPO" "/host$KNEM_XEN_REPO" ||
	fail "bind $KNEM_XEN_REPO"
mount --bind "/lower$KNEM_XEN_IMAGE/lib/modules/$KNEM_XEN_RELEASE" \
	"/host/lib/modules/$KNEM_XEN_RELEASE" ||
	fail "bind /lib/modules/$KNEM_XEN_RELEASE"
if [ -d "$RUN/in/dom0-files" ]; then
	cp -a "$RUN/in/dom0-files/." / || fail "copying the --dom0-files"
fi

# The loopback, which local programs may need (PMIx's clients reach their
# server over TCP on 127.0.0.1).
ip link set lo up || fail "loopback up"

# --net: bridge xenbr0 with dom0's address; netback before the guests
# exist (xl create waits for their vifs' hotplug: /etc/xen/scripts/vif-bridge).
# shellcheck disable=SC2153 # from $RUN/in/env
if [ "$KNEM_XEN_NET" = 1 ]; then
	# shellcheck disable=SC2086 # module names
	chroot /host modprobe -a $KNEM_XEN_NET_MODULES ||
		fail "modprobe $KNEM_XEN_NET_MODULES"
	# a new bridge has STP off: its ports forward at once
	if ! { brctl addbr xenbr0 && ip addr add 10.77.0.254/24 dev xenbr0 && ip link set xenbr0 up; }; then
		fail "creating bridge xenbr0"
	fi
fi

# create_guest copies the kernel and initramfs there (lib.sh).
host=1
for g in A B; do
	net="" vif=""
	if [ "$KNEM_XEN_NET" = 1 ]; then
		net=" knem_xen_ip=10.77.0.$host/24"
		vif="vif = [ 'mac=00:16:3e:4b:00:0$host,bridge=xenbr0' ]"
	fi
	cat > "/etc/xen/knem$g.cfg" <<-CFG
	name = "knem$g"
	type = "pv"
	kernel = "/var/lib/knem-xen/vmlinux"
	ramdisk = "/var/lib/knem-xen/domu.cpio"
	extra = "console=hvc0 loglevel=7 panic=-1 no_hash_pointers$net"
	memory = $KNEM_XEN_DOMU_MEM
	vcpus = 1
	on_poweroff = "destroy"
	on_reboot = "destroy"
	on_crash = "destroy"
	$vif
	CFG
	host=$((host + 1))
done

status=0
# shellcheck disable=SC2086 # the parameters are words
while read -r m params; do
	if ! err=$(insmod "$RUN/in/modules/$m" $params 2>&1); then
		mark "error insmod $m $params failed in dom0: $err"
		status=97
		break
	fi
done < "$RUN/in/modules/order"

export KNEM_XEN=1 KNEM_XEN_OUT="$RUN/out" KNEM_XEN_DOM0_MODULES KNEM_XEN_REPO \
	KNEM_XEN_RELEASE KNEM_XEN_DOMU_KERNEL
if [ "$status" -eq 0 ] && [ "$KNEM_XEN_SHELL" = 1 ]; then
	mark "start (interactive shell; 'poweroff -f' or exit to stop)"
	ENV=/knem-xen/lib.sh setsid cttyhack sh -i
elif [ "$status" -eq 0 ]; then
	mark "start"
	{
		cd /root && sh -c '. /knem-xen/lib.sh && . "$1"' dom0-script \
			"$RUN/in/dom0-script" </dev/null
		echo "$?" > /run/knem-xen-status
	} 2>&1 | tee "$RUN/out/dom0-script.log"
	status=$(cat /run/knem-xen-status)
fi
mark "status=$status"

# Destroying the guests left exercises the backends' teardown before the
# logs are read.  A domain that outlives its destruction ("(null)" in xl
# list) has pages still mapped or granted in dom0: a finding too.
guests() { xl list | awk 'NR > 2 { print $1 }'; }
for g in $(guests); do
	[ "$g" = "(null)" ] || xl destroy "$g" || mark "error xl destroy $g failed"
done
n=0
while [ -n "$(guests)" ] && [ "$n" -lt 10 ]; do
	sleep 0.5
	n=$((n + 1))
done
left=$(xl list | awk 'NR > 2')

dmesg > "$RUN/out/dom0-dmesg.log"
xl dmesg > "$RUN/out/xen-dmesg.log"
logs="$RUN/out/dom0-dmesg.log $RUN/out/xen-dmesg.log"
for f in "$CONSOLE_LOGS"/guest-*.log; do
	[ -f "$f" ] || continue
	g=${f##*/guest-}
	cp "$f" "$RUN/out/console-$g"
	logs="$logs $RUN/out/console-$g"
done
dirty=0
if [ -n "$left" ]; then
	dirty=1
	mark "finding: domains left 5 s after their destruction:"
	echo "$left" | sed "s/^/$M finding   | /"
fi
for f in $logs; do
	grep -qE "$KNEM_XEN_PATTERNS" "$f" || continue
	dirty=1
	mark "finding in ${f##*/}: $(grep -cE "$KNEM_XEN_PATTERNS" "$f") matching lines:"
	grep -A 12 -E "$KNEM_XEN_PATTERNS" "$f" | head -n 80 | sed "s/^/$M finding   | /"
done
if [ "$dirty" -eq 1 ]; then mark "kernel-log=dirty"; else mark "kernel-log=clean"; fi
power_off
