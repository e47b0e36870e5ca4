#!/usr/bin/env python3
"""Turns bench/run's results into one Markdown table (both runs of each figure side by side), then each
contestant's blocked and cached throughput as a share of the ceiling measured in the same round."""
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
print("| contestant | load s / RSS MiB | " + " | ".join(f"{c} qps (p50/p99 ms)" for c in corpora) + " |")
print("|---|---|" + "---|" * len(corpora))
for label in labels:
    cells = []
    for corpus in corpora:
        results = runs.get((label, corpus), [])
        cells.append(", ".join(f"{float(r[0]):,.0f} ({r[1]}/{r[2]})" for r in results) or "—")
    print(f"| {label} | {loads.get(label, '—')} | " + " | ".join(cells) + " |")

print("\nShare of the ceiling measured in the same round (round 1, round 2):\n")
print("| contestant | blocked | cached |")
print("|---|---|---|")
for label in labels:
    if label == "ceiling":
        continue
    cells = []
    for corpus in ["blocked", "cached"]:
        ceiling = {r[3]: float(r[0]) for r in runs.get(("ceiling", corpus), [])}
        shares = [float(r[0]) / ceiling[r[3]] for r in runs.get((label, corpus), []) if ceiling.get(r[3])]
        cells.append(", ".join(f"{share:.0%}" for share in shares) or "—")
    print(f"| {label} | " + " | ".join(cells) + " |")
