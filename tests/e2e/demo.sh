#!/bin/sh
# make demo: the main job end to end, with a readable trace.
#
# A Windows client connects to an origin server's address.  A redirector
# sends the connection to wfpproxy.exe, a Windows transparent proxy running
# under wine-wfp, which reads the redirect records and context, logs the
# original destination, sets the records on its outbound socket and
# connects there; the connection reaches the origin without a loop and the
# bytes come back intact.  Three times: with nftables as the redirector,
# with two chained proxies, and with an in-Wine rule instead of nftables.
# The nftables parts need root; they run in a network namespace of their own.
. "$WFP_SRCDIR/tests/lib.sh"

E2E=$WFP_BUILDDIR/build/e2e
PROGRAMS=$WFP_BUILDDIR/build/programs
LOGS=$E2E/demo
rm -rf "$LOGS"; mkdir -p "$LOGS"
ns=""
trap 'pkill -f "wfpproxy.exe --name demo" 2>/dev/null; kill_servers; test -z "$ns" || "$IP" netns del "$ns" 2>/dev/null' EXIT

IN_NS=""
wfp() { WINEPREFIX=$prefix $IN_NS "$WINE_WFP" "$@"; }
start() { log=$1; shift; WINEPREFIX=$prefix $IN_NS "$WINE_WFP" "$@" >"$LOGS/$log" 2>&1 & }
wait_for() { for i in $(seq 300); do grep -q "$2" "$LOGS/$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
section() { echo; echo "==== $* ===="; }
show() { sed 's/^/    /' "$@"; }

# one_connection TARGET LOGS...: a client connection, then what each saw
one_connection()
{
    target=$1; shift
    for f in "$@"; do : > "$LOGS/$f.mark"; wc -l < "$LOGS/$f" > "$LOGS/$f.mark"; done
    echo "demo: a Windows client sends 64 KiB to $target and reads the echo"
    wfp "$E2E/client.exe" "$target" --size 65536 >"$LOGS/client.log" 2>&1
    sleep 0.5
    for f in "$@"; do
        echo "demo: $f:"
        tail -n +$(( $(cat "$LOGS/$f.mark") + 1 )) "$LOGS/$f" | show
    done
    echo "demo: the client:"
    show "$LOGS/client.log"
}

if reason=$(netns_usable); then
    ns=wfp-demo-$$
    "$IP" netns add "$ns"
    "$IP" -n "$ns" link set lo up
    IN_NS="$IP netns exec $ns"

    section "1. nftables redirects the client to one proxy"
    $IN_NS "$NFT" -f - <<RULES
table inet demo {
    chain output {
        type nat hook output priority -100;
        ip daddr 127.0.0.2 tcp dport 80 meta mark & 0x100 == 0 redirect to :15001
    }
}
RULES
    echo "demo: in network namespace $ns, the nftables rules:"
    $IN_NS "$NFT" list ruleset | show
    echo "demo: creating a wine-wfp prefix"
    prefix=$(fresh_prefix demo-nft wfp)
    $IN_NS env WINEPREFIX=$prefix "$WINESERVER_WFP" -p >/dev/null 2>&1
    wfp "$PROGRAMS/wfprules.exe" service add proxy1 port=15001 mark=0x100 >"$LOGS/rules.log" 2>&1
    wfp "$PROGRAMS/wfprules.exe" service add proxy2 port=15002 mark=0x200 >>"$LOGS/rules.log" 2>&1
    echo "demo: the proxies' netfilter services (wfprules service list):"
    wfp "$PROGRAMS/wfprules.exe" service list >"$LOGS/list.log" 2>&1; show "$LOGS/list.log"
    start origin.log "$E2E/origin.exe" 127.0.0.2:80
    start proxy1.log "$PROGRAMS/wfpproxy.exe" --name proxy1 15001
    wait_for origin.log listening; wait_for proxy1.log listening
    one_connection 127.0.0.2:80 proxy1.log origin.log

    section "2. two chained proxies: each redirects the flow once"
    $IN_NS "$NFT" add rule inet demo output ip daddr 127.0.0.2 tcp dport 80 meta mark \& 0x200 == 0 redirect to :15002
    $IN_NS "$NFT" list ruleset | show
    start proxy2.log "$PROGRAMS/wfpproxy.exe" --name proxy2 15002
    wait_for proxy2.log listening
    one_connection 127.0.0.2:80 proxy1.log proxy2.log origin.log
    $IN_NS env WINEPREFIX=$prefix "$WINESERVER_WFP" -k
    IN_NS=""
else
    section "1 and 2. nftables: skipped"
    echo "demo: $reason; showing the in-Wine rule only"
fi

section "3. an in-Wine rule instead of nftables (no root needed)"
prefix=$(fresh_prefix demo-rules wfp)
WINEPREFIX=$prefix "$WINESERVER_WFP" -p >/dev/null 2>&1
wfp "$PROGRAMS/wfprules.exe" add web tcp 127.0.0.3:47180 -\> 127.0.0.1:47101 target=wfpproxy.exe >"$LOGS/rules.log" 2>&1
echo "demo: the rules (wfprules list):"
wfp "$PROGRAMS/wfprules.exe" list >"$LOGS/list.log" 2>&1; show "$LOGS/list.log"
start origin3.log "$E2E/origin.exe" 127.0.0.3:47180
start proxy3.log "$PROGRAMS/wfpproxy.exe" --name proxy 47101
wait_for origin3.log listening; wait_for proxy3.log listening
one_connection 127.0.0.3:47180 proxy3.log origin3.log
WINEPREFIX=$prefix "$WINESERVER_WFP" -k

echo
echo "demo: hops are listed oldest first: nf:PORT is a netfilter redirect to that port,"
echo "demo: rule:N a wine-wfp rule of service N; src_port is the client's own port."
