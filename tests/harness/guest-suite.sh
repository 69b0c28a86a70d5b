#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The in-VM test suite, run by knem-vm with cwd = the repository root and
# knem.ko loaded: runs each program below in order, prints PASS/FAIL per
# program, then a last line "N passed, M failed" counting GoogleTest test
# cases (one case per plain program).  A missing program is a failure.
#
# Sourced, it only defines case_counts (also used by tests/run-all.sh).
set -euo pipefail
shopt -s inherit_errexit

# Paths relative to the repository root; *.sh run with bash, others directly.
readonly PROGRAMS=(
	tests/vm/knem_vm_test
	tests/abi/knem_classic_client
	tests/vm/module_cycles.sh
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

# run_program PROG LOG: runs PROG with output on stdout and in LOG.
run_program() {
	local prog=$1 log=$2
	case "$prog" in
	*.sh) bash "$prog" 2>&1 | tee "$log" ;;
	*) "./$prog" 2>&1 | tee "$log" ;;
	esac
}

main() {
	local prog log status passed failed total_passed=0 total_failed=0
	log=$(mktemp)
	for prog in "${PROGRAMS[@]}"; do
		echo "=== $prog"
		if [ ! -f "$prog" ] || { [[ $prog != *.sh ]] && [ ! -x "$prog" ]; }; then
			echo "FAIL: $prog is missing (not built?)"
			total_failed=$((total_failed + 1))
			continue
		fi
		status=0
		run_program "$prog" "$log" || status=$?
		read -r passed failed < <(case_counts "$log" "$status")
		total_passed=$((total_passed + passed))
		total_failed=$((total_failed + failed))
		if [ "$status" -eq 0 ] && [ "$failed" -eq 0 ]; then
			echo "PASS: $prog ($passed passed)"
		else
			echo "FAIL: $prog (exit status $status; $passed passed, $failed failed)"
		fi
	done
	rm -f "$log"
	echo "$total_passed passed, $total_failed failed"
	[ "$total_failed" -eq 0 ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
