#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# make check: knemxen registers into the UCX it was built for (ucx_info then
# shows its configuration variables), and into no other: with a libucp of
# version 1.99 first in the library path it says so in one line, and the
# process goes on.
set -euo pipefail

transport=.libs/libuct_knemxen.so
stub_dir=$PWD/.libs/stub
status=0

mkdir -p "$stub_dir"
# the stub's file under the soname the transport opens
ln -sf ../libucp_version_stub.so "$stub_dir/libucp.so.0"

config=$(LD_PRELOAD=$PWD/$transport ucx_info -c -f 2>&1)
if grep -q '^UCX_KNEMXEN_RCACHE=' <<< "$config"; then
	echo "PASS: registered into the UCX it was built for (UCX_KNEMXEN_RCACHE listed)"
else
	echo "FAIL: ucx_info does not list UCX_KNEMXEN_* with the transport preloaded"
	status=1
fi

out=$(LD_LIBRARY_PATH=$stub_dir LD_PRELOAD=$PWD/$transport /bin/true 2>&1) || {
	echo "FAIL: a process with the transport and another UCX version failed"
	status=1
}
expected="knemxen: built for UCX 1.13, running with UCX 1.99: transport not registered"
if [ "$out" = "$expected" ]; then
	echo "PASS: another UCX version: '$out'"
else
	echo "FAIL: another UCX version printed '$out', expected '$expected'"
	status=1
fi
exit "$status"
