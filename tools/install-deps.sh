#!/bin/sh
# Install the Debian packages that building and testing wine-wfp needs.
# Run as root; it only installs what is missing.  Without root it lists
# the missing packages and exits non-zero.
set -e

# Keep this list in step with README ("Installing").
packages="
    wine64 libwine
    gcc make patch autoconf autotools-dev pkg-config
    gcc-mingw-w64-x86-64 libz-mingw-w64-dev
    flex bison perl libxml-libxml-perl python3
    dpkg-dev unicode-data khronos-api libvulkan-dev
    libcmocka-dev clang libclang-rt-14-dev
    nftables iproute2 valgrind quilt
    debhelper lintian git
    gcc-mingw-w64-i686
"
# The 32-bit runs need the i386 libc (and wine32:i386's files, which
# configure fetches); a missing one only skips them.
packages_i386="libc6:i386"

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
if ! apt-cache showsrc wine 2>/dev/null | grep -q '^Package: wine$'; then
    need_src=yes
fi

if test -z "$missing" && test $need_src = no && test $need_i386 = no; then
    echo "install-deps: every package is installed"
    exit 0
fi

if test "$(id -u)" != 0; then
    test -z "$missing" || echo "install-deps: missing Debian packages:$missing" >&2
    test $need_src = no || echo "install-deps: apt has no deb-src entry for wine (apt-get source needs one)" >&2
    test $need_i386 = no || echo "install-deps: for the 32-bit tests: dpkg --add-architecture i386, then install $packages_i386" >&2
    echo "install-deps: run 'make check' as root, or install them yourself" >&2
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
if test $need_i386 = yes && ! dpkg --print-foreign-architectures | grep -qx i386; then
    echo "install-deps: dpkg --add-architecture i386"
    dpkg --add-architecture i386
fi
echo "install-deps: apt-get update"
# A mirror caught in the middle of a sync can fail one index (seen with
# bookworm-security's i386 one); what is needed may still be there, and
# apt-get install says so if not.
if ! apt-get update -q >/tmp/wine-wfp-apt-update.log 2>&1; then
    echo "install-deps: warning: apt-get update reported errors; going on with the indexes it has:"
    grep -E '^(E|W):' /tmp/wine-wfp-apt-update.log | sed 's/^/    /'
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
