"""Benchmark: peak RSS and time per image-bomb class, beside a clean image of the same size.

Each bomb of tests/hostile/image_bombs.py (issue 13) is generated at --size MB
(what it declares or holds), then `pipeline check-image` runs on it and on a
clean image of about the same file size, each in its own process. Prints exit
code, wall and CPU time, peak RSS, and the bomb / clean ratios. Before the
bounded reader, huge-pax and gnu-long-name took 4-6 GB and absent-whiteouts
108 s on a 46 MB image.

    .venv/bin/python benchmarks/image_bombs.py --size 256
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._measure import PEAK_SOURCE, best
from tests.hostile import image_bombs as bombs

# The size argument each generator takes for a bomb of about `size` MB.
SCALE = {"huge-pax": 1, "gnu-long-name": 1, "negative-size": 1, "oversized-member": 1,
         "package-dbs": 1, "deep-paths": 0.01, "absent-whiteouts": 0.5, "digest-mismatch": 1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="MB each bomb declares/holds")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bombs-") as scratch:
        work = Path(scratch)
        contract = bombs.write_contract(work)
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
              f"best of {args.repeat} after a warm-up; peak RSS from {PEAK_SOURCE}")
        print(f"{'class':<18} {'file MB':>8} {'exit':>4} {'wall s':>7} {'cpu s':>6} "
              f"{'peak MiB':>9} {'clean wall':>10} {'clean MiB':>9} {'wall x':>7} {'RSS x':>6}")
        for name, generate in bombs.BOMBS.items():
            size = max(1, int(args.size * SCALE[name]))
            bomb = generate(work / f"{name}.tar", size)
            file_mb = bomb.stat().st_size / 1e6
            # The peer: a clean image of the same file size (at least 1 MB of content).
            clean = bombs.clean(work / f"clean-{name}.tar", max(1, round(file_mb)))
            argv = [sys.executable, "-m", "pipeline", "check-image", "", "--contract",
                    str(contract), "--service", "app"]
            got = best([*argv[:4], str(bomb), *argv[5:]], args.repeat)
            peer = best([*argv[:4], str(clean), *argv[5:]], args.repeat)
            print(f"{name:<18} {file_mb:8.2f} {got.returncode:4d} {got.wall:7.2f} "
                  f"{got.cpu:6.2f} {got.peak_mib:9.1f} {peer.wall:10.2f} {peer.peak_mib:9.1f} "
                  f"{got.wall / peer.wall:7.2f} {got.peak_mib / peer.peak_mib:6.2f}")
            if name == "absent-whiteouts":
                # Also beside a clean image with as many entries (files + whiteouts): linear
                # cost means a whiteout of an absent path costs about what a file does.
                same = bombs.many_files(work / "clean-entries.tar", 2 * size * 1000)
                twin = best([*argv[:4], str(same), *argv[5:]], args.repeat)
                print(f"{'  same entries':<18} {same.stat().st_size / 1e6:8.2f} "
                      f"{twin.returncode:4d} {'':>7} {'':>6} {'':>9} {twin.wall:10.2f} "
                      f"{twin.peak_mib:9.1f} {got.wall / twin.wall:7.2f} "
                      f"{got.peak_mib / twin.peak_mib:6.2f}")
                same.unlink()
            bomb.unlink()
            clean.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
