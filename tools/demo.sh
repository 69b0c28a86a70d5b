#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The project's demo, from a fresh clone on Debian 12: host setup, build,
# then in Debian's kernel under QEMU TCG with dom0-backend/knem.ko loaded:
# tools/knem_pingpong (default, then -C for cached regions) and the
# statistics of /dev/knem.  Exits non-zero if a step fails.
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=SCRIPTDIR/../tests/harness/build.sh
. "$(dirname "$(readlink -f "$0")")/../tests/harness/build.sh"

# Runs in the VM, cwd = the repository.
# shellcheck disable=SC2016 # expanded in the VM
readonly DEMO='rc=0
run() { echo "\$ $*"; "$@" || { echo "(exit status $?)"; rc=1; }; echo; }
run tools/knem_pingpong
run tools/knem_pingpong -C
run cat /dev/knem
exit $rc'

main() {
	knem_ensure_host
	knem_step "building"
	knem_build
	knem_step "demo in Debian $KNEM_RELEASE under QEMU TCG"
	exec "$KNEM_HARNESS/knem-vm" --module "$KNEM_REPO/dom0-backend/knem.ko" -- "$DEMO"
}

main "$@"
