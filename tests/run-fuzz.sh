#!/bin/sh
# Run the libFuzzer targets: for SECONDS each ('make check'), or for ten
# million executions each ('make fuzz', MODE=long).
#
# usage: run-fuzz.sh SECONDS|long FUZZER...
. "$WFP_SRCDIR/tests/lib.sh"

mode=$1; shift
if test "$mode" = long; then
    limit="-runs=10000000"
else
    limit="-max_total_time=$mode"
fi

# fuzz NAME: one target; its status in NAME.status.  The targets run at
# the same time: each is single-threaded, and 'make check' waits for the
# time limit, not for the CPU.
fuzz()
{
    corpus=$WFP_BUILDDIR/build/fuzz/corpus-$1
    mkdir -p "$corpus"
    cp "$WFP_SRCDIR/tests/fuzz/corpus/$1"/* "$corpus"/ 2>/dev/null || true
    (cd "$WFP_BUILDDIR/build/fuzz" && "$WFP_BUILDDIR/build/fuzz/$1" $limit -print_final_stats=1 "$corpus" \
        >"$WFP_BUILDDIR/build/fuzz/$1.log" 2>&1)
    echo $? >"$WFP_BUILDDIR/build/fuzz/$1.status"
}

pids=""
for f in "$@"; do
    name=$(basename "$f")
    echo "---- fuzz: $name ($limit)"
    fuzz "$name" &
    pids="$pids $!"
done
wait $pids

pass=0; fail=0
for f in "$@"; do
    name=$(basename "$f")
    log=$WFP_BUILDDIR/build/fuzz/$name.log
    if test "$(cat "$WFP_BUILDDIR/build/fuzz/$name.status" 2>/dev/null)" = 0; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz: $name: $runs executions, no crash, no sanitizer report"
        pass=$((pass + 1))
    else
        tail -n 40 "$log"
        echo "fuzz: $name: FAILED (crash input and log in $WFP_BUILDDIR/build/fuzz)"
        fail=$((fail + 1))
    fi
done
record fuzz $pass $fail
test $fail = 0
