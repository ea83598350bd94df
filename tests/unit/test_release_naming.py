"""Release naming (issue 15 item 3): repositories, semver and branch tags, `latest` local only."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import cli
from pipeline.errors import PipelineError
from pipeline.registry.naming import (
    branch_suffix,
    image_repository,
    publish_tags,
    version_from_git,
)
from pipeline.registry.reference import TAG_PATTERN


def test_repository_is_project_dash_service():
    assert image_repository("ghcr.io/acme", "backend", "taskflow") == "ghcr.io/acme/taskflow-backend"
    assert image_repository("ghcr.io/acme/", "backend", None) == "ghcr.io/acme/backend"


def test_semver_and_branch_tags():
    assert publish_tags("ghcr.io", version="1.2.3") == ["1.2.3"]
    assert publish_tags("ghcr.io", version="1.0.0", branch="kubernetes") == [
        "1.0.0", "1.0.0-kubernetes"]
    assert publish_tags("ghcr.io", version="2.0.0-rc.1", branch="feature/k8s") == [
        "2.0.0-rc.1", "2.0.0-rc.1-feature-k8s"]
    assert publish_tags("ghcr.io", run_id="run-1") == ["run-1"]


@pytest.mark.parametrize("bad", ["1.2", "v1.2.3", "01.2.3", "1.2.3+build", "latest ", "1.2.3-"])
def test_a_version_that_is_not_semver_is_refused(bad):
    with pytest.raises(PipelineError, match="not a semantic version"):
        publish_tags("ghcr.io", version=bad)


@pytest.mark.parametrize("host", ["ghcr.io", "registry.example.com:5000", "10.0.0.5:5000"])
def test_latest_is_refused_for_a_registry_that_is_not_local(host):
    with pytest.raises(PipelineError, match="local use only") as info:
        publish_tags(host, version="latest")
    assert "\n" not in str(info.value) and host in str(info.value)


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost:5000", "[::1]:5000"])
def test_latest_is_allowed_locally(host):
    assert publish_tags(host, version="latest") == ["latest"]


@given(st.text(max_size=300))
def test_any_branch_gives_a_valid_tag(branch):
    tags = publish_tags("ghcr.io", version="1.0.0", branch=branch)
    import re
    assert all(re.fullmatch(TAG_PATTERN, t) for t in tags)
    assert branch_suffix(branch) == "" or tags[1].startswith("1.0.0-")


def test_version_from_a_git_tag_on_head(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    assert version_from_git(tmp_path) == ""
    git("tag", "v1.4.0")
    git("tag", "v1.10.0")
    git("tag", "not-a-version")
    assert version_from_git(tmp_path) == "1.10.0"
    assert version_from_git(tmp_path / "nowhere") == ""


def test_cli_refuses_latest_for_a_remote_registry_before_building(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    code = cli.main(["validate", "--source", str(tmp_path), "--publish-to", "ghcr.io/acme",
                     "--version", "latest"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "local use only" in err, err
