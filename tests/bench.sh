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
#   callout driver    the proxied setup with the sample callout driver as
#                     the redirector, against an in-Wine rule
#   UDP relay         datagrams/s through a relay whose socket has
#                     IP_WFP_REDIRECT_RECORDS and _CONTEXT on, against the
#                     same relay without them
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
echo "==== proxied setup, a callout driver against an in-Wine rule as the redirector ===="
# The same proxy, the rule and the driver each sending a destination of
# their own to it, in pairs of rounds in alternating order; setupbench
# gives the driver its rule, with its process id.  The server
# stays up for the driver; both go afterwards, as a filter makes every
# later connect() of the run pay a classification.
PROGRAMS=$WFP_BUILDDIR/build/programs
WINEPREFIX=$wfp_prefix "$WINESERVER_WFP" -k 2>/dev/null
WINEPREFIX=$wfp_prefix $IN_NS "$WINESERVER_WFP" -p
wfp "$PROGRAMS/wfprules.exe" add bench-rule tcp 127.0.0.6:8080 -\> 127.0.0.1:18080 >"$LOGDIR/driver.log" 2>&1
cp "$PROGRAMS/wfpcallout.sys" "$wfp_prefix/drive_c/windows/system32/drivers/benchc.sys"
wfp sc create benchc type= kernel binPath= 'C:\windows\system32\drivers\benchc.sys' >>"$LOGDIR/driver.log" 2>&1
for try in 1 2 3; do wfp sc start benchc >>"$LOGDIR/driver.log" 2>&1 && break; sleep 1; done
wfp "$BENCH/setupbench.exe" redirectors 100 21 >"$LOGDIR/redirectors.log" 2>&1
grep -v '^bench:' "$LOGDIR/redirectors.log"; figure "$LOGDIR/redirectors.log"
echo "  ratio: $(value driver_over_rule)"
wfp sc stop benchc >>"$LOGDIR/driver.log" 2>&1
wfp "$PROGRAMS/wfprules.exe" remove bench-rule >>"$LOGDIR/driver.log" 2>&1
WINEPREFIX=$wfp_prefix "$WINESERVER_WFP" -k

echo
echo "==== a UDP relay with IP_WFP_REDIRECT_RECORDS and _CONTEXT on, against the same relay without them (target >= 0.8) ===="
# WSARecvMsg with a 2048-byte control buffer, WSASendMsg to an echo and the
# reply back: 200 new flows of 5 datagrams each (one wineserver request
# per new flow with the options on), and one flow of 1000; 11 rounds, the
# variants back to back in alternating order.  Beside them, the same with
# records on each flow's first datagram (those of a connection that the
# namespace's rule redirected), which the relay forwards.
WFP_TEST_REDIRECT=$REDIRECT_SPEC wfp "$BENCH/udpbench.exe" 200 5 1000 11 >"$LOGDIR/udp.log" 2>&1
grep -v '^bench:' "$LOGDIR/udp.log"; figure "$LOGDIR/udp.log"
echo "  ratio: $(value udp_flows_on_over_off) with 200 new flows, $(value udp_long_on_over_off) with one long flow;" \
     "with records on the first datagrams: $(value udp_flows_records_over_off)"

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
echo "==== instructions in the wineserver per connection, counted by callgrind ===="
# Wall-clock ratios cannot show a cost of 1%: the machine's noise is
# larger.  Instruction counts do not depend on it.  Each count is the
# difference between a run of 1100 and one of 100 iterations (plus their
# warm-ups), so that starting the process and the prefix cancels out.
# Which events the poll loop handled together still varies the total a
# little from run to run; the instructions spent in wine-wfp's own server
# code (tests/bench/callgrind-share.py) do not, and they are what the
# hooks add to a plain connection.
callgrind_run() # PREFIX SERVER-BINARY WINE WINESERVER MODE ITERATIONS: prints "TOTAL WFP"
{
    _out=$LOGDIR/callgrind-$(basename "$3")-$(echo "$5" | tr : -)-$6.out
    WINEPREFIX=$1 "$4" -k 2>/dev/null; WINEPREFIX=$1 "$4" -w 2>/dev/null
    WINEPREFIX=$1 $IN_NS $RUN_IN valgrind --tool=callgrind --callgrind-out-file="$_out" "$2" -f -p \
        </dev/null >/dev/null 2>"$_out.log" &
    _vg=$!
    # it answers once it listens on its socket (named relative to its
    # directory, so found by its pid, in the namespace it runs in)
    for _i in $(seq 600); do $IN_NS ss -xlpH 2>/dev/null | grep -q "pid=$_vg," && break; sleep 0.1; done
    if ! $IN_NS ss -xlpH 2>/dev/null | grep -q "pid=$_vg,"; then
        echo "bench: the wineserver did not start under callgrind (see $_out.log)" >&2
        kill $_vg 2>/dev/null
        return 1
    fi
    # MODE held:N (plainheld:N): the setups while N redirected (plain)
    # connections are held
    case $5 in
    held:*) set -- "$1" "$2" "$3" "$4" held "$6" "${5#held:}" ;;
    plainheld:*) set -- "$1" "$2" "$3" "$4" held "$6" "${5#plainheld:}" --plain ;;
    *) set -- "$@" 1 ;;
    esac
    WINEPREFIX=$1 $IN_NS "$3" "$BENCH/setupbench.exe" "$5" "$6" "$7" $8 >"$_out.setupbench" 2>&1
    WINEPREFIX=$1 "$4" -k 2>/dev/null
    wait $_vg
    python3 "$WFP_SRCDIR/tests/bench/callgrind-share.py" "$_out"
}
per_connection_counts() # PREFIX SERVER-BINARY WINE WINESERVER MODE: prints "TOTAL WFP" per connection
{
    _a=$(callgrind_run "$@" 100) && _b=$(callgrind_run "$@" 1100) &&
    echo "$_a $_b" | awk '{ printf "%.0f %.0f\n", ($3 - $1) / 1100, ($4 - $2) / 1100 }'
}
if test -n "$SERIES"; then RUN_IN=$WINE10/in-root; else RUN_IN=; fi
set --
counted=no
if ! $RUN_IN sh -c 'command -v valgrind' >/dev/null 2>&1; then
    echo "  skipped: valgrind is not installed${SERIES:+ in the Debian 13 root}"
else
    counted=yes
    ours="$wfp_prefix $WFP_ROOT/lib/wine/wineserver64 $WINE_WFP $WINESERVER_WFP"
    bare=$(per_connection_counts $ours bare)
    stock_bare=$(per_connection_counts "$stock_prefix" /usr/lib/wine/wineserver64 "$STOCK_WINE" "$STOCK_WINESERVER" bare)
    proxied=$(per_connection_counts $ours proxied)
    plain=$(per_connection_counts $ours plain)
    # what holding connections costs a setup, without the machine's noise:
    # the notes, their sweep and the records of 10,000 redirected
    # connections against 100's, and the same for plain ones, which tells
    # what Wine itself spends on 10,000 more handles and sockets
    held100=$(per_connection_counts $ours held:100)
    held10000=$(per_connection_counts $ours held:10000)
    plainheld100=$(per_connection_counts $ours plainheld:100)
    plainheld10000=$(per_connection_counts $ours plainheld:10000)
    set -- $bare $stock_bare $proxied $plain $held100 $held10000 $plainheld100 $plainheld10000
fi
# a count that a failed run left out is reported missing below
if test $# = 16; then
    echo "instr_bare=$1 instr_bare_wfp=$2 instr_stock_bare=$3 instr_proxied=$5 instr_proxied_wfp=$6" \
         "instr_plain=$7 instr_plain_wfp=$8" >> "$FIGURES"
    echo "instr_bare_wfp_over_stock=$(ratio "$1" "$(($1 - $2))")" \
         "instr_proxied_over_plain=$(ratio "$5" "$7")" >> "$FIGURES"
    echo "  a plain connect and accept: $1 instructions, $2 of them in wine-wfp's code (Debian's own"
    echo "  wineserver binary, built with other flags: $3)"
    echo "  ratio, wine-wfp against the same server without wine-wfp's code: $(value instr_bare_wfp_over_stock)" \
         "(target <= 1.01)"
    echo "  a proxied setup: $5 instructions ($6 in wine-wfp's code); the same proxy plain: $7 ($8)"
    echo "  ratio, proxied against plain: $(value instr_proxied_over_plain)"
    echo "instr_held100=$9 instr_held100_wfp=${10} instr_held10000=${11} instr_held10000_wfp=${12}" \
         "instr_plainheld100=${13} instr_plainheld10000=${15}" >> "$FIGURES"
    echo "instr_held10000_over_held100=$(ratio "${11}" "$9")" \
         "instr_held10000_over_held100_wfp=$(ratio "${12}" "${10}")" \
         "instr_plainheld10000_over_plainheld100=$(ratio "${15}" "${13}")" >> "$FIGURES"
    echo "  a proxied setup with 100 redirected connections held: $9 instructions (${10} in wine-wfp's code);"
    echo "  with 10,000 held: ${11} (${12}); with 100 and 10,000 plain connections held: ${13} and ${15}"
    echo "  ratio, 10,000 redirected held against 100: $(value instr_held10000_over_held100) in all," \
         "$(value instr_held10000_over_held100_wfp) in wine-wfp's code (target <= 1.05); plain held:" \
         "$(value instr_plainheld10000_over_plainheld100)"
fi

echo
echo "==== wineserver memory per open redirected connection ===="
echo "  $per_connection bytes; a plain proxied connection: $per_plain bytes"

echo
echo "bench: figures in $FIGURES"
cat "$FIGURES"

# a figure that a failed step left out must not pass unnoticed
missing=""
for name in rcvbuf_ratio query_records_ratio query_context_ratio set_records_ratio answered_records_ratio \
            answered_context_ratio proxied_over_plain driver_over_rule \
            udp_flows_on_over_off udp_long_on_over_off udp_flows_records_over_off \
            bare_wfp_over_stock hold10000_over_hold100_cost server_bytes_per_redirected_connection; do
    test -n "$(value $name)" || missing="$missing $name"
done
test $counted = no || test -n "$(value instr_bare_wfp_over_stock)" || missing="$missing instr_bare_wfp_over_stock"
test $counted = no || test -n "$(value instr_held10000_over_held100_wfp)" ||
    missing="$missing instr_held10000_over_held100_wfp"
for name in hold100_rss_kb hold10000_rss_kb plainhold100_rss_kb plainhold10000_rss_kb; do
    test "$(value $name)" != -1 || missing="$missing $name"
done
if test -n "$missing"; then
    echo "bench: FAILED: no figure for$missing (see the logs in $LOGDIR)"
    exit 1
fi
