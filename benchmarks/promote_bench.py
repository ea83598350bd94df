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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--layer-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    crane = crane_binary()

    with tempfile.TemporaryDirectory(prefix="promote-bench-") as tmp:
        server = RegistryServer(Path(tmp))
        server.start()
        try:
            return run(server, crane, args)
        finally:
            server.stop()


def run(server: RegistryServer, crane: str | None, args: argparse.Namespace) -> int:
    private, public_pem = signing.generate_key_pair()
    public = signing.load_public_key(public_pem, source="bench")
    client = RegistryClient(server.host)
    size = args.layers * args.layer_mb * 1024 * 1024
    started = time.perf_counter()
    manifest = push_image(client, "bench/app", [args.layer_mb * 1024 * 1024] * args.layers)
    push_seconds = time.perf_counter() - started
    ref = f"{server.host}/bench/app@{manifest.digest}"
    attest(client, ref, ["build", "contract", "e2e"], "00" * 32, "bench", private)
    layers = set(manifest.blob_digests()[1:])
    pushed = client.stats.bytes_of(sorted(layers))
    lines, offset = access_lines(server.log_path, 0)
    print(f"image: {ref}")
    print(f"  {args.layers} layers of {args.layer_mb} MiB random data ({size} bytes uncompressed)")
    print(f"  initial push: {push_seconds:.2f} s, {pushed} layer bytes sent, "
          f"{layer_traffic(lines, layers)[1]} upload requests in the registry log "
          "(shows the counters see layer traffic)")

    results: dict[str, list[tuple[float, int, int, int]]] = {}

    def measure(name: str, action) -> None:
        nonlocal offset
        client_before = client.stats.bytes_of(sorted(layers))
        t0 = time.perf_counter()
        action()
        seconds = time.perf_counter() - t0
        lines, offset = access_lines(server.log_path, offset)
        served, uploads = layer_traffic(lines, layers)
        moved = client.stats.bytes_of(sorted(layers)) - client_before
        results.setdefault(name, []).append((seconds, moved, served, uploads))

    env = dict(os.environ)
    events_log = open(os.devnull, "w")  # promotion events go to stderr; keep the table readable
    real_stderr, sys.stderr = sys.stderr, events_log
    try:
        run_all(args, crane, client, ref, public, server, measure, env)
    finally:
        sys.stderr = real_stderr
        events_log.close()
    report(results, crane)
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


def report(results, crane) -> None:
    print(f"\n{'operation':<36} {'median s':>9} {'min s':>7} {'layer bytes':>12} "
          f"{'log GET bytes':>14} {'uploads':>8}")
    for name, rows in results.items():
        times = [r[0] for r in rows]
        moved = max(r[1] for r in rows) if name.startswith("promote") else None
        print(f"{name:<36} {statistics.median(times):>9.3f} {min(times):>7.3f} "
              f"{moved if moved is not None else 'n/a':>12} {max(r[2] for r in rows):>14} "
              f"{max(r[3] for r in rows):>8}")
    if not crane:
        print("\ncrane: not installed (go install "
              "github.com/google/go-containerregistry/cmd/crane@v0.20.2); peer not measured")
    else:
        promote_median = statistics.median(r[0] for r in results["promote (same repository)"])
        crane_median = statistics.median(r[0] for r in results["crane copy (same repository)"])
        ratio = promote_median / crane_median
        print(f"\nratio promote/crane (same repository, median): {ratio:.2f}")
        print("(promote also verifies the signed attestation and writes two history events)")


if __name__ == "__main__":
    sys.exit(main())
