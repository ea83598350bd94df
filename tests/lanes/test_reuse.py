"""Contract-lane findings reused by digest, on the real engine and registry: reused while
the image, its dependencies' images and the contract fields are unchanged; measured again
when any of them changes, or when asked to (--fresh)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from pipeline.contract import load_contract
from pipeline.findings import Evidence, Finding, Severity
from pipeline.lanes import reuse
from tests.conftest import local_image

pytestmark = [pytest.mark.engine]

CONTRACT = """\
version = 1

[images]
postgres = "{postgres}"

[services.app]
context = "."
port = {port}

[services.app.runtime]
depends_on = ["postgres"]

[dependencies.postgres]
image = "postgres"
port = 5432
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A findings store of this test's own, and no --fresh from the environment."""
    monkeypatch.setenv(reuse.STORE_ENV, str(tmp_path / "store"))
    monkeypatch.delenv(reuse.FRESH_ENV, raising=False)
    return tmp_path / "store"


def measuring(*findings: Finding) -> tuple[list[int], Callable[[], Awaitable[list[Finding]]]]:
    """A measure() that answers `findings`, and the list its calls are counted in."""
    calls: list[int] = []

    async def measure() -> list[Finding]:
        calls.append(1)
        return list(findings)

    return calls, measure


def contract(tmp_path: Path, *, port: int = 8000):
    path = tmp_path / "pipeline.toml"
    path.write_text(CONTRACT.format(postgres=local_image("postgres:15"), port=port))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return load_contract(path, [])


async def test_findings_reused_until_an_input_changes(dag, tmp_path: Path, store: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    measured, measure = measuring(Finding(
        "fs.setuid", "setuid file /usr/bin/x",
        (Evidence(layer="sha256:ab", path="usr/bin/x", detail="mode 4755"),),
        severity=Severity.MEDIUM, subject="app"))

    base = dag.container().from_(local_image("debian:bookworm"))
    images = {"app": base.with_new_file("/etc/app.conf", "one\n")}
    spec = contract(tmp_path)

    first = await reuse.findings_for(spec, images, "app", measure)
    assert first.reused is None and len(measured) == 1
    second = await reuse.findings_for(spec, images, "app", measure)
    assert len(measured) == 1 and second.reused is not None
    assert second.findings == first.findings
    assert second.reused.image.startswith("sha256:")
    assert "reused: image sha256:" in second.describe() and "--fresh" in second.describe()

    # Asked to measure again.
    await reuse.findings_for(spec, images, "app", measure, fresh=True)
    assert len(measured) == 2
    monkeypatch.setenv(reuse.FRESH_ENV, "1")
    await reuse.findings_for(spec, images, "app", measure)
    assert len(measured) == 3
    monkeypatch.delenv(reuse.FRESH_ENV)
    assert (await reuse.findings_for(spec, images, "app", measure)).reused is not None
    assert len(measured) == 3

    # A changed image, a changed contract field, a changed build-context file: measured.
    changed = {"app": base.with_new_file("/etc/app.conf", "two\n")}
    assert (await reuse.findings_for(spec, changed, "app", measure)).reused is None
    assert len(measured) == 4
    assert (await reuse.findings_for(contract(tmp_path, port=9000), images, "app",
                                     measure)).reused is None
    assert len(measured) == 5
    (tmp_path / ".dockerignore").write_text(".git\n")
    assert (await reuse.findings_for(contract(tmp_path), images, "app", measure)).reused is None
    assert len(measured) == 6


async def test_failing_results_are_measured_again(dag, tmp_path: Path, store: Path) -> None:
    count, measure = measuring(
        Finding("runtime.shutdown", "app did not stop within 10s", subject="app"))

    images = {"app": dag.container().from_(local_image("debian:bookworm"))}
    spec = contract(tmp_path)
    for _ in range(2):
        assert (await reuse.findings_for(spec, images, "app", measure)).reused is None
    assert len(count) == 2


async def test_damaged_store_is_a_miss(dag, tmp_path: Path, store: Path) -> None:
    count, measure = measuring()

    images = {"app": dag.container().from_(local_image("debian:bookworm"))}
    spec = contract(tmp_path)
    await reuse.findings_for(spec, images, "app", measure)
    for kept in store.glob("*.json"):
        kept.write_text("{not json")
    assert (await reuse.findings_for(spec, images, "app", measure)).reused is None
    assert len(count) == 2


async def test_module_mode_keeps_results_in_the_engine(dag, tmp_path: Path, store: Path) -> None:
    """A module's disk is new on every call: the volume store carries results from one call
    to the next (a store object of its own, as a new call makes), and never this machine's."""
    import uuid

    from pipeline.lanes.context import RunContext
    from pipeline.lanes.result_store import VolumeStore
    from pipeline.lanes.servicewrap import helper_binary
    from pipeline.lanes.source import Source

    count, measure = measuring(Finding("fs.setuid", "setuid file /usr/bin/x", subject="app"))
    spec = contract(tmp_path)
    ctx = RunContext(source=Source.resolve(dag.directory(), local_root=tmp_path, scratch=tmp_path),
                     contract=spec, run_id="t")
    volume = f"pipeline-contract-results-test-{uuid.uuid4().hex}"
    images = {"app": dag.container().from_(local_image("debian:bookworm"))
              .with_new_file("/etc/app.conf", uuid.uuid4().hex)}

    def a_call() -> VolumeStore:
        return VolumeStore(lambda: helper_binary(ctx), volume=volume)

    assert (await reuse.findings_for(spec, images, "app", measure, store=a_call())).reused is None
    again = await reuse.findings_for(spec, images, "app", measure, store=a_call())
    assert again.reused is not None and len(count) == 1
    assert again.findings[0].message == "setuid file /usr/bin/x"
    assert not store.exists()                       # nothing written on this machine
    # --fresh measures again; another volume (a fresh engine) is a miss.
    await reuse.findings_for(spec, images, "app", measure, store=a_call(), fresh=True)
    other = VolumeStore(lambda: helper_binary(ctx), volume=volume + "-other")
    assert (await reuse.findings_for(spec, images, "app", measure, store=other)).reused is None
    assert len(count) == 3
    # An absent key is a miss, a key that is not one is refused before any container.
    assert await a_call().read("0" * 64) is None
    with pytest.raises(ValueError):
        await a_call().read("../../etc/passwd")
