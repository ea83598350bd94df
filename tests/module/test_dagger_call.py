"""`dagger call` for real: the README's command lines, run by the real Dagger CLI.

Module mode: the local engine loads this repository's module through its builtin SDK
content (scripts/engine), exactly as `dagger call` does anywhere. Each line is the
README's, character for character, with the environment the workflows set; each
validate is compared with client mode (`python -m pipeline`) on the same source.
Publishing and promotion go to a registry that needs a login, with the credentials
given as Dagger secrets.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.registry import signing
from pipeline.registry.attestation import verify_attestation
from pipeline.registry.policy import Policy
from pipeline.registry.reference import parse_reference
from pipeline.report.run.summary import RunSummary
from tests.module.conftest import (
    PASSWORD,
    REVISION,
    USER,
    login_client,
    published_digests,
    published_release,
    relabelled_release,
)
from tests.module.daggercli import Call, cli_env, run_line, table_statuses
from tests.unit.test_workflows import readme_command_lines

pytestmark = [pytest.mark.engine, pytest.mark.registry, pytest.mark.slow]


def readme_line(verb: str) -> str:
    """The README's `dagger call VERB ...` line, as written."""
    (line,) = [x for x in readme_command_lines() if x.startswith(f"dagger call {verb} ")]
    return line


def on_source(line: str, source: str) -> str:
    """The same line on another example: only `--source=` changes."""
    changed = line.replace("--source=examples/taskflow ", f"--source={source} ")
    changed = re.sub(r"--source=examples/taskflow$", f"--source={source}", changed)
    assert changed != line or source == "examples/taskflow", line
    return changed


@pytest.fixture(scope="module")
def env(engine_env, login_registry, keys, checkout) -> dict[str, str]:
    """What the release and promote workflows set (secrets as environment variables)."""
    private, public = keys
    (checkout / "attestation.pub.pem").write_bytes(public)
    return cli_env(
        engine_env, REGISTRY=login_registry.host, GIT_REVISION=REVISION,
        PIPELINE_SIGNING_KEY=private.decode(), PIPELINE_REGISTRY_USERNAME=USER,
        PIPELINE_REGISTRY_PASSWORD=PASSWORD, STAGE="staging", REASON="module-mode test")


def call(line: str, checkout: Path, env: dict[str, str]) -> Call:
    return run_line(line, cwd=checkout, env=env)


def client_mode(checkout: Path, env: dict[str, str], source: str, reports: Path) -> RunSummary:
    """The same source through the CLI (client mode, no overlay: the engine's mirrors serve
    the public image names)."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", "--source", source, "--reports",
         str(reports), "--progress", "quiet"],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return RunSummary.from_json((reports / "summary.json").read_text())


def statuses(summary: RunSummary) -> dict[str, str]:
    return {lane.name: lane.status.value for lane in summary.lanes}


def test_dagger_functions_lists_every_function(checkout, env):
    listed = call("dagger functions", checkout, env)
    assert listed.returncode == 0, listed.why()
    for name in ("plan", "build", "lint", "unit-test", "check-images", "integration",
                 "end-to-end", "validate", "reports", "publish", "promote", "verify-stage",
                 "rollback", "history", "render"):
        assert re.search(rf"^{name}\s", listed.stdout, re.M), f"{name} missing:\n{listed.stdout}"


def test_dagger_check_lists_the_four_gates(checkout, env):
    """Each gate's arguments all have defaults (the source's is the caller's repository), so
    the engine keeps it as a check; a gate with a required argument silently drops out."""
    listed = call("dagger check -l", checkout, env)
    assert listed.returncode == 0, listed.why()
    for gate in ("lint", "unit-test", "check-images", "validate"):
        assert re.search(rf"^{gate}\s", listed.stdout, re.M), listed.why()


def test_plan_matches_client_mode(checkout, env):
    module = call("dagger call plan --source=examples/taskflow", checkout, env)
    assert module.returncode == 0, module.why()
    client = subprocess.run([sys.executable, "-m", "pipeline", "plan", "--source",
                             "examples/taskflow"], cwd=checkout, env=env, capture_output=True,
                            text=True, timeout=120)
    assert client.returncode == 0, client.stderr
    assert module.stdout.strip() == client.stdout.strip()


def test_validate_sample_passes_like_client_mode(checkout, env, tmp_path):
    module = call(readme_line("validate"), checkout, env)
    assert module.returncode == 0, module.why()
    assert "result: passed (exit 0)" in module.stdout, module.why()
    client = client_mode(checkout, env, "examples/taskflow", tmp_path / "client")
    assert client.exit_code == 0
    assert table_statuses(module.stdout) == statuses(client)


def contract_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"contract:\S+\s+passed", line)]


def test_module_calls_reuse_contract_results_kept_in_the_engine(checkout, env):
    """Each call gets a new module container; the results kept in the engine's volume carry
    over. Other --jobs values: calls Dagger's function cache cannot answer."""
    first = call(readme_line("validate") + " --jobs=7", checkout, env)
    assert first.returncode == 0, first.why()
    second = call(readme_line("validate") + " --jobs=6", checkout, env)
    assert second.returncode == 0, second.why()
    lines = contract_lines(second.stdout)
    assert len(lines) == 2 and all("reused: image sha256:" in line for line in lines), second.why()
    fresh = call(readme_line("validate") + " --jobs=6 --fresh", checkout, env)
    assert fresh.returncode == 0, fresh.why()
    lines = contract_lines(fresh.stdout)
    assert len(lines) == 2 and not any("reused" in line for line in lines), fresh.why()


def test_validate_broken_twin_fails_naming_violations_and_skips(checkout, env, tmp_path):
    module = call(on_source(readme_line("validate"), "examples/taskflow-broken"), checkout, env)
    assert module.returncode != 0, module.why()
    for rule in ("user.root", "forbidden.compilers", "env.secret-value", "secret.private-key"):
        assert rule in module.output, f"{rule} not named\n{module.why()}"
    seen = table_statuses(module.output)
    assert seen.get("integration") == "skipped" and seen.get("e2e") == "skipped", module.why()
    assert "needs 'contract:" in module.output
    client = client_mode(checkout, env, "examples/taskflow-broken", tmp_path / "client")
    assert client.exit_code == 1
    assert seen == statuses(client)


@pytest.mark.parametrize("source", ["examples/taskflow", "examples/taskflow-broken"])
def test_reports_export_writes_every_file_whatever_the_verdict(checkout, env, source):
    out = checkout / "reports"
    exported = call(on_source(readme_line("reports"), source), checkout, env)
    assert exported.returncode == 0, exported.why()
    for name in ("summary.json", "summary.md", "summary.txt", "junit.xml", "results.sarif"):
        assert (out / name).is_file(), f"{name} not exported: {sorted(p.name for p in out.iterdir())}"
    summary = RunSummary.from_json((out / "summary.json").read_text())
    assert summary.exit_code == (0 if source == "examples/taskflow" else 1)
    assert {p.name for p in (out / "lanes").iterdir()} >= {"lint-backend", "contract-backend"}
    json.loads((out / "results.sarif").read_text())


@pytest.fixture(scope="module")
def published(checkout, env, login_registry) -> dict[str, str]:
    result = call(readme_line("publish"), checkout, env)
    assert result.returncode == 0, result.why()
    assert env["PIPELINE_SIGNING_KEY"].splitlines()[1] not in result.output
    assert PASSWORD not in result.output
    return published_digests(login_registry, "taskflow")


@pytest.fixture(scope="module")
def first_release(published, login_registry) -> str:
    """The release the publish stored (read once, before a test adds a second)."""
    return published_release(login_registry, "taskflow")


def test_publish_pushes_by_digest_with_a_signed_attestation(published, keys, login_registry):
    key = signing.load_public_key(keys[1], source="test")
    with login_client(login_registry) as client:
        for service, ref in published.items():
            statement = verify_attestation(client, parse_reference(ref), key, policy=Policy(
                required_lanes=(f"contract:{service}", "e2e")))
            assert statement.predicate.git_revision == REVISION


def test_promote_verify_rollback_and_history_from_the_module(first_release, checkout, env, keys,
                                                             login_registry):
    private, _ = keys
    first = first_release
    releases = {"RELEASES": f"{login_registry.host}/taskflow/releases"}
    promoted = call(readme_line("promote"), checkout, {**env, **releases, "RELEASE": first})
    assert promoted.returncode == 0, promoted.why()
    assert f"promoted release {first}" in promoted.stdout
    # The stage's digests started inside the module, with the stage's overlay, and tested.
    verified = call(readme_line("verify-stage"), checkout, {**env, **releases})
    assert verified.returncode == 0, verified.why()
    assert f"verification of release {first}: passed" in verified.stdout, verified.why()
    # A second validated release, so a rollback has somewhere to go.
    second = relabelled_release(login_registry, "taskflow", first, private)
    again = call(readme_line("promote"), checkout, {**env, **releases, "RELEASE": second})
    assert again.returncode == 0, again.why()
    rolled = call(readme_line("rollback"), checkout, {**env, **releases})
    assert rolled.returncode == 0, rolled.why()
    assert f"rolled-back release {first}" in rolled.stdout, rolled.why()
    history = call(readme_line("history"), checkout, {**env, **releases})
    assert history.returncode == 0, history.why()
    assert history.stdout.count("promote") == 2 and "rollback" in history.stdout, history.why()
    assert "verify" in history.stdout, history.why()
    everything = history.output + rolled.output + again.output + promoted.output
    assert PASSWORD not in everything + verified.output


def test_promote_without_login_is_refused_in_one_line(first_release, checkout, env,
                                                      login_registry):
    anonymous = {**env, "RELEASE": first_release,
                 "RELEASES": f"{login_registry.host}/taskflow/releases",
                 "PIPELINE_REGISTRY_USERNAME": ""}
    refused = call(readme_line("promote"), checkout, anonymous)
    assert refused.returncode != 0
    assert "401" in refused.output or "authentication" in refused.output.lower(), refused.why()


def test_dagger_check_runs_the_gates_in_a_user_repository(checkout, env, tmp_path):
    """A user's repository with its contract at the root and pipeline installed as a Dagger
    toolchain: `dagger check` runs the gate functions (lint, unit-test, check-images,
    validate) on it. The module is a local copy here; elsewhere it is a git reference."""
    user = tmp_path / "taskflow"
    shutil.copytree(checkout / "examples/taskflow", user)
    top_level_only = {"examples", "reports", "attestation.pub.pem"}
    shutil.copytree(checkout, user / "tools/pipeline",
                    ignore=lambda d, names: top_level_only & set(names) if d == str(checkout) else ())
    # Dagger honours .gitignore: the sample's `**/reports/` would also drop the vendored
    # module's `pipeline/report/findings` package (a git-referenced toolchain is not affected).
    with (user / ".gitignore").open("a") as ignore:
        ignore.write("!/tools/pipeline/pipeline/report/findings/\n")
    subprocess.run(["git", "init", "-q"], cwd=user, check=True)
    for line in ("dagger init --name=taskflow", "dagger toolchain install ./tools/pipeline"):
        step = call(line, user, env)
        assert step.returncode == 0, step.why()
    checked = call("dagger check", user, env)
    assert checked.returncode == 0, checked.why()
    # `dagger check` names a toolchain's checks TOOLCHAIN:function, in the API's camelCase.
    for gate in ("lint", "unitTest", "checkImages", "validate"):
        assert f"pipeline:{gate}" in checked.output, f"{gate} not run\n{checked.why()}"
