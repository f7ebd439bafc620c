#!/bin/sh
# Print the path of a prepared Wine source tree for a Debian wine version,
# making one first if the cache does not hold it yet.
#
# usage: wine-source.sh VERSION CACHE_DIR [UNPACKED_SOURCE_DIR]
#
# Without UNPACKED_SOURCE_DIR the source comes from 'apt-get source
# wine=VERSION', which needs a deb-src entry in the apt sources.  A given
# directory is never modified: if it is not prepared yet, it is copied into
# the cache and prepared there.  Progress goes to stderr, the path to stdout.
set -e

version=$1
cache=$2
given=$3
here=$(cd "$(dirname "$0")" && pwd)

# Bump when prepare-wine-source.sh changes what it generates.
prepare_revision=1

say() { echo "wine-source: $*" >&2; }
die() { say "error: $*"; exit 1; }

test -n "$version" && test -n "$cache" || die "usage: $0 VERSION CACHE_DIR [SOURCE_DIR]"

is_prepared()
{
    test -f "$1/configure" && test -f "$1/include/wine/server_protocol.h" && test -f "$1/nls/locale.nls"
}

source_version()
{
    sed -n '1s/^wine[^ ]* (\([^)]*\)).*/\1/p' "$1/debian/changelog" 2>/dev/null
}

if test -n "$given"; then
    test -f "$given/server/protocol.def" || die "$given is not a Wine source tree"
    found=$(source_version "$given")
    test -z "$found" || test "$found" = "$version" ||
        die "$given holds wine $found, but wine $version is installed"
    if is_prepared "$given"; then
        say "using the prepared source in $given"
        echo "$given"
        exit 0
    fi
fi

dest=$cache/$version/wine
stamp=$dest/.wine-wfp-prepared
if test -f "$stamp" && test "$(cat "$stamp")" = "$version $prepare_revision"; then
    say "using the cached source in $dest"
    echo "$dest"
    exit 0
fi

mkdir -p "$cache/$version"
exec 9>"$cache/$version/.lock"
if command -v flock >/dev/null && ! flock -n 9; then
    say "another configure is preparing the same source; waiting for it"
    flock 9
fi
# Someone else may have finished while we waited.
if test -f "$stamp" && test "$(cat "$stamp")" = "$version $prepare_revision"; then
    echo "$dest"
    exit 0
fi

work=$cache/$version/work.$$
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

if test -n "$given"; then
    say "copying $given to the cache"
    cp -a "$given" "$work/wine"
else
    command -v apt-get >/dev/null || die "apt-get not found; use --with-wine-source=DIR"
    command -v dpkg-source >/dev/null || die "dpkg-source not found; install the Debian package dpkg-dev"
    if ! apt-cache showsrc wine 2>/dev/null | grep -qx "Version: $version"; then
        case $version in
            8.*) suite=bookworm; target=check ;;
            *) suite=trixie; target=check-port ;;
        esac
        die "apt cannot find the source package wine $version.
Add a deb-src entry for $suite to the apt sources and run 'apt-get update'
(running 'make $target' as root does both), or pass --with-wine-source=DIR."
    fi
    say "downloading the source of wine $version (35 to 85 MB)"
    (cd "$work" && apt-get source -q "wine=$version" >&2) || die "apt-get source wine=$version failed"
    unpacked=$(cd "$work" && ls -d wine-*/ 2>/dev/null | head -n 1)
    test -n "$unpacked" || die "apt-get source did not unpack a tree"
    mv "$work/$unpacked" "$work/wine"
    # the source package itself, for make check-patches (quilt)
    mkdir -p "$cache/$version/dist"
    mv "$work"/*.dsc "$work"/*.tar.* "$cache/$version/dist/" 2>/dev/null || true
fi

say "regenerating the files Debian's repack leaves out (takes 1 to 5 minutes)"
"$here/prepare-wine-source.sh" "$work/wine" >"$work/prepare.log" 2>&1 || {
    tail -n 20 "$work/prepare.log" >&2
    die "preparing the source failed; the lines above are the end of its log"
}

rm -rf "$dest"
mv "$work/wine" "$dest"
echo "$version $prepare_revision" > "$stamp"
say "prepared source cached in $dest"
echo "$dest"
