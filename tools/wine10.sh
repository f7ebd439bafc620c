#!/bin/sh
# make wine10: wine-wfp over Debian 13's Wine 10.0, ready for the suites.
#   1. the Debian 13 root with Wine VERSION (tools/trixie-root.sh), made
#      once and cached beside the prepared source;
#   2. wineserver, ntdll.so, ws2_32.dll and ws2_32_test.exe built from Debian 13's
#      source with the 10.0 series (tools/check-port.sh, in PORT_BUILD);
#   3. the Wine root that wine-wfp runs, laid out as trixie's wine64 lays
#      out its files (tools/make-root.sh, run inside the Debian 13 root);
#   4. launchers: wine-wfp and wineserver-wfp for inside the root, and
#      wrappers that enter the root to run them, or stock Wine 10.0:
#        OUT/wine-wfp OUT/wineserver-wfp OUT/stock-wine64 OUT/stock-wineserver
#
# Everything lands in OUT (build/wine-10.0); the suites then run with
# WFP_WINE_SERIES=10.0 (see tests/lib.sh).  When it cannot be done here
# (not root, no mmdebstrap, no deb-src entry for trixie) it writes the
# reason to OUT/unavailable and exits 0, and the 10.0 suites skip with it.
#
# usage: wine10.sh SRCDIR BUILDDIR CACHE_DIR VERSION PACKAGE_VERSION PROGRAM.exe...
set -e

srcdir=$(cd "$1" && pwd)
builddir=$(cd "$2" && pwd)
cache=$3
version=$4
package_version=$5
shift 5
out=$builddir/build/wine-${version%%~*}
port=$builddir/build/port

say() { echo "wine10: $*"; }
unavailable()
{
    say "the Wine ${version%%~*} suites will be skipped: $*"
    echo "$*" > "$out/unavailable"
    exit 0
}

mkdir -p "$out"
rm -f "$out/unavailable"

# what the root and the build need: mmdebstrap, a deb-src entry for trixie
if test "$(id -u)" = 0; then
    "$srcdir/tools/install-deps.sh" --port >"$out/deps.log" 2>&1 || {
        cat "$out/deps.log"
        say "FAILED: installing what the Wine ${version%%~*} build needs"
        exit 1
    }
fi

# 1. the root
status=0
root=$("$srcdir/tools/trixie-root.sh" "$version" "$cache" 2>"$out/root.log") || status=$?
cat "$out/root.log" >&2
test $status = 0 || unavailable "$(tail -n 1 "$out/root.log" | sed 's/^trixie-root: //')"

# 2. the build, as 'make check-port' does it
status=0
"$srcdir/tools/check-port.sh" "$srcdir" "$port" "$cache" "$version" >"$out/build.log" 2>&1 || status=$?
grep '^check-port:' "$out/build.log" | sed 's/^check-port:/wine10: build:/'
case $status in
    0) ;;
    2) unavailable "$(sed -n 's/^check-port: CANNOT RUN: //p' "$out/build.log" | head -n 1)" ;;
    *) say "FAILED: the Wine ${version%%~*} build failed (log: $out/build.log)"; exit 1 ;;
esac

# 3. the Wine root, made inside the Debian 13 root so that its links point
# to the Wine there, with our programs
trees=$srcdir
test "$builddir" = "$srcdir" || trees="$srcdir $builddir"
inroot() { "$srcdir/tools/in-root.sh" "$root" $trees -- "$@"; }
inroot sh "$srcdir/tools/make-root.sh" "$out/root" /usr/lib/wine /usr/lib/x86_64-linux-gnu/wine /usr/share/wine \
    "$port/build/server/wineserver" "$port/build/dlls/ntdll/ntdll.so" \
    "$port/build/dlls/ws2_32/x86_64-windows/ws2_32.dll" "$@"
cp "$port/build/dlls/ws2_32/tests/x86_64-windows/ws2_32_test.exe" "$out/ws2_32_test.exe"

# 4. the launchers
for name in wine-wfp wineserver-wfp; do
    sed -e "s|@WINE_VERSION[@]|$version|g" -e "s|@PACKAGE_VERSION[@]|$package_version|g" \
        -e "s|@SYSTEM_WINE_BINDIR[@]|/usr/lib/wine|g" -e "s|@SYSTEM_WINE_DLLDIR[@]|/usr/lib/x86_64-linux-gnu/wine|g" \
        -e "s|@WINE32_BINDIR[@]||g" -e "s|@WINE32_DLLDIR[@]||g" -e "s|@WFP_ROOT[@]|$out/root|g" \
        "$srcdir/tools/$name.in" > "$out/$name.inside"
    chmod +x "$out/$name.inside"
done
# enter: COMMAND run inside the root, the trees bound at their own paths
wrapper()
{
    cat > "$out/$1.tmp" <<EOF
#!/bin/sh
# $1 of Wine $version, run inside the Debian 13 root $root
exec "$srcdir/tools/in-root.sh" "$root" $trees -- $2 "\$@"
EOF
    chmod +x "$out/$1.tmp"
    mv "$out/$1.tmp" "$out/$1"
}
wrapper wine-wfp "$out/wine-wfp.inside"
wrapper wineserver-wfp "$out/wineserver-wfp.inside"
wrapper stock-wine64 /usr/lib/wine/wine64
wrapper stock-wineserver /usr/lib/wine/wineserver
wrapper in-root ""   # any command
echo "$root" > "$out/debian13-root"

# the proof that Wine 10.0 is what runs
say "loader: $("$out/stock-wine64" --version); wine-wfp: $("$out/wine-wfp" --version)"
say "wineserver: $out/root/lib/wine/wineserver64, built from $version ($(cd "$port/src" && head -n 1 VERSION))"
