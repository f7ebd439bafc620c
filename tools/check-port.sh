#!/bin/sh
# make check-port: the same wine-wfp against Debian 13 (trixie)'s Wine:
#   1. get the source of wine VERSION with apt-get source (a deb-src entry
#      for trixie; never a binary package from trixie),
#   2. prepare it as debian/rules does (cached like the 8.0 tree),
#   3. derive its series from patches/series (tools/port-series.sh: the
#      patches of patches/wine-MAJOR.MINOR, the others merged from Wine
#      8.0's), apply it with -F0 and lay the new files over it,
#   4. build wineserver, the x86_64 ws2_32.dll and ws2_32_test.exe,
#   5. check that what was built holds our code.
# It runs no test: Debian 12 has no Wine 10 to run them on.  'make
# check-10.0' runs them in the Debian 13 root (see README, "Supported Wine
# versions").
#
# usage: check-port.sh SRCDIR WORKDIR CACHE_DIR [VERSION [CONFIGURE_FLAGS...]]
set -e

srcdir=$(cd "$1" && pwd)
mkdir -p "$2"
work=$(cd "$2" && pwd)
cache=$3
version=${4:-10.0~repack-6}
shift 3
test $# = 0 || shift
# the defaults are Makefile.in's WINE_CONFIGURE_FLAGS, for a run before
# configure (GNUmakefile)
test $# != 0 || set -- --enable-win64 --with-mingw --without-x --without-freetype \
    --libdir=/usr/lib/x86_64-linux-gnu/wine --bindir=/usr/lib/wine \
    --datarootdir=/usr/share/wine --mandir=/usr/share/man --includedir=/usr/include/wine
wine8_version=${WINE8_VERSION:-8.0~repack-4}
patchdir=$work/series
start=$(date +%s)

say() { echo "check-port: $*"; }
took() { echo "$(($(date +%s) - start))s"; }
fail() { say "FAILED after $(took): $*"; exit 1; }
cannot() {
    say "CANNOT RUN: $*"
    exit 2
}

test -n "$cache" || fail "usage: $0 SRCDIR WORKDIR CACHE_DIR [VERSION [CONFIGURE_FLAGS...]]"

# 1. what apt and the preparation need.  As root install-deps.sh adds what
# is missing, including the deb-src entry for trixie; otherwise say what
# is missing.
if test "$(id -u)" = 0; then
    "$srcdir/tools/install-deps.sh" --port || fail "installing the build dependencies failed"
elif ! "$srcdir/tools/install-deps.sh" --port --dry-run; then
    cannot "the packages or the apt source above are missing; run 'make check-port' as root"
fi
apt-cache showsrc wine 2>/dev/null | grep -qx "Version: $version" ||
    cannot "apt cannot find the source package wine $version, although a deb-src entry for trixie is set up"

# 2. the prepared source, from the cache after the first run
say "getting the prepared source of wine $version (cached in $cache)"
wine=$("$srcdir/tools/wine-source.sh" "$version" "$cache") || fail "could not get the source of wine $version"
say "source ready after $(took)"
if test -f "$wine/.wine-wfp-placeholders"; then
    say "note: left empty, as Debian 12 lacks the data for them: $(echo $(cat "$wine/.wine-wfp-placeholders"))"
fi

# 3. the series for this version, derived from the one source
wine8=$("$srcdir/tools/wine-source.sh" "$wine8_version" "$cache") || fail "could not get the source of wine $wine8_version"
"$srcdir/tools/port-series.sh" "$srcdir" "$wine8" "$wine" "$version" "$patchdir" >"$work/port-series.log" 2>&1 || {
    cat "$work/port-series.log"
    fail "the series for wine $version cannot be derived from patches/series"
}
say "$(grep -c "own version" "$work/port-series.log") patches of $srcdir/patches/wine-${version%%~*}, $(grep -c "merged from" "$work/port-series.log") merged from Wine 8.0's"

# a working copy with the series applied and our files laid over it;
# apply-patches.sh restores what a previous run patched, so the copy is
# made once per prepared source
if ! test -f "$work/src/.wine-wfp-copy" || test "$(cat "$work/src/.wine-wfp-copy")" != "$wine"; then
    say "copying the prepared source to $work/src"
    rm -rf "$work/src" "$work/src.tmp" "$work/build"
    cp -a "$wine" "$work/src.tmp"
    echo "$wine" > "$work/src.tmp/.wine-wfp-copy"
    mv "$work/src.tmp" "$work/src"
fi
say "applying $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$patchdir/series" | wc -l) patches of $patchdir/series with -F0"
"$srcdir/tools/apply-patches.sh" "$wine" "$work/src" "$patchdir" >"$work/apply.log" 2>&1 || {
    cat "$work/apply.log"
    fail "the series does not apply to wine $version"
}
"$srcdir/tools/sync-overlay.sh" "$srcdir" "$wine" "$work/src" >"$work/overlay.log" 2>&1 || {
    cat "$work/overlay.log"
    fail "laying the new files over the tree failed"
}
# a patch that changes configure.ac (a new module): configure made again,
# only then (apply-patches.sh rewrites configure.ac only when it changes);
# an existing build reruns it itself (config.status --recheck)
if test "$work/src/configure.ac" -nt "$work/src/configure"; then
    say "configure.ac changed: autoconf"
    (cd "$work/src" && autoconf) || fail "autoconf failed"
fi

# 4. the three targets, as 'make wine-build' builds them for 8.0: make
# builds the Wine tools they need first, and nothing else
if ! test -f "$work/build/Makefile" || test "$(cat "$work/build/.wine-wfp-flags" 2>/dev/null)" != "$*"; then
    say "configuring (log: $work/build/configure.log)"
    rm -rf "$work/build"
    mkdir -p "$work/build"
    (cd "$work/build" && ../src/configure "$@" >configure.log 2>&1) || {
        tail -n 30 "$work/build/configure.log"
        fail "configure failed"
    }
    echo "$*" > "$work/build/.wine-wfp-flags"
fi
# Debian's fixes/temporary-directory.patch adds include/wine/server_tmpdir.h
# and makes server/request.o depend on it by a path that only an in-tree
# build (as Debian's) finds
if test -f "$work/src/include/wine/server_tmpdir.h"; then
    mkdir -p "$work/build/include/wine"
    ln -sf "$work/src/include/wine/server_tmpdir.h" "$work/build/include/wine/server_tmpdir.h"
fi
# and ntdll's loader.c its generated version.h
mkdir -p "$work/build/dlls/ntdll"
ln -sf unix/version.h "$work/build/dlls/ntdll/version.h"
targets="server/wineserver dlls/ntdll/ntdll.so dlls/ws2_32/x86_64-windows/ws2_32.dll dlls/mswsock/x86_64-windows/mswsock.dll
         dlls/fwpkclnt.sys/x86_64-windows/fwpkclnt.sys dlls/fwpkclnt.sys/x86_64-windows/libfwpkclnt.a
         dlls/ws2_32/tests/x86_64-windows/ws2_32_test.exe"
jobs=$(nproc 2>/dev/null || echo 1)
test "$jobs" -le 2 || jobs=2
say "building $targets (log: $work/build/build.log)"
# Wine's rules run bison twice for each of its tools' parsers, which a
# parallel build can race with (see WINE_BISON_OUTPUTS in Makefile.in)
parsers=$(cd "$work/src" && ls tools/*/*.y | sed 's/\.y$/.tab.c/')
make -C "$work/build" -j1 $parsers >"$work/build/build.log" 2>&1 || true
if ! nice -n 10 make -C "$work/build" -j"$jobs" VENDOR="Debian $version" $targets >"$work/build/build.log" 2>&1; then
    grep -E "error|Error" "$work/build/build.log" | head -n 30
    fail "the build of wine $version with wine-wfp failed"
fi
say "built after $(took)"

# 5. what was built holds our code
server=$work/build/server/wineserver
dll=$work/build/dlls/ws2_32/x86_64-windows/ws2_32.dll
test_exe=$work/build/dlls/ws2_32/tests/x86_64-windows/ws2_32_test.exe
check() { if "$@"; then :; else fail "check failed: $*"; fi; }
has_symbol() { nm "$1" 2>/dev/null | grep -q " [tT] $2\$"; }
has_string() { strings -a "$1" | grep -qF -- "$2"; }

# the server: both layers' files are linked in and sock.c calls them
check has_symbol "$server" wfp_sock_ioctl
check has_symbol "$server" wfp_redirect_ioctl
check has_symbol "$server" wfp_redirect_connect
check has_symbol "$server" wfp_records_decode
check has_symbol "$server" wfp_rule_parse
for f in wfp_sock_accepted wfp_redirect_accepted; do
    objdump -d --no-show-raw-insn "$server" | grep -q "call.*<$f>" ||
        fail "wineserver's sock.c does not call $f"
done
# ws2_32.dll: a PE for x86-64 with the ioctls' names from our patch
objdump -f "$dll" | grep -q 'file format pei-x86-64' || fail "$dll is not an x86-64 PE"
check has_string "$dll" SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS
check has_string "$dll" SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS
# fwpkclnt.sys: a native-subsystem x86-64 PE that exports the WFP calls
fwpk=$work/build/dlls/fwpkclnt.sys/x86_64-windows/fwpkclnt.sys
objdump -f "$fwpk" | grep -q 'file format pei-x86-64' || fail "$fwpk is not an x86-64 PE"
objdump -p "$fwpk" | grep -q 'Subsystem.*(NT native)' || fail "$fwpk is not a native-subsystem module"
for f in FwpmEngineOpen0 FwpsCalloutRegister0 FwpsRedirectHandleCreate0 FwpsCompleteClassify0; do
    objdump -p "$fwpk" | grep -q "[[:space:]]$f\$" || fail "$fwpk does not export $f"
done
# ws2_32_test.exe: the wfp test is in the test list that makedep writes
# (testlist.c: { "afd", func_afd }, ... { "wfp", func_wfp }) and its code
# is in; the names are three letters, below strings' default minimum
objdump -f "$test_exe" | grep -q 'file format pei-x86-64' || fail "$test_exe is not an x86-64 PE"
for t in afd protocol sock wfp; do
    strings -a -n 3 "$test_exe" | grep -qx "$t" || fail "$test_exe has no test named $t"
done
check has_string "$test_exe" "cannot parse WFP_TEST_REDIRECT="

say "ok: wine $version: the series applies with -F0, and wineserver, ws2_32.dll, fwpkclnt.sys and ws2_32_test.exe build with wine-wfp"
say "no test is run here: make check-10.0 runs them in the Debian 13 root"
say "took $(took)"
