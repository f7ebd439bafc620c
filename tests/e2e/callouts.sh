# End-to-end tests of WFP callout drivers, sourced by run.sh: the sample
# driver wfpcallout.sys, installed and started with sc as a product installs
# its driver, redirects a client's connect() to wfpproxy, which asks for
# the records and the context the driver set and connects on with SET, so
# that the driver leaves its connection alone.  Two instances of the driver
# (two vendors, two sublayers) chain two proxies; stopping a driver stops
# its redirection.  No root is needed.

echo "e2e: WFP callout drivers (wfpcallout.sys)"
# fwpkclnt.sys's errors, in the log of the command that started services.exe
# (sc.log), whose environment winedevice gets
saved_winedebug=$WINEDEBUG
test "$WINEDEBUG" != -all || WINEDEBUG=-all,err+fwpkclnt
prefix=$(fresh_prefix e2e-callout wfp)
WINEPREFIX=$prefix "$WINESERVER_WFP" -p >/dev/null 2>"$LOGS/wineserver-callout.log"

install_driver wfpc1 101 4096
if ctl wfpc1 info; then
    ok "the sample driver, which imports fwpkclnt.sys, starts in winedevice and answers its device"
else
    bad "the sample driver did not start: $(tail -n 5 "$LOGS/sc.log" "$LOGS/wfpcalloutctl.log" | tr '\n' ' ')"
fi

start callout-origin.log "$E2E/origin.exe" 127.0.0.3:27581 [::1]:27581
rm -f "$LOGS/callout-context.hex"
start callout-p1.log "$PROGRAMS/wfpproxy.exe" --name e2e-callout-p1 \
    --dump-context "$(winepath_of "$LOGS/callout-context.hex")" 27511
wait_for callout-origin.log listening && wait_for callout-p1.log listening ||
    bad "callout: the origin or the proxy did not start"
# as a product's service does, the proxy's process id goes to the driver
# with the rule (localRedirectTargetPID, which a loopback redirect needs)
p1=$(proxy_pid callout-p1.log)
ctl wfpc1 add 127.0.0.3:27581 127.0.0.1:27511 pid=$p1
ctl wfpc1 add "[::1]:27581" "[::1]:27511" pid=$p1

client "callout, one proxy, IPv4" 127.0.0.3:27581 --expect callout:101 --count 20
client "callout, one proxy, IPv6" [::1]:27581 --expect callout:101 --count 20
# the context wfpproxy read is the bytes the driver set: two
# SOCKADDR_STORAGE, the original destination first (wfpproxy connects
# there), and the driver's mark "wfpc" and instance 101 in the second's
# padding
contexts=$(grep -c . "$LOGS/callout-context.hex" 2>/dev/null)
marked=$(tr -d '\r' <"$LOGS/callout-context.hex" 2>/dev/null | grep -c "^.\{496\}7766706365000000$")
if [ "${contexts:-0}" = 40 ] && [ "$marked" = 40 ]; then
    ok "callout: QUERY_CONTEXT gave wfpproxy the 256 bytes the driver set, for all 40 connections"
else
    bad "callout: of ${contexts:-0} contexts wfpproxy read, ${marked:-0} are the driver's"
fi

# a second vendor: its own driver, sublayer and proxy; it redirects what
# the first one's proxy connects to
install_driver wfpc2 102 2048
start callout-p2.log "$PROGRAMS/wfpproxy.exe" --name e2e-callout-p2 --quiet 27512
wait_for callout-p2.log listening || true
p2=$(proxy_pid callout-p2.log)
ctl wfpc2 add 127.0.0.3:27581 127.0.0.1:27512 pid=$p2
ctl wfpc2 add "[::1]:27581" "[::1]:27512" pid=$p2
client "callout, two drivers and two proxies, IPv4" 127.0.0.3:27581 --expect callout:101,callout:102 --count 20
client "callout, two drivers and two proxies, IPv6" [::1]:27581 --expect callout:101,callout:102 --count 20
client "callout, two drivers, 200 concurrent" 127.0.0.3:27581 --expect callout:101,callout:102 --count 200 \
    --parallel 200 --size 20000
ctl wfpc1 info; ctl wfpc2 info
echo "e2e: $(tail -n 2 "$LOGS/wfpcalloutctl.log" | tr '\n' ' ')"

# a driver that misbehaves: a bad family, a 16 MB context, a context at a
# wild address, a classifyFn that crashes, a classification pended and
# never completed.  The connection goes on unredirected each time (the
# pended one after the wineserver's 5 s), and everything survives.
install_driver wfpc3 103 1024
start callout-hostile.log "$E2E/origin.exe" 127.0.0.3:27591 127.0.0.3:27592 127.0.0.3:27593 127.0.0.3:27594 \
    127.0.0.3:27595 127.0.0.3:27596 127.0.0.3:27597 127.0.0.3:27598
wait_for callout-hostile.log listening || true
port=27591
for kind in family context pointer crash pend; do
    ctl wfpc3 add 127.0.0.3:$port 127.0.0.1:27511 pid=$p1 hostile=$kind
    client "callout, a driver whose callout gives $kind: not redirected" 127.0.0.3:$port --expect none --count 1
    port=$((port + 1))
done
if grep -q "a WFP callout did not classify a connection within 5000 ms; the connection goes on unredirected" \
       "$LOGS/wineserver-callout.log"; then
    ok "callout: the wineserver says once that a callout did not answer in time"
else
    bad "callout: the wineserver did not say that a callout did not answer: $(tail -n 3 "$LOGS/wineserver-callout.log")"
fi
client "callout, after the misbehaving driver: still two proxies" 127.0.0.3:27581 --expect callout:101,callout:102 \
    --count 20
wfp sc stop wfpc3 >>"$LOGS/sc.log" 2>&1

# a redirection to a loopback address without localRedirectTargetPID is
# not accepted (FWPS_CONNECT_REQUEST0's page): the connect() is blocked
ctl wfpc1 add 127.0.0.3:27597 127.0.0.1:27511
wfp "$E2E/client.exe" 127.0.0.3:27597 --count 1 >"$LOGS/client-callout-no-target.log" 2>&1
if grep -q "connect failed: 10013" "$LOGS/client-callout-no-target.log" &&
   grep -q "redirected a connection to a loopback address without localRedirectTargetPID" \
       "$LOGS/wineserver-callout.log"; then
    ok "callout: a redirection to loopback without localRedirectTargetPID: connect() fails with WSAEACCES"
else
    bad "callout: a redirection to loopback without localRedirectTargetPID: $(tail -n 2 \
        "$LOGS/client-callout-no-target.log" | tr '\n' ' ')"
fi

# a driver that is unloaded with its callouts registered and its filters
# in place, a callout filter and a plain one that blocks port 27598:
# fwpkclnt.sys deletes the filters and unregisters the callouts, so that
# connections go on unredirected and unblocked, and no filter calls code
# that is gone (which would end in the crash handler)
install_driver wfpc4 104 512 LeakOnUnload=27598
ctl wfpc4 add 127.0.0.3:27596 127.0.0.1:27511 pid=$p1
client "callout, a driver that will not clean up" 127.0.0.3:27596 --expect callout:104 --count 5
wfp "$E2E/client.exe" 127.0.0.3:27598 --count 1 >"$LOGS/client-callout-leak-block.log" 2>&1
grep -q "connect failed: 10013" "$LOGS/client-callout-leak-block.log" &&
    ok "callout: that driver's plain filter blocks port 27598: WSAEACCES" ||
    bad "callout: that driver's plain filter did not block: $(tail -n 1 "$LOGS/client-callout-leak-block.log")"
crashes=$(grep -c "crashed" "$LOGS/sc.log")
wfp sc stop wfpc4 >>"$LOGS/sc.log" 2>&1
sleep 1
client "callout, that driver unloaded: not redirected" 127.0.0.3:27596 --expect none --count 5
client "callout, that driver unloaded: not blocked" 127.0.0.3:27598 --expect none --count 5
dropped=$(grep -c "a driver was unloaded with 2 filter(s) and 2 registered callout(s) in place; deleting them" \
          "$LOGS/sc.log")
if [ "$dropped" = 1 ] && [ "$(grep -c "crashed" "$LOGS/sc.log")" = "$crashes" ]; then
    ok "callout: a driver unloaded without cleaning up leaves no callout or filter behind"
else
    bad "callout: after a driver unloaded without cleaning up: said so $dropped times, crashes $crashes -> $(grep -c "crashed" "$LOGS/sc.log"): $(grep fwpkclnt "$LOGS/sc.log" | tail -n 3 | tr '\n' ' ')"
fi

# unloading a driver takes its filters with it
wfp sc stop wfpc2 >>"$LOGS/sc.log" 2>&1
sleep 1
client "callout, the second driver stopped" 127.0.0.3:27581 --expect callout:101 --count 20
wfp sc stop wfpc1 >>"$LOGS/sc.log" 2>&1
sleep 1
client "callout, both drivers stopped: not redirected" 127.0.0.3:27581 --expect none --count 20

pkill -f 'wfpproxy.exe --name e2e-callout' 2>/dev/null
WINEPREFIX=$prefix "$WINESERVER_WFP" -k
WINEDEBUG=$saved_winedebug
