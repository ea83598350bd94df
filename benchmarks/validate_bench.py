"""Benchmark: `validate` on the sample app, cold then warm, and against its critical path.

    eval "$(scripts/engine env)"
    .venv/bin/python benchmarks/validate_bench.py [--source examples/taskflow] [--overlay ...]

Cold: the engine's local cache is pruned first (layers, exec results, package
cache volumes), so every image is built and every install, lint and test runs;
base images come from the local registry. Warm: the same run again, nothing
changed. Prints figures; asserts nothing.

Targets (issue 5): warm <= 10% of cold; wall time <= 1.2 x the DAG's critical
path (the longest chain of lane durations: what unlimited parallelism could
reach). The serial sum of lane durations is printed beside it as the peer: what
running the lanes one after another would cost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import critical_path_ratio, stopwatch

from pipeline.dag import RunResult, critical_path_of
from pipeline.engine import connection
from pipeline.validate import ValidateOptions, validate

EXCLUDE = ["**/node_modules", "**/.venv", "**/__pycache__", ".git", "reports"]


async def one_run(source: Path, options: ValidateOptions, reports: Path) -> tuple[float, RunResult]:
    from dagger import dag

    directory = dag.host().directory(str(source), exclude=EXCLUDE)
    with stopwatch() as watch:
        result = await validate(directory, options, reports=reports, local_root=source)
    return watch.seconds, result.run


def describe(label: str, wall: float, run: RunResult) -> None:
    path = critical_path_of(run)
    serial = sum(r.duration for r in run)
    print(f"{label}: wall {wall:.1f}s, status {run.status.value}; critical path {path.duration:.1f}s "
          f"({' -> '.join(path.lanes)}); wall/critical path {critical_path_ratio(run, wall):.2f}; "
          f"serial sum of lanes {serial:.1f}s (parallel speed-up {serial / wall:.2f}x)")


async def main(args: argparse.Namespace) -> None:
    from dagger import dag

    source = args.source.resolve()
    options = ValidateOptions(overlays=tuple(args.overlay))
    with tempfile.TemporaryDirectory() as tmp:
        async with connection():
            if not args.keep_cache:
                with stopwatch() as prune:
                    await dag.engine().local_cache().prune()
                print(f"pruned the engine's local cache in {prune.seconds:.1f}s")
            cold, cold_run = await one_run(source, options, Path(tmp) / "cold")
            warm, warm_run = await one_run(source, options, Path(tmp) / "warm")
    describe("cold", cold, cold_run)
    describe("warm", warm, warm_run)
    print(f"warm/cold: {warm / cold:.1%} (target <= 10%)")
    print(f"cold wall/critical path: {critical_path_ratio(cold_run, cold):.2f} (target <= 1.2)")
    for r in cold_run:
        print(f"  cold lane {r.name:<20} {r.status.value:<8} {r.duration:6.1f}s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("examples/taskflow"))
    parser.add_argument("--overlay", action="append", default=["pipeline.offline.toml"])
    parser.add_argument("--keep-cache", action="store_true",
                        help="skip the prune (the first run is then not cold)")
    anyio.run(main, parser.parse_args())
