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
# usage: wine-tests.sh WS2_32_TEST_EXE
. "$WFP_SRCDIR/tests/lib.sh"

testexe=$1
modules="afd protocol sock"
logs=$WFP_BUILDDIR/build/wine-tests$SERIES
rm -rf "$logs"; mkdir -p "$logs"
trap kill_servers EXIT

stock_prefix=$(fresh_prefix wine-tests-stock stock)
wfp_prefix=$(fresh_prefix wine-tests-wfp wfp)

# run KIND MODULE RUN: writes $logs/KIND-MODULE-RUN.log and .failures
run()
{
    log=$logs/$1-$2-$3.log
    if test "$1" = stock; then
        WINEPREFIX=$stock_prefix timeout -k 10 1200 "$STOCK_WINE" "$testexe" "$2" >"$log" 2>&1
    else
        WINEPREFIX=$wfp_prefix timeout -k 10 1200 "$WINE_WFP" "$testexe" "$2" >"$log" 2>&1
    fi
    rc=$?
    {
        sed -n 's/^\([a-z0-9_]*\.c:[0-9]*\): Test \(failed\|succeeded inside todo block\).*/\1/p' "$log"
        sed -n 's/^\([a-z0-9_]*\.c:[0-9]*\): unhandled exception.*/\1 crash/p' "$log"
        test $rc != 124 || echo "$2 timeout"
        grep -q "tests executed" "$log" || echo "$2 did not finish (status $rc)"
    } | sort -u > "${log%.log}.failures"
}

pass=0; fail=0
for m in $modules; do
    run stock "$m" 1
    run wfp "$m" 1
    comm -13 "$logs/stock-$m-1.failures" "$logs/wfp-$m-1.failures" > "$logs/new-$m"
    cp "$logs/new-$m" "$logs/confirmed-$m"
    for n in 2 3 4; do
        test -s "$logs/confirmed-$m" || break
        echo "wine-tests: $m: $(wc -l < "$logs/confirmed-$m") failures only with wine-wfp so far; running both again"
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
