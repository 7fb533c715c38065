"""jieba's tag tables at start: parsed from dict.txt (no CACHE_DIR) beside read back from CACHE_DIR.

Usage:
    PYTHONPATH=. .venv/bin/python benchmarks/tag_tables.py [--runs 5]

Each run is a fresh process (the tables are made once per process), timing `places.jieba_tags()` (names
and grammar words) and `asked._pos_table()` (tags of short words): `parse` with no directory kept, the way
a process without CACHE_DIR makes them (and every start made the part-of-speech table before
kept_tables.py); `kept` with CACHE_DIR holding the files a first run left. Prints the median CPU and wall
seconds of each, and the load average: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
from pathlib import Path
from bot.matching import asked, dictionary, places
if sys.argv[1] != "-":
    dictionary.keep_in(Path(sys.argv[1]))
out = {}
for name, make in (("jieba_tags", places.jieba_tags), ("pos_table", asked._pos_table)):
    cpu, wall = time.process_time(), time.perf_counter()
    make()
    out[name] = (time.process_time() - cpu, time.perf_counter() - wall)
print(json.dumps(out))
"""


def run(directory: str, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    done = subprocess.run([sys.executable, "-c", CHILD, directory], env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with tempfile.TemporaryDirectory() as cache:
        run(cache, env)  # leaves the kept files
        rows = {"parse": [run("-", env) for _ in range(args.runs)], "kept": [run(cache, env) for _ in range(args.runs)]}
    print(f"load average {os.getloadavg()[0]:.2f}; median of {args.runs} fresh processes, seconds")
    print(f"{'mode':<6} {'table':<11} {'cpu':>6} {'wall':>6}")
    for mode, results in rows.items():
        for table in ("jieba_tags", "pos_table"):
            cpu = statistics.median(r[table][0] for r in results)
            wall = statistics.median(r[table][1] for r in results)
            print(f"{mode:<6} {table:<11} {cpu:6.3f} {wall:6.3f}")


if __name__ == "__main__":
    main()
