# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# What the two VM launchers share (tests/harness/knem-vm: Debian's kernel;
# tests/xen/knem-xen-vm: Xen, dom0 and two guests), sourced after they set
# VM_NAME (their name in messages) and MARK (the prefix of the lines that
# the guest's init prints on the serial console for them).

say() { echo "$VM_NAME: $*" >&2; }
die() { say "error: $*"; exit 2; }

number() {
	[[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive number, got '$2'"
	echo "$2"
}

# Prints "<name> <path>" for each module file that modules $3... need in
# image $1 of release $2, in load order, each once (modprobe's
# dependencies; built-in ones need no file).
boot_module_files() {
	local image=$1 release=$2 m deps
	shift 2
	for m; do
		deps=$(modprobe -d "$image" -S "$release" --show-depends "$m") ||
			die "module $m is neither in $image/lib/modules/$release nor built in"
		echo "$deps"
	done | awk '$1 == "insmod" && !seen[$2]++ {
		name = $2; sub(/.*\//, "", name); sub(/\.ko(\.[a-z]+)?$/, "", name)
		print name, $2
	}'
}

# Copies module file $1 into directory $2, which must not have one of
# that name yet (the guest's scripts name it: plain characters only).
copy_module() {
	local name=${1##*/}
	[ -f "$1" ] || die "no such module: $1"
	[[ $name =~ ^[A-Za-z0-9_.-]+\.ko$ ]] || die "unusual module file name: $name"
	[ ! -e "$2/$name" ] || die "two modules named $name"
	cp "$1" "$2/"
}

# sha256 (16 hex digits) of the arguments' contents and of stdin: the name
# of a cached image made of them.
content_key() {
	{ cat; sha256sum "$@"; } | sha256sum | cut -c1-16
}

# Packs directory $1 into the newc cpio archive $2 (gzip'ed if $3 = gz),
# atomically.
pack() {
	local dir=$1 dest=$2 compress=${3:-}
	if ! (cd "$dir" && find . | cpio -o -H newc --quiet |
		if [ "$compress" = gz ]; then gzip -1; else cat; fi) > "$dest.tmp.$$"; then
		rm -f "$dest.tmp.$$"
		die "cannot pack $dest"
	fi
	mv "$dest.tmp.$$" "$dest"
}

# Kernel log lines that fail a run (extended regular expression), with
# "$@" as more of them.
# shellcheck disable=SC2120 # knem-vm adds none
kernel_log_patterns() {
	local p=(BUG WARNING Oops 'general protection' KASAN refcount_t
		'list_add corruption' 'list_del corruption' 'RCU stall'
		'detected stalls? on' 'blocked for more than' UBSAN kmemleak leak
		'Call Trace' "$@")
	local IFS='|'
	echo "${p[*]}"
}

# QEMU's arguments that both launchers give: no display, monitor, network
# or reboot; the host's root read-only over virtio-9p (tag hostroot).
qemu_common_args() {
	printf '%s\n' -nographic -no-reboot -monitor none -nic none \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
}

# Runs QEMU with arguments "${@:3}" for at most $1 s, its output on stdout;
# writes its exit status (124: timed out) into file $2.
run_qemu() {
	local timeout_s=$1 rc_file=$2 qemu_rc=0
	shift 2
	# --foreground: QEMU stays in the caller's process group, so that ^C
	# or a kill of the group (run-all.sh's kernel matrix) stops it too.
	timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 "$@" </dev/null 2>&1 ||
		qemu_rc=$?
	echo "$qemu_rc" > "$rc_file"
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# The time since $1 (now_ms), "12.3 s".
since() {
	local ms=$(($(now_ms) - $1))
	printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

# The exit status from serial log $1, QEMU's status $2 and timeout $3 s,
# with the launcher's words: $4 who reports ("the guest"), $5 a failed
# command (printf format of its status and the kernel-log verdict), $6 a
# passed command with kernel-log findings, $7 a pass.
verdict() {
	local log=$1 qemu_rc=$2 timeout_s=$3 status clean
	status=$(sed -n "s/.*$MARK status=\([0-9]*\)\$/\1/p" "$log" | tail -n 1)
	clean=$(sed -n "s/.*$MARK kernel-log=\([a-z]*\)\$/\1/p" "$log" | tail -n 1)
	if [ -z "$status" ] || [ -z "$clean" ]; then
		[ "$qemu_rc" -ne 124 ] || say "timed out after $timeout_s s"
		say "$4 never reported a status; last lines of the serial log:"
		tail -n 40 "$log" | sed 's/^/  | /' >&2
		return 99
	fi
	if [ "$status" -ne 0 ]; then
		# shellcheck disable=SC2059 # the format is the launcher's
		say "$(printf "$5" "$status" "$clean")"
		return "$status"
	fi
	if [ "$clean" != clean ]; then
		say "$6"
		return 98
	fi
	say "$7"
}
