#!/bin/sh
# Run a command inside the Debian 13 root (tools/trixie-root.sh), with
# /proc, /sys, /dev and /tmp bound in and the given trees at their own
# paths, so that the same paths name the same files inside and out.
#
# Every command for one root and set of trees runs in one mount namespace
# that holds those mounts, so that they all see one file system (a
# process's /proc/PID/exe reads the same to each of them).  A process that
# does nothing else keeps that namespace (its pid is in /run/wine-wfp);
# the host's own mounts are not touched.  The namespace is entered through
# /proc, so that this works from any mount namespace, such as the one that
# 'ip netns exec' makes.  The network namespace and the processes are the
# caller's.  Needs root.
#
# usage: in-root.sh ROOT DIR... -- COMMAND [ARGUMENTS...]
#        in-root.sh --stop ROOT DIR...    ends the namespace
# The command runs in the current directory if the root has it, else in /.
set -e

stop=no
test "$1" != --stop || { stop=yes; shift; }
root=$1; shift
dirs=""
while test $# != 0 && test "$1" != --; do dirs="$dirs $1"; shift; done
test $# = 0 || shift
test -d "$root/usr/lib/wine" || { echo "in-root: $root is not a Debian 13 root with Wine" >&2; exit 2; }

state=/run/wine-wfp
key=$(echo "$root $dirs" | md5sum | cut -c1-16)

# the pid of the process that keeps the namespace, if it still runs: its
# pid file holds its pid and its start time, which a reused pid has not,
# and which root it holds: one that trixie-root.sh has remade since is
# another directory, and its holder is ended
start_time() { cut -d' ' -f22 "/proc/$1/stat" 2>/dev/null; }
root_id=$(stat -L -c %d.%i "$root")
holder()
{
    { read -r pid started held < "$state/$key.pid"; } 2>/dev/null || return 1
    test -n "$pid" && test "$(start_time "$pid")" = "$started" || return 1
    if test "$held" != "$root_id"; then
        kill "$pid" 2>/dev/null
        return 1
    fi
    echo "$pid"
}

if test $stop = yes; then
    pid=$(holder) && kill "$pid"
    rm -f "$state/$key.pid"
    exit 0
fi

if ! pid=$(holder); then
    mkdir -p "$state"
    exec 9>"$state/lock"
    flock 9
    if ! pid=$(holder); then
        rm -f "$state/$key.pid" "$state/$key.new"
        setsid unshare --mount --propagation private -- sh -c '
            root=$1; pidfile=$2; shift 2
            for d in proc sys dev; do mount --rbind "/$d" "$root/$d"; done
            mount --bind /tmp "$root/tmp"
            for d; do mkdir -p "$root$d" && mount --bind "$d" "$root$d"; done
            echo $$ > "$pidfile"
            exec sleep 2147483647' in-root "$root" "$state/$key.new" $dirs </dev/null >/dev/null 2>&1 9>&- &
        for i in $(seq 100); do test -s "$state/$key.new" && break; sleep 0.05; done
        pid=$(cat "$state/$key.new" 2>/dev/null) || true
        test -n "$pid" && echo "$pid $(start_time "$pid") $root_id" > "$state/$key.pid"
        rm -f "$state/$key.new"
        pid=$(holder) || { echo "in-root: could not make the mount namespace for $root" >&2; exit 125; }
    fi
    exec 9>&-
fi

exec nsenter --mount="/proc/$pid/ns/mnt" -- chroot "$root" sh -c 'cd "$0" 2>/dev/null || cd /; exec "$@"' "$PWD" "$@"
