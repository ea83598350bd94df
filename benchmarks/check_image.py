"""Benchmark: `check-image` on a generated image tarball, beside dockle on the same tarball.

Generates a docker-save image (default: 300 MB of file content in 20,000 files
over 4 layers; half text, half binary, a few planted violations), then runs,
each in its own process, peak memory its own (benchmarks/_measure.py):
  - pipeline check-image (python -m pipeline check-image ...)
  - dockle --input IMAGE.tar (if on PATH or in ~/go/bin; scripts/deps.d/contract.sh
    builds it)
  - container-structure-test --driver tar (if available)
Prints wall time, CPU time and peak RSS for each, and the ratios. Run several
sizes to show memory does not grow with image size (issue 16: flat up to 1 GB):

    .venv/bin/python benchmarks/check_image.py --sizes 300 1000
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._measure import PEAK_SOURCE, Measurement, measure
from tests.imagebuilder import ImageBuilder, LayerSpec, debian_like

CONTRACT = """\
[services.app]
context = "."
port = 8000
max_size = "2GB"
"""
NO_DIGESTS = """\
import sys
from pipeline.image import digest, view
digest.Verifier.span = lambda self, *args: None
view.prefetch_digests = lambda path: None
from pipeline.cli import main
sys.exit(main(["check-image", *sys.argv[1:]]))
"""
# The same command with the C header walk off (pipeline/image/_tarwalk.c), as where the
# package is installed without a compiler: says what the C walk saves.
PYTHON_WALK = """\
import sys
from pipeline.image import tarstream
tarstream._walk = None
from pipeline.cli import main
sys.exit(main(["check-image", *sys.argv[1:]]))
"""
WORDS = (b"def return import class self value request response config service health "
         b"database session user token cache layer image build stage runtime port").split()


def text_corpus(size: int, rng: random.Random) -> bytes:
    lines = []
    total = 0
    while total < size:
        line = b" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + b"\n"
        lines.append(line)
        total += len(line)
    return b"".join(lines)[:size]


def generate(path: Path, total_mb: int, files: int, layers: int = 4) -> None:
    rng = random.Random(42)
    corpus = text_corpus(4 * 1024 * 1024, rng)
    binary = os.urandom(8 * 1024 * 1024)
    per_file = total_mb * 1_000_000 // files
    image = ImageBuilder.clean()
    image.layers = [debian_like()]
    specs = [LayerSpec(created_by=f"COPY part{i} /opt/part{i}") for i in range(layers)]
    for n in range(files):
        size = max(1, int(per_file * rng.uniform(0.2, 1.8)))
        source = corpus if n % 2 else binary
        start = rng.randrange(0, len(source) - size) if size < len(source) else 0
        spec = specs[n % layers]
        spec.file(f"opt/part{n % layers}/pkg{n // 500}/file{n}.{'py' if n % 2 else 'bin'}",
                  source[start:start + size], 0o644)
    # A few real violations, so the rules have work to report.
    specs[0].file("opt/part0/deploy.pem",
                  b"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n")
    specs[1].file("usr/bin/newgrp", b"\x7fELF" + b"\0" * 60, 0o4755)
    image.layers += specs
    image.config["Env"] = ["PATH=/usr/bin:/bin", "AWS_SECRET_ACCESS_KEY=abcdefabcdef1234"]
    image.write(path, fmt="docker")


OURS, UNVERIFIED = "pipeline check-image", "check-image, no digest check"
PURE = "check-image, Python walk"


def interleaved(tools: dict[str, list[str]], repeat: int) -> dict[str, Measurement]:
    """Each tool once as a warm-up, then `repeat` rounds of every tool in turn (so a change
    of load hits all alike): best wall and CPU per tool, highest peak RSS."""
    for argv in tools.values():
        measure(argv)
    runs: dict[str, list[Measurement]] = {tool: [] for tool in tools}
    for _ in range(repeat):
        for tool, argv in tools.items():
            runs[tool].append(measure(argv))
    return {tool: Measurement(min(r.wall for r in got), min(r.cpu for r in got),
                              max(r.peak_mib for r in got), got[0].returncode)
            for tool, got in runs.items()}


def find_tool(name: str) -> str | None:
    return shutil.which(name) or (str(p) if (p := Path.home() / "go" / "bin" / name).exists()
                                  else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[300], help="MB of content")
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; best is kept")
    parser.add_argument("--keep", type=Path, default=None,
                        help="generate the tarball here (kept) or reuse it if there")
    args = parser.parse_args()
    dockle, cst = find_tool("dockle"), find_tool("container-structure-test")
    work = Path(tempfile.mkdtemp(prefix="bench-check-image-"))
    (work / "pipeline.toml").write_text(CONTRACT)
    (work / "cst.yaml").write_text('schemaVersion: "2.0.0"\nfileExistenceTests:\n'
                                   '  - name: no gcc\n    path: /usr/bin/gcc\n'
                                   '    shouldExist: false\n')
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"best of {args.repeat} after a warm-up; peak RSS from {PEAK_SOURCE}")
    print(f"{'image':>14} {'tool':>30} {'wall s':>8} {'cpu s':>7} {'peak MiB':>9} {'exit':>5}")
    try:
        for size in args.sizes:
            where = args.keep or work
            tarball = where / f"image-{size}MB-{args.files}.tar"
            if not tarball.exists():
                # Generate in a child: a forked child's peak RSS would include ours.
                subprocess.run([sys.executable, __file__, "--generate", str(tarball), str(size),
                                str(args.files)], check=True)
            label = f"{size}MB/{args.files // 1000}k"
            check = ["--contract", str(work / "pipeline.toml"), "--service", "app"]
            tools = {OURS: [sys.executable, "-m", "pipeline", "check-image", str(tarball),
                            *check],
                     # The same command with the layer digest check off (issue 13 keeps it
                     # on; this says what it costs): a benchmark-only patch, no option.
                     UNVERIFIED: [sys.executable, "-c", NO_DIGESTS, str(tarball), *check],
                     PURE: [sys.executable, "-c", PYTHON_WALK, str(tarball), *check]}
            if dockle:
                tools["dockle --input"] = [dockle, "--input", str(tarball), "--exit-code", "0"]
            if cst:
                tools["container-structure-test tar"] = [
                    cst, "test", "--driver", "tar", "--image", str(tarball),
                    "--config", str(work / "cst.yaml")]
            results = interleaved(tools, args.repeat)
            for tool, got in results.items():
                print(f"{label:>14} {tool:>30} {got.wall:8.2f} {got.cpu:7.2f} "
                      f"{got.peak_mib:9.1f} {got.returncode:5d}")
            for ours in (OURS, UNVERIFIED, PURE):
                for tool, got in results.items():
                    if tool not in (OURS, UNVERIFIED, PURE):
                        print(f"{label:>14} {ours + ' / ' + tool.split()[0]:>30} "
                              f"{results[ours].wall / got.wall:7.2f}x {'':>7} "
                              f"{results[ours].peak_mib / got.peak_mib:8.2f}x")
            if not cst:
                print(f"{label:>14} container-structure-test not installed (module proxy "
                      "refuses its versions here)")
            if args.keep is None:
                tarball.unlink()
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        generate(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
