"""Release-promotion benchmark: move a stage to a release of two 300 MB services.

Starts Debian's docker-registry on a free port, pushes two fresh 300 MB images
(backend, frontend: 3 random layers of 100 MB each), publishes them as one signed
release, then times, in the same run:
  - `promote --release` of that release to a fresh stage (verifies the release
    attestation and every image, writes both service stage tags and the stage record,
    converges, two history events),
  - `crane copy` of both images by digest to a tag in the same repository (the peer;
    crane is obtained as benchmarks/promote_bench.py says).
Layer bytes are counted by the client's own counters (pipeline only) and from the
registry's access log for every tool (blob GETs with a body, upload requests).

Usage: .venv/bin/python benchmarks/release_bench.py [--layers 3] [--layer-mb 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.promote_bench import access_lines, crane_binary, layer_traffic  # noqa: E402
from pipeline.registry import signing  # noqa: E402
from pipeline.registry.client import RegistryClient  # noqa: E402
from pipeline.registry.reference import parse_repository  # noqa: E402
from pipeline.registry.release_stages import promote_release  # noqa: E402
from pipeline.registry.releases import new_release, publish_release  # noqa: E402
from tests.registry.regimages import push_image  # noqa: E402
from tests.registry.regserver import RegistryServer  # noqa: E402

SERVICES = ("backend", "frontend")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--layer-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    crane = crane_binary()
    with tempfile.TemporaryDirectory(prefix="release-bench-") as tmp:
        os.environ["PIPELINE_EVENT_LOG"] = str(Path(tmp) / "events.jsonl")
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
    started = time.perf_counter()
    images, layers = {}, set()
    for service in SERVICES:
        manifest = push_image(client, f"bench/{service}",
                              [args.layer_mb * 1024 * 1024] * args.layers)
        images[service] = f"{server.host}/bench/{service}@{manifest.digest}"
        layers |= set(manifest.blob_digests()[1:])
    push_seconds = time.perf_counter() - started
    release = new_release(images, lanes_passed=["build", "contract", "e2e"],
                          contract_sha256="00" * 32, git_revision="bench")
    publish_release(client, f"{server.host}/bench/releases", release, private)
    repo = parse_repository(f"{server.host}/bench/releases")
    _, offset = access_lines(server.log_path, 0)
    total = len(SERVICES) * args.layers * args.layer_mb
    print(f"release {release.id}: {len(SERVICES)} services x {args.layers} layers of "
          f"{args.layer_mb} MiB ({total} MiB of layers); initial push {push_seconds:.1f} s")

    results: dict[str, list[tuple[float, int, int, int]]] = {}

    def measure(name: str, action) -> None:
        nonlocal offset
        before = client.stats.bytes_of(sorted(layers))
        t0 = time.perf_counter()
        action()
        seconds = time.perf_counter() - t0
        lines, offset = access_lines(server.log_path, offset)
        served, uploads = layer_traffic(lines, layers)
        moved = client.stats.bytes_of(sorted(layers)) - before
        results.setdefault(name, []).append((seconds, moved, served, uploads))

    def crane_both(i: int) -> None:
        for service, ref in images.items():
            subprocess.run([crane, "copy", "--insecure", ref,
                            f"{server.host}/bench/{service}:crane-{i}"],
                           check=True, capture_output=True)

    for i in range(args.runs):
        measure("promote --release (2 services)",
                lambda i=i: promote_release(client, repo, release.id, f"bench-{i}", public))
        if crane:
            measure("crane copy of both images", lambda i=i: crane_both(i))
    report(results, crane)
    return 0


def report(results, crane) -> None:
    print(f"\n{'operation':<34} {'median s':>9} {'min s':>7} {'client layer B':>15} "
          f"{'log GET bytes':>14} {'uploads':>8}")
    for name, rows in results.items():
        times = [r[0] for r in rows]
        moved = max(r[1] for r in rows) if name.startswith("promote") else "n/a"
        print(f"{name:<34} {statistics.median(times):>9.3f} {min(times):>7.3f} {moved:>15} "
              f"{max(r[2] for r in rows):>14} {max(r[3] for r in rows):>8}")
    if not crane:
        print("\ncrane: not installed (go install "
              "github.com/google/go-containerregistry/cmd/crane@v0.20.2); peer not measured")
        return
    ours = statistics.median(r[0] for r in results["promote --release (2 services)"])
    peer = statistics.median(r[0] for r in results["crane copy of both images"])
    print(f"\nratio promote --release / crane copy of both (median): {ours / peer:.2f}")


if __name__ == "__main__":
    sys.exit(main())
