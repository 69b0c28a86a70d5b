# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced after rootfs/dom0-lib.sh
# run-suite-args: --net --domu-mem 512 --mem 2304
# (TCP between the guests moves 0.2 to 6 MB/s under TCG: a boot took 3.5
# to 6 minutes at load 4 to 7, near the suite's 600 s)
# run-suite-args: --timeout 1200
# run-suite-domu-files: tests/xen/stage-mpi.sh
#
# dom0 script of tests/xen/run-suite.sh: Debian's own binaries (UCX
# 1.13.1, Open MPI 4.1.4, MPICH 4.0.2, staged by tests/xen/stage-mpi.sh,
# with tests/mpi/knem_mpi_bw.c built by their compilers) with this
# project's UCX transport preloaded (libknem/uct, /mpi/libuct_knemxen.so),
# between guest A (10.77.0.1) and guest B (10.77.0.2), both attached to
# knem in sharing group knemgrp, then again after dom0 moved B to group
# other:
#   - ucx_perftest, server in B, client in A: tag_bw, ucp_get, ucp_put_bw
#     (1 MiB, 4 iterations): both ends exit 0, the client prints its
#     "Final:" line;
#   - knem_mpi_bw (1 MiB and 4 MiB, a window of 4 messages each, every
#     byte checked by the receiver), one rank in each guest, with MPICH
#     (ch4:ucx; hydra's manual launcher: dom0 runs each proxy in its guest)
#     and with Open MPI (pml ucx; mpirun in A, orted started in B through
#     /mpi/rsh-agent and dom0, see relay_rsh in mpi-jobs.sh): exit 0 and "bad 0" over all
#     8 messages;
#   - the same with both ranks in A, for each library;
#   - last (phase midjob), B back in knemgrp: a long MPICH job across the
#     guests during which dom0 moves B to group other, then a long Open
#     MPI job during which dom0 detaches B: each ends in an error, before
#     its timeout, with the knemxen line that says why, and without a
#     wrong byte (see midjob).
# In one group, UCX gives the rendezvous to knemxen (the guests' sharing
# ids match) and dom0 does the copies: for each knem_mpi_bw job exactly
# one copy per 512 KiB segment of each message, 40 copies and 20 MiB for
# A and B together.  In two groups, the same jobs run over TCP alone and
# dom0 copies nothing.  Two ranks in A always use knem in A, without dom0:
# A's own /dev/knem counts the 40 copies, dom0 none.
# UCX prints each endpoint's lanes (UCX_LOG_LEVEL=info); each run's lane
# lines must match $MPI_LANES and none may match $MPI_NOT_LANES, and
# across the guests one of them must not use tcp/lo (the loopback is
# reachable only within one system, and a rank's endpoint to itself uses
# it): which transport carried the messages is checked, not assumed.
# shellcheck source-path=SCRIPTDIR source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"
# shellcheck source-path=SCRIPTDIR source=mpi-jobs.sh
. "/host$KNEM_XEN_REPO/tests/xen/mpi-jobs.sh"

# extended regular expressions each lane line must match, and none may
# match (set per phase below)
MPI_LANES=.
MPI_NOT_LANES='^$'

# shellcheck disable=SC2034 # read by guest_run
KNEM_XEN_RUN_TIMEOUT=$((T + 60))
BW_ARGS="-i 1 -w 4 1048576 4194304"
BW_BYTES=$((4 * (1048576 + 4194304)))
BW_DONE="messages 8 bytes $BW_BYTES bad 0"
# knem copies of one knem_mpi_bw job: one per 512 KiB segment (UCX's
# UCX_KNEMXEN_SEG_SIZE) of each rendezvous message
BW_COPIES=$((4 * 2 + 4 * 8))
PERF_ARGS="-s 1048576 -n 4 -w 1"
# MPICH jobs whose every message arrived and were then cut by MPICH
# 4.0.2's finalize hang (mpich_finalize_hung) run again, up to this many
# times in all: over TCP the hang came in about one job of three.
MPICH_TRIES=3

# lanes NAME OUTPUT [across]: UCX's lane lines of a run, printed once
# each; checks that there are some, that each matches $MPI_LANES and none
# $MPI_NOT_LANES.  With "across", the lines checked are those of the
# endpoints that reach the other guest (their active messages go over
# tcp/eth0: no other transport reaches it), and there must be some.
lanes() {
	local lines checked bad
	lines=$(printf '%s\n' "$2" | sed -n 's/.*\(ep_cfg\[[0-9]*\]: .*\)/\1/p' | sort -u)
	printf '%s\n' "$lines" | sed "s/^/$1 lanes: /"
	checked=$lines
	[ "${3:-}" != across ] || checked=$(printf '%s\n' "$lines" | grep 'tcp/eth0')
	bad=$(printf '%s\n' "$checked" | grep -Ev "$MPI_LANES"
		printf '%s\n' "$checked" | grep -E "$MPI_NOT_LANES")
	if [ -z "$lines" ]; then
		fail "$1-lanes" "UCX printed no lane line (ep_cfg)"
	elif [ -z "$checked" ]; then
		fail "$1-lanes" "no endpoint reached the other guest (no tcp/eth0 lane)"
	elif [ -n "$bad" ]; then
		fail "$1-lanes" "lanes not matching '$MPI_LANES' or matching '$MPI_NOT_LANES': $bad"
	else
		pass "$1-lanes"
	fi
}

# bw NAME STATUS OUTPUT [across]: a knem_mpi_bw run: exit 0, every message
# of every size arrived intact, and its lanes.
bw() {
	printf '%s\n' "$3" | grep -v 'UCX  INFO'
	if [ "$2" -eq 0 ] && printf '%s\n' "$3" | grep -qx "$BW_DONE"; then
		pass "$1"
	else
		fail "$1" "exit status $2, no '$BW_DONE' line"
	fi
	lanes "$1" "$3" "${4:-}"
	stop_if_hung
}

# perftest TEST PORT [TRANSPORT]: ucx_perftest -t TEST, server in B,
# client in A; a UCT test (get, put_bw) on TRANSPORT's zero copy, a UCP one
# with its lanes checked.
perftest() {
	local out st srv uct=""
	[ -z "${3:-}" ] || uct="-x $3 -d memory -D zcopy"
	gr B "cd /tmp || exit 1
(timeout -s KILL $T env $MPI_ENV ucx_perftest -p $2 > perf-$1.log 2>&1; echo \"exit \$?\" >> perf-$1.log) > /dev/null 2>&1 &
i=0
until netstat -ltn | grep -q ':$2 '; do
	[ \$i -lt 300 ] || { echo 'the server does not listen'; exit 1; }
	usleep 100000; i=\$((i + 1))
done"
	st=$?
	stop_if_hung
	[ "$st" -eq 0 ] || { fail "$P-perftest-$1-server-listens" "status $st"; return; }
	out=$(gr A "cd /tmp && timeout -s KILL $T env $MPI_ENV ucx_perftest 10.77.0.2 -p $2 -t $1 $uct $PERF_ARGS")
	st=$?
	stop_if_hung "$out"
	srv=$(gr B "i=0
while ! grep -q '^exit ' /tmp/perf-$1.log && [ \$i -lt 300 ]; do usleep 100000; i=\$((i + 1)); done
cat /tmp/perf-$1.log")
	stop_if_hung "$srv"
	if [ "$st" -eq 0 ] && printf '%s\n' "$out" | grep -q '^Final: *4 '; then
		printf '%s\n' "$out" | grep '^Final:'
		pass "$P-perftest-$1-client"
	else
		printf '%s\n' "$out"
		fail "$P-perftest-$1-client" "exit status $st, no 'Final:' line of 4 iterations"
	fi
	if printf '%s\n' "$srv" | grep -qx 'exit 0'; then
		pass "$P-perftest-$1-server"
	else
		printf '%s\n' "$srv"
		fail "$P-perftest-$1-server" "$(printf '%s\n' "$srv" | tail -n 1)"
	fi
	[ -n "$uct" ] || lanes "$P-perftest-$1" "$out
$srv" across
}

# dom0's copies for guests A and B together: "COPIES BYTES".
dom0_copies() {
	local g d
	for g in A B; do
		d=$(guest_domid "$g")
		sed -n "s/^ Xen domain $d:.* copies \([0-9]*\) (\([0-9]*\) bytes).*/\1 \2/p" /dev/knem
	done | awk '{ c += $1; b += $2 } END { print c + 0, b + 0 }'
}

# The copies guest A's own knem-front did (its local regions).
a_processed() {
	gr A "sed -n 's/^ Requests processed (total) *: *//p' /dev/knem"
}

# copies NAME BEFORE WANT: dom0's copies for the guests moved from BEFORE
# ("COPIES BYTES") by exactly WANT ("COPIES BYTES"; "some" for at least
# one copy).
copies() {
	local now
	now=$(dom0_copies)
	echo "$1: dom0 copies and bytes for A and B: $2 -> $now"
	set -- "$1" "$(echo "$2 $now" | awk '{ print $3 - $1, $4 - $2 }')" "$3"
	if [ "$3" = some ]; then
		check "$1-dom0-copies" "dom0 copied $2 for the guests, expected some" \
			[ "${2%% *}" -gt 0 ]
	else
		check "$1-dom0-copies" "dom0 copied $2 (copies, bytes) for the guests, expected $3" \
			[ "$2" = "$3" ]
	fi
}

# in_a NAME LIB: knem_mpi_bw's two ranks in A with LIB (mpich or ompi),
# knem in A alone.
in_a() {
	local before before_a after_a st tries
	local MPI_LANES='knemxen/memory' MPI_NOT_LANES='^$'
	before=$(dom0_copies)
	before_a=$(a_processed)
	mpi_local A "$2" "$BW_ARGS"
	st=$?
	tries=1
	while [ "$2" = mpich ] && [ "$tries" -lt "$MPICH_TRIES" ] && mpich_finalize_hung "$st"; do
		echo "$P-$1: every message arrived, then MPICH 4.0.2's finalize hung (pmodels/mpich#6596): once more"
		before=$(dom0_copies)
		before_a=$(a_processed)
		mpi_local A "$2" "$BW_ARGS"
		st=$?
		tries=$((tries + 1))
	done
	after_a=$(a_processed)
	bw "$P-$1" "$st" "$MPI_OUT"
	copies "$P-$1" "$before" "0 0"
	check "$P-$1-knem-in-A" "A's knem-front did $((after_a - before_a)) copies, expected $BW_COPIES" \
		[ "$((after_a - before_a))" -eq "$BW_COPIES" ]
}

# rma_perftest TEST PORT: a UCP RMA perftest, whose lanes are TCP's
# emulation of RMA by active messages.
rma_perftest() {
	local MPI_LANES='rma_am\(tcp/eth0\)' MPI_NOT_LANES=knemxen
	perftest "$@"
}

# jobs WANT: every job of the head once; WANT: what dom0 copies for the
# guests per knem_mpi_bw job across them ("COPIES BYTES", "0 0" for none)
# and per ucx_perftest ("some" or "0 0").
jobs() {
	local before perf_want t st tries
	perf_want=some
	[ "$1" != "0 0" ] || perf_want="0 0"
	progress "$P: ucx_perftest between the guests"
	before=$(dom0_copies)
	perftest tag_bw "${PORT}1"
	copies "$P-perftest-tag_bw" "$before" "$perf_want"
	# UCX 1.13 gives UCP's RMA to a transport with short or buffered puts
	# and gets (an "rma" lane), which a single-copy one has not: over TCP
	# (rma_am) with or without knem
	for t in ucp_get:2 ucp_put_bw:3; do
		before=$(dom0_copies)
		rma_perftest "${t%:*}" "$PORT${t#*:}"
		copies "$P-perftest-${t%:*}" "$before" "0 0"
	done
	if [ "$perf_want" = some ]; then
		# UCT's get and put_bw on knemxen itself, between the guests
		for t in get:4 put_bw:5; do
			before=$(dom0_copies)
			perftest "${t%:*}" "$PORT${t#*:}" knemxen
			copies "$P-perftest-uct-${t%:*}" "$before" some
		done
	fi

	progress "$P: MPICH between the guests (hydra -launcher manual)"
	before=$(dom0_copies)
	mpich_across "$P-mpich-across" "$BW_ARGS"
	st=$?
	tries=1
	while [ "$tries" -lt "$MPICH_TRIES" ] && mpich_finalize_hung "$st"; do
		echo "$P-mpich-across: every message arrived, then MPICH 4.0.2's finalize hung (pmodels/mpich#6596): once more"
		before=$(dom0_copies)
		mpich_across "$P-mpich-across" "$BW_ARGS"
		st=$?
		tries=$((tries + 1))
	done
	bw "$P-mpich-across" "$st" "$MPI_OUT" across
	copies "$P-mpich-across" "$before" "$1"

	progress "$P: Open MPI between the guests (orted in B through the rsh agent)"
	before=$(dom0_copies)
	ompi_across "$P-ompi-across" "$BW_ARGS"
	bw "$P-ompi-across" "$?" "$MPI_OUT" across
	copies "$P-ompi-across" "$before" "$1"

	progress "$P: MPICH and Open MPI, two ranks in A"
	in_a mpich-in-A mpich
	in_a ompi-in-A ompi
}

progress "starting the guests"
start_knem_guests knemgrp || exit $?

out=$(gr A "ucx_info -v; LD_PRELOAD=/mpi/libuct_knemxen.so ucx_info -d | grep -E 'Transport|Device'")
relay ucx-info "$?" "$out"
if printf '%s\n' "$out" | grep -A1 'Transport: tcp' | grep -q 'Device: eth0'; then
	pass ucx-sees-tcp-on-eth0
else
	fail ucx-sees-tcp-on-eth0 "no tcp transport on eth0 in ucx_info -d"
fi
if printf '%s\n' "$out" | grep -q 'Transport: knemxen'; then
	pass ucx-sees-knemxen
else
	fail ucx-sees-knemxen "no knemxen transport in ucx_info -d with the transport preloaded"
fi
id_a=$(gr A "cat /sys/class/misc/knem/sharing_id")
id_b=$(gr B "cat /sys/class/misc/knem/sharing_id")
echo "sharing ids: A $id_a, B $id_b"

# knem: A and B in one group, the rendezvous through dom0
P=knem PORT=1333
MPI_LANES='knemxen/memory'
jobs "$BW_COPIES $BW_BYTES"

progress "moving B to sharing group other"
knem_xen_attach --group other "$(guest_domid B)" || fail group-other "knem-xen-attach failed"
# shellcheck disable=SC2016 # settle evaluates it, again and again
settle b-sharing-id-changed "B's sharing id did not change" \
	'[ "$(gr B "cat /sys/class/misc/knem/sharing_id")" != "$id_b" ]'

# tcp: the same jobs, the transport preloaded, the guests in two groups
P=tcp PORT=1334
MPI_LANES='tcp/'
MPI_NOT_LANES='knemxen'
jobs "0 0"

# midjob NAME LAUNCH ACTION...: a long knem_mpi_bw job across the guests
# (LAUNCH: mpich_across or ompi_across) during which dom0, once it has
# made $MIDJOB_AFTER copies for it, runs knem-xen-attach ACTION... on B.
# The job must end before $T s, in an error, with the knemxen line that
# says why ($MIDJOB_WHY, an extended regular expression), and with no
# wrong byte received before it.
MIDJOB_ARGS="-i 300 -w 4 4194304"
MIDJOB_AFTER=64
midjob() {
	local name=$1 launch=$2 before action st ast t0 dt ended_in_error says_why wrong_byte
	shift 2
	before=$(dom0_copies)
	(
		n=0
		while [ "$(dom0_copies | awk -v b="${before%% *}" '{ print $1 - b }')" -lt "$MIDJOB_AFTER" ]; do
			[ "$n" -lt 1200 ] || { echo "no $MIDJOB_AFTER copies in 240 s"; exit 1; }
			sleep 0.2
			n=$((n + 1))
		done
		echo "after $(dom0_copies | awk -v b="${before%% *}" '{ print $1 - b }') copies: knem-xen-attach $* B"
		knem_xen_attach "$@" "$(guest_domid B)"
	) > /tmp/midjob-action.log 2>&1 &
	action=$!
	t0=$(date +%s)
	"$launch" "$P-$name" "$MIDJOB_ARGS"
	st=$?
	dt=$(($(date +%s) - t0))
	wait "$action"
	ast=$?
	sed 's/^/dom0: /' /tmp/midjob-action.log
	printf '%s\n' "$MPI_OUT" | grep -v 'UCX  INFO' | tail -n 15
	check "$P-$name-action" "knem-xen-attach $* failed during the job (status $ast)" [ "$ast" -eq 0 ]
	# 0: it did not notice; a job cut at $T s hung, whatever its status
	ended_in_error=no
	[ "$st" -eq 0 ] || [ "$dt" -ge "$T" ] || ended_in_error=yes
	check "$P-$name-ends-in-error" "the job ended with status $st after $dt s, expected an error before $T s" \
		[ "$ended_in_error" = yes ]
	says_why=no wrong_byte=no
	! printf '%s\n' "$MPI_OUT" | grep -Eq "knemxen: .*$MIDJOB_WHY" || says_why=yes
	! printf '%s\n' "$MPI_OUT" | grep -Eq 'DATA CORRUPTED|knem_mpi_bw: size .* is 0x' || wrong_byte=yes
	check "$P-$name-says-why" "no knemxen line matching '$MIDJOB_WHY'" [ "$says_why" = yes ]
	check "$P-$name-no-wrong-byte" "a message arrived with wrong bytes" [ "$wrong_byte" = no ]
}

# A group change, then a detach, while a job copies between the guests.
P=midjob
MPI_LANES='knemxen/memory'
MPI_NOT_LANES='^$'
progress "B back in group knemgrp, then a group change during an MPICH job"
knem_xen_attach --group knemgrp "$(guest_domid B)" || fail back-to-knemgrp "knem-xen-attach failed"
# shellcheck disable=SC2016 # settle evaluates it, again and again
settle b-sharing-id-back "B's sharing id is not A's again" \
	'[ "$(gr B "cat /sys/class/misc/knem/sharing_id")" = "$id_a" ]'
MIDJOB_WHY='refused \(EPERM\)'
midjob mpich-group-change mpich_across --group other

progress "a detach of B during an Open MPI job"
knem_xen_attach --group knemgrp "$(guest_domid B)" || fail back-to-knemgrp-2 "knem-xen-attach failed"
# shellcheck disable=SC2016 # settle evaluates it, again and again
settle b-sharing-id-back-2 "B's sharing id is not A's again" \
	'[ "$(gr B "cat /sys/class/misc/knem/sharing_id")" = "$id_a" ]'
MIDJOB_WHY='refused \(EINVAL\)|failed: '
midjob ompi-detach ompi_across --detach
knem_xen_attach --group knemgrp --timeout 120 "$(guest_domid B)" || fail reattach "knem-xen-attach failed"
out=$(gr B "cat /sys/class/misc/knem/sharing_id")
check "$P-b-attached-again" "B's sharing id is '$out' after attaching it again, expected A's $id_a" \
	[ "$out" = "$id_a" ]
exit $rc
