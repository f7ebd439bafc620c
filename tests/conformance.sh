#!/bin/sh
# Run our conformance tests (ws2_32_test.exe wfp, and wsp for the base
# provider's service provider interface) under wine-wfp in a fresh
# prefix.  As root they run inside a network namespace with an nftables
# redirect rule, and the test is told which port is redirected to which;
# otherwise the redirected cases skip() and say why.
#
# usage: conformance.sh WS2_32_TEST_EXE [SUITE [CORE_BIN_DIR]]
# SUITE names the result (conformance, or conformance-i386 for the 32-bit
# test program).  CORE_BIN_DIR holds a wineserver, ntdll.so, ws2_32.dll and
# mswsock.dll built from the wfp-core patch set alone ('make check-patches'
# keeps them): the test then runs over those, without a redirector, and
# every redirected case must skip.
. "$WFP_SRCDIR/tests/lib.sh"

testexe=$1
suite=${2:-conformance}
core=$3
log=$WFP_BUILDDIR/build/$suite$SERIES.log
trap 'kill_servers; test -z "$ns" || "$IP" netns del "$ns" 2>/dev/null' EXIT

if test -n "$core"; then
    if reason=$(series_unavailable) || ! test -x "$WINE_WFP"; then
        echo "$suite: skipped: ${reason:-$WINE_WFP is not built ('make wine10')}"
        record "$suite" 0 0 1
        exit 0
    fi
    # wine-wfp's root, with the core's wineserver, ntdll.so and ws2_32.dll
    root=$WFP_BUILDDIR/build/$suite$SERIES-root
    rm -rf "$root"
    cp -a "$WFP_ROOT" "$root"
    cp "$core/wineserver" "$root/lib/wine/wineserver64"
    cp "$core/ws2_32.dll" "$root/lib/x86_64-linux-gnu/wine/x86_64-windows/ws2_32.dll"
    cp "$core/mswsock.dll" "$root/lib/x86_64-linux-gnu/wine/x86_64-windows/mswsock.dll"
    cp "$core/ntdll.so" "$root/lib/x86_64-linux-gnu/wine/x86_64-unix/ntdll.so"
    if test -f "$WINE_WFP.inside"; then
        # Wine 10.0's launcher runs its .inside twin in the Debian 13 root
        sed "s|^root=.*|root='$root'|" "$WINE_WFP.inside" > "$root/wine-wfp.inside"
        sed "s|$WINE_WFP.inside|$root/wine-wfp.inside|" "$WINE_WFP" > "$root/wine-wfp"
        chmod +x "$root/wine-wfp.inside"
    else
        sed "s|^root=.*|root='$root'|" "$WINE_WFP" > "$root/wine-wfp"
    fi
    chmod +x "$root/wine-wfp"
    WINE_WFP=$root/wine-wfp
fi

prefix=$(fresh_prefix "$suite" wfp)
export WINEPREFIX=$prefix

ns=""
if test -n "$core"; then
    echo "$suite: the wfp-core patch set alone: the redirected cases will be skipped"
    timeout -k 10 900 "$WINE_WFP" "$testexe" wfp >"$log" 2>&1
elif reason=$(netns_usable); then
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
# the base provider's service provider interface, which needs no redirector
timeout -k 10 300 "$WINE_WFP" "$testexe" wsp >"$log.wsp" 2>&1 || rc=$?

grep -E "Test failed|Test succeeded inside todo|unhandled exception|Tests skipped|skipped:" "$log" "$log.wsp" |
    head -n 100
set -- $(winetest_counts "$log") $(winetest_counts "$log.wsp")
if test $# != 6; then
    tail -n 20 "$log" "$log.wsp"
    echo "$suite: the test did not finish (status $rc)"
    record "$suite" 0 1
    exit 1
fi
executed=$(($1 + $4)); failures=$(($2 + $5)); skipped=$(($3 + $6))
echo "$suite: $executed tests executed, $failures failures, $skipped skipped (log: $log)"
record "$suite" $((executed - failures)) "$failures" "$skipped"
test "$failures" = 0 && test $rc = 0
