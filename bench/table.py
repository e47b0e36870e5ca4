#!/usr/bin/env python3
"""Turns bench/run's results into Markdown: one table of every contestant's throughput and latency (the
median of the rounds, then the lowest and highest), each contestant's blocked and cached throughput as a
share of the ceiling measured just before and just after it, and Hush's standing against the bar of
issue #6."""
import statistics
import sys
from collections import defaultdict

runs, loads = defaultdict(list), {}
for line in sys.stdin:
    fields = line.rstrip("\n").split("\t")
    if fields[1] == "load":
        loads[fields[0]] = fields[2]
    else:
        runs[(fields[0], fields[1])].append(fields[2:])   # qps, p50, p99, round, sequence
labels = list(dict.fromkeys(label for label, _ in runs))
corpora = ["blocked", "cached", "mix", "miss", "patterned"]


def median_run(results):
    """The run whose throughput is the median (the lower middle one for an even count)."""
    ordered = sorted(results, key=lambda r: float(r[0]))
    return ordered[(len(ordered) - 1) // 2]


print("Queries per second: the median of the rounds [lowest–highest], then p50/p99 latency in ms of the median run.\n")
print("| contestant | load s / RSS MiB | " + " | ".join(f"{c}" for c in corpora) + " |")
print("|---|---|" + "---|" * len(corpora))
for label in labels:
    cells = []
    for corpus in corpora:
        results = runs.get((label, corpus), [])
        if not results:
            cells.append("—")
            continue
        qps = [float(r[0]) for r in results]
        middle = median_run(results)
        cells.append(f"{statistics.median(qps):,.0f} [{min(qps):,.0f}–{max(qps):,.0f}] ({middle[1]}/{middle[2]})")
    print(f"| {label} | {loads.get(label, '—')} | " + " | ".join(cells) + " |")


def shares(label, corpus):
    """Each run's throughput over the mean of the ceiling's runs just before and just after it."""
    ceiling = sorted((int(r[4]), float(r[0])) for r in runs.get(("ceiling", corpus), []))
    values = []
    for r in runs.get((label, corpus), []):
        at = int(r[4])
        before = [qps for sequence, qps in ceiling if sequence < at][-1:]
        after = [qps for sequence, qps in ceiling if sequence > at][:1]
        around = before + after
        if around:
            values.append(float(r[0]) / statistics.mean(around))
    return values


print("\nShare of the ceiling measured just before and after each run (their mean): the median, then every round in order.\n")
print("| contestant | blocked | cached | patterned |")
print("|---|---|---|---|")
for label in labels:
    if label == "ceiling":
        continue
    cells = []
    for corpus in ["blocked", "cached", "patterned"]:
        values = shares(label, corpus)
        cells.append(f"**{statistics.median(values):.0%}** ({', '.join(f'{v:.0%}' for v in values)})" if values else "—")
    print(f"| {label} | " + " | ".join(cells) + " |")

# The bar: at least 90% of the ceiling, ahead of each peer (rounds won, and the medians), a million names
# answering within 1.5 s in at most 80 MB.
peers = [label for label in labels if label not in ("ceiling",) and not label.startswith("hush")]
print("\nAgainst the bar (≥90% of the ceiling; ahead of each peer; load ≤1.5 s and ≤80 MB):\n")
for label in [l for l in labels if l.startswith("hush")]:
    notes = []
    for corpus in ["blocked", "cached"]:
        values = shares(label, corpus)
        if not values:
            continue
        mine = {r[3]: float(r[0]) for r in runs[(label, corpus)]}
        share = statistics.median(values)
        parts = [f"{share:.0%} of the ceiling {'✓' if share >= 0.9 else '✗'}"]
        for peer in peers:
            theirs = {r[3]: float(r[0]) for r in runs.get((peer, corpus), [])}
            won = sum(1 for round_, qps in mine.items() if round_ in theirs and qps > theirs[round_])
            ratio = statistics.median(mine.values()) / statistics.median(theirs.values()) if theirs else float("nan")
            parts.append(f"{ratio:.2f}× {peer} (won {won} of {len(theirs)} rounds) {'✓' if ratio > 1 else '✗'}")
        notes.append(f"{corpus}: " + ", ".join(parts))
    if label in loads:
        seconds, mib = loads[label].split()
        megabytes = float(mib) * 1.048576
        notes.append(f"load {seconds} s {'✓' if float(seconds) <= 1.5 else '✗'}, {megabytes:.0f} MB {'✓' if megabytes <= 80 else '✗'}")
    print(f"- {label}: " + "; ".join(notes))
