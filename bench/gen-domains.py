#!/usr/bin/env python3
"""Writes a seeded list of realistic domain names, one per line: gen-domains.py COUNT [SEED] > list.txt"""
import random
import sys

count = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
syllables = ["ad", "an", "ap", "ba", "be", "cdn", "co", "da", "de", "ex", "fo", "go", "ha", "in", "jo", "ka", "lo",
             "ma", "me", "mi", "na", "ne", "on", "pa", "pi", "po", "qu", "ra", "re", "sa", "se", "so", "ta", "te", "to",
             "tr", "ul", "va", "vi", "wa", "xe", "yo", "za", "zu", "track", "stat", "log", "metric", "pixel", "sdk"]
tlds = ["com"] * 50 + ["net"] * 10 + ["org"] * 6 + ["io"] * 4 + ["cn"] * 6 + ["ru"] * 4 + ["de", "uk", "fr", "jp", "br", "in", "info", "xyz", "app", "tv"]
prefixes = ["", "", "", "www", "api", "cdn", "static", "t", "log", "events", "stats", "collect", "sdk", "ads", "img"]

def word():
    return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) + (str(rng.randint(0, 99)) if rng.random() < 0.2 else "")

seen = set()
out = sys.stdout
while len(seen) < count:
    parts = [word(), rng.choice(tlds)]
    prefix = rng.choice(prefixes)
    if prefix:
        parts.insert(0, prefix)
    if rng.random() < 0.15:
        parts.insert(0, word())
    name = ".".join(parts)
    if name not in seen:
        seen.add(name)
        out.write(name + "\n")
