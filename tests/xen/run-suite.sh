#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The Xen suite: one knem-xen-vm boot per scenario (Xen + dom0 + two PV
# guests under QEMU TCG, dom0-backend/knem.ko in dom0, knem.ko and knem-front.ko in the
# guests).
#
#   tests/xen/run-suite.sh [SCENARIO...]   (default: tests/xen/scenario-*.sh)
#
# Builds the static guest programs (tests/xen/guest/, the classic client
# tests/abi/knem_classic_client.c and tools/knem_xbench.cpp with libknem)
# with make (tests/xen/Makefile.am's guest-programs) into xt/ of a files
# directory given to the guests and to dom0 (/xt/NAME).  A scenario's lines
#   # run-suite-args: ARGS...
# add launcher options for its boot (for example module parameters); its
# lines
#   # run-suite-domu-files: SCRIPT [ARGS...]
# run SCRIPT (a path in the repository, for example tests/xen/stage-mpi.sh)
# before the boot, and give the directory it prints to the guests as one
# more --domu-files.
# Counts the "xen-check: PASS|FAIL" lines of each scenario's output; a boot
# that ends non-zero without a FAIL line, or with 97-99 (module load,
# kernel-log finding, crash or timeout), counts one more failure.  Run
# directories: .cache/xen-suite/runs/SCENARIO; launcher output:
# .cache/logs/xen-SCENARIO.log.  Prints one result line per scenario,
# then "N passed, M failed"; exits non-zero on any failure.  Needs the
# tree configured and the modules built (make).
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${KNEM_CACHE:-$REPO/.cache}
readonly HERE REPO CACHE
readonly TIMEOUT=600 # s per boot; a passing one takes 2-5 min

say() { echo "run-suite: $*"; }

# Builds the programs into $1/xt (make rebuilds what changed).
build_programs() {
	make -s -C "$REPO/tests/xen" guest-programs XT="$1/xt"
}

# Prints the extra launcher arguments of scenario $1, one per line.
scenario_args() {
	local line words
	while IFS= read -r line; do
		read -ra words <<< "${line#\# run-suite-args:}"
		printf '%s\n' "${words[@]}"
	done < <(grep '^# run-suite-args:' "$1" || true)
}

# Prints "--domu-files DIR" (one word per line) for each
# "# run-suite-domu-files:" line of scenario $1, running its script from
# the repository; fails if one fails.
scenario_files() {
	local line words dir
	while IFS= read -r line; do
		read -ra words <<< "${line#\# run-suite-domu-files:}"
		dir=$(cd "$REPO" && "${words[@]}") || return 1
		printf '%s\n' --domu-files "$dir"
	done < <(grep '^# run-suite-domu-files:' "$1" || true)
}

main() {
	local files=$CACHE/xen-suite/files scenario name log run status st t0 t
	local passed=0 failed=0 p f checks extra=() more
	local -a scenarios=("$@")
	[ $# -gt 0 ] || scenarios=("$HERE"/scenario-*.sh)
	for f in dom0-backend/knem.ko domU-frontend/knem-front.ko; do
		[ -f "$REPO/$f" ] || { say "error: $f is not built (make)"; echo "0 passed, 1 failed"; return 1; }
	done
	if ! build_programs "$files"; then
		say "error: building the guest programs failed (make -C tests/xen guest-programs)"
		echo "0 passed, 1 failed"
		return 1
	fi
	mkdir -p "$CACHE/logs"
	t0=$SECONDS
	for scenario in "${scenarios[@]}"; do
		name=$(basename "$scenario" .sh)
		log=$CACHE/logs/xen-$name.log
		run=$CACHE/xen-suite/runs/$name
		mapfile -t extra < <(scenario_args "$scenario")
		say "=== $name ${extra[*]}"
		t=$SECONDS
		if ! more=$(scenario_files "$scenario"); then
			say "FAIL $name (its run-suite-domu-files script failed; no boot)"
			failed=$((failed + 1))
			continue
		fi
		[ -z "$more" ] || mapfile -t -O "${#extra[@]}" extra <<< "$more"
		status=0
		"$HERE/knem-xen-vm" --timeout "$TIMEOUT" \
			--dom0-module "$REPO/dom0-backend/knem.ko" \
			--domu-module "$REPO/dom0-backend/knem.ko" \
			--domu-module "$REPO/domU-frontend/knem-front.ko" \
			--dom0-files "$files" --domu-files "$files" --out "$run" \
			"${extra[@]}" --dom0-script "$scenario" 2>&1 | tee "$log" ||
			status=${PIPESTATUS[0]}
		# the script's own output: no kernel message cut into its lines
		checks=$run/out/dom0-script.log
		[ -f "$checks" ] || checks=$log
		p=$(grep -c '^xen-check: PASS ' "$checks" || true)
		f=$(grep -c '^xen-check: FAIL ' "$checks" || true)
		st=PASS
		if [ "$status" -ne 0 ] && { [ "$f" -eq 0 ] || [ "$status" -ge 97 ]; }; then
			f=$((f + 1))
		fi
		[ "$f" -eq 0 ] || st=FAIL
		passed=$((passed + p))
		failed=$((failed + f))
		say "$st $name ($p passed, $f failed; exit status $status; $((SECONDS - t)) s; log $log)"
	done
	say "$((SECONDS - t0)) s for ${#scenarios[@]} scenarios"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
