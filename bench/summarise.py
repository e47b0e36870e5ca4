#!/usr/bin/env python3
"""Reads `dnsperf -v` output on stdin; prints: label, corpus, qps, p50 and p99 latency in ms."""
import sys

label, corpus = sys.argv[1], sys.argv[2]
latencies, qps = [], 0.0
for line in sys.stdin:
    if line.startswith("> "):
        try:
            latencies.append(float(line.split()[-1]))
        except ValueError:
            pass
    elif "Queries per second" in line:
        qps = float(line.split()[-1])
latencies.sort()
def percentile(p):
    return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else float("nan")
print(f"{label}\t{corpus}\t{qps:.0f}\t{percentile(0.5):.2f}\t{percentile(0.99):.2f}")
