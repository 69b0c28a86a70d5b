# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced after rootfs/dom0-lib.sh
# shellcheck disable=SC2016 # settle evaluates its single-quoted conditions later
# run-suite-args: --dom0-module-params knem.ko sharinggroup=knemgrp
#
# dom0 script of tests/xen/run-suite.sh: the backend's persistent mappings
# (dom0-backend/knemback_map.c), with tests/xen/guest/persist_check.c:
#  - guest B copies guest A's region into its own, region to region: the
#    first copy is a grant copy, the next ones go through mappings of both
#    regions (dom0's per-domain counters say which, exactly); every byte
#    is checked;
#  - A rewrites its region: B's mapped copies see the new bytes (a mapping
#    is of the live pages, not a snapshot);
#  - B writes into A's mapped region; A checks;
#  - destroyed regions leave no mapping, and their guests end their grants
#    without "still in use" (dom0 unmaps before it answers);
#  - a mapped region whose memory its owner unmaps is unmapped in dom0
#    too (REGION_MARK_STALE), and copies from it fail with EFAULT;
#  - a cache limit of about two regions with three in use evicts, and the
#    data stays right;
#  - a guest whose knem-front refuses (persistentmap=0) gets grant copies
#    only, for its regions and for copies involving them;
#  - a guest destroyed while dom0 maps three of its regions and the other
#    guest copies from them: dom0 unmaps everything, Xen frees the domain,
#    the other guest's copies fail and end.
# One "xen-check: PASS|FAIL" line per check; exits 1 if one failed.
# shellcheck disable=SC2034 # read by guest_run
KNEM_XEN_RUN_TIMEOUT=180
X=/xt/knem_xcopy
P=/xt/persist_check
GROUP=knemgrp
SIZE=1048909	# 1 MiB + 333 bytes: 257 or 258 pages at the programs' offsets
# shellcheck source-path=SCRIPTDIR source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"

# hold G [once]: a region of $SIZE bytes in guest G, in the background;
# prints its cookie.
hold() {
	gr "$1" "$X bg /tmp/hold.log $P hold $SIZE $2"
}

# expect_counts NAME DOMID GRANT MAPPED: the domain's copy counters moved by
# GRANT grant copies and MAPPED mapped ones since the last call.
expect_counts() {
	g=$(dom_stat "$2" copy) m=$(dom_stat "$2" mapped)
	check "$1" "grant copies $g (was $last_g, +$3 expected), mapped $m (was $last_m, +$4 expected)" \
		[ "$g" = $((last_g + $3)) -a "$m" = $((last_m + $4)) ]
	last_g=$g last_m=$m
}

# no_unmapped_grants NAME G: guest G never ended a grant dom0 still mapped.
no_unmapped_grants() {
	out=$(gr "$2" 'dmesg | grep -c "still in use"')
	check "$1" "$out lines 'still in use' in guest $2's log" [ "$out" = 0 ]
}

progress "starting the guests (group $GROUP)"
start_knem_guests "$GROUP" || exit $?
DA=$(guest_domid A) DB=$(guest_domid B)
grep '^ Xen' /dev/knem
for d in "$DA" "$DB"; do
	check "negotiated-$d" "$(grep "Xen domain $d:" /dev/knem)" \
		grep -q "^ Xen domain $d: .*, persistent mappings$" /dev/knem
done
last_g=$(dom_stat "$DB" copy) last_m=$(dom_stat "$DB" mapped)

progress "B reads A's region 4 times: one grant copy, then mappings"
C=$(hold A)
case "$C" in '' | *[!0-9]*) fail hold-A "$C"; exit 1 ;; esac
out=$(gr B "$P pull $C $SIZE 1 4 1")
relay pull-1 $? "$out"
expect_counts first-copy-grant-then-mapped "$DB" 1 3
settle one-region-left-mapped "$(grep 'mapping cache' /dev/knem)" \
	'[ "$(cache_stat regions)" = 1 ] && [ "$(cache_stat made)" = 2 ]'
A_PAGES=$(cache_stat pages)
check backend-line-counts-mapped-pages "backend $(backend_mapped), cache $A_PAGES" \
	[ "$(backend_mapped)" = "$A_PAGES" -a "$A_PAGES" -ge 257 ]

progress "A rewrites its region; B's mapped copies see the new bytes"
out=$(gr A "$X signal /tmp/hold.log rewritten")
relay rewrite $? "$out"
out=$(gr B "$P pull $C $SIZE 2 3 1")
relay pull-2 $? "$out"
expect_counts new-destination-grant-then-mapped "$DB" 1 2

progress "B writes into A's region"
out=$(gr B "$P push $C $SIZE 3 3")
relay push-3 $? "$out"
expect_counts push-grant-then-mapped "$DB" 1 2
out=$(gr A "$X finish -s /tmp/hold.log")
relay hold-check $? "$out"
settle all-unmapped "$(grep -e 'mapping cache' -e 'Xen backend' /dev/knem)" \
	'[ "$(cache_stat regions)" = 0 ] && [ "$(backend_mapped)" = 0 ]'
no_unmapped_grants grants-ended-after-unmap-A A
no_unmapped_grants grants-ended-after-unmap-B B

progress "a cache of about two regions, three regions in use"
LIMIT=640
echo "$LIMIT" > /sys/module/knem/parameters/mapcachepages
ev0=$(cache_stat evicted)
C=$(hold A once)
out=$(gr B "$P pull $C $SIZE 1 9 2")
relay pull-evicting $? "$out"
ev=$(cache_stat evicted)
check evictions "evicted $ev0 -> $ev" [ "$ev" -gt "$ev0" ]
check within-limit "$(grep 'mapping cache' /dev/knem)" \
	[ "$(cache_stat pages)" -le "$LIMIT" ]
out=$(gr A "$X finish -s /tmp/hold.log")
relay hold-once $? "$out"
echo 65536 > /sys/module/knem/parameters/mapcachepages
settle all-unmapped-after-evictions "$(grep 'mapping cache' /dev/knem)" \
	'[ "$(cache_stat regions)" = 0 ] && [ "$(backend_mapped)" = 0 ]'

# reload_front NAME [PARAMS]: knem-front of B unbound, reloaded, reconnected.
reload_front() {
	out=$(gr B "d=\$(ls -d /sys/bus/xen/drivers/knem/knem-* 2>/dev/null); echo \${d##*/} > /sys/bus/xen/drivers/knem/unbind && rmmod knem_front && insmod /knem-xen/modules/knem-front.ko $2 && echo reloaded")
	check "$1" "$out" [ "$out" = reloaded ]
	knem_xen_attach --wait --timeout 60 "$DB" >/dev/null ||
		fail "$1-connected" "knem-xen-attach --wait: status $?"
}

progress "A unmaps its mapped region: dom0 unmaps it at REGION_MARK_STALE"
C=$(hold A drop)
out=$(gr B "$P pull $C $SIZE 1 3 1")
relay pull-before-drop $? "$out"
check mapped-before-drop "$(grep 'mapping cache' /dev/knem)" \
	[ "$(cache_stat regions)" = 1 ]
out=$(gr A "$X signal /tmp/hold.log dropped")
relay drop $? "$out"
settle unmapped-when-stale "$(grep -e 'mapping cache' -e 'Xen backend' /dev/knem)" \
	'[ "$(cache_stat regions)" = 0 ] && [ "$(backend_mapped)" = 0 ]'
out=$(gr B "$X probe stale-region-efault $C EFAULT")
relay stale-probe $? "$out"
out=$(gr A "$X finish -s /tmp/hold.log")
relay hold-drop $? "$out"
no_unmapped_grants grants-ended-after-stale-A A

progress "B's knem-front refuses persistent mappings"
reload_front front-reloaded-without-consent persistentmap=0
check not-negotiated "$(grep "Xen domain $DB:" /dev/knem)" \
	sh -c "! grep -q '^ Xen domain $DB: .*persistent mappings' /dev/knem"
last_g=$(dom_stat "$DB" copy) last_m=$(dom_stat "$DB" mapped)
C=$(hold A once)
out=$(gr B "$P pull $C $SIZE 1 4 1")
relay pull-refused $? "$out"
expect_counts refused-grant-copies-only "$DB" 4 0
check nothing-mapped-when-refused "$(grep 'mapping cache' /dev/knem)" \
	[ "$(cache_stat regions)" = 0 ]
out=$(gr A "$X finish -s /tmp/hold.log")
relay hold-once-refused $? "$out"

progress "A destroyed while dom0 maps 3 of its regions and B copies from them"
reload_front front-reloaded-with-consent
for k in 1 2 3; do
	c=$(gr A "$X bg /tmp/hold$k.log $P hold $SIZE once")
	out=$(gr B "$P pull $c $SIZE 1 2 1")
	relay "pull-before-destroy-$k" $? "$out"
	eval "C$k=\$c"
done
check three-mapped-before-destroy "$(grep 'mapping cache' /dev/knem)" \
	[ "$(cache_stat regions)" -ge 3 ]
# B copies from A's mapped regions until A is gone (then its copies fail)
gr B "for c in $C1 $C2 $C3; do $P pull \$c $SIZE 1 100000 1 > /dev/null 2>&1 & done" >/dev/null
m0=$(dom_stat "$DB" mapped)
sleep 3
check b-copies-in-flight "B's mapped copies $m0 -> $(dom_stat "$DB" mapped)" \
	[ "$(dom_stat "$DB" mapped)" -gt "$m0" ]
destroy_guest A
settle unmapped-after-destroy "$(grep -e 'mapping cache' -e 'Xen backend' /dev/knem)" \
	'[ "$(cache_stat regions)" = 0 ] && [ "$(backend_mapped)" = 0 ]'
settle domain-A-gone "$(xl list)" "! xl list | grep -q knemA"
settle b-copies-ended "B's copies from A's regions still running" \
	'[ "$(gr B "pidof persist_check || echo none")" = none ]'

grep '^ Xen' /dev/knem
exit $rc
