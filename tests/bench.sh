#!/bin/sh
# make bench: the benchmarks, each reported as a ratio of two things
# measured side by side in the same run.  They need root: they run in a
# network namespace with nftables rules of their own.
#
#   ioctl cost        QUERY_RECORDS, QUERY_CONTEXT, SET against an existing
#                     round trip to the wineserver, getsockopt(SO_RCVBUF);
#                     the queries also as ws2_32 answers them after accept
#   proxied setup     accept, both queries, SET and connect, against the
#                     same proxy doing a plain accept and connect
#   without records   connect and accept under wine-wfp against stock Wine
#   10,000 open       proxied setup with 10,000 redirected connections
#                     open, against 100
#   memory            the wineserver's memory per open redirected connection
. "$WFP_SRCDIR/tests/lib.sh"

BENCH=$WFP_BUILDDIR/build/bench
# the logs and figures of this Wine (bench-10.0 for Wine 10.0)
LOGDIR=$BENCH/logs$SERIES
FIGURES=$BENCH/figures$SERIES
mkdir -p "$LOGDIR"
: > "$FIGURES"
ns=""; holder=""
trap 'test -z "$holder" || kill $holder 2>/dev/null; kill_servers; test -z "$ns" || "$IP" netns del "$ns" 2>/dev/null' EXIT

if reason=$(series_unavailable); then
    echo "bench$SERIES: skipped: $reason"
    exit 0
fi
if ! reason=$(netns_usable); then
    echo "bench: skipped: the benchmarks need redirected connections, and $reason"
    exit 0
fi
# 10,000 held connections take 10,000 descriptors in the wineserver
ulimit -n "$(ulimit -Hn)" 2>/dev/null

ns=wfp-bench-$$
redirect_netns "$ns"
IN_NS="$IP netns exec $ns"

wfp_prefix=$(fresh_prefix bench wfp)
stock_prefix=$(fresh_prefix bench-stock stock)
wfp()   { WINEPREFIX=$wfp_prefix $IN_NS "$WINE_WFP" "$@"; }
stock() { WINEPREFIX=$stock_prefix $IN_NS "$STOCK_WINE" "$@"; }
figure() { grep '^bench:' "$1" | sed 's/^bench: //' >> "$FIGURES"; }
value() { tr ' ' '\n' < "$FIGURES" | sed -n "s/^$1=\\([0-9.-]*\\).*/\\1/p" | tail -n 1; }
ratio() { awk "BEGIN { printf \"%.3f\", $1 / $2 }"; }

echo "==== wine-wfp $("$WINE_WFP" --version), wineserver $WFP_ROOT/lib/wine/wineserver64"
echo
echo "==== ioctl cost against a round trip to the wineserver ===="
WFP_TEST_REDIRECT=$REDIRECT_SPEC wfp "$BENCH/wfpbench.exe" ${WFP_BENCH_ITERATIONS:-5000} >"$LOGDIR/ioctl.log" 2>&1
grep -v '^bench:' "$LOGDIR/ioctl.log"; figure "$LOGDIR/ioctl.log"

echo
echo "==== proxied connection setup against a plain accept and connect (target >= 0.9) ===="
wfp "$BENCH/setupbench.exe" compare 100 21 >"$LOGDIR/setup.log" 2>&1
grep -v '^bench:' "$LOGDIR/setup.log"; figure "$LOGDIR/setup.log"
echo "  ratio: $(value proxied_over_plain)"

echo
echo "==== connect and accept without records: wine-wfp against stock Wine $("$STOCK_WINE" --version) (target >= 0.98) ===="
# pairs of the two run back to back, in alternating order; the ratio is
# the median of the pairs' ratios, which the machine's drift disturbs less
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
bare_rate() { sed -n 's/^bench: bare_rate=//p' "$1" | tr -d '\r'; }
: > "$LOGDIR/bare-ratios"
for i in 1 2 3 4 5 6 7 8 9 10 11; do
    if test $((i % 2)) = 1; then
        stock "$BENCH/setupbench.exe" bare 1000 3 >"$LOGDIR/bare-stock-$i.log" 2>&1
        wfp "$BENCH/setupbench.exe" bare 1000 3 >"$LOGDIR/bare-wfp-$i.log" 2>&1
    else
        wfp "$BENCH/setupbench.exe" bare 1000 3 >"$LOGDIR/bare-wfp-$i.log" 2>&1
        stock "$BENCH/setupbench.exe" bare 1000 3 >"$LOGDIR/bare-stock-$i.log" 2>&1
    fi
    ratio "$(bare_rate "$LOGDIR/bare-wfp-$i.log")" "$(bare_rate "$LOGDIR/bare-stock-$i.log")" >> "$LOGDIR/bare-ratios"
    echo >> "$LOGDIR/bare-ratios"
done
stock_rate=$(for f in "$LOGDIR"/bare-stock-*.log; do bare_rate "$f"; done | median)
wfp_rate=$(for f in "$LOGDIR"/bare-wfp-*.log; do bare_rate "$f"; done | median)
echo "  stock Wine $stock_rate connections/s, wine-wfp $wfp_rate connections/s (medians of 11 runs each)"
echo "bare_stock_rate=$stock_rate bare_wfp_rate=$wfp_rate bare_wfp_over_stock=$(median < "$LOGDIR/bare-ratios")" >> "$FIGURES"
echo "  ratio: $(value bare_wfp_over_stock)"

echo
echo "==== proxied setup with 10,000 redirected connections open, against 100 (target <= 1.1) ===="
# The outbound side of held connections ends outside Wine, so that the
# wineserver keeps their notes as well as their records.  The holder
# closes its end when Wine's does.
$IN_NS python3 -c '
import selectors, socket
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.5", 9000))
listener.listen(4096)
sel = selectors.DefaultSelector()
sel.register(listener, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is listener:
            sel.register(listener.accept()[0], selectors.EVENT_READ)
        elif not key.fileobj.recv(4096):
            sel.unregister(key.fileobj)
            key.fileobj.close()
' &
holder=$!
sleep 1
for kind in redirected plain; do
    # a wineserver of its own for each kind, whose heap has not grown yet
    WINEPREFIX=$wfp_prefix "$WINESERVER_WFP" -k 2>/dev/null
    WINEPREFIX=$wfp_prefix "$WINESERVER_WFP" -w 2>/dev/null
    WINEPREFIX=$wfp_prefix $IN_NS "$WINESERVER_WFP" -p >/dev/null 2>&1
    pid=$(WINEPREFIX=$wfp_prefix "$WINE_WFP" --server-pid)
    wfp "$BENCH/setupbench.exe" levels 200 2 --levels 100,10000 --cycles 3 \
        $(test $kind = plain && echo --plain) --status "$(winepath_of "/proc/$pid/status")" >"$LOGDIR/hold-$kind.log" 2>&1
    grep -v '^bench:' "$LOGDIR/hold-$kind.log"; figure "$LOGDIR/hold-$kind.log"
done
WINEPREFIX=$wfp_prefix "$WINESERVER_WFP" -k
cost_ratio=$(ratio "$(value hold100_rate)" "$(value hold10000_rate)")
plain_ratio=$(ratio "$(value plainhold100_rate)" "$(value plainhold10000_rate)")
per_connection=$(awk "BEGIN { printf \"%.0f\", ($(value hold10000_rss_kb) - $(value hold100_rss_kb)) * 1024 / 9900 }")
per_plain=$(awk "BEGIN { printf \"%.0f\", ($(value plainhold10000_rss_kb) - $(value plainhold100_rss_kb)) * 1024 / 9900 }")
echo "hold10000_over_hold100_cost=$cost_ratio plainhold10000_over_plainhold100_cost=$plain_ratio" >> "$FIGURES"
echo "server_bytes_per_redirected_connection=$per_connection server_bytes_per_plain_connection=$per_plain" >> "$FIGURES"
echo "  setup cost ratio: $cost_ratio with redirected connections held, $plain_ratio with plain ones"

echo
echo "==== wineserver memory per open redirected connection ===="
echo "  $per_connection bytes; a plain proxied connection: $per_plain bytes"

echo
echo "bench: figures in $FIGURES"
cat "$FIGURES"

# a figure that a failed step left out must not pass unnoticed
missing=""
for name in rcvbuf_ratio query_records_ratio query_context_ratio set_records_ratio answered_records_ratio \
            answered_context_ratio proxied_over_plain \
            bare_wfp_over_stock hold10000_over_hold100_cost server_bytes_per_redirected_connection; do
    test -n "$(value $name)" || missing="$missing $name"
done
for name in hold100_rss_kb hold10000_rss_kb plainhold100_rss_kb plainhold10000_rss_kb; do
    test "$(value $name)" != -1 || missing="$missing $name"
done
if test -n "$missing"; then
    echo "bench: FAILED: no figure for$missing (see the logs in $LOGDIR)"
    exit 1
fi
