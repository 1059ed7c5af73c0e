"""Benchmark: direct-reply latency when the bot is idle, this checkout against an earlier one.

Run from the repository root, with a checkout of the earlier commit beside it::

    git worktree add ../hiwar-before <commit>
    python bench/idle_latency.py --before ../hiwar-before [--rounds 3] [--database-url URL]

One member goes through consent, a complete report and the survey (25 inputs, each sent
only when the answer to the previous one arrived: `bench/throughput.py --members 1`), first
with the earlier checkout's bot and benchmark, then with this one's, alternating for
`--rounds` rounds in this one run, so both meet the same machine. Printed: each round's
median latency (input pushed → first message or edit in that chat, at the fake Bot API) and
the median over rounds for each, and the difference. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
P50 = re.compile(r"Hiwar \((\w+)\).*latency p50\s+([\d.]+) ms")


def one_round(checkout: Path, database_url: str | None) -> float:
    command = [sys.executable, str(checkout / "bench" / "throughput.py")]
    command += ["--members", "1", "--registered", "1000", "--skip-echo"]
    if database_url:
        command += ["--database-url", database_url]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=True)
    found = P50.search(done.stdout)
    if found is None:
        raise SystemExit(f"no latency in the output of {checkout}:\n{done.stdout}{done.stderr}")
    return float(found.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="PostgreSQL is EMPTIED each round")
    args = parser.parse_args()
    before: list[float] = []
    after: list[float] = []
    for number in range(1, args.rounds + 1):
        before.append(one_round(args.before.resolve(), args.database_url))
        after.append(one_round(ROOT, args.database_url))
        print(f"round {number}: before {before[-1]:6.1f} ms   after {after[-1]:6.1f} ms")
    median_before, median_after = statistics.median(before), statistics.median(after)
    print(
        f"median latency p50: before {median_before:.1f} ms, after {median_after:.1f} ms, "
        f"difference {median_after - median_before:+.1f} ms"
    )


if __name__ == "__main__":
    main()
