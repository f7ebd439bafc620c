# Helpers of the end-to-end scripts; sourced after tests/lib.sh, with
# SUITE (the result's name) and LOGS set.

E2E=$WFP_BUILDDIR/build/e2e
PROGRAMS=$WFP_BUILDDIR/build/programs
rm -rf "$LOGS"; mkdir -p "$LOGS"
pass=0; fail=0; skip=0
ok()      { echo "$SUITE: ok: $*"; pass=$((pass + 1)); }
bad()     { echo "$SUITE: FAILED: $*"; fail=$((fail + 1)); }
skipped() { echo "$SUITE: skipped: $*"; skip=$((skip + 1)); }

ns=""
cleanup()
{
    pkill -f 'wfpproxy.exe --name e2e' 2>/dev/null
    kill_servers
    test -z "$ns" || "$IP" netns del "$ns" 2>/dev/null
}
trap cleanup EXIT

# wfp COMMAND...: a Windows program in the foreground, in $prefix (and in
# the network namespace $IN_NS names); output in files only, as services
# of the session inherit stdout.  start LOG COMMAND...: the same, in the
# background.
IN_NS=""
wfp() { WINEPREFIX=$prefix $IN_NS "$WINE_WFP" "$@"; }
start() { log=$1; shift; WINEPREFIX=$prefix $IN_NS "$WINE_WFP" "$@" >"$LOGS/$log" 2>&1 & }
wait_for() { for i in $(seq 300); do grep -q "$2" "$LOGS/$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# client_with CLIENT.EXE NAME TARGET CLIENT-ARGS...: one client run, judged
# by its exit status; client NAME ...: the same with the 64-bit client
client_with()
{
    exe=$1; name=$2; shift 2
    if wfp "$exe" "$@" >"$LOGS/client-$name.log" 2>&1; then
        ok "$name: $(tail -n 1 "$LOGS/client-$name.log" | sed 's/^client: //')"
    else
        bad "$name: $(tail -n 5 "$LOGS/client-$name.log" | tr '\n' ' ')"
    fi
}
client() { client_with "$E2E/client.exe" "$@"; }

# udp_client NAME TARGET UDPCLIENT-ARGS...: one udpclient run, judged by its
# exit status: every answer came from the original destination (TARGET),
# with the datagram's bytes exactly and the hops of --expect
udp_client()
{
    name=$1; shift
    if wfp "$E2E/udpclient.exe" "$@" >"$LOGS/udpclient-$name.log" 2>&1; then
        ok "$name: $(tail -n 1 "$LOGS/udpclient-$name.log" | sed 's/^udpclient: //'), each answer from the original destination"
    else
        bad "$name: $(tail -n 5 "$LOGS/udpclient-$name.log" | tr '\n' ' ')"
    fi
}

stats() { wfp "$E2E/wfpstat.exe" >"$LOGS/stats.log" 2>&1; cat "$LOGS/stats.log"; }

# wait_empty WHAT: the wineserver's tables return to empty
wait_empty()
{
    for i in $(seq 60); do
        s=$(stats)
        case "$s" in *"sockets=${engine_sockets:-0} pending=0"*) ok "$1: the wineserver's tables are empty again ($s)"; return ;; esac
        sleep 0.5
    done
    bad "$1: the wineserver's tables did not empty: $s"
    echo "$SUITE: Windows processes still running:"; ps -eo pid,args | grep -i '\.exe' | grep -v grep | sed 's/^/    /'
    echo "$SUITE: TCP connections that are not closing, with their owners:"
    $IN_NS ss -tanpH state established state close-wait state fin-wait-1 state fin-wait-2 | sed 's/^/    /' | head -n 60
}

# install_driver NAME INSTANCE SUBLAYER-WEIGHT [VALUE=DWORD...]: the sample
# callout driver wfpcallout.sys as the service NAME of $prefix, started, as
# a product's installer does it; its hops read callout:INSTANCE.  The
# VALUEs go to its Parameters key too.
install_driver()
{
    _name=$1; _instance=$2; _weight=$3; shift 3
    cp "$PROGRAMS/wfpcallout.sys" "$prefix/drive_c/windows/system32/drivers/$_name.sys"
    wfp sc create "$_name" type= kernel start= demand binPath= "C:\\windows\\system32\\drivers\\$_name.sys" \
        >>"$LOGS/sc.log" 2>&1
    for _value in "Instance=$_instance" "SublayerWeight=$_weight" "$@"; do
        wfp reg add "HKLM\\System\\CurrentControlSet\\Services\\$_name\\Parameters" /v "${_value%%=*}" \
            /t REG_DWORD /d "${_value#*=}" /f >>"$LOGS/sc.log" 2>&1
    done
    # services.exe may not know the service sc create just made yet
    for _try in 1 2 3; do wfp sc start "$_name" >>"$LOGS/sc.log" 2>&1 && break; sleep 1; done
}

# proxy_pid LOG: the process id a wfpproxy said in its listening line
proxy_pid() { tr -d '\r' <"$LOGS/$1" | sed -n 's/^.*listening on .*, process \([0-9]*\)$/\1/p' | head -n 1; }

# ctl NAME add|clear|info ...: wfpcalloutctl, to the driver of service NAME
ctl() { wfp "$PROGRAMS/wfpcalloutctl.exe" "$@" >>"$LOGS/wfpcalloutctl.log" 2>&1; }

# rules ARGS...: wfprules in $prefix, its output appended to wfprules.log
rules() { wfp "$PROGRAMS/wfprules.exe" "$@" >>"$LOGS/wfprules.log" 2>&1; }

# loaded_dll_is_ours OVERLAY-INFO-LOG DLL: the ws2_32.dll that process ran
# is DLL, by the link timestamp in its PE header
loaded_dll_is_ours()
{
    built=$(od -An -tx4 -j $(( $(od -An -tu4 -j 60 -N 4 "$2") + 8 )) -N 4 "$2" | tr -d ' ')
    echo "ws2_32.dll built: link timestamp 0x$built"
    grep -q "link timestamp: 0x$built" "$1"
}
