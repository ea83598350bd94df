"""Benchmark: `validate` on the sample app, cold then warm, and against its critical path.

    eval "$(scripts/engine env)"
    .venv/bin/python benchmarks/validate_bench.py [--source examples/taskflow] [--overlay ...]

Both figures are whole commands, as a user waits for them (`python -m pipeline
validate`, see benchmarks/_runs.py): session, source upload, lanes, reports.
Cold: a fresh copy of the source whose every build step has a new cache key (a
nonce after each Dockerfile `FROM`, see `fresh_copy`), so every image is built,
every install, lint, test and probe runs; base images and package caches stay
warm. `--prune` instead prunes the engine's local cache first (everything cold,
package caches too): never on an engine other people's runs share. Warm: the same
copy again, nothing changed. Prints figures; asserts nothing.

Targets (issue 16): warm / cold <= 10%, both whole commands; cold wall <= 1.2 x the
DAG's critical path (the longest chain of lane durations: what unlimited
parallelism could reach). The serial sum of lane durations is printed beside it as
the peer: what running the lanes one after another would cost.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runs import Run, fresh_copy, load, parser_for, run_one


def describe(label: str, run: Run) -> None:
    serial = sum(seconds for _, _, seconds in run.lanes)
    ratio = run.wall / run.critical_path if run.critical_path else float("nan")
    print(f"{label}: whole command {run.wall:.1f}s, exit {run.exit_code}, status {run.status}; "
          f"critical path {run.critical_path:.1f}s ({' -> '.join(run.chain)}); "
          f"wall/critical path {ratio:.2f}; serial sum of lanes {serial:.1f}s "
          f"(parallel speed-up {serial / run.wall:.2f}x)")
    if run.tail:
        print(f"  {label} output: {run.tail}")


def prune() -> None:
    import anyio
    from dagger import dag

    from pipeline.engine import connection

    async def go() -> None:
        async with connection():
            await dag.engine().local_cache().prune()

    anyio.run(go)


def main(args: argparse.Namespace) -> int:
    source = args.source.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        work = Path(tmp)
        copy = fresh_copy(source, work / "src", f"cold-{secrets.token_hex(6)}")
        print(f"load average before: {load()}", flush=True)
        if args.prune:
            prune()
            print("pruned the engine's local cache", flush=True)
        cold = run_one(copy, work / "cold", list(args.overlay))
        print(f"load average after cold: {load()}", flush=True)
        warm = run_one(copy, work / "warm", list(args.overlay))
        print(f"load average after warm: {load()}")
    describe("cold", cold)
    describe("warm", warm)
    print(f"warm/cold (whole commands): {warm.wall / cold.wall:.1%} (target <= 10%)")
    ratio = cold.wall / cold.critical_path if cold.critical_path else float("nan")
    print(f"cold wall/critical path: {ratio:.2f} (target <= 1.2)")
    for name, status, seconds in cold.lanes:
        print(f"  cold lane {name:<20} {status:<8} {seconds:6.1f}s")
    for name, status, seconds in warm.lanes:
        print(f"  warm lane {name:<20} {status:<8} {seconds:6.1f}s")
    return 0


if __name__ == "__main__":
    parser = parser_for(__doc__)
    parser.add_argument("--prune", action="store_true",
                        help="prune the engine's local cache first (not on a shared engine)")
    sys.exit(main(parser.parse_args()))
