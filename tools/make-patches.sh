#!/bin/sh
# Write wine-wfp as 'git format-patch' series against the Wine source, one
# per patch set (wfp-core, then wfp-redirect on top of it): each hook patch
# of patches/series together with the new files that patches/new-files
# gives it, one commit each, with the hook patch's author, date and message.
#
# usage: make-patches.sh SRCDIR WINE_SOURCE WORKDIR OUTDIR [SERIES_DIR]
#
# SERIES_DIR holds the series file and the hook patches, SET/NNNN-*.patch:
# SRCDIR/patches by default, what tools/port-series.sh wrote for Wine 10.0.
# OUTDIR gets SET/NNNN-*.patch with each set's definition, and a series
# file that lists them in order.
# WINE_SOURCE is the Wine tree to start from; WORKDIR/git is left holding
# the series as commits on top of it (branch wine-wfp, base tag pristine).
set -e

srcdir=$(cd "$1" && pwd)
wine=$2
mkdir -p "$3" "$4"
workdir=$(cd "$3" && pwd)
outdir=$(cd "$4" && pwd)
series=$(cd "${5:-$srcdir/patches}" && pwd)
repo=$workdir/git

die() { echo "make-patches: error: $*" >&2; exit 1; }
test -f "$wine/server/protocol.def" || die "$wine is not a Wine source tree"

git_() { git -C "$repo" -c user.name=wine-wfp -c user.email=wine-wfp@localhost -c core.autocrlf=false "$@"; }

# the base: the tree as it is, as one commit (only Wine's own files matter
# to the patches, but a whole tree is what 'git am' and the builds need)
if ! test -f "$repo/.wine-wfp-base" || test "$(cat "$repo/.wine-wfp-base")" != "$wine"; then
    echo "make-patches: making a git repository of $wine (once)"
    rm -rf "$repo"
    mkdir -p "$workdir"
    cp -a "$wine" "$repo"
    rm -f "$repo"/.wine-wfp-*
    git_ init -q
    git_ add -A
    git_ commit -q -m "wine $(sed -n '1s/^wine[^ ]* (\([^)]*\)).*/\1/p' "$repo/debian/changelog")"
    git_ tag -f pristine >/dev/null
    echo "$wine" > "$repo/.wine-wfp-base"
    echo .wine-wfp-base > "$repo/.git/info/exclude"
fi
git_ checkout -q -f -B wine-wfp pristine
git_ clean -q -fdx -e .wine-wfp-base

sets=
for p in $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$series/series"); do
    set=$(dirname "$p")
    key=$set/$(basename "$p" | cut -c1-4)
    git_ am -q --whitespace=nowarn "$series/$p" || { git_ am --abort; die "$p does not apply"; }
    files=$(sed -n "s|^$key ||p" "$srcdir/patches/new-files")
    if test -n "$files"; then
        for f in $files; do
            mkdir -p "$(dirname "$repo/$f")"
            cp "$srcdir/$f" "$repo/$f"
        done
        git_ add $files
        git_ commit -q --amend --no-edit
    fi
    # where each set ends
    case " $sets " in *" $set "*) ;; *) sets="$sets $set" ;; esac
    git_ tag -f "end-$set" >/dev/null
done
# every new file is in some patch
for f in $(cd "$srcdir" && ls server/wfp*.[ch] dlls/ws2_32/wfp*.c dlls/ws2_32/tests/wfp.c); do
    git_ cat-file -e "HEAD:$f" 2>/dev/null || die "$f is in no patch (add it to patches/new-files)"
done

rm -rf "$outdir"
mkdir -p "$outdir"
base=pristine
for set in $sets; do
    test -f "$srcdir/patches/$set/definition" || die "patches/$set has no definition"
    git_ format-patch -q --no-signature -o "$outdir/$set" "$base..end-$set"
    cp "$srcdir/patches/$set/definition" "$outdir/$set/"
    (cd "$outdir" && ls "$set"/*.patch) >> "$outdir/series"
    base=end-$set
done
echo "make-patches: $(wc -l < "$outdir/series") patches in $outdir:"
sed 's/^/    /' "$outdir/series"
