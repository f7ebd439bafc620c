#!/bin/sh
# Run Wine's own ws2_32 tests (afd, protocol, sock) under stock Wine and
# under wine-wfp, each in its own fresh prefix, and fail on any failure
# that shows up only with wine-wfp.
#
# Failures are compared as sets of file:line.  Some depend on the machine
# (no DNS, no display, no IPv6 route) and show up in both runs; those are
# not ours.  A failure found only with wine-wfp is run once more on both
# sides, and counts only if it shows up again with wine-wfp and in neither
# stock run: some of Wine's tests are timing-sensitive.
#
# usage: wine-tests.sh WS2_32_TEST_EXE
. "$WFP_SRCDIR/tests/lib.sh"

testexe=$1
modules="afd protocol sock"
logs=$WFP_BUILDDIR/build/wine-tests
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
    if test -s "$logs/new-$m"; then
        echo "wine-tests: $m: $(wc -l < "$logs/new-$m") failures only with wine-wfp; running both once more"
        run stock "$m" 2
        run wfp "$m" 2
        sort -u "$logs/stock-$m-1.failures" "$logs/stock-$m-2.failures" > "$logs/stock-$m.any"
        comm -12 "$logs/new-$m" "$logs/wfp-$m-2.failures" | comm -23 - "$logs/stock-$m.any" > "$logs/confirmed-$m"
    else
        : > "$logs/confirmed-$m"
    fi
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
