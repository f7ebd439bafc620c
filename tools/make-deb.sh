#!/bin/sh
# Build the Debian package of wine-wfp with dpkg-buildpackage, from a copy
# of the files git tracks, and check it with lintian.
#
# usage: make-deb.sh SRCDIR PREPARED_WINE_SOURCE OUTDIR
set -e

srcdir=$(cd "$1" && pwd)
wine_source=$2
mkdir -p "$3"
out=$(cd "$3" && pwd)

die() { echo "make-deb: error: $*" >&2; exit 1; }
for tool in dpkg-buildpackage dh lintian git; do
    command -v $tool >/dev/null || die "$tool not found (install dpkg-dev, debhelper, lintian and git)"
done
git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1 || die "$srcdir is not a git checkout"

version=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version)
tree=$out/wine-wfp-$version
rm -rf "$out"/wine-wfp-* "$out"/wine-wfp_*
mkdir -p "$tree"
# the working tree's copy of every tracked file, so that uncommitted
# edits are what gets packaged
(cd "$srcdir" && git ls-files -z | xargs -0 tar -cf - ) | tar -C "$tree" -xf -

# WINE_TOOLS (the main build's, from 'make deb') spares building Wine's
# tools again; without it the package builds them
test -z "$WINE_TOOLS" || test -x "$WINE_TOOLS/tools/winebuild/winebuild" || unset WINE_TOOLS
echo "make-deb: dpkg-buildpackage in $tree (log: $out/build.log)${WINE_TOOLS:+, with the Wine tools of $WINE_TOOLS}"
(cd "$tree" && WINE_WFP_SOURCE=$wine_source dpkg-buildpackage -b -uc -us >"$out/build.log" 2>&1) || {
    tail -n 30 "$out/build.log"
    die "dpkg-buildpackage failed"
}
deb=$(ls "$out"/wine-wfp_"$version"_*.deb)
echo "make-deb: built $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Depends\|Version\|Installed-Size\):/    \1:/p'

echo "make-deb: lintian"
if lintian --fail-on error,warning --info "$deb" >"$out/lintian.log" 2>&1; then
    cat "$out/lintian.log"
    echo "make-deb: lintian: no error, no warning (overrides in debian/wine-wfp.lintian-overrides)"
else
    cat "$out/lintian.log"
    die "lintian found problems"
fi
