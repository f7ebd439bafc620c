#!/usr/bin/env python3
# callgrind-share.py OUT...: for each callgrind output file of a
# wineserver, print "TOTAL WFP": the instructions it executed, and those
# executed in wine-wfp's server code (server/wfp*.c), counted as the
# inclusive cost of every call into those files from a function outside
# them.  The second is the whole price that the hooks make a wineserver
# pay; it does not depend on how the server's poll loop happened to
# interleave events, which the total does.
import re
import sys

def share(path):
    names = {}          # compressed ids of files
    total = 0
    wfp = 0
    caller_is_wfp = False
    callee_file = None
    take_next = False

    def name(value):
        m = re.match(r'\((\d+)\)(?: (.*))?$', value)
        if not m:
            return value
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), '')

    def is_wfp(path):
        return re.search(r'/server/wfp[a-z_]*\.c$', path or '') is not None

    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if take_next:
                take_next = False
                if not caller_is_wfp and is_wfp(callee_file):
                    wfp += int(line.split()[-1])
                callee_file = None
                continue
            if line.startswith('summary:'):
                total = int(line.split()[1])
            elif line.startswith('fl='):
                caller_is_wfp = is_wfp(name(line[3:]))
                callee_file = None
            elif line.startswith(('fi=', 'fe=')):
                name(line[3:])
            elif line.startswith('fn='):
                callee_file = None
            elif line.startswith(('cfi=', 'cfl=')):
                callee_file = name(line[4:])
            elif line.startswith('calls='):
                take_next = True
    return total, wfp

for path in sys.argv[1:]:
    print(*share(path))
