#!/bin/sh
# Print the root of the 32-bit Wine that 32-bit Windows programs run on:
# "/" when Debian's wine32:i386 of the given version is installed, else a
# copy of that package's files (wine32:i386 and libwine:i386, fetched with
# 'apt-get download' and unpacked with dpkg-deb, never installed) in the
# cache.  The second way needs no root once apt knows the i386
# architecture, and does not depend on the system's i386 libraries
# resolving: a Wine process needs only libc6:i386 from them.
#
# usage: wine32-runtime.sh VERSION CACHE_DIR
#
# Progress and errors go to stderr, the root to stdout.
set -e

version=$1
cache=$2

say() { echo "wine32-runtime: $*" >&2; }
die() { say "$*"; exit 1; }

test -n "$version" && test -n "$cache" || die "usage: $0 VERSION CACHE_DIR"

installed()
{
    status=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null || true)
    test "$status" = "installed $version"
}

if installed wine32:i386 && installed libwine:i386 &&
   test -f /usr/lib/wine/wine && test -f /usr/lib/i386-linux-gnu/wine/i386-unix/ntdll.so; then
    say "using the installed wine32:i386 $version"
    echo /
    exit 0
fi

dest=$cache/$version/wine32
stamp=$dest/.wine-wfp-unpacked
zlib=usr/lib/i386-linux-gnu/wine/i386-windows/zlib1.dll
if test -f "$stamp" && test "$(cat "$stamp")" = "$version" && test -f "$dest/$zlib"; then
    say "using the unpacked wine32:i386 $version in $dest"
    echo "$dest"
    exit 0
fi

dpkg --print-foreign-architectures 2>/dev/null | grep -qx i386 ||
    die "apt does not know the i386 architecture; as root: dpkg --add-architecture i386 && apt-get update"

work=$cache/$version/wine32.$$
rm -rf "$work"
mkdir -p "$work/debs"
trap 'rm -rf "$work"' EXIT
say "fetching wine32:i386 and libwine:i386 $version with apt-get download"
(cd "$work/debs" && apt-get download -q "wine32:i386=$version" "libwine:i386=$version" >&2) ||
    die "apt-get download failed; is there an i386 index for Debian 12 (apt-get update as root)?"
for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/root"
done
test -f "$work/root/usr/lib/wine/wine" && test -f "$work/root/usr/lib/i386-linux-gnu/wine/i386-unix/ntdll.so" ||
    die "the packages do not hold the 32-bit loader and ntdll.so where Debian 12 puts them"
# What libwine:i386's postinst does when installed: Debian builds Wine
# against libz-mingw-w64, and user32.dll (so every program) imports its
# zlib1.dll, which the postinst copies in marked as a Wine builtin DLL.
# Without it no 32-bit program starts ("could not load kernel32.dll").
mingw_zlib=/usr/i686-w64-mingw32/lib/zlib1.dll
test -f $mingw_zlib || die "$mingw_zlib is missing; install libz-mingw-w64"
{ head -c 64 $mingw_zlib
  printf 'Wine builtin DLL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
  tail -c +97 $mingw_zlib; } > "$work/root/$zlib"
echo "$version" > "$work/root/.wine-wfp-unpacked"
rm -rf "$dest"
mv "$work/root" "$dest"
say "unpacked in $dest"
echo "$dest"
