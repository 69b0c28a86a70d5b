#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench_smoke.sh - a short run of tools/knem-bench inside the test VM
# (tests/harness/knem-vm, knem.ko loaded, nothing else using it): the
# benchmark must finish with every message intact, /dev/knem must have
# counted exactly the copies it made (--check-counters), and every method of
# every section must show a positive figure at every size, with the
# default buffers (aligned_alloc'd as an application's); then the bandwidth
# section again with --huge-pages (buffers aligned on and advised for huge
# pages), one message per request.  The header must name the kind of
# buffers of each run and their sizes (the --quick source: 256 KiB as
# allocated, rounded up to one 2 MiB huge page with --huge-pages); how much
# of them the kernel gave in huge pages is not checked (a small VM may have
# none).  A few seconds under TCG.
#
#   tests/harness/knem-vm --module dom0-backend/knem.ko -- 'bash tests/vm/bench_smoke.sh'
set -euo pipefail

bench=tools/knem-bench
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
	echo "bench_smoke: FAIL: $*" >&2
	exit 1
}

[ -x "$bench" ] || fail "$bench is not built"
status=0
"$bench" --quick --check-counters > "$out" 2>&1 || status=$?
cat "$out"
[ "$status" -eq 0 ] || fail "knem-bench exited with status $status"
grep -q '^# counters: .*: OK$' "$out" || fail "no counter check in the output"
grep -q "^# message buffers: as malloc'd: aligned_alloc(4096); THP mode: [^;]*; .* sender .* of 256 KiB, " "$out" ||
	fail "the default buffers (aligned_alloc'd, 256 KiB for the sender) not reported"

# The CSV: each expected (section, method) at each of its sizes, value > 0.
sed -n '/^# csv begin$/,/^# csv end$/p' "$out" | sed '1d;$d' |
	awk -F, -v sizes="4096 8192 16384 32768 65536 131072 262144" '
	BEGIN {
		n = split(sizes, size, " ")
		split("knem-single knem-cached cma two-copy memcpy", m, " ")
		for (i in m) for (j = 1; j <= n; j++) want["bandwidth," m[i] "," size[j]] = 1
		split("knem-single/cma knem-single/two-copy knem-single/memcpy knem-cached/memcpy", m, " ")
		for (i in m) for (j = 1; j <= n; j++) want["ratio," m[i] "," size[j]] = 1
		split("create destroy", m, " ")
		for (i in m) for (j = 1; j <= n; j++) want["region," m[i] "," size[j]] = 1
		split("handshake knem-single knem-cached cma two-copy memcpy", m, " ")
		for (i in m) { want["latency," m[i] ",8"] = 1; want["latency," m[i] ",1024"] = 1 }
		split("knem-pin-once knem-per-reader cma", m, " ")
		for (i in m) want["broadcast," m[i] ",65536"] = 1
		want["ratio,pin-once/per-reader,65536"] = 1
	}
	NR == 1 { next }
	{
		key = $1 "," $2 "," $3
		if (!(key in want)) { print "bench_smoke: unexpected row " key; bad = 1; next }
		if (!($10 > 0)) { print "bench_smoke: " key " is " $10 ", not positive"; bad = 1 }
		delete want[key]
	}
	END {
		for (key in want) { print "bench_smoke: missing row " key; bad = 1 }
		exit bad
	}' || fail "the CSV is incomplete or has a non-positive figure"
# The other buffer and hand-over modes: huge pages, one message per request.
status=0
"$bench" --quick --huge-pages --window 1 --sections bandwidth --check-counters > "$out" 2>&1 ||
	status=$?
cat "$out"
[ "$status" -eq 0 ] || fail "knem-bench --huge-pages --window 1 exited with status $status"
grep -q '^# message buffers: advised for huge pages (--huge-pages); THP mode: [^;]*; .* sender .* of 2 MiB, ' "$out" ||
	fail "--huge-pages not reported (or its sender's buffer not one 2 MiB huge page)"
grep -q '^# bandwidth: up to 1 messages ' "$out" || fail "--window 1 not reported"
grep -q '^# counters: .*: OK$' "$out" || fail "no counter check with --huge-pages"
echo "bench_smoke: PASS (every method moved every message, in buffers as malloc'd and advised for huge pages; /dev/knem counted every copy)"
