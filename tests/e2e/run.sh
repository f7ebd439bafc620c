#!/bin/sh
# End-to-end tests: real Windows programs under wine-wfp.
. "$WFP_SRCDIR/tests/lib.sh"

E2E=$WFP_BUILDDIR/build/e2e
pass=0; fail=0; skip=0
ok()   { echo "e2e: ok: $*"; pass=$((pass + 1)); }
bad()  { echo "e2e: FAILED: $*"; fail=$((fail + 1)); }

prefix=$(fresh_prefix e2e wfp)
export WINEPREFIX=$prefix
trap kill_servers EXIT

# ---- the overlay is what runs ----------------------------------------------
# Keep a server up so that its executable can be inspected.
# (Output goes to files: services started by the session inherit stdout,
# so a command substitution would wait for them.)
"$WINESERVER_WFP" -p
"$WINE_WFP" "$E2E/overlay-info.exe" >"$E2E/overlay-info.log" 2>&1
cat "$E2E/overlay-info.log"
pid=$("$WINE_WFP" --server-pid)
server_exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
echo "wineserver: pid ${pid:-none}, $server_exe"
case "$server_exe" in
    "$(realpath "$WFP_ROOT")"/lib/wine/wineserver64) ok "the prefix is served by wine-wfp's wineserver" ;;
    *) bad "the prefix is served by '$server_exe', not by $WFP_ROOT/lib/wine/wineserver64" ;;
esac

# The DLL in memory carries the link timestamp of the one we built.
built=$(od -An -tx4 -j $(( $(od -An -tu4 -j 60 -N 4 "$WFP_ROOT/lib/x86_64-linux-gnu/wine/x86_64-windows/ws2_32.dll") + 8 )) -N 4 \
        "$WFP_ROOT/lib/x86_64-linux-gnu/wine/x86_64-windows/ws2_32.dll" | tr -d ' ')
echo "ws2_32.dll built: link timestamp 0x$built"
if grep -q "link timestamp: 0x$built" "$E2E/overlay-info.log"; then
    ok "the loaded ws2_32.dll is the one wine-wfp built"
else
    bad "the loaded ws2_32.dll is not the one wine-wfp built"
fi
"$WINESERVER_WFP" -k

record e2e $pass $fail $skip
test $fail = 0
