#!/bin/sh
# The Debian 13 (trixie) root that the Wine 10.0 suites run in: an
# ordinary directory made once with mmdebstrap from Debian's archive, with
# Wine 10.0 exactly as Debian 13 ships it (wine64 and libwine VERSION) and
# what the suites use inside it.  Cached beside the prepared source of the
# same version, and used as it is on later runs.  Prints its path.
#
# usage: trixie-root.sh VERSION CACHE_DIR
#
# Needs root (mmdebstrap as root, and chroot to use it).  Exit status 2,
# with the reason on stderr, when it cannot be made here.
set -e

version=$1
cache=$2
root=$cache/$version/trixie-root
packages="wine64=$version libwine=$version nftables iproute2 procps lintian valgrind"

say() { echo "trixie-root: $*" >&2; }
cannot() { say "$*"; exit 2; }

test -n "$version" && test -n "$cache" || { echo "usage: $0 VERSION CACHE_DIR" >&2; exit 2; }
# made, and still what was asked for
if test -f "$root/.wine-wfp-root" && test "$(cat "$root/.wine-wfp-root")" = "$packages"; then
    echo "$root"
    exit 0
fi
test "$(id -u)" = 0 || cannot "making the Debian 13 root needs root (mmdebstrap, chroot)"
command -v mmdebstrap >/dev/null || cannot "mmdebstrap is not installed (apt-get install mmdebstrap)"

say "making a Debian 13 root with wine64 and libwine $version in $root (once; about a minute)"
rm -rf "$root" "$root.tmp"
mkdir -p "$cache/$version"
if ! mmdebstrap --variant=apt --include="$(echo $packages | tr ' ' ',')" trixie "$root.tmp" \
        >"$cache/$version/trixie-root.log" 2>&1; then
    tail -n 20 "$cache/$version/trixie-root.log" >&2
    rm -rf "$root.tmp"
    cannot "mmdebstrap failed (log: $cache/$version/trixie-root.log)"
fi
installed=$(chroot "$root.tmp" dpkg-query -W -f='${Version}' wine64)
test "$installed" = "$version" || { rm -rf "$root.tmp"; cannot "the root has wine64 $installed, not $version"; }
echo "$packages" > "$root.tmp/.wine-wfp-root"
mv "$root.tmp" "$root"
say "ready: wine64 $(chroot "$root" dpkg-query -W -f='${Version}' wine64)"
echo "$root"
