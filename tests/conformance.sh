#!/bin/sh
# Run our conformance tests (ws2_32_test.exe wfp) under wine-wfp in a fresh
# prefix.  As root they run inside a network namespace with an nftables
# redirect rule, and the test is told which port is redirected to which;
# otherwise the redirected cases skip() and say why.
#
# usage: conformance.sh WS2_32_TEST_EXE [SUITE]
# SUITE names the result (conformance, or conformance-i386 for the 32-bit
# test program).
. "$WFP_SRCDIR/tests/lib.sh"

testexe=$1
suite=${2:-conformance}
log=$WFP_BUILDDIR/build/$suite$SERIES.log
trap 'kill_servers; test -z "$ns" || "$IP" netns del "$ns" 2>/dev/null' EXIT

prefix=$(fresh_prefix "$suite" wfp)
export WINEPREFIX=$prefix

ns=""
if reason=$(netns_usable); then
    ns=wfp-$suite-$$
    redirect_netns "$ns"
    echo "$suite: running in network namespace $ns with an nftables redirect 8080 -> 18080"
    WFP_TEST_REDIRECT=$REDIRECT_SPEC timeout -k 10 900 \
        "$IP" netns exec "$ns" "$WINE_WFP" "$testexe" wfp >"$log" 2>&1
else
    echo "$suite: the redirected cases will be skipped: $reason"
    timeout -k 10 900 "$WINE_WFP" "$testexe" wfp >"$log" 2>&1
fi
rc=$?

grep -E "Test failed|Test succeeded inside todo|unhandled exception|Tests skipped|skipped:" "$log" | head -n 100
set -- $(winetest_counts "$log")
if test $# != 3; then
    tail -n 20 "$log"
    echo "$suite: the test did not finish (status $rc)"
    record "$suite" 0 1
    exit 1
fi
executed=$1; failures=$2; skipped=$3
echo "$suite: $executed tests executed, $failures failures, $skipped skipped (log: $log)"
record "$suite" $((executed - failures)) "$failures" "$skipped"
test "$failures" = 0 && test $rc = 0
