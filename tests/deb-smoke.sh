#!/bin/sh
# make check-deb: install the package, run one proxy scenario with the
# installed wine-wfp (an in-Wine rule, wfpproxy, a client and an origin
# server), then remove the package and check that nothing is left.
#
# usage: deb-smoke.sh DEB_DIR
. "$WFP_SRCDIR/tests/lib.sh"

deb=$(ls "$1"/wine-wfp_*_amd64.deb 2>/dev/null | head -n 1)
test -n "$deb" || { echo "check-deb: no package in $1 (make deb)"; exit 1; }
if ! is_root; then
    echo "check-deb: skipped: installing a package needs root"
    exit 0
fi
E2E=$WFP_BUILDDIR/build/e2e
LOGS=$WFP_BUILDDIR/build/deb/smoke
rm -rf "$LOGS"; mkdir -p "$LOGS"
fail=0
ok()  { echo "check-deb: ok: $*"; }
bad() { echo "check-deb: FAILED: $*"; fail=1; }

if dpkg -s wine-wfp >/dev/null 2>&1; then
    echo "check-deb: wine-wfp is installed already; not touching it"
    exit 1
fi
dpkg -i "$deb" >"$LOGS/dpkg-install.log" 2>&1 || { cat "$LOGS/dpkg-install.log"; echo "check-deb: FAILED: dpkg -i"; exit 1; }
ok "installed $(basename "$deb")"

export WINEPREFIX=$PREFIXES/deb
rm -rf "$WINEPREFIX"
trap 'wineserver-wfp -k 2>/dev/null; dpkg -r wine-wfp >/dev/null 2>&1' EXIT
wine-wfp wineboot -i >"$LOGS/wineboot.log" 2>&1
wineserver-wfp -w
wineserver-wfp -p
wine-wfp wfprules add 10-deb tcp 127.0.0.3:47381 -\> 127.0.0.1:47311 >"$LOGS/rules.log" 2>&1
server=$(readlink "/proc/$(wine-wfp --server-pid)/exe")
case "$server" in
    /usr/lib/wine-wfp/*) ok "the prefix is served by the installed wineserver ($server)" ;;
    *) bad "the prefix is served by '$server'" ;;
esac

wine-wfp "$E2E/origin.exe" 127.0.0.3:47381 >"$LOGS/origin.log" 2>&1 &
wine-wfp wfpproxy --name deb-p1 --quiet 47311 >"$LOGS/proxy.log" 2>&1 &
for i in $(seq 300); do
    grep -q listening "$LOGS/origin.log" 2>/dev/null && grep -q listening "$LOGS/proxy.log" 2>/dev/null && break
    sleep 0.1
done
if wine-wfp "$E2E/client.exe" 127.0.0.3:47381 --expect rule:47311 --count 20 >"$LOGS/client.log" 2>&1; then
    ok "installed wine-wfp, wfprules and wfpproxy: $(tail -n 1 "$LOGS/client.log")"
else
    bad "the proxy scenario: $(tail -n 5 "$LOGS/client.log" | tr '\n' ' ')"
fi
for page in wine-wfp wineserver-wfp wfprules; do
    test -f "/usr/share/man/man1/$page.1.gz" || bad "no man page for $page"
done
wineserver-wfp -k

dpkg -r wine-wfp >"$LOGS/dpkg-remove.log" 2>&1 || bad "dpkg -r"
if test -e /usr/bin/wine-wfp || test -e /usr/lib/wine-wfp; then
    bad "files are left after dpkg -r"
else
    ok "removed; no file left"
fi
trap - EXIT
test $fail = 0 && echo "check-deb: ok"
exit $fail
