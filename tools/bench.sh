#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark in one command, from a fresh clone on Debian 12: host setup
# (gnuplot included), build, then tools/knem-bench in Debian's kernel under
# QEMU TCG with dom0-backend/knem.ko loaded; the table, the CSV and the plot
# land in the output directory.
#
#   tools/bench.sh [--deterministic] [--quick] [--thp MODE] [--out DIR]
#                  [--timeout S] [-- knem-bench options...]
#
#   (default)        wall clock: 2 vCPUs, 3 runs, each figure the median of
#                    the runs' medians with their range as the spread
#   --deterministic  QEMU -icount shift=0,align=off,sleep=off with 1 vCPU:
#                    guest time counts executed instructions (1 ns each), so
#                    two runs agree to about 1% whatever the host's load; it
#                    measures software cost, not memory bandwidth or caches
#   --quick          a short run (sizes 4K:256K), to try the command
#   --thp MODE       the guest kernel's transparent huge page mode for the
#                    run: always, madvise or never (default madvise,
#                    Ubuntu's: knem-bench's default buffers, aligned_alloc'd
#                    as an application's, are then in 4 KiB pages, and those
#                    of "-- --huge-pages", advised for huge pages, in 2 MiB
#                    ones); the header of the table says the mode
#   --out DIR        output directory (default .cache/bench/<mode>)
#   -- ARGS          knem-bench options (tools/knem-bench --help), e.g.
#                    "-- --huge-pages" or "-- --window 1"
#
# Output: DIR/table.txt (also printed), DIR/results.csv, DIR/knem-bench.svg
# (bandwidth against size, and the ratios of knem to CMA, two-copy and
# memcpy), DIR/console.log (the VM's whole output).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=SCRIPTDIR/../tests/harness/build.sh
. "$(dirname "$(readlink -f "$0")")/../tests/harness/build.sh"

deterministic=0 quick=0 thp=madvise out="" timeout_s=5400
bench_args=()

usage() {
	sed -n '8,9p' "$0" | sed 's/^#  //' >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--deterministic) deterministic=1; shift ;;
		--quick) quick=1; shift ;;
		--thp)
			[ $# -ge 2 ] || usage
			case "$2" in
			always | madvise | never) thp=$2 ;;
			*) echo "bench.sh: --thp takes always, madvise or never, not '$2'" >&2; usage ;;
			esac
			shift 2 ;;
		--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
		--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
		--) shift; bench_args+=("$@"); break ;;
		-h | --help) usage ;;
		*) echo "bench.sh: unknown option $1" >&2; usage ;;
		esac
	done
}

# The command run in the VM (as root): sets the THP mode, then knem-bench
# (one word list, quoted).
guest_command() {
	local label args=()
	if [ "$deterministic" -eq 1 ]; then
		label="deterministic: QEMU TCG -icount shift=0 (1 ns = 1 guest instruction), 1 vCPU"
		# Repeated messages take the same time: few are needed.
		args=(--samples 3 --warmup 1 --latency-samples 20)
	else
		label="wall clock: QEMU TCG, 2 vCPUs, host $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
		args=(--runs 3)
	fi
	[ "$quick" -eq 0 ] || args+=(--quick)
	args+=(--label "$label" "${bench_args[@]}")
	printf 'echo %q > /sys/kernel/mm/transparent_hugepage/enabled && ' "$thp"
	printf '%q ' tools/knem-bench "${args[@]}"
}

# Splits the console log $1 into the table and the CSV in directory $2.
extract() {
	local log=$1 dir=$2
	sed -n '/^# knem-bench: /,/^# csv begin$/p' "$log" | sed '$d' > "$dir/table.txt"
	sed -n '/^# csv begin$/,/^# csv end$/p' "$log" | sed '1d;$d' > "$dir/results.csv"
	if [ ! -s "$dir/table.txt" ] || [ "$(wc -l < "$dir/results.csv")" -le 1 ]; then
		echo "bench.sh: no results in $log" >&2
		return 1
	fi
}

# The bandwidth and ratio rows of CSV $1, one line per size, for gnuplot.
plot_data() {
	awk -F, '
		NR == 1 { next }
		$1 == "bandwidth" || ($1 == "ratio" && $2 != "pin-once/per-reader") {
			if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 }
			if (!(($1, $2) in column)) { column[$1, $2] = ++columns; name[columns] = $2 }
			value[$3, column[$1, $2]] = $10
		}
		END {
			line = "size"
			for (c = 1; c <= columns; c++) line = line " " name[c]
			print line
			for (i = 1; i <= n; i++) {
				line = order[i]
				for (c = 1; c <= columns; c++) line = line " " value[order[i], c]
				print line
			}
		}' "$1"
}

# gnuplot's xtics for the sizes of plot data $1: ("4K" 4096, ...).
size_tics() {
	awk 'NR > 1 {
		s = $1; u = ""
		if (s >= 1048576 && s % 1048576 == 0) { s /= 1048576; u = "M" }
		else if (s >= 1024 && s % 1024 == 0) { s /= 1024; u = "K" }
		tics = tics (NR > 2 ? ", " : "") "\"" s u "\" " $1
	} END { print "(" tics ")" }' "$1"
}

# Draws DIR/knem-bench.svg from DIR/results.csv; $2: the run's label.
plot() {
	local dir=$1 label=$2
	plot_data "$dir/results.csv" > "$dir/plot.dat"
	gnuplot <<-PLOT
		set terminal svg size 900,960 dynamic font "sans,12" background "#ffffff"
		set output "$dir/knem-bench.svg"
		set datafile separator whitespace
		set key autotitle columnheader outside right
		set logscale x 2
		set xtics $(size_tics "$dir/plot.dat")
		set xrange [$(awk 'NR == 2 { lo = $1 } NR > 1 { hi = $1 } END { print lo / 1.25 ":" hi * 1.25 }' "$dir/plot.dat")]
		set xlabel "message size (bytes)"
		set grid
		set lmargin 10
		set rmargin 30
		set linetype 1 lc "#7b3294" pt 7 lw 2
		set linetype 2 lc "#1a9641" pt 5 lw 2
		set linetype 3 lc "#2c7bb6" pt 9 lw 2
		set linetype 4 lc "#e66101" pt 11 lw 2
		set linetype 5 lc "#000000" pt 13 lw 2
		set multiplot layout 2,1 title "knem-bench: $label" font "sans,11"
		set title "Bandwidth"
		set ylabel "MB/s (bytes per us)"
		set logscale y 10
		plot for [i=2:6] "$dir/plot.dat" using 1:i with linespoints lt (i - 1)
		set title "Ratios of the bandwidths"
		set ylabel "ratio"
		unset logscale y
		set yrange [0:*]
		plot for [i=7:10] "$dir/plot.dat" using 1:i with linespoints lt (i - 6), \\
			1 with lines dt 2 lc "black" notitle
		unset multiplot
	PLOT
}

main() {
	parse_args "$@"
	local mode vm_args=() log status=0
	mode=$([ "$deterministic" -eq 1 ] && echo deterministic || echo wallclock)
	[ "$quick" -eq 0 ] || mode=$mode-quick
	out=${out:-$KNEM_REPO/.cache/bench/$mode}
	mkdir -p "$out"
	out=$(cd "$out" && pwd -P)
	log=$out/console.log

	knem_step "host setup"
	bash "$KNEM_HARNESS/ensure-host.sh" --plot
	knem_ensure_host
	knem_step "building"
	knem_build
	[ "$deterministic" -eq 0 ] || vm_args=(--icount)
	knem_step "knem-bench ($mode) in Debian $KNEM_RELEASE under QEMU TCG"
	"$KNEM_HARNESS/knem-vm" "${vm_args[@]}" --timeout "$timeout_s" \
		--module "$KNEM_REPO/dom0-backend/knem.ko" -- "$(guest_command)" |
		tee "$log" || status=${PIPESTATUS[0]}
	if [ "$status" -ne 0 ]; then
		echo "bench.sh: the benchmark failed (status $status); console: $log" >&2
		exit "$status"
	fi
	extract "$log" "$out"
	plot "$out" "$(sed -n 's/^# knem-bench: [^;]*; //p' "$out/table.txt")"
	knem_step "results in $out: table.txt results.csv knem-bench.svg"
}

main "$@"
