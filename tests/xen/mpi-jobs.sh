# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh in dom0
# Launching knem_mpi_bw with Debian's MPI (staged by tests/xen/stage-mpi.sh
# as /mpi in the guests) in the dom0 scripts that need it: the Xen suite's
# tests/xen/scenario-mpi.sh and the benchmark's tools/xen-bench-dom0.sh.
# Sourced after rootfs/dom0-lib.sh and dom0-checks.sh:
#	. "/host$KNEM_XEN_REPO/tests/xen/mpi-jobs.sh"
#
#   mpich_across NAME ARGS   one rank in A, one in B: MPICH (ch4:ucx), hydra's
#                            manual launcher, dom0 running each proxy in its
#                            guest
#   ompi_across NAME ARGS    the same with Open MPI (pml ucx): mpirun in A,
#                            orted started in B through /mpi/rsh-agent and
#                            dom0 (relay_rsh)
#   mpi_local G|dom0 LIB ARGS  both ranks in guest G, or in dom0 (the host's
#                            own MPI packages through host_run, /mpi copied
#                            into the host root by mpi_stage_in_dom0);
#                            LIB is mpich or ompi
#   mpich_finalize_hung STATUS  the job failed only in MPICH's finalize
# Each sets MPI_OUT to the job's output (stdout and stderr of the ranks and
# the launcher) and returns the job's status, non-zero also when a launch
# step failed (printed, NAME in front).  Every process runs with $MPI_ENV.
# A job whose failure is expected (a detach during it) is checked by its
# caller alone.

# The environment of every UCX and MPI process, as NAME=VALUE words (no
# blanks in a value): the one place to change it.
MPI_ENV="LD_PRELOAD=/mpi/libuct_knemxen.so UCX_LOG_LEVEL=info"
MPI_OUT=""
# s: any MPI command is killed then, so that a hang is a FAIL.  With
# SIGKILL: busybox's timeout returns the command's own status, and hydra's
# proxies exit 0 on SIGTERM, which hid a hang as a success.
T=240
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

# relay_rsh NAME PID: Open MPI's remote shell (/mpi/rsh-agent in A): waits,
# while the background guest_run PID (mpirun) lasts, for the agent's
# request in A's $RSH_NODE, runs its command in B and reports its exit
# status to the agent; returns that status.
relay_rsh() {
	local base host cmd out st
	base=/local/domain/$(guest_domid A)/$RSH_NODE
	until host=$(xenstore-read "$base/host" 2>/dev/null); do
		kill -0 "$2" 2>/dev/null || { echo "$1: mpirun ended before it asked for orted"; return 1; }
		timeout 2 xenstore-watch -n 2 "$base/host" > /dev/null 2>&1
	done
	cmd=$(xenstore-read "$base/cmd" | base64 -d)
	echo "rsh-agent: $host:$cmd"
	[ "$host" = knemB ] || { echo "$1: mpirun asked for host '$host', not knemB"; return 1; }
	out=$(gr B "cd /tmp && timeout -s KILL $T sh -c $(sq "$cmd")")
	st=$?
	xenstore-write "$base/status" "$st"
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/orted in B: /'
	echo "$1: orted in B exit status $st"
	return "$st"
}

mpich_across() {
	local name=$1 launch st p0 p1 a b sa sb
	shift
	MPI_OUT=""
	launch=$(gr A "cd /tmp || exit 1
	rm -f hydra.log
	(timeout -s KILL $T mpiexec.hydra -launcher manual -hosts knemA,knemB -ppn 1 -n 2$(hydra_env) /mpi/knem_mpi_bw.mpich $* > hydra.log 2>&1; echo \"mpiexec exit \$?\" >> hydra.log) > /dev/null 2>&1 &
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
	if [ "$st" -ne 0 ] || [ -z "$p0" ] || [ -z "$p1" ]; then
		printf '%s\n' "$launch"
		echo "$name: no proxy command for each host (status $st)"
		return 1
	fi
	gr A "cd /tmp && timeout -s KILL $T $p0" > /tmp/proxy0.out 2>&1 &
	a=$!
	gr B "cd /tmp && timeout -s KILL $T $p1" > /tmp/proxy1.out 2>&1 &
	b=$!
	wait "$a"
	sa=$?
	wait "$b"
	sb=$?
	sed 's/^/proxy 0 in A: /' /tmp/proxy0.out
	sed 's/^/proxy 1 in B: /' /tmp/proxy1.out
	stop_if_hung
	echo "$name: proxy exit status $sa in A, $sb in B"
	MPI_OUT=$(gr A "i=0
	while ! grep -q '^mpiexec exit' /tmp/hydra.log && [ \$i -lt 300 ]; do usleep 100000; i=\$((i + 1)); done
	cat /tmp/hydra.log")
	st=$?
	stop_if_hung "$MPI_OUT"
	[ "$st" -eq 0 ] || return "$st"
	printf '%s\n' "$MPI_OUT" | grep -qx 'mpiexec exit 0' && [ "$sa" -eq 0 ] && [ "$sb" -eq 0 ]
}

ompi_across() {
	local name=$1 m st ost
	shift
	xenstore-rm "/local/domain/$(guest_domid A)/$RSH_NODE" 2> /dev/null
	gr A "cd /tmp && printf 'knemA slots=1\nknemB slots=1\n' > ompi-hosts && KNEM_MPI_RSH=$RSH_NODE timeout -s KILL $T mpirun.openmpi $OMPI_ARGS --hostfile ompi-hosts -np 2$(ompi_env) /mpi/knem_mpi_bw.openmpi $*" > /tmp/ompi.out 2>&1 &
	m=$!
	relay_rsh "$name" "$m"
	ost=$?
	wait "$m"
	st=$?
	MPI_OUT=$(cat /tmp/ompi.out)
	[ "$st" -eq 0 ] || return "$st"
	return "$ost"
}

# mpich_finalize_hung STATUS: the last job (MPI_OUT) delivered and checked
# every message ("messages N bytes B bad 0") and still failed (STATUS):
# MPICH 4.0.2's finalize hang, which about one job in seven meets under
# TCG when the ranks' active messages go over TCP (tests/xen/README.md):
# one rank waits in a PMI barrier while the other's UCX disconnect needs
# it to progress (pmodels/mpich#6596, fixed after 4.0.2).
mpich_finalize_hung() {
	[ "$1" -ne 0 ] && printf '%s\n' "$MPI_OUT" | grep -q '^messages [0-9]* bytes [0-9]* bad 0$'
}

# mpi_stage_in_dom0 STAGE: the staged /mpi (STAGE/mpi, a host path) at /mpi
# in the host root that host_run enters, for mpi_local dom0.
mpi_stage_in_dom0() {
	mkdir -p /host/mpi && cp -a "/host$1/mpi/." /host/mpi/
}

mpi_local() {
	local where=$1 lib=$2 cmd st
	shift 2
	case $lib in
	mpich) cmd="mpiexec.hydra -launcher fork -n 2$(hydra_env) /mpi/knem_mpi_bw.mpich $*" ;;
	ompi) cmd="mpirun.openmpi $OMPI_ARGS -np 2 --oversubscribe$(ompi_env) /mpi/knem_mpi_bw.openmpi $*" ;;
	*) echo "mpi_local: unknown library $lib" >&2; return 2 ;;
	esac
	if [ "$where" = dom0 ]; then
		MPI_OUT=$(host_run "cd /tmp && timeout -s KILL $T $cmd" 2>&1)
	else
		MPI_OUT=$(gr "$where" "cd /tmp && timeout -s KILL $T $cmd")
	fi
	st=$?
	stop_if_hung "$MPI_OUT"
	return "$st"
}
