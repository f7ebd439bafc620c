#!/bin/sh
# Run the native unit tests (cmocka, built with ASan and UBSan).
. "$WFP_SRCDIR/tests/lib.sh"

pass=0; fail=0
for t in "$@"; do
    echo "---- unit: $t"
    out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$WFP_BUILDDIR/$t" 2>&1)
    rc=$?
    echo "$out" | grep -v '^ok ' || true
    p=$(echo "$out" | grep -c '^ok ')
    f=$(echo "$out" | grep -c '^not ok ')
    if test $rc != 0 && test "$f" = 0; then f=1; echo "unit: $t exited with status $rc"; fi
    echo "unit: $t: $p passed, $f failed"
    pass=$((pass + p)); fail=$((fail + f))
done
record unit $pass $fail
test $fail = 0
