#!/bin/sh
# Compile-check include/ddk/fwpsk.h and fwpmk.h the way Wine builds the
# drivers of dlls/ntoskrnl.exe/tests: PE, -fsyntax-only, for x86_64 and
# i386, with Wine's warning flags and -Werror.  layout.c holds the
# offsetof/sizeof assertions; callout_sample.c is a connect-redirect
# callout driver that must build against the headers.
#
# usage: tests/headers/check.sh [WINE_SRC [WINE_BUILD]]
#   WINE_SRC    the prepared Wine source (default: wine/src)
#   WINE_BUILD  its build tree, whose include/ holds the widl output
#               (default: wine/build)
# The repository's include/ comes first, so the headers are checked
# whether or not tools/sync-overlay.sh has copied them into WINE_SRC.
#
# The command run for each compiler and file is, from the top directory:
#   $CC -fsyntax-only -Iinclude -I$WINE_BUILD/include -I$WINE_SRC/include \
#       -I$WINE_SRC/include/msvcrt -D_MSVCR_VER=0 -D__WINESRC__ -D__WINE_PE_BUILD \
#       $WINE_WARNINGS -Werror tests/headers/FILE.c
# with CC = x86_64-w64-mingw32-gcc and i686-w64-mingw32-gcc.
set -e

top=$(cd "$(dirname "$0")/../.." && pwd)
src=${1:-$top/wine/src}
build=${2:-$top/wine/build}

test -f "$src/include/ddk/wdm.h" || { echo "headers: no Wine source at $src" >&2; exit 2; }
test -d "$build/include" || { echo "headers: no Wine build tree at $build" >&2; exit 2; }

# the flags makedep gives dlls/ntoskrnl.exe/tests/driver*.c in Wine 8.0
warnings="-Wall -fno-strict-aliasing -Wdeclaration-after-statement -Wempty-body
 -Wignored-qualifiers -Winit-self -Wno-packed-not-aligned -Wshift-overflow=2
 -Wstrict-prototypes -Wtype-limits -Wunused-but-set-parameter -Wvla
 -Wwrite-strings -Wpointer-arith -Wlogical-op -Wabsolute-value
 -Wformat-overflow -Wnonnull"

status=0
pass=0
fail=0
for cc in x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc; do
    if ! command -v $cc >/dev/null 2>&1; then
        echo "headers: $cc is missing (tools/install-deps.sh installs it)" >&2
        status=1
        continue
    fi
    for file in layout callout_sample; do
        # shellcheck disable=SC2086 # $warnings is split on purpose
        if $cc -fsyntax-only -I"$top/include" -I"$build/include" -I"$src/include" \
               -I"$src/include/msvcrt" -D_MSVCR_VER=0 -D__WINESRC__ -D__WINE_PE_BUILD \
               $warnings -Werror "$top/tests/headers/$file.c"; then
            echo "headers: $cc $file.c: ok"
            pass=$((pass + 1))
        else
            echo "headers: $cc $file.c: FAILED"
            fail=$((fail + 1))
            status=1
        fi
    done
done
# under make check, the result goes with the others
if test -n "$WFP_SRCDIR"; then
    . "$WFP_SRCDIR/tests/lib.sh"
    record headers $pass $fail
fi
exit $status
