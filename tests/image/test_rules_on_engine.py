"""The issue-15 rules on real images built by the real engine: one passing and one failing
image per rule (Dockerfile rules, multi-call binaries, base-image attribution)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.contract import load_contract
from pipeline.findings import Finding, Severity
from pipeline.registry.baseimage import base_for_service
from pipeline.rules import check_image
from tests.conftest import local_image
from tests.corpus import CORPUS

pytestmark = [pytest.mark.engine, pytest.mark.slow]

DEBIAN = local_image("debian:bookworm")
PYTHON = local_image("python:3.11")

CONTRACT = """\
version = 1
[services.app]
context = "app"
port = 8000
dockerignore = []
build_args = {{ BASE = "{base}" }}
{extra}
"""


async def built(tmp_path: Path, dockerfile: str, *, base: str = DEBIAN, extra: str = "",
                files: dict[str, str] | None = None, attribute: bool = False) -> list[Finding]:
    """Build `dockerfile` on the engine, export it, and check it against a small contract."""
    import dagger
    from dagger import dag

    context = tmp_path / "app"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (context / name).write_text(text)
    contract_path = tmp_path / "pipeline.toml"
    contract_path.write_text(CONTRACT.format(base=base, extra=extra))
    contract = load_contract(contract_path)
    image = dag.host().directory(str(context)).docker_build(
        build_args=[dagger.BuildArg(name="BASE", value=base)])
    tarball = tmp_path / "image.tar"
    await image.as_tarball().export(str(tarball))
    layers = base_for_service(contract, "app") if attribute else None
    return check_image(tarball, contract, "app", context_dir=context, base=layers)


def ids(found: list[Finding], prefix: str = "") -> list[str]:
    return sorted(f.rule_id for f in found if f.rule_id.startswith(prefix))


SERVICE = "ARG BASE\nFROM ${BASE}\nUSER 65534\nEXPOSE 8000\n"


async def test_healthcheck_required(dag, tmp_path: Path) -> None:
    extra = 'healthcheck = "required"'
    with_check = SERVICE + 'HEALTHCHECK CMD ["true"]\nCMD ["sleep", "1"]\n'
    assert ids(await built(tmp_path / "a", with_check, extra=extra), "dockerfile.") == []
    without = SERVICE + 'CMD ["sleep", "1"]\n'
    found = await built(tmp_path / "b", without, extra=extra)
    assert ids(found, "dockerfile.") == ["dockerfile.healthcheck-missing"]


async def test_cache_order(dag, tmp_path: Path) -> None:
    files = {"requirements.txt": "# no dependencies\n", "app.py": "print('hi')\n"}
    good = ("ARG BASE\nFROM ${BASE}\nWORKDIR /app\nCOPY requirements.txt .\n"
            "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nUSER 65534\n")
    assert ids(await built(tmp_path / "a", good, base=PYTHON, files=files), "dockerfile.") == []
    bad = ("ARG BASE\nFROM ${BASE}\nWORKDIR /app\nCOPY . .\n"
           "RUN pip install --no-cache-dir -r requirements.txt\nUSER 65534\n")
    found = await built(tmp_path / "b", bad, base=PYTHON, files=files)
    assert ids(found, "dockerfile.") == ["dockerfile.cache-order"]
    [finding] = [f for f in found if f.rule_id == "dockerfile.cache-order"]
    assert finding.level is Severity.LOW and "line 4" in finding.message


async def test_secret_in_arg_default(dag, tmp_path: Path) -> None:
    good = SERVICE + "ARG APP_VERSION=1.2.3\nRUN echo $APP_VERSION > /tmp/version\n"
    assert ids(await built(tmp_path / "a", good), "dockerfile.") == []
    bad = SERVICE + "ARG API_TOKEN=not-a-real-token-123\nRUN echo building\n"
    found = await built(tmp_path / "b", bad)
    assert ids(found, "dockerfile.") == ["dockerfile.secret-arg"]
    assert "not-a-real-token" not in str([f.as_dict() for f in found])


async def test_busybox_applets_are_one_low_finding(dag, tmp_path: Path) -> None:
    """The clean busybox image: busybox reported once at low, no finding at high."""
    import dagger
    from dagger import dag as client

    contract = load_contract(CORPUS / "pipeline.toml")
    spec = contract.services["busybox"]
    image = client.host().directory(str(CORPUS / "busybox")).docker_build(
        build_args=[dagger.BuildArg(name=k, value=v) for k, v in spec.build_args.items()])
    tarball = tmp_path / "busybox.tar"
    await image.as_tarball().export(str(tarball))
    found = check_image(tarball, contract, "busybox", context_dir=CORPUS / "busybox")
    assert [f for f in found if f.level >= Severity.HIGH] == []
    [call] = [f for f in found if f.rule_id == "multicall.binary"]
    assert call.level is Severity.LOW and "dpkg" in call.message and "rpm" in call.message
    # Counted as tools only when the contract says so.
    counting = contract.model_copy(update={"services": {**contract.services, "busybox": spec.model_copy(
        update={"forbidden": spec.forbidden.model_copy(update={"count_applets": ["package-managers"]})})}})
    counted = check_image(tarball, counting, "busybox", context_dir=CORPUS / "busybox")
    assert "forbidden.package-managers" in ids(counted)
    # A plain Debian image has no multi-call binary.
    plain = await built(tmp_path / "plain", SERVICE + 'CMD ["sleep", "1"]\n')
    assert "multicall.binary" not in ids(plain)


async def test_findings_from_the_base_say_inherited(dag, tmp_path: Path) -> None:
    """setuid files and dpkg/apt from the Debian base are the base's; the app's own are its own."""
    mine = SERVICE.replace("USER 65534", "RUN cp /bin/true /usr/local/bin/helper "
                           "&& chmod u+s /usr/local/bin/helper\nUSER 65534") + 'CMD ["sleep", "1"]\n'
    found = await built(tmp_path, mine, attribute=True)
    inherited = [f for f in found if f.inherited_from]
    assert {f.rule_id for f in inherited} >= {"fs.setuid", "forbidden.package-managers"}
    assert all(f.inherited_from == DEBIAN and f"(inherited from {DEBIAN})" in f.message
               and "another base" in (f.remediation or "") for f in inherited)
    own = [(f.rule_id, f.message) for f in found if not f.inherited_from and f.rule_id == "fs.setuid"]
    assert own == [("fs.setuid", "/usr/local/bin/helper is setuid (mode 4755)")]
    # Without the base's layers, the same setuid files are not attributed.
    plain = await built(tmp_path / "plain", mine)
    assert not any(f.inherited_from for f in plain)


async def test_check_image_cli_attributes_and_hides_inherited(dag, tmp_path: Path) -> None:
    """`check-image --base auto` fetches the Dockerfile's base from the registry;
    `--hide-inherited` leaves the base's findings out of the report."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    mine = SERVICE.replace("USER 65534", "RUN cp /bin/true /usr/local/bin/helper "
                           "&& chmod u+s /usr/local/bin/helper\nUSER 65534") + 'CMD ["sleep", "1"]\n'
    await built(tmp_path, mine)

    def cli(*extra: str) -> list[dict]:
        result = subprocess.run(
            [sys.executable, "-m", "pipeline", "check-image", str(tmp_path / "image.tar"),
             "--contract", str(tmp_path / "pipeline.toml"), "--service", "app",
             "--format", "json", *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PIPELINE_LOG_LEVEL": "error"})
        assert result.returncode in (0, 1), result.stderr
        return json.loads(result.stdout)["findings"]

    attributed = cli("--base", "auto")
    assert {f["rule"] for f in attributed if f.get("inherited_from") == DEBIAN} >= {
        "fs.setuid", "forbidden.package-managers"}
    hidden = cli("--base", "auto", "--hide-inherited")
    assert not any("inherited_from" in f for f in hidden)
    assert [f["message"] for f in hidden if f["rule"] == "fs.setuid"] == [
        "/usr/local/bin/helper is setuid (mode 4755)"]
    # Without --base, nothing is attributed (the image alone cannot say).
    assert not any("inherited_from" in f for f in cli())
