#!/bin/sh
# Run the libFuzzer targets: for SECONDS each ('make check'), or for ten
# million executions each ('make fuzz', MODE=long).
#
# usage: run-fuzz.sh SECONDS|long FUZZER...
. "$WFP_SRCDIR/tests/lib.sh"

mode=$1; shift
pass=0; fail=0
for f in "$@"; do
    name=$(basename "$f")
    corpus=$WFP_BUILDDIR/build/fuzz/corpus-$name
    mkdir -p "$corpus"
    cp "$WFP_SRCDIR/tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true
    if test "$mode" = long; then
        limit="-runs=10000000"
    else
        limit="-max_total_time=$mode"
    fi
    echo "---- fuzz: $name ($limit)"
    log=$WFP_BUILDDIR/build/fuzz/$name.log
    if (cd "$WFP_BUILDDIR/build/fuzz" && "$WFP_BUILDDIR/$f" $limit -print_final_stats=1 "$corpus" >"$log" 2>&1); then
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
