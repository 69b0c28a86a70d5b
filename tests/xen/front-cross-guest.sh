# SPDX-License-Identifier: BSD-3-Clause
# dom0 script: knem-front in two guests of one sharing group.  Guest A
# creates an ANY_USER_ACCESS region; guest B reads it (INLINE_COPY), copies
# it into its own region (COPY) and writes into it; with different groups B
# is refused (EPERM); knem-front unloads.
#   mkdir -p /tmp/xb && gcc -static -O2 -I common -o /tmp/xb/knem_xtest \
#	tests/xen/front_cross_guest.c
#   tests/xen/knem-xen-vm --dom0-module dom0-backend/knem.ko \
#	--domu-module domU-frontend/knem-front.ko --domu-files /tmp/xb \
#	--dom0-script tests/xen/front-cross-guest.sh
attach() { # NAME DOMID: the guest is still paused
	fe=/local/domain/$2/device/knem/0 be=/local/domain/0/backend/knem/$2/0
	xenstore-write $fe/backend $be $fe/backend-id 0 $fe/state 1 \
		$be/frontend $fe $be/frontend-id "$2" $be/online 1 \
		$be/sharing-group grp1 $be/state 1 &&
		xenstore-chmod -r $fe "n$2" r0 && xenstore-chmod -r $be n0 "r$2"
}
fail() { echo "FAIL: $*"; rc=1; }
rc=0
X=/knem_xtest
start_guests attach || exit $?
guest_run A "$X create 30 >/tmp/cookie 2>/tmp/create.err </dev/null & sleep 3"
cookie=$(guest_run A 'cat /tmp/cookie')
echo "cookie from A: $cookie"
[ -n "$cookie" ] || fail "no cookie"
out=$(guest_run B "$X read $cookie") || fail "read: $out"
echo "$out"
out=$(guest_run B "$X copy $cookie") || fail "copy: $out"
echo "$out"
echo "$out" | grep -q "inline write status 1" || fail "inline write"
sleep 30
out=$(guest_run A 'cat /tmp/create.err')
echo "$out"
echo "$out" | grep -q "written by peer" || fail "A did not see B's write"
# other groups: refused
xenstore-write /local/domain/0/backend/knem/$(guest_domid B)/0/sharing-group grp2
guest_run A "$X create 15 >/tmp/cookie2 2>/dev/null </dev/null & sleep 3"
cookie2=$(guest_run A 'cat /tmp/cookie2')
out=$(guest_run B "$X expect $cookie2") || fail "expect: $out"
echo "$out"
echo "$out" | grep -q "Operation not permitted" || fail "not EPERM"
sleep 15
cat /dev/knem | grep "Xen domain"
for g in A B; do
	# xenbus holds a module reference while the device is bound
	out=$(guest_run $g 'for d in /sys/bus/xen/drivers/knem/knem-*; do echo ${d##*/} > /sys/bus/xen/drivers/knem/unbind; done; rmmod knem_front && echo unloaded') || fail "rmmod in $g: $out"
	echo "$g: $out"
done
sleep 2
for d in $(guest_domid A) $(guest_domid B); do
	echo "backend $d state $(xenstore-read /local/domain/0/backend/knem/$d/0/state)"
done
exit $rc
