# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=dash # busybox sh, sourced by the dom0 scripts
# scenario-hostile.sh and scenario-hardening.sh after dom0-checks.sh: what
# they check after each phase of tests/xen/guest/hostile_front.c in guest
# B (A's domid in $A; the base totals in $base_b).
X=/xt/hostile_front
PATTERNS=${KNEM_XEN_PATTERNS:-BUG|WARNING|Oops|general protection|Call Trace|Kernel panic|soft lockup|blocked for more than}

# the backend's totals: "interfaces I, mapped rings R, guest regions G,
# dom0 pages P, mapped guest pages M"
totals() { sed -n 's/^ *Xen backend: //p' /dev/knem; }
# waits up to 60 s for the totals to be $1
wait_totals() { # WANT NAME
	i=0
	while [ "$(totals)" != "$1" ] && [ $i -lt 120 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	t=$(totals)
	[ "$t" = "$1" ] && pass "$2" || fail "$2" "totals '$t', expected '$1'"
}
# dom0's kernel log since the last call has no BUG, WARNING, Oops...
dmesg_lines=0
dom0_log_clean() { # NAME
	dmesg > /tmp/dmesg.now
	n=$(wc -l < /tmp/dmesg.now)
	if tail -n +$((dmesg_lines + 1)) /tmp/dmesg.now | grep -E "$PATTERNS" > /tmp/dmesg.bad; then
		fail "$1" "$(head -n 5 /tmp/dmesg.bad | tr '\n' '|')"
	else
		pass "$1"
	fi
	dmesg_lines=$n
}
# A creates a shared region (REGION_CREATE in dom0) and closes it
# (REGION_DESTROY): A's connection works
a_works() { # NAME
	before=$(dom_stat "$A" requests)
	out=$(guest_run A 'rm -f /tmp/aw /tmp/aw.*
/xt/attach_copy hold /tmp/aw 5 > /tmp/aw.out 2>&1 &
i=0
while [ ! -s /tmp/aw ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
/xt/attach_copy read "$(cat /tmp/aw)" 5
touch /tmp/aw.stop
wait
cat /tmp/aw.out /tmp/aw.done')
	after=$(dom_stat "$A" requests)
	if echo "$out" | grep -q '^ok' && echo "$out" | grep -q released &&
		[ "${after:-0}" -ge $((${before:-0} + 2)) ]; then
		pass "$1"
	else
		fail "$1" "dom0 requests of A $before -> $after; $(echo "$out" | tr '\n' '|')"
	fi
}
# runs a hostile phase in B; its checks are this script's
hostile() { # NAME ARGS...
	name=$1
	shift
	out=$(guest_run B "HOSTILE_PEER=$A $X $*" 2>&1)
	st=$?
	echo "$out"
	echo "$out" | grep -q '^xen-check: FAIL' ||
		[ $st -eq 0 ] || fail "$name" "exit status $st"
	echo "$out" | grep -q '^xen-check: FAIL' && rc=1
	progress "hostile $name done"
}
# after a phase: B closed, the backend's totals back, A works, log clean
after_phase() { # NAME
	wait_totals "$base_b" "$1-totals-back"
	a_works "$1-honest-guest-works"
	dom0_log_clean "$1-dom0-log-clean"
}
