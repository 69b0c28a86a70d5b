# SPDX-License-Identifier: BSD-3-Clause
# dom0 script: issue 14's hostile guest checks against dom0's knem backend
# (tests/xen/guest/hostile_front.c in guest B, without knem-front; guest
# A an honest knem-front guest of the same sharing group).  Phases, each
# followed by checks in dom0 (the backend's totals back to what they
# were, A still creates and destroys regions through dom0, dom0's kernel
# log clean):
#  - parked-behind: a WAIT_RELEASED parked, then req_prod one behind
#    req_cons (2^32 - 1 ahead): B is disconnected;
#  - pile: single-use regions of 3584 segments consumed and never
#    collected: NOSPC at the domain's page quota, back after WAIT_RELEASED;
#  - many: 65536 regions (the 65537th NOSPC), MARK_STALE of the newest as
#    cheap as of the oldest, the teardown of all of them quick.
#  - stalemap: persistent mappings in a cache of 8 pages; two dom0
#    processes read B's region through its mapping while B creates,
#    maps, marks stale (twice) and destroys 150 regions, evicting each
#    other's mappings; then B marks its region stale under the readers:
#    every answer right, the readers end with an error, never a mismatch.
#  - xenwatch: 64 dom0 processes copy between two 1 GiB regions of B;
#    B destroys the source (the answer waits for those copies) and
#    closes at once: while dom0's disconnect of B waits, xenwatch still
#    serves the other devices (A's sharing-group change takes effect).
#  - budget: dom0's budget over all guests (xenbudget) set to 2 MiB: B
#    gets NOSPC long before its own quota; /dev/knem shows use and limit.
#  - inline2048 (item 7): B reads and writes a region of A with
#    INLINE_COPYs of 2048 scattered small segments: exact bytes in
#    segment order, nothing outside them; A reads B's bytes.  A (knem-
#    front) reads and writes a region of dom0 with 2048 small iovecs.
#  - relro (item 7): a stream of WAIT_RELEASED answers; twice B ends the
#    page's grant while one is parked (once granting a read-only page,
#    likely the same reference): IO, nothing written, the stream goes on.
#  - flap (item 7): B flips its xenbus state through every state quickly,
#    removes ring-ref and event-channel or writes garbage over them while
#    dom0 connects, 40 rounds; then B connects properly.
#  - badstate (item 7): B's state node overwritten with garbage, then
#    removed, while connected: dom0 takes B for gone and unregisters
#    the device, which is detached and attached again; B connects.
#  - quotafull (item 7): B at its region quota (65536, NOSPC) while A
#    creates 1000 regions and copies; B still NOSPC afterwards.
# run-suite-args: --domu-image-module xen-evtchn --domu-image-module xen-gntalloc
# run-suite-args: --dom0-module-params knem.ko sharinggroup=hostile
# shellcheck source-path=SCRIPTDIR source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"
# shellcheck source-path=SCRIPTDIR source=hostile-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/hostile-checks.sh"
GROUP=hostile

attach_a() { [ "$1" != knemA ] || knem_xen_attach --no-wait --group "$GROUP" "$2"; }
start_guests attach_a || exit $?
A=$(guest_domid A)
B=$(guest_domid B)
knem_xen_attach --wait --timeout 120 "$A" || exit 1
out=$(guest_run B 'rmmod knem_front && ls /dev/xen/')
echo "$out" | grep -q gntalloc && echo "$out" | grep -q evtchn &&
	pass guest-b-without-knem-front ||
	fail guest-b-without-knem-front "$(echo "$out" | tr '\n' '|')"
knem_xen_attach --no-wait --group "$GROUP" "$B" || exit 1
i=0
while [ "$(xenstore-read "/local/domain/0/backend/knem/$B/0/state" 2>/dev/null)" != 2 ] && [ $i -lt 60 ]; do
	sleep 0.5
	i=$((i + 1))
done
base_b=$(totals)
progress "guests up (A=$A, B=$B); totals with B attached: $base_b"
dom0_log_clean start-dom0-log-clean

hostile parked-behind parked-behind
after_phase parked-behind
hostile pile pile 400
after_phase pile
hostile many many
after_phase many

# --- item 2: MARK_STALE / DESTROY against mappings in use and the evictor
echo 8 > /sys/module/knem/parameters/mapcachepages
guest_run B "$X stalemap 13 /tmp/sm 150 > /tmp/sm.out 2>&1 &"
cm=""
i=0
while [ -z "$cm" ] && [ $i -lt 60 ]; do
	cm=$(guest_run B 'cat /tmp/sm 2>/dev/null')
	[ -n "$cm" ] || sleep 1
	i=$((i + 1))
done
rm -f /tmp/dl*.out
for k in 1 2; do
	/xt/attach_copy loop "$cm" 13 600 > /tmp/dl$k.out 2>&1 &
done
ev0=$(cache_stat evicted)
guest_run B 'touch /tmp/sm.go'
i=0
while ! guest_run B 'cat /tmp/sm.out' | grep -q stalemap-orderly-close && [ $i -lt 300 ]; do
	sleep 1
	i=$((i + 1))
done
out=$(guest_run B 'cat /tmp/sm.out')
echo "$out"
echo "$out" | grep -q '^xen-check: PASS mark-stale-under-peer-copies' ||
	fail stalemap "$(echo "$out" | tr '\n' '|')"
echo "$out" | grep -q '^xen-check: FAIL' && rc=1
wait
for k in 1 2; do
	out=$(cat /tmp/dl$k.out)
	if echo "$out" | grep -q '^after [1-9][0-9]* reads: error' &&
		! echo "$out" | grep -q mismatch; then
		pass "dom0-readers-end-cleanly-at-mark-stale-$k"
	else
		fail "dom0-readers-end-cleanly-at-mark-stale-$k" "$(echo "$out" | tr '\n' '|')"
	fi
done
ev1=$(cache_stat evicted)
[ "${ev1:-0}" -gt "${ev0:-0}" ] && pass stalemap-evictions ||
	fail stalemap-evictions "evicted $ev0 -> $ev1"
grep 'Xen mapping cache' /dev/knem
echo 65536 > /sys/module/knem/parameters/mapcachepages
after_phase stalemap

# --- item 6: a disconnect that waits must not block xenwatch
# (a 1 GiB grant copy of one page takes about 0.1 s or more under TCG;
# dom0 has one vCPU: the copiers run at nice 19, or they would starve
# this script and xenwatch alike)
NCOPIERS=64
guest_run B "$X xenwatch /tmp/xw > /tmp/xw.out 2>&1 &"
xw=""
i=0
while [ -z "$xw" ] && [ $i -lt 120 ]; do
	xw=$(guest_run B 'cat /tmp/xw 2>/dev/null')
	[ -n "$xw" ] || sleep 1
	i=$((i + 1))
done
set -- $xw
XS=$1 XD=$2
[ -n "$XD" ] && pass big-regions || fail big-regions "$(guest_run B 'cat /tmp/xw.out')"
rm -f /tmp/xc*.out
for k in $(seq 1 $NCOPIERS); do
	/xt/attach_copy copyloop "$XS" "$XD" 900 > /tmp/xc$k.out 2>&1 &
	renice -n 19 -p $! > /dev/null
done
sleep 3
ADIR=/local/domain/0/backend/knem/$A/0
id0=$(xenstore-read "$ADIR/sharing-id")
guest_run B 'touch /tmp/xw.go'
sleep 1
bstate=$(xenstore-read "/local/domain/0/backend/knem/$B/0/state")
t0=$(date +%s)
xenstore-write "$ADIR/sharing-group" hostile14
i=0
while [ "$(xenstore-read "$ADIR/sharing-id")" = "$id0" ] && [ $i -lt 600 ]; do
	sleep 0.2
	i=$((i + 1))
done
dt=$(($(date +%s) - t0))
bstate2=$(xenstore-read "/local/domain/0/backend/knem/$B/0/state")
progress "B's backend state $bstate then $bstate2; A's sharing-id changed after $dt s"
# B's backend goes Closed once its disconnect is done: A's change must
# take effect before that
[ "$bstate" != 6 ] && [ "$bstate2" != 6 ] && [ "$dt" -lt 60 ] &&
	pass xenwatch-serves-others-during-a-waiting-disconnect ||
	fail xenwatch-serves-others-during-a-waiting-disconnect "A's sharing group took effect after $dt s; B's backend state $bstate before, $bstate2 after (6: Closed)"
xenstore-write "$ADIR/sharing-group" "$GROUP"
settle a-sharing-id-back "A's sharing-id not back" "[ \"\$(xenstore-read $ADIR/sharing-id)\" = $id0 ]"
wait
for k in $(seq 1 $NCOPIERS); do
	out=$(cat /tmp/xc$k.out)
	echo "$out" | grep -q '^after [0-9]* copies: error copy' &&
		pass "xenwatch-copier-$k-ends-at-destroy" ||
		fail "xenwatch-copier-$k-ends-at-destroy" "$(echo "$out" | tr '\n' '|')"
done
i=0
while ! guest_run B 'cat /tmp/xw.out' | grep -q 'close-while-destroy' && [ $i -lt 300 ]; do
	sleep 1
	i=$((i + 1))
done
out=$(guest_run B 'cat /tmp/xw.out')
echo "$out"
echo "$out" | grep -q '^xen-check: PASS close-while-destroy-waits-on-peer-copies' ||
	fail xenwatch-b-closes "$(echo "$out" | tr '\n' '|')"
echo "$out" | grep -q '^xen-check: FAIL' && rc=1
after_phase xenwatch

# --- item 5: a budget over all guests
PARAM=/sys/module/knem/parameters/xenbudget
budget0=$(cat $PARAM 2>/dev/null)
grep 'Xen backend limits' /dev/knem
if [ -n "$budget0" ] && [ "$budget0" -gt 0 ]; then
	pass budget-parameter
else
	fail budget-parameter "no $PARAM ('$budget0')"
fi
echo 2048 > $PARAM
hostile budget budget
line=$(grep 'Xen backend limits' /dev/knem)
echo "$line"
echo "$line" | grep -q 'all guests 2048 KiB, used [0-9]* KiB' &&
	pass budget-in-dev-knem || fail budget-in-dev-knem "'$line'"
[ -n "$budget0" ] && echo "$budget0" > $PARAM
after_phase budget

# --- item 7: 2048-segment INLINE_COPY across guests
guest_run A 'rm -f /tmp/i7 /tmp/i7.*; /xt/attach_copy hold /tmp/i7 9 > /tmp/i7.out 2>&1 &'
ic=""
i=0
while [ -z "$ic" ] && [ $i -lt 60 ]; do
	ic=$(guest_run A 'cat /tmp/i7 2>/dev/null')
	[ -n "$ic" ] || sleep 1
	i=$((i + 1))
done
hostile inline2048 inline2048 "$ic" 9 10
out=$(guest_run A "/xt/attach_copy read $ic 10; touch /tmp/i7.stop")
echo "$out" | grep -q '^ok' && pass a-reads-b-2048-segment-write ||
	fail a-reads-b-2048-segment-write "$(echo "$out" | tr '\n' '|')"
# and an honest guest: 2048 iovecs of A against a region of dom0
rm -f /tmp/d7 /tmp/d7.*
/xt/attach_copy hold /tmp/d7 12 > /tmp/d7.out 2>&1 &
i=0
while [ ! -s /tmp/d7 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
dc=$(cat /tmp/d7)
r0=$(dom_stat "$A" requests)
out=$(guest_run A "/xt/attach_copy readv $dc 12 && /xt/attach_copy writev $dc 13")
r1=$(dom_stat "$A" requests)
out2=$(/xt/attach_copy read "$dc" 13)
if echo "$out" | grep -q '^ok inline readv' && echo "$out" | grep -q '^ok inline writev' &&
	echo "$out2" | grep -q '^ok' && [ "${r1:-0}" -gt "${r0:-0}" ]; then
	pass honest-2048-iovec-inline-copies-with-dom0
else
	fail honest-2048-iovec-inline-copies-with-dom0 "requests of A $r0 -> $r1; $(echo "$out $out2" | tr '\n' '|')"
fi
touch /tmp/d7.stop
wait
after_phase inline2048

# --- item 7: WAIT_RELEASED pages ungranted or read-only mid-stream
hostile relro relro 30
after_phase relro

# --- item 7: xenbus state flapping, nodes removed or garbage at connect
hostile flap flap 40
after_phase flap

# --- item 7: a state node garbage or removed: the device goes
for how in garbage rm; do
	hostile "badstate-$how" badstate "$how"
	settle "badstate-$how-device-unregistered" "the backend's device of B remains" \
		"[ ! -e /sys/bus/xen-backend/devices/knem-$B-0 ]"
	knem_xen_attach --detach --force "$B" &&
		knem_xen_attach --no-wait --group "$GROUP" "$B" &&
		pass "badstate-$how-reattach" || fail "badstate-$how-reattach" "knem-xen-attach failed"
	i=0
	while [ "$(xenstore-read "/local/domain/0/backend/knem/$B/0/state" 2>/dev/null)" != 2 ] && [ $i -lt 60 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	hostile "hello-after-$how" hello
	after_phase "badstate-$how"
done

# --- item 7: both guests at work, B at its region quota
NQ=1000
guest_run B "$X quotafull /tmp/qf > /tmp/qf.out 2>&1 &"
i=0
while [ -z "$(guest_run B 'cat /tmp/qf 2>/dev/null')" ] && [ $i -lt 600 ]; do
	sleep 1
	i=$((i + 1))
done
ra0=$(dom_stat "$A" regions)
guest_run A "/xt/regions_check many $NQ > /tmp/qm.out 2>&1 & echo \$! > /tmp/qm.pid"
i=0
while ! guest_run A 'cat /tmp/qm.out' | grep -q "many: $NQ regions" && [ $i -lt 150 ]; do
	sleep 2
	i=$((i + 1))
done
n=$(dom_stat "$A" regions)
[ "${n:-0}" -ge $((${ra0:-0} + NQ)) ] && pass "a-creates-$NQ-regions-while-b-at-quota" ||
	fail "a-creates-$NQ-regions-while-b-at-quota" "dom0 counts $ra0 -> ${n:-no} regions of A: $(guest_run A 'tail -n 2 /tmp/qm.out' | tr '\n' '|')"
a_works quotafull-a-copies-while-b-at-quota
guest_run A 'kill $(cat /tmp/qm.pid)'
guest_run B 'touch /tmp/qf.go'
i=0
while ! guest_run B 'cat /tmp/qf.out' | grep -q 'quotafull-orderly-close' && [ $i -lt 300 ]; do
	sleep 1
	i=$((i + 1))
done
out=$(guest_run B 'cat /tmp/qf.out')
echo "$out"
echo "$out" | grep -q '^xen-check: PASS quotafull-still-nospc' ||
	fail quotafull "$(echo "$out" | tr '\n' '|')"
echo "$out" | grep -q '^xen-check: FAIL' && rc=1
after_phase quotafull

destroy_guest A
destroy_guest B
wait_totals "interfaces 0, mapped rings 0, guest regions 0, dom0 pages 0, mapped guest pages 0" guests-destroyed-totals-zero
dom0_log_clean end-dom0-log-clean
exit $rc
