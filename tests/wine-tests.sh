#!/bin/sh
# Run Wine's own ws2_32 tests (afd, protocol, sock) under stock Wine and
# under wine-wfp, each in its own fresh prefix, and fail on any failure
# that shows up only with wine-wfp.
#
# Failures are compared as sets of file:line.  Some depend on the machine
# (no DNS, no display, no IPv6 route) and show up in both runs; those are
# not ours.  Some of Wine's tests are timing-sensitive and fail now and
# then on either side (test_empty_recv fails about every other run on a
# loaded 2-core machine).  So a failure found only with wine-wfp makes both
# sides run again, up to three more times, and it counts only if it shows
# up in every wine-wfp run and in no stock run.
#
# As root, the two Wines run side by side, each in a network namespace of
# its own, since Wine's sock tests bind fixed ports (SERVERPORT).  Both
# namespaces look alike: a loopback, and one end of a veth pair with an
# IPv4 and an IPv6 address and the default routes, as on a machine with
# one network, where the name servers of resolv.conf (the host's, which
# the Debian 13 root copies) are unreachable at once rather than after a
# timeout.  Otherwise they run one after the other, as the reruns always
# do, so that a failure that only load brings on is not confirmed.
#
# usage: wine-tests.sh WS2_32_TEST_EXE
. "$WFP_SRCDIR/tests/lib.sh"

testexe=$1
modules="afd protocol sock"
logs=$WFP_BUILDDIR/build/wine-tests$SERIES
rm -rf "$logs"; mkdir -p "$logs"

namespaces=""
cleanup()
{
    kill_servers
    for _ns in $namespaces; do "$IP" netns del "$_ns" 2>/dev/null; done
}
trap cleanup EXIT

# make_ns NAME: a namespace as described above, or a failure
make_ns()
{
    "$IP" netns add "$1" 2>/dev/null || return 1
    namespaces="$namespaces $1"
    "$IP" -n "$1" link set lo up &&
    "$IP" -n "$1" link add wfp0 type veth peer name wfp1 &&
    "$IP" -n "$1" addr add 198.18.0.2/24 dev wfp0 &&
    "$IP" -n "$1" addr add fd00:198:18::2/64 dev wfp0 nodad &&
    "$IP" -n "$1" link set wfp1 up &&
    "$IP" -n "$1" link set wfp0 up &&
    "$IP" -n "$1" route add default via 198.18.0.1 &&
    "$IP" -n "$1" -6 route add default via fd00:198:18::1 || return 1
    # the name servers: unreachable at once, rather than after a timeout
    for _server in $(sed -n 's/^nameserver[[:space:]]*\([0-9a-fA-F.:]*\).*/\1/p' /etc/resolv.conf); do
        case $_server in
            *:*) "$IP" -n "$1" -6 route replace unreachable "$_server/128" ;;
            *) "$IP" -n "$1" route replace unreachable "$_server/32" ;;
        esac || return 1
    done
}

in_stock=""; in_wfp=""
if is_root && test -n "$IP" && make_ns "wfp-wt-stock-$$" 2>"$logs/netns.log" &&
   make_ns "wfp-wt-wfp-$$" 2>>"$logs/netns.log"; then
    in_stock="$IP netns exec wfp-wt-stock-$$"
    in_wfp="$IP netns exec wfp-wt-wfp-$$"
    echo "wine-tests: stock Wine and wine-wfp side by side, each in a network namespace of its own"
else
    cleanup
    namespaces=""
    echo "wine-tests: stock Wine, then wine-wfp (side by side needs root, network namespaces and veth:" \
        "$(tail -n 1 "$logs/netns.log" 2>/dev/null))"
fi

stock_prefix=$(fresh_prefix wine-tests-stock stock)
wfp_prefix=$(fresh_prefix wine-tests-wfp wfp)

# run KIND MODULE RUN: writes $logs/KIND-MODULE-RUN.log and .failures
run()
{
    log=$logs/$1-$2-$3.log
    if test "$1" = stock; then
        WINEPREFIX=$stock_prefix $in_stock timeout -k 10 1200 "$STOCK_WINE" "$testexe" "$2" >"$log" 2>&1
    else
        WINEPREFIX=$wfp_prefix $in_wfp timeout -k 10 1200 "$WINE_WFP" "$testexe" "$2" >"$log" 2>&1
    fi
    rc=$?
    {
        sed -n 's/^\([a-z0-9_]*\.c:[0-9]*\): Test \(failed\|succeeded inside todo block\).*/\1/p' "$log"
        sed -n 's/^\([a-z0-9_]*\.c:[0-9]*\): unhandled exception.*/\1 crash/p' "$log"
        test $rc != 124 || echo "$2 timeout"
        grep -q "tests executed" "$log" || echo "$2 did not finish (status $rc)"
    } | sort -u > "${log%.log}.failures"
}

# run_both MODULE RUN: stock Wine and wine-wfp, side by side where they can
run_both()
{
    if test -n "$namespaces"; then
        run stock "$1" "$2" &
        _stock=$!
        run wfp "$1" "$2"
        wait $_stock
    else
        run stock "$1" "$2"
        run wfp "$1" "$2"
    fi
}

pass=0; fail=0
for m in $modules; do
    run_both "$m" 1
    comm -13 "$logs/stock-$m-1.failures" "$logs/wfp-$m-1.failures" > "$logs/new-$m"
    cp "$logs/new-$m" "$logs/confirmed-$m"
    for n in 2 3 4; do
        test -s "$logs/confirmed-$m" || break
        echo "wine-tests: $m: $(wc -l < "$logs/confirmed-$m") failures only with wine-wfp so far; running both again"
        # one after the other: some of Wine's tests fail under load alone
        run stock "$m" $n
        run wfp "$m" $n
        # still failing with wine-wfp, and never with stock Wine
        comm -12 "$logs/confirmed-$m" "$logs/wfp-$m-$n.failures" | comm -23 - "$logs/stock-$m-$n.failures" \
            > "$logs/confirmed-$m.next"
        mv "$logs/confirmed-$m.next" "$logs/confirmed-$m"
    done
    s=$(wc -l < "$logs/stock-$m-1.failures"); w=$(wc -l < "$logs/wfp-$m-1.failures")
    n=$(wc -l < "$logs/confirmed-$m")
    echo "wine-tests: $m: stock $s failures, wine-wfp $w failures, $n only with wine-wfp"
    if test "$n" = 0; then
        pass=$((pass + 1))
    else
        sed "s/^/    only with wine-wfp: /" "$logs/confirmed-$m"
        for loc in $(cut -d' ' -f1 "$logs/confirmed-$m"); do
            grep -F "$loc" "$logs/wfp-$m-1.log" | head -n 3 | sed 's/^/        /'
        done
        fail=$((fail + 1))
    fi
done
echo "wine-tests: logs in $logs"
record wine-tests $pass $fail
test $fail = 0
