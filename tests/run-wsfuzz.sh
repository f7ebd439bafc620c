#!/bin/sh
# The Winsock-level fuzzer: wsfuzz.exe under wine-wfp, 8 threads, for
# SECONDS (60 in 'make check', longer with 'make fuzz-winsock').  Passes if
# every call gave success or a documented error, and the wineserver that
# served the prefix before the run is the one that answers after it.
#
# A hostile callout driver runs beside it: the sample driver, with a
# filter for every TCP connect() whose callout writes a bad family, a
# 16 MB context or a wild pointer, or crashes, in turn; each of those
# connects must go on as if nothing had classified it.
#
# Then asyncclose.exe, the reproducer of the wineserver crash that patch
# 0011 fixes (it kills stock Wine's wineserver in its first rounds), for
# ASYNCCLOSE_ROUNDS rounds against the same wineserver.
#
# usage: run-wsfuzz.sh SECONDS WSFUZZ_EXE ASYNCCLOSE_EXE
. "$WFP_SRCDIR/tests/lib.sh"

seconds=$1; exe=$2; asyncclose=$3
seed=${WSFUZZ_SEED:-$(date +%s)}
log=$WFP_BUILDDIR/build/fuzz/wsfuzz$SERIES.log
trap kill_servers EXIT

prefix=$(fresh_prefix wsfuzz wfp)
export WINEPREFIX=$prefix
"$WINESERVER_WFP" -p >/dev/null 2>"$log.server"
# genuine records come from an in-Wine rule; the fuzzer listens as the proxy
"$WINE_WFP" "$WFP_BUILDDIR/build/programs/wfprules.exe" add 10-wsfuzz tcp 127.0.0.3:47281 -\> 127.0.0.1:47201 \
    >"$log.rules" 2>&1
callout=$WFP_BUILDDIR/build/programs/wfpcallout.sys
calloutctl() { "$WINE_WFP" "$WFP_BUILDDIR/build/programs/wfpcalloutctl.exe" wsfuzzc "$@" >>"$log.callout" 2>&1; }
: >"$log.callout"
if test -f "$callout"; then
    cp "$callout" "$prefix/drive_c/windows/system32/drivers/wsfuzzc.sys"
    "$WINE_WFP" sc create wsfuzzc type= kernel binPath= 'C:\windows\system32\drivers\wsfuzzc.sys' >>"$log.callout" 2>&1
    for try in 1 2 3; do "$WINE_WFP" sc start wsfuzzc >>"$log.callout" 2>&1 && break; sleep 1; done
    calloutctl add '*:0' 127.0.0.1:9 hostile=rotate
    calloutctl add '[*]:0' '[::1]:9' hostile=rotate
fi
server_before=$("$WINE_WFP" --server-pid)

echo "wsfuzz: $seconds seconds, 8 threads, seed $seed (WSFUZZ_SEED=$seed repeats its choices)"
timeout -k 10 $((seconds + 120)) "$WINE_WFP" "$exe" "$seconds" 8 "$seed" 127.0.0.3:47281 47201 >"$log" 2>&1
rc=$?
server_after=$("$WINE_WFP" --server-pid)
classified=0
if test -f "$callout"; then
    calloutctl info
    classified=$(sed -n 's/.* classified=\([0-9]*\).*/\1/p' "$log.callout" | tail -n 1)
    echo "wsfuzz: the hostile callout classified ${classified:-0} connects"
else
    echo "wsfuzz: no hostile callout (build/programs/wfpcallout.sys was not built)"
    classified=skip
fi

grep '^wsfuzz:' "$log" | head -n 40
rounds=${ASYNCCLOSE_ROUNDS:-500}
# sizeof(struct sock) with wine-wfp's pointer: 472 in Wine 8.0, 504 in 10.0
sock_size=472
test "$WFP_WINE_SERIES" != 10.0 || sock_size=504
timeout -k 10 300 "$WINE_WFP" "$asyncclose" "$rounds" $sock_size >"$log.asyncclose" 2>&1
rc_async=$?
server_async=$("$WINE_WFP" --server-pid)
tail -n 1 "$log.asyncclose"
if test $rc = 0 && test -n "$server_before" && test "$server_before" = "$server_after" &&
   test "${classified:-0}" != 0 &&
   grep -q "the wineserver answers" "$log" && test $rc_async = 0 && test "$server_async" = "$server_before" &&
   grep -q "the wineserver survived $rounds rounds" "$log.asyncclose"; then
    echo "wsfuzz: ok: no unexpected result, and asyncclose's $rounds rounds; wineserver $server_before up for the whole run"
    record wsfuzz 1 0
else
    tail -n 20 "$log"
    echo "wsfuzz: the wineserver's stderr:"; tail -n 20 "$log.server"
    echo "wsfuzz: FAILED (status $rc, asyncclose $rc_async, wineserver before '${server_before}', after" \
         "'${server_after}', after asyncclose '${server_async}', hostile callout classifications" \
         "'${classified}'; log $log)"
    record wsfuzz 0 1
    exit 1
fi
