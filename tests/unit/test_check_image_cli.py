"""`python -m pipeline check-image`: exit codes and one-line errors, in a real subprocess."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.imagebuilder import ImageBuilder, write_contract


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", "check-image", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    write_contract(tmp_path)
    ImageBuilder.clean().write(tmp_path / "clean.tar")
    bad = ImageBuilder.clean()
    bad.config["User"] = ""
    bad.layer().file("usr/bin/passwd", b"\x7fELF", 0o4755)
    bad.write(tmp_path / "bad.tar", fmt="oci")
    return tmp_path


def test_clean_exits_0(project: Path) -> None:
    done = run("clean.tar", "--contract", "pipeline.toml", "--service", "backend", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "passed: no findings" in done.stdout


def test_findings_exit_1_and_write_reports(project: Path) -> None:
    done = run("bad.tar", "--service", "backend", "--format", "json", "--reports", "out",
               cwd=project)
    assert done.returncode == 1, done.stderr
    assert [f["rule"] for f in json.loads(done.stdout)["findings"]] == ["user.root", "fs.setuid"]
    assert (project / "out" / "check-image-backend.sarif").is_file()


def test_fail_on_threshold(project: Path) -> None:
    done = run("bad.tar", "--service", "backend", "--fail-on", "critical", cwd=project)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(("args", "expected"), [
    (("missing.tar", "--service", "backend"), "missing.tar: no such image tarball"),
    (("pipeline.toml", "--service", "backend"), "pipeline.toml: not a tar archive"),
    (("clean.tar", "--service", "frontend"), "--service: unknown service 'frontend'"),
    (("clean.tar", "--service", "backend", "--contract", "nope.toml"), "nope.toml: no such file"),
    (("clean.tar", "--service", "backend", "--contract", "broken.toml"),
     "broken.toml:2: invalid TOML"),
    (("truncated.tar", "--service", "backend"), "truncated.tar: "),
    (("noconfig.tar", "--service", "backend"),
     "noconfig.tar: config abc.json is referenced but missing from the tarball"),
    (("clean.tar", "--service", "backend", "--context", "nowhere"),
     "--context: build context nowhere is not a directory"),
])
def test_bad_input_exits_2_with_one_line(project: Path, args: tuple[str, ...],
                                         expected: str) -> None:
    (project / "broken.toml").write_text("[services.backend]\nport = = 1\n")
    data = (project / "clean.tar").read_bytes()
    (project / "truncated.tar").write_bytes(data[: len(data) // 3])
    with tarfile.open(project / "noconfig.tar", "w") as tar:
        manifest = json.dumps([{"Config": "abc.json", "Layers": []}]).encode()
        member = tarfile.TarInfo("manifest.json")
        member.size = len(manifest)
        tar.addfile(member, io.BytesIO(manifest))
    done = run(*args, cwd=project)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("pipeline: error: ") and expected in lines[0], lines[0]
    assert done.stdout == ""
