#!/bin/sh
# Assemble the Wine root that wine-wfp runs.
#
# usage: make-root.sh DEST SYSTEM_BINDIR SYSTEM_DLLDIR SYSTEM_DATADIR WINESERVER WS2_32_DLL [PROGRAM.exe...]
#
# The layout mirrors Debian's, relative to DEST:
#   lib/wine/wine64                          copy of the installed loader
#   lib/wine/wineserver, wineserver64        our server (wrapper as in Debian)
#   lib/x86_64-linux-gnu/wine/x86_64-unix    ntdll.so copied, the rest linked
#   lib/x86_64-linux-gnu/wine/x86_64-windows ws2_32.dll ours, the rest linked
#   share/wine                               link to the installed data
#   programs/                                wine-wfp's Windows programs
#
# The loader and ntdll.so must be real files: Wine finds its binary
# directory with realpath(/proc/self/exe) and its DLL directory with
# realpath() of ntdll.so, so a symbolic link would lead it back to the
# system directories and to the stock wineserver and ws2_32.dll.
# Symbolic links point to the installed Wine's paths, so that DEST may be a
# DESTDIR staging directory.
set -e

dest=$1
sys_bindir=$2
sys_dlldir=$3
sys_datadir=$4
wineserver=$5
ws2_32=$6

test $# -ge 6 || { echo "usage: $0 DEST BINDIR DLLDIR DATADIR WINESERVER WS2_32 [PROGRAM...]" >&2; exit 2; }
shift 6

bindir=$dest/lib/wine
dlldir=$dest/lib/x86_64-linux-gnu/wine
mkdir -p "$bindir" "$dlldir/x86_64-unix" "$dlldir/x86_64-windows" "$dest/share"

# Copy if different, keeping the timestamp (the launcher compares it).
# The new file is renamed into place: the old one may be running.
copy() { cmp -s "$1" "$2" || { cp -p "$1" "$2.tmp" && mv -f "$2.tmp" "$2"; }; }

copy "$sys_bindir/wine64" "$bindir/wine64"
copy "$wineserver" "$bindir/wineserver64"
chmod 755 "$bindir/wineserver64"
cat > "$bindir/wineserver.tmp" <<'WRAPPER'
#!/bin/sh
# As Debian's /usr/lib/wine/wineserver: exit as soon as the last client goes.
exec "$(dirname "$0")/wineserver64" -p0 "$@"
WRAPPER
chmod 755 "$bindir/wineserver.tmp"
mv "$bindir/wineserver.tmp" "$bindir/wineserver"

link_dir()
{
    for f in "$1"/*; do
        name=$(basename "$f")
        case " $3 " in *" $name "*) continue ;; esac
        ln -sfn "$f" "$2/$name"
    done
}

link_dir "$sys_dlldir/x86_64-unix" "$dlldir/x86_64-unix" "ntdll.so"
test ! -L "$dlldir/x86_64-unix/ntdll.so" || rm -f "$dlldir/x86_64-unix/ntdll.so"
copy "$sys_dlldir/x86_64-unix/ntdll.so" "$dlldir/x86_64-unix/ntdll.so"

link_dir "$sys_dlldir/x86_64-windows" "$dlldir/x86_64-windows" "ws2_32.dll"
rm -f "$dlldir/x86_64-windows/ws2_32.dll.tmp"
cp "$ws2_32" "$dlldir/x86_64-windows/ws2_32.dll.tmp"
chmod 644 "$dlldir/x86_64-windows/ws2_32.dll.tmp"     # a PE DLL, as Debian installs Wine's
mv "$dlldir/x86_64-windows/ws2_32.dll.tmp" "$dlldir/x86_64-windows/ws2_32.dll"

for d in "$sys_dlldir"/*-windows; do
    case "$d" in */x86_64-windows) continue ;; esac
    test -d "$d" && ln -sfn "$d" "$dlldir/$(basename "$d")"
done
ln -sfn "$sys_datadir" "$dest/share/wine"

mkdir -p "$dest/programs"
for program in "$@"; do
    copy "$program" "$dest/programs/$(basename "$program")"
done
