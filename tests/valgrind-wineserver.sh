#!/bin/sh
# wineserver-wfp with the server under valgrind's memcheck, for
# 'make check-valgrind'.  "-p" starts the prefix's server in the
# background under memcheck (in the foreground as far as the server knows,
# so that valgrind follows it) and returns once it answers; anything else
# (-k, -w) is the plain wineserver-wfp.  One log per server in
# $VALGRIND_LOGS; tests/valgrind-report.sh judges them.
case " $* " in
    *" -p"*) ;;
    *) exec "$WFP_BUILDDIR/wineserver-wfp" "$@" ;;
esac
test -n "$WINEPREFIX" || { echo "valgrind-wineserver: WINEPREFIX is not set" >&2; exit 1; }

valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --num-callers=24 --suppressions="$WFP_SRCDIR/tests/valgrind.supp" \
    --log-file="$VALGRIND_LOGS/wineserver-%p.log" \
    "$WFP_ROOT/lib/wine/wineserver64" -f -p </dev/null >/dev/null &
server=$!
# it answers once it listens on its socket (named relative to its directory)
for i in $(seq 600); do
    ss -xlpH 2>/dev/null | grep -q "pid=$server," && exit 0
    kill -0 $server 2>/dev/null || break
    sleep 0.1
done
echo "valgrind-wineserver: the server did not start; see $VALGRIND_LOGS" >&2
exit 1
