"""`validate` on the real engine: the sample app passes every lane, its broken twin does not.

These drive the same function as `python -m pipeline validate` and
`dagger call validate`, against the engine scripts/engine started, with the
offline overlay pointing every image at the local registry's Debian-built ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.engine, pytest.mark.slow]

TASKFLOW = ROOT / "examples" / "taskflow"
BROKEN = ROOT / "examples" / "taskflow-broken"
OVERLAY = "pipeline.offline.toml"


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=3600, env={**os.environ, "PIPELINE_LOG_LEVEL": "error"})


@pytest.fixture(scope="module")
def taskflow_run(engine_env, tmp_path_factory):
    reports = tmp_path_factory.mktemp("taskflow") / "reports"
    result = run_cli("validate", "--source", str(TASKFLOW), "--overlay", OVERLAY,
                     "--reports", str(reports), "--progress", "quiet")
    return result, reports


@pytest.fixture(scope="module")
def broken_run(engine_env, tmp_path_factory):
    if not BROKEN.is_dir():
        pytest.fail(f"{BROKEN} is missing")
    reports = tmp_path_factory.mktemp("broken") / "reports"
    result = run_cli("validate", "--source", str(BROKEN), "--overlay", OVERLAY,
                     "--reports", str(reports), "--progress", "quiet")
    return result, reports


def lanes(reports: Path) -> dict[str, dict]:
    summary = json.loads((reports / "summary.json").read_text())
    return {lane["name"]: lane for lane in summary["lanes"]}


def test_sample_app_passes_every_lane(taskflow_run):
    result, reports = taskflow_run
    assert result.returncode == 0, result.stdout + result.stderr
    by_name = lanes(reports)
    expected = {"build:backend", "build:frontend", "lint:backend", "lint:frontend",
                "unit-test:backend", "unit-test:frontend", "contract:backend",
                "contract:frontend", "integration", "e2e"}
    assert set(by_name) == expected
    assert {name: lane["status"] for name, lane in by_name.items()} == dict.fromkeys(expected, "passed")
    junit = (reports / "junit.xml").read_text()
    # The app's own test cases made it into the merged JUnit report.
    for suite in ("integration", "e2e", "unit-test:backend"):
        assert f'name="{suite}"' in junit
    assert (reports / "summary.md").read_text().startswith("#")
    assert (reports / "results.sarif").is_file()


def test_broken_twin_is_rejected_with_each_violation_named(broken_run):
    result, reports = broken_run
    assert result.returncode == 1, result.stdout + result.stderr
    by_name = lanes(reports)
    assert by_name["contract:backend"]["status"] == "failed"
    findings = json.loads((reports / "lanes" / "contract-backend" / "contract-backend.json").read_text())
    ids = {f["rule"] for f in findings["findings"]}
    for rule in ("user.root", "forbidden.compilers", "forbidden.test-frameworks",
                 "env.secret-value", "secret.private-key", "size.exceeded", "runtime.health"):
        assert rule in ids, f"{rule} not reported; got {sorted(ids)}"
    # Lanes downstream of the failed contract never ran, and say why.
    for lane in ("integration", "e2e"):
        assert by_name[lane]["status"] == "skipped"
        because = by_name[lane]["skipped_because"]
        assert because in ("contract:backend", "contract:frontend"), by_name[lane]
        assert because in by_name[lane]["message"]
    # The terminal names the failing lane, the reason and where the report is.
    assert "contract:backend failed" in result.stderr and "lanes/contract-backend" in result.stderr


def test_runtime_images_hold_none_of_the_tools_the_check_lanes_used(taskflow_run, tmp_path):
    """Lint and unit tests ran in tooling containers: their tools are not in the runtime images."""
    import anyio

    from pipeline.contract import load_contract
    from pipeline.image.view import read_tarball

    result, _ = taskflow_run
    assert result.returncode == 0, result.stderr
    contract = load_contract(TASKFLOW / "pipeline.toml", [TASKFLOW / OVERLAY])
    # The executables the check lanes invoked, by service.
    used = {"backend": {"ruff", "pytest"}, "frontend": {"eslint", "vitest", "npm", "node"}}

    async def export(service: str) -> Path:
        import dagger
        from dagger import dag

        from pipeline.engine import connection

        spec = contract.services[service]
        async with connection():
            source = dag.host().directory(str(TASKFLOW / spec.context), exclude=["node_modules"])
            image = source.docker_build(
                target=spec.target or "",
                build_args=[dagger.BuildArg(name=k, value=v) for k, v in spec.build_args.items()])
            path = tmp_path / f"{service}.tar"
            await image.as_tarball().export(str(path))
            # ...and prove each tool did exist in the tooling container the lanes used.
            checks = spec.checks
            tooling = (dag.container().from_(contract.images[checks.image])
                       .with_directory(checks.workdir, source).with_workdir(checks.workdir))
            for command in checks.install:
                tooling = tooling.with_exec(["sh", "-c", command])
            found = await tooling.with_exec(["sh", "-c", "export PATH=$PATH:node_modules/.bin; "
                                             + "; ".join(f"command -v {t}" for t in sorted(used[service]))]).stdout()
            assert len(found.split()) == len(used[service]), found
        return path

    for service, tools in used.items():
        tarball = anyio.run(export, service)
        names = {Path(entry.path).name for entry in read_tarball(tarball).list()}
        assert not (tools & names), f"{service} runtime image contains {sorted(tools & names)}"
