#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The benchmark between two Xen guests in one command, from a fresh clone on
# Debian 12: host setup (Xen and gnuplot included), build, then one boot of
# Xen + dom0 + two PV guests under QEMU TCG (tests/xen/knem-xen-vm --net)
# that measures, per message size:
#   - knem across the guests (tools/knem_xbench.cpp): B reads A's messages
#     through single-use regions (the MPI rendezvous), a cached region, or
#     copies region to region; and TCP between the guests (netfront, bridge
#     xenbr0 and netback in dom0);
#   - knem-bench's bandwidth section inside guest A, and in dom0 on the
#     native knem.ko.
#
#   tools/xen-bench.sh [--deterministic] [--quick] [--out DIR] [--timeout S]
#
#   (default)        wall clock: 2 emulated CPUs (dom0 and the guests share
#                    them), up to 9 timed windows per method and size
#   --deterministic  QEMU -icount shift=0,align=off,sleep=off with 1 CPU:
#                    guest time counts instructions (1 ns each), repeatable
#                    whatever the host's load; software cost, not bandwidth
#   --quick          sizes 4K:1M, few samples: to try the command
#   --out DIR        output directory (default .cache/xen-bench/<mode>)
#
# Output: DIR/table.txt (also printed; DIR/table.md the same in Markdown),
# DIR/results.csv, DIR/knem-xen-bench.svg (bandwidths and the ratios
# across-guest/native-dom0, across-guest/TCP, across-guest/in-guest), and
# DIR/run/ (the boot: serial log, kernel logs, the three programs' outputs
# in run/out/).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=SCRIPTDIR/../tests/harness/build.sh
. "$(dirname "$(readlink -f "$0")")/../tests/harness/build.sh"

readonly GROUP=xbench
readonly MPI_LIBS="mpich ompi"
deterministic=0 quick=0 out="" timeout_s=3600

usage() {
	sed -n '14p' "$0" | sed 's/^#  //' >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--deterministic) deterministic=1; shift ;;
		--quick) quick=1; shift ;;
		--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
		--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
		-h | --help) usage ;;
		*) echo "xen-bench.sh: unknown option $1" >&2; usage ;;
		esac
	done
}

# Puts the static programs the guests and dom0 run into $1/xb (the guests
# reach no host file), stripped: knem_build's make check built them
# (tools/Makefile.am's static/).
build_programs() {
	mkdir -p "$1/xb"
	install -s -m 755 "$KNEM_REPO/tools/static/knem-xbench" \
		"$KNEM_REPO/tools/static/knem-bench" "$1/xb/"
}

# The sizes and options of the three programs, for the dom0 script.
write_params() {
	local file=$1 stage=$2 sizes=4K:64M bench xbench label
	# knem_mpi_bw: a window of 4 messages, one untimed window first (UCX
	# registers the buffers, dom0 maps them), ranks that yield while they
	# wait (-y: the ranks and domains share the CPUs)
	local mpi_sizes="65536 262144 1048576 4194304 16777216" mpi="-y -W 1 -i 4 -w 4"
	if [ "$deterministic" -eq 1 ]; then
		label="deterministic: QEMU TCG -icount shift=0 (1 ns = 1 guest instruction), 1 CPU"
		bench="--samples 3 --warmup 1"
		xbench="--samples 3 --min-samples 3 --warmup 1"
	else
		label="wall clock: QEMU TCG, 2 CPUs, host $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
		bench="" xbench=""
	fi
	if [ "$quick" -eq 1 ]; then
		sizes=4K:1M
		bench="--samples 3 --warmup 1"
		xbench="--samples 3 --min-samples 1 --warmup 0"
		mpi_sizes="65536 1048576" mpi="-y -W 1 -i 1 -w 4"
	fi
	{
		echo "SIZES=$sizes"
		echo "BENCH_ARGS='$bench'"
		echo "XBENCH_ARGS='$xbench'"
		echo "GROUP=$GROUP"
		echo "MPI_STAGE=$stage"
		echo "MPI_LIBS='$MPI_LIBS'"
		echo "MPI_ARGS='$mpi $mpi_sizes'"
	} > "$file"
	echo "$label" > "$out/label"
}

# The CSV rows of program output $2 (between "# csv begin" and "# csv
# end"), bandwidth only, with "$1" (where it ran) in front.
csv_rows() {
	sed -n '/^# csv begin$/,/^# csv end$/p' "$2" | sed '1,2d;$d' |
		awk -F, -v where="$1" '$1 == "bandwidth" || $1 == "across-machines" {
			print where "," $2 "," $3 "," $4 "," $6 "," $7 "," $8 "," $9 "," $10 }'
}

# The CSV rows of knem_mpi_bw output $3 ("size S: N messages, B bytes, X
# MB/s, data ok"), where $1, method $2; samples = the timed messages, and
# no quartiles (the program times its windows together).
mpi_csv_rows() {
	sed -n 's|^size \([0-9]*\): \([0-9]*\) messages, [0-9]* bytes, \([0-9.]*\) MB/s, data ok$|\1,\2,\3|p' "$3" |
		awk -F, -v where="$1" -v method="$2" '{ print where "," method "," $1 "," $2 ",,,,," $3 }'
}

# results.csv from the outputs of run directory $1.
merge() {
	local run=$1/out lib
	{
		echo "where,method,size,samples,median_ns,low_ns,high_ns,spread_pct,mbps"
		csv_rows across-guests "$run/across.txt"
		csv_rows in-guest "$run/in-guest.txt"
		csv_rows dom0 "$run/dom0.txt"
		for lib in $MPI_LIBS; do
			mpi_csv_rows across-guests "mpi-$lib" "$run/mpi-across-$lib.txt"
			mpi_csv_rows across-guests "mpi-$lib-tcp" "$run/mpi-tcp-$lib.txt"
			mpi_csv_rows in-guest "mpi-$lib" "$run/mpi-in-guest-$lib.txt"
			mpi_csv_rows dom0 "mpi-$lib" "$run/mpi-dom0-$lib.txt"
		done
	} > "$out/results.csv"
}

# What both tables' awk programs share: the rows of results.csv (with
# -v mpi=1 the MPI ones, with mpi=0 the others) in sizes[1..n] and
# mbps[WHERE "/" METHOD, SIZE]; size_text(), ratio(); header() and row()
# print a table row as -v format (md: Markdown, else text in columns of
# -v width characters).
TABLE_AWK='
	NR == 1 || ($2 ~ /^mpi-/) != mpi { next }
	{
		if (!($3 in seen)) { seen[$3] = 1; sizes[++n] = $3 }
		mbps[$1 "/" $2, $3] = $9
	}
	function size_text(s) {
		if (s >= 1048576) return s / 1048576 " MiB"
		return s / 1024 " KiB"
	}
	function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
	function row(cells, i, line) {
		if (format == "md") {
			line = "|"
			for (i = 1; i <= cells[0]; i++) line = line " " cells[i] " |"
		} else {
			line = sprintf("%9s", cells[1])
			for (i = 2; i <= cells[0]; i++) line = line sprintf(" %" width "s", cells[i])
		}
		print line
	}
	function header(h, i, line) {
		row(h)
		if (format != "md")
			return
		line = "|"
		for (i = 1; i <= h[0]; i++) line = line "---:|"
		print line
	}
'

# The MPI table of results.csv, one row per size: for each library the
# bandwidths of knem_mpi_bw across the guests over knem and over TCP, in
# guest A and in dom0, and the ratios of the targets; $1 = md for
# Markdown, else text.
mpi_table() {
	awk -F, -v format="$1" -v mpi=1 -v width=10 -v libs="$MPI_LIBS" "$TABLE_AWK"'
		END {
			nlib = split(libs, lib, " ")
			h[0] = 1; h[1] = "size"
			for (l = 1; l <= nlib; l++) {
				split("across|tcp|in-guest|dom0|xg/dom0|xg/tcp", part, "|")
				for (p = 1; p <= 6; p++) h[++h[0]] = lib[l] ":" part[p]
			}
			header(h)
			for (i = 1; i <= n; i++) {
				s = sizes[i]
				c[0] = 1; c[1] = size_text(s)
				for (l = 1; l <= nlib; l++) {
					m = "mpi-" lib[l]
					x = mbps["across-guests/" m, s]; t = mbps["across-guests/" m "-tcp", s]
					g = mbps["in-guest/" m, s]; d = mbps["dom0/" m, s]
					c[++c[0]] = sprintf("%.0f", x); c[++c[0]] = sprintf("%.0f", t)
					c[++c[0]] = sprintf("%.0f", g); c[++c[0]] = sprintf("%.0f", d)
					c[++c[0]] = ratio(x, d); c[++c[0]] = ratio(x, t)
				}
				row(c)
			}
		}' "$out/results.csv"
}

# The table of results.csv, one row per size: the bandwidths and the
# ratios; $1 = md for Markdown, else text.
table() {
	awk -F, -v format="$1" -v mpi=0 -v width=9 "$TABLE_AWK"'
		END {
			split("size|xg-single|xg-cached|xg-c-copy|tcp|ig-single|ig-cached|d0-single|d0-cached|d0-memcpy|xs/d0s|xc/d0c|xcc/d0c|xs/tcp|xc/tcp|xcc/tcp|xs/igs|xc/igc", h, "|")
			h[0] = 18
			header(h)
			for (i = 1; i <= n; i++) {
				s = sizes[i]
				xs = mbps["across-guests/knem-single", s]; xc = mbps["across-guests/knem-cached", s]
				xcc = mbps["across-guests/knem-cached-copy", s]; t = mbps["across-guests/tcp", s]
				gs = mbps["in-guest/knem-single", s]; gc = mbps["in-guest/knem-cached", s]
				ds = mbps["dom0/knem-single", s]; dc = mbps["dom0/knem-cached", s]
				dm = mbps["dom0/memcpy", s]
				c[0] = 18; c[1] = size_text(s)
				c[2] = sprintf("%.0f", xs); c[3] = sprintf("%.0f", xc); c[4] = sprintf("%.0f", xcc)
				c[5] = sprintf("%.0f", t); c[6] = sprintf("%.0f", gs); c[7] = sprintf("%.0f", gc)
				c[8] = sprintf("%.0f", ds); c[9] = sprintf("%.0f", dc); c[10] = sprintf("%.0f", dm)
				c[11] = ratio(xs, ds); c[12] = ratio(xc, dc); c[13] = ratio(xcc, dc)
				c[14] = ratio(xs, t); c[15] = ratio(xc, t); c[16] = ratio(xcc, t)
				c[17] = ratio(xs, gs); c[18] = ratio(xc, gc)
				row(c)
			}
		}' "$out/results.csv"
}

# plot_data TABLE DAT: gnuplot data, TABLE's text form (table or
# mpi_table) without its header line, sizes in bytes.
plot_data() {
	"$1" text | awk 'NR > 1 {
		s = $1 * ($2 == "MiB" ? 1048576 : 1024); $1 = s; $2 = ""; print }' > "$2"
}

# plot_frame SVG DAT: the settings both plots share: the SVG, a log2 axis
# of message sizes labelled in KiB and MiB, the grid and margins.
plot_frame() {
	cat <<-FRAME
		set terminal svg size 900,960 dynamic font "sans,12" background "#ffffff"
		set output "$1"
		set key outside right
		set logscale x 2
		set xtics ($(awk '{ s = $1; u = "K"; s /= 1024; if (s >= 1024) { s /= 1024; u = "M" }
			printf "%s\"%d%s\" %d", (NR > 1 ? ", " : ""), s, u, $1 }' "$2"))
		set xrange [$(awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo / 1.25 ":" hi * 1.25 }' "$2")]
		set xlabel "message size (bytes)"
		set grid
		set lmargin 10
		set rmargin 36
	FRAME
}

# The knem plot (knem-xen-bench.svg): bandwidths and the ratios of the
# targets.
plot() {
	local label=$1
	plot_data table "$out/plot.dat"
	{ plot_frame "$out/knem-xen-bench.svg" "$out/plot.dat"; cat <<-PLOT; } | gnuplot
		set linetype 1 lc "#7b3294" pt 7 lw 2
		set linetype 2 lc "#1a9641" pt 5 lw 2
		set linetype 3 lc "#2c7bb6" pt 9 lw 2
		set linetype 4 lc "#e66101" pt 11 lw 2
		set linetype 5 lc "#7b3294" pt 6 lw 1 dt 2
		set linetype 6 lc "#1a9641" pt 4 lw 1 dt 2
		set linetype 7 lc "#000000" lw 1 dt 4
		set multiplot layout 2,1 title "knem between two Xen guests: $label" font "sans,11"
		set title "Bandwidth"
		set ylabel "MB/s (bytes per us)"
		set logscale y 10
		plot "$out/plot.dat" using 1:2 title "across guests, single-use" with linespoints lt 1, \\
			"" using 1:3 title "across guests, cached" with linespoints lt 2, \\
			"" using 1:4 title "across guests, region to region" with linespoints lt 3, \\
			"" using 1:5 title "TCP between the guests" with linespoints lt 4, \\
			"" using 1:8 title "dom0 native, single-use" with linespoints lt 5, \\
			"" using 1:9 title "dom0 native, cached" with linespoints lt 6, \\
			"" using 1:10 title "dom0 memcpy" with lines lt 7
		set title "Ratios of the bandwidths (log scale); dashed: the targets 0.8 and 5"
		set ylabel "ratio"
		plot "$out/plot.dat" using 1:11 title "across/dom0, single-use" with linespoints lt 1, \\
			"" using 1:12 title "across/dom0, cached" with linespoints lt 2, \\
			"" using 1:13 title "across/dom0, region to region" with linespoints lt 3, \\
			"" using 1:14 title "across/TCP, single-use" with linespoints lt 5, \\
			"" using 1:15 title "across/TCP, cached" with linespoints lt 6, \\
			"" using 1:17 title "across/in-guest, single-use" with linespoints lt 4 lw 1, \\
			0.8 with lines dt 2 lc "black" notitle, 5 with lines dt 2 lc "black" notitle
		unset multiplot
	PLOT
}

# The MPI plot (knem-xen-mpi.svg): bandwidths and the ratios of the
# targets, one line style per library.
plot_mpi() {
	local label=$1
	plot_data mpi_table "$out/plot-mpi.dat"
	{ plot_frame "$out/knem-xen-mpi.svg" "$out/plot-mpi.dat"; cat <<-PLOT; } | gnuplot
		set linetype 1 lc "#7b3294" pt 7 lw 2
		set linetype 2 lc "#e66101" pt 11 lw 2
		set linetype 3 lc "#1a9641" pt 5 lw 2
		set linetype 4 lc "#000000" pt 9 lw 1
		set multiplot layout 2,1 title "Debian's MPI (knem_mpi_bw, UCX + knemxen) and Xen guests: $label" font "sans,11"
		set title "Bandwidth (solid: MPICH, dashed: Open MPI)"
		set ylabel "MB/s (bytes per us)"
		set logscale y 10
		plot "$out/plot-mpi.dat" using 1:2 title "MPICH across, knem" with linespoints lt 1, \\
			"" using 1:3 title "MPICH across, TCP" with linespoints lt 2, \\
			"" using 1:4 title "MPICH in guest A" with linespoints lt 3, \\
			"" using 1:5 title "MPICH in dom0, native" with linespoints lt 4, \\
			"" using 1:8 title "Open MPI across, knem" with linespoints lt 1 dt 2, \\
			"" using 1:9 title "Open MPI across, TCP" with linespoints lt 2 dt 2, \\
			"" using 1:10 title "Open MPI in guest A" with linespoints lt 3 dt 2, \\
			"" using 1:11 title "Open MPI in dom0, native" with linespoints lt 4 dt 2
		set title "Ratios (log scale); dotted: the targets 0.8 (dom0) and 10 (TCP)"
		set ylabel "ratio"
		plot "$out/plot-mpi.dat" using 1:6 title "MPICH across/dom0" with linespoints lt 1, \\
			"" using 1:7 title "MPICH across/TCP" with linespoints lt 2, \\
			"" using 1:12 title "Open MPI across/dom0" with linespoints lt 1 dt 2, \\
			"" using 1:13 title "Open MPI across/TCP" with linespoints lt 2 dt 2, \\
			0.8 with lines dt 3 lc "black" notitle, 10 with lines dt 3 lc "black" notitle
		unset multiplot
	PLOT
}

main() {
	parse_args "$@"
	local mode files stage status=0 vm_args=() label
	mode=$([ "$deterministic" -eq 1 ] && echo deterministic || echo wallclock)
	[ "$quick" -eq 0 ] || mode=$mode-quick
	out=${out:-$KNEM_REPO/.cache/xen-bench/$mode}
	mkdir -p "$out"
	out=$(cd "$out" && pwd -P)
	files=$KNEM_REPO/.cache/xen-bench/files

	knem_step "host setup"
	bash "$KNEM_HARNESS/ensure-host.sh" --plot
	knem_ensure_host
	knem_step "building"
	knem_build
	build_programs "$files"
	knem_step "staging Debian's MPI for the guests"
	stage=$(bash "$KNEM_REPO/tests/xen/stage-mpi.sh")
	write_params "$files/xb/params" "$stage"
	label=$(cat "$out/label")
	[ "$deterministic" -eq 0 ] || vm_args=(--icount)
	knem_step "one Xen boot ($mode): dom0, in-guest, across the guests"
	"$KNEM_REPO/tests/xen/knem-xen-vm" "${vm_args[@]}" --net --timeout "$timeout_s" \
		--mem 2304 --domu-mem 512 --xen-args gnttab_max_frames=256 \
		--dom0-module "$KNEM_REPO/dom0-backend/knem.ko" \
		--domu-module "$KNEM_REPO/dom0-backend/knem.ko" \
		--domu-module "$KNEM_REPO/domU-frontend/knem-front.ko" \
		--domu-module-params knem.ko forceflags=0x80 \
		--dom0-files "$files" --domu-files "$files" --domu-files "$stage" --out "$out/run" \
		--dom0-script "$KNEM_REPO/tools/xen-bench-dom0.sh" || status=$?
	if [ "$status" -ne 0 ]; then
		echo "xen-bench.sh: the benchmark failed (status $status); logs in $out/run" >&2
		exit "$status"
	fi
	merge "$out/run"
	{
		echo "# knem between two Xen guests; $label"
		echo "# MB/s; xg = across the guests (B reads A's messages), ig = inside guest A,"
		echo "# d0 = dom0 with the native knem.ko; single = single-use region per message,"
		echo "# cached = a region declared once, c-copy = cached, region to region"
		table text
		echo
		echo "# Debian's MPI: knem_mpi_bw, UCX with the knemxen transport; MB/s across"
		echo "# the guests over knem (one sharing group) and over TCP (two groups), in"
		echo "# guest A and in dom0 (native knem.ko); xg/dom0 and xg/tcp: across over knem"
		echo "# divided by dom0 and by TCP"
		mpi_table text
	} > "$out/table.txt"
	{
		table md
		echo
		mpi_table md
	} > "$out/table.md"
	cat "$out/table.txt"
	plot "$label"
	plot_mpi "$label"
	knem_step "results in $out: table.txt table.md results.csv knem-xen-bench.svg knem-xen-mpi.svg run/"
}

main "$@"
