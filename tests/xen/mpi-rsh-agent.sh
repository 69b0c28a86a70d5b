#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh in a guest
# Open MPI's remote shell between the Xen guests (--mca plm_rsh_agent),
# staged as /mpi/rsh-agent by tests/xen/stage-mpi.sh:
#
#   rsh-agent HOST COMMAND...
#
# mpirun calls it as it would call ssh, to start orted in the other guest.
# It hands COMMAND to dom0 through this guest's xenstore directory
# $KNEM_MPI_RSH (relative to /local/domain/<domid>, set by the scenario in
# mpirun's environment): the base64 command in cmd, then host.  dom0
# (relay_rsh in tests/xen/mpi-jobs.sh) runs it in HOST with guest_run
# and writes its exit status to status; the agent then exits with it, as
# ssh does when the remote command ends.  The guests have no ssh, and a
# remote shell of our own on their network would be one more daemon to
# start and stop in each guest; the xenstore channel is the harness's own,
# with its timeouts, and carries orted's output to dom0's log.
set -u
WAIT=600 # s: mpirun is cut before, by the scenario's timeout
D=${KNEM_MPI_RSH:?KNEM_MPI_RSH: the xenstore directory of this job}

[ $# -ge 2 ] || { echo "usage: rsh-agent HOST COMMAND..." >&2; exit 255; }
host=$1
shift
cmd=$(printf '%s' "$*" | base64 -w 0)
# a guest's xenstore node holds at most 2048 bytes
if [ "${#cmd}" -gt 2048 ]; then
	echo "rsh-agent: command too long for one xenstore node (${#cmd} bytes in base64)" >&2
	exit 255
fi
xenstore-write "$D/cmd" "$cmd" "$D/host" "$host" || exit 255
end=$(($(cut -d. -f1 /proc/uptime) + WAIT))
until st=$(xenstore-read "$D/status" 2>/dev/null); do
	if [ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ]; then
		echo "rsh-agent: no status from dom0 for $host after $WAIT s" >&2
		exit 255
	fi
	# a watch fires at once when set, then on a change: at most 2 s each
	timeout 2 xenstore-watch -n 2 "$D/status" > /dev/null 2>&1
done
exit "$st"
