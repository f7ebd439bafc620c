#!/bin/sh
# Judge the memcheck logs of the wineservers that 'make check-valgrind'
# ran: every server must have exited (its log has a summary), with no
# error and no definite leak left after tests/valgrind.supp, whose every
# entry is a justified one in Wine's own code.
. "$WFP_SRCDIR/tests/lib.sh"

pass=0; fail=0; errors=0; lost=0
for log in "$VALGRIND_LOGS"/wineserver-*.log; do
    test -f "$log" || continue
    name=$(basename "$log")
    if ! grep -q "ERROR SUMMARY" "$log"; then
        echo "valgrind: $name: no summary (the server did not exit?)"
        fail=$((fail + 1)); continue
    fi
    e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d ,)
    d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
    s=$(sed -n 's/.*suppressed: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | head -n 1)
    echo "valgrind: $name: $e errors, ${d:-0} bytes definitely lost (${s:-0} bytes suppressed)"
    errors=$((errors + e)); lost=$((lost + ${d:-0}))
    if test "$e" = 0 && test "${d:-0}" = 0; then
        pass=$((pass + 1))
    else
        # the first frames of each error, to find it in the log
        grep -A12 -E "^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ bytes in)" "$log" | head -n 60
        fail=$((fail + 1))
    fi
done
if test $((pass + fail)) = 0; then
    echo "valgrind: no wineserver log in $VALGRIND_LOGS"
    fail=1
fi
echo "valgrind: $((pass + fail)) wineservers under memcheck: $errors errors, $lost bytes definitely lost (logs in $VALGRIND_LOGS)"
record valgrind $pass $fail
test $fail = 0
