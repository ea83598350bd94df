"""Run a GitHub or Gitea Actions workflow's `run:` steps here, in order, as a runner would.

What a runner does that matters to the steps is reproduced: the env of the workflow,
the job and the step (with `${{ ... }}` expressions read from a context the test
gives), `if:` conditions, the default shell (`bash -eo pipefail`), `$GITHUB_PATH` and
`$GITHUB_STEP_SUMMARY`, and jobs in `needs` order. `uses:` steps (actions) are skipped:
the test itself is the checkout, and what upload actions would upload stays on disk.
An expression or condition this harness does not know fails loudly instead of guessing.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_EQUALS = re.compile(r"^([\w.]+)\s*==\s*'([^']*)'$")


class UnknownExpression(Exception):
    """The workflow uses an expression or condition the harness cannot evaluate."""


@dataclass
class StepResult:
    job: str
    name: str
    returncode: int | None  # None: skipped by its `if:`
    output: str = ""


@dataclass
class WorkflowRun:
    steps: list[StepResult] = field(default_factory=list)

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.returncode not in (None, 0)]

    def ran(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)

    def describe(self) -> str:
        return "\n".join(f"{s.job}/{s.name}: {s.returncode}\n{s.output[-3000:]}"
                         for s in self.steps if s.returncode not in (None, 0)) or "all passed"


def _lookup(path: str, context: Mapping[str, Any]) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise UnknownExpression(path)
        value = value[part]
    return value


def expand(text: str, context: Mapping[str, Any]) -> str:
    return _EXPR.sub(lambda m: str(_lookup(m.group(1), context)), text)


def condition(expr: str | None, context: Mapping[str, Any], *, failed: bool) -> bool:
    """A step's `if:`: the default is success(); `always()`; `inputs.x == 'y'`."""
    if expr is None:
        return not failed
    expr = _EXPR.sub(lambda m: m.group(1), str(expr)).strip()
    if expr == "always()":
        return True
    match = _EQUALS.match(expr)
    if match:
        return not failed and str(_lookup(match.group(1), context)) == match.group(2)
    raise UnknownExpression(expr)


def _job_order(jobs: Mapping[str, Any]) -> list[str]:
    order: list[str] = []
    def visit(name: str) -> None:
        if name in order:
            return
        needs = jobs[name].get("needs", [])
        for need in [needs] if isinstance(needs, str) else needs:
            visit(need)
        order.append(name)
    for name in jobs:
        visit(name)
    return order


def run_workflow(path: Path, *, cwd: Path, base_env: Mapping[str, str],
                 context: Mapping[str, Any], timeout: float = 1800) -> WorkflowRun:
    workflow = yaml.safe_load(path.read_text())
    result = WorkflowRun()
    jobs = workflow["jobs"]
    for job_name in _job_order(jobs):
        job = jobs[job_name]
        failed = False
        summary = cwd / f".step-summary-{job_name}"
        extra_path = cwd / f".path-{job_name}"
        summary.write_text("")
        extra_path.write_text("")
        env = {**base_env, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_PATH": str(extra_path),
               "CI": "true"}
        for scope in (workflow.get("env", {}), job.get("env", {})):
            env.update({k: expand(str(v), context) for k, v in scope.items()})
        for index, step in enumerate(job.get("steps", [])):
            name = step.get("name", f"step {index}")
            if "run" not in step:
                continue  # an action (`uses:`)
            if not condition(step.get("if"), context, failed=failed):
                result.steps.append(StepResult(job_name, name, None))
                continue
            step_env = {**env, **{k: expand(str(v), context)
                                  for k, v in step.get("env", {}).items()}}
            added = [p for p in extra_path.read_text().splitlines() if p]
            if added:
                step_env["PATH"] = ":".join([*reversed(added), step_env.get("PATH", "")])
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=cwd, env=step_env, capture_output=True, text=True, timeout=timeout,
                stdin=subprocess.DEVNULL)
            result.steps.append(StepResult(job_name, name, proc.returncode,
                                           proc.stdout + proc.stderr))
            failed = failed or proc.returncode != 0
    return result
