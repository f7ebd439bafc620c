#!/bin/sh
# Apply patches/series to the working copy of the Wine source.
#
# usage: apply-patches.sh PRISTINE_SOURCE WORK_TREE PATCH_DIR
#
# The series is applied to pristine copies of the files it touches, in a
# scratch directory; then every file that the previous or the current
# series touched is made what that gives (or the pristine file again), and
# only where its content differs, so that editing, reordering or dropping
# a patch always gives the same result as a fresh tree, and make rebuilds
# only what changed.  A patch that does not apply exactly (reject, fuzz or
# offset) stops the build.
set -e

pristine=$1
work=$2
patchdir=$3
list=$work/.wine-wfp-patched-files

die() { echo "apply-patches: error: $*" >&2; exit 1; }

test -f "$patchdir/series" || die "$patchdir/series is missing"

patches=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$patchdir/series")

touched=$(for p in $patches; do
              test -f "$patchdir/$p" || die "$p is listed in the series but missing"
              sed -n -e 's|^+++ b/\([^[:space:]]*\).*|\1|p' -e 's|^--- a/\([^[:space:]]*\).*|\1|p' "$patchdir/$p"
          done | sort -u)
previous=$(cat "$list" 2>/dev/null || true)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for f in $touched; do
    test -f "$pristine/$f" || continue
    mkdir -p "$scratch/$(dirname "$f")"
    cp "$pristine/$f" "$scratch/$f"
done

for p in $patches; do
    echo "Applying $p"
    if ! out=$(patch -d "$scratch" -p1 -F0 -N --no-backup-if-mismatch -i "$(cd "$patchdir" && pwd)/$p" 2>&1); then
        echo "$out" >&2
        die "$p does not apply to Wine's source"
    fi
    if echo "$out" | grep -q -e "with fuzz" -e "offset"; then
        echo "$out" >&2
        die "$p applies only with fuzz or offset; refresh it"
    fi
done

for f in $(printf '%s\n%s\n' "$touched" "$previous" | sort -u); do
    if printf '%s\n' "$touched" | grep -q -x -F "$f"; then
        result=$scratch/$f
    else
        result=$pristine/$f
    fi
    if ! test -f "$result"; then
        rm -f "$work/$f"
    elif ! cmp -s "$result" "$work/$f"; then
        mkdir -p "$(dirname "$work/$f")"
        cp "$result" "$work/$f"
    fi
done

printf '%s\n' "$touched" > "$list"
