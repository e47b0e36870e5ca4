#!/usr/bin/env python3
"""Writes 10,000 pattern rules and a corpus of names only they block: gen-patterns.py OUTDIR.
patterns.txt: 9,000 wildcards and 995 regular expressions, each anchored to its own domain, plus 5 anchored
to cached.bench.test that never match the cached corpus (so every cache hit pays for trying them: a name
under a patterned domain, the costly case). patterned.txt: names that only the patterns block."""
import random
import sys

out = sys.argv[1]
rng = random.Random(11)
with open(f"{out}/patterns.txt", "w") as f:
    for i in range(9000):
        f.write(f"||log*-normal-*.w{i}.patterns.bench.test^\n")
    for i in range(995):
        f.write(f"/^rtlog[0-9]+-[a-z0-9]+\\.r{i}\\.patterns\\.bench\\.test$/\n")
    for word in ["log", "stat", "track", "beacon", "metric"]:
        f.write(f"||{word}*-normal-*.cached.bench.test^\n")
with open(f"{out}/patterned.txt", "w") as f:
    for i in range(20000):
        if i % 2:
            f.write(f"log{rng.randrange(100)}-normal-va{i}.w{rng.randrange(9000)}.patterns.bench.test A\n")
        else:
            f.write(f"rtlog{rng.randrange(100)}-sg{i}.r{rng.randrange(995)}.patterns.bench.test A\n")
