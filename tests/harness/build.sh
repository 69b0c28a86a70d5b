# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Sourced by tests/run-all.sh and tools/demo.sh: host setup and the
# idempotent build.  Defines KNEM_REPO, KNEM_HARNESS, KNEM_LOGS,
# KNEM_TRANSPORT and:
#   knem_step MSG        prints a progress line "==> MSG"
#   knem_ensure_host     installs what is missing, sets KNEM_RELEASE
#   knem_build           autogen/configure when needed, make, test programs;
#                        sets KNEM_UCX_SOURCE (the UCX tree the transport
#                        was built against)

KNEM_HARNESS=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
KNEM_REPO=$(cd "$KNEM_HARNESS/../.." && pwd -P)
KNEM_LOGS=${KNEM_CACHE:-$KNEM_REPO/.cache}/logs
# The knemxen UCX transport as knem_build leaves it (libtool's build dir).
# shellcheck disable=SC2034 # for the scripts that source this one
KNEM_TRANSPORT=$KNEM_REPO/libknem/uct/.libs/libuct_knemxen.so
KNEM_RELEASE=
KNEM_UCX_SOURCE=

knem_step() { echo "==> $*"; }

knem_ensure_host() {
	local image
	image=$(bash "$KNEM_HARNESS/ensure-host.sh" --print-image-dir) || return 1
	KNEM_RELEASE=${image##*/}
}

# True unless configured with arguments "$@".
knem_needs_configure() {
	[ -x config.status ] && [ -f Makefile ] || return 0
	[ "$(./config.status --config)" != "$*" ]
}

# Runs "$@" with its output in the build log; shows the log's end on failure.
knem_logged() {
	if ! "$@" >> "$KNEM_LOGS/build.log" 2>&1; then
		tail -n 60 "$KNEM_LOGS/build.log" | sed 's/^/  | /'
		echo "error: '$*' failed (full log: $KNEM_LOGS/build.log)" >&2
		return 1
	fi
}

# Builds everything, including the check programs (tests) and the knemxen
# UCX transport (against the source of the installed UCX,
# libknem/uct/ucx-source.sh), in the source tree, for the kernel the VM
# boots; automake's rebuild rules regenerate what configure.ac or a
# Makefile.am change affects.
knem_build() {
	local jobs
	jobs=$(nproc)
	mkdir -p "$KNEM_LOGS"
	: > "$KNEM_LOGS/build.log"
	KNEM_UCX_SOURCE=$(bash "$KNEM_REPO/libknem/uct/ucx-source.sh") || return 1
	(
		cd "$KNEM_REPO" || exit 1
		if [ ! -x configure ]; then
			# no configure left behind by a failed run: it would be reused
			knem_logged ./autogen.sh || { rm -f configure; exit 1; }
		fi
		set -- "--with-linux-release=$KNEM_RELEASE" "--with-ucx-source=$KNEM_UCX_SOURCE"
		if knem_needs_configure "$@"; then
			knem_logged ./configure "$@" || exit 1
		fi
		knem_logged make -j"$jobs" || exit 1
		knem_logged make -j"$jobs" check TESTS= || exit 1
	)
}
