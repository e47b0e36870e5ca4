#!/usr/bin/env python3
"""Turns bench/run's results into one Markdown table: both runs of each figure side by side."""
import sys
from collections import defaultdict

runs, loads = defaultdict(list), {}
for line in sys.stdin:
    fields = line.rstrip("\n").split("\t")
    if fields[1] == "load":
        loads[fields[0]] = fields[2]
    else:
        runs[(fields[0], fields[1])].append(fields[2:])
labels = list(dict.fromkeys(label for label, _ in runs))
corpora = ["blocked", "cached", "mix", "miss"]
ceiling = [float(r[0]) for r in runs.get(("ceiling", "blocked"), [])]
print("| contestant | load s / RSS MiB | " + " | ".join(f"{c} qps (p50/p99 ms)" for c in corpora) + " |")
print("|---|---|" + "---|" * len(corpora))
for label in labels:
    cells = []
    for corpus in corpora:
        results = runs.get((label, corpus), [])
        cells.append(", ".join(f"{float(q):,.0f} ({p50}/{p99})" for q, p50, p99 in results) or "—")
    print(f"| {label} | {loads.get(label, '—')} | " + " | ".join(cells) + " |")
if ceiling:
    print(f"\nceiling (trivial responder, blocked corpus): {', '.join(f'{q:,.0f}' for q in ceiling)} qps")
