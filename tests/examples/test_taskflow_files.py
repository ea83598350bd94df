"""Static agreement between the taskflow example's contract, Dockerfiles and ignore files,
and between the example and its broken twin. Fast: reads files only."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from tests.examples import taskflow_stack as stack

BROKEN = stack.ROOT / "examples" / "taskflow-broken"
OFFICIAL_DEFAULTS = {
    "backend": {"PYTHON_IMAGE": "python:3.11-slim"},
    "frontend": {"NODE_IMAGE": "node:20-bookworm-slim", "NGINX_IMAGE": "nginx:1.27"},
}


def load(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    lines = [line for line in dockerfile.read_text().splitlines()
             if not line.lstrip().startswith("#")]
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(m.group(1).upper(), m.group(2).strip())
            for m in re.finditer(r"^\s*([A-Za-z]+)\s+(.*)$", text, re.MULTILINE)]


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    steps = instructions(dockerfile)
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


@pytest.mark.parametrize("service", ["backend", "frontend"])
def test_base_images_are_build_args_defaulting_to_official_images(service: str) -> None:
    steps = instructions(stack.EXAMPLE / service / "Dockerfile")
    first_from = next(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    args = dict(arg.split("=", 1) for keyword, arg in steps[:first_from] if keyword == "ARG")
    assert args == OFFICIAL_DEFAULTS[service]
    froms = [arg.split()[0] for keyword, arg in steps if keyword == "FROM"]
    assert all(ref.startswith("${") for ref in froms), froms
    assert not (stack.EXAMPLE / service / "Dockerfile").read_text().startswith("# syntax")


@pytest.mark.parametrize("service", ["backend", "frontend"])
def test_contract_build_args_and_overlay_name_dockerfile_args(service: str) -> None:
    declared = set(OFFICIAL_DEFAULTS[service])
    official = load(stack.EXAMPLE / "pipeline.toml")["services"][service]
    offline = load(stack.EXAMPLE / "pipeline.offline.toml")["services"][service]
    assert official["build_args"] == OFFICIAL_DEFAULTS[service]
    assert set(offline["build_args"]) == declared
    assert all(ref.startswith("127.0.0.1:5000/pipeline/") for ref in offline["build_args"].values())


def test_offline_overlay_points_every_image_at_the_local_registry() -> None:
    official = load(stack.EXAMPLE / "pipeline.toml")["images"]
    offline = load(stack.EXAMPLE / "pipeline.offline.toml")["images"]
    assert set(offline) == set(official)
    assert all(ref.startswith("127.0.0.1:5000/pipeline/") for ref in offline.values())


@pytest.mark.parametrize("service", ["backend", "frontend"])
def test_runtime_stage_matches_the_contract(service: str) -> None:
    contract = stack.contract()["services"][service]
    dockerfile = stack.EXAMPLE / service / contract.get("dockerfile", "Dockerfile")
    stage = final_stage(dockerfile)
    assert stage[0][1].endswith(f"AS {contract['target']}")
    keywords = dict(stage)  # the last of each keyword wins, as in Docker
    uid = keywords["USER"].partition(":")[0]
    assert uid.isdigit() and int(uid) >= contract["user"]["uid_min"], "numeric non-root USER"
    assert int(uid) == contract["user"]["uid"]
    assert keywords["EXPOSE"] == str(contract["port"])
    assert json.loads(keywords["ENTRYPOINT"]) == contract["entrypoint"]
    assert keywords["STOPSIGNAL"] == contract["shutdown"]["signal"]
    for label in contract["labels"]:
        assert label in keywords["LABEL"]
    if "workdir" in contract:
        assert keywords["WORKDIR"] == contract["workdir"]


@pytest.mark.parametrize("service", ["backend", "frontend"])
def test_dockerignore_excludes_what_the_contract_names(service: str) -> None:
    contract = stack.contract()["services"][service]
    ignored = {line.strip() for line in (stack.EXAMPLE / service / ".dockerignore").read_text()
               .splitlines() if line.strip() and not line.startswith("#")}
    assert set(contract["dockerignore"]) <= ignored


def test_graceful_timeout_fits_inside_the_grace_period() -> None:
    contract = stack.contract()["services"]["backend"]
    entrypoint = contract["entrypoint"]
    timeout = int(entrypoint[entrypoint.index("--timeout-graceful-shutdown") + 1])
    assert timeout < contract["shutdown"]["grace_seconds"]


def test_broken_twin_is_held_to_the_same_contract_and_suites() -> None:
    assert load(BROKEN / "pipeline.toml") == load(stack.EXAMPLE / "pipeline.toml")
    assert load(BROKEN / "pipeline.offline.toml") == load(stack.EXAMPLE / "pipeline.offline.toml")
    # Copies, not links: a lane mounts tests/ from the twin's own directory.
    for suite in ("integration", "e2e"):
        ours = {p.name: p.read_bytes() for p in (stack.EXAMPLE / "tests" / suite).iterdir()
                if p.is_file()}
        twins = {p.name: p.read_bytes() for p in (BROKEN / "tests" / suite).iterdir()
                 if p.is_file()}
        assert twins == ours, f"examples/taskflow-broken/tests/{suite} differs from taskflow's"


def test_broken_twin_breaks_the_rules_it_claims_to() -> None:
    backend = final_stage(BROKEN / "backend" / "Dockerfile")
    keywords = [keyword for keyword, _ in backend]
    text = (BROKEN / "backend" / "Dockerfile").read_text()
    assert "USER" not in keywords  # root
    assert re.search(r"apt-get install .*\bgcc\b", text)
    assert re.search(r"pip install .*\bpytest\b", text)
    assert any(keyword == "ENV" and "API_TOKEN=" in arg and "DATABASE_URL=" in arg
               for keyword, arg in backend)
    assert "genpkey" in text  # a private key generated into a layer, none in the repository
    assert "@app.get(\"/health\")" not in (BROKEN / "backend" / "app.py").read_text()
    assert not (BROKEN / "backend" / ".dockerignore").exists()
    assert "USER" not in dict(final_stage(BROKEN / "frontend" / "Dockerfile"))


@pytest.mark.parametrize("example", [stack.EXAMPLE, BROKEN], ids=["taskflow", "taskflow-broken"])
@pytest.mark.parametrize("overlays", [(), ("pipeline.offline.toml",)], ids=["official", "offline"])
def test_contracts_load_with_the_pipeline_loader(example: Path, overlays: tuple[str, ...]) -> None:
    from pipeline.contract import load_contract

    contract = load_contract(example / "pipeline.toml", [example / name for name in overlays])
    assert set(contract.services) == {"backend", "frontend"}
    backend = contract.services["backend"]
    assert backend.port == 8000 and backend.env.secrets == ["DATABASE_URL"]
    assert backend.health.dependency_down_status == 503
    expected = "127.0.0.1:5000/pipeline/python:3.11" if overlays else "python:3.11-slim"
    assert backend.build_args["PYTHON_IMAGE"] == expected
