#!/bin/sh
# Print one line per suite and the total "N passed, N failed".
# Exits non-zero if anything failed or a suite left no result.
dir=$1
expected="unit headers fuzz wsfuzz conformance wine-tests e2e corpus conformance-i386 e2e-i386
    wsfuzz-10.0 conformance-10.0 wine-tests-10.0 e2e-10.0 corpus-10.0"
total_pass=0; total_fail=0; total_skip=0; status=0

echo
echo "==== wine-wfp test summary ===="
for suite in $expected; do
    f=$dir/$suite
    if ! test -f "$f"; then
        printf '  %-16s no result (the suite did not finish)\n' "$suite"
        total_fail=$((total_fail + 1)); status=1
        continue
    fi
    p=$(sed -n 's/^passed //p' "$f"); x=$(sed -n 's/^failed //p' "$f"); s=$(sed -n 's/^skipped //p' "$f")
    t=$(sed -n 's/^seconds //p' "$f")
    printf '  %-16s %6d passed, %d failed, %d skipped%s\n' "$suite" "$p" "$x" "$s" "${t:+ ($t s)}"
    total_pass=$((total_pass + p)); total_fail=$((total_fail + x)); total_skip=$((total_skip + s))
    test "$x" = 0 || status=1
done
echo "$total_pass passed, $total_fail failed ($total_skip skipped)"
exit $status
