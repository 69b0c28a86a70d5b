# SPDX-License-Identifier: BSD-3-Clause
# dom0 script: knem-front's regions across two guests of one sharing group
# (tests/xen/guest/regions_check.c does the guests' side):
#  - a 64 MiB region of A (16384 pages: a build of REGION_APPENDs) read
#    and written by B near its end, and by 20 MiB inline copies (above one
#    INLINE_COPY); A sees exactly B's bytes;
#  - a single-use region of A consumed by B: the second use fails, and
#    A's WAIT_RELEASED loop releases it while A's process still runs;
#  - 800 single-use regions of 32 pages, created by A and consumed by B:
#    A's grant table (36 frames, 18432 entries) would be exhausted after
#    ~570 of them if their grants leaked; dom0's region count of A returns
#    to its baseline;
#  - A and B both use each of 300 single-use regions of A at once: exactly
#    one use of each succeeds (A's own use claims the region in dom0
#    first), and every region is released in A and in dom0;
#  - A munmaps a region's memory: B's next copy fails;
#  - an 80 MiB region of A does not fit A's grant table: ENOMEM and one
#    log line asking for a larger max_grant_frames;
#  - both guests unload knem-front (the loop stops).
#   make -C tests/xen guest-programs XT=/tmp/xr/xt
#   tests/xen/knem-xen-vm --dom0-module dom0-backend/knem.ko \
#	--domu-module dom0-backend/knem.ko --domu-module domU-frontend/knem-front.ko --domu-files /tmp/xr \
#	--dom0-script tests/xen/scenario-regions.sh --timeout 1500
rc=0
pass() { echo "xen-check: PASS $1"; }
fail() { echo "xen-check: FAIL $1: $2"; rc=1; }
# check NAME TEXT PATTERN: PASS if TEXT has a line matching PATTERN
check() {
	if echo "$2" | grep -q -- "$3"; then pass "$1"; else fail "$1" "no '$3' in: $(echo "$2" | tr '\n' '|')"; fi
}
X=/xt/regions_check

# dom0's live region count of a guest (its "Xen domain" statistics line)
be_regions() {
	sed -n "s/^ *Xen domain $1: regions \([0-9]*\),.*/\1/p" /dev/knem
}
# the first line of FILE in guest G once it is a number (a cookie)
wait_cookie() { # G FILE
	i=0
	while [ $i -lt 150 ]; do
		c=$(guest_run "$1" "head -n 1 $2" 2>/dev/null)
		case $c in
		FAIL*) echo "$c" >&2; return 1 ;;
		'' | *[!0-9]*) ;;
		*) echo "$c"; return 0 ;;
		esac
		sleep 1
		i=$((i + 1))
	done
	return 1
}
# waits up to 30 s for A's statistics to show PATTERN; prints them
wait_a_stats() { # PATTERN
	i=0
	while [ $i -lt 15 ]; do
		s=$(guest_run A 'cat /dev/knem')
		if echo "$s" | grep -q -- "$1"; then echo "$s"; return 0; fi
		sleep 2
		i=$((i + 1))
	done
	echo "$s"
	return 1
}

# A's grant table: 36 frames of 512 entries (72 MiB of regions)
echo 'max_grant_frames = 36' >>/etc/xen/knemA.cfg
start_knem_guests grp1 || exit $?
A=$(guest_domid A)
B=$(guest_domid B)
guest_run A 'echo 1 > /sys/module/knem/parameters/statsverbose'
# a quick first command: guest_run takes a guest whose first command runs
# longer than its 2 s watch for dead (rsp/status does not exist yet)
guest_run B true
progress "guests up (A=$A, B=$B)"

# --- a 64 MiB region, used by B near its end and by 20 MiB inline copies
guest_run A "$X hold 64 >/tmp/hold.out 2>&1 </dev/null &"
if cookie=$(wait_cookie A /tmp/hold.out); then
	pass big-region-create
	out=$(guest_run B "$X peer $cookie 64")
	echo "$out"
	check big-region-inline-read-end "$out" "inline read of the last"
	check big-region-copy-end "$out" "region copy of the last"
	check inline-20mib-read "$out" "20 MiB inline read (3 iovecs) OK"
	check inline-20mib-write "$out" "20 MiB inline write OK"
	check big-region-writes-read-back "$out" "writes read back OK"
	out=$(guest_run A 'touch /tmp/hold.stop; i=0; while [ $i -lt 120 ] && ! grep -q hold: /tmp/hold.out; do sleep 1; i=$((i+1)); done; cat /tmp/hold.out')
	echo "$out"
	check big-region-owner-sees-writes "$out" "all 67108864 bytes as expected"
else
	fail big-region-create "no cookie: $(guest_run A 'cat /tmp/hold.out')"
fi
sleep 2
n=$(be_regions "$B")
[ "$n" = 0 ] && pass inline-temp-regions-destroyed ||
	fail inline-temp-regions-destroyed "dom0 still has $n regions of B"
progress "large regions done"

# --- a single-use region consumed by B, released in A by WAIT_RELEASED
guest_run A "$X su-create >/tmp/su.out 2>&1 </dev/null &"
if cookie=$(wait_cookie A /tmp/su.out); then
	out=$(guest_run B "$X su-use $cookie")
	echo "$out"
	check singleuse-first-use "$out" "first use OK"
	check singleuse-second-use-einval "$out" "second use refused (EINVAL)"
	# A's process is still running: only the loop can have released it
	if s=$(wait_a_stats "Xen frontend regions: 0 shared (0 grants), released after another domain's use 1,"); then
		check singleuse-released-in-owner "$s" "Listed 0 regions"
	else
		fail singleuse-released-in-owner "$(echo "$s" | tr '\n' '|')"
	fi
	guest_run A 'ps | grep -q "[s]u-create" && echo still running' | grep -q running &&
		pass singleuse-owner-still-running ||
		fail singleuse-owner-still-running "su-create exited early"
	guest_run A 'touch /tmp/su.stop'
else
	fail singleuse-create "no cookie"
fi
progress "single-use region done"

# --- 800 single-use regions of 32 pages, A to B (more than the grants of ~570)
base=$(be_regions "$A")
guest_run B "$X su-sink 800 32 >/tmp/sink.out 2>&1 </dev/null &"
if mbox=$(wait_cookie B /tmp/sink.out); then
	t0=$(date +%s)
	out=$(guest_run A "$X su-source 800 32 $mbox")
	echo "$out ($(($(date +%s) - t0)) s)"
	check singleuse-800-created "$out" "800 single-use regions of 32 pages consumed by B"
	out=$(guest_run B 'sleep 1; cat /tmp/sink.out')
	check singleuse-800-consumed "$out" "consumed 800 single-use regions"
	if s=$(wait_a_stats "Xen frontend regions: 0 shared (0 grants), released after another domain's use 801,"); then
		pass singleuse-800-released-in-owner
	else
		fail singleuse-800-released-in-owner "$(echo "$s" | grep 'Xen frontend')"
	fi
	n=$(be_regions "$A")
	[ "$n" = "$base" ] && pass singleuse-800-dom0-baseline ||
		fail singleuse-800-dom0-baseline "dom0 has $n regions of A, $base before"
else
	fail singleuse-800-created "no mailbox cookie from B"
fi
progress "800 single-use regions done"

# --- A and B both use each of 300 single-use regions of A at once (A in its
# own guest, B through dom0): exactly one of the two uses succeeds
guest_run B "$X su-sink 300 4 race >/tmp/race.out 2>&1 </dev/null &"
if mbox=$(wait_cookie B /tmp/race.out); then
	out_a=$(guest_run A "$X su-source 300 4 $mbox race")
	echo "$out_a"
	out_b=$(guest_run B 'i=0; while ! grep -q "^su-sink: used" /tmp/race.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; cat /tmp/race.out')
	echo "$out_b"
	used_a=$(echo "$out_a" | sed -n 's/^su-source: used \([0-9]*\) of 300 .*/\1/p')
	used_b=$(echo "$out_b" | sed -n 's/^su-sink: used \([0-9]*\) of 300 .*/\1/p')
	if [ -n "$used_a" ] && [ -n "$used_b" ] && [ $((used_a + used_b)) -eq 300 ]; then
		pass singleuse-race-each-used-once
	else
		fail singleuse-race-each-used-once "A used ${used_a:-?}, B ${used_b:-?} of 300"
	fi
	if s=$(wait_a_stats "Xen frontend regions: 0 shared (0 grants)"); then
		pass singleuse-race-all-released-in-A
	else
		fail singleuse-race-all-released-in-A "$(echo "$s" | grep 'Xen frontend')"
	fi
	n=$(be_regions "$A")
	[ "$n" = "$base" ] && pass singleuse-race-dom0-baseline ||
		fail singleuse-race-dom0-baseline "dom0 has $n regions of A, $base before"
else
	fail singleuse-race-each-used-once "no mailbox cookie from B"
fi
progress "single-use race done"

# --- A munmaps a region B holds the cookie of
guest_run A "$X unmap-create >/tmp/unmap.out 2>&1 </dev/null &"
if cookie=$(wait_cookie A /tmp/unmap.out); then
	out=$(guest_run B "$X unmap-read $cookie ok")
	check unmap-read-before "$out" "read OK"
	# exiting processes forward invalidations too (their memory goes first)
	fwd=$(guest_run A 'cat /dev/knem' | sed -n 's/.*invalidations forwarded \([0-9]*\)$/\1/p')
	guest_run A 'touch /tmp/unmap.go; sleep 1; cat /tmp/unmap.out'
	out=$(guest_run B "$X unmap-read $cookie fail")
	echo "$out"
	check unmap-peer-copy-fails "$out" "refused after unmap"
	s=$(guest_run A 'cat /dev/knem')
	check unmap-invalidation-forwarded "$s" "invalidations forwarded $((fwd + 1))$"
	guest_run A 'touch /tmp/unmap.stop'
else
	fail unmap-create "no cookie"
fi

# --- a region too large for A's grant table
out=$(guest_run A "$X too-big 80")
echo "$out"
check grant-table-full-enomem "$out" "refused (ENOMEM)"
log=$(guest_dmesg A | grep 'grant entries')
echo "$log"
check grant-table-full-log "$log" "20480 pages need 20480 grant entries.*raise max_grant_frames in the domain's xl.cfg"
[ "$(echo "$log" | grep -c 'grant entries')" = 1 ] && pass grant-table-full-one-line ||
	fail grant-table-full-one-line "$(echo "$log" | grep -c 'grant entries') lines"
if s=$(wait_a_stats "Xen frontend regions: 0 shared (0 grants)"); then
	pass grant-table-full-nothing-leaked
else
	fail grant-table-full-nothing-leaked "$(echo "$s" | grep 'Xen frontend')"
fi
progress "grant table limit done"

cat /dev/knem | grep "Xen domain"
for g in A B; do
	out=$(guest_dmesg $g | grep -E 'knem_front: .*(still in use|refused|implausible|unknown|malformed|not supported|quota)')
	[ -z "$out" ] && pass "guest-$g-log-clean" || fail "guest-$g-log-clean" "$out"
done
# the WAIT_RELEASED loop stops on unbind, and the module unloads
for g in A B; do
	out=$(guest_run $g 'for d in /sys/bus/xen/drivers/knem/knem-*; do echo ${d##*/} > /sys/bus/xen/drivers/knem/unbind; done; rmmod knem_front && echo unloaded; ps | grep -c "[k]nemfront-rel"')
	echo "$g: $out"
	check "unload-$g" "$out" "^unloaded"
	check "loop-stopped-$g" "$out" "^0$"
done
sleep 2
n=$(be_regions "$A")
[ -z "$n" ] || [ "$n" = 0 ] && pass dom0-regions-of-A-gone ||
	fail dom0-regions-of-A-gone "$n left"
exit $rc
