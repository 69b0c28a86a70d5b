# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash disable=SC2317 # busybox sh; functions run via check
# shellcheck disable=SC2016 # guest commands and sid_until's conditions are evaluated later
# dom0 scenario: attaching and detaching guests with tools/knem-xen-attach,
# sharing groups, error cases, a detached guest's /dev/knem, unloading and
# reloading the backend, rebinding and unloading the frontend; the sharing
# ids (/sys/class/misc/knem/sharing_id, read as uid 65534, and xenstore's
# sharing-id) through all of it, dom0's own with and without sharinggroup.
#   make -C tests/xen guest-programs XT=/tmp/xa/xt
#   tests/xen/knem-xen-vm --dom0-module dom0-backend/knem.ko \
#	--domu-module dom0-backend/knem.ko --domu-module domU-frontend/knem-front.ko --domu-files /tmp/xa \
#	--dom0-script tests/xen/scenario-attach.sh
# One line per check: "xen-check: PASS name" or "xen-check: FAIL name: why".

KXA="sh /host$KNEM_XEN_REPO/tools/knem-xen-attach"
X=/xt/attach_copy
T=/run/knem-xen-attach
mkdir -p "$T"
# shellcheck source-path=SCRIPTDIR source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"
# Runs the attach tool; its status in $st, its stderr in $err.
kxa() {
	err=$($KXA "$@" 2>&1 >/dev/null)
	st=$?
}
# expect_tool NAME STATUS PATTERN ARGS...: the tool fails as told
expect_tool() {
	name=$1 want=$2 pattern=$3
	shift 3
	kxa "$@"
	if [ "$st" = "$want" ] && echo "$err" | grep -q "^knem-xen-attach: .*$pattern"; then
		pass "$name"
	else
		fail "$name" "status $st (want $want), message '$err'"
	fi
}

be() { echo "/local/domain/0/backend/knem/$1/0"; }
fe() { echo "/local/domain/$1/device/knem/0"; }
both_connected() {
	[ "$(xenstore-read "$(be "$1")/state" 2>/dev/null)" = 4 ] &&
		[ "$(xenstore-read "$(fe "$1")/state" 2>/dev/null)" = 4 ]
}
nodes_gone() {
	! xenstore-exists "$(be "$1")" 2>/dev/null &&
		! xenstore-exists "$(fe "$1")" 2>/dev/null &&
		[ ! -e "/sys/bus/xen-backend/devices/knem-$1-0" ]
}

# hold G FILE SEED: a region in guest G kept until stop_hold; prints its cookie
hold() {
	guest_run "$1" "rm -f $2 $2.stop $2.done; $X hold $2 $3 >$2.log 2>&1 </dev/null &
		i=0; while [ ! -s $2 ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
		cat $2 || cat $2.log"
}
# release_cmd FILE: the guest command that makes the holder of FILE close
# /dev/knem, and prints "released" unless the release hangs (10 s)
release_cmd() {
	echo "touch $1.stop; i=0
		while [ ! -f $1.done ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
		cat $1.done $1.log"
}
# gexpect NAME G 'cmd' PATTERN: guest output matches
gexpect() {
	out=$(guest_run "$2" "$3" 2>&1)
	if echo "$out" | grep -q "$4"; then
		pass "$1"
	else
		fail "$1" "$(echo "$out" | tr '\n' ' ')"
	fi
}

# Sharing ids as "BYTES VALUE": "17 <16 hex digits>" or "5 none" when the
# file holds exactly that and one newline.
SID=/sys/class/misc/knem/sharing_id
sid_cmd="v=\$(/xt/as_nobody cat $SID) && n=\$(/xt/as_nobody cat $SID | wc -c) && echo \$n \$v"
# sid G: guest G's, read by an unprivileged process
sid() { guest_run "$1" "$sid_cmd" 2>&1; }
dom0_sid() { sh -c "$sid_cmd" 2>&1; }
# sid_until G COND: G's in $v, read again (8 times at most) until the
# shell condition COND holds: a change reaches the guest through two
# xenstore watches, dom0's and its own
sid_until() {
	local i=0
	v=$(sid "$1")
	while ! eval "$2" && [ $i -lt 8 ]; do
		sleep 1
		v=$(sid "$1")
		i=$((i + 1))
	done
}
is_id() { echo "$1" | grep -qx '17 [0-9a-f]\{16\}' && [ "$1" != "17 0000000000000000" ]; }
# same_id ID OTHER: ID is an id (not an error message read twice), OTHER too
same_id() { is_id "$1" && [ "$1" = "$2" ]; }
# new_id ID OLD...: ID is an id, and none of OLD
new_id() {
	local id=$1 old
	shift
	is_id "$id" || return 1
	for old; do [ "$id" != "$old" ] || return 1; done
}
# node_is D ID: the backend's sharing-id node of domain D holds ID's value
node_is() { [ "17 $(xenstore-read "$(be "$1")/sharing-id" 2>&1)" = "$2" ]; }

attach_paused() { # NAME DOMID: the guest is still paused
	$KXA --no-wait --group grp1 "$2" && echo ok > "$T/hook-$1"
}

start_guests attach_paused || exit $?
A=$(guest_domid A) B=$(guest_domid B)
progress "guests up: A=$A B=$B"
# A guest's first answer creates rsp/status and rsp/chunks: guest_run
# takes a first answer slower than 2 s for a dead guest (dom0-lib.sh).
for g in A B; do
	i=0
	until guest_run $g true >/dev/null 2>&1 || [ $i -ge 5 ]; do
		i=$((i + 1))
	done
done

# --- attach -------------------------------------------------------------
check attach-no-wait "the hook's knem-xen-attach --no-wait failed" \
	test -f "$T/hook-knemA" -a -f "$T/hook-knemB"
for d in $A $B; do
	kxa --wait --timeout 120 "$d"
	check "attach-connected-$d" "status $st: $err" [ "$st" = 0 ]
	check "states-connected-$d" "backend $(xenstore-read "$(be "$d")/state") frontend $(xenstore-read "$(fe "$d")/state")" \
		both_connected "$d"
done
check group-node "sharing-group is '$(xenstore-read "$(be "$B")/sharing-group")'" \
	[ "$(xenstore-read "$(be "$B")/sharing-group")" = grp1 ]
# the guest reads its backend, but cannot choose its group
out=$(guest_run B "xenstore-read $(be "$B")/sharing-group && xenstore-write $(be "$B")/sharing-group evil && echo WROTE" 2>&1)
if echo "$out" | grep -q grp1 && ! echo "$out" | grep -q WROTE; then
	pass guest-cannot-write-group
else
	fail guest-cannot-write-group "$out"
fi
gexpect frontend-stats A 'cat /dev/knem' "Xen frontend: connected to domain 0"

# --- sharing ids: A and B in grp1, dom0 in no group -----------------------------
sa=$(sid A) sb=$(sid B)
check sid-A-format "A reads '$sa'" is_id "$sa"
check sid-B-format "B reads '$sb'" is_id "$sb"
check sid-A-equals-B "A '$sa', B '$sb'" same_id "$sa" "$sb"
# the reader really is unprivileged: /dev/knem is root's alone
gexpect sid-unprivileged-reader A "/xt/as_nobody cat /dev/knem 2>&1 | grep -q 'Permission denied' && /xt/as_nobody cat $SID" \
	"^[0-9a-f]\{16\}$"
gexpect sid-mode-guest A "stat -c %a $SID" "^444$"
check sid-mode-dom0 "mode $(stat -c %a $SID 2>&1)" [ "$(stat -c %a $SID 2>&1)" = 444 ]
for d in $A $B; do
	check "sid-node-$d" "node '$(xenstore-read "$(be "$d")/sharing-id" 2>&1)', guests '$sa'" \
		node_is "$d" "$sa"
done
sd=$(dom0_sid)
echo "sharing ids (bytes, value): A '$sa', B '$sb', dom0 '$sd', node '$(xenstore-read "$(be "$A")/sharing-id" 2>&1)'"
check sid-dom0-none-without-group "dom0 reads '$sd'" [ "$sd" = "5 none" ]

# --- a cross-guest copy -----------------------------------------------------
c1=$(hold A /tmp/c1 1)
case "$c1" in
'' | *[!0-9]*) fail hold-region-A "$c1"; c1=0 ;;
*) pass hold-region-A ;;
esac
gexpect cross-read B "$X read $c1 1" "^ok inline read"
gexpect cross-copy B "$X copy $c1 1" "^ok region copy"

# --- sharing groups ---------------------------------------------------------
kxa --group grp2 "$B"
check group-change "status $st: $err" [ "$st" = 0 ]
check group-change-node "sharing-group is '$(xenstore-read "$(be "$B")/sharing-group")'" \
	[ "$(xenstore-read "$(be "$B")/sharing-group")" = grp2 ]
check group-change-still-connected "states changed" both_connected "$B"
gexpect other-group-eperm B "$X read $c1 1" "^error inline-read EPERM"
sid_until B 'new_id "$v" "$sb"'
echo "sharing id of B in grp2: '$v'"
check sid-B-other-group "B reads '$v', was '$sb', A '$sa'" new_id "$v" "$sb" "$sa"
check sid-B-other-group-node "node '$(xenstore-read "$(be "$B")/sharing-id" 2>&1)'" \
	node_is "$B" "$v"
v=$(sid A)
check sid-A-unchanged "A reads '$v'" same_id "$v" "$sa"
kxa --group grp1 "$B"
check group-back "status $st: $err" [ "$st" = 0 ]
gexpect same-group-again B "$X read $c1 1" "^ok inline read"
sid_until B '[ "$v" = "$sa" ]'
check sid-B-same-group-again "B reads '$v', A '$sa'" same_id "$v" "$sa"

# the frontend takes 16 lowercase hex digits, not 0, or none: each
# malformed value follows a well-formed one, which B must take first
nb=$(be "$B")/sharing-id
for bad in upper:0123456789ABCDEF zero:0000000000000000 long:0123456789abcdef0 \
	prefix:0x23456789abcdef space:'none '; do
	xenstore-write "$nb" 0123456789abcdef
	sid_until B '[ "$v" = "17 0123456789abcdef" ]'
	check "sid-well-formed-before-${bad%%:*}" "B reads '$v'" [ "$v" = "17 0123456789abcdef" ]
	xenstore-write "$nb" "${bad#*:}"
	sid_until B '[ "$v" = "5 none" ]'
	check "sid-malformed-${bad%%:*}" "B reads '$v' for '${bad#*:}'" [ "$v" = "5 none" ]
done
# the backend writes its value again when it reads the group again
kxa --group grp1 "$B"
sid_until B '[ "$v" = "$sa" ]'
check sid-B-rewritten "B reads '$v', A '$sa'" same_id "$v" "$sa"

# --- error cases ---------------------------------------------------------------
expect_tool err-unknown-domid 1 "no domain with id 4242" 4242
expect_tool err-unknown-name 1 "no domain named" no-such-guest
expect_tool err-dom0 1 "not a guest" 0
expect_tool err-already-attached 1 "already attached" "$A"
expect_tool err-bad-group 2 "invalid group name" --group 'a b' "$A"
expect_tool err-group-too-long 2 "invalid group name" \
	--group 0123456789012345678901234567890123456789012345678901234567890123x "$A"
expect_tool err-empty-group 2 "invalid group name" --group '' "$A"
expect_tool err-no-domid 2 "missing DOMID"
expect_tool err-bad-option 2 "unknown option" --frobnicate "$A"
expect_tool err-detach-group 2 "attaching only" --detach --group grp1 "$A"
check attached-after-errors "an error case changed the device" both_connected "$A"

# --- dom0 cannot unload the backend while guests are attached ------------------
if rmmod knem 2>/dev/null; then
	fail rmmod-refused-while-attached "rmmod knem succeeded"
	for m in $KNEM_XEN_DOM0_MODULES; do insmod "$m"; done
else
	check rmmod-refused-while-attached "knem is not loaded any more" \
		grep -q '^knem ' /proc/modules
fi
gexpect front-rmmod-refused-while-attached B \
	'rmmod knem_front 2>&1; grep -c "^knem_front " /proc/modules' "^1$"

# --- detach B; its /dev/knem keeps working locally ---------------------------
cb=$(hold B /tmp/cb 2)
case "$cb" in
'' | *[!0-9]*) fail hold-region-B "$cb"; cb=0 ;;
*) pass hold-region-B ;;
esac
gexpect cross-read-from-A A "$X read $cb 2" "^ok inline read"
t0=$(date +%s)
kxa --detach --timeout 60 "$B"
check detach-B "status $st: $err" [ "$st" = 0 ]
progress "detach of B took $(($(date +%s) - t0)) s"
check detach-B-nodes-gone "xenstore nodes or the backend device remain" nodes_gone "$B"
check detach-B-parent-gone "backend/knem/$B remains" \
	sh -c "! xenstore-exists /local/domain/0/backend/knem/$B 2>/dev/null"
gexpect detached-front-stats B 'cat /dev/knem' "Xen frontend: detached"
sid_until B '[ "$v" = "5 none" ]'
check sid-B-none-detached "B reads '$v'" [ "$v" = "5 none" ]
v=$(sid A)
check sid-A-while-B-detached "A reads '$v'" same_id "$v" "$sa"
gexpect detached-old-region-local B "$X read $cb 2" "^ok inline read"
gexpect detached-cross-fails B "$X read $c1 1" "^error inline-read"
gexpect peer-of-detached-fails A "$X read $cb 2" "^error inline-read"
# detached, /dev/knem still serves the guest's own processes
out=$(guest_run B "$X local" 2>&1)
case "$out" in
"ok local copies"*) pass detached-new-regions-local ;;
*) fail detached-new-regions-local "$out" ;;
esac
expect_tool err-detach-unattached 1 "is not attached" --detach "$B"
expect_tool err-wait-unattached 1 "is not attached" --wait "$B"

# --- re-attach B -------------------------------------------------------------
kxa --group grp1 --timeout 120 "$B"
check reattach-B "status $st: $err" [ "$st" = 0 ]
check reattach-B-connected "not Connected" both_connected "$B"
gexpect reattach-cross-read B "$X read $c1 1" "^ok inline read"
sid_until B '[ "$v" = "$sa" ]'
check sid-B-reattached "B reads '$v', A '$sa'" same_id "$v" "$sa"
gexpect reattach-cross-copy B "$X copy $c1 1" "^ok region copy"
gexpect reattach-old-region-local B "$X read $cb 2" "^ok inline read"

# --- detach while copies run ----------------------------------------------------
# loop_result G FILE: waits (10 s) for a guest loop's result, prints it
loop_result() {
	guest_run "$1" "i=0; while [ ! -s $2 ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done; cat $2"
}
STOPPED="^after [1-9][0-9]* reads: error inline-read E\(FAULT\|INVAL\|IO\)"
# the copier detached: its request in flight fails (status FAILED, which
# the tool reports as EIO, or EFAULT) or the next one finds no backend
# (EINVAL); nothing hangs
guest_run B "$X loop $c1 1 60 >/tmp/loop1 2>&1 </dev/null &"
sleep 3
kxa --detach --timeout 60 "$B"
check detach-B-during-copies "status $st: $err" [ "$st" = 0 ]
out=$(loop_result B /tmp/loop1)
echo "B's loop: $out"
if echo "$out" | grep -q "$STOPPED"; then
	pass copier-detached-stops
else
	fail copier-detached-stops "$out"
fi
kxa --group grp1 --timeout 120 "$B"
check reattach-B-after-copies "status $st: $err" [ "$st" = 0 ]
# the owner detached: dom0 lets the copy in flight finish, then forgets
# the region: the reader's next lookup fails
guest_run B "$X loop $c1 1 60 >/tmp/loop2 2>&1 </dev/null &"
sleep 3
kxa --detach --timeout 60 "$A"
check detach-A-during-peer-copies "status $st: $err" [ "$st" = 0 ]
out=$(loop_result B /tmp/loop2)
echo "B's loop: $out"
if echo "$out" | grep -q "$STOPPED"; then
	pass reader-of-detached-stops
else
	fail reader-of-detached-stops "$out"
fi
kxa --group grp1 --timeout 120 "$A"
check reattach-A-after-copies "status $st: $err" [ "$st" = 0 ]

# --- backend unload and reload ------------------------------------------------
for d in $A $B; do
	kxa --detach --timeout 60 "$d"
	check "detach-$d" "status $st: $err" [ "$st" = 0 ]
	check "detach-$d-nodes-gone" "nodes or device remain" nodes_gone "$d"
done
if out=$(rmmod knem 2>&1); then
	pass rmmod-backend-after-detach
else
	fail rmmod-backend-after-detach "$out"
fi
check backend-unloaded "knem still in /proc/modules" \
	sh -c "! grep -q '^knem ' /proc/modules"
# regions of the old backend still work inside their guests
gexpect unloaded-old-region-local-A A "$X read $c1 1" "^ok inline read"
ok=yes
# dom0's processes in the guests' group now
for m in $KNEM_XEN_DOM0_MODULES; do
	case "$m" in */knem.ko) p=sharinggroup=grp1 ;; *) p= ;; esac
	# shellcheck disable=SC2086 # no parameter: no word
	out=$(insmod "$m" $p 2>&1) || { ok=no; fail insmod-backend-again "$out"; }
done
[ "$ok" = no ] || pass insmod-backend-again
for d in $A $B; do
	kxa --group grp1 --timeout 120 "$d"
	check "reload-attach-$d" "status $st: $err" [ "$st" = 0 ]
done
sa2=$(sid A) sd=$(dom0_sid)
sid_until B '[ "$v" = "$sa2" ]'
echo "sharing ids after the reload: A '$sa2', B '$v', dom0 (grp1) '$sd'"
check sid-reload-A-equals-B "A '$sa2', B '$v'" same_id "$v" "$sa2"
# a new key: another host's backend gives other values for the same group
check sid-reload-new-key "A '$sa2', before the reload '$sa'" new_id "$sa2" "$sa"
check sid-dom0-same-group "dom0 reads '$sd', A '$sa2'" same_id "$sd" "$sa2"
check sid-reload-node "node '$(xenstore-read "$(be "$A")/sharing-id" 2>&1)'" node_is "$A" "$sa2"
c3=$(hold A /tmp/c3 3)
case "$c3" in
'' | *[!0-9]*) fail reload-hold-region-A "$c3"; c3=0 ;;
*) pass reload-hold-region-A ;;
esac
gexpect reload-cross-read B "$X read $c3 3" "^ok inline read"
gexpect reload-cross-copy B "$X copy $c3 3" "^ok region copy"
# the old backend forgot them: their release must neither hang nor warn
gexpect old-region-release-A A "$(release_cmd /tmp/c1)" "^released"
gexpect old-region-release-B B "$(release_cmd /tmp/cb)" "^released"
gexpect new-region-release-A A "$(release_cmd /tmp/c3)" "^released"

# --- the guest's driver unbound and bound again while attached --------------
node_is "$A" "$sa2" && is_id "$sa2" && had_node=yes || had_node=no
gexpect front-unbind A 'd=$(ls -d /sys/bus/xen/drivers/knem/knem-* 2>/dev/null); echo ${d##*/} > /sys/bus/xen/drivers/knem/unbind && echo unbound' "^unbound"
# the backend disconnects (Closed, still attached) and removes the node
settle sid-node-removed-at-disconnect "connected: $had_node; unbound: $(be "$A")/sharing-id remains" \
	"[ $had_node = yes ] && ! xenstore-exists $(be "$A")/sharing-id 2>/dev/null"
sid_until A '[ "$v" = "5 none" ]'
check sid-A-none-unbound "A reads '$v'" [ "$v" = "5 none" ]
gexpect front-rebind A 'rmmod knem_front && insmod /knem-xen/modules/knem-front.ko && echo rebound' "^rebound"
kxa --wait --timeout 60 "$A"
check front-rebind-connected "status $st: $err" [ "$st" = 0 ]
sid_until A '[ "$v" = "$sa2" ]'
check sid-A-rebound "A reads '$v', B '$sa2'" same_id "$v" "$sa2"
c4=$(hold A /tmp/c4 4)
case "$c4" in
'' | *[!0-9]*) fail rebind-hold-region-A "$c4"; c4=0 ;;
*) pass rebind-hold-region-A ;;
esac
gexpect rebind-cross-read B "$X read $c4 4" "^ok inline read"
gexpect rebind-release-A A "$(release_cmd /tmp/c4)" "^released"

# --- detach and unload the frontends -----------------------------------------
for g in A B; do
	d=$(guest_domid $g)
	kxa --detach --timeout 60 "$d"
	check "final-detach-$g" "status $st: $err" [ "$st" = 0 ]
	gexpect "front-rmmod-after-detach-$g" $g \
		'rmmod knem_front && ! grep -q "^knem_front " /proc/modules && echo unloaded' "^unloaded"
done
if out=$(rmmod knem 2>&1); then
	pass rmmod-backend-final
else
	fail rmmod-backend-final "$out"
fi
# dom0's processes in another group than the guests' from now on
for m in $KNEM_XEN_DOM0_MODULES; do
	case "$m" in */knem.ko) p=sharinggroup=grp3 ;; *) p= ;; esac
	# shellcheck disable=SC2086 # no parameter: no word
	insmod "$m" $p
done

# --- a paused guest cannot connect: the timeout names the states ------------
xl pause "$A"
expect_tool err-timeout-paused 1 "not Connected after 3 s: backend state .*paused" \
	--timeout 3 "$A"
# the backend writes sharing-id when it connects (checked below)
xenstore-exists "$(be "$A")/sharing-id" 2>/dev/null && unconnected_node=yes || unconnected_node=no
kxa --detach --timeout 10 "$A"
check detach-unconnected "status $st: $err" [ "$st" = 0 ]
check detach-unconnected-nodes-gone "nodes or device remain" nodes_gone "$A"
xl unpause "$A"

# --- a guest destroyed while attached: the backend lets go, detach cleans ---
guest_run B 'insmod /knem-xen/modules/knem-front.ko'
kxa --group grp1 --timeout 120 "$B"
check attach-before-destroy "status $st: $err" [ "$st" = 0 ]
sb3=$(sid B) sd=$(dom0_sid)
echo "sharing ids: B '$sb3', dom0 (grp3) '$sd'"
check sid-dom0-other-group "dom0 (grp3) reads '$sd', B (grp1) '$sb3'" new_id "$sd" "$sb3"
check sid-B-after-reload "B reads '$sb3'" new_id "$sb3" "$sa2"
check sid-node-written-at-connect "node of A unconnected: $unconnected_node; B's '$(xenstore-read "$(be "$B")/sharing-id" 2>&1)'" \
	eval '[ "$unconnected_node" = no ] && is_id "$sb3" && node_is "$B" "$sb3"'
c5=$(hold B /tmp/c5 5)
case "$c5" in
'' | *[!0-9]*) fail destroy-hold-region-B "$c5" ;;
*) pass destroy-hold-region-B ;;
esac
destroy_guest B
i=0
while [ -e "/sys/bus/xen-backend/devices/knem-$B-0" ] && [ $i -lt 50 ]; do
	sleep 0.2
	i=$((i + 1))
done
check destroyed-guest-device-gone "the backend device remains" \
	test ! -e "/sys/bus/xen-backend/devices/knem-$B-0"
kxa --detach "$B"
check detach-destroyed-guest "status $st: $err" [ "$st" = 0 ]
check detach-destroyed-guest-nodes-gone "backend nodes remain" \
	sh -c "! xenstore-exists /local/domain/0/backend/knem/$B"
if out=$(rmmod knem 2>&1); then
	pass rmmod-backend-after-destroy
else
	fail rmmod-backend-after-destroy "$out"
fi

# --- logs -----------------------------------------------------------------------
FINDINGS='BUG|WARNING|Oops|general protection|refcount_t|Call Trace|still in use|leak'
# log_clean NAME LOG
log_clean() {
	found=$(echo "$2" | grep -E "$FINDINGS" | head -3 | tr '\n' ' ')
	if [ -z "$found" ]; then pass "$1"; else fail "$1" "$found"; fi
}
log_clean dom0-log-clean "$(dmesg)"
for g in A B; do
	log_clean "guest-log-clean-$g" "$(guest_console $g)"
done
log_clean xen-log-clean "$(xl dmesg)"
exit $rc
