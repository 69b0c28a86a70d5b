/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ucp_version_stub.c - a libucp.so.0 of another UCX version, for
 * ucx_version_test.sh: knemxen must then refuse to register.
 */
void ucp_get_version(unsigned *major, unsigned *minor, unsigned *release);

void ucp_get_version(unsigned *major, unsigned *minor, unsigned *release)
{
	*major = 1;
	*minor = 99;
	*release = 0;
}
