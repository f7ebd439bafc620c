#!/bin/sh
# Install the Debian packages that building and testing wine-wfp needs.
# Run as root; it only installs what is missing.  Without root it lists
# the missing packages and exits non-zero.
#
# usage: install-deps.sh [--port] [--dry-run]
#
# --port also gets what 'make check-port' needs to build against Debian
# 13's Wine 10.0: a deb-src entry for trixie (source only: no binary
# package ever comes from trixie) and the Unicode data its make_unicode
# reads, from Debian 12.  --dry-run only reports what is missing.
set -e

port=no
dry_run=no
for arg; do
    case $arg in
        --port) port=yes ;;
        --dry-run) dry_run=yes ;;
        *) echo "usage: $0 [--port] [--dry-run]" >&2; exit 2 ;;
    esac
done

# The source package of the Wine that configure builds against; keep in
# step with SUPPORTED_WINE_VERSIONS in configure.ac.
wine_src_version=8.0~repack-4
# The one that 'make check-port' builds against.
port_src_version=10.0~repack-6

# Keep this list in step with README ("Installing").
packages="
    wine64 libwine
    gcc make patch autoconf autotools-dev pkg-config
    gcc-mingw-w64-x86-64 libz-mingw-w64-dev
    flex bison perl libxml-libxml-perl python3
    dpkg-dev unicode-data khronos-api libvulkan-dev
    libcmocka-dev clang libclang-rt-14-dev libunwind-dev
    nftables iproute2 valgrind quilt
    debhelper lintian git
    gcc-mingw-w64-i686
"
# The 32-bit runs need the i386 libc (and wine32:i386's files, which
# configure fetches); a missing one only skips them.
packages_i386="libc6:i386"
# Wine 10.0's make_unicode reads these (Debian 12 has older versions of
# them; see tools/prepare-wine-source.sh), and mmdebstrap makes the Debian
# 13 root that Wine 10.0 runs in (tools/trixie-root.sh)
test $port = no || packages="$packages unicode-idna unicode-cldr-core mmdebstrap"

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    test "$status" = "installed" || missing="$missing $p"
done

need_i386=no
for p in $packages_i386; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    test "$status" = "installed" || need_i386=yes
done

need_src=no
if ! apt-cache showsrc wine 2>/dev/null | grep -qx "Version: $wine_src_version"; then
    need_src=yes
fi
need_port_src=no
if test $port = yes && ! apt-cache showsrc wine 2>/dev/null | grep -qx "Version: $port_src_version"; then
    need_port_src=yes
fi

if test -z "$missing" && test $need_src = no && test $need_port_src = no && test $need_i386 = no; then
    echo "install-deps: every package is installed"
    exit 0
fi

port_src=/etc/apt/sources.list.d/wine-wfp-trixie-src.sources

if test "$(id -u)" != 0 || test $dry_run = yes; then
    test -z "$missing" || echo "install-deps: missing Debian packages:$missing" >&2
    test $need_src = no ||
        echo "install-deps: apt has no deb-src entry for wine $wine_src_version (apt-get source needs one)" >&2
    test $need_port_src = no ||
        echo "install-deps: apt has no deb-src entry for wine $port_src_version; as root, install-deps.sh --port adds $port_src" >&2
    test $need_i386 = no ||
        echo "install-deps: for the 32-bit tests: dpkg --add-architecture i386, then install $packages_i386" >&2
    if test $port = yes; then
        echo "install-deps: run 'make check-port' as root, or install them yourself" >&2
    else
        echo "install-deps: run 'make check' as root, or install them yourself" >&2
    fi
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if test $need_src = yes; then
    # apt-get source needs a deb-src entry; Debian 12 ships without one.
    src=/etc/apt/sources.list.d/wine-wfp-deb-src.sources
    echo "install-deps: adding $src"
    cat > "$src" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi
if test $need_port_src = yes; then
    # Only deb-src: trixie's binaries need a newer C library, and a 'deb'
    # line would let apt upgrade Debian 12's packages from trixie.
    echo "install-deps: adding $port_src"
    cat > "$port_src" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi
if test $need_i386 = yes && ! dpkg --print-foreign-architectures | grep -qx i386; then
    echo "install-deps: dpkg --add-architecture i386"
    dpkg --add-architecture i386
fi
echo "install-deps: apt-get update"
# A mirror caught in the middle of a sync can fail one index that we do not
# need (seen with bookworm-security's i386 one); what we need is checked
# by apt-get install and apt-get source.
if ! apt-get update -q >/tmp/wine-wfp-apt-update.log 2>&1; then
    echo "install-deps: warning: apt-get update reported errors; going on with the lists it has:" >&2
    grep -E '^(E|W):' /tmp/wine-wfp-apt-update.log | sed 's/^/    /' >&2
fi
if test -n "$missing"; then
    echo "install-deps: installing$missing"
    apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
if test $need_i386 = yes; then
    echo "install-deps: installing $packages_i386"
    apt-get install -y -q --no-install-recommends $packages_i386 >/dev/null ||
        echo "install-deps: warning: $packages_i386 could not be installed; the 32-bit tests will be skipped"
fi
