#!/bin/sh
# make bench: the benchmarks, each reported as a ratio of two things
# measured side by side in the same run.
. "$WFP_SRCDIR/tests/lib.sh"

BENCH=$WFP_BUILDDIR/build/bench
mkdir -p "$BENCH"
trap 'kill_servers; test -z "$ns" || "$IP" netns del "$ns" 2>/dev/null' EXIT

prefix=$(fresh_prefix bench wfp)
export WINEPREFIX=$prefix

ns=""
if ! reason=$(netns_usable); then
    echo "bench: skipped: the ioctl benchmark needs a redirected connection, and $reason"
    exit 0
fi
ns=wfp-bench-$$
redirect_netns "$ns"

echo "==== ioctl cost against a server round trip (getsockopt(SO_RCVBUF)) ===="
WFP_TEST_REDIRECT=$REDIRECT_SPEC "$IP" netns exec "$ns" "$WINE_WFP" "$WFP_BUILDDIR/build/bench/wfpbench.exe" \
    ${WFP_BENCH_ITERATIONS:-5000} >"$BENCH/ioctl.log" 2>&1
grep -v '^bench:' "$BENCH/ioctl.log"
grep '^bench:' "$BENCH/ioctl.log" > "$BENCH/ioctl.figures"
