"""Benchmark: N concurrent `validate` runs on one engine, beside the same N in sequence.

    eval "$(scripts/engine env)"
    .venv/bin/python benchmarks/concurrency_bench.py [--n 1 2 3] [--source examples/taskflow]

Each run is a whole command with its own reports directory (benchmarks/_runs.py).
Cold: every run gets its own fresh copy of the source (a nonce after each Dockerfile
`FROM`, see `fresh_copy`), so N concurrent cold runs do N runs' work, as N people
pushing N changes would. Warm: N runs of one already-validated copy, nothing changed.
The peer of N concurrent runs is N runs one after another: for cold, one sequence of
max(N) fresh runs is timed and its first N runs give the peer of each N; for warm, the
same with the warm copy. Prints, for each N: all passed?, total wall concurrent,
total wall in sequence, and their ratio. Asserts nothing (issue 16 item 4).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runs import Run, fresh_copy, load, parser_for, run_one, run_together


def line(kind: str, n: int, together: float, runs: list[Run], sequence: float,
         seq_runs: list[Run]) -> str:
    passed = all(r.passed for r in runs) and all(r.passed for r in seq_runs)
    states = ",".join(r.status for r in runs)
    return (f"{kind:<5} N={n}  all passed: {'yes' if passed else 'NO (' + states + ')':<4}  "
            f"concurrent total {together:7.1f}s  (each {', '.join(f'{r.wall:.1f}' for r in runs)})"
            f"  in sequence {sequence:7.1f}s  concurrent/sequence {together / sequence:5.2f}x")


def report(kind: str, n: int, together: float, runs: list[Run], peer: list[Run]) -> None:
    print(line(kind, n, together, runs, sum(r.wall for r in peer), peer), flush=True)
    for run in [*runs, *peer]:
        if not run.passed:
            print(f"  {kind} run not passed (exit {run.exit_code}): {run.tail}", flush=True)


def main(args: argparse.Namespace) -> int:
    overlays = list(args.overlay)
    source = args.source.resolve()
    counts = sorted(set(args.n))
    most = max(counts)
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        work = Path(tmp)
        serial = 0

        def fresh() -> Path:
            nonlocal serial
            serial += 1
            return fresh_copy(source, work / f"src-{serial}",
                              f"cold-{serial}-{secrets.token_hex(4)}")

        def reports(label: str) -> Path:
            return work / f"reports-{label}"

        print(f"load average before: {load()}; N: {' '.join(map(str, counts))}", flush=True)
        # The first cold run also validates the copy every warm run uses.
        first = run_one(fresh(), reports("cold-seq-0"), overlays)
        warm_source = work / "src-1"
        print(f"cold run 1: {first.wall:.1f}s {first.status} (load {load()})", flush=True)
        # Warm first (short): N runs of that copy, nothing changed; peers: the same in turn.
        seq = [run_one(warm_source, reports(f"warm-seq-{i}"), overlays) for i in range(most)]
        for n in counts:
            together, runs = run_together(
                [(warm_source, reports(f"warm-{n}-{i}")) for i in range(n)], overlays)
            report("warm", n, together, runs, seq[:n])
        print(f"load average after warm: {load()}", flush=True)
        if args.warm_only:
            return 0
        # Cold: the sequence is `most` fresh runs in turn (its first n are the peer of n).
        seq = [first] + [run_one(fresh(), reports(f"cold-seq-{i}"), overlays)
                         for i in range(1, most)]
        print(f"cold sequence: {', '.join(f'{r.wall:.1f}s {r.status}' for r in seq)} "
              f"(load {load()})", flush=True)
        for n in counts:
            if n == 1:
                report("cold", 1, first.wall, [first], seq[:1])
                continue
            together, runs = run_together(
                [(fresh(), reports(f"cold-{n}-{i}")) for i in range(n)], overlays)
            report("cold", n, together, runs, seq[:n])
            print(f"  (load {load()})", flush=True)
        print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    parser = parser_for(__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--warm-only", action="store_true",
                        help="only the warm runs (after the one cold run they need)")
    sys.exit(main(parser.parse_args()))
