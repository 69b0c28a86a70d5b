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
#     /mpi/rsh-agent and dom0, see relay_rsh): exit 0 and "bad 0" over all
#     8 messages;
#   - the same with both ranks in A, for each library.
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

# The environment of every UCX and MPI process below, as NAME=VALUE words
# (no blanks in a value): the one place to change it.
MPI_ENV="LD_PRELOAD=/mpi/libuct_knemxen.so UCX_LOG_LEVEL=info"
# extended regular expressions each lane line must match, and none may
# match (set per phase below)
MPI_LANES=.
MPI_NOT_LANES='^$'

T=240 # s: any guest command is killed then, so that a hang is a FAIL
# shellcheck disable=SC2034 # read by guest_run
KNEM_XEN_RUN_TIMEOUT=$((T + 60))
BW_ARGS="-i 1 -w 4 1048576 4194304"
BW_BYTES=$((4 * (1048576 + 4194304)))
BW_DONE="messages 8 bytes $BW_BYTES bad 0"
# knem copies of one knem_mpi_bw job: one per 512 KiB segment (UCX's
# UCX_KNEMXEN_SEG_SIZE) of each rendezvous message
BW_COPIES=$((4 * 2 + 4 * 8))
PERF_ARGS="-s 1048576 -n 4 -w 1"
# Open MPI 4.1: mpirun as root needs saying so; Debian's
# /etc/openmpi/openmpi-mca-params.conf disables pml ucx ("pml = ^ucx"),
# and pml ucx declines a UCX that has none of the devices of its list
# (verbs, mlx5...) unless told "any"; the rsh agent must exist even when
# every rank is local.
OMPI_ARGS="--allow-run-as-root --mca plm_rsh_agent /mpi/rsh-agent --mca pml ucx --mca pml_ucx_tls any --mca pml_ucx_devices any"
RSH_NODE=data/mpi-rsh # the agent's xenstore directory in A

# hydra_env / ompi_env: MPI_ENV as mpiexec.hydra's and mpirun's options,
# for the ranks alone (a preloaded transport is no launcher's business).
hydra_env() {
	local v
	for v in $MPI_ENV; do printf ' -genv %s %s' "${v%%=*}" "${v#*=}"; done
}
ompi_env() {
	local v
	for v in $MPI_ENV; do printf ' -x %s' "$v"; done
}

# sq WORD: WORD single-quoted for sh.
sq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

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
(timeout $T env $MPI_ENV ucx_perftest -p $2 > perf-$1.log 2>&1; echo \"exit \$?\" >> perf-$1.log) > /dev/null 2>&1 &
i=0
until netstat -ltn | grep -q ':$2 '; do
	[ \$i -lt 300 ] || { echo 'the server does not listen'; exit 1; }
	usleep 100000; i=\$((i + 1))
done"
	st=$?
	stop_if_hung
	[ "$st" -eq 0 ] || { fail "$P-perftest-$1-server-listens" "status $st"; return; }
	out=$(gr A "cd /tmp && timeout $T env $MPI_ENV ucx_perftest 10.77.0.2 -p $2 -t $1 $uct $PERF_ARGS")
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

# relay_rsh PID: Open MPI's remote shell (/mpi/rsh-agent in A): waits,
# while the background guest_run PID (mpirun) lasts, for the agent's
# request in A's $RSH_NODE, runs its command in B and reports its exit
# status to the agent.
relay_rsh() {
	local base host cmd out st
	base=/local/domain/$(guest_domid A)/$RSH_NODE
	until host=$(xenstore-read "$base/host" 2>/dev/null); do
		kill -0 "$1" 2>/dev/null || { fail "$P-ompi-across-orted-requested" "mpirun ended first"; return; }
		timeout 2 xenstore-watch -n 2 "$base/host" > /dev/null 2>&1
	done
	cmd=$(xenstore-read "$base/cmd" | base64 -d)
	echo "rsh-agent: $host:$cmd"
	[ "$host" = knemB ] || { fail "$P-ompi-across-orted-in-B" "asked for host '$host'"; return; }
	out=$(gr B "cd /tmp && timeout $T sh -c $(sq "$cmd")")
	st=$?
	xenstore-write "$base/status" "$st"
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/orted in B: /'
	if [ "$st" -eq 0 ]; then pass "$P-ompi-across-orted-in-B"; else fail "$P-ompi-across-orted-in-B" "exit status $st"; fi
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

mpich_across() {
	local launch st p0 p1 a b sa sb out
	launch=$(gr A "cd /tmp || exit 1
	(timeout $T mpiexec.hydra -launcher manual -hosts knemA,knemB -ppn 1 -n 2$(hydra_env) /mpi/knem_mpi_bw.mpich $BW_ARGS > hydra.log 2>&1; echo \"mpiexec exit \$?\" >> hydra.log) > /dev/null 2>&1 &
	i=0
	until grep -q '^HYDRA_LAUNCH_END' hydra.log 2>/dev/null; do
		[ \$i -lt 600 ] || { cat hydra.log; exit 1; }
		usleep 100000; i=\$((i + 1))
	done
	sed -n 's/^HYDRA_LAUNCH: //p' hydra.log")
	st=$?
	stop_if_hung "$launch"
	p0=$(printf '%s\n' "$launch" | grep -- '--proxy-id 0 *$')
	p1=$(printf '%s\n' "$launch" | grep -- '--proxy-id 1 *$')
	if [ "$st" -eq 0 ] && [ -n "$p0" ] && [ -n "$p1" ]; then
		pass "$P-mpich-across-proxy-commands"
		gr A "cd /tmp && timeout $T $p0" > /tmp/proxy0.out 2>&1 &
		a=$!
		gr B "cd /tmp && timeout $T $p1" > /tmp/proxy1.out 2>&1 &
		b=$!
		wait "$a"
		sa=$?
		wait "$b"
		sb=$?
		sed 's/^/proxy 0 in A: /' /tmp/proxy0.out
		sed 's/^/proxy 1 in B: /' /tmp/proxy1.out
		stop_if_hung
		if [ "$sa" -eq 0 ] && [ "$sb" -eq 0 ]; then pass "$P-mpich-across-proxies"; else fail "$P-mpich-across-proxies" "exit status $sa in A, $sb in B"; fi
		out=$(gr A "i=0
	while ! grep -q '^mpiexec exit' /tmp/hydra.log && [ \$i -lt 300 ]; do usleep 100000; i=\$((i + 1)); done
	cat /tmp/hydra.log")
		st=$?
		stop_if_hung "$out"
		printf '%s\n' "$out" | grep -qx 'mpiexec exit 0' || st=1
		bw "$P-mpich-across" "$st" "$out" across
	else
		printf '%s\n' "$launch"
		fail "$P-mpich-across-proxy-commands" "status $st, no proxy command for each host"
	fi

}

ompi_across() {
	local m st
	xenstore-rm "/local/domain/$(guest_domid A)/$RSH_NODE" 2> /dev/null
	gr A "cd /tmp && printf 'knemA slots=1\nknemB slots=1\n' > ompi-hosts && KNEM_MPI_RSH=$RSH_NODE timeout $T mpirun.openmpi $OMPI_ARGS --hostfile ompi-hosts -np 2$(ompi_env) /mpi/knem_mpi_bw.openmpi $BW_ARGS" > /tmp/ompi.out 2>&1 &
	m=$!
	relay_rsh "$m"
	wait "$m"
	st=$?
	bw "$P-ompi-across" "$st" "$(cat /tmp/ompi.out)" across

}

# in_a NAME LAUNCHER...: knem_mpi_bw's two ranks in A, knem in A alone.
in_a() {
	local name=$1 before before_a after_a out st
	local MPI_LANES='knemxen/memory' MPI_NOT_LANES='^$'
	shift
	before=$(dom0_copies)
	before_a=$(a_processed)
	out=$(gr A "cd /tmp && timeout $T $*")
	st=$?
	after_a=$(a_processed)
	bw "$P-$name" "$st" "$out"
	copies "$P-$name" "$before" "0 0"
	check "$P-$name-knem-in-A" "A's knem-front did $((after_a - before_a)) copies, expected $BW_COPIES" \
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
	local before perf_want t
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
	mpich_across
	copies "$P-mpich-across" "$before" "$1"

	progress "$P: Open MPI between the guests (orted in B through the rsh agent)"
	before=$(dom0_copies)
	ompi_across
	copies "$P-ompi-across" "$before" "$1"

	progress "$P: MPICH and Open MPI, two ranks in A"
	in_a mpich-in-A mpiexec.hydra -launcher fork -n 2"$(hydra_env)" \
		/mpi/knem_mpi_bw.mpich "$BW_ARGS"
	in_a ompi-in-A mpirun.openmpi "$OMPI_ARGS" -np 2 --oversubscribe"$(ompi_env)" \
		/mpi/knem_mpi_bw.openmpi "$BW_ARGS"
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
exit $rc
