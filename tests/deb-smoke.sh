#!/bin/sh
# make check-deb: install the package, run one proxy scenario with the
# installed wine-wfp (an in-Wine rule, wfpproxy, a client and an origin
# server, 20 connections), then remove the package and check that nothing
# is left.  With WFP_WINE_SERIES=10.0, Debian 13's package, inside the
# Debian 13 root ('make wine10').
#
# usage: deb-smoke.sh DEB_DIR
. "$WFP_SRCDIR/tests/lib.sh"

if test -n "$SERIES"; then
    name="check-deb (Debian 13)"
    deb=$(ls "$1"/wine-wfp_*~deb13u1_amd64.deb 2>/dev/null | head -n 1)
    # every command of the scenario runs inside the root
    IN=$WINE10/in-root
else
    name="check-deb (Debian 12)"
    deb=$(ls "$1"/wine-wfp_*_amd64.deb 2>/dev/null | grep -v '~deb13' | head -n 1)
    IN=""
fi
if ! is_root; then
    echo "$name: skipped: installing a package needs root"
    exit 0
fi
if reason=$(series_unavailable); then
    echo "$name: skipped: $reason"
    exit 0
fi
test -n "$deb" || { echo "$name: no package in $1 (make deb)"; exit 1; }
E2E=$WFP_BUILDDIR/build/e2e
LOGS=$WFP_BUILDDIR/build/deb/smoke$SERIES
rm -rf "$LOGS"; mkdir -p "$LOGS"
fail=0
ok()  { echo "$name: ok: $*"; }
bad() { echo "$name: FAILED: $*"; fail=1; }

if $IN dpkg -s wine-wfp >/dev/null 2>&1; then
    echo "$name: wine-wfp is installed already; not touching it"
    exit 1
fi
$IN dpkg -i "$deb" >"$LOGS/dpkg-install.log" 2>&1 || { cat "$LOGS/dpkg-install.log"; echo "$name: FAILED: dpkg -i"; exit 1; }
ok "installed $(basename "$deb")"

export WINEPREFIX=$PREFIXES/deb
rm -rf "$WINEPREFIX"
trap '$IN wineserver-wfp -k 2>/dev/null; $IN dpkg -r wine-wfp >/dev/null 2>&1' EXIT
$IN wine-wfp wineboot -i >"$LOGS/wineboot.log" 2>&1
$IN wineserver-wfp -w
$IN wineserver-wfp -p
$IN wine-wfp wfprules add 10-deb tcp 127.0.0.3:47381 -\> 127.0.0.1:47311 >"$LOGS/rules.log" 2>&1
server=$($IN sh -c 'readlink "/proc/$(wine-wfp --server-pid)/exe"')
case "$server" in
    /usr/lib/wine-wfp/*) ok "the prefix is served by the installed wineserver ($server; $($IN wine-wfp --version))" ;;
    *) bad "the prefix is served by '$server'" ;;
esac

$IN wine-wfp "$E2E/origin.exe" 127.0.0.3:47381 >"$LOGS/origin.log" 2>&1 &
$IN wine-wfp wfpproxy --name deb-p1 --quiet 47311 >"$LOGS/proxy.log" 2>&1 &
for i in $(seq 300); do
    grep -q listening "$LOGS/origin.log" 2>/dev/null && grep -q listening "$LOGS/proxy.log" 2>/dev/null && break
    sleep 0.1
done
if $IN wine-wfp "$E2E/client.exe" 127.0.0.3:47381 --expect rule:47311 --count 20 >"$LOGS/client.log" 2>&1; then
    ok "installed wine-wfp, wfprules and wfpproxy: $(tail -n 1 "$LOGS/client.log")"
else
    bad "the proxy scenario: $(tail -n 5 "$LOGS/client.log" | tr '\n' ' ')"
fi
for page in wine-wfp wineserver-wfp wfprules; do
    $IN test -f "/usr/share/man/man1/$page.1.gz" || bad "no man page for $page"
done
# our modules are files of the package, not links to the installed Wine
# (which has no fwpkclnt.sys, the library WFP callout drivers import)
missing=""
for m in ws2_32.dll mswsock.dll fwpkclnt.sys; do
    f=/usr/lib/wine-wfp/lib/x86_64-linux-gnu/wine/x86_64-windows/$m
    $IN test -f "$f" && ! $IN test -L "$f" || missing="$missing $m"
done
if test -z "$missing"; then
    ok "the package's root has its own ws2_32.dll, mswsock.dll and fwpkclnt.sys"
else
    bad "the package's root has no$missing of its own"
fi
$IN wineserver-wfp -k

$IN dpkg -r wine-wfp >"$LOGS/dpkg-remove.log" 2>&1 || bad "dpkg -r"
if $IN test -e /usr/bin/wine-wfp || $IN test -e /usr/lib/wine-wfp || $IN test -e /usr/share/doc/wine-wfp; then
    bad "files are left after dpkg -r"
else
    ok "removed; no file left"
fi
trap - EXIT
test $fail = 0 && echo "$name: ok"
exit $fail
