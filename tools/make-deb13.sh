#!/bin/sh
# The Debian 13 package of wine-wfp, wine-wfp_VERSION~deb13u1_amd64.deb,
# made with dpkg-buildpackage from the same debian/ as Debian 12's, over
# wine-wfp's Wine 10.0 build ('make wine10'): the files are laid out as
# 'make install' lays them out, inside the Debian 13 root so that the links
# point to its Wine, and debian/rules installs them (WINE_WFP_STAGE).  The
# package depends on exactly Debian 13's wine64 and libwine, and is checked
# with Debian 13's lintian inside the root.
#
# usage: make-deb13.sh SRCDIR BUILDDIR OUTDIR WINE_VERSION PROGRAM.exe...
# Exit status 2 when the Wine 10.0 build is not there (see 'make wine10').
set -e

srcdir=$(cd "$1" && pwd)
builddir=$(cd "$2" && pwd)
mkdir -p "$3"
out=$(cd "$3" && pwd)
wine_version=$4
shift 4
wine10=$builddir/build/wine-${wine_version%%~*}

say() { echo "make-deb13: $*"; }
die() { say "error: $*"; exit 1; }

if test -f "$wine10/unavailable" || ! test -f "$wine10/debian13-root"; then
    say "no Debian 13 package: $(cat "$wine10/unavailable" 2>/dev/null || echo "run 'make wine10' first")"
    exit 2
fi
root=$(cat "$wine10/debian13-root")
trees=$srcdir
test "$builddir" = "$srcdir" || trees="$srcdir $builddir"
inroot() { "$srcdir/tools/in-root.sh" "$root" $trees -- "$@"; }

upstream=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version)
version=$upstream~deb13u1
tree=$out/wine-wfp-$version
stage=$tree/debian/stage
rm -rf "$out"/wine-wfp-*deb13* "$out"/wine-wfp_*deb13*
mkdir -p "$tree"
(cd "$srcdir" && git ls-files -z | xargs -0 tar -cf - ) | tar -C "$tree" -xf -

# what 'make install' installs, for Wine 10.0 in Debian 13's layout
port=$builddir/build/port/build
inroot sh "$srcdir/tools/make-root.sh" "$stage/usr/lib/wine-wfp" /usr/lib/wine /usr/lib/x86_64-linux-gnu/wine \
    /usr/share/wine "$port/server/wineserver" "$port/dlls/ntdll/ntdll.so" "$port/dlls/ws2_32/x86_64-windows/ws2_32.dll" \
    "$@"
mkdir -p "$stage/usr/bin" "$stage/usr/share/doc/wine-wfp" "$stage/usr/share/man/man1"
for name in wine-wfp wineserver-wfp; do
    sed -e "s|@WINE_VERSION[@]|$wine_version|g" -e "s|@PACKAGE_VERSION[@]|$upstream|g" \
        -e "s|@SYSTEM_WINE_BINDIR[@]|/usr/lib/wine|g" -e "s|@SYSTEM_WINE_DLLDIR[@]|/usr/lib/x86_64-linux-gnu/wine|g" \
        -e "s|@WINE32_BINDIR[@]||g" -e "s|@WINE32_DLLDIR[@]||g" -e "s|@WFP_ROOT[@]|/usr/lib/wine-wfp|g" \
        "$srcdir/tools/$name.in" > "$stage/usr/bin/$name"
    chmod 755 "$stage/usr/bin/$name"
done
cp "$srcdir/README" "$srcdir/ANNOUNCE" "$stage/usr/share/doc/wine-wfp/"
cp "$srcdir/doc/wine-wfp.1" "$srcdir/doc/wineserver-wfp.1" "$srcdir/doc/wfprules.1" "$stage/usr/share/man/man1/"

# Debian 13's entry on top of the changelog, and Debian 13's Wine in the
# control file (the build dependencies are Debian 13's, which a Debian 12
# host cannot have: dpkg-buildpackage -d)
{
    echo "wine-wfp ($version) trixie; urgency=medium"
    echo
    echo "  * Build for Debian 13 (trixie), over Wine $wine_version."
    echo
    # a minute after the release's own entry: later, and the same every time
    echo " -- $(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Maintainer)  $(LC_ALL=C date -u -R \
        -d "$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Date) + 1 minute")"
    echo
    cat "$srcdir/debian/changelog"
} > "$tree/debian/changelog"
sed -i -e "s/(= 8\.0~repack-4)/(= $wine_version)/" -e "s/on Wine 8\.0:/on Wine 10.0:/" "$tree/debian/control"

say "dpkg-buildpackage in $tree (log: $out/build-deb13.log)"
(cd "$tree" && WINE_WFP_STAGE=$stage WINE_WFP_WINE_VERSION=$wine_version dpkg-buildpackage -b -d -uc -us \
    >"$out/build-deb13.log" 2>&1) || {
    tail -n 30 "$out/build-deb13.log"
    die "dpkg-buildpackage failed"
}
deb=$(ls "$out"/wine-wfp_"$version"_*.deb)
say "built $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Depends\|Version\|Installed-Size\):/    \1:/p'

say "lintian of Debian 13, in its root"
if inroot lintian --fail-on error,warning --info "$deb" >"$out/lintian-deb13.log" 2>&1; then
    cat "$out/lintian-deb13.log"
    say "lintian: no error, no warning (overrides in debian/wine-wfp.lintian-overrides)"
else
    cat "$out/lintian-deb13.log"
    die "lintian found problems"
fi
