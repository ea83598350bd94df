"""Releases on the real engine and registry: two validate runs publish two releases; a stage
takes release 1 (verified), then release 2, which passed validate but fails verification
under a stage overlay with a wrong database URL, and is rolled back to release 1; render
writes the release the stage holds."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import pytest
import yaml

from tests.conftest import REGISTRY
from tests.lanes.test_validate import OVERLAY, TASKFLOW, run_cli

pytestmark = [pytest.mark.engine, pytest.mark.slow]

BAD_DATABASE = """\
# staging-broken: this stage's database URL points at a host that does not exist.
[services.backend.runtime]
env = { DATABASE_URL = "postgresql://taskflow:taskflow@no-such-db:5432/taskflow" }
"""


def _release_line(stdout: str) -> tuple[str, str]:
    line = next(line for line in stdout.splitlines() if line.startswith("release rel-"))
    _, rid, _, repository = line.split()
    return rid, repository


@pytest.fixture(scope="module")
def published(engine_env, tmp_path_factory):
    """Two validate runs of the sample, the second with a changed backend: two releases."""
    from pipeline.registry.signing import generate_key_pair

    root = tmp_path_factory.mktemp("releases")
    private, public = generate_key_pair()
    (root / "pub.pem").write_bytes(public)
    source = root / "taskflow"
    shutil.copytree(TASKFLOW, source, ignore=shutil.ignore_patterns(
        "node_modules", ".venv", "__pycache__", "reports", "dist"))
    (source / "stages" / "broken-db.toml").write_text(BAD_DATABASE)
    # Without the browser lane: releases are about what passed, and the E2E lane is
    # validate's own test (tests/lanes/test_validate.py); this keeps two runs affordable.
    contract = (source / "pipeline.toml").read_text()
    (source / "pipeline.toml").write_text(contract[:contract.index("\n[e2e]")] + "\n")
    prefix = f"{REGISTRY}/pipeline-test/rel-{uuid.uuid4().hex[:8]}"
    releases = []
    os.environ["PIPELINE_SIGNING_KEY"] = private.decode()
    try:
        for number in (1, 2):
            (source / "backend" / "app" / "release.txt").write_text(f"{number}\n")
            result = run_cli("validate", "--source", str(source), "--overlay", OVERLAY,
                             "--reports", str(root / f"reports-{number}"), "--progress", "quiet",
                             "--publish-to", prefix, "--git-revision", f"rev{number}",
                             "--version", f"1.{number}.0", "--branch", "feature/x")
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            releases.append(_release_line(result.stdout))
    finally:
        del os.environ["PIPELINE_SIGNING_KEY"]
    assert releases[0][1] == releases[1][1] == f"{prefix}/releases"
    return {"root": root, "source": source, "pub": root / "pub.pem", "prefix": prefix,
            "repository": releases[0][1], "ids": [rid for rid, _ in releases]}


def test_publish_names_tags_and_stores_the_release(published):
    from pipeline.registry import RegistryClient, parse_reference
    from pipeline.registry.releases import load_release

    first, second = published["ids"]
    assert first != second
    repo = parse_reference(published["repository"])
    with RegistryClient.for_reference(repo) as client:
        release, _ = load_release(client, repo.repository, second)
        backend = release.services["backend"]
        tags = client.list_tags(backend.image.repository)
        assert client.head_manifest(backend.image.repository, "1.2.0") == backend.digest
        assert client.head_manifest(backend.image.repository, "1.2.0-feature-x") == backend.digest
    assert {"1.1.0", "1.2.0", "1.1.0-feature-x"} <= set(tags)
    assert release.git_revision == "rev2" and release.version == "1.2.0"
    assert release.waivers == []
    assert {"integration", "contract:backend", "contract:frontend"} <= set(release.lanes_passed)
    record = json.loads((published["root"] / "reports-2" / "lanes" / "publish" /
                         "release.json").read_text())
    assert record["release"] == second


def test_promote_verify_then_failed_verification_rolls_back(published, tmp_path):
    first, second = published["ids"]
    common = ["--repository", published["repository"], "--stage", "staging",
              "--public-key", str(published["pub"])]
    verify = ["--verify", "--source", str(published["source"]), "--overlay", OVERLAY]
    env_log = tmp_path / "events.jsonl"
    os.environ["PIPELINE_EVENT_LOG"] = str(env_log)
    try:
        one = run_cli("promote", "--release", first, *common, "--reason", "ship 1", *verify,
                      "--overlay", "stages/staging.toml", "--reports", str(tmp_path / "v1"))
        assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-3000:]
        assert f"verification of release {first}: passed" in one.stdout

        two = run_cli("promote", "--release", second, *common, "--reason", "ship 2", *verify,
                      "--overlay", "stages/broken-db.toml", "--rollback-on-failure",
                      "--reports", str(tmp_path / "v2"))
    finally:
        del os.environ["PIPELINE_EVENT_LOG"]
    assert two.returncode == 1, two.stdout[-3000:] + two.stderr[-3000:]
    assert f"verification of release {second}: FAILED" in two.stdout
    assert f"rolled-back release {first}" in two.stdout
    # The images were pulled by digest from the release, never rebuilt.
    summary = json.loads((tmp_path / "v2" / "summary.json").read_text())
    kinds = {lane["name"].split(":")[0] for lane in summary["lanes"]}
    assert "build" not in kinds and {"pull", "health"} <= kinds
    health = next(lane for lane in summary["lanes"] if lane["name"] == "health:backend")
    assert health["status"] == "failed"
    assert "no-such-db" not in two.stdout + two.stderr  # the URL is a secret: never printed

    history = run_cli("history", "--repository", published["repository"], "--stage", "staging",
                      "--json")
    assert history.returncode == 0, history.stderr
    data = json.loads(history.stdout)
    assert data["release"] == first
    steps = [(e["action"], e["release"], e["status"]) for e in data["entries"]]
    assert steps == [("promote", first, "completed"), ("verify", first, "passed"),
                     ("promote", second, "completed"), ("verify", second, "failed"),
                     ("rollback", first, "completed")]
    rollback = data["entries"][-1]
    assert rollback["reason"].startswith(f"verification of {second} failed: health:backend")
    logged = [json.loads(line)["event"] for line in env_log.read_text().splitlines()]
    assert logged.count("stage.verify") == 2 and "stage.rollback" in logged

    out = tmp_path / "deploy"
    rendered = run_cli("render", "--repository", published["repository"], "--stage", "staging",
                       "--out", str(out))
    assert rendered.returncode == 0, rendered.stderr
    compose = yaml.safe_load((out / "compose.yaml").read_text())
    assert {s["labels"]["dev.pipeline.release"] for s in compose["services"].values()} == {first}
    assert all("@sha256:" in s["image"] for s in compose["services"].values())
