#!/bin/sh
# Regenerate the files that Debian's repack of the Wine source leaves out
# (see Files-Excluded in debian/copyright), exactly as debian/rules does in
# override_dh_auto_configure, so that Wine's configure and makedep accept
# the tree.  Run once per Wine version; the result is cached by configure.
#
# usage: prepare-wine-source.sh WINE_SOURCE_DIR
set -e

src=$1
test -n "$src" && test -f "$src/server/protocol.def" || {
    echo "usage: $0 WINE_SOURCE_DIR" >&2
    exit 2
}
cd "$src"

step() { echo "prepare-wine-source: $*"; }

step "server request markers"
./debian/scripts/generate server/trace.generated make_requests
./debian/scripts/generate server/request.generated make_requests
step "make_unicode (slow: several minutes)"
./tools/make_unicode
step "make_requests"
./tools/make_requests
step "dsound FIR tables"
(cd dlls/dsound && ./make_fir)
step "opengl tables"
(cd dlls/opengl32 && ./make_opengl)
step "vulkan tables"
(cd dlls/winevulkan && ./make_vulkan -x /usr/share/vulkan/registry/vk.xml)
ln -sf /usr/share/misc/config.sub tools
ln -sf /usr/share/misc/config.guess tools
step "svg links"
# The icon sources that debian/rules links into place.
while read -r target link; do
    ln -sf "$target" "$link"
done <<LINKS
../../dlls/user32/resources/oic_hand.svg dlls/display.drv16/oic_hand.svg
../../dlls/user32/resources/oic_bang.svg dlls/comctl32/idi_tt_warn_sm.svg
../../dlls/user32/resources/oic_note.svg dlls/comctl32/idi_tt_info_sm.svg
../../dlls/user32/resources/oic_hand.svg dlls/comctl32/idi_tt_error_sm.svg
../../dlls/shell32/resources/move.svg dlls/comctl32/idi_dragarrow.svg
../../dlls/shell32/resources/image.svg programs/regedit/bin.svg
../../dlls/shell32/resources/folder.svg programs/regedit/folder.svg
../../dlls/shell32/resources/document.svg programs/regedit/string.svg
../../dlls/shell32/resources/mycomputer.svg programs/regedit/computer.svg
../../dlls/shell32/resources/folder_open.svg programs/regedit/folderopen.svg
../../dlls/shell32/resources/window.svg programs/taskmgr/window.svg
../../dlls/shell32/resources/window.svg programs/taskmgr/windowsm.svg
../../dlls/shell32/resources/drive.svg dlls/comdlg32/hdisk.svg
../../dlls/shell32/resources/folder.svg dlls/comdlg32/folder.svg
../../dlls/shell32/resources/network.svg dlls/comdlg32/network.svg
../../dlls/shell32/resources/folder_open.svg dlls/comdlg32/folder2.svg
../../dlls/shell32/resources/disk_drive.svg dlls/comdlg32/floppy.svg
../../dlls/shell32/resources/optical_drive.svg dlls/comdlg32/cdrom.svg
LINKS
step "autoreconf"
autoreconf -f
step "done"
