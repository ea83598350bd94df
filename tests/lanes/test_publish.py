"""publish on the real engine and registry: validated images pushed by digest, attested,
then promoted to a stage without a rebuild or a re-upload."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from tests.conftest import REGISTRY
from tests.lanes.test_validate import OVERLAY, TASKFLOW, run_cli

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def test_publish_attest_then_promote_by_digest(engine_env, tmp_path):
    from pipeline.registry import RegistryClient, parse_reference, verify_attestation
    from pipeline.registry.signing import generate_key_pair, load_public_key
    from pipeline.registry.stages import stage_tag

    private, public = generate_key_pair()
    (tmp_path / "attestation.pub").write_bytes(public)
    repository = f"{REGISTRY}/pipeline-test/taskflow-{uuid.uuid4().hex[:8]}"
    reports = tmp_path / "reports"
    os.environ["PIPELINE_SIGNING_KEY"] = private.decode()
    try:
        result = run_cli("validate", "--source", str(TASKFLOW), "--overlay", OVERLAY,
                         "--reports", str(reports), "--progress", "quiet",
                         "--publish-to", repository, "--git-revision", "abc123")
    finally:
        del os.environ["PIPELINE_SIGNING_KEY"]
    assert result.returncode == 0, result.stdout + result.stderr
    # The key never reaches the reports or the output.
    secret_line = private.decode().splitlines()[1]
    for path in reports.rglob("*"):
        if path.is_file():
            assert secret_line not in path.read_text(errors="replace"), path
    assert secret_line not in result.stdout + result.stderr

    record = json.loads((reports / "lanes" / "publish" / "release.json").read_text())
    assert record["git_revision"] == "abc123"
    images = {image["service"]: image for image in record["images"]}
    assert set(images) == {"backend", "frontend"}
    key = load_public_key(public, source="test key")
    for service, image in images.items():
        ref = parse_reference(image["reference"])
        assert ref.digest and image["reference"].startswith(f"{repository}/{service}@sha256:")
        with RegistryClient.for_reference(ref) as client:
            statement = verify_attestation(client, ref, key)
        passed = set(statement.predicate.lanes_passed)
        assert {f"contract:{service}", "integration", "e2e", f"build:{service}"} <= passed

    backend = images["backend"]["reference"]
    # The backend was published in a two-service release: it never moves alone.
    alone = run_cli("promote", "--image", backend, "--stage", "staging",
                    "--public-key", str(tmp_path / "attestation.pub"), "--reason", "test")
    assert alone.returncode == 1 and "promote --release" in alone.stderr, alone.stderr
    assert record["release"] and record["release_repository"] == f"{repository}/releases"
    promoted = run_cli("promote", "--release", record["release"], "--repository",
                       record["release_repository"], "--stage", "staging",
                       "--public-key", str(tmp_path / "attestation.pub"), "--reason", "test")
    assert promoted.returncode == 0, promoted.stderr
    ref = parse_reference(backend)
    with RegistryClient.for_reference(ref) as client:
        by_digest = client.get_manifest(ref.repository, ref.digest)
        by_stage = client.get_manifest(ref.repository, stage_tag("staging"))
    assert by_stage is not None and by_digest is not None
    assert by_stage.data == by_digest.data  # the very manifest validated, byte for byte

    # A tag where a digest is required is refused, in one line, exit 2.
    refused = run_cli("promote", "--image", f"{repository}/backend:latest", "--stage", "staging",
                      "--public-key", str(tmp_path / "attestation.pub"))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
