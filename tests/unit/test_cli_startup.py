"""CLI start-up: a command imports only its own module; `pipeline --help` imports none.

Behaviour, not time: which modules a command loads (benchmarks/cli_startup.py prints
the seconds). INDEX, which lists commands without importing them, must say what the
modules register.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from pipeline.cli import COMMANDS, main
from pipeline.cli.lazy import INDEX

HEAVY = ("pydantic", "httpx", "cryptography", "dagger", "structlog", "anyio", "re2",
         "hyperscan", "pipeline.registry", "pipeline.contract")


def registered() -> dict[str, tuple[str, str]]:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    found: dict[str, tuple[str, str]] = {}
    for module in COMMANDS:
        importlib.import_module(f"pipeline.cli.{module}").register(subparsers)
        for action in subparsers._choices_actions:  # noqa: SLF001 - argparse keeps them here
            found.setdefault(action.dest, (module, action.help or ""))
    return found


def test_index_says_what_the_modules_register() -> None:
    assert registered() == INDEX, "update INDEX in pipeline/cli/lazy.py"


def loaded_by(argv: list[str], heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The modules of `heavy` (packages and their submodules) that `main(argv)` imports."""
    code = ("import sys\nfrom pipeline.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")[-2]
    return {name for name in out.split()
            if any(name == one or name.startswith(f"{one}.") for one in heavy)}


def test_top_level_help_imports_no_command() -> None:
    assert loaded_by(["--help"]) == set()


@pytest.mark.parametrize("command", ["check-image", "validate", "plan"])
def test_a_commands_help_imports_only_what_parsing_needs(command: str) -> None:
    assert loaded_by([command, "--help"]) == set()


# The libraries only a command's work needs: no `--help` may load them.
WORK_ONLY = ("cryptography", "httpx", "dagger")


@pytest.mark.parametrize("command", sorted(INDEX))
def test_no_commands_help_loads_cryptography_httpx_or_dagger(command: str) -> None:
    assert loaded_by([command, "--help"], WORK_ONLY) == set()


@pytest.mark.parametrize("command", sorted(INDEX))
def test_every_command_still_parses(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert command in capsys.readouterr().out


def test_listing_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = capsys.readouterr().out
    assert all(name in listing for name in INDEX)
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-command"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_check_image_of_a_good_contract_loads_no_pydantic(tmp_path) -> None:
    # pipeline.contract.plain vouches for it; a bad one goes to the pydantic models.
    from tests.imagebuilder import ImageBuilder

    image = ImageBuilder.clean().write(tmp_path / "clean.tar")
    good = tmp_path / "pipeline.toml"
    good.write_text('[services.api]\ncontext = "."\nport = 8000\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('[services.api]\ncontext = "."\nport = "8000"\n')
    argv = ["check-image", str(image), "--service", "api", "--contract"]
    assert loaded_by([*argv, str(good)], ("pydantic", "concurrent.futures", "xml")) == set()
    assert "pydantic" in loaded_by([*argv, str(bad)], ("pydantic",))
