"""Promotion benchmark: promote a 300 MB image and count the layer bytes that moved.

Starts Debian's docker-registry on a free port, pushes a fresh 300 MB image
(3 random layers of 100 MB), attests it, then times, in the same run:
  - `promote` to a stage in the same repository (a tag PUT),
  - `promote` to a stage in another repository (cross-repository blob mounts),
  - `crane copy` of the same digest to a tag in the same repository and to another
    repository (the peer: go-containerregistry, installed by scripts/deps.d/... or
    `go install github.com/google/go-containerregistry/cmd/crane@v0.20.2`).
Layer bytes are counted twice: by the client's own byte counters (pipeline only)
and from the registry's access log (every tool): blob GETs with a body, and blob
upload requests (PATCH/PUT) on an upload session, which only happen when a tool
re-sends layer data.

Usage: .venv/bin/python benchmarks/promote_bench.py [--layers 3] [--layer-mb 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402

from pipeline.registry import signing  # noqa: E402
from pipeline.registry.attestation import attest  # noqa: E402
from pipeline.registry.client import RegistryClient  # noqa: E402
from pipeline.registry.promotion import promote  # noqa: E402
from tests.registry.regimages import push_image  # noqa: E402
from tests.registry.regserver import RegistryServer  # noqa: E402

ACCESS = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d+) (?P<bytes>\d+)'
)


def crane_binary() -> str | None:
    found = shutil.which("crane")
    home = Path.home() / "go" / "bin" / "crane"
    return found or (str(home) if home.exists() else None)


def access_lines(log: Path, start: int) -> tuple[list[re.Match[str]], int]:
    data = log.read_bytes()
    text = data[start:].decode(errors="replace")
    return [m for m in map(ACCESS.search, text.splitlines()) if m], len(data)


def layer_traffic(lines: list[re.Match[str]], layers: set[str]) -> tuple[int, int]:
    """(layer bytes served by GET, upload requests) seen in the access log."""
    served = uploads = 0
    for m in lines:
        path, method = m["path"], m["method"]
        if method == "GET" and "/blobs/sha256:" in path and path.rsplit("/", 1)[-1] in layers:
            served += int(m["bytes"])
        if "/blobs/uploads/" in path and method in ("PATCH", "PUT"):
            uploads += 1
    return served, uploads


class LayerMeter:
    """Times actions and counts the layer bytes each moved, by the client's own counters
    (pipeline only) and in the registry's access log (every tool)."""

    def __init__(self, client: RegistryClient, log: Path, layers: set[str]) -> None:
        self.client, self.log, self.layers = client, log, layers
        self.offset = 0
        self.results: dict[str, list[tuple[float, int, int, int]]] = {}

    def read_log(self) -> list[re.Match[str]]:
        """The access-log lines since the last read."""
        lines, self.offset = access_lines(self.log, self.offset)
        return lines

    def measure(self, name: str, action) -> None:
        before = self.client.stats.bytes_of(sorted(self.layers))
        t0 = time.perf_counter()
        action()
        seconds = time.perf_counter() - t0
        served, uploads = layer_traffic(self.read_log(), self.layers)
        moved = self.client.stats.bytes_of(sorted(self.layers)) - before
        self.results.setdefault(name, []).append((seconds, moved, served, uploads))

    def print_table(self, width: int, moved_header: str) -> None:
        """Median and min time, and the most layer bytes any run moved, per operation
        (client bytes for pipeline's own operations only)."""
        print(f"\n{'operation':<{width}} {'median s':>9} {'min s':>7} "
              f"{moved_header:>{len(moved_header) + 1}} {'log GET bytes':>14} {'uploads':>8}")
        for name, rows in self.results.items():
            times = [r[0] for r in rows]
            moved = max(r[1] for r in rows) if name.startswith("promote") else "n/a"
            print(f"{name:<{width}} {statistics.median(times):>9.3f} {min(times):>7.3f} "
                  f"{moved:>{len(moved_header) + 1}} {max(r[2] for r in rows):>14} "
                  f"{max(r[3] for r in rows):>8}")

    def median(self, name: str) -> float:
        return statistics.median(r[0] for r in self.results[name])


CRANE_MISSING = ("\ncrane: not installed (go install "
                 "github.com/google/go-containerregistry/cmd/crane@v0.20.2); peer not measured")


@dataclass
class Bench:
    """What a registry benchmark runs with: its options, a fresh registry, a key pair, a
    client, and crane when installed."""

    args: argparse.Namespace
    server: RegistryServer
    crane: str | None
    private: bytes
    public: Ed25519PublicKey
    client: RegistryClient


def bench_main(description: str, prefix: str, run: Callable[[Bench], int]) -> int:
    """Parse the shared options, start docker-registry in a temporary directory (events
    logged there too), and `run` the benchmark against it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--layer-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.environ["PIPELINE_EVENT_LOG"] = str(Path(tmp) / "events.jsonl")
        server = RegistryServer(Path(tmp))
        server.start()
        try:
            private, public_pem = signing.generate_key_pair()
            public = signing.load_public_key(public_pem, source="bench")
            with RegistryClient(server.host) as client:
                return run(Bench(args, server, crane_binary(), private, public, client))
        finally:
            server.stop()


def main() -> int:
    return bench_main(__doc__.splitlines()[0], "promote-bench-", run)


def run(bench: Bench) -> int:
    args, server, crane, client = bench.args, bench.server, bench.crane, bench.client
    private, public = bench.private, bench.public
    size = args.layers * args.layer_mb * 1024 * 1024
    started = time.perf_counter()
    manifest = push_image(client, "bench/app", [args.layer_mb * 1024 * 1024] * args.layers)
    push_seconds = time.perf_counter() - started
    ref = f"{server.host}/bench/app@{manifest.digest}"
    attest(client, ref, ["build", "contract", "e2e"], "00" * 32, "bench", private)
    layers = set(manifest.blob_digests()[1:])
    pushed = client.stats.bytes_of(sorted(layers))
    meter = LayerMeter(client, server.log_path, layers)
    print(f"image: {ref}")
    print(f"  {args.layers} layers of {args.layer_mb} MiB random data ({size} bytes uncompressed)")
    print(f"  initial push: {push_seconds:.2f} s, {pushed} layer bytes sent, "
          f"{layer_traffic(meter.read_log(), layers)[1]} upload requests in the registry log "
          "(shows the counters see layer traffic)")

    env = dict(os.environ)
    events_log = open(os.devnull, "w")  # promotion events go to stderr; keep the table readable
    real_stderr, sys.stderr = sys.stderr, events_log
    try:
        run_all(args, crane, client, ref, public, server, meter.measure, env)
    finally:
        sys.stderr = real_stderr
        events_log.close()
    meter.print_table(36, "layer bytes")
    if not crane:
        print(CRANE_MISSING)
    else:
        ratio = meter.median("promote (same repository)") / meter.median(
            "crane copy (same repository)")
        print(f"\nratio promote/crane (same repository, median): {ratio:.2f}")
        print("(promote also verifies the signed attestation and writes two history events)")
    return 0


def run_all(args, crane, client, ref, public, server, measure, env) -> None:
    for i in range(args.runs):
        measure("promote (same repository)",
                lambda i=i: promote(client, ref, f"bench-{i}", public))
        measure("promote (other repository, mount)",
                lambda i=i: promote(client, ref, "bench", public,
                                target_repository=f"{server.host}/bench/promoted-{i}"))
        if crane:
            measure("crane copy (same repository)", lambda i=i: subprocess.run(
                [crane, "copy", "--insecure", ref, f"{server.host}/bench/app:crane-{i}"],
                check=True, capture_output=True, env=env))
            measure("crane copy (other repository)", lambda i=i: subprocess.run(
                [crane, "copy", "--insecure", ref, f"{server.host}/bench/crane-{i}:stage"],
                check=True, capture_output=True, env=env))


if __name__ == "__main__":
    sys.exit(main())
