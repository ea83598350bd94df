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

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.promote_bench import CRANE_MISSING, Bench, LayerMeter, bench_main  # noqa: E402
from pipeline.registry.reference import parse_repository  # noqa: E402
from pipeline.registry.release_stages import promote_release  # noqa: E402
from pipeline.registry.releases import new_release, publish_release  # noqa: E402
from tests.registry.regimages import push_image  # noqa: E402

SERVICES = ("backend", "frontend")


def main() -> int:
    return bench_main(__doc__.splitlines()[0], "release-bench-", run)


def run(bench: Bench) -> int:
    args, server, crane, client = bench.args, bench.server, bench.crane, bench.client
    private, public = bench.private, bench.public
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
    meter = LayerMeter(client, server.log_path, layers)
    meter.read_log()  # the initial push is not measured
    total = len(SERVICES) * args.layers * args.layer_mb
    print(f"release {release.id}: {len(SERVICES)} services x {args.layers} layers of "
          f"{args.layer_mb} MiB ({total} MiB of layers); initial push {push_seconds:.1f} s")

    def crane_both(i: int) -> None:
        for service, ref in images.items():
            subprocess.run([crane, "copy", "--insecure", ref,
                            f"{server.host}/bench/{service}:crane-{i}"],
                           check=True, capture_output=True)

    for i in range(args.runs):
        meter.measure("promote --release (2 services)",
                      lambda i=i: promote_release(client, repo, release.id, f"bench-{i}", public))
        if crane:
            meter.measure("crane copy of both images", lambda i=i: crane_both(i))
    meter.print_table(34, "client layer B")
    if not crane:
        print(CRANE_MISSING)
        return 0
    ours = meter.median("promote --release (2 services)")
    peer = meter.median("crane copy of both images")
    print(f"\nratio promote --release / crane copy of both (median): {ours / peer:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
