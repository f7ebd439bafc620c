#!/bin/sh
# The mixed 32/64-bit end-to-end scenarios, over in-Wine rules (no root
# needed):
#
#  1. a 32-bit process runs wine-wfp's i386 ws2_32.dll;
#  2. a 32-bit proxy between a 64-bit client and a 64-bit origin, IPv4
#     and IPv6;
#  3. the reverse: a 64-bit proxy between 32-bit ones;
#  4. two chained proxies, 32-bit then 64-bit, with 200 concurrent
#     connections from 32-bit clients;
#  5. the wineserver's tables are empty afterwards, as a 32-bit process
#     reads them too.
#
# The records that a proxy reads, sets and passes on go through the same
# wineserver from 32-bit and 64-bit processes, so each side must read the
# other's.  WFP_E2E32 may name another directory of the 32-bit programs.
. "$WFP_SRCDIR/tests/lib.sh"

SUITE=e2e-i386
LOGS=$WFP_BUILDDIR/build/e2e-i386/logs
. "$WFP_SRCDIR/tests/e2e/common.sh"
E2E32=${WFP_E2E32:-$WFP_BUILDDIR/build/i386}

prefix=$(fresh_prefix e2e-i386 wfp)
WINEPREFIX=$prefix "$WINESERVER_WFP" -p >/dev/null 2>"$LOGS/wineserver.log"

# ---- 1. the i386 ws2_32.dll is ours ----------------------------------------

wfp "$E2E32/overlay-info.exe" >"$LOGS/overlay-info.log" 2>&1
cat "$LOGS/overlay-info.log"
if ! grep -q "^process: 32-bit" "$LOGS/overlay-info.log"; then
    bad "$E2E32/overlay-info.exe did not run as a 32-bit process"
elif loaded_dll_is_ours "$LOGS/overlay-info.log" "$WFP_ROOT/lib/i386-linux-gnu/wine/i386-windows/ws2_32.dll"; then
    ok "a 32-bit process loads wine-wfp's i386 ws2_32.dll"
else
    bad "a 32-bit process does not load wine-wfp's i386 ws2_32.dll"
fi

# ---- 2. and 3. one proxy of the other bitness -------------------------------

rules add 10-p32 tcp 127.0.0.3:47481 -\> 127.0.0.1:47411
rules add 11-p32v6 tcp [::1]:47481 -\> [::1]:47411
rules add 12-p64 tcp 127.0.0.3:47482 -\> 127.0.0.1:47412

start origin64.log "$E2E/origin.exe" 127.0.0.3:47481 [::1]:47481
start origin32.log "$E2E32/origin.exe" 127.0.0.3:47482
start p32.log "$E2E32/wfpproxy.exe" --name e2e-i386-p32 --quiet 47411
start p64.log "$PROGRAMS/wfpproxy.exe" --name e2e-i386-p64 --quiet 47412
for log in origin64.log origin32.log p32.log p64.log; do
    wait_for $log listening || bad "${log%.log} did not start: $(cat "$LOGS/$log")"
done

client "32-bit proxy, 64-bit client and origin, IPv4" 127.0.0.3:47481 --expect rule:47411 --count 20
client "32-bit proxy, 64-bit client and origin, IPv6" [::1]:47481 --expect rule:47411 --count 20
client_with "$E2E32/client.exe" "64-bit proxy, 32-bit client and origin" 127.0.0.3:47482 \
    --expect rule:47412 --count 20

# ---- 4. chained: the 32-bit proxy's outbound connection is redirected to
# the 64-bit one, which must see the records the 32-bit proxy set -----------

rules add 20-p64 tcp 127.0.0.3:47481 -\> 127.0.0.1:47412
client_with "$E2E32/client.exe" "32-bit then 64-bit proxy, 32-bit clients" 127.0.0.3:47481 \
    --expect rule:47411,rule:47412 --count 200 --parallel 50 --size 20000

# ---- 5. nothing is left behind ----------------------------------------------

pkill -f 'wfpproxy.exe --name e2e-i386' 2>/dev/null
sleep 1
wait_empty "mixed 32/64-bit"
wfp "$E2E32/wfpstat.exe" >"$LOGS/stats32.log" 2>&1
if grep -q "sockets=0 pending=0" "$LOGS/stats32.log"; then
    ok "a 32-bit process reads the same statistics: $(cat "$LOGS/stats32.log")"
else
    bad "a 32-bit process reads the statistics as: $(cat "$LOGS/stats32.log")"
fi
echo "$SUITE: what the 64-bit origin saw, by hops:"
sed -n 's/.*hops=\([^ ]*\).*/\1/p' "$LOGS/origin64.log" | sort | uniq -c | sed 's/^/    /'
WINEPREFIX=$prefix "$WINESERVER_WFP" -k

echo "$SUITE: logs in $LOGS"
record "$SUITE" $pass $fail $skip
test $fail = 0
