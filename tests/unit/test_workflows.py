"""The CI workflows (ci/github, ci/gitea) against the README, which is the one source of truth.

Every workflow must parse, pass actionlint (with shellcheck on its scripts), and run
pipeline only through the README's command lines, character for character. The README's
quick start must be exactly the two commands, and `.ci/run` must run the second one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import missing

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
WORKFLOWS = sorted((ROOT / "ci").glob("*/*.yml"))
QUICK_START = ["scripts/pipeline validate --source examples/taskflow", "scripts/test"]
# Gitea implements upload-artifact's v3 protocol only; actionlint knows GitHub, where v3's
# node16 runner is retired, and says so. That one message is expected for Gitea, nowhere else.
GITEA_ONLY = 'the runner of "actions/upload-artifact@v3" action is too old'
# Commands that run pipeline: any line naming one of these is checked against the README.
PIPELINE_CALL = re.compile(r"\bdagger\s+(call|run|-m)\b|scripts/pipeline|python -m pipeline|"
                           r"(^|\s)pipeline\s+\w")


def fenced_block(text: str, after: str) -> list[str]:
    """Lines of the first fenced code block following the marker `after`."""
    start = text.index(after)
    match = re.search(r"```[a-z]*\n(.*?)```", text[start:], re.DOTALL)
    assert match, f"README.md: no code block after {after!r}"
    return [line for line in match.group(1).splitlines() if line.strip()]


def readme_command_lines() -> list[str]:
    return fenced_block(README.read_text(), "<!-- ci-command-lines")


def run_scripts(workflow: dict) -> list[tuple[str, str]]:
    """(job/step, line) for every non-empty line of every `run:` script."""
    found = []
    for job_name, job in workflow["jobs"].items():
        for index, step in enumerate(job.get("steps", [])):
            for line in str(step.get("run", "")).splitlines():
                if line.strip():
                    found.append((f"{job_name}/{step.get('name', index)}", line.strip()))
    return found


def workflow_ids() -> list[str]:
    return [str(p.relative_to(ROOT)) for p in WORKFLOWS]


def test_every_ci_system_has_the_three_workflows():
    names = {(p.parent.name, p.name) for p in WORKFLOWS}
    for system in ("github", "gitea"):
        for name in ("validate.yml", "release.yml", "promote.yml"):
            assert (system, name) in names, f"ci/{system}/{name} is missing"


def test_quick_start_is_exactly_the_two_commands():
    assert fenced_block(README.read_text(), "## Quick start") == QUICK_START


def test_ci_entry_point_runs_the_readme_test_command():
    lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines[-1] == f"exec {QUICK_START[1]}", lines
    assert os.access(ROOT / ".ci/run", os.X_OK)
    assert os.access(ROOT / QUICK_START[1], os.X_OK)


def test_readme_command_lines_cover_every_action():
    lines = readme_command_lines()
    for verb in ("validate", "reports", "publish", "promote", "rollback"):
        assert any(line.startswith(f"dagger call {verb} ") for line in lines), verb


@pytest.mark.parametrize("path", WORKFLOWS, ids=workflow_ids())
def test_workflow_runs_pipeline_only_through_readme_lines(path: Path):
    workflow = yaml.safe_load(path.read_text())
    # PyYAML reads the bare key `on` as True (YAML 1.1); GitHub reads it as "on".
    triggers = workflow.get("on", workflow.get(True))
    assert triggers, f"{path.name}: no trigger"
    allowed = set(readme_command_lines())
    calls = [(where, line) for where, line in run_scripts(workflow) if PIPELINE_CALL.search(line)]
    assert calls, f"{path.name}: runs no pipeline command"
    for where, line in calls:
        assert line in allowed, f"{path.name}: {where}: not a README command line: {line}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=workflow_ids())
def test_workflow_shape(path: Path):
    workflow = yaml.safe_load(path.read_text())
    triggers = workflow.get("on", workflow.get(True))
    lines = [line for _, line in run_scripts(workflow)]
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    if path.name == "validate.yml":
        assert set(triggers) == {"pull_request"}
        assert "dagger call validate --source=examples/taskflow" in lines
    if path.name == "release.yml":
        assert triggers == {"push": {"branches": ["main"]}}
        assert workflow["jobs"]["publish"]["needs"] == "validate"
    if path.name == "promote.yml":
        assert set(triggers) == {"workflow_dispatch"}
        inputs = triggers["workflow_dispatch"]["inputs"]
        assert {"action", "release", "stage", "reason"} <= set(inputs)
        assert inputs["action"]["options"] == ["promote", "rollback"]
    if path.name in ("validate.yml", "release.yml"):
        uploads = [s for s in steps if "upload" in str(s.get("uses", ""))]
        assert uploads, f"{path.name}: reports are not uploaded"
        report_steps = uploads + [s for s in steps if "reports" in str(s.get("run", ""))
                                  and "validate" not in str(s.get("run", ""))]
        for step in report_steps:
            assert step.get("if") == "always()", f"{path.name}: {step.get('name')} not always()"
        assert 'cat reports/summary.md >> "$GITHUB_STEP_SUMMARY"' in lines
        if path.parent.name == "github":
            uses = {str(s.get("uses", "")).split("@")[0] for s in steps}
            assert "github/codeql-action/upload-sarif" in uses
            assert "mikepenz/action-junit-report" in uses


@pytest.mark.parametrize("path", WORKFLOWS, ids=workflow_ids())
def test_secrets_only_enter_through_env(path: Path):
    """A secret is never spliced into a script (where a log or `set -x` could show it)."""
    workflow = yaml.safe_load(path.read_text())
    for where, line in run_scripts(workflow):
        assert "secrets." not in line, f"{path.name}: {where}: secret inside a script"
        assert "${{" not in line, f"{path.name}: {where}: expression spliced into a script"


def actionlint() -> str:
    found = shutil.which("actionlint") or str(Path.home() / "go/bin/actionlint")
    if not os.access(found, os.X_OK):
        missing("actionlint", "not installed (scripts/deps.d/ci.sh installs it)")
    if not shutil.which("shellcheck"):
        missing("shellcheck", "not installed (scripts/deps.d/ci.sh installs it)")
    return found


@pytest.mark.parametrize("path", WORKFLOWS, ids=workflow_ids())
def test_actionlint(path: Path):
    args = [actionlint(), "-no-color", "-shellcheck", shutil.which("shellcheck") or ""]
    if path.parent.name == "gitea":
        args += ["-ignore", re.escape(GITEA_ONLY)]
    result = subprocess.run([*args, str(path)], check=False, capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path):
    """The lint above can fail: a workflow with an undefined context is refused."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ gitea.sha }}\n")
    result = subprocess.run([actionlint(), "-no-color", str(bad)], check=False,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and 'undefined variable "gitea"' in result.stdout


# --- The README's examples against the real interfaces ------------------------------------


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end != -1 else None]


def module_functions() -> dict[str, set[str]]:
    """Dagger function name -> its flags, read from pipeline/module.py without importing Dagger."""
    import ast

    tree = ast.parse((ROOT / "pipeline/module.py").read_text())
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "function"
                or isinstance(d, ast.Call) and getattr(d.func, "id", None) == "function"
                for d in node.decorator_list):  # `@function` or `@function(cache=...)`
            # Dagger turns snake_case into kebab-case for the CLI.
            found[node.name.replace("_", "-")] = {
                "--" + a.arg.replace("_", "-") for a in node.args.args if a.arg != "self"}
    return found


def dagger_calls(text: str) -> list[str]:
    return re.findall(r"dagger call [^`\n]+", text)


def test_readme_dagger_calls_use_real_functions_and_flags():
    functions = module_functions()
    calls = dagger_calls(README.read_text())
    assert len(calls) >= 10
    table = section(README.read_text(), "## Dagger functions")
    for name in functions:
        assert f"`{name}`" in table, f"README.md: Dagger function {name} is not documented"
    for call in calls:
        words = call.split()[2:]
        name, args = words[0], words[1:]
        assert name in functions, f"README.md: no Dagger function {name!r}: {call}"
        for arg in args:
            if not arg.startswith("--"):
                break  # a chained call on the result, e.g. `export --path=...`
            flag = arg.split("=", 1)[0]
            assert flag in functions[name], f"README.md: {name} has no {flag}: {call}"


def test_readme_cli_examples_parse():
    import shlex

    from pipeline.cli import build_parser

    parser = build_parser()
    table = section(README.read_text(), "## CLI commands")
    rows = re.findall(r"^\| (`[^|]+`) \| `((?:scripts/)?pipeline [^`]+)`[^|]*\|$", table,
                      re.MULTILINE)
    assert rows, "README.md: no CLI examples"
    commands = {action.dest for action in parser._subparsers._group_actions[0]._choices_actions}
    documented = {name for names, _ in rows for name in re.findall(r"`([^`]+)`", names)}
    for _, example in rows:
        # `[...]` marks optional flags: check them too, as part of the command.
        argv = shlex.split(re.sub(r"[\[\]]", "", example).replace("…", "x"))[1:]
        args = parser.parse_args(argv)  # SystemExit (a failure here) on an unknown flag
        documented.add(args.command)
    assert commands <= documented, f"README.md: undocumented commands {commands - documented}"


def test_readme_links_resolve():
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)\)", README.read_text()):
        assert (ROOT / target).exists(), f"README.md: broken link {target}"
