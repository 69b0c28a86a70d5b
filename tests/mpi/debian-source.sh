# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by tests/mpi/build-*.sh: building an MPI library from Debian's
# source package against this tree's knem_io.h, cached.  The sourcing
# script sets NAME (its messages' prefix) before sourcing; this defines
# REPO, CACHE (.cache/mpi, or $KNEM_CACHE/mpi) and HEADER, and:
#   say MSG / die MSG             messages on stderr
#   ensure_packages PKG...        apt-get install what is missing
#   ensure_deb_src SRCPKG         deb-src entries, when apt has none
#   source_version SRCPKG         the Debian version apt-get source fetches
#   cache_dir SRCPKG SCRIPT...    the cache directory for that version, the
#                                 header and the build scripts' contents
#   fetch_source SRCPKG VERSION WORK LOG   apt-get source (Debian's patches
#                                 applied); prints the source tree
#   install_header DIR            DIR/include/knem_io.h, as knem installs it
#   step LOG DIR LABEL CMD...     a long build step, with progress lines

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)
CACHE=${KNEM_CACHE:-$REPO/.cache}/mpi
HEADER=$REPO/common/knem_io.h
readonly REPO CACHE HEADER
readonly DEB_SRC_LIST=/etc/apt/sources.list.d/knem-xen-deb-src.sources
# shellcheck source=SCRIPTDIR/../harness/apt.sh
. "$REPO/tests/harness/apt.sh"

say() { echo "$NAME: $*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]} (log: $CACHE/apt.log)"
	mkdir -p "$CACHE"
	{
		# waits for the locks of another apt (knem_apt, tests/harness/apt.sh)
		knem_apt as_root apt-get update -qq &&
			knem_apt as_root env DEBIAN_FRONTEND=noninteractive apt-get install \
				-y -qq --no-install-recommends "${missing[@]}"
	} > "$CACHE/apt.log" 2>&1 || { tail -n 20 "$CACHE/apt.log" >&2; die "apt-get failed"; }
}

# apt-get source needs deb-src entries; Debian's images ship only deb ones.
# The deb-src twin of every deb822 "Types: deb" entry and of every one-line
# "deb" entry, in a file of our own.
ensure_deb_src() {
	local srcpkg=$1 tmp f
	apt-get source --print-uris "$srcpkg" > /dev/null 2>&1 && return 0
	say "enabling deb-src entries ($DEB_SRC_LIST)"
	tmp=$(mktemp)
	shopt -s nullglob
	for f in /etc/apt/sources.list.d/*.sources; do
		[ "$f" = "$DEB_SRC_LIST" ] && continue
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
			/(^|\n)Types:[^\n]*[ \t]deb([ \t]|\n|$)/ &&
			!/(^|\n)Enabled:[ \t]*no/ {
				sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print
			}' "$f" >> "$tmp"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >> "$tmp"
	done
	shopt -u nullglob
	grep -q . "$tmp" || { rm -f "$tmp"; die "no deb entries in /etc/apt to derive deb-src from"; }
	# deb822 and one-line entries cannot share a file: keep the deb822 form
	# when there is one, else the one-line form.
	if grep -q '^Types:' "$tmp"; then
		grep -v '^deb-src ' "$tmp" > "$tmp.out" || true
		as_root install -m 644 "$tmp.out" "$DEB_SRC_LIST"
	else
		as_root install -m 644 "$tmp" "${DEB_SRC_LIST%.sources}.list"
	fi
	rm -f "$tmp" "$tmp.out"
	# A third-party repository without sources makes apt-get update fail;
	# what counts is that apt finds this package's source afterwards.
	knem_apt as_root apt-get update -qq ||
		say "apt-get update reported errors; going on"
	apt-get source --print-uris "$srcpkg" > /dev/null 2>&1 ||
		die "apt-get source $srcpkg still fails after enabling deb-src"
}

source_version() {
	apt-get source --print-uris "$1" 2>/dev/null |
		sed -n "s/^'[^']*' $1_\(.*\)\.dsc .*/\1/p" | head -n 1
}

# Another version, header or recipe makes a new directory; the directories
# of the others are of no more use and are removed when it is built.
cache_dir() {
	local srcpkg=$1 version header_key recipe_key
	shift
	version=$(source_version "$srcpkg")
	[ -n "$version" ] || die "cannot tell the version of Debian's $srcpkg source"
	header_key=$(sha256sum "$HEADER" | cut -c1-12)
	recipe_key=$(cat "$@" | sha256sum | cut -c1-8)
	echo "$CACHE/$srcpkg-$version-knem-$header_key-$recipe_key"
}

remove_other_builds() {
	local dest=$1 srcpkg=$2
	mkdir -p "$CACHE"
	find "$CACHE" -mindepth 1 -maxdepth 1 -name "$srcpkg-*" ! -name "${dest##*/}*" \
		-exec rm -rf {} +
}

fetch_source() {
	local srcpkg=$1 version=$2 work=$3 log=$4 src
	step "$log" "$work" "apt-get source" apt-get source "$srcpkg=$version"
	src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name "$srcpkg-*" | head -n 1)
	[ -n "$src" ] || die "no source tree in $work"
	echo "$src"
}

install_header() {
	install -D -m 644 "$HEADER" "$1/include/knem_io.h"
}

# step LOG DIR LABEL COMMAND...: runs COMMAND in DIR with its output in LOG;
# a progress line every minute (these steps are long and quiet), and the
# log's end on failure.
step() {
	local log=$1 dir=$2 label=$3 started=$SECONDS pid elapsed objects
	shift 3
	(cd "$dir" && exec "$@") >> "$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		elapsed=$((SECONDS - started))
		if [ "$elapsed" -ge 60 ] && [ $((elapsed % 60)) -lt 5 ]; then
			objects=$(find "$dir" -name '*.lo' | wc -l)
			if [ "$objects" -gt 0 ]; then
				say "  $label: $((elapsed / 60)) min, $objects objects compiled so far"
			else
				say "  $label: $((elapsed / 60)) min"
			fi
		fi
	done
	if ! wait "$pid"; then
		tail -n 40 "$log" | sed 's/^/  | /' >&2
		die "$label failed (full log: $log)"
	fi
}
