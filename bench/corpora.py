#!/usr/bin/env python3
"""Query corpora from the seeded list: corpora.py LIST OUTDIR. Writes blocked.txt (listed names and names
below them), cached.txt (1,000 allowed names, repeated: cache hits after the first pass), mix.txt (20% blocked,
80% allowed, Zipf-like repeats) and miss.txt (a fresh name every query: always a cache miss)."""
import random
import sys

listed = open(sys.argv[1]).read().split()
out = sys.argv[2]
rng = random.Random(7)
sample = rng.sample(listed, 20_000)
blocked = [name if i % 2 else f"x{i}.{name}" for i, name in enumerate(sample)]
allowed = [f"host{i}.cached.bench.test" for i in range(1000)]
with open(f"{out}/blocked.txt", "w") as f:
    f.writelines(f"{name} A\n" for name in blocked)
with open(f"{out}/cached.txt", "w") as f:
    f.writelines(f"{name} A\n" for name in allowed * 20)
with open(f"{out}/mix.txt", "w") as f:
    for _ in range(100_000):
        if rng.random() < 0.2:
            f.write(f"{rng.choice(blocked)} A\n")
        else:
            f.write(f"{allowed[min(int(rng.paretovariate(1.2)) - 1, 999)]} A\n")
with open(f"{out}/miss.txt", "w") as f:
    f.writelines(f"m{i}-{rng.randrange(10**9)}.miss.bench.test A\n" for i in range(2_000_000))
