#!/bin/sh
# End-to-end tests: real Windows programs under wine-wfp.
#
#  1. the overlay is what runs (wineserver and ws2_32.dll);
#  2. in-Wine redirection rules (no root needed): one proxy and two
#     chained, IPv4 and IPv6; 1,000 sequential and 200 concurrent
#     connections; a client that closes before the accept; records set by
#     another process, and altered records; a proxy killed mid-flight;
#     UDP flows through one proxy and two chained, IPv4 and IPv6, with
#     sendto() and with connect(), and 1,000 datagrams over 200 flows; a
#     proxy that calls Winsock only through a layered service provider,
#     one and two chained;
#  3. nftables in a network namespace (root): one proxy and two chained,
#     IPv4 and IPv6; 200 concurrent connections; UDP flows through one
#     proxy and two chained, IPv4 and IPv6, and 1,000 datagrams over 200
#     flows; a UDP flow's records sent with WSASendMsg by another process,
#     and altered; a UDP flow and SET without the right to read conntrack
#     or to mark the socket.
#
# Every connection's bytes must come back exactly, and the origin must see
# exactly the hops it was sent through (see client.c and origin.c); every
# UDP answer must come from the original destination, with the datagram's
# bytes exactly and the hops (see udpclient.c and udporigin.c).
. "$WFP_SRCDIR/tests/lib.sh"

SUITE=e2e
LOGS=$WFP_BUILDDIR/build/e2e/logs$SERIES
. "$WFP_SRCDIR/tests/e2e/common.sh"

# ---- 1. the overlay is what runs -------------------------------------------

prefix=$(fresh_prefix e2e wfp)
WINEPREFIX=$prefix "$WINESERVER_WFP" -p >/dev/null 2>"$LOGS/wineserver.log"
wfp "$E2E/overlay-info.exe" >"$LOGS/overlay-info.log" 2>&1
cat "$LOGS/overlay-info.log"
pid=$(WINEPREFIX=$prefix "$WINE_WFP" --server-pid)
server_exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
if test -n "$WFP_VALGRIND"; then
    # under memcheck the executable is valgrind's; the server is its argument
    set -- $(ps -eo pid,args | grep "memcheck.*/lib/wine/wineserver64 -f -p" | grep -v grep | tail -n 1)
    pid=$1; server_exe=""
    for arg; do case "$arg" in */wineserver64) server_exe=$(realpath "$arg") ;; esac; done
fi
# over Wine 10.0 the host sees the server inside the Debian 13 root
test -z "$SERIES" || server_exe=${server_exe#$(cat "$WINE10/debian13-root")}
echo "wineserver: pid ${pid:-none}, $server_exe"
case "$server_exe" in
    "$(realpath "$WFP_ROOT")"/lib/wine/wineserver64) ok "the prefix is served by wine-wfp's wineserver" ;;
    *) bad "the prefix is served by '$server_exe', not by $WFP_ROOT/lib/wine/wineserver64" ;;
esac
if loaded_dll_is_ours "$LOGS/overlay-info.log" "$WFP_ROOT/lib/x86_64-linux-gnu/wine/x86_64-windows/ws2_32.dll"; then
    ok "the loaded ws2_32.dll is the one wine-wfp built"
else
    bad "the loaded ws2_32.dll is not the one wine-wfp built"
fi

# ---- 2. in-Wine redirection rules ------------------------------------------

echo "e2e: in-Wine redirection rules"
rules add 10-p1 tcp 127.0.0.3:47081 -\> 127.0.0.1:47011
rules add 11-p1v6 tcp [::1]:47081 -\> [::1]:47011
rules add 30-late tcp 127.0.0.3:47083 -\> 127.0.0.1:47013
rules add 40-kill tcp 127.0.0.3:47084 -\> 127.0.0.1:47014
if rules add bad tcp example.com:80 -\> 127.0.0.1:1 || ! grep -q "invalid rule: bad destination" "$LOGS/wfprules.log"; then
    bad "wfprules accepted a rule with a host name"
else
    ok "wfprules refuses an invalid rule with a clear error"
fi

start origin.log "$E2E/origin.exe" 127.0.0.3:47081 [::1]:47081 127.0.0.3:47084
start p1.log "$PROGRAMS/wfpproxy.exe" --name e2e-p1 --dump-records "$(winepath_of "$LOGS/p1-records.hex")" 47011
wait_for origin.log listening && wait_for p1.log listening || bad "the origin or the proxy did not start"

client "rule, one proxy, IPv4" 127.0.0.3:47081 --expect rule:47011 --count 20
client "rule, one proxy, IPv6" [::1]:47081 --expect rule:47011 --count 20

# the second proxy's rules come after the first's (rules go by name)
rules add 20-p2 tcp 127.0.0.3:47081 -\> 127.0.0.1:47012
rules add 21-p2v6 tcp [::1]:47081 -\> [::1]:47012
start p2.log "$PROGRAMS/wfpproxy.exe" --name e2e-p2 --quiet 47012
wait_for p2.log listening || true
client "rule, two proxies, IPv4" 127.0.0.3:47081 --expect rule:47011,rule:47012 --count 20
client "rule, two proxies, IPv6" [::1]:47081 --expect rule:47011,rule:47012 --count 20
client "rule, two proxies, 1000 sequential" 127.0.0.3:47081 --expect rule:47011,rule:47012 --count 1000 --size 1500
client "rule, two proxies, 200 concurrent" 127.0.0.3:47081 --expect rule:47011,rule:47012 --count 200 --parallel 200 --size 20000

# the wineserver reads the rules again only when the registry changed; a
# rule removed must not apply to the next connect
rules remove 20-p2
client "rule removed: the next connect goes through one proxy again" 127.0.0.3:47081 --expect rule:47011 --count 20
client "rule removed: the other family still goes through two" [::1]:47081 --expect rule:47011,rule:47012 --count 20

# a client that closes before the listener accepts: the note outlives it
start late.log "$E2E/origin.exe" --accept-delay 3000 --count 5 127.0.0.1:47013
wait_for late.log listening || true
client "rule, client gone before the accept" 127.0.0.3:47083 --count 5 --close-early
sleep 5
late=$(grep -c "hops=rule:47013 src_port=[1-9]" "$LOGS/late.log")
if [ "$late" = 5 ]; then
    ok "rule, client gone before the accept: all 5 accepted connections carry their records"
else
    bad "rule, client gone before the accept: $late of 5 accepted connections carry records"
fi

# records are for the process they were issued to, and unforgeable
blob="$LOGS/p1-records.hex"
if [ -s "$blob" ]; then
    head -n 1 "$blob" > "$LOGS/one-record.hex"
    wfp "$E2E/setrecords.exe" "$(winepath_of "$LOGS/one-record.hex")" >"$LOGS/replay.log" 2>&1
    if grep -q "error 10013" "$LOGS/replay.log"; then ok "records of another process's connection: refused with WSAEACCES"
    else bad "records of another process's connection: $(cat "$LOGS/replay.log")"; fi
    wfp "$E2E/setrecords.exe" "$(winepath_of "$LOGS/one-record.hex")" --tamper 40 >"$LOGS/tamper.log" 2>&1
    if grep -q "error 10022" "$LOGS/tamper.log"; then ok "altered records: refused with WSAEINVAL"
    else bad "altered records: $(cat "$LOGS/tamper.log")"; fi
else
    bad "the proxy wrote no records to $blob"
fi

# one process at its cap of connections in flight; another is unaffected.
# The cap is configured down from its default, which the bench exceeds
# with 10,000 connections held by one process.
wfp reg add 'HKLM\Software\Wine\WFP' /v MaxConnectionsInFlight /t REG_DWORD /d 1000 /f >/dev/null 2>&1
rules add 50-capA tcp 127.0.0.3:47091 -\> 127.0.0.1:47031
rules add 51-capB tcp 127.0.0.3:47092 -\> 127.0.0.1:47032
start cap-fill.log "$E2E/captest.exe" fill 127.0.0.3:47091 47031
for i in $(seq 240); do grep -q holding "$LOGS/cap-fill.log" && break; sleep 0.5; done
if grep -q "1000 connections in flight, then connect() failed with error 10055" "$LOGS/cap-fill.log" &&
   grep -q "has 1000 connections with WFP redirect records in flight (MaxConnectionsInFlight); refusing another" \
       "$LOGS/wineserver.log"; then
    ok "cap: a process's 1001st connection in flight fails with WSAENOBUFS (MaxConnectionsInFlight=1000), and the wineserver says why"
else
    bad "cap on connections in flight: $(cat "$LOGS/cap-fill.log")"
fi
if wfp "$E2E/captest.exe" one 127.0.0.3:47092 47032 >"$LOGS/cap-one.log" 2>&1; then
    ok "cap: meanwhile another process's connection carries its records"
else
    bad "cap: another process is affected: $(cat "$LOGS/cap-one.log")"
fi
pkill -f 'captest.exe fill'
wfp reg delete 'HKLM\Software\Wine\WFP' /v MaxConnectionsInFlight /f >/dev/null 2>&1

# a proxy killed mid-flight
start p3.log "$PROGRAMS/wfpproxy.exe" --name e2e-p3 --quiet 47014
wait_for p3.log listening || true
WINEPREFIX=$prefix timeout -k 5 60 "$WINE_WFP" "$E2E/client.exe" 127.0.0.3:47084 --count 10 --parallel 10 \
    --size 200000 --slow >"$LOGS/client-killed.log" 2>&1 &
killed_client=$!
sleep 3
pkill -9 -f 'wfpproxy.exe --name e2e-p3'
wait $killed_client || true
echo "e2e: the clients of the killed proxy: $(tail -n 1 "$LOGS/client-killed.log")"

# UDP flows under rules: ntdll sends the datagrams to the proxy, and the
# answers come from the original destination, with sendto() and with
# connect() and send(); a proxy's own flow, which carries its records, is
# not redirected again by the rule that brought it.  Ports below the
# kernel's ephemeral range (32768 and up): the sockets of earlier flows
# could hold one of those
rules add 60-u1 udp 127.0.0.3:27181 -\> 127.0.0.1:27111
rules add 61-u1v6 udp [::1]:27181 -\> [::1]:27111
start urule-origin.log "$E2E/udporigin.exe" 127.0.0.3:27181 [::1]:27181
start urule-p1.log "$PROGRAMS/wfpproxy.exe" --name e2e-ur1 --quiet --udp 27111
wait_for urule-origin.log listening && wait_for urule-p1.log listening || bad "the UDP origin or proxy did not start"
udp_client "rule udp, one proxy, IPv4" 127.0.0.3:27181 --flows 20 --count 5 --expect rule:27111
udp_client "rule udp, one proxy, IPv6" [::1]:27181 --flows 20 --count 5 --expect rule:27111
udp_client "rule udp, connect() and send(), IPv4" 127.0.0.3:27181 --flows 20 --count 5 --expect rule:27111 --connect
udp_client "rule udp, connect() and send(), IPv6" [::1]:27181 --flows 20 --count 5 --expect rule:27111 --connect
# a second destination that the proxy serves, from the same socket: the
# proxy could not tell the two flows apart
rules add 64-u3 udp 127.0.0.3:27182 -\> 127.0.0.1:27111
udp_client "rule udp, a second destination of the proxy from one socket: WSAEADDRINUSE" 127.0.0.3:27181 \
    --flows 5 --count 2 --expect rule:27111 --also 127.0.0.3:27182
rules add 62-u2 udp 127.0.0.3:27181 -\> 127.0.0.1:27112
rules add 63-u2v6 udp [::1]:27181 -\> [::1]:27112
start urule-p2.log "$PROGRAMS/wfpproxy.exe" --name e2e-ur2 --quiet --udp 27112
wait_for urule-p2.log listening || true
udp_client "rule udp, two proxies, IPv4" 127.0.0.3:27181 --flows 20 --count 5 --expect rule:27111,rule:27112
udp_client "rule udp, two proxies, IPv6" [::1]:27181 --flows 20 --count 5 --expect rule:27111,rule:27112
udp_client "rule udp, two proxies, 1000 datagrams over 200 flows" 127.0.0.3:27181 --flows 200 --count 5 \
    --parallel 20 --expect rule:27111,rule:27112
rules remove 60-u1; rules remove 61-u1v6; rules remove 62-u2; rules remove 63-u2v6; rules remove 64-u3

# the SPI path: a proxy that reaches Winsock only through a layered
# service provider (wfplsp.dll), which finds the base provider, mswsock.dll,
# through the catalog; it queries, SETs and connects with WSPIoctl and the
# rest of the provider's table, the context with a completion routine
rules add 72-lsp1 tcp 127.0.0.3:27381 -\> 127.0.0.1:27311
rules add 73-lsp1v6 tcp [::1]:27381 -\> [::1]:27311
start lsp-origin.log "$E2E/origin.exe" 127.0.0.3:27381 [::1]:27381
start lsp-p1.log "$E2E/lspproxy.exe" "$(winepath_of "$E2E/wfplsp.dll")" 27311
wait_for lsp-origin.log listening && wait_for lsp-p1.log listening || bad "the LSP proxy did not start: $(cat "$LOGS/lsp-p1.log")"
client "lsp, one proxy, IPv4" 127.0.0.3:27381 --expect rule:27311 --count 20
client "lsp, one proxy, IPv6" [::1]:27381 --expect rule:27311 --count 20
rules add 74-lsp2 tcp 127.0.0.3:27381 -\> 127.0.0.1:27312
rules add 75-lsp2v6 tcp [::1]:27381 -\> [::1]:27312
start lsp-p2.log "$E2E/lspproxy.exe" "$(winepath_of "$E2E/wfplsp.dll")" 27312
wait_for lsp-p2.log listening || true
client "lsp, two proxies, IPv4" 127.0.0.3:27381 --expect rule:27311,rule:27312 --count 20
client "lsp, two proxies, IPv6" [::1]:27381 --expect rule:27311,rule:27312 --count 20
if grep -q "calls through the layered provider" "$LOGS/lsp-p1.log" &&
   ! grep -q "cannot\|not a redirected\|no redirect context" "$LOGS/lsp-p1.log" "$LOGS/lsp-p2.log"; then
    ok "lsp: every connection went through the layered provider's table ($(tail -n 1 "$LOGS/lsp-p1.log" | sed 's/.*, //'))"
else
    bad "lsp: $(tail -n 3 "$LOGS/lsp-p1.log" "$LOGS/lsp-p2.log" | tr '\n' ' ')"
fi
rules remove 72-lsp1; rules remove 73-lsp1v6; rules remove 74-lsp2; rules remove 75-lsp2v6
pkill -f 'lspproxy.exe' 2>/dev/null

pkill -f 'wfpproxy.exe --name e2e' 2>/dev/null
sleep 1
wait_empty "rules"
echo "e2e: what the origin saw, by hops:"
sed -n 's/.*hops=\([^ ]*\).*/\1/p' "$LOGS/origin.log" | sort | uniq -c | sed 's/^/    /'

# the cap on rules: wfprules refuses one more, the wineserver uses the first
# 256 of a registry filled by other means and says so
cap_rules()
{
    printf 'REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\Software\\Wine\\WFP\\Rules]\n'
    for i in $(seq "$1" "$2"); do printf '"cap-%03d"="tcp 198.51.100.1:%d -> 127.0.0.1:1"\n' "$i" "$i"; done
}
existing=$(wfp "$PROGRAMS/wfprules.exe" list 2>/dev/null | grep -c .)
cap_rules 1 $((256 - existing)) >"$LOGS/cap-rules.reg"
wfp reg import "$(winepath_of "$LOGS/cap-rules.reg")" >"$LOGS/reg.log" 2>&1
if ! wfp "$PROGRAMS/wfprules.exe" add 99-over tcp 198.51.100.2:1 -\> 127.0.0.1:1 >"$LOGS/cap-over.log" 2>&1 &&
   grep -q "there are already 256 rules, the most the wineserver reads" "$LOGS/cap-over.log"; then
    ok "cap: wfprules refuses a 257th rule: $(cat "$LOGS/cap-over.log")"
else
    bad "cap: wfprules took a 257th rule: $(cat "$LOGS/cap-over.log")"
fi
cap_rules 300 340 >"$LOGS/cap-rules.reg"
wfp reg import "$(winepath_of "$LOGS/cap-rules.reg")" >>"$LOGS/reg.log" 2>&1
if wfp "$E2E/captest.exe" one 127.0.0.3:47092 47032 >"$LOGS/cap-one-more.log" 2>&1 &&
   grep -q "only the first 256 WFP redirection rules are used" "$LOGS/wineserver.log"; then
    ok "cap: with 297 rules in the registry the first 256 still work, and the wineserver says so"
else
    bad "cap: 297 rules in the registry: $(cat "$LOGS/cap-one-more.log")"
fi
WINEPREFIX=$prefix "$WINESERVER_WFP" -k

# records name one process of one wineserver: a process with the same id in
# another prefix, started before the records were made, cannot use them
prefix=$(fresh_prefix e2e-twin-a wfp)
twin_prefix=$(fresh_prefix e2e-twin-b wfp)
rules add 60-twin tcp 127.0.0.3:47085 -\> 127.0.0.1:47015
rm -f "$LOGS/twin-dump.hex" "$LOGS/twin-records.hex"
start twin-origin.log "$E2E/origin.exe" 127.0.0.3:47085
start twin-proxy.log "$E2E/pidtwin.exe" 0x800 "$PROGRAMS/wfpproxy.exe" --name e2e-twin --max 1 \
    --dump-records "$(winepath_of "$LOGS/twin-dump.hex")" 47015
WINEPREFIX=$twin_prefix "$WINE_WFP" "$E2E/pidtwin.exe" 0x800 "$E2E/setrecords.exe" \
    "$(winepath_of "$LOGS/twin-records.hex")" --wait >"$LOGS/twin-set.log" 2>&1 &
twin_set=$!
wait_for twin-origin.log listening && wait_for twin-proxy.log listening && wait_for twin-set.log waits ||
    bad "twin: the proxy or its twin did not start"
client "rule, a proxy with a twin in another prefix" 127.0.0.3:47085 --expect rule:47015 --count 1
head -n 1 "$LOGS/twin-dump.hex" > "$LOGS/twin-records.tmp" && mv "$LOGS/twin-records.tmp" "$LOGS/twin-records.hex"
wait $twin_set
if grep -q "wfpproxy.exe is process 0x800" "$LOGS/twin-proxy.log" &&
   grep -q "setrecords.exe is process 0x800" "$LOGS/twin-set.log" && grep -q "error 10013" "$LOGS/twin-set.log"; then
    ok "records of process 0x800 of one prefix: refused with WSAEACCES to process 0x800 of another"
else
    bad "records of a process with the same id in another prefix: $(cat "$LOGS/twin-proxy.log" "$LOGS/twin-set.log")"
fi
WINEPREFIX=$twin_prefix "$WINESERVER_WFP" -k

# the launcher does not let a stock wineserver serve a program silently
WINEPREFIX=$twin_prefix "$WINESERVER_WFP" -w
WINEPREFIX=$twin_prefix "$STOCK_WINESERVER" -p
if WINEPREFIX=$twin_prefix "$WINE_WFP" "$E2E/overlay-info.exe" >"$LOGS/guard.log" 2>&1; then
    bad "a prefix served by a stock wineserver: wine-wfp ran the program: $(cat "$LOGS/guard.log")"
elif grep -q "a different wineserver .* already serves" "$LOGS/guard.log"; then
    ok "a prefix served by a stock wineserver: wine-wfp refuses, and says which server"
else
    bad "a prefix served by a stock wineserver: $(cat "$LOGS/guard.log")"
fi
WINEPREFIX=$twin_prefix "$STOCK_WINESERVER" -k

# the statistics ioctl is the test suites' alone: a wineserver started
# without WINE_WFP_STATS=1 answers it as a code it does not know
WINEPREFIX=$twin_prefix "$WINESERVER_WFP" -w
if WINEPREFIX=$twin_prefix env -u WINE_WFP_STATS "$WINE_WFP" "$E2E/wfpstat.exe" >"$LOGS/nostats.log" 2>&1; then
    bad "a wineserver started without WINE_WFP_STATS answered wfpstat: $(cat "$LOGS/nostats.log")"
elif grep -q "status 0xc00000bb" "$LOGS/nostats.log"; then
    ok "a wineserver started without WINE_WFP_STATS: the statistics ioctl is STATUS_NOT_SUPPORTED"
else
    bad "wfpstat against a wineserver without WINE_WFP_STATS: $(cat "$LOGS/nostats.log")"
fi
WINEPREFIX=$twin_prefix "$WINESERVER_WFP" -k
WINEPREFIX=$prefix "$WINESERVER_WFP" -k

# without the key, a rule still redirects (never fail open): the proxy's
# queries fail, and the origin sees no connection
badkey=$LOGS/badkey
mkdir -p "$badkey" && chmod 0777 "$badkey"
export WINE_WFP_KEY_DIR=$badkey
prefix=$(fresh_prefix e2e-nokey wfp)
WINEPREFIX=$prefix "$WINESERVER_WFP" -p >/dev/null 2>"$LOGS/wineserver-nokey.log"
rules add 70-nokey tcp 127.0.0.3:47086 -\> 127.0.0.1:47016
start nokey-origin.log "$E2E/origin.exe" 127.0.0.3:47086
start nokey-proxy.log "$PROGRAMS/wfpproxy.exe" --name e2e-nokey 47016
wait_for nokey-origin.log listening && wait_for nokey-proxy.log listening || bad "nokey: the origin or the proxy did not start"
wfp "$E2E/client.exe" 127.0.0.3:47086 --count 3 >"$LOGS/client-nokey.log" 2>&1
sleep 1
if ! grep -q "connection from" "$LOGS/nokey-origin.log" && grep -q "error 0x271d" "$LOGS/nokey-proxy.log" &&
   grep -q "WFP redirect records are unavailable: .*badkey is accessible by other users; redirected connections carry none" \
       "$LOGS/wineserver-nokey.log"; then
    ok "no key: the rule still redirects, the proxy's queries fail with WSAEACCES, and the wineserver says why"
else
    bad "no key: $(cat "$LOGS/nokey-origin.log" "$LOGS/nokey-proxy.log" "$LOGS/wineserver-nokey.log" | tail -n 8)"
fi
pkill -f 'wfpproxy.exe --name e2e' 2>/dev/null
WINEPREFIX=$prefix "$WINESERVER_WFP" -k
unset WINE_WFP_KEY_DIR

# ---- 2b. a WFP callout driver ------------------------------------------------

. "$WFP_SRCDIR/tests/e2e/callouts.sh"

# ---- 3. nftables -------------------------------------------------------------

if ! reason=$(netns_usable); then
    skipped "the nftables scenarios: $reason"
else
    echo "e2e: nftables in a network namespace"
    ns=wfp-e2e-$$
    "$IP" netns add "$ns"
    "$IP" -n "$ns" link set lo up
    IN_NS="$IP netns exec $ns"
    nft_add() { $IN_NS "$NFT" add rule inet wfp_e2e output "$@"; }
    $IN_NS "$NFT" -f - <<RULES
table inet wfp_e2e {
    chain output {
        type nat hook output priority -100;
    }
}
RULES
    # a proxy's outbound connection carries its service's mark: let it through
    nft_add ip daddr 127.0.0.2 tcp dport 8080 meta mark \& 0x100 == 0 redirect to :15001
    nft_add ip6 daddr ::1 tcp dport 8080 meta mark \& 0x100 == 0 redirect to :15001

    prefix=$(fresh_prefix e2e-nft wfp)
    $IN_NS env WINEPREFIX=$prefix "$WINESERVER_WFP" -p >/dev/null 2>&1
    rules service add p1 port=15001 mark=0x100
    rules service add p2 port=15002 mark=0x200

    start nft-origin.log "$E2E/origin.exe" 127.0.0.2:8080 [::1]:8080
    start nft-p1.log "$PROGRAMS/wfpproxy.exe" --name e2e-n1 --quiet 15001
    wait_for nft-origin.log listening && wait_for nft-p1.log listening || bad "the origin or the proxy did not start"
    client "nft, one proxy, IPv4" 127.0.0.2:8080 --expect nf:15001 --count 20
    client "nft, one proxy, IPv6" [::1]:8080 --expect nf:15001 --count 20

    nft_add ip daddr 127.0.0.2 tcp dport 8080 meta mark \& 0x200 == 0 redirect to :15002
    nft_add ip6 daddr ::1 tcp dport 8080 meta mark \& 0x200 == 0 redirect to :15002
    start nft-p2.log "$PROGRAMS/wfpproxy.exe" --name e2e-n2 --quiet 15002
    wait_for nft-p2.log listening || true
    client "nft, two proxies, IPv4" 127.0.0.2:8080 --expect nf:15001,nf:15002 --count 20
    client "nft, two proxies, IPv6" [::1]:8080 --expect nf:15001,nf:15002 --count 20
    client "nft, two proxies, 200 concurrent" 127.0.0.2:8080 --expect nf:15001,nf:15002 --count 200 --parallel 200 \
        --size 20000

    # the SPI path under nftables: the LSP proxy first, then a second
    # proxy, each a service of its own on a port that no earlier test used
    # (a conntrack entry of an earlier connection to the same proxy port
    # from the same source port makes netfilter change the source port,
    # and the records are not carried: see "Redirecting with netfilter")
    rules service add p11 port=15011 mark=0x400
    rules service add p12 port=15012 mark=0x800
    nft_add ip daddr 127.0.0.2 tcp dport 8090 meta mark \& 0x400 == 0 redirect to :15011
    nft_add ip6 daddr ::1 tcp dport 8090 meta mark \& 0x400 == 0 redirect to :15011
    nft_add ip daddr 127.0.0.2 tcp dport 8090 meta mark \& 0x800 == 0 redirect to :15012
    nft_add ip6 daddr ::1 tcp dport 8090 meta mark \& 0x800 == 0 redirect to :15012
    start nft-lsp-origin.log "$E2E/origin.exe" 127.0.0.2:8090 [::1]:8090
    start nft-lsp.log "$E2E/lspproxy.exe" "$(winepath_of "$E2E/wfplsp.dll")" 15011
    start nft-lsp-p12.log "$PROGRAMS/wfpproxy.exe" --name e2e-n12 --quiet 15012
    wait_for nft-lsp-origin.log listening && wait_for nft-lsp.log listening && wait_for nft-lsp-p12.log listening ||
        bad "the LSP proxy or the proxy after it did not start"
    client "nft, lsp then a second proxy, IPv4" 127.0.0.2:8090 --expect nf:15011,nf:15012 --count 20
    client "nft, lsp then a second proxy, IPv6" [::1]:8090 --expect nf:15011,nf:15012 --count 20
    pkill -f 'lspproxy.exe' 2>/dev/null

    # UDP through the same services p1 and p2 (ports and marks), with
    # proxies of their own.  wfpproxy's UDP part is a listener written as
    # ebpf-for-windows' (tests/libs/util/socket_helper.cpp): an overlapped
    # WSARecvMsg with a 2048-byte control buffer for the records and the
    # context, then WSASendMsg with the records to the original destination.
    #
    # netfilter applies a rule to new conntrack entries only, and nothing
    # ends a UDP one but its timeout (120 s once answered): a 5-tuple of the
    # one-proxy runs that comes again (the first proxy closes an outbound
    # socket after 60 idle seconds, and a new one may get its port) would
    # still go straight to the origin after the second proxy's rules.  So
    # the chained runs go to port 8063, which the first proxy's rules cover
    # from the start.
    nft_add ip daddr 127.0.0.2 udp dport { 8053, 8063 } meta mark \& 0x100 == 0 redirect to :15001
    nft_add ip6 daddr ::1 udp dport { 8053, 8063 } meta mark \& 0x100 == 0 redirect to :15001
    rm -f "$LOGS/u1-records.hex"
    start udp-origin.log "$E2E/udporigin.exe" 127.0.0.2:8053 [::1]:8053 127.0.0.2:8063 [::1]:8063
    # no rule for 8054: what the refused WSASendMsg calls below must not reach
    start udp-sink.log "$E2E/udporigin.exe" 127.0.0.2:8054
    start udp-p1.log "$PROGRAMS/wfpproxy.exe" --name e2e-u1 --quiet \
        --dump-records "$(winepath_of "$LOGS/u1-records.hex")" --udp 15001
    wait_for udp-origin.log listening && wait_for udp-sink.log listening && wait_for udp-p1.log listening ||
        bad "the UDP origin or the UDP proxy did not start"
    udp_client "nft udp, one proxy, IPv4" 127.0.0.2:8053 --flows 20 --count 5 --expect nf:15001
    udp_client "nft udp, one proxy, IPv6" [::1]:8053 --flows 20 --count 5 --expect nf:15001

    nft_add ip daddr 127.0.0.2 udp dport 8063 meta mark \& 0x200 == 0 redirect to :15002
    nft_add ip6 daddr ::1 udp dport 8063 meta mark \& 0x200 == 0 redirect to :15002
    start udp-p2.log "$PROGRAMS/wfpproxy.exe" --name e2e-u2 --quiet --udp 15002
    wait_for udp-p2.log listening || true
    udp_client "nft udp, two proxies, IPv4" 127.0.0.2:8063 --flows 20 --count 5 --expect nf:15001,nf:15002
    udp_client "nft udp, two proxies, IPv6" [::1]:8063 --flows 20 --count 5 --expect nf:15001,nf:15002
    udp_client "nft udp, two proxies, 1000 datagrams over 200 flows" 127.0.0.2:8063 --flows 200 --count 5 \
        --parallel 20 --expect nf:15001,nf:15002

    # a UDP flow's records, sent with WSASendMsg by another process, as is
    # and altered: refused, and nothing sent
    blob="$LOGS/u1-records.hex"
    if [ -s "$blob" ]; then
        head -n 1 "$blob" > "$LOGS/udp-one-record.hex"
        wfp "$E2E/setrecords.exe" "$(winepath_of "$LOGS/udp-one-record.hex")" --udp 127.0.0.2:8054 \
            >"$LOGS/udp-replay.log" 2>&1
        if grep -q "error 10013" "$LOGS/udp-replay.log"; then
            ok "WSASendMsg with a UDP flow's records of another process: refused with WSAEACCES"
        else bad "WSASendMsg with records of another process: $(cat "$LOGS/udp-replay.log")"; fi
        wfp "$E2E/setrecords.exe" "$(winepath_of "$LOGS/udp-one-record.hex")" --tamper 40 --udp 127.0.0.2:8054 \
            >"$LOGS/udp-tamper.log" 2>&1
        if grep -q "error 10022" "$LOGS/udp-tamper.log"; then
            ok "WSASendMsg with altered UDP records: refused with WSAEINVAL"
        else bad "WSASendMsg with altered records: $(cat "$LOGS/udp-tamper.log")"; fi
        sleep 1
        if grep -q "flow from" "$LOGS/udp-sink.log"; then
            bad "a refused WSASendMsg sent its datagram: $(cat "$LOGS/udp-sink.log")"
        else
            ok "a refused WSASendMsg sends nothing: the destination received no datagram"
        fi
    else
        bad "the UDP proxy wrote no records to $blob"
    fi

    pkill -f 'wfpproxy.exe --name e2e' 2>/dev/null
    sleep 1
    wait_empty "nftables"
    $IN_NS env WINEPREFIX=$prefix "$WINESERVER_WFP" -k

    # SET that needs a mark, from a process without CAP_NET_ADMIN
    nobody_home=$PREFIXES/nobody
    # over Wine 10.0 root enters its root, then becomes nobody there
    enter=""; nobody_wine=$WINE_WFP; nobody_server=$WINESERVER_WFP
    if test -n "$SERIES"; then
        enter="$WINE10/in-root"; nobody_wine=$WINE10/wine-wfp.inside; nobody_server=$WINE10/wineserver-wfp.inside
    fi
    if ! $enter setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$nobody_wine" -a -r "$PROGRAMS/wfpproxy.exe"; then
        skipped "SET without CAP_NET_ADMIN: user nobody cannot reach $WFP_BUILDDIR"
    else
    rm -rf "$nobody_home"; mkdir -p "$nobody_home"; chown 65534:65534 "$nobody_home"
    nobody() { $IN_NS $enter setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
                   env HOME="$nobody_home" WINEPREFIX="$nobody_home/prefix" "$@"; }
    nft_add ip daddr 127.0.0.2 tcp dport 8089 redirect to :15009
    nobody "$nobody_wine" wineboot -i >"$LOGS/nobody-boot.log" 2>&1
    nobody "$nobody_wine" "$PROGRAMS/wfprules.exe" service add p9 port=15009 mark=0x400 >>"$LOGS/wfprules.log" 2>&1
    nobody "$nobody_wine" "$PROGRAMS/wfpproxy.exe" --name e2e-nobody --max 1 --udp 15009 15009 \
        >"$LOGS/nobody-proxy.log" 2>&1 &
    nobody_proxy=$!
    for i in $(seq 100); do grep -q "listening on 1 UDP" "$LOGS/nobody-proxy.log" && break; sleep 0.2; done
    prefix=$PREFIXES/e2e-nft
    # a UDP flow that netfilter redirected, to a proxy whose wineserver may
    # not read conntrack: no records or context (so the proxy drops it),
    # never wrong ones, and the wineserver says why
    nft_add ip daddr 127.0.0.2 udp dport 8089 redirect to :15009
    wfp "$E2E/udpclient.exe" 127.0.0.2:8089 --flows 1 --count 1 >"$LOGS/udpclient-nobody.log" 2>&1
    if grep -q "has no redirect context" "$LOGS/nobody-proxy.log" &&
       cat "$LOGS"/nobody-*.log | grep -q "ctnetlink needs CAP_NET_ADMIN"; then
        ok "a redirected UDP flow, the wineserver without CAP_NET_ADMIN: no records or context, and it says why"
    else
        bad "UDP without CAP_NET_ADMIN: $(cat "$LOGS/nobody-proxy.log")"
    fi
    wfp "$E2E/client.exe" 127.0.0.2:8089 --count 1 >"$LOGS/client-nobody.log" 2>&1
    wait $nobody_proxy
    if grep -q "cannot set the redirect records.*error 10013" "$LOGS/nobody-proxy.log"; then
        ok "SET that needs a mark, without CAP_NET_ADMIN: WSAEACCES"
    else
        bad "SET without CAP_NET_ADMIN: $(cat "$LOGS/nobody-proxy.log")"
    fi

    # UDP rules need no privilege: the whole flow as nobody, in nobody's prefix
    nobody "$nobody_wine" "$PROGRAMS/wfprules.exe" add u9 udp 127.0.0.3:27281 -\> 127.0.0.1:27211 \
        >>"$LOGS/wfprules.log" 2>&1
    nobody "$nobody_wine" "$E2E/udporigin.exe" 127.0.0.3:27281 >"$LOGS/nobody-udp-origin.log" 2>&1 &
    nobody_origin=$!
    nobody "$nobody_wine" "$PROGRAMS/wfpproxy.exe" --name e2e-nobody-udp --quiet --udp 27211 \
        >"$LOGS/nobody-udp-proxy.log" 2>&1 &
    nobody_udp_proxy=$!
    for i in $(seq 100); do
        grep -q listening "$LOGS/nobody-udp-origin.log" && grep -q listening "$LOGS/nobody-udp-proxy.log" && break
        sleep 0.2
    done
    if nobody "$nobody_wine" "$E2E/udpclient.exe" 127.0.0.3:27281 --flows 10 --count 2 --expect rule:27211 \
           >"$LOGS/udpclient-nobody-rule.log" 2>&1; then
        ok "rule udp, everything run as nobody: $(tail -n 1 "$LOGS/udpclient-nobody-rule.log" | sed 's/^udpclient: //'), each answer from the original destination"
    else
        bad "rule udp as nobody: $(tail -n 5 "$LOGS/udpclient-nobody-rule.log" | tr '\n' ' ')"
    fi
    kill $nobody_origin $nobody_udp_proxy 2>/dev/null
    nobody "$nobody_server" -k 2>/dev/null
    fi
fi

echo "e2e: logs in $LOGS"
record e2e $pass $fail $skip
test $fail = 0
