#!/bin/sh
# What 'make check' and 'make demo' do in a tree that is not configured
# yet: install missing packages (as root), generate configure, run it with
# the defaults.
set -e
cd "$(dirname "$0")/.."

if test "$(id -u)" = 0; then
    tools/install-deps.sh
fi
if ! test -x configure || test configure.ac -nt configure; then
    echo "bootstrap: autoconf"
    autoconf
fi
echo "bootstrap: ./configure"
./configure
