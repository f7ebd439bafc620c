#!/bin/sh
# Assemble the Wine root that wine-wfp runs.
#
# usage: make-root.sh [--wine32 WINE32_BINDIR WINE32_DLLDIR WS2_32_DLL32]
#                     DEST SYSTEM_BINDIR SYSTEM_DLLDIR SYSTEM_DATADIR WINESERVER NTDLL_SO WS2_32_DLL
#                     [PROGRAM.exe...]
#
# The layout mirrors Debian's, relative to DEST:
#   lib/wine/wine64                          copy of the installed loader
#   lib/wine/wineserver, wineserver64        our server (wrapper as in Debian)
#   lib/x86_64-linux-gnu/wine/x86_64-unix    ntdll.so ours, the rest linked; ntdll.so.system
#                                            the installed ntdll.so's size and time
#   lib/x86_64-linux-gnu/wine/x86_64-windows ws2_32.dll, mswsock.dll and fwpkclnt.sys ours,
#                                            the rest linked
# and with --wine32, for 32-bit programs, from wine32:i386's files:
#   lib/wine/wine                            copy of the 32-bit loader
#   lib/i386-linux-gnu/wine/i386-unix        ntdll.so copied, the rest linked
#   lib/i386-linux-gnu/wine/i386-windows     ws2_32.dll ours (and mswsock.dll and fwpkclnt.sys
#                                            where that build made them), the rest linked
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

wine32_bindir=""
if test "$1" = --wine32; then
    wine32_bindir=$2
    wine32_dlldir=$3
    ws2_32_i386=$4
    shift 4
fi

dest=$1
sys_bindir=$2
sys_dlldir=$3
sys_datadir=$4
wineserver=$5
ntdll=$6
ws2_32=$7

test $# -ge 7 || { echo "usage: $0 [--wine32 BINDIR32 DLLDIR32 WS2_32_32] DEST BINDIR DLLDIR DATADIR WINESERVER NTDLL WS2_32 [PROGRAM...]" >&2; exit 2; }
shift 7

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

# unix_dir DEST_DLLDIR SYSTEM_DLLDIR ARCH [NTDLL]: the Unix side of an
# architecture, ntdll.so ours (or a copy of the installed one) and the rest
# links.  Ours goes with the installed Wine it was built for: the launcher
# compares the installed one with the size and time noted here.
unix_dir()
{
    mkdir -p "$1/$3-unix"
    link_dir "$2/$3-unix" "$1/$3-unix" "ntdll.so ntdll.so.system"
    test ! -L "$1/$3-unix/ntdll.so" || rm -f "$1/$3-unix/ntdll.so"
    copy "${4:-$2/$3-unix/ntdll.so}" "$1/$3-unix/ntdll.so"
    chmod 644 "$1/$3-unix/ntdll.so"
    rm -f "$1/$3-unix/ntdll.so.system"
    test -z "$4" || stat -L -c %s.%Y "$2/$3-unix/ntdll.so" > "$1/$3-unix/ntdll.so.system"
}

# pe_dll DIR NAME FILE: our copy of a PE DLL
pe_dll()
{
    rm -f "$1/$2.tmp"
    cp "$3" "$1/$2.tmp"
    chmod 644 "$1/$2.tmp"     # a PE DLL, as Debian installs Wine's
    mv "$1/$2.tmp" "$1/$2"
}

# windows_dir DEST_DLLDIR SYSTEM_DLLDIR ARCH WS2_32: the PE side, our
# ws2_32.dll, and the modules that the same Wine build tree made next to
# it, where it made them: mswsock.dll (the base provider's SPI) and
# fwpkclnt.sys (the WFP kernel client library that callout drivers
# import; stock Wine has none, and its loader finds it here as a
# builtin); links to the rest
windows_dir()
{
    _tree=${4%/dlls/ws2_32/*}
    _ours="ws2_32.dll"
    for _m in mswsock/mswsock.dll fwpkclnt.sys/fwpkclnt.sys; do
        test -f "$_tree/dlls/${_m%/*}/$3-windows/${_m#*/}" && _ours="$_ours ${_m#*/}"
    done
    mkdir -p "$1/$3-windows"
    link_dir "$2/$3-windows" "$1/$3-windows" "$_ours"
    for _m in mswsock/mswsock.dll fwpkclnt.sys/fwpkclnt.sys; do
        _f=$_tree/dlls/${_m%/*}/$3-windows/${_m#*/}
        test -f "$_f" && pe_dll "$1/$3-windows" "${_m#*/}" "$_f"
    done
    pe_dll "$1/$3-windows" ws2_32.dll "$4"
}

unix_dir "$dlldir" "$sys_dlldir" x86_64 "$ntdll"
windows_dir "$dlldir" "$sys_dlldir" x86_64 "$ws2_32"

for d in "$sys_dlldir"/*-windows; do
    case "$d" in */x86_64-windows) continue ;; esac
    test -n "$wine32_bindir" && test "$d" = "$sys_dlldir/i386-windows" && continue
    test -d "$d" && ln -sfn "$d" "$dlldir/$(basename "$d")"
done

# A 64-bit Wine starts a 32-bit program with the loader "wine" next to its
# own, which loads lib/i386-linux-gnu/wine/i386-unix/ntdll.so relative to
# itself, as Debian's multiarch layout has it.
if test -n "$wine32_bindir"; then
    dlldir32=$dest/lib/i386-linux-gnu/wine
    copy "$wine32_bindir/wine" "$bindir/wine"
    unix_dir "$dlldir32" "$wine32_dlldir" i386
    windows_dir "$dlldir32" "$wine32_dlldir" i386 "$ws2_32_i386"
    # Each side looks for the other's builtin programs in its own DLL
    # directory (a 64-bit wineboot starts syswow64's rundll32.exe, a 32-bit
    # program system32's 64-bit ones), as in upstream Wine's single
    # lib/wine; Debian's split multiarch directories do not have that.
    rm -rf "$dlldir/i386-windows" "$dlldir32/x86_64-windows"
    ln -s ../../i386-linux-gnu/wine/i386-windows "$dlldir/i386-windows"
    ln -s ../../x86_64-linux-gnu/wine/x86_64-windows "$dlldir32/x86_64-windows"
else
    rm -rf "$bindir/wine" "$dest/lib/i386-linux-gnu"
    test -e "$dlldir/i386-windows" || rm -f "$dlldir/i386-windows"
fi
ln -sfn "$sys_datadir" "$dest/share/wine"

mkdir -p "$dest/programs"
for program in "$@"; do
    copy "$program" "$dest/programs/$(basename "$program")"
done
