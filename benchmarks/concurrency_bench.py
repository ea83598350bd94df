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


def main(args: argparse.Namespace) -> int:
    overlays = list(args.overlay)
    source = args.source.resolve()
    counts = sorted(set(args.n))
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

        print(f"load average before: {load()}; runs: {' '.join(map(str, counts))}", flush=True)
        results: dict[str, dict[int, tuple[float, list[Run]]]] = {"cold": {}, "warm": {}}
        sequences: dict[str, list[Run]] = {}
        if not args.warm_only:
            # The sequence: max(N) fresh runs one after another (its prefixes are the peers).
            seq = [run_one(fresh(), reports(f"cold-seq-{i}"), overlays)
                   for i in range(max(counts))]
            sequences["cold"] = seq
            print(f"cold sequence: {', '.join(f'{r.wall:.1f}s {r.status}' for r in seq)} "
                  f"(load {load()})", flush=True)
            for n in counts:
                if n == 1:
                    results["cold"][1] = (seq[0].wall, [seq[0]])
                    continue
                jobs = [(fresh(), reports(f"cold-{n}-{i}")) for i in range(n)]
                results["cold"][n] = run_together(jobs, overlays)
                print(f"cold N={n}: {results['cold'][n][0]:.1f}s (load {load()})", flush=True)
        warm_source = work / "src-1" if (work / "src-1").exists() else fresh()
        # Warm: the copy validated once already (by the cold sequence, or here).
        if args.warm_only:
            run_one(warm_source, reports("warm-first"), overlays)
        seq = [run_one(warm_source, reports(f"warm-seq-{i}"), overlays)
               for i in range(max(counts))]
        sequences["warm"] = seq
        for n in counts:
            jobs = [(warm_source, reports(f"warm-{n}-{i}")) for i in range(n)]
            results["warm"][n] = run_together(jobs, overlays)
        print(f"load average after: {load()}")
        for kind in ("cold", "warm"):
            for n, (together, runs) in sorted(results[kind].items()):
                peer = sequences[kind][:n]
                print(line(kind, n, together, runs, sum(r.wall for r in peer), peer))
        for kind in ("cold", "warm"):
            for _, runs in results[kind].values():
                for run in runs:
                    if not run.passed:
                        print(f"{kind} run not passed (exit {run.exit_code}): {run.tail}")
    return 0


if __name__ == "__main__":
    parser = parser_for(__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--warm-only", action="store_true", help="skip the cold runs")
    sys.exit(main(parser.parse_args()))
