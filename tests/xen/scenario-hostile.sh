# SPDX-License-Identifier: BSD-3-Clause
# dom0 script: a hostile guest against dom0's knem backend.  Guest B runs
# no knem-front: tests/xen/guest/hostile_front.c plays its frontend from
# user space (gntalloc, evtchn, xenbus devices) and sends malformed and
# malicious requests; guest A is an honest knem-front guest of the same
# sharing group.  Phases, each followed by checks in dom0 (the backend
# still answers, A still creates and destroys regions through dom0, the
# backend's totals are back to what they were, dom0's kernel log has no
# BUG/WARNING/Oops):
#  - malformed: unknown ops, flags, reserved bytes, huge and overflowing
#    counts and lengths, bad segments, invalid/revoked/foreign/read-only
#    grant references, forged cookies and handles, A's cookies (private,
#    read-only, shared), quotas, WAIT_RELEASED misuse;
#  - flood: thousands of requests with the ring full, an event storm,
#    garbage in the ring's response indexes;
#  - ahead: req_prod running 33 ahead, backwards, wrapping: B (only B) is
#    disconnected each time, and reconnects;
#  - badconnect: bad versions, ring-refs, event channels;
#  - churn: B destroys its region while A copies from it, and scribbles
#    on its pages once the destroy is answered: A's copies fail, never
#    see the scribbles;
#  - destroy under load: B keeps 31 copies and a WAIT_RELEASED in flight
#    on its region, A holds 3000 regions and copies from B's region
#    through dom0; A is destroyed, then B: the backend's totals
#    (interfaces, mapped rings, guest regions, dom0 pages, mapped guest
#    pages) return to 0,
#    neither domain outlives its destruction, Xen's free memory returns
#    to what it was before the guests.
# run-suite-args: --domu-image-module xen-evtchn --domu-image-module xen-gntalloc
# shellcheck source-path=SCRIPTDIR source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"
# shellcheck source-path=SCRIPTDIR source=hostile-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/hostile-checks.sh"
GROUP=hostile

free_mem0=$(xl info | sed -n 's/^free_memory *: *//p')
t0=$(totals)
[ "$t0" = "interfaces 0, mapped rings 0, guest regions 0, dom0 pages 0, mapped guest pages 0" ] &&
	pass backend-totals-zero-without-guests ||
	fail backend-totals-zero-without-guests "'$t0'"

attach_a() { [ "$1" != knemA ] || knem_xen_attach --no-wait --group "$GROUP" "$2"; }
start_guests attach_a || exit $?
A=$(guest_domid A)
B=$(guest_domid B)
knem_xen_attach --wait --timeout 120 "$A" || exit 1
guest_run B true
# B's knem device belongs to hostile_front, not to knem-front
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
# A's regions for B to attack: R1 shared, R2, RN private, RRO read-only
exp=$(guest_run A '/xt/knem_xcopy bg /tmp/exp.log /xt/knem_xcopy export')
set -- $exp
R1=$1 RN=$3 RRO=$4
[ -n "$RRO" ] && pass peer-regions || fail peer-regions "knem_xcopy export: $exp"
base_b=$(totals)
progress "guests up (A=$A, B=$B); totals with B attached: $base_b"
dom0_log_clean start-dom0-log-clean

hostile malformed malformed "$R1" "$RN" "$RRO"
# guessing shows in dom0's log
dmesg | grep -q "knem: domain $B: lookup of an unknown cookie" &&
	pass unknown-cookies-logged || fail unknown-cookies-logged "no log line"
after_phase malformed

hostile flood flood 4096
after_phase flood
hostile ahead ahead
after_phase ahead
hostile badconnect badconnect
after_phase badconnect

# --- B destroys its region while A copies from it: the destroy is
# answered once no copy uses B's grants, so B's scribbling afterwards
# never reaches A (A's copies fail, never mismatch)
guest_run B "$X churn 11 /tmp/churn > /tmp/churn.out 2>&1 &"
cc=""
i=0
while [ -z "$cc" ] && [ $i -lt 60 ]; do
	cc=$(guest_run B 'cat /tmp/churn 2>/dev/null')
	[ -n "$cc" ] || sleep 1
	i=$((i + 1))
done
guest_run A "for k in 1 2; do /xt/attach_copy loop $cc 11 120 > /tmp/cl\$k.out 2>&1 & done"
guest_run B 'touch /tmp/churn.go'
i=0
while ! guest_run B 'cat /tmp/churn.out' | grep -q churn-orderly-close && [ $i -lt 60 ]; do
	sleep 1
	i=$((i + 1))
done
out=$(guest_run B 'cat /tmp/churn.out')
echo "$out"
echo "$out" | grep -q '^xen-check: PASS destroy-under-peer-copies' ||
	fail churn "$(echo "$out" | tr '\n' '|')"
echo "$out" | grep -q '^xen-check: FAIL' && rc=1
for k in 1 2; do
	i=0
	while [ -z "$(guest_run A "cat /tmp/cl$k.out")" ] && [ $i -lt 60 ]; do
		sleep 1
		i=$((i + 1))
	done
	out=$(guest_run A "cat /tmp/cl$k.out")
	if echo "$out" | grep -q '^after [1-9][0-9]* reads: error inline-read' &&
		! echo "$out" | grep -q mismatch; then
		pass "peer-copies-end-cleanly-at-destroy-$k"
	else
		fail "peer-copies-end-cleanly-at-destroy-$k" "$(echo "$out" | tr '\n' '|')"
	fi
done
wait_totals "$base_b" churn-totals-back
dom0_log_clean churn-dom0-log-clean

# --- destroy under load
guest_run B "$X serve 9 /tmp/serve > /tmp/serve.out 2>&1 &"
i=0
cb=""
while [ -z "$cb" ] && [ $i -lt 60 ]; do
	cb=$(guest_run B 'cat /tmp/serve 2>/dev/null')
	[ -n "$cb" ] || sleep 1
	i=$((i + 1))
done
[ -n "$cb" ] && pass serve-region || fail serve-region "$(guest_run B 'cat /tmp/serve.out')"
# the honest guest reads the hostile one's region through dom0
out=$(guest_run A "/xt/attach_copy read $cb 9")
echo "$out" | grep -q '^ok' && pass honest-reads-hostile-region ||
	fail honest-reads-hostile-region "$(echo "$out" | tr '\n' '|')"
NREG=3000
guest_run A "/xt/regions_check many $NREG > /tmp/many.out 2>&1 &"
i=0
while ! guest_run A 'cat /tmp/many.out' | grep -q "many: $NREG regions" && [ $i -lt 150 ]; do
	sleep 2
	i=$((i + 1))
done
n=$(dom_stat "$A" regions)
[ "${n:-0}" -ge $NREG ] && pass "a-holds-$NREG-regions" ||
	fail "a-holds-$NREG-regions" "dom0 counts ${n:-no} regions of A: $(guest_run A 'cat /tmp/many.out')"
guest_run A "for k in 1 2; do /xt/attach_copy loop $cb 9 600 > /tmp/loop\$k.out 2>&1 & done"
c0=$(dom_stat "$A" copies)
sleep 5
c1=$(dom_stat "$A" copies)
[ "${c1:-0}" -gt "${c0:-0}" ] && pass a-copies-in-flight ||
	fail a-copies-in-flight "A's copies in dom0: $c0 -> $c1"
progress "destroying A with $n regions and copies in flight: $(totals)"
destroy_guest A
i=0
while xl list | grep -q knemA && [ $i -lt 60 ]; do
	sleep 0.5
	i=$((i + 1))
done
xl list | grep -q knemA && fail a-domain-gone "still listed: $(xl list | tr '\n' '|')" || pass a-domain-gone
# what B alone holds: one interface, its ring, its region, its pages
wait_totals "interfaces 1, mapped rings 1, guest regions 1, dom0 pages 9, mapped guest pages 0" a-destroyed-totals-down-to-b
grep -q "^ Xen domain $A:" /dev/knem && fail a-stats-gone "$(grep "Xen domain $A" /dev/knem)" || pass a-stats-gone
progress "destroying B with 32 requests in flight: $(totals)"
destroy_guest B
wait_totals "interfaces 0, mapped rings 0, guest regions 0, dom0 pages 0, mapped guest pages 0" guests-destroyed-totals-zero
i=0
while xl list | grep -q knemB && [ $i -lt 60 ]; do
	sleep 0.5
	i=$((i + 1))
done
xl list | grep -q knemB && fail b-domain-gone "still listed: $(xl list | tr '\n' '|')" || pass b-domain-gone
free_mem1=$(xl info | sed -n 's/^free_memory *: *//p')
[ "$free_mem1" = "$free_mem0" ] && pass xen-free-memory-back ||
	fail xen-free-memory-back "free_memory $free_mem0 MB before the guests, $free_mem1 MB after"
dom0_log_clean end-dom0-log-clean
cat /dev/knem | grep Xen
exit $rc
