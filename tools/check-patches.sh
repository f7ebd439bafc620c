#!/bin/sh
# make check-patches: the patch sets that 'make patches' wrote must
#   1. apply with 'git am' to the pristine Debian source (as apt-get
#      source unpacks it), each set after the sets its definition
#      Depends: on,
#   2. apply with 'quilt push -a' as debian/patches of Debian's wine
#      source package, after Debian's own patches,
#   3. compile after each patch: wineserver, ntdll.so, ws2_32.dll,
#      mswsock.dll, fwpkclnt.sys (from the patch that adds it on) and
#      ws2_32_test.exe, built from the 'git am' tree (configure made again
#      after a patch that changes configure.ac).  The first set
#      (wfp-core) thereby builds alone, and each later one on top of the
#      sets before it; WORKDIR/bin-SET keeps the first set's binaries.
#
# usage: check-patches.sh PATCH_DIR WINE_VERSION CACHE_DIR PREPARED_SOURCE WORKDIR [CONFIGURE_FLAGS...]
# PATCH_DIR holds SET/NNNN-*.patch and the series file that lists them.
set -e

patches=$(cd "$1" && pwd)
version=$2
cache=$3
prepared=$4
mkdir -p "$5"
work=$(cd "$5" && pwd)
shift 5

started=$(date +%s)
say() { echo "check-patches: $* ($(( $(date +%s) - started ))s)"; }
die() { say "FAILED: $*"; exit 1; }

# the source package: kept by configure, or fetched once
dist=$cache/$version/dist
dsc=$(ls "$dist"/wine_*.dsc 2>/dev/null | head -n 1)
if test -z "$dsc"; then
    say "fetching the source package of wine $version"
    mkdir -p "$dist"
    (cd "$dist" && apt-get source -q --download-only "wine=$version" >/dev/null) ||
        die "apt-get source --download-only wine=$version failed (a deb-src entry is needed)"
    dsc=$(ls "$dist"/wine_*.dsc | head -n 1)
fi

test -f "$patches/series" || die "$patches/series is missing"
series=$(cat "$patches/series")
count=$(echo "$series" | wc -l)

# the sets in the order of the series, each after what it depends on
sets=
for p in $series; do
    set=$(dirname "$p")
    case " $sets " in *" $set "*) continue ;; esac
    for dep in $(sed -n 's/^Depends:[[:space:]]*//p' "$patches/$set/definition" 2>/dev/null); do
        case " $sets " in *" $dep "*) ;; *) die "$set depends on $dep, which does not come before it" ;; esac
    done
    sets="$sets $set"
done
say "patch sets:$sets"

rm -rf "$work"
mkdir -p "$work"

# 1. git am onto the pristine source
say "unpacking $(basename "$dsc") and applying the series with git am"
dpkg-source -q -x "$dsc" "$work/am" >/dev/null 2>&1 || die "dpkg-source -x failed"
git_() { git -C "$work/am" -c user.name=check -c user.email=check@localhost "$@"; }
git_ init -q
git_ add -A
git_ commit -q -m "wine $version, as apt-get source unpacks it"
for set in $sets; do
    git_ am -q --whitespace=nowarn $(echo "$series" | grep "^$set/" | sed "s|^|$patches/|") ||
        die "$set does not apply with git am"
    say "ok: $set applies with git am ($(echo "$series" | grep -c "^$set/") patches)"
done

# 2. quilt, as debian/patches of the source package
say "applying Debian's patches and the series with quilt"
dpkg-source -q -x --skip-patches "$dsc" "$work/quilt" >/dev/null 2>&1 || die "dpkg-source -x --skip-patches failed"
for set in $sets; do
    mkdir -p "$work/quilt/debian/patches/wine-wfp/$set"
    cp "$patches/$set"/*.patch "$work/quilt/debian/patches/wine-wfp/$set/"
done
echo "$series" | sed 's|^|wine-wfp/|' >>"$work/quilt/debian/patches/series"
debian_count=$(grep -cv '^wine-wfp/' "$work/quilt/debian/patches/series")
if ! (cd "$work/quilt" && QUILT_PATCHES=debian/patches quilt push -a -q --fuzz=0 >"$work/quilt.log" 2>&1); then
    tail -n 20 "$work/quilt.log"
    die "quilt push -a failed"
fi
top=$(cd "$work/quilt" && QUILT_PATCHES=debian/patches quilt top)
test "$top" = "debian/patches/$(tail -n 1 "$work/quilt/debian/patches/series")" || die "quilt stopped at $top"
# the same tree as git am gives
if ! diff -r -q -x .pc -x .git -x debian "$work/am" "$work/quilt" >"$work/diff.log"; then
    head "$work/diff.log"
    die "quilt and git am give different trees"
fi
say "ok: quilt push -a applies Debian's $debian_count patches and the series, and gives the same tree"

# 3. each patch compiles.  Debian's repack leaves out generated files
# (configure, the server protocol, ...): take them from the prepared tree,
# never overwriting a file of the source.
say "building wineserver, ntdll.so, ws2_32.dll, mswsock.dll, fwpkclnt.sys (once a patch adds it) and ws2_32_test.exe after each patch"
cp -a -n "$prepared/." "$work/am/"
rm -f "$work/am"/.wine-wfp-*
commits=$(git_ rev-list --reverse HEAD~$count..HEAD)
git_ checkout -q "$(echo "$commits" | head -n 1)"
# A patch that changes configure.ac (a new module) needs configure made
# again; Wine's Makefile then reruns it (config.status --recheck).  git
# checkout rewrites configure.ac only when it changes.
regenerate_configure()
{
    test "$work/am/configure.ac" -nt "$work/am/configure" || return 0
    say "configure.ac changed: autoconf"
    (cd "$work/am" && autoconf) || die "autoconf failed"
}
regenerate_configure
mkdir -p "$work/build"
# WINE_TOOLS: a build of the same Wine whose tools (winebuild, widl, ...)
# serve here too, so that they are not built again for this check
tools_flag=""
test -z "$WINE_TOOLS" || ! test -x "$WINE_TOOLS/tools/winebuild/winebuild" || tools_flag="--with-wine-tools=$WINE_TOOLS"
(cd "$work/build" && ../am/configure "$@" $tools_flag >configure.log 2>&1) || { tail -n 20 "$work/build/configure.log"; die "configure failed"; }
test -z "$tools_flag" || say "using the Wine tools of $WINE_TOOLS"
# Debian's fixes/temporary-directory.patch (Wine 10.0) makes the server
# depend on include/wine/server_tmpdir.h in the build tree, as Debian
# builds in its source tree
if test -f "$work/am/include/wine/server_tmpdir.h"; then
    mkdir -p "$work/build/include/wine"
    ln -sf "$work/am/include/wine/server_tmpdir.h" "$work/build/include/wine/server_tmpdir.h"
fi
# and ntdll's loader.c its generated version.h
mkdir -p "$work/build/dlls/ntdll"
ln -sf unix/version.h "$work/build/dlls/ntdll/version.h"
all_targets="server/wineserver dlls/ntdll/ntdll.so dlls/ws2_32/x86_64-windows/ws2_32.dll dlls/mswsock/x86_64-windows/mswsock.dll
         dlls/fwpkclnt.sys/x86_64-windows/fwpkclnt.sys dlls/ws2_32/tests/x86_64-windows/ws2_32_test.exe"
# the targets whose module the tree has (fwpkclnt.sys comes with a patch)
tree_targets()
{
    for t in $all_targets; do
        case $t in dlls/*/*-windows/*) test -f "$work/am/${t%/*-windows/*}/Makefile.in" || continue ;; esac
        echo "$t"
    done
}
# Wine's rules run bison twice for each of its tools' parsers, which a
# parallel build can race with (see WINE_BISON_OUTPUTS in Makefile.in)
parsers=$(cd "$work/am" && ls tools/*/*.y | sed 's/\.y$/.tab.c/')
make -C "$work/build" -j1 $parsers >"$work/build.log" 2>&1 || true
n=0
below=
for c in $commits; do
    n=$((n + 1))
    p=$(echo "$series" | sed -n "${n}p")
    set=$(dirname "$p")
    git_ checkout -q "$c"
    regenerate_configure
    targets=$(tree_targets)
    subject=$(git_ log -1 --format=%s "$c")
    if ! make -C "$work/build" -j"$(nproc)" $targets >"$work/build.log" 2>&1; then
        grep -E "error|Error" "$work/build.log" | head -n 20
        die "the tree does not build after $p: $subject"
    fi
    say "ok: builds after $set: $subject"
    # the last patch of a set
    if test "$(dirname "$(echo "$series" | sed -n "$((n + 1))p")")" != "$set"; then
        if test -z "$below"; then
            say "ok: $set builds alone"
            # for the conformance run of the first set alone
            rm -rf "$work/bin-$set"
            mkdir -p "$work/bin-$set"
            for t in $targets; do cp "$work/build/$t" "$work/bin-$set/"; done
        else
            say "ok: $set builds on top of$below"
        fi
        below="$below $set"
    fi
done
say "ok: the sets apply with git am and with quilt, and every patch builds"
