#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The project's test command, from a fresh clone on Debian 12 (as root, or
# with sudo for the first host setup):
#   host setup, build, host unit tests (make check: GoogleTest under
#   ASan/UBSan), the in-VM suite (tests/harness/guest-suite.sh) with
#   dom0-backend/knem.ko in Debian 12's 6.1 kernel (the default kernel:
#   the release linux-headers-amd64 names) under QEMU TCG, Open MPI and
#   UCX built against our knem_io.h running over knem.ko in that VM
#   (tests/mpi/run.sh; the builds are cached in .cache/mpi), then the Xen
#   suite (tests/xen/run-suite.sh: Xen + dom0 + two PV guests under QEMU
#   TCG, knem.ko in dom0 and knem-front.ko in the guests), then the install
#   paths (tests/packaging/check-packaging.sh: knem_local_install, the
#   Debian packages with DKMS in a chroot and in the VM, rpmbuild -tb).
#   After the 6.1 VM tests, the kernel matrix: the modules built (W=1, as
#   DKMS builds them) against a 6.1 configured without Xen (build only),
#   and built for and booted with Debian 12's 6.12 and 6.12 PREEMPT_RT
#   (the in-VM suite and the DMA boots; MATRIX_KERNELS), each build and
#   boot a stage of its own.
# Ends with one line "N passed, M failed" (test cases, host and VM); exits
# non-zero on any failure, kernel-log findings included; the failure list
# before that line names every stage that failed.
#
#   tests/run-all.sh                      everything
#   tests/run-all.sh --kernel K [...]     host setup, build, then only the
#                                         matrix stages of kernel K (a
#                                         flavour such as 6.12-rt-amd64, a
#                                         release, or no-xen)
# shellcheck disable=SC2317 # the stages are called through run_stage
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=SCRIPTDIR/harness/build.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/harness/build.sh"
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
# the MPI, Xen and packaging checks, the harnesses' verdicts and errors,
# and the kernel builds' compiler warnings and modpost messages.
FAILURE_PATTERN='^\[  FAILED  \] [A-Z]|: Failure$|^(guest-suite|mpi-check|xen-check|run-suite): FAIL|^check-packaging: FAIL|^knem-(xen-)?vm: .*(FAIL|FINDINGS|timed out|never reported)|^([A-Za-z0-9_-]+: )?error: |\.[ch]:[0-9]+:[0-9]+: warning: |^(ERROR|WARNING): modpost: '

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

# vm_boot KIND DIR [KNEM-VM-ARGS...]: one boot of the VM tests with the
# modules built in DIR (the source tree, or knem_modules_dir for another
# kernel), logged as vm-KIND[-RELEASE].log.  native: the whole suite with
# knem.ko; dma: the DMA tests with the test-only DMA engine loaded too (the
# native boot checks that DMA is refused without one), and the classic
# tools' flag values again, KNEM_FLAG_DMA now included; dma-provider: the
# engine alone (it cannot unload while knem holds its channels).
vm_boot() {
	local kind=$1 dir=$2 name=$1
	local knem=$2/dom0-backend/knem.ko dma=$2/tests/dma-provider/knem_test_dma.ko
	shift 2
	[ "${1:-}" != --kernel ] || name+=-$2
	case "$kind" in
	native)
		vm_suite "$name" "$@" --module "$knem" -- 'bash tests/harness/guest-suite.sh' ;;
	dma)
		vm_suite "$name" "$@" --module "$knem" --module "$dma" -- \
			"bash tests/harness/guest-suite.sh 'tests/vm/knem_vm_test --gtest_filter=Dma*:ClassicFlags*' \
			tests/vm/dma_param_test.sh" ;;
	dma-provider)
		vm_suite "$name" "$@" --module "$dma" -- \
			'bash tests/harness/guest-suite.sh tests/dma-provider/dma_provider_test.sh' ;;
	esac
}

# The three boots on the default kernel, with the tree's modules.
vm_tests() {
	vm_boot native "$KNEM_REPO"
	knem_step "VM tests with the test DMA engine"
	vm_boot dma "$KNEM_REPO"
	knem_step "the test DMA engine itself"
	vm_boot dma-provider "$KNEM_REPO"
}

# ---- the kernel matrix ------------------------------------------------------
# Besides the default kernel (Debian 12's 6.1, the stages above), the
# kernels the modules are built for and booted with: Debian flavours whose
# metapackage names today's release (ensure-host.sh --kernel).  The -rt one
# runs PREEMPT_RT, where spinlocks sleep: a copy under a raw lock, or a
# spinlock taken with interrupts off, shows as "BUG: scheduling while
# atomic" (Debian builds it without CONFIG_DEBUG_ATOMIC_SLEEP, so only when
# it does sleep).
readonly MATRIX_KERNELS=(6.12-amd64 6.12-rt-amd64)
matrix_release="" matrix_tree=""

# matrix_setup KERNEL: the release of KERNEL, its image and headers
# unpacked, in matrix_release and matrix_tree (empty on failure).
matrix_setup() {
	matrix_release="" matrix_tree=""
	if matrix_release=$(bash "$KNEM_HARNESS/ensure-host.sh" --kernel "$1" --print-release) &&
		matrix_tree=$(bash "$KNEM_HARNESS/ensure-host.sh" --kernel "$matrix_release" --print-build-dir); then
		return 0
	fi
	matrix_release="" matrix_tree=""
	stage_failed_because "tests/harness/ensure-host.sh --kernel $1 failed, see its messages above"
	count 0 1
}

# matrix_build NAME TREE: the modules for kernel build tree TREE
# (knem_build_modules: W=1, no warning); one check, whose failure says the
# first error or warning.  Their .ko files are removed first, so that the
# boots after a failed build find none rather than the last run's.
matrix_build() {
	local dir t0=$SECONDS log=$KNEM_LOGS/build-$1.log first
	dir=$(knem_modules_dir "$1")
	rm -f "$dir"/src/*/*.ko "$dir"/src/tests/*/*.ko
	if knem_build_modules "$1" "$2"; then
		echo "modules for $1 built in $((SECONDS - t0)) s, no warning"
		count 1 0
		return 0
	fi
	first=$(grep -m1 -E '^(ERROR|WARNING): modpost|: (fatal )?error: |: warning: ' "$log" || true)
	echo "modules for $1: failed after $((SECONDS - t0)) s"
	stage_failed_because "knem_build_modules failed (log: $log)${first:+: $first}"
	count 0 1
}

# The boots of each matrix kernel: vm_boot's kinds and their names in the
# failure list.
readonly MATRIX_BOOTS=("native:native VM suite" "dma:DMA VM tests" "dma-provider:test DMA engine")

# matrix_kernel KERNEL: kernel KERNEL (a flavour or a release): its build,
# then the three boots of vm_tests, each a stage of its own in the
# failure list ("kernel 6.12.118+deb12-rt-amd64: native VM suite: 1
# failed").
matrix_kernel() {
	local kernel=$1 release dir boot t0
	knem_step "kernel $kernel: image and headers"
	run_stage "kernel $kernel: host setup" matrix_setup "$kernel"
	[ -n "$matrix_release" ] || return 0
	release=$matrix_release
	dir=$(knem_modules_dir "$release")
	knem_step "kernel $release: module build (W=1)"
	run_stage "kernel $release: module build" matrix_build "$release" "$matrix_tree"
	[ -f "$dir/src/dom0-backend/knem.ko" ] && [ -f "$dir/src/tests/dma-provider/knem_test_dma.ko" ] ||
		return 0
	for boot in "${MATRIX_BOOTS[@]}"; do
		knem_step "kernel $release: ${boot#*:} (QEMU TCG)"
		t0=$SECONDS
		run_stage "kernel $release: ${boot#*:}" vm_boot "${boot%%:*}" "$dir/src" --kernel "$release"
		echo "kernel $release: ${boot#*:}: $((SECONDS - t0)) s"
	done
}

# The build-only check against a kernel configured without Xen (the
# default kernel's source and config minus CONFIG_XEN, prepared once by
# ensure-host.sh --no-xen-tree): the modules build W=1 with modpost
# clean (matrix_build), and modinfo shows knem.ko for that kernel.
no_xen_build() {
	local tree dir release info
	if ! tree=$(bash "$KNEM_HARNESS/ensure-host.sh" --no-xen-tree --print-build-dir); then
		stage_failed_because "tests/harness/ensure-host.sh --no-xen-tree failed, see its messages above"
		count 0 1
		return 0
	fi
	dir=$(knem_modules_dir no-xen)
	matrix_build no-xen "$tree"
	[ -f "$dir/src/dom0-backend/knem.ko" ] || return 0
	release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$tree/include/generated/utsrelease.h")
	info="$(modinfo -F name "$dir/src/dom0-backend/knem.ko" 2>&1 || true) $(
		modinfo -F vermagic "$dir/src/dom0-backend/knem.ko" 2>&1 || true)"
	if [[ $info != "knem $release "* ]]; then
		stage_failed_because "modinfo of knem.ko says '$info', not knem for $release"
		count 0 1
		return 0
	fi
	echo "knem.ko for $release without Xen: built, no warning; modinfo: $info"
	count 1 0
}

# All of the matrix: the no-Xen build, then each kernel, one after the
# other.  Not in parallel with other VM stages: on the idle 2-core host a
# TCG guest running the suite keeps a core busy on average and both at
# times, and the 6.1 VM tests with the matrix beside them took 397 s
# where one after the other took 82 + 292 s.
matrix_tests() {
	local kernel t0=$SECONDS
	knem_step "kernel without Xen (linux-source, Debian's config minus CONFIG_XEN): build only"
	run_stage "kernel without Xen: module build" no_xen_build
	for kernel in "${MATRIX_KERNELS[@]}"; do
		matrix_kernel "$kernel"
	done
	echo "kernel matrix: $((SECONDS - t0)) s"
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

usage() {
	echo "usage: ${0##*/} [--kernel KERNEL]..." >&2
	echo "  --kernel KERNEL  only the host setup, the build and the matrix stages of" >&2
	echo "                   KERNEL: a Debian flavour (${MATRIX_KERNELS[*]}), a release," >&2
	echo "                   or no-xen (the build against a kernel without Xen)" >&2
	exit 2
}

main() {
	local only=() kernel
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel) [ $# -ge 2 ] || usage; only+=("$2"); shift 2 ;;
		*) usage ;;
		esac
	done
	mkdir -p "$KNEM_LOGS"
	touch "$run_stamp"
	run_stage "host setup" host_setup_stage
	[ "$failed" -eq 0 ] || { echo "error: host setup failed" >&2; finish; }
	knem_step "building"
	run_stage "build" build_stage
	[ "$failed" -eq 0 ] || finish
	if [ "${#only[@]}" -gt 0 ]; then
		for kernel in "${only[@]}"; do
			if [ "$kernel" = no-xen ]; then
				run_stage "kernel without Xen: module build" no_xen_build
			else
				matrix_kernel "$kernel"
			fi
		done
		finish
	fi
	knem_step "unit tests"
	run_stage "unit tests" unit_tests
	knem_step "VM tests (Debian $KNEM_RELEASE under QEMU TCG)"
	run_stage "VM tests" vm_tests
	matrix_tests
	knem_step "Open MPI and UCX against common/knem_io.h"
	run_stage "MPI" mpi_tests
	knem_step "Xen suite (Xen + dom0 + two PV guests under QEMU TCG)"
	run_stage "Xen suite" xen_tests
	knem_step "install paths: knem_local_install, Debian packages and DKMS, RPM"
	run_stage "install paths" packaging_tests
	finish
}

# Sourced, it only defines its functions (stages run alone, measurements).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
