# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced after rootfs/dom0-lib.sh
# run-suite-args: --dom0-module-params knem.ko sharinggroup=knemgrp
#
# dom0 script of tests/xen/run-suite.sh: copies across two guests of one
# sharing group and dom0 (whose knem.ko has sharinggroup= the same group),
# with tests/xen/guest/knem_xcopy.c and the classic client in /xt:
#  - dom0 and guest A export regions; guest B copies from and into A's
#    (vectorial, offsets, bounded, region to region both ways, third party,
#    asynchronous in the ioctl and offloaded, notify-fd) and dom0's; a dom0
#    process copies from and into A's; A and dom0 then check what landed;
#  - refusals: no ANY_USER_ACCESS (EPERM), read-only (EACCES), unknown
#    cookie (EINVAL), B moved to another sharing group (EPERM);
#  - a ping-pong between a process in A and one in B (1 B to 1 MiB,
#    unaligned offsets);
#  - copies within guest A send nothing on the ring (dom0's per-domain
#    request counter does not move, the guest's own counters do);
#  - the classic client inside a guest (across guests:
#    scenario-classic.sh);
#  - dom0's statistics list both guests with copies;
#  - guest A is destroyed while B copies from and into its region: B's
#    copies fail cleanly, B still copies within itself and with dom0, and
#    dom0 forgets A;
#  - knem-front unloaded and loaded again in B reconnects.
# One "xen-check: PASS|FAIL" line per check; exits 1 if one failed.
# Every guest command here takes seconds: a hang shows within 3 minutes.
# shellcheck disable=SC2034 # read by guest_run
KNEM_XEN_RUN_TIMEOUT=180
X=/xt/knem_xcopy
C=/xt/knem_classic_client
GROUP=knemgrp
# shellcheck source-path=SCRIPTDIR source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"

# cookies NAME N WORDS: true if WORDS are N numbers (a program's cookies).
cookies() {
	n=0
	for w in $3; do
		case "$w" in *[!0-9]*) n=-999 ;; *) n=$((n + 1)) ;; esac
	done
	[ "$n" -eq "$2" ] && return 0
	fail "$1" "expected $2 cookies, got: $3"
	return 1
}

progress "starting the guests (group $GROUP)"
start_knem_guests "$GROUP" || exit $?
DA=$(guest_domid A) DB=$(guest_domid B)

progress "dom0's and A's regions"
D=$($X bg /tmp/dom0-export.log $X dom0-export)
cookies dom0-export 2 "$D" || exit 1
E=$(gr A "$X bg /tmp/export.log $X export && $X bg /tmp/pp.log $X pp-a")
st=$?
# shellcheck disable=SC2086 # words
set -- $E
if [ "$st" -ne 0 ] || ! cookies export 5 "$E"; then
	relay export 1 "$E"
	exit 1
fi
R1=$1 R2=$2 RN=$3 RRO=$4 PP=$5
# shellcheck disable=SC2086 # words
set -- $D
D1=$1 D2=$2

progress "a dom0 process copies from and into A's regions"
out=$($X dom0-import "$R1" "$R2" 2>&1)
relay dom0-import $? "$out"

progress "B copies from and into A's and dom0's regions; ping-pong A-B"
out=$(gr B "s=0; $X import $R1 $R2 $RN $RRO || s=1
$X guest-dom0 $D1 $D2 || s=1
$X pp-b $PP || s=1
if $C > /tmp/classic.log 2>&1; then echo 'xen-check: PASS classic-client-within-guest-B'
else cat /tmp/classic.log; echo 'xen-check: FAIL classic-client-within-guest-B: see above'; fi
exit \$s")
relay guest-B $? "$out"

progress "B in another sharing group"
bg=/local/domain/0/backend/knem/$DB/0/sharing-group
xenstore-write "$bg" knemgrp-other
out=$(gr B "$X probe different-groups-refused $R1 EPERM")
relay different-groups $? "$out"
xenstore-write "$bg" "$GROUP"
out=$(gr B "$X probe same-group-again $R1 ok")
relay same-group-again $? "$out"

progress "what landed in A's regions; A's ping-pong side"
out=$(gr A "s=0; $X finish -s /tmp/export.log || s=1
$X finish /tmp/pp.log || s=1; exit \$s")
relay guest-A $? "$out"

progress "copies within guest A stay off the ring"
stats='grep -E "Requests processed \(total\)|Xen frontend" /dev/knem'
out=$(gr A "$X bg /tmp/intra.log $X intra && $stats")
st=$?
stop_if_hung "$out"
q1=$(dom_stat "$DA" requests)
before=$out
out=$(gr A "$X signal /tmp/intra.log 'intra: done'; s=\$?; $stats; exit \$s")
st2=$?
q2=$(dom_stat "$DA" requests)
stop_if_hung "$out"
gr A "$X finish -s /tmp/intra.log >/dev/null" || fail intra-exit "status $?"
stop_if_hung
relay intra "$st2" "$out"
p1=$(printf '%s\n' "$before" | sed -n 's/.*processed (total) *: *\([0-9]*\).*/\1/p')
p2=$(printf '%s\n' "$out" | sed -n 's/.*processed (total) *: *\([0-9]*\).*/\1/p')
f1=$(printf '%s\n' "$before" | sed -n 's/.*Xen frontend: connected.* requests \([0-9]*\),.*/\1/p')
f2=$(printf '%s\n' "$out" | sed -n 's/.*Xen frontend: connected.* requests \([0-9]*\),.*/\1/p')
echo "intra: dom0 requests of A $q1 -> $q2; A processed $p1 -> $p2; A's frontend requests $f1 -> $f2"
if [ "$st" -ne 0 ] || [ -z "$q1" ] || [ "$q1" != "$q2" ]; then
	fail intra-guest-no-ring-requests-in-dom0 "dom0 counted '$q1' then '$q2' requests of domain $DA ($before)"
else
	pass intra-guest-no-ring-requests-in-dom0
fi
if [ -n "$f1" ] && [ "$f1" = "$f2" ]; then
	pass intra-guest-no-ring-requests-in-guest
else
	fail intra-guest-no-ring-requests-in-guest "frontend requests '$f1' then '$f2'"
fi
if [ -n "$p1" ] && [ -n "$p2" ] && [ "$p2" -ge $((p1 + 601)) ]; then
	pass intra-guest-counted-by-the-guest
else
	fail intra-guest-counted-by-the-guest "processed '$p1' then '$p2' (want +601)"
fi

progress "dom0's statistics"
cat /dev/knem
for d in "$DA" "$DB"; do
	c=$(dom_stat "$d" copies)
	if [ -n "$c" ] && [ "$c" -gt 0 ]; then
		pass "dom0-stats-domain-$d-copies"
	else
		fail "dom0-stats-domain-$d-copies" "copies '$c'"
	fi
done

progress "guest A destroyed while B copies from and into its region"
E=$(gr A "$X bg /tmp/export.log $X export")
stop_if_hung "$E"
# shellcheck disable=SC2086 # words
set -- $E
if cookies export-before-destroy 4 "$E"; then
	out=$(gr B "$X bg /tmp/hammer.log $X hammer destroy $1 $D1")
	echo "$out"
	stop_if_hung
	if [ "$out" = copying ]; then
		destroy_guest A
		out=$(gr B "$X finish /tmp/hammer.log")
		relay destroy $? "$out"
		n=0
		while grep -q "^ Xen domain $DA:" /dev/knem && [ "$n" -lt 100 ]; do
			n=$((n + 1))
			usleep 200000
		done
		if grep -q "^ Xen domain $DA:" /dev/knem; then
			fail destroy-dom0-forgets-the-domain "$(cat /dev/knem)"
		else
			pass destroy-dom0-forgets-the-domain
		fi
	else
		fail destroy-hammer-started "$out"
	fi
fi

progress "knem-front unloaded and loaded again in B"
# Each step in the background, at most 30 s, with the guest's kernel log
# when it fails or hangs.
# shellcheck disable=SC2016 # run by the guest's sh
reload='step() {
	sh -c "$2" & p=$! i=0
	while kill -0 $p 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "$1: still running after 30 s"; dmesg | tail -n 8; exit 1; }
		usleep 100000
	done
	wait $p || { echo "$1: failed"; dmesg | tail -n 8; exit 1; }
}
step unbind "for d in /sys/bus/xen/drivers/knem/knem-*; do echo \${d##*/} > /sys/bus/xen/drivers/knem/unbind; done"
step rmmod "rmmod knem_front"
step insmod "insmod /knem-xen/modules/knem-front.ko"
step connect "until grep -q \"Xen frontend: connected\" /dev/knem; do usleep 50000; done"'
out=$(gr B "$reload")
st=$?
echo "$out"
stop_if_hung
if [ "$st" -eq 0 ]; then
	pass reload-knem-front-reconnects
	out=$(gr B "$X probe copy-with-dom0-after-reload $D1 ok")
	relay reload $? "$out"
else
	fail reload-knem-front-reconnects "$(echo "$out" | head -n 1)"
	echo "backend: $(xenstore-ls "/local/domain/0/backend/knem/$DB/0" | grep -E '^(state|online)')"
	echo "frontend: $(xenstore-ls "/local/domain/$DB/device/knem/0" | grep -E '^state')"
	dmesg | grep -i knem | tail -n 10
fi

progress "what B wrote into dom0's region"
out=$($X finish -s /tmp/dom0-export.log 2>&1)
relay dom0-export $? "$out"
cat /dev/knem
exit $rc
