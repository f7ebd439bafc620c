#!/bin/sh
# The corpus: Windows proxies written the way public clients are, end to
# end under wine-wfp.
#
# Each program in tests/corpus follows one public client's calls (its
# header names the source) or one architecture that real proxies use.  A
# case starts it, an origin (tests/e2e/origin.exe) where it proxies, and
# sends one connection, then 200 concurrent connections of 20000 bytes
# over IPv4 and, where the client has IPv6, 200 more over IPv6 at the same
# time (tests/e2e/client.exe).  It asserts:
#   - every connection's bytes came back exactly, and the origin saw
#     exactly the hops the connection took (client.exe --expect);
#   - what the program logged of each WFP call: results, errors, sizes;
#   - afterwards, the same wineserver still answers and its tables are
#     empty again.
# Every case runs under in-Wine rules (no root needed), followed by the
# reproducer of issue 11's wineserver crash; then with the sample callout
# driver as the redirector, as a product's driver redirects (no root
# needed either); last under nftables in a network namespace of its own
# (root only).
#
# CORPUS_CASES="envoy arch-blocking repro ..." runs only the cases named,
# CORPUS_MODES="rules driver nft" only the modes named.
. "$WFP_SRCDIR/tests/lib.sh"

SUITE=corpus
LOGS=$WFP_BUILDDIR/build/corpus/logs$SERIES
. "$WFP_SRCDIR/tests/e2e/common.sh"
CORPUS=$WFP_BUILDDIR/build/corpus
suite_start=$(date +%s)
kernel_lines=$(dmesg 2>/dev/null | wc -l)

# Under memcheck everything is slower.
LIMIT=120
test -z "$WFP_VALGRIND" || LIMIT=600

# The Windows programs of the running case, by pid: only these are stopped.
started=""
prefix=""
cleanup()
{
    for pid in $started; do kill "$pid" 2>/dev/null; done
    test -z "$prefix" || WINEPREFIX=$prefix "$WINESERVER_WFP" -k 2>/dev/null
    test -z "$ns" || "$IP" netns del "$ns" 2>/dev/null
}
trap cleanup EXIT

# ---- helpers -------------------------------------------------------------------

# A wineserver that crashes says so and aborts: let it leave a core in its
# directory (core_pattern permitting), for a backtrace.
ulimit -c unlimited 2>/dev/null

# the pid of the prefix's wineserver (under memcheck: of valgrind), found by
# its working directory, server-DEV-INODE, as the launcher finds it
server_pid()
{
    _name=$(stat -L -c '%d %i' "$prefix" 2>/dev/null) || return 0
    _name=$(printf 'server-%x-%x' ${_name})
    for _d in /proc/[0-9]*; do
        case "$(readlink "$_d/cwd" 2>/dev/null)" in */"$_name") ;; *) continue ;; esac
        case "$(readlink "$_d/exe" 2>/dev/null)" in
            *wineserver*|*memcheck*|*valgrind*) echo "${_d#/proc/}"; return 0 ;;
        esac
    done
}

# start_server: the prefix's persistent wineserver, in $IN_NS, its stderr in
# wineserver-MODE.log; then the rules and services of the mode, and its
# callout drivers
start_server()
{
    server_log_lines=$(cat "$LOGS/wineserver-$MODE.log" 2>/dev/null | wc -l)
    WINEPREFIX=$prefix $IN_NS "$WINESERVER_WFP" -p >/dev/null 2>>"$LOGS/wineserver-$MODE.log"
    for _i in $(seq 50); do server=$(server_pid); test -n "$server" && break; sleep 0.2; done
    server_dir=$(readlink "/proc/$server/cwd" 2>/dev/null)
    wfp reg import "$(winepath_of "$LOGS/rules-$MODE.reg")" >>"$LOGS/reg.log" 2>&1
    test "$MODE" != driver || start_drivers
    echo "corpus: $MODE: wineserver pid ${server:-none}"
}

# stop_server: the prefix's wineserver, and wait until it has gone
stop_server()
{
    WINEPREFIX=$prefix "$WINESERVER_WFP" -k 2>/dev/null
    for _i in $(seq 50); do test -z "$(server_pid)" && return 0; sleep 0.2; done
}

# same_server WHAT: the wineserver that served the mode so far still runs
# and answers; if it died, say how, and start another for what follows
same_server()
{
    now=$(server_pid)
    _answer=""; _status=none
    if test -n "$now" && test "$now" = "$server"; then
        _answer=$(wfp "$E2E/wfpstat.exe" 2>&1)
        _status=$?
        now=$(server_pid)
        test "$_status" = 0 && test "$now" = "$server" && return 0
    fi
    _said=$(tail -n +$((server_log_lines + 1)) "$LOGS/wineserver-$MODE.log" | sort | uniq -c | sed 's/^ *//' | tr '\n' ' ')
    if test -n "$server" && kill -0 "$server" 2>/dev/null; then
        bad "$1: the wineserver (pid $server) runs, but wfpstat got no answer (status $_status, server found: ${now:-none}): $(echo "$_answer" | tail -n 2 | tr '\n' ' ')"
    else
        bad "$1: the wineserver (pid $server) died; it said: ${_said:-nothing}"
    fi
    # the kernel's line about that very process, if it wrote one
    _kernel=$(dmesg 2>/dev/null | tail -n +$((kernel_lines + 1)) | grep -F "[$server]" | tail -n 2)
    test -z "$_kernel" || echo "$SUITE:     kernel: $_kernel"
    kernel_lines=$(dmesg 2>/dev/null | wc -l)
    # where it crashed, from its core
    _core=$(ls -t "$server_dir"/core* 2>/dev/null | head -n 1)
    if test -n "$_core" && command -v gdb >/dev/null; then
        gdb -batch -ex "bt 10" "$WFP_ROOT/lib/wine/wineserver64" "$_core" 2>/dev/null | grep '^#' | uniq |
            sed "s/^/$SUITE:     /" | tee -a "$LOGS/wineserver-$MODE-backtraces.log"
        rm -f "$_core"
    fi
    echo "$SUITE: (the programs of the prefix died with it; starting another wineserver for the rest)"
    stop_server
    start_server
}

# case_begin NAME: what the case starts is stopped by case_end
case_begin()
{
    CASE=$1
    case_pids=""
    echo "corpus: $MODE: $CASE"
}

# The logs of a mode are named MODE-LOG.

# bg LOG COMMAND...: a Windows program in the background, for this case
bg()
{
    _log=$1; shift
    start "$MODE-$_log" "$@"
    case_pids="$case_pids $!"
    started="$started $!"
}

# ready LOG...: each program said it is listening
ready()
{
    for _log; do
        wait_for "$MODE-$_log" listening ||
            { bad "$MODE, $CASE: $_log: the program did not start: $(tail -n 3 "$LOGS/$MODE-$_log")"; return 1; }
    done
}

# origin LOG PORT: an origin on the destination addresses of the mode
origin()
{
    bg "$1" "$E2E/origin.exe" "$V4:$2" "[::1]:$2"
}

# the corpus and e2e programs still running in the prefix: those the case
# did not start itself (a proxy's worker processes), once their parent
# has gone; all of them are this script's
leftovers()
{
    for _d in /proc/[0-9]*; do
        { tr '\0' '\n' <"$_d/environ"; } 2>/dev/null | grep -q -x -F "WINEPREFIX=$prefix" || continue
        case "$({ tr '\0' ' ' <"$_d/cmdline"; } 2>/dev/null)" in
            */build/corpus/*|*/build/e2e/*|*'\build\corpus\'*|*'\build\e2e\'*) echo "${_d#/proc/}" ;;
        esac
    done
}

case_end()
{
    for _pid in $case_pids; do kill "$_pid" 2>/dev/null; done
    for _pid in $case_pids; do wait "$_pid" 2>/dev/null; done
    # reaped: their pids may be someone else's from now on
    started=""
    # worker processes go by themselves when their parent's pipe closes,
    # unless the wineserver died under them
    for _i in $(seq 10); do test -z "$(leftovers)" && break; sleep 0.2; done
    for _pid in $(leftovers); do kill -9 "$_pid" 2>/dev/null; done
    same_server "$MODE, $CASE" && wait_empty "$MODE, $CASE"
}

# run_client LOG EXE ARGS...: one client, bounded in time; its status
run_client()
{
    _log=$1; shift
    WINEPREFIX=$prefix $IN_NS timeout -k 5 $LIMIT "$WINE_WFP" "$@" >"$LOGS/$MODE-$_log" 2>&1
}

# judge LOG STATUS WHAT: a client run, by its exit status and its last
# line, which must say that every connection was ok
judge()
{
    if test "$2" = 0 && tail -n 1 "$LOGS/$MODE-$1" | tr -d '\r' | grep -q -E "(^| )([0-9]+) connections, \2 ok, 0 failed"; then
        ok "$MODE, $CASE, $3: $(tail -n 1 "$LOGS/$MODE-$1" | tr -d '\r' | sed 's/^\[[a-z]*\] //; s/^client: //')"
    else
        bad "$MODE, $CASE, $3 (status $2): $(tail -n 4 "$LOGS/$MODE-$1" | tr -d '\r' | tr '\n' ' ')"
    fi
}

# load TAG FAMILIES EXE ARGS-BEFORE-TARGET -- ARGS-AFTER-TARGET: one
# connection over IPv4 first, so that the listener has a queried connection
# behind it; then 200 concurrent over each family at the same time
# (FAMILIES: "4" or "4 6").  The target is $V4:$DPORT or [::1]:$DPORT.
load()
{
    _tag=$1; _families=$2; _exe=$3; shift 3
    run_client "$_tag-first.log" "$_exe" "$V4:$DPORT" --count 1 "$@"
    judge "$_tag-first.log" $? "one connection first, IPv4"
    _pids=""
    for _f in $_families; do
        if test "$_f" = 4; then _t="$V4:$DPORT"; else _t="[::1]:$DPORT"; fi
        # a simple command, so that $! is timeout's own pid
        WINEPREFIX=$prefix $IN_NS timeout -k 5 $LIMIT "$WINE_WFP" "$_exe" "$_t" --count 200 --parallel 200 "$@" \
            >"$LOGS/$MODE-$_tag-ipv$_f.log" 2>&1 &
        _pids="$_pids $!"
    done
    # if the wineserver dies, its clients may hang: stop them
    while :; do
        _alive=""
        for _pid in $_pids; do kill -0 "$_pid" 2>/dev/null && _alive=1; done
        test -n "$_alive" || break
        if ! kill -0 "$server" 2>/dev/null; then
            for _pid in $_pids; do kill "$_pid" 2>/dev/null; done
            break
        fi
        sleep 0.2
    done
    _i=0
    for _pid in $_pids; do
        wait "$_pid"; _status=$?
        _i=$((_i + 1))
        _f=$(echo $_families | cut -d' ' -f$_i)
        judge "$_tag-ipv$_f.log" $_status "200 concurrent, IPv$_f"
    done
}

# proxied FAMILIES EXPECT: client.exe through the case's proxies, 20000 bytes each
proxied()
{
    load "$CASE" "$1" "$E2E/client.exe" --size 20000 --expect "$2"
}

# lines LOG COUNT PATTERN WHAT: exactly COUNT lines of the log match
lines()
{
    # Windows programs end their lines with CR LF
    _n=$(tr -d '\r' <"$LOGS/$MODE-$1" | grep -c -E -- "$3")
    if test "$_n" = "$2"; then
        ok "$MODE, $CASE: $4 ($_n times)"
    elif test "$_n" -gt "$2"; then
        bad "$MODE, $CASE: $4: $_n times, not $2: $(tr -d '\r' <"$LOGS/$MODE-$1" | grep -E -- "$3" | head -n 2 | tr '\n' ' ')"
    else
        bad "$MODE, $CASE: $4: $_n times, not $2; other lines: $(tr -d '\r' <"$LOGS/$MODE-$1" | grep -v -E -- "$3" |
            grep -v listening | head -n 2 | tr '\n' ' ')"
    fi
}

# direct LOG PORT COUNT: connections straight to a proxy, not redirected;
# the proxy closes them, so the client fails
direct()
{
    run_client "$1" "$E2E/client.exe" "127.0.0.1:$2" --count "$3" --size 100
}

# redirect LOG DPORT PROXY-PORT [DRIVER]: with the callout drivers, what a
# product's service does once its proxy runs: give the driver (corpusc1
# unless named) the case's destination, IPv4 and IPv6, and the proxy's
# process id, from its listening line (localRedirectTargetPID, which a
# redirection to loopback needs; the driver also leaves that process's own
# connections alone).  The other modes have their redirection in place.
redirect()
{
    test "$MODE" = driver || return 0
    _pid=$(tr -d '\r' <"$LOGS/$MODE-$1" | sed -n 's/^.*listening (process \([0-9]*\))$/\1/p' | head -n 1)
    ctl "${4:-corpusc1}" add $V4:$2 127.0.0.1:$3 pid=$_pid
    ctl "${4:-corpusc1}" add "[::1]:$2" "[::1]:$3" pid=$_pid
}

# ---- the cases ---------------------------------------------------------------------
# Case N listens on 476NN (a chain's second proxy on 476NN + 50) and proxies
# to the origin on 477NN.

case_envoy()
{
    case_begin envoy
    DPORT=47701
    origin envoy-origin.log $DPORT
    bg envoy.log "$CORPUS/envoy.exe" --name envoy 47601
    ready envoy-origin.log envoy.log || { case_end; return; }
    redirect envoy.log $DPORT 47601
    proxied "4 6" "$(hop 47601)"
    lines envoy.log 201 "getsockopt\(SOL_IP, SO_ORIGINAL_DST\) = 0, 16 bytes: $V4:$DPORT$" \
        "IPv4: getsockopt(SOL_IP = 0xfffb, SO_ORIGINAL_DST = 0x300f) gives the original destination, 16 bytes"
    lines envoy.log 200 "getsockopt\(SOL_IPV6, SO_ORIGINAL_DST\) = 0, 28 bytes: \[::1\]:$DPORT$" \
        "IPv6: getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST) gives the original destination, 28 bytes"
    lines envoy.log 401 "records = 0, [0-9]+ bytes$" "QUERY_RECORDS into 2048 bytes succeeds"
    lines envoy.log 401 "upstream: SET = 0; connected" "SET before connect succeeds on the upstream socket"
    direct envoy-direct.log 47601 3
    lines envoy.log 3 "SO_ORIGINAL_DST\) = error 10022: not redirected" \
        "a connection that was not redirected: SO_ORIGINAL_DST fails with WSAEINVAL, so Envoy serves it itself"
    case_end
}

case_wfpsampler()
{
    case_begin wfpsampler
    DPORT=47702
    origin wfpsampler-origin.log $DPORT
    bg wfpsampler.log "$CORPUS/wfpsampler.exe" --name wfpsampler 47602
    ready wfpsampler-origin.log wfpsampler.log || { case_end; return; }
    redirect wfpsampler.log $DPORT 47602
    proxied "4 6" "$(hop 47602)"
    lines wfpsampler.log 401 "records = 0, [0-9]+ bytes; context = 0, 256 bytes; SET = 0, 0 bytes; destination" \
        "QUERY_RECORDS into 8192, QUERY_CONTEXT into exactly 256 (256 bytes back), SET with 0 bytes returned"
    lines wfpsampler.log 401 "\(the peer\)$" "the context's second SOCKADDR_STORAGE is the original source"
    lines wfpsampler.log 401 "relayed 20000/[0-9]+ bytes" "bind and WSAConnect with a 128-byte name length"
    direct wfpsampler-direct.log 47602 3
    lines wfpsampler.log 3 "records = error 0x2726, 0 bytes; closing" \
        "a connection that was not redirected: QUERY_RECORDS fails with WSAEINVAL and 0 bytes"
    case_end
}

case_wfpsampler_no_context()
{
    case_begin wfpsampler-context-none
    DPORT=47703
    origin wfpsampler-none-origin.log $DPORT
    bg wfpsampler-none.log "$CORPUS/wfpsampler.exe" --name wfpsampler-none 47603
    ready wfpsampler-none-origin.log wfpsampler-none.log || { case_end; return; }
    proxied "4 6" "rule:47603"
    lines wfpsampler-none.log 401 "context = error 0x80320008, 0 bytes, tolerated; SET = 0, 0 bytes; SO_ORIGINAL_DST" \
        "a rule with context=none: QUERY_CONTEXT fails with FWP_E_NOT_FOUND, which the helper tolerates"
    case_end
}

case_rama()
{
    case_begin rama
    DPORT=47704
    origin rama-origin.log $DPORT
    bg rama.log "$CORPUS/rama.exe" --name rama 47604
    ready rama-origin.log rama.log || { case_end; return; }
    redirect rama.log $DPORT 47604
    # rama sets no records: the origin sees none on the proxy's leg
    proxied "4 6" none
    lines rama.log 401 "context\(128\) = error 10014, 256 bytes; context\(256\) = 0, 256 bytes; target" \
        "QUERY_CONTEXT into 128 bytes: WSAEFAULT and 256; the retry with 256 succeeds"
    direct rama-direct.log 47604 3
    lines rama.log 3 "context\(128\) = error 10022, 0 bytes: no WFP redirect context; missing" \
        "a connection that was not redirected: WSAEINVAL and 0 bytes, which rama takes for no context"
    case_end
}

case_ebpf()
{
    case_begin ebpf-listener
    DPORT=47705
    bg ebpf.log "$CORPUS/ebpf_listener.exe" --name ebpf 47605
    ready ebpf.log || { case_end; return; }
    redirect ebpf.log $DPORT 47605
    load "$CASE" "4 6" "$CORPUS/ebpf_listener.exe" --client --expect ServerResponseMessage47605
    lines ebpf.log 401 "query_redirect_context\(128\) = -1, error 10014, 256 bytes$" \
        "AcceptEx, then QUERY_CONTEXT into 128 bytes: WSAEFAULT with 256 in *lpcbBytesReturned, so the generic reply"
    run_client ebpf-direct.log "$CORPUS/ebpf_listener.exe" --client 127.0.0.1:47605 --count 3 \
        --expect ServerResponseMessage47605
    judge ebpf-direct.log $? "3 connections not redirected"
    lines ebpf.log 3 "query_redirect_context\(128\) = -1, error 10022, 0 bytes$" \
        "a connection that was not redirected: QUERY_CONTEXT fails with WSAEINVAL and 0 bytes"
    case_end
}

case_iocp()
{
    case_begin iocp-proxy
    DPORT=47706
    origin iocp-origin.log $DPORT
    bg iocp.log "$CORPUS/iocp_proxy.exe" --name iocp 47606
    ready iocp-origin.log iocp.log || { case_end; return; }
    redirect iocp.log $DPORT 47606
    proxied 4 "$(hop 47606)"
    lines iocp.log 201 "records = 0, [0-9]+ bytes; context = 0, 256 bytes; SET = 0; WSAConnect\(128\) = 0: $V4:$DPORT$" \
        "WSAAccept, QUERY_RECORDS into 2048, QUERY_CONTEXT into 256, SET, WSAConnect with a 128-byte name"
    lines iocp.log 201 "Redirect record size mismatch. [0-9]+ and 0$" "SET returns 0 bytes (the proxy only logs it)"
    lines iocp.log 201 "done, relayed 20000/" "relayed through a completion port"
    case_end
}

case_overlapped()
{
    case_begin overlapped
    DPORT=47707
    origin overlapped-origin.log $DPORT
    bg overlapped.log "$CORPUS/overlapped.exe" --name overlapped 47607
    ready overlapped-origin.log overlapped.log || { case_end; return; }
    redirect overlapped.log $DPORT 47607
    proxied "4 6" "$(hop 47607)"
    lines overlapped.log 401 "records (at once|pending): 0, [0-9]+ bytes; context (at once|pending): 0, 256 bytes; SET (at once|pending): 0, 0 bytes" \
        "overlapped queries with an event complete within 300 ms with the right sizes"
    lines overlapped.log 0 "timed out" "no query needed CancelIo"
    case_end
}

case_wepoll()
{
    case_begin wepoll
    DPORT=47708
    origin wepoll-origin.log $DPORT
    bg wepoll.log "$CORPUS/wepoll.exe" --name wepoll 47608
    ready wepoll-origin.log wepoll.log || { case_end; return; }
    redirect wepoll.log $DPORT 47608
    proxied "4 6" "$(hop 47608)"
    lines wepoll.log 401 "token 0x[0-9a-f]+; records = 0, [0-9]+ bytes; context = 0, 256 bytes; SET = 0; upstream token 0x[0-9a-f]+;" \
        "SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE into 8 bytes gives a token for each socket, before and after connect"
    lines wepoll.log 0 "UNEXPECTED" "tokens are stable on live sockets, distinct between them, new for reused handles"
    case_end
}

# case_arch N ACCEPT QUERY: the architecture cases of arch.exe
case_arch()
{
    case_begin "arch-$2-$3"
    DPORT=477$1
    origin "arch-$2-origin.log" $DPORT
    bg "arch-$2.log" "$CORPUS/arch.exe" --name "arch-$2" --accept "$2" --query "$3" 476$1
    ready "arch-$2-origin.log" "arch-$2.log" || { case_end; return; }
    redirect "arch-$2.log" $DPORT 476$1
    proxied "4 6" "$(hop 476$1)"
    lines "arch-$2.log" 401 "records = 0, [0-9]+ bytes \($3[^)]*\); context = 0, 256 bytes \($3[^)]*\); SET = 0; destination" \
        "QUERY_RECORDS and QUERY_CONTEXT ($3) give their sizes, SET succeeds"
    case $2 in
        defer) lines "arch-$2.log" 401 "after 1 deferral\(s\)$" "every connection was deferred once, then accepted" ;;
        worker) lines "arch-$2.log" 401 "#[0-9]+ worker from" "the worker process queried every connection" ;;
    esac
    case_end
}

case_chain()
{
    case_begin "chain-envoy-wfpsampler"
    DPORT=47716
    origin chain-origin.log $DPORT
    bg chain-envoy.log "$CORPUS/envoy.exe" --name chain-envoy 47616
    bg chain-wfpsampler.log "$CORPUS/wfpsampler.exe" --name chain-wfpsampler 47666
    ready chain-origin.log chain-envoy.log chain-wfpsampler.log || { case_end; return; }
    redirect chain-envoy.log $DPORT 47616
    redirect chain-wfpsampler.log $DPORT 47666 corpusc2
    proxied "4 6" "$(hop 47616),$(hop 47666)"
    lines chain-wfpsampler.log 401 "destination (127\.0\.0\.[23]|\[::1\]):$DPORT, origin .* \(the peer\)$" \
        "the second proxy's context names the original destination; its source is the first proxy"
    case_end
}

# want NAME: the case is to run (CORPUS_CASES="NAME..." runs only those)
want()
{
    test -z "$CORPUS_CASES" && return 0
    case " $CORPUS_CASES " in *" $1 "*) return 0 ;; esac
    return 1
}

# want_mode MODE: the mode is to run (CORPUS_MODES="rules driver nft")
want_mode()
{
    case " ${CORPUS_MODES:-rules driver nft} " in *" $1 "*) return 0 ;; esac
    return 1
}

run_cases()
{
    want envoy && case_envoy
    want wfpsampler && case_wfpsampler
    test "$MODE" = rules && want wfpsampler-context-none && case_wfpsampler_no_context
    if ! want rama; then :; elif test "$MODE" != nft; then case_rama; else
        skipped "$MODE, rama: rama sets no records and relies on the redirector excluding the proxy's process (localRedirectTargetPID); netfilter cannot tell a Wine process's sockets apart, the wineserver makes them all"
    fi
    want ebpf-listener && case_ebpf
    want iocp-proxy && case_iocp
    want overlapped && case_overlapped
    want wepoll && case_wepoll
    want arch-blocking && case_arch 09 blocking sync
    want arch-select && case_arch 10 select event
    want arch-wsaaccept && case_arch 11 wsaaccept apc
    want arch-defer && case_arch 12 defer sync
    want arch-acceptex && case_arch 13 acceptex iocp
    want arch-threads && case_arch 14 threads sync
    want arch-worker && case_arch 15 worker sync
    want chain && case_chain
}

# ---- in-Wine rules ---------------------------------------------------------------

# The suite's own prefix, outside build/prefixes: other suites stop every
# server there when they end (kill_servers), and may run at the same time.
prefix=$WFP_BUILDDIR/build/corpus/prefix$SERIES
rm -rf "$prefix"
cp -a "$(prefix_template wfp)" "$prefix"
if want_mode rules; then
    MODE=rules
    V4=127.0.0.3
    # hop PORT: the hop of a connection redirected to the proxy on PORT
    hop() { echo "rule:$1"; }
    {
        printf 'REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\Software\\Wine\\WFP\\Rules]\n'
        for n in 01 02 05 06 07 08 09 10 11 12 13 14 15; do
            printf '"c%s"="tcp %s:477%s -> 127.0.0.1:476%s"\n' $n $V4 $n $n
            printf '"c%s6"="tcp [::1]:477%s -> [::1]:476%s"\n' $n $n $n
        done
        printf '"c03"="tcp %s:47703 -> 127.0.0.1:47603 context=none"\n' $V4
        printf '"c036"="tcp [::1]:47703 -> [::1]:47603 context=none"\n'
        printf '"c04"="tcp %s:47704 -> 127.0.0.1:47604 target=rama.exe"\n' $V4
        printf '"c046"="tcp [::1]:47704 -> [::1]:47604 target=rama.exe"\n'
        # the chain: rules go by name, and a service redirects a flow once
        printf '"c16a"="tcp %s:47716 -> 127.0.0.1:47616"\n' $V4
        printf '"c16a6"="tcp [::1]:47716 -> [::1]:47616"\n'
        printf '"c16b"="tcp %s:47716 -> 127.0.0.1:47666"\n' $V4
        printf '"c16b6"="tcp [::1]:47716 -> [::1]:47666"\n'
        # the reproducer's rule, as issue 11 gives it
        printf '"repro"="tcp 127.0.0.1:9999 -> 127.0.0.1:15001"\n'
    } >"$LOGS/rules-rules.reg"
    start_server
    wfp "$PROGRAMS/wfprules.exe" list >"$LOGS/rules-list.log" 2>&1
    if test "$(grep -c . "$LOGS/rules-list.log")" = "$(grep -c '^"' "$LOGS/rules-rules.reg")"; then
        ok "rules: the $(grep -c . "$LOGS/rules-list.log") rules of the corpus are in place"
    else
        bad "rules: the rules are not in place: $(head -n 5 "$LOGS/rules-list.log" | tr '\n' ' ')"
    fi
    run_cases

    # the reproducer of issue 11: accept() blocked before a redirected
    # connection comes, after a queried one on the same listener
    if want repro; then
        case_begin repro
        if run_client repro.log "$CORPUS/repro.exe"; then
            ok "rules, issue 11's reproducer: $(tail -n 1 "$LOGS/rules-repro.log" | tr -d '\r' | sed 's/^repro: //')"
        else
            bad "rules, issue 11's reproducer: $(tail -n 3 "$LOGS/rules-repro.log" | tr -d '\r' | tr '\n' ' ')"
        fi
        case_end
    fi
    stop_server
fi

# ---- a callout driver ----------------------------------------------------------------

# The same cases, redirected by the sample callout driver (programs/wfpcallout)
# as a product's driver redirects: each connect() goes to the driver's
# classifyFn in winedevice, which sends it to the case's proxy with a
# context of two SOCKADDR_STORAGE, WFPSampler's.  A second driver, of
# another vendor and a lighter sublayer, takes the chain's second leg.
# No root is needed.
if want_mode driver; then
    MODE=driver
    V4=127.0.0.3
    # the hops name the driver, the first one but for the chain's second proxy
    hop() { if test "$1" = 47666; then echo callout:202; else echo callout:201; fi; }
    printf 'REGEDIT4\n\n[-HKEY_LOCAL_MACHINE\\Software\\Wine\\WFP\\Rules]\n' >"$LOGS/rules-driver.reg"
    # each case gives the drivers its destinations (redirect)
    start_drivers()
    {
        install_driver corpusc1 201 4096
        install_driver corpusc2 202 2048
    }
    # each driver's fwpkclnt.sys keeps an engine socket in the wineserver,
    # which wait_empty counts among the sockets with redirect state
    engine_sockets=2
    # CORPUS_DRIVER_CASES: fewer cases in this mode (run-series.sh's, over
    # a second Wine)
    all_cases=$CORPUS_CASES
    if test -z "$CORPUS_CASES" && test -n "$CORPUS_DRIVER_CASES"; then
        CORPUS_CASES=$CORPUS_DRIVER_CASES
        skipped "driver: the cases other than $CORPUS_DRIVER_CASES (over Wine 8.0 every case runs with the driver)"
    fi
    start_server
    ctl corpusc1 info; ctl corpusc2 info
    if tail -n 2 "$LOGS/wfpcalloutctl.log" | tr -d '\r' | tr '\n' ' ' | grep -q "instance=201 .*instance=202 "; then
        ok "driver: the two drivers run"
    else
        bad "driver: the drivers are not in place: $(tail -n 4 "$LOGS/sc.log" "$LOGS/wfpcalloutctl.log" | tr '\n' ' ')"
    fi
    run_cases
    stop_server
    engine_sockets=0
    CORPUS_CASES=$all_cases
fi

# ---- nftables ------------------------------------------------------------------------

if want_mode nft; then
    MODE=nft
    if ! reason=$(netns_usable); then
        skipped "the nftables cases: $reason"
    else
        ns=wfp-corpus-$$
        "$IP" netns add "$ns"
        "$IP" -n "$ns" link set lo up
        IN_NS="$IP netns exec $ns"
        V4=127.0.0.2
        hop() { echo "nf:$1"; }
        nft_redirect()
        {
            # a proxy's outbound socket carries the mark of its service
            $IN_NS "$NFT" add rule inet wfp_corpus output ip daddr $V4 tcp dport "$1" meta mark \& "$3" == 0 redirect to :"$2"
            $IN_NS "$NFT" add rule inet wfp_corpus output ip6 daddr ::1 tcp dport "$1" meta mark \& "$3" == 0 redirect to :"$2"
        }
        $IN_NS "$NFT" -f - <<RULES
table inet wfp_corpus {
    chain output {
        type nat hook output priority -100;
    }
}
RULES
        # services nobody configured mark with 0x1000
        for n in 01 02 05 06 07 08 09 10 11 12 13 14 15; do nft_redirect 477$n 476$n 0x1000; done
        nft_redirect 47716 47616 0x100
        nft_redirect 47716 47666 0x200
        $IN_NS "$NFT" list ruleset >"$LOGS/nft-ruleset.log" 2>&1
        {
            printf 'REGEDIT4\n\n[-HKEY_LOCAL_MACHINE\\Software\\Wine\\WFP\\Rules]\n\n'
            printf '[HKEY_LOCAL_MACHINE\\Software\\Wine\\WFP\\Services]\n'
            printf '"chain-envoy"="port=47616 mark=0x100"\n'
            printf '"chain-wfpsampler"="port=47666 mark=0x200"\n'
        } >"$LOGS/rules-nft.reg"
        # the same prefix, served now from the namespace, without the rules
        start_server
        run_cases
        stop_server
    fi
fi

echo "corpus: logs in $LOGS; $(( $(date +%s) - suite_start )) seconds"
record corpus $pass $fail $skip
test $fail = 0
