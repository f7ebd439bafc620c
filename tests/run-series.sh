#!/bin/sh
# The suites again, over another Wine: Debian 13's Wine 10.0 in its root
# (tools/wine10.sh made it), with results named conformance-10.0 and so
# on.  When that Wine cannot run here, every suite is recorded as skipped
# with the reason.
#
# usage: run-series.sh SERIES WSFUZZ_EXE ASYNCCLOSE_EXE
export WFP_WINE_SERIES=$1
. "$WFP_SRCDIR/tests/lib.sh"
wsfuzz=$2; asyncclose=$3
suites="wsfuzz conformance wine-tests e2e corpus"

if reason=$(series_unavailable) || ! test -x "$WINE_WFP"; then
    for s in $suites; do
        echo "$s$SERIES: skipped: ${reason:-make wine10 has not run}"
        record "$s" 0 0 1
    done
    exit 0
fi

echo "==== the suites over Wine $WFP_WINE_SERIES: $("$STOCK_WINE" --version), wineserver $WFP_ROOT/lib/wine/wineserver64"
status=0
"$WFP_SRCDIR/tests/run-wsfuzz.sh" "${WSFUZZ_SECONDS_SERIES:-30}" "$wsfuzz" "$asyncclose" || status=1
"$WFP_SRCDIR/tests/conformance.sh" "$WINE10/ws2_32_test.exe" || status=1
"$WFP_SRCDIR/tests/wine-tests.sh" "$WINE10/ws2_32_test.exe" || status=1
"$WFP_SRCDIR/tests/e2e/run.sh" || status=1
# with the callout driver, the cases whose accepting differs most: the
# driver's path is the same code over both Wines, and the e2e suite
# drives it hard
CORPUS_DRIVER_CASES=${CORPUS_DRIVER_CASES-wfpsampler rama arch-acceptex arch-worker chain} \
    "$WFP_SRCDIR/tests/corpus/run.sh" || status=1
exit $status
