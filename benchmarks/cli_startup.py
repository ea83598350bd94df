"""Benchmark: CLI start-up, each command's fixed cost beside `python -c pass` (issue 16).

Measures `pipeline --help`, `pipeline COMMAND --help` for every command, and
`check-image` of a one-file image, each in its own process (best of --repeat
after a warm-up), beside `python -c pass` in the same run. The target is
+0.15 s at most over `python -c pass`.

    .venv/bin/python benchmarks/cli_startup.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._measure import PEAK_SOURCE, best
from pipeline.cli.lazy import INDEX
from tests.imagebuilder import ImageBuilder, LayerSpec

CONTRACT = '[services.app]\ncontext = "."\nport = 8000\n'
TARGET = 0.15


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as scratch:
        work = Path(scratch)
        (work / "pipeline.toml").write_text(CONTRACT)
        image = ImageBuilder(config={"User": "1000", "ExposedPorts": {"8000/tcp": {}}})
        image.layers = [LayerSpec(created_by="COPY hello.txt /").file("hello.txt", "hi\n")]
        tarball = image.write(work / "one-file.tar")
        cases = {"python -c pass (peer)": [python, "-c", "pass"],
                 "pipeline --help": [python, "-m", "pipeline", "--help"]}
        for command in INDEX:
            cases[f"pipeline {command} --help"] = [python, "-m", "pipeline", command, "--help"]
        cases["check-image, one-file image"] = [
            python, "-m", "pipeline", "check-image", str(tarball), "--contract",
            str(work / "pipeline.toml"), "--service", "app"]
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
              f"best of {args.repeat} after a warm-up; peak RSS from {PEAK_SOURCE}")
        print(f"{'command':<40} {'wall s':>7} {'cpu s':>6} {'peak MiB':>9} {'over peer':>10}")
        peer = None
        for label, argv in cases.items():
            got = best(argv, args.repeat)
            peer = got.wall if peer is None else peer
            over = got.wall - peer
            mark = "" if over <= TARGET else "  over target"
            print(f"{label:<40} {got.wall:7.3f} {got.cpu:6.2f} {got.peak_mib:9.1f} "
                  f"{over:+9.3f}s{mark}")
    print(f"target: each command within +{TARGET:.2f} s of `python -c pass`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
