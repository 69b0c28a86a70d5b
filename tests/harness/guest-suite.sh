#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The in-VM test suite, run by knem-vm with cwd = the repository root and
# knem.ko loaded: runs each program below (or each one given as an argument,
# a program path followed by its arguments in one word list) in order,
# prints PASS/FAIL per program, then a last line "N passed, M failed"
# counting GoogleTest test cases (one case per plain program).  A missing
# program is a failure.
#
# Sourced, it only defines functions (tests/run-all.sh uses case_counts and
# suite_counts).
set -euo pipefail
shopt -s inherit_errexit

# Paths relative to the repository root; *.sh run with bash, others directly.
readonly PROGRAMS=(
	tests/vm/knem_vm_test
	tests/abi/knem_classic_client
	tests/vm/module_cycles.sh
	tests/vm/bench_smoke.sh
)

# case_counts LOG STATUS: prints "passed failed" for one program's output.
# GoogleTest output counts its test cases; a crash or a non-zero status
# without failed cases counts one failure; a plain program counts one case.
case_counts() {
	local log=$1 status=$2 passed failed
	if grep -q '^\[==========\]' "$log"; then
		passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$log" | tail -n 1)
		failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below:.*/\1/p' "$log" | tail -n 1)
		passed=${passed:-0} failed=${failed:-0}
		if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
		if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
	elif [ "$status" -eq 0 ]; then
		passed=1 failed=0
	else
		passed=0 failed=1
	fi
	echo "$passed $failed"
}

# run_program LOG PROG [ARGS...]: runs PROG with output on stdout and in LOG.
run_program() {
	local log=$1 prog=$2
	shift 2
	case "$prog" in
	*.sh) bash "$prog" "$@" 2>&1 | tee "$log" ;;
	*) "./$prog" "$@" 2>&1 | tee "$log" ;;
	esac
}

# report VERDICT PROG PASSED FAILED [NOTE]: the per-program result line.
report() {
	echo "guest-suite: $1 $2 ($3 passed, $4 failed${5:+; $5})"
}

# suite_counts LOG: prints "passed failed" for a (possibly cut short) run of
# this suite: the sum of its per-program lines, plus one failure when the
# final line is missing (a program that never finished).
suite_counts() {
	local log=$1
	sed -n 's/^guest-suite: [A-Z]* [^ ]* (\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$log" |
		awk -v done="$(grep -cE '^[0-9]+ passed, [0-9]+ failed$' "$log")" '
			{ p += $1; f += $2 }
			END { print p + 0, f + (done ? 0 : 1) }'
}

main() {
	local entry prog words log status passed failed total_passed=0 total_failed=0
	local -a entries=("${PROGRAMS[@]}")
	[ $# -eq 0 ] || entries=("$@")
	log=$(mktemp)
	for entry in "${entries[@]}"; do
		read -ra words <<<"$entry"
		prog=${words[0]}
		echo "=== $entry"
		if [ ! -f "$prog" ] || { [[ $prog != *.sh ]] && [ ! -x "$prog" ]; }; then
			report FAIL "$prog" 0 1 "missing: not built?"
			total_failed=$((total_failed + 1))
			continue
		fi
		status=0
		run_program "$log" "${words[@]}" || status=$?
		read -r passed failed < <(case_counts "$log" "$status")
		total_passed=$((total_passed + passed))
		total_failed=$((total_failed + failed))
		if [ "$status" -eq 0 ] && [ "$failed" -eq 0 ]; then
			report PASS "$prog" "$passed" 0
		else
			report FAIL "$prog" "$passed" "$failed" "exit status $status"
		fi
	done
	rm -f "$log"
	echo "$total_passed passed, $total_failed failed"
	[ "$total_failed" -eq 0 ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
