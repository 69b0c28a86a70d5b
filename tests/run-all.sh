#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The project's test command, from a fresh clone on Debian 12 (as root, or
# with sudo for the first host setup):
#   host setup, build, host unit tests (make check: GoogleTest under
#   ASan/UBSan), the in-VM suite (tests/harness/guest-suite.sh) with
#   dom0-backend/knem.ko in Debian's kernel under QEMU TCG, Open MPI and
#   UCX built against our knem_io.h running over knem.ko in that VM
#   (tests/mpi/run.sh; the builds are cached in .cache/mpi), then the Xen
#   suite (tests/xen/run-suite.sh: Xen + dom0 + two PV guests under QEMU
#   TCG, knem.ko in dom0 and knem-front.ko in the guests), then the install
#   paths (tests/packaging/check-packaging.sh: knem_local_install, the
#   Debian packages with DKMS in a chroot and in the VM, rpmbuild -tb).
# Ends with one line "N passed, M failed" (test cases, host and VM); exits
# non-zero on any failure, kernel-log findings included; the failure list
# before that line names every stage that failed.
# shellcheck disable=SC2317 # the stages are called through run_stage
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=SCRIPTDIR/harness/build.sh
. "$(dirname "$(readlink -f "$0")")/harness/build.sh"
# shellcheck source=SCRIPTDIR/harness/guest-suite.sh
. "$KNEM_HARNESS/guest-suite.sh"
# shellcheck source=SCRIPTDIR/mpi/run.sh
. "$KNEM_REPO/tests/mpi/run.sh"

passed=0 failed=0
# Logs older than this run's stamp are not this run's.
readonly run_stamp=$KNEM_LOGS/run.stamp
# The stages that failed, each with its count and why when known: the
# failure list names them even when no log has a FAIL line (a build that
# failed, a setup step).
failed_stages=()
stage_why=""

count() {
	passed=$((passed + $1))
	failed=$((failed + $2))
}

# stage_failed_because WHY: says why the running stage fails (run_stage).
stage_failed_because() {
	stage_why+="${stage_why:+; }$1"
}

# run_stage NAME COMMAND...: runs a stage; when it counted failures, NAME
# goes into the failure list with their number and why.
run_stage() {
	local name=$1 before=$failed
	shift
	stage_why=""
	"$@"
	if [ "$failed" -gt "$before" ]; then
		failed_stages+=("$name: $((failed - before)) failed${stage_why:+ ($stage_why)}")
	fi
}

# Lines that say what failed: GoogleTest's failed cases and assertions (with
# the 6 lines after an assertion), the FAIL lines of the in-VM suite and of
# the MPI, Xen and packaging checks, the harnesses' verdicts and errors.
FAILURE_PATTERN='^\[  FAILED  \] [A-Z]|: Failure$|^(guest-suite|mpi-check|xen-check|run-suite): FAIL|^check-packaging: FAIL|^knem-(xen-)?vm: .*(FAIL|FINDINGS|timed out|never reported)|^([A-Za-z0-9_-]+: )?error: '

# failure_digest: those lines from every log this run wrote (once each, at
# most 80), so that CI output showing only its end still says what failed.
failure_digest() {
	local stage lines
	echo "failed stages:"
	for stage in "${failed_stages[@]}"; do
		echo "  $stage"
	done
	echo "what failed (from the logs in $KNEM_LOGS and tests/*/):"
	# shellcheck disable=SC2016 # awk's own $0
	lines=$(find "$KNEM_LOGS" "$KNEM_REPO/tests" -name '*.log' -newer "$run_stamp" -print0 |
		sort -z | FAILURE_PATTERN=$FAILURE_PATTERN xargs -0 -r awk '
			FNR == 1 || /^\[/ { context = 0 }
			context > 0 { context--; print "  " file ": " $0; next }
			$0 ~ ENVIRON["FAILURE_PATTERN"] && !seen[$0]++ {
				file = FILENAME; sub(/.*\//, "", file)
				print "  " file ": " $0
				if (/: Failure$/) context = 6
			}' 2>/dev/null | head -n 80 || true)
	if [ -n "$lines" ]; then
		echo "$lines"
	else
		echo "  (no log line says more: see the failed stages' messages above)"
	fi
}

finish() {
	[ "$failed" -eq 0 ] || failure_digest
	echo "$passed passed, $failed failed"
	if [ "$failed" -eq 0 ]; then exit 0; fi
	exit 1
}

# automake's result for one test (.trs) as an exit status.
trs_status() {
	case "$(sed -n 's/^:test-result: //p' "$1" | head -n 1)" in
	PASS | XFAIL | SKIP) echo 0 ;;
	*) echo 1 ;;
	esac
}

# make check, then the cases of every test it ran (logs newer than a stamp);
# a make check failure that no test accounts for counts one.
unit_tests() {
	local stamp=$KNEM_LOGS/unit.stamp status=0 trs failed_before=$failed
	touch "$stamp"
	make -s -C "$KNEM_REPO" -j"$(nproc)" check 2>&1 | tee "$KNEM_LOGS/unit.log" || status=$?
	while IFS= read -r trs; do
		# shellcheck disable=SC2046 # two numbers
		count $(case_counts "${trs%.trs}.log" "$(trs_status "$trs")")
	done < <(find "$KNEM_REPO" -path "$KNEM_REPO/.cache" -prune -o \
		-name '*.trs' -newer "$stamp" -print | sort)
	if [ "$status" -ne 0 ] && [ "$failed" -eq "$failed_before" ]; then
		echo "error: make check failed (log: $KNEM_LOGS/unit.log)" >&2
		stage_failed_because "make check failed with no failed test (log: $KNEM_LOGS/unit.log)"
		count 0 1
	fi
}

# vm_suite NAME KNEM-VM-ARGS...: one boot running the in-VM suite, counted
# from its per-program lines (a run cut short by a crash or a hang counts
# one more failure).  A failure the suite does not count (module load,
# kernel log) counts one.
vm_suite() {
	local log=$KNEM_LOGS/vm-$1.log status=0 vm_passed vm_failed
	shift
	"$KNEM_HARNESS/knem-vm" "$@" | tee "$log" || status=${PIPESTATUS[0]}
	read -r vm_passed vm_failed < <(suite_counts "$log")
	if [ "$status" -ne 0 ] && { [ "$status" -eq 98 ] || [ "$vm_failed" -eq 0 ]; }; then
		stage_failed_because "knem-vm exit status $status (log: $log)"
		vm_failed=$((vm_failed + 1))
	fi
	count "$vm_passed" "$vm_failed"
}

# The whole suite with knem.ko, then the DMA tests with the test-only DMA
# engine loaded too (the first boot checks that DMA is refused without one),
# and the classic tools' flag values again, KNEM_FLAG_DMA now included.
vm_tests() {
	local knem=$KNEM_REPO/dom0-backend/knem.ko
	local dma=$KNEM_REPO/tests/dma-provider/knem_test_dma.ko

	vm_suite native --module "$knem" -- 'bash tests/harness/guest-suite.sh'
	knem_step "VM tests with the test DMA engine"
	vm_suite dma --module "$knem" --module "$dma" -- \
		"bash tests/harness/guest-suite.sh 'tests/vm/knem_vm_test --gtest_filter=Dma*:ClassicFlags*' \
		tests/vm/dma_param_test.sh"
	# Alone: the provider cannot unload while knem holds its channels.
	knem_step "the test DMA engine itself"
	vm_suite dma-provider --module "$dma" -- \
		'bash tests/harness/guest-suite.sh tests/dma-provider/dma_provider_test.sh'
}

# count_summary LOG STATUS WHAT: counts a stage from the last "N passed, M
# failed" line of LOG; a stage that ends without one (a build failed, a VM
# crashed) counts one failure, as does a non-zero STATUS that no counted
# failure explains (a kernel-log finding).  WHAT names the part of the
# stage in the failure list.
count_summary() {
	local log=$1 status=$2 what=$3 line stage_passed stage_failed
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" 2>/dev/null | tail -n 1 || true)
	if [ -z "$line" ]; then
		stage_failed_because "$what stopped before its tests, exit status $status: a build or setup step failed"
		count 0 1
		return
	fi
	read -r stage_passed _ stage_failed _ <<< "$line"
	if [ "$status" -ne 0 ] && [ "$stage_failed" -eq 0 ]; then
		stage_failed_because "$what: exit status $status with no failed test (log: $log)"
		stage_failed=1
	fi
	count "$stage_passed" "$stage_failed"
}

# Open MPI and UCX over knem.ko (tests/mpi/run.sh logs to mpi.log), then
# Debian's stock MPI with the knemxen transport (stock-mpi.log).  Their
# messages on stderr (the builds' errors) go to mpi-build.log too, for the
# failure list.
mpi_tests() {
	local status=0 build_log=$KNEM_LOGS/mpi-build.log
	: > "$build_log"
	mpi_test 2> >(tee -a "$build_log" >&2) || status=$?
	count_summary "$KNEM_LOGS/mpi.log" "$status" \
		"Open MPI and UCX built against knem_io.h (tests/mpi/build-openmpi.sh, build-ucx.sh)"
	status=0
	stock_mpi_test 2> >(tee -a "$build_log" >&2) || status=$?
	count_summary "$KNEM_LOGS/stock-mpi.log" "$status" \
		"Debian's MPI with the knemxen transport (tests/mpi/build-stock.sh)"
}

# The Xen suite: one boot per tests/xen/scenario-*.sh.
xen_tests() {
	local log=$KNEM_LOGS/xen-suite.log status=0
	bash "$KNEM_REPO/tests/xen/run-suite.sh" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
	count_summary "$log" "$status" "the Xen suite (tests/xen/run-suite.sh)"
}

# The install paths (tests/packaging/check-packaging.sh): each of its "ok:"
# lines passes; a failure counts one.
packaging_tests() {
	local log=$KNEM_LOGS/packaging.log status=0 oks
	bash "$KNEM_REPO/tests/packaging/check-packaging.sh" 2>&1 | tee "$log" ||
		status=${PIPESTATUS[0]}
	oks=$(grep -c '^  ok: ' "$log" || true)
	if [ "$status" -eq 0 ]; then
		count "$oks" 0
	else
		stage_failed_because "tests/packaging/check-packaging.sh exit status $status (log: $log)"
		count "$oks" 1
	fi
}

# The build, as knem_build does it; on failure, the first compiler error
# of build.log is in the failure list.
build_stage() {
	local first
	knem_build && return 0
	first=$(grep -m1 -E ': (fatal )?error: ' "$KNEM_LOGS/build.log" 2>/dev/null || true)
	stage_failed_because "knem_build failed (log: $KNEM_LOGS/build.log)${first:+: $first}"
	count 0 1
}

host_setup_stage() {
	knem_ensure_host && return 0
	stage_failed_because "tests/harness/ensure-host.sh failed, see its messages above"
	count 0 1
}

main() {
	mkdir -p "$KNEM_LOGS"
	touch "$run_stamp"
	run_stage "host setup" host_setup_stage
	[ "$failed" -eq 0 ] || { echo "error: host setup failed" >&2; finish; }
	knem_step "building"
	run_stage "build" build_stage
	[ "$failed" -eq 0 ] || finish
	knem_step "unit tests"
	run_stage "unit tests" unit_tests
	knem_step "VM tests (Debian $KNEM_RELEASE under QEMU TCG)"
	run_stage "VM tests" vm_tests
	knem_step "Open MPI and UCX against common/knem_io.h"
	run_stage "MPI" mpi_tests
	knem_step "Xen suite (Xen + dom0 + two PV guests under QEMU TCG)"
	run_stage "Xen suite" xen_tests
	knem_step "install paths: knem_local_install, Debian packages and DKMS, RPM"
	run_stage "install paths" packaging_tests
	finish
}

main "$@"
