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
# with tests/mpi/knem_mpi_bw.c built by their compilers) between guest A
# (10.77.0.1) and guest B (10.77.0.2), over TCP:
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
# UCX prints each endpoint's lanes (UCX_LOG_LEVEL=info); each run's lane
# lines must match $MPI_LANES, and across the guests one of them must not
# use tcp/lo (the loopback is reachable only within one system, and a
# rank's endpoint to itself uses it): which transport carried the
# messages is checked, not assumed.
# Both guests are attached to knem (group knemgrp), as a knem transport
# for UCX will need them; nothing here uses knem yet.
# shellcheck source-path=SCRIPTDIR source=dom0-checks.sh
. "/host$KNEM_XEN_REPO/tests/xen/dom0-checks.sh"

# The environment of every UCX and MPI process below, as NAME=VALUE words
# (no blanks in a value): the one place to change it.  A UCX transport is
# switched on here, for example the knemxen transport (libknem/uct, its
# library staged at /mpi/libuct_knemxen.so with one more
# run-suite-domu-files line):
#   MPI_ENV="LD_PRELOAD=/mpi/libuct_knemxen.so UCX_TLS=tcp,knemxen"
#   MPI_LANES='knemxen/'
# (a scenario may set both and source this file).
: "${MPI_ENV:=UCX_TLS=tcp}"
# info: UCX prints the lanes it chose ("ep_cfg[0]: tag(tcp/eth0)")
MPI_ENV="$MPI_ENV UCX_LOG_LEVEL=info"
# extended regular expression each lane line must match
: "${MPI_LANES:=tcp/}"

T=240 # s: any guest command is killed then, so that a hang is a FAIL
# shellcheck disable=SC2034 # read by guest_run
KNEM_XEN_RUN_TIMEOUT=$((T + 60))
BW_ARGS="-i 1 -w 4 1048576 4194304"
BW_DONE="messages 8 bytes $((4 * (1048576 + 4194304))) bad 0"
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
# each; checks that there are some and that each matches $MPI_LANES
# (and, with "across", that one of them, the other guest's, does not use
# the loopback).
lanes() {
	local lines bad
	lines=$(printf '%s\n' "$2" | sed -n 's/.*\(ep_cfg\[[0-9]*\]: .*\)/\1/p' | sort -u)
	printf '%s\n' "$lines" | sed "s/^/$1 lanes: /"
	bad=$(printf '%s\n' "$lines" | grep -Ev "$MPI_LANES")
	if [ -z "$lines" ]; then
		fail "$1-lanes" "UCX printed no lane line (ep_cfg)"
	elif [ -n "$bad" ]; then
		fail "$1-lanes" "lanes not matching '$MPI_LANES': $bad"
	elif [ "${3:-}" = across ] && ! printf '%s\n' "$lines" | grep -qv 'tcp/lo'; then
		fail "$1-lanes" "every endpoint uses tcp/lo: no other guest reached"
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

# perftest TEST PORT: ucx_perftest -t TEST, server in B, client in A.
perftest() {
	local out st srv
	gr B "cd /tmp || exit 1
(timeout $T env $MPI_ENV ucx_perftest -p $2 > perf-$1.log 2>&1; echo \"exit \$?\" >> perf-$1.log) > /dev/null 2>&1 &
i=0
until netstat -ltn | grep -q ':$2 '; do
	[ \$i -lt 300 ] || { echo 'the server does not listen'; exit 1; }
	usleep 100000; i=\$((i + 1))
done"
	st=$?
	stop_if_hung
	[ "$st" -eq 0 ] || { fail "perftest-$1-server-listens" "status $st"; return; }
	out=$(gr A "cd /tmp && timeout $T env $MPI_ENV ucx_perftest 10.77.0.2 -p $2 -t $1 $PERF_ARGS")
	st=$?
	stop_if_hung "$out"
	srv=$(gr B "i=0
while ! grep -q '^exit ' /tmp/perf-$1.log && [ \$i -lt 300 ]; do usleep 100000; i=\$((i + 1)); done
cat /tmp/perf-$1.log")
	stop_if_hung "$srv"
	if [ "$st" -eq 0 ] && printf '%s\n' "$out" | grep -q '^Final: *4 '; then
		printf '%s\n' "$out" | grep '^Final:'
		pass "perftest-$1-client"
	else
		printf '%s\n' "$out"
		fail "perftest-$1-client" "exit status $st, no 'Final:' line of 4 iterations"
	fi
	if printf '%s\n' "$srv" | grep -qx 'exit 0'; then
		pass "perftest-$1-server"
	else
		printf '%s\n' "$srv"
		fail "perftest-$1-server" "$(printf '%s\n' "$srv" | tail -n 1)"
	fi
	lanes "perftest-$1" "$out
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
		kill -0 "$1" 2>/dev/null || { fail ompi-across-orted-requested "mpirun ended first"; return; }
		timeout 2 xenstore-watch -n 2 "$base/host" > /dev/null 2>&1
	done
	cmd=$(xenstore-read "$base/cmd" | base64 -d)
	echo "rsh-agent: $host:$cmd"
	[ "$host" = knemB ] || { fail ompi-across-orted-in-B "asked for host '$host'"; return; }
	out=$(gr B "cd /tmp && timeout $T sh -c $(sq "$cmd")")
	st=$?
	xenstore-write "$base/status" "$st"
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/orted in B: /'
	if [ "$st" -eq 0 ]; then pass ompi-across-orted-in-B; else fail ompi-across-orted-in-B "exit status $st"; fi
}

progress "starting the guests"
start_knem_guests knemgrp || exit $?

out=$(gr A "ucx_info -v; ucx_info -d | grep -E 'Transport|Device'")
relay ucx-info "$?" "$out"
if printf '%s\n' "$out" | grep -A1 'Transport: tcp' | grep -q 'Device: eth0'; then
	pass ucx-sees-tcp-on-eth0
else
	fail ucx-sees-tcp-on-eth0 "no tcp transport on eth0 in ucx_info -d"
fi

progress "ucx_perftest between the guests"
perftest tag_bw 13331
perftest ucp_get 13332
perftest ucp_put_bw 13333

progress "MPICH between the guests (hydra -launcher manual)"
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
	pass mpich-across-proxy-commands
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
	if [ "$sa" -eq 0 ] && [ "$sb" -eq 0 ]; then pass mpich-across-proxies; else fail mpich-across-proxies "exit status $sa in A, $sb in B"; fi
	out=$(gr A "i=0
while ! grep -q '^mpiexec exit' /tmp/hydra.log && [ \$i -lt 300 ]; do usleep 100000; i=\$((i + 1)); done
cat /tmp/hydra.log")
	st=$?
	stop_if_hung "$out"
	printf '%s\n' "$out" | grep -qx 'mpiexec exit 0' || st=1
	bw mpich-across "$st" "$out" across
else
	printf '%s\n' "$launch"
	fail mpich-across-proxy-commands "status $st, no proxy command for each host"
fi

progress "Open MPI between the guests (orted in B through the rsh agent)"
xenstore-rm "/local/domain/$(guest_domid A)/$RSH_NODE" 2> /dev/null
gr A "cd /tmp && printf 'knemA slots=1\nknemB slots=1\n' > ompi-hosts && KNEM_MPI_RSH=$RSH_NODE timeout $T mpirun.openmpi $OMPI_ARGS --hostfile ompi-hosts -np 2$(ompi_env) /mpi/knem_mpi_bw.openmpi $BW_ARGS" > /tmp/ompi.out 2>&1 &
m=$!
relay_rsh "$m"
wait "$m"
st=$?
bw ompi-across "$st" "$(cat /tmp/ompi.out)" across

progress "MPICH and Open MPI, two ranks in A"
out=$(gr A "cd /tmp && timeout $T mpiexec.hydra -launcher fork -n 2$(hydra_env) /mpi/knem_mpi_bw.mpich $BW_ARGS")
bw mpich-in-A "$?" "$out"
out=$(gr A "cd /tmp && timeout $T mpirun.openmpi $OMPI_ARGS -np 2 --oversubscribe$(ompi_env) /mpi/knem_mpi_bw.openmpi $BW_ARGS")
bw ompi-in-A "$?" "$out"
exit $rc
