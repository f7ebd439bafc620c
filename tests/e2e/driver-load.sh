#!/bin/sh
# A kernel driver that imports fwpkclnt.sys (as every WFP callout driver
# does) must load under wine-wfp: winedevice loads it, Wine's loader finds
# fwpkclnt.sys as a builtin in the root's x86_64-windows directory, and
# DriverEntry runs.  Stock Wine has no fwpkclnt.sys: there the same driver
# fails to start ("Library fwpkclnt.sys (which is needed by ...) not found",
# and ZwLoadDriver fails with c0000142).
#
# usage: driver-load.sh WINE_BUILD LAUNCHER [STOCK_WINE]
#   WINE_BUILD  the Wine build tree (import libraries of fwpkclnt.sys and
#               ntoskrnl.exe), e.g. wine/build
#   LAUNCHER    wine-wfp to test, e.g. ./wine-wfp
#   STOCK_WINE  optional: the stock wine (Debian: /usr/lib/wine/wine64, with
#               the wineserver beside it), run first, where the driver must
#               fail to start (the "before")
# Needs x86_64-w64-mingw32-gcc.  Exit status 0 when the driver starts under
# LAUNCHER (and, with STOCK_WINE, does not start under it).
set -e

build=$(cd "$1" && pwd)
launcher=$2
stock=$3
cc=${MINGW_CC:-x86_64-w64-mingw32-gcc}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { echo "driver-load: $*"; }
fail() { say "FAILED: $*"; exit 1; }

implib_fwpkclnt=$build/dlls/fwpkclnt.sys/x86_64-windows/libfwpkclnt.a
implib_ntoskrnl=$build/dlls/ntoskrnl.exe/x86_64-windows/libntoskrnl.a
test -f "$implib_fwpkclnt" || fail "$implib_fwpkclnt is missing (build dlls/fwpkclnt.sys)"
test -f "$implib_ntoskrnl" || fail "$implib_ntoskrnl is missing"

# a native-subsystem driver that calls one export of each library
cat > "$work/t.c" <<'EOF'
typedef long NTSTATUS;
__declspec(dllimport) NTSTATUS __stdcall FwpsCalloutUnregisterById0(unsigned int id);
__declspec(dllimport) unsigned long __cdecl DbgPrint(const char *format, ...);

NTSTATUS __stdcall DriverEntry(void *driver, void *path)
{
    NTSTATUS status = FwpsCalloutUnregisterById0(0);
    DbgPrint("driver-load: DriverEntry ran, FwpsCalloutUnregisterById0(0) = %#lx\n", status);
    return 0;
}
EOF
"$cc" -O2 -nostdlib -shared -Wl,--subsystem,native -e DriverEntry -o "$work/t.sys" "$work/t.c" \
    "$implib_fwpkclnt" "$implib_ntoskrnl" || fail "the test driver does not build"
objdump -p "$work/t.sys" | grep -q 'DLL Name: fwpkclnt.sys' || fail "the test driver does not import fwpkclnt.sys"

# run NAME WINE WINESERVER: a fresh prefix whose wineserver stays up for the
# whole run (services.exe keeps its state), the driver as the kernel
# service t, 'sc start t', then 'sc query t' until it says RUNNING
run()
{
    prefix=$work/prefix-$1
    wine=$2
    server=$3
    log=$work/$1.log
    mkdir -p "$prefix"
    export WINEPREFIX=$prefix
    WINEDEBUG=-all "$wine" wineboot -i >"$log" 2>&1 || true
    "$server" -p 30
    cp "$work/t.sys" "$prefix/drive_c/t.sys"
    WINEDEBUG=-all "$wine" sc create t type= kernel binPath= 'C:\t.sys' >>"$log" 2>&1 || true
    # services.exe of the first session may not know t yet: start again
    # from the registry
    "$server" -k 2>/dev/null || true
    "$server" -p 30
    WINEDEBUG=${WINEDEBUG:-err+all,fixme-all} "$wine" sc start t >>"$log" 2>&1 || true
    status=1
    for i in 1 2 3 4 5 6 7 8 9 10; do
        WINEDEBUG=-all "$wine" sc query t >"$work/query.log" 2>&1 || true
        if grep -q RUNNING "$work/query.log"; then status=0; break; fi
        sleep 1
    done
    cat "$work/query.log" >>"$log"
    "$server" -k 2>/dev/null || true
    unset WINEPREFIX
    return $status
}

if test -n "$stock"; then
    if run stock "$stock" "${STOCK_WINESERVER:-$(dirname "$stock")/wineserver}"; then
        sed 's/^/    /' "$work/stock.log"
        fail "the driver started under stock Wine ($stock): is fwpkclnt.sys installed there?"
    fi
    say "before: under stock Wine the driver does not start:"
    grep -i -E 'fwpkclnt|c0000135|c0000142|STATE|EXIT_CODE' "$work/stock.log" | head -n 6 | sed 's/^/    /'
fi

if ! run wfp "$launcher" "$(dirname "$launcher")/wineserver-wfp"; then
    sed 's/^/    /' "$work/wfp.log"
    fail "the driver importing fwpkclnt.sys does not start under $launcher"
fi
say "after: under $launcher the driver starts (sc start t, RUNNING):"
grep -E 'fwpkclnt|driver-load:|STATE' "$work/wfp.log" | head -n 5 | sed 's/^/    /'
say "ok"
