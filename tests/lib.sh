# Shared helpers for the test scripts; sourced, not run.
#
# The Makefile exports WFP_BUILDDIR, WFP_SRCDIR, WFP_ROOT and
# SYSTEM_WINE_BINDIR.

: "${WFP_BUILDDIR:?run the tests through make}"
RESULTS=$WFP_BUILDDIR/build/results
# WFP_WINE_SERIES=10.0: the suites run over Debian 13's Wine 10.0 in its
# root (tools/wine10.sh made it); their results, logs and prefixes are
# named with "-10.0".  Otherwise over the Wine the tree is configured for.
if test -n "$WFP_WINE_SERIES"; then
    SERIES=-$WFP_WINE_SERIES
    WINE10=$WFP_BUILDDIR/build/wine-$WFP_WINE_SERIES
    WFP_ROOT=$WINE10/root
    WINE_WFP=$WINE10/wine-wfp
    WINESERVER_WFP=$WINE10/wineserver-wfp
    STOCK_WINE=$WINE10/stock-wine64
    STOCK_WINESERVER=$WINE10/stock-wineserver
else
    SERIES=
    WINE_WFP=$WFP_BUILDDIR/wine-wfp
    WINESERVER_WFP=$WFP_BUILDDIR/wineserver-wfp
    STOCK_WINE=$SYSTEM_WINE_BINDIR/wine64
    STOCK_WINESERVER=$SYSTEM_WINE_BINDIR/wineserver
fi
PREFIXES=$WFP_BUILDDIR/build/prefixes$SERIES
# make check-valgrind: servers started with -p run under memcheck
test -z "$WFP_VALGRIND" || WINESERVER_WFP=$WFP_SRCDIR/tests/valgrind-wineserver.sh
export WINEDEBUG=${WINEDEBUG:--all}
# the wineservers the suites start answer wfpstat (IOCTL_AFD_WINE_GET_WFP_STATS)
export WINE_WFP_STATS=1
# no Mono, no Gecko; and no Wayland driver, which Wine 10.0 tries first and
# which says on every start that there is no Wayland session
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=;winewayland.drv=d}

mkdir -p "$RESULTS" "$PREFIXES"
suite_started=$(date +%s)

# record SUITE PASSED FAILED [SKIPPED]: one result file per suite and Wine,
# with the time the suite took
record()
{
    printf 'passed %s\nfailed %s\nskipped %s\nseconds %s\n' "$2" "$3" "${4:-0}" \
        $(( $(date +%s) - suite_started )) > "$RESULTS/$1$SERIES"
}

# series_unavailable: the reason the suites cannot run over this Wine
# here, if there is one (printed)
series_unavailable()
{
    test -n "$SERIES" && test -f "$WINE10/unavailable" && cat "$WINE10/unavailable"
}

# prefix_template stock|wfp: a prefix that wineboot made and no program has
# run in since, made once per 'make check' (the check target removes the
# templates); prints its path.  Copying it is ten times quicker than
# wineboot, and Wine prefixes may be moved or copied.
prefix_template()
{
    _t=$PREFIXES/.template-$1
    if ! test -d "$_t"; then
        rm -rf "$_t.new"
        mkdir -p "$_t.new"
        if test "$1" = stock; then
            WINEPREFIX=$_t.new "$STOCK_WINE" wineboot -i >"$_t.log" 2>&1
            WINEPREFIX=$_t.new "$STOCK_WINESERVER" -w
        else
            WINEPREFIX=$_t.new "$WINE_WFP" wineboot -i >"$_t.log" 2>&1
            WINEPREFIX=$_t.new "$WINESERVER_WFP" -w
        fi
        mv "$_t.new" "$_t"
    fi
    echo "$_t"
}

# A throw-away prefix.  fresh_prefix NAME stock|wfp prints its path.
fresh_prefix()
{
    _p=$PREFIXES/$1
    rm -rf "$_p"
    cp -a "$(prefix_template "$2")" "$_p"
    echo "$_p"
}

# Stop every server this script started, whatever happens.
kill_servers()
{
    for _p in "$PREFIXES"/*/; do
        test -d "$_p" || continue
        WINEPREFIX=${_p%/} "$WINESERVER_WFP" -k 2>/dev/null || true
        WINEPREFIX=${_p%/} "$STOCK_WINESERVER" -k 2>/dev/null || true
    done
}

is_root() { test "$(id -u)" = 0; }

# the Windows path of a Unix path (Wine's Z: drive)
winepath_of() { printf 'Z:%s' "$1" | tr / '\\'; }

# netns_usable: root, ip and nft present, and the kernel lets us make a
# namespace with a NAT rule.  Prints the reason when it cannot.
netns_usable()
{
    if ! is_root; then echo "not running as root (network namespaces and nftables need it)"; return 1; fi
    if test -z "$IP" || test -z "$NFT"; then echo "ip or nft not found (install iproute2 and nftables)"; return 1; fi
    _ns=wfp-probe-$$
    if ! "$IP" netns add "$_ns" 2>/dev/null; then echo "the kernel refused 'ip netns add'"; return 1; fi
    if ! "$IP" netns exec "$_ns" "$NFT" add table ip wfpprobe 2>/dev/null; then
        "$IP" netns del "$_ns"; echo "the kernel refused an nftables table"; return 1
    fi
    "$IP" netns del "$_ns"
    return 0
}

# winetest_counts LOG: prints "executed failures skipped" of a winetest run
winetest_counts()
{
    sed -n 's/.* \([0-9]*\) tests executed ([0-9]* marked as todo, [0-9]* as flaky, \([0-9]*\) failures\{0,1\}), \([0-9]*\) skipped.*/\1 \2 \3/p' "$1" | tail -n 1
}

# The redirect that the conformance tests and the benchmarks use: in a
# network namespace of their own, TCP connections and UDP flows to
# 127.0.0.2:8080 and [::1]:8080 go to port 18080, as a transparent
# proxy's rule sends them, unless the socket has the default mark of a
# netfilter service (0x1000), which SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS
# (or WSASendMsg with the records) gives a proxy's outbound socket.
REDIRECT_SPEC="127.0.0.2 ::1 8080 18080"

# redirect_netns NAME: make the namespace (the caller deletes it)
redirect_netns()
{
    "$IP" netns add "$1" || return 1
    "$IP" -n "$1" link set lo up
    "$IP" netns exec "$1" "$NFT" -f - <<RULES
table ip wfp_test {
    chain output {
        type nat hook output priority -100;
        ip daddr 127.0.0.2 tcp dport 8080 meta mark & 0x1000 == 0 redirect to :18080
        ip daddr 127.0.0.2 udp dport 8080 meta mark & 0x1000 == 0 redirect to :18080
    }
}
table ip6 wfp_test {
    chain output {
        type nat hook output priority -100;
        ip6 daddr ::1 tcp dport 8080 meta mark & 0x1000 == 0 redirect to :18080
        ip6 daddr ::1 udp dport 8080 meta mark & 0x1000 == 0 redirect to :18080
    }
}
RULES
}
