#!/bin/sh
# Derive the hook series for another Wine version from the one source,
# patches/series (Wine 8.0):
#
#   - a patch that the other version needs written differently has its own
#     version in patches/wine-MAJOR.MINOR/, under the same SET/FILE name,
#     and that is used;
#   - every other patch is carried over by a three-way merge ('git am -3'),
#     with the Wine 8.0 files it was made against as the merge base, so
#     that it lands where the code it changes is, or stops with a conflict.
#
# Each patch of the other version names the Wine 8.0 patch it was ported
# from, by a hash of its changes, in a "Ported-from: FILE HASH" line of its
# message; when that patch changes, this stops and says what to port.
# 'port-series.sh --hash PATCH' prints the hash of a Wine 8.0 patch.
#
# usage: port-series.sh SRCDIR WINE8_SOURCE OTHER_SOURCE OTHER_VERSION OUTDIR
# OUTDIR gets the derived series: SET/NNNN-*.patch and 'series'.
set -e

# the changes of a patch, without what differs between equal changes
# (dates, line numbers, blob ids, diffstat)
patch_hash()
{
    sed -n '/^diff --git /,$p' "$1" | grep -v -e '^index ' -e '^@@ ' -e '^-- $' -e '^[0-9]*\.[0-9]*' | sha1sum | cut -c1-16
}
if test "$1" = --hash; then patch_hash "$2"; exit 0; fi

srcdir=$(cd "$1" && pwd)
wine8=$2
other=$3
version=$4
out=$5
series=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$srcdir/patches/series")
own=$srcdir/patches/wine-${version%%~*}

say() { echo "port-series: $*"; }
die() { say "error: $*"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git_() { _d=$1; shift; git -C "$_d" -c user.name=wine-wfp -c user.email=wine-wfp@localhost -c core.autocrlf=false "$@"; }
git8() { git_ "$work/8" "$@"; }
gitx() { git_ "$work/x" "$@"; }

# the files that the patches of either version change, from each pristine tree
files=$(for p in $series "$own"/*/*.patch; do
            case "$p" in /*) f=$p ;; *) f=$srcdir/patches/$p ;; esac
            test -f "$f" || continue
            sed -n -e 's|^+++ b/\([^[:space:]]*\).*|\1|p' -e 's|^--- a/\([^[:space:]]*\).*|\1|p' "$f"
        done | sort -u)
for tree in 8:"$wine8" x:"$other"; do
    dir=$work/${tree%%:*}; src=${tree#*:}
    mkdir -p "$dir"
    for f in $files; do
        test -f "$src/$f" || continue
        mkdir -p "$dir/$(dirname "$f")"
        cp "$src/$f" "$dir/$f"
    done
    git_ "$dir" init -q
    git_ "$dir" add -A
    git_ "$dir" commit -q -m pristine
    git_ "$dir" tag pristine
done

# every Wine 8.0 file the series makes, so that the merges have their base
for p in $series; do git8 am -q "$srcdir/patches/$p" || die "$p does not apply to Wine 8.0"; done
gitx fetch -q "$work/8" HEAD:refs/wine8

sets=
for p in $series; do
    name=$p
    hash=$(patch_hash "$srcdir/patches/$p")
    if test -f "$own/$name"; then
        ported=$(sed -n "s|^Ported-from: $p ||p" "$own/$name")
        test -n "$ported" || die "$own/$name has no 'Ported-from: $p HASH' line"
        test "$ported" = "$hash" ||
            die "$p changed since $own/$name was ported from it: port the change there, then set its Ported-from line to $hash"
        gitx am -q "$own/$name" || die "$own/$name does not apply to Wine $version"
        say "$name: Wine ${version%%~*}'s own version"
    else
        if ! gitx am -q -3 "$srcdir/patches/$p" >"$work/am.log" 2>&1; then
            cat "$work/am.log"
            gitx am --abort
            die "$p does not merge into Wine $version: write its version for Wine ${version%%~*} in $own/$name"
        fi
        # the message says where it came from, as the hand-ported ones do
        gitx commit -q --amend -m "$(gitx log -1 --format=%B)

Ported-from: $p $hash"
        say "$name: merged from Wine 8.0's"
    fi
    set=$(dirname "$p")
    case " $sets " in *" $set "*) ;; *) sets="$sets $set" ;; esac
    gitx tag -f "end-$set" >/dev/null
done

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)     # format-patch runs in the work tree
base=pristine
for set in $sets; do
    gitx format-patch -q --zero-commit -N --no-signature -o "$out/$set" "$base..end-$set"
    # under the names of patches/series: format-patch numbers a set from 1,
    # and the series may have a gap in its numbers (a patch not there yet),
    # while patches/new-files names each patch by its number
    names=$(echo "$series" | grep "^$set/")
    for f in $(cd "$out" && ls "$set"/*.patch); do
        name=$(echo "$names" | head -n 1)
        names=$(echo "$names" | sed 1d)
        test "$f" = "$name" || mv "$out/$f" "$out/$name"
        echo "$name" >> "$out/series"
    done
    base=end-$set
done
say "$(wc -l < "$out/series") patches for Wine $version in $out"
