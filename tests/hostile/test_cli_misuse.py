"""CLI misuse and hostile references: one line, exit 2, no traceback, nothing echoed that
should not be."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import InvalidReference
from pipeline.registry.reference import parse_reference, require_digest
from tests.hostile.harness import ROOT, assert_one_line_error, run_cli
from tests.hostile.strategies import references
from tests.imagebuilder import ImageBuilder, write_contract

DIGEST = "sha256:" + "e" * 64


@settings(max_examples=300, deadline=None)
@given(text=references)
def test_references_parse_or_fail_in_one_line(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 400
        return
    assert str(ref) == text.strip()


@settings(max_examples=200, deadline=None)
@given(user=st.text(max_size=10), password=st.text(min_size=1, max_size=20),
       rest=st.sampled_from(["127.0.0.1:5000/a", "h/a:t", f"h.io/a/b@{DIGEST}", "h/"]),
       scheme=st.sampled_from(["", "https://", "oci://"]))
def test_user_info_is_never_echoed(user: str, password: str, rest: str, scheme: str) -> None:
    secret = f"PW{password}".replace("/", "").replace("@", "")
    for text in (f"{scheme}{user}:{secret}@{rest}", f"{scheme}{secret}@{rest}"):
        with pytest.raises(InvalidReference) as info:
            parse_reference(text)
        assert secret not in str(info.value)


@pytest.mark.parametrize("port", ["٨٠", "８０", "80.0", "0", "65536", "-1", "1e3", "٣", "00000080"])
def test_render_refuses_ports_that_are_not_ascii_numbers(port: str, tmp_path: Path) -> None:
    outcome = run_cli("render", "--stage", "s", "--service", f"a=127.0.0.1:1/a@{DIGEST}",
                      "--port", f"a={port}", "--out", tmp_path / "out")
    assert_one_line_error(outcome, contains="--port")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "contains"), [
    (("--contract-sha256", "ab" * 32), "no lane"),
    (("--lane", "build", "--contract-sha256", "xyz"), "64 hexadecimal"),
    (("--lane", "build", "--contract-sha256", "ab" * 32 + "\n"), "64 hexadecimal"),
    (("--lane", "build", "--contract-sha256", "ab" * 33), "64 hexadecimal"),
    (("--lane", " ", "--contract-sha256", "ab" * 32), "blank"),
    (("--lane", "build", "--contract", "/dev/zero"), "not a regular file"),
])
def test_attest_refuses_what_proves_nothing(args: tuple[str, ...], contains: str,
                                            tmp_path: Path) -> None:
    from pipeline.registry import signing

    key = tmp_path / "signing.pem"
    key.write_bytes(signing.generate_key_pair()[0])
    outcome = run_cli("attest", "--image", f"127.0.0.1:1/a@{DIGEST}", *args,
                      "--git-revision", "x", "--signing-key", key)
    assert_one_line_error(outcome, contains=contains)


@pytest.mark.parametrize("args", [
    ("promote",),
    ("promote", "--image", "x" * 100_000, "--stage", "s"),
    ("history", "--repository", "a\nb\x1b[2J", "--stage", "s"),
    ("history", "--repository", "127.0.0.1:1/a", "--stage", "../../etc"),
    ("render", "--stage", "s", "--service", "noequals", "--out", "o"),
    ("check-image", "/dev/zero", "--service", "x", "--contract", "/nonexistent"),
    ("check-image", "x.tar", "--service", "x", "--fail-on", "\x1b[31mbad"),
    ("verify", "--image", f"127.0.0.1:1/a:tag@{DIGEST}"),
    ("nonsense",),
])
def test_misuse_is_one_line(args: tuple[str, ...]) -> None:
    line = assert_one_line_error(run_cli(*args))
    assert "\x1b" not in line


def test_closed_stdout_is_not_a_traceback(tmp_path: Path) -> None:
    write_contract(tmp_path)
    ImageBuilder.clean().write(tmp_path / "clean.tar")
    for args in (["check-image", "clean.tar", "--service", "backend", "--format", "sarif"],
                 ["plan", "--help"], ["--help"]):
        proc = subprocess.run(
            f"{sys.executable} -m pipeline {' '.join(args)} | head -c0", shell=True,
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "BrokenPipe" not in proc.stderr, proc.stderr


def test_require_digest_refuses_user_info_without_echoing_it() -> None:
    with pytest.raises(InvalidReference) as info:
        require_digest(f"me:hunter22@127.0.0.1:5000/a@{DIGEST}")
    assert "hunter22" not in str(info.value)
