#!/bin/sh
# make demo: the main job, end to end, with a readable trace.
#
# In a network namespace of its own, an nftables rule sends connections
# for 127.0.0.2:8080 and [::1]:8080 to port 18080, where a Windows program
# under wine-wfp listens, as a transparent proxy would.  A client connects
# to the original addresses; the listener reads, through the documented
# Winsock API, what a proxy needs: the redirect records, the redirect
# context and SO_ORIGINAL_DST.
#
# This shows the accept side only.  Relaying to the original destination,
# loop prevention and proxy chains are not done yet (see README).
. "$WFP_SRCDIR/tests/lib.sh"

E2E=$WFP_BUILDDIR/build/e2e
trap 'kill_servers; test -z "$ns" || "$IP" netns del "$ns" 2>/dev/null' EXIT
ns=""

if ! reason=$(netns_usable); then
    echo "demo: cannot run: $reason"
    echo "demo: run 'make demo' as root on a machine with nftables"
    exit 1
fi

echo "demo: creating a wine-wfp prefix"
prefix=$(fresh_prefix demo wfp)
export WINEPREFIX=$prefix

ns=wfp-demo-$$
redirect_netns "$ns"
echo "demo: network namespace $ns, nftables rules:"
"$IP" netns exec "$ns" "$NFT" list ruleset | sed 's/^/    /'

in_ns() { "$IP" netns exec "$ns" "$@"; }

# the server must live as long as the session: keep it up
in_ns "$WINESERVER_WFP" -p
in_ns "$WINE_WFP" "$E2E/inspect.exe" listen 18080 3 >"$E2E/demo-listener.log" 2>&1 &
listener=$!
for i in $(seq 50); do grep -q listening "$E2E/demo-listener.log" && break; sleep 0.2; done

for target in "127.0.0.2 8080" "::1 8080" "127.0.0.1 18080"; do
    echo
    echo "demo: a Windows client connects to ${target% *} port ${target#* }"
    in_ns "$WINE_WFP" "$E2E/inspect.exe" connect $target >"$E2E/demo-client.log" 2>&1
    sed 's/^/    /' "$E2E/demo-client.log"
done
wait $listener
echo
echo "demo: what the listener (the proxy's side) saw:"
sed 's/^/    /' "$E2E/demo-listener.log"
in_ns "$WINESERVER_WFP" -k
