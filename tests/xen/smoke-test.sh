#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Proves the Xen harness (knem-xen-vm) without any project module:
#  1. a full run: both guests boot with a throwaway xenbus "hello" module
#     (built here into .cache/xen-hello) passed with --domu-module and
#     --dom0-module; guest_run runs commands in each guest (output, exit
#     status, large output, --domu-files); guest_dmesg; host_run; one guest
#     destroyed while the other keeps answering;
#  2. a dom0-only run whose script exits 7: the launcher exits 7;
#  3. a dom0-only run that logs a kernel WARNING: the launcher exits 98.
# Prints one line per run and "N passed, M failed"; exit status 0 when all
# passed.
set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
CACHE=${KNEM_CACHE:-$REPO/.cache}
readonly HERE REPO CACHE
passed=0 failed=0

say() { echo "smoke-test: $*"; }

# Builds the hello module for kernel release $1 into $CACHE/xen-hello;
# prints the .ko path.
build_hello() {
	local release=$1 dir=$CACHE/xen-hello
	mkdir -p "$dir"
	cat > "$dir/knem_xen_hello.c.new" <<-'EOF'
	// SPDX-License-Identifier: GPL-2.0
	/* Throwaway module of tests/xen/smoke-test.sh: a xenbus frontend
	 * driver for a device type that no domain has. */
	#include <linux/module.h>
	#include <xen/xen.h>
	#include <xen/xenbus.h>

	static const struct xenbus_device_id hello_ids[] = { { "knemhello" }, { "" } };

	static int hello_probe(struct xenbus_device *dev, const struct xenbus_device_id *id)
	{
		return -ENODEV;
	}

	static void hello_changed(struct xenbus_device *dev, enum xenbus_state state)
	{
	}

	static struct xenbus_driver hello_driver = {
		.ids = hello_ids,
		.probe = hello_probe,
		.otherend_changed = hello_changed,
	};

	static int __init hello_init(void)
	{
		int err = xenbus_register_frontend(&hello_driver);

		pr_info("knem_xen_hello: hello from %s domain (xenbus frontend: %d)\n",
			xen_initial_domain() ? "the initial" : "a guest", err);
		return err;
	}

	static void __exit hello_exit(void)
	{
		xenbus_unregister_driver(&hello_driver);
	}

	module_init(hello_init);
	module_exit(hello_exit);
	MODULE_LICENSE("GPL");
	EOF
	echo 'obj-m := knem_xen_hello.o' > "$dir/Kbuild"
	if ! cmp -s "$dir/knem_xen_hello.c.new" "$dir/knem_xen_hello.c" ||
		[ ! -f "$dir/knem_xen_hello.ko" ]; then
		mv "$dir/knem_xen_hello.c.new" "$dir/knem_xen_hello.c"
		make -s -C "/usr/src/linux-headers-$release" M="$dir" modules >&2
	fi
	rm -f "$dir/knem_xen_hello.c.new"
	echo "$dir/knem_xen_hello.ko"
}

# The dom0 script of the full run (busybox sh, with the harness helpers).
full_script() {
	cat <<-'EOF'
	fail() { echo "smoke: FAIL: $*"; exit 1; }
	ok() { echo "smoke: ok: $*"; }

	grep -q '^knem_xen_hello ' /proc/modules || fail "hello module not loaded in dom0"
	dmesg | grep -q 'knem_xen_hello: hello from the initial domain' ||
		fail "no hello in dom0's kernel log"
	[ "$KNEM_XEN_DOM0_MODULES" = /run/knem-xen/in/modules/knem_xen_hello.ko ] ||
		fail "KNEM_XEN_DOM0_MODULES='$KNEM_XEN_DOM0_MODULES'"
	[ "$(cat /smoke-dom0.txt)" = dom0-file ] || fail "--dom0-files not copied"
	ok "dom0: hello module loaded, --dom0-files copied"

	r=$(host_run 'test -x tests/xen/knem-xen-vm && echo "$KNEM_XEN_RELEASE"') ||
		fail "host_run"
	[ "$r" = "$KNEM_XEN_RELEASE" ] || fail "host_run printed '$r'"
	host_run 'echo result > "$KNEM_XEN_OUT/host-run.txt"' || fail "host_run writing the results"
	ok "host_run in the host root, results in \$KNEM_XEN_OUT"

	start_guests || fail "start_guests (status $?)"
	ok "both guests ready"
	for g in A B; do
		out=$(guest_run "$g" 'uname -r; cat /proc/xen/capabilities 2>/dev/null; ls /sys/bus/xen/devices') ||
			fail "guest_run $g (status $?)"
		echo "$out" | sed "s/^/[$g] /"
		[ "$(echo "$out" | head -n 1)" = "$KNEM_XEN_RELEASE" ] || fail "uname -r in $g"
		guest_run "$g" 'grep -q "^knem_xen_hello " /proc/modules' ||
			fail "hello module not loaded in $g"
		guest_dmesg "$g" | grep 'knem_xen_hello: hello from a guest domain (xenbus frontend: 0)' ||
			fail "no hello in $g's kernel log"
		[ "$(guest_run "$g" 'echo "$KNEM_XEN_GUEST $KNEM_XEN_DOMU_MODULES"; cat /smoke/domu.txt')" = \
			"knem$g /knem-xen/modules/knem_xen_hello.ko
	domu-file" ] || fail "guest environment or --domu-files in $g"
		ok "guest $g: commands, hello module, --domu-files"
	done

	st=0
	out=$(guest_run A 'echo out; echo err >&2; exit 42') || st=$?
	[ "$st" -eq 42 ] || fail "exit status of a failing command: $st, not 42"
	[ "$out" = "out
	err" ] || fail "output of a failing command: '$out'"
	ok "a failing guest command reports its status (42) and output"

	want=$(seq 1 20000 | md5sum)
	got=$(guest_run B 'seq 1 20000' | md5sum)
	[ "$got" = "$want" ] || fail "108 KB of output changed on the way"
	ok "108 KB of output intact"

	destroy_guest A || fail "destroy_guest A"
	xl list
	xl list | grep -q '^knemA ' && fail "knemA still in xl list"
	xl list | grep -q '^knemB ' || fail "knemB gone from xl list"
	st=0
	guest_run A true 2>/dev/null || st=$?
	[ "$st" -eq 125 ] || fail "guest_run in a destroyed guest: status $st, not 125"
	[ "$(guest_run B 'echo alive')" = alive ] || fail "knemB does not answer after A's destruction"
	ok "knemA destroyed, knemB still answers"
	guest_console A | grep -q 'knem-xen-domu: ready (ok)' || fail "no ready line in A's console log"
	ok "the console log of a destroyed guest stays readable"
	EOF
}

# run NAME WANT_STATUS OUTPUT_FILE ARGS...: runs the launcher, checks its status.
run() {
	local name=$1 want=$2 log=$3 st=0
	shift 3
	say "run '$name': knem-xen-vm $*"
	"$HERE/knem-xen-vm" "$@" > "$log" 2>&1 || st=$?
	sed 's/^/  | /' "$log"
	if [ "$st" -eq "$want" ]; then
		say "PASS $name (exit status $st)"
		passed=$((passed + 1))
		return 0
	fi
	say "FAIL $name (exit status $st, expected $want)"
	failed=$((failed + 1))
	return 1
}

main() {
	local image hello work
	image=$("$HERE/ensure-xen-host.sh" --print-image-dir)
	hello=$(build_hello "${image##*/}")
	work=$(mktemp -d)
	# shellcheck disable=SC2064 # expand $work now
	trap "rm -rf '$work'" EXIT
	mkdir -p "$work/dom0-files" "$work/domu-files/smoke"
	echo dom0-file > "$work/dom0-files/smoke-dom0.txt"
	echo domu-file > "$work/domu-files/smoke/domu.txt"
	full_script > "$work/full.sh"
	if run full 0 "$work/full.log" --dom0-module "$hello" --domu-module "$hello" \
		--dom0-files "$work/dom0-files" --domu-files "$work/domu-files" \
		--out "$work/full" --timeout 600 --dom0-script "$work/full.sh"; then
		# the results and logs the launcher collects
		local f
		for f in serial.log out/dom0-script.log out/dom0-dmesg.log out/xen-dmesg.log \
			out/console-knemA.log out/console-knemB.log out/host-run.txt; do
			[ -s "$work/full/$f" ] || { say "FAIL full: no $f"; failed=$((failed + 1)); break; }
		done
	fi
	echo 'echo "exiting with 7"; exit 7' > "$work/exit7.sh"
	run exit-status 7 "$work/exit7.log" --timeout 300 --dom0-script "$work/exit7.sh" || true
	echo 'echo "<4>smoke: WARNING: injected to check the harness" > /dev/kmsg' > "$work/warn.sh"
	run kernel-log 98 "$work/warn.log" --timeout 300 --dom0-script "$work/warn.sh" &&
		if ! grep -q 'finding.*smoke: WARNING: injected' "$work/warn.log"; then
			say "FAIL kernel-log: the finding is not shown"
			failed=$((failed + 1))
		fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
