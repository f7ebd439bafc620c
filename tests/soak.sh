#!/bin/sh
# make soak: SOAK_CONNECTIONS (100,000) proxied connections through two
# chained proxies under in-Wine rules, while proxies and clients are killed
# at random moments (a killed proxy is started again).  Afterwards the
# wineserver's tables must be empty and its memory back at its baseline;
# no connection may come back with other bytes or with records that are
# not its own (connections cut short by a kill are counted, not failed).
. "$WFP_SRCDIR/tests/lib.sh"

total=${SOAK_CONNECTIONS:-100000}
E2E=$WFP_BUILDDIR/build/e2e
PROGRAMS=$WFP_BUILDDIR/build/programs
LOGS=$WFP_BUILDDIR/build/soak
rm -rf "$LOGS"; mkdir -p "$LOGS"
trap 'kill $killer $sampler 2>/dev/null; pkill -f "wfpproxy.exe --name soak"; kill_servers' EXIT

prefix=$(fresh_prefix soak wfp)
export WINEPREFIX=$prefix
"$WINESERVER_WFP" -p >/dev/null 2>"$LOGS/wineserver.log"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status"; }
stats() { "$WINE_WFP" "$E2E/wfpstat.exe" >"$LOGS/stats.log" 2>&1; cat "$LOGS/stats.log"; }
wait_empty()
{
    for i in $(seq 120); do
        case "$(stats)" in *"sockets=0 pending=0"*) return 0 ;; esac
        sleep 0.5
    done
    return 1
}

"$WINE_WFP" "$PROGRAMS/wfprules.exe" add 10-s1 tcp 127.0.0.3:47181 -\> 127.0.0.1:47111 >"$LOGS/rules.log" 2>&1
"$WINE_WFP" "$PROGRAMS/wfprules.exe" add 20-s2 tcp 127.0.0.3:47181 -\> 127.0.0.1:47112 >>"$LOGS/rules.log" 2>&1
server=$("$WINE_WFP" --server-pid)     # settled by now: a client has talked to it
"$WINE_WFP" "$E2E/origin.exe" 127.0.0.3:47181 >"$LOGS/origin.log" 2>&1 &
proxy() { "$WINE_WFP" "$PROGRAMS/wfpproxy.exe" --name soak-p$1 --quiet 4711$1 >>"$LOGS/p$1.log" 2>&1 & }
proxy 1; proxy 2
for i in $(seq 300); do grep -q listening "$LOGS/p2.log" 2>/dev/null && grep -q listening "$LOGS/origin.log" && break; sleep 0.1; done

# batches of 4 clients, 500 connections each, 4 at a time
clients()
{
    pids=""
    for c in 1 2 3 4; do
        timeout -k 5 600 "$WINE_WFP" "$E2E/client.exe" 127.0.0.3:47181 --expect rule:47111,rule:47112 \
            --count 500 --parallel 4 --size 4096 --retry >"$LOGS/client-$1-$c.log" 2>&1 &
        pids="$pids $!"
    done
    wait $pids
}

# warm up, so that the baseline includes what the first connections allocate
clients warmup
wait_empty || { echo "soak: FAILED: the tables did not empty after the warm-up: $(stats)"; exit 1; }
before=$(rss)
echo "soak: wineserver $server, $(rss) KiB resident after 2,000 warm-up connections; $total connections to go"

# the wineserver's resident size, every second
(while sleep 1; do rss; done >"$LOGS/rss.log") &
sampler=$!

# kill a proxy (started again at once) or a client, every 4 to 12 seconds
(
    while sleep "$(shuf -i 4-12 -n 1)"; do
        case $(shuf -i 1-3 -n 1) in
            1|2) p=$(shuf -i 1-2 -n 1)
                 pkill -9 -f "wfpproxy.exe --name soak-p$p " && echo "proxy $p"
                 sleep 0.2; proxy $p ;;
            3)   victim=$(pgrep -f "^[^ ]*client.exe 127.0.0.3:47181" | shuf -n 1)
                 test -n "$victim" && kill -9 "$victim" 2>/dev/null && echo "client" ;;
        esac
    done >"$LOGS/kills.log" 2>&1
) &
killer=$!

batches=$(( (total + 1999) / 2000 ))
start=$(date +%s)
for b in $(seq "$batches"); do
    clients "$b"
    test $((b % 10)) = 0 && echo "soak: $((b * 2000)) connections, wineserver at $(rss) KiB, $(stats)"
done
seconds=$(( $(date +%s) - start ))
kill $killer 2>/dev/null
wait $killer 2>/dev/null

# the proxies still work: one clean batch
pgrep -f "wfpproxy.exe --name soak-p1 " >/dev/null || proxy 1
pgrep -f "wfpproxy.exe --name soak-p2 " >/dev/null || proxy 2
sleep 2
clients final
final_ok=$(cat "$LOGS"/client-final-*.log | sed -n 's/^client: [0-9]* connections, \([0-9]*\) ok.*/\1/p' |
           awk '{ n += $1 } END { print n + 0 }')

pkill -f "wfpproxy.exe --name soak"
empty=yes; wait_empty || empty=no
kill $sampler 2>/dev/null
after=$(rss)
peak=$(sort -n "$LOGS/rss.log" | tail -n 1)

sum() { cat "$LOGS"/client-[0-9]*.log 2>/dev/null | sed -n "s/^client: [0-9]* connections, $1.*/\\1/p" | awk '{ n += $1 } END { print n + 0 }'; }
ok=$(sum '\([0-9]*\) ok')
failed=$(sum '[0-9]* ok, \([0-9]*\) failed')
wrong=$(cat "$LOGS"/client-*.log | grep -c "WRONG")
finished=$(grep -l "^client: [0-9]* connections" "$LOGS"/client-[0-9]*.log 2>/dev/null | wc -l)
killed_clients=$(grep -c client "$LOGS/kills.log")
killed_proxies=$(grep -c proxy "$LOGS/kills.log")

echo "soak: $batches batches of 2,000 in $seconds s; $killed_proxies proxies and $killed_clients clients killed"
echo "soak: connections: $ok delivered intact, $failed cut short by a kill, $wrong wrong;" \
     "$(( (batches * 4 - finished) * 500 )) in the killed clients' share"
echo "soak: after the run: $final_ok of 2000 clean connections ok; tables: $(stats)"
echo "soak: wineserver resident size: $before KiB before, $peak KiB at most during, $after KiB after"

status=0
test "$wrong" = 0 || { echo "soak: FAILED: $wrong connections came back wrong"; status=1; }
test "$empty" = yes || { echo "soak: FAILED: the wineserver's tables did not empty"; status=1; }
test "$final_ok" = 2000 || { echo "soak: FAILED: the proxies did not recover"; status=1; }
# memory: back to the baseline, give or take what malloc keeps (5%)
if test "$after" -gt $((before + before / 20)); then
    echo "soak: FAILED: the wineserver kept $((after - before)) KiB more than its baseline"; status=1
fi
test $status = 0 && echo "soak: ok"
exit $status
