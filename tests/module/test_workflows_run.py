"""The workflows run, not just parse: every `run:` line of ci/github and ci/gitea, in order,
with the env each job declares, against the local engine (tests/module/workflowrun.py).

The runner's env is only the local engine's (`dagger` on PATH, its runner host): every
variable a step needs must come from what the workflow itself declares, so a missing
declaration fails here as it would on a real runner.
"""

from __future__ import annotations

import shutil

import pytest

from tests.module.conftest import (
    PASSWORD,
    REVISION,
    USER,
    published_release,
    relabelled_release,
)
from tests.module.daggercli import cli_env
from tests.module.workflowrun import UnknownExpression, run_workflow

pytestmark = [pytest.mark.engine, pytest.mark.registry, pytest.mark.slow]

SYSTEMS = ["github", "gitea"]


@pytest.fixture(scope="module")
def runner_env(engine_env) -> dict[str, str]:
    return cli_env(engine_env)


def context(registry_host: str, system: str, keys, **inputs: str) -> dict:
    private, public = keys
    return {
        "github": {"sha": REVISION, "ref": "refs/heads/main"},
        "gitea": {"sha": REVISION, "ref": "refs/heads/main"},
        "vars": {"PIPELINE_REGISTRY": f"{registry_host}/{system}",
                 "PIPELINE_REGISTRY_USERNAME": USER,
                 "PIPELINE_ATTESTATION_PUBLIC_KEY": public.decode()},
        "secrets": {"PIPELINE_SIGNING_KEY": private.decode(),
                    "PIPELINE_REGISTRY_PASSWORD": PASSWORD},
        "inputs": inputs,
    }


@pytest.mark.parametrize("system", SYSTEMS)
def test_validate_release_and_promote_workflows_run(system, checkout, runner_env,
                                                    login_registry, keys):
    workflows = checkout / "ci" / system
    ctx = context(login_registry.host, system, keys)
    for name in ("validate.yml", "release.yml"):
        shutil.rmtree(checkout / "reports", ignore_errors=True)
        run = run_workflow(workflows / name, cwd=checkout, base_env=runner_env, context=ctx)
        assert not run.failed, f"{system}/{name}:\n{run.describe()}"
        assert (checkout / "reports" / "summary.md").is_file()
        assert run.ran("Validate").returncode == 0
    prefix = f"{system}/taskflow"
    first = published_release(login_registry, prefix)
    assert f"release {first} in " in run.ran("Publish").output  # the id the workflow printed
    second = relabelled_release(login_registry, prefix, first, keys[0])
    moves = [("promote", first), ("promote", second), ("rollback", "")]
    for action, release in moves:
        ctx = context(login_registry.host, system, keys, action=action, release=release,
                      stage="staging", reason=f"{action} by the workflow test")
        run = run_workflow(workflows / "promote.yml", cwd=checkout, base_env=runner_env,
                           context=ctx)
        assert not run.failed, f"{system}/promote.yml {action}:\n{run.describe()}"
        step = run.ran("Promote" if action == "promote" else "Roll back")
        assert step.returncode == 0, run.describe()
        if action == "promote":
            assert run.ran("Verify the stage").returncode == 0, run.describe()
        assert run.ran("Stage history").returncode == 0
    assert f"rolled-back release {first}" in step.output, step.output


def test_a_broken_line_fails_the_run(checkout, runner_env, login_registry, keys, tmp_path):
    broken = tmp_path / "validate.yml"
    text = (checkout / "ci/github/validate.yml").read_text()
    broken.write_text(text.replace("dagger call validate ", "dagger call validat "))
    run = run_workflow(broken, cwd=checkout, base_env=runner_env,
                       context=context(login_registry.host, "github", keys))
    assert [s.name for s in run.failed] == ["Validate"], run.describe()
    assert run.ran("Export the reports").returncode is not None  # if: always() still runs


def test_an_unknown_expression_is_refused_not_guessed(checkout, runner_env, tmp_path):
    odd = tmp_path / "odd.yml"
    odd.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    env:\n"
                   "      A: ${{ vars.NOT_GIVEN }}\n    steps:\n      - run: 'true'\n")
    with pytest.raises(UnknownExpression):
        run_workflow(odd, cwd=checkout, base_env=runner_env, context={"vars": {}})
