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
#   knem_build_modules NAME KDIR
#                        after knem_build: the kernel modules alone for
#                        another kernel (build tree KDIR), in their own
#                        directory, knem_modules_dir NAME

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

# knem_logged_to LOG CMD...: runs CMD with its output in LOG; shows the
# log's end on failure.
knem_logged_to() {
	local log=$1
	shift
	if ! "$@" >> "$log" 2>&1; then
		tail -n 60 "$log" | sed 's/^/  | /'
		echo "error: '$*' failed (full log: $log)" >&2
		return 1
	fi
}

# Runs "$@" with its output in the build log.
knem_logged() {
	knem_logged_to "$KNEM_LOGS/build.log" "$@"
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

# The directory of the modules that knem_build_modules NAME builds.
knem_modules_dir() {
	echo "${KNEM_CACHE:-$KNEM_REPO/.cache}/modules/$1"
}

# knem_copy_changed FROM TO: makes the sources under TO (files and
# symbolic links: *.c, *.h, Kbuild, *.mk) those under FROM, copying only
# what differs, so that Kbuild rebuilds only what changed; the sources gone
# from FROM go from TO.
knem_copy_changed() {
	local from=$1 to=$2 f
	while IFS= read -r f; do
		[ -e "$from/$f" ] || [ -L "$from/$f" ] || rm -f "$to/$f"
	done < <(cd "$to" 2>/dev/null && find . \( -type f -o -type l \) \
		\( -name '*.[ch]' -o -name Kbuild -o -name '*.mk' \) ! -name '*.mod.c')
	while IFS= read -r f; do
		if [ -L "$from/$f" ]; then
			[ "$(readlink "$from/$f")" = "$(readlink "$to/$f" || true)" ] && continue
		elif [ ! -L "$to/$f" ] && cmp -s "$from/$f" "$to/$f"; then
			continue
		fi
		mkdir -p "$(dirname "$to/$f")"
		rm -f "$to/$f"
		cp -P "$from/$f" "$to/$f"
	done < <(cd "$from" && find . \( -type f -o -type l \))
}

# knem_build_modules NAME KDIR: builds, after knem_build (it needs the
# configured tree), the kernel modules as DKMS builds them (the source tree
# of make install-dkms, dkms.mk, and knem-front.ko where the kernel has Xen
# as dkms.conf decides), and the test DMA provider, against the kernel
# build tree KDIR with W=1, in knem_modules_dir NAME.  Not in the source
# tree: its knem.ko stays the one for the default kernel.  A copy of the
# sources, as DKMS has them, so that the matrix builds what DKMS builds.
# Log: $KNEM_LOGS/build-NAME.log.
# Fails when a module did not build or when the compiler or modpost
# printed a warning (the first ones are shown).
knem_build_modules() {
	local name=$1 kdir=$2 dir version front=no log warnings jobs
	dir=$(knem_modules_dir "$name")
	log=$KNEM_LOGS/build-$name.log
	jobs=$(nproc)
	mkdir -p "$KNEM_LOGS" "$dir"
	: > "$log"
	version=$(sed -n 's/^PACKAGE_VERSION = //p' "$KNEM_REPO/Makefile" 2>/dev/null || true)
	[ -n "$version" ] || { echo "error: $KNEM_REPO is not configured (knem_build)" >&2; return 1; }
	grep -qs '^CONFIG_XEN_XENBUS_FRONTEND=y' "$kdir/.config" && front=yes
	rm -rf "$dir/stage"
	knem_logged_to "$log" make -s -C "$KNEM_REPO" install-dkms DESTDIR="$dir/stage" dkmssrcdir=/src ||
		return 1
	mkdir -p "$dir/stage/src/tests/dma-provider"
	# Its sources, not the tree's build outputs (knem_test_dma.mod.c is
	# modpost's, for the default kernel).
	find "$KNEM_REPO/tests/dma-provider" -maxdepth 1 \( -name Kbuild -o -name '*.[ch]' \) \
		! -name '*.mod.c' -exec cp {} "$dir/stage/src/tests/dma-provider/" \;
	knem_copy_changed "$dir/stage/src" "$dir/src"
	rm -rf "$dir/stage"
	# No -j: dkms.mk's rule runs $(MAKE) through a variable, so make would
	# not hand it the jobserver and would warn.
	knem_logged_to "$log" make -C "$dir/src" -f dkms.mk KERNELDIR="$kdir" \
		KNEM_VERSION="$version" XEN_FRONTEND=$front W=1 || return 1
	knem_logged_to "$log" make -j"$jobs" -C "$kdir" M="$dir/src/tests/dma-provider" W=1 modules ||
		return 1
	warnings=$(grep -E '(warning|WARNING)[: ]' "$log" || true)
	if [ -n "$warnings" ]; then
		echo "$warnings" | head -n 20 | sed 's/^/  | /'
		echo "error: the build for $name printed $(grep -c . <<< "$warnings") warnings (log: $log)" >&2
		return 1
	fi
}
