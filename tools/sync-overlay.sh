#!/bin/sh
# Lay the project's own files (server/, dlls/, include/) over the working
# copy of the Wine source.  Only files whose content changed are copied,
# so that Wine's make rebuilds only what an edit touched.
#
# usage: sync-overlay.sh PROJECT_SRCDIR PRISTINE_SOURCE WORK_TREE
set -e

src=$1
pristine=$2
work=$3
list=$work/.wine-wfp-overlay-files

files=$(cd "$src" && find server dlls include -type f ! -name '*~' ! -name '.*' 2>/dev/null | sort)

for f in $files; do
    # The project adds files; it never carries a copy of one of Wine's.
    if test -e "$pristine/$f"; then
        echo "sync-overlay: error: $f exists in Wine's source; change it with a patch instead" >&2
        exit 1
    fi
    if ! cmp -s "$src/$f" "$work/$f"; then
        mkdir -p "$(dirname "$work/$f")"
        cp "$src/$f" "$work/$f"
        echo "sync-overlay: $f"
    fi
done

# Drop files that the project no longer has.
if test -f "$list"; then
    for f in $(cat "$list"); do
        case " $(echo $files) " in
            *" $f "*) ;;
            *) rm -f "$work/$f"; echo "sync-overlay: removed $f" ;;
        esac
    done
fi
printf '%s\n' $files > "$list"
