"""Hostile contracts: wrong types, bombs, special files, escaping paths. One line each, exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from pipeline.contract import load_contract
from pipeline.contract.limits import MAX_BYTES
from pipeline.errors import ContractError
from tests.hostile.harness import assert_bounded, assert_one_line_error, run_cli
from tests.hostile.strategies import contracts, nested
from tests.imagebuilder import ImageBuilder

BASE = '[services.api]\ncontext = "."\n'


def error_of(path: Path) -> str:
    with pytest.raises(ContractError) as info:
        load_contract(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize(("text", "expected"), [
    (BASE + "port = true\n", "services.api.port: Input should be a valid integer"),
    (BASE + 'port = "8000"\n', "services.api.port: Input should be a valid integer"),
    (BASE + "port = 8000.0\n", "services.api.port: Input should be a valid integer"),
    (BASE + "port = 80\nuser = { uid = true }\n", "services.api.user.uid"),
    (BASE + "port = 80\nhealth = { status = 200.0 }\n", "services.api.health.status"),
    (BASE + "port = 80\nhealth = { startup_seconds = true }\n", "startup_seconds"),
    (BASE + "port = 80\nmax_size = " + "9" * 400 + "\n", "services.api.max_size: size is over"),
    (BASE + 'port = 80\nmax_size = "' + "9" * 400 + 'GB"\n', "services.api.max_size"),
    (BASE + 'port = 80\nmax_size = "1e400"\n', "services.api.max_size"),
    (BASE + "port = 80\nmax_size = 1.5\n", "services.api.max_size"),
    (BASE + "port = 80\nmax_size = true\n", "services.api.max_size"),
    (BASE + "port = 80\nlabels = [1]\n", "services.api.labels[0]"),
])
def test_wrong_types_are_refused_naming_line_and_field(tmp_path: Path, text: str,
                                                        expected: str) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    assert expected in error_of(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=contracts())
def test_generated_hostile_contracts_load_or_fail_in_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        contract = load_contract(path)
    except ContractError as exc:
        assert "\n" not in str(exc)
        return
    api = contract.service("api")
    assert type(api.port) is int and 1 <= api.port <= 65535
    assert type(api.max_size) is int


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=nested())
def test_nesting_bombs_are_refused_before_parsing(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    assert "nested deeper than 32 levels" in error_of(path)


def test_nesting_bombs_through_the_cli_are_bounded(tmp_path: Path) -> None:
    image = ImageBuilder.clean().write(tmp_path / "clean.tar")
    for name, text in {
        "arrays": "a = " + "[" * 200_000 + "]" * 200_000,
        "dotted": ".".join(["a"] * 300_000) + " = 1",
        "inline": "a = " + "{b=" * 100_000 + "1" + "}" * 100_000,
    }.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        assert_one_line_error(run_cli("check-image", image, "--contract", path, "--service", "api"),
                              contains=str(path))


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    with path.open("wb") as handle:
        handle.truncate(50 * MAX_BYTES)   # sparse: large, costs nothing on disk
    assert "over the" in error_of(path)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null", "/dev/urandom"])
def test_special_files_are_never_read(tmp_path: Path, special: str) -> None:
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    image = ImageBuilder.clean().write(tmp_path / "clean.tar")
    line = assert_one_line_error(run_cli("check-image", image, "--contract", path,
                                         "--service", "api"))
    assert "not a regular file" in line


@pytest.mark.parametrize(("field", "value"), [
    ("context", "out"), ("context", "inside/up"), ("dockerfile", "out/Dockerfile"),
    ("context", "loop"),
])
def test_paths_leaving_the_contract_directory_through_symlinks(tmp_path: Path, field: str,
                                                                value: str) -> None:
    project = tmp_path / "project"
    (project / "inside").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM scratch\n")
    (project / "out").symlink_to(outside)
    (project / "loop").symlink_to(project / "loop")
    (project / "inside" / "up").symlink_to("../../outside")
    if field == "context":
        text = f'[services.api]\ncontext = "{value}"\nport = 80\n'
    else:
        text = BASE + f'dockerfile = "{value}"\nport = 80\n'
    path = project / "pipeline.toml"
    path.write_text(text)
    message = error_of(path)
    assert f"services.api.{field}" in message
    assert "outside the contract's directory" in message


def test_runner_source_must_stay_inside(tmp_path: Path) -> None:
    (tmp_path / "escape").symlink_to("/")
    path = tmp_path / "pipeline.toml"
    path.write_text(BASE + 'port = 80\n[images]\nrun = "python"\n'
                    '[integration]\nimage = "run"\nsource = "escape"\ncommand = ["pytest"]\n')
    assert "integration.source" in error_of(path)


def test_a_symlink_inside_the_directory_is_fine(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    path = tmp_path / "pipeline.toml"
    path.write_text('[services.api]\ncontext = "alias"\nport = 80\n')
    assert load_contract(path).context_dir("api") == (tmp_path / "real")


def test_a_wide_contract_at_the_size_limit_stays_bounded(tmp_path: Path) -> None:
    """Width, not depth: ~25k services with distinct contexts in 1 MiB (no quadratic step)."""
    parts, size, i = [], 0, 0
    while True:
        part = f'[services.s{i}]\ncontext = "d{i}"\nport = 80\nruntime = {{ depends_on = ["s0"] }}\n'
        if size + len(part) > MAX_BYTES - 100:
            break
        parts.append(part if i else '[services.s0]\ncontext = "d0"\nport = 80\n')
        size, i = size + len(part), i + 1
    path = tmp_path / "pipeline.toml"
    path.write_text("".join(parts))
    image = ImageBuilder.clean().write(tmp_path / "clean.tar")
    outcome = run_cli("check-image", image, "--contract", path, "--service", "s1")
    assert outcome.code == 1, outcome.stderr          # loaded; the image has findings
    assert_bounded(outcome)
