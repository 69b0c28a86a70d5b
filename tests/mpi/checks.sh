# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by the in-VM MPI scripts (tests/mpi/guest-*.sh): the check lines
# and the /dev/knem counters.  Defines passed, failed and:
#   check NAME CMD...            runs CMD, prints "mpi-check: PASS|FAIL NAME"
#   snapshot FILE                the counters ("name value" lines) into FILE
#   counters_moved BEFORE AFTER [NAME=INCREASE]...
#                                each named counter grew by exactly INCREASE,
#                                every other one by nothing (prints them)
#   data_intact LOG N            knem_mpi_bw's LOG has N "data ok" sizes and
#                                no bad message
#   wait_listening PORT          until a TCP socket listens on PORT (20 s)
#   config_bytes NAME            the value of UCX's memory-units variable NAME
#                                in the `ucx_info -c -f` output on stdin, in
#                                bytes

readonly STAT=tools/knem_stat
readonly COUNTERS=(submitted processed processed_dma processed_thread
	processed_pinlocal rejected_invalid_flags rejected_nomem
	rejected_invalid_argument rejected_unknown_cookie rejected_pin_local
	failed_memcpy failed_dma dma_cleanup_timeout)

passed=0 failed=0

check() {
	local name=$1
	shift
	if "$@"; then
		echo "mpi-check: PASS $name"
		passed=$((passed + 1))
	else
		echo "mpi-check: FAIL $name"
		failed=$((failed + 1))
	fi
}

# The counters as "name value" lines, or nothing when /dev/knem is absent.
snapshot() {
	"$STAT" > "$1" 2>&1 || { cat "$1" >&2; : > "$1"; }
}

counter() {
	awk -v name="$2" '$1 == name { print $2; found = 1 } END { exit !found }' "$1"
}

counters_moved() {
	local before=$1 after=$2 name b a want ok=0
	local -A expected=()
	shift 2
	while [ $# -gt 0 ]; do
		expected[${1%%=*}]=${1#*=}
		shift
	done
	if [ ! -s "$before" ] || [ ! -s "$after" ]; then
		echo "  no counters (is knem loaded?)"
		return 1
	fi
	for name in "${COUNTERS[@]}"; do
		if ! b=$(counter "$before" "$name") || ! a=$(counter "$after" "$name"); then
			echo "  counter $name missing"
			return 1
		fi
		want=${expected[$name]:-0}
		printf '  %-26s %8d -> %8d  (+%d, expected +%d)\n' "$name" "$b" "$a" $((a - b)) "$want"
		[ $((a - b)) -eq "$want" ] || ok=1
	done
	return $ok
}

data_intact() {
	local log=$1 sizes=$2
	[ "$(grep -c ', data ok$' "$log")" -eq "$sizes" ] &&
		grep -q '^messages .* bad 0$' "$log"
}

# A client that connects before its server listens gives up at once, and
# connecting to test the port would be taken for the client: read the
# kernel's socket table instead (listening sockets are in state 0A).
wait_listening() {
	local port_hex
	port_hex=$(printf '%04X' "$1")
	for _ in $(seq 100); do
		cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
			awk -v port=":$port_hex" '$2 ~ port"$" && $4 == "0A" { found = 1 } END { exit !found }' &&
			return 0
		sleep 0.2
	done
	return 1
}

config_bytes() {
	awk -F= -v name="$1" '$1 == name {
		n = $2 + 0; unit = toupper(substr($2, length(n "") + 1, 1))
		if (unit == "K") n *= 1024; else if (unit == "M") n *= 1048576
		else if (unit == "G") n *= 1073741824
		print n; found = 1
	} END { exit !found }'
}
