"""check-image beside dockle on the rules both have: non-root user, credentials, setuid.

Shared by tests/image/test_dockle_agreement.py (asserts) and
benchmarks/dockle_agreement.py (prints the table for docs/benchmarks.md).
Each scenario says whether the two tools should agree, and if not, why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.contract import load_contract
from pipeline.rules import check_image
from tests.imagebuilder import ImageBuilder

CONTRACT = '[services.app]\ncontext = "."\nport = 8000\n[services.app.env]\n' \
           'required = ["DATABASE_URL"]\nsecrets = ["DATABASE_URL"]\n'
ELF = b"\x7fELF" + b"\0" * 60
CREDENTIAL_RULES = {"env.secret-value", "env.secret-baked", "history.secret"}


@dataclass(frozen=True)
class Scenario:
    name: str
    build: Callable[[ImageBuilder], None]
    differs: str = ""             # why the tools disagree here, empty when they agree


def _user(user: str) -> Callable[[ImageBuilder], None]:
    return lambda image: image.config.update(User=user)


def _env_history(line: str, env: str | None = None) -> Callable[[ImageBuilder], None]:
    def build(image: ImageBuilder) -> None:
        image.history(line)
        if env:
            image.config["Env"] = [*image.config["Env"], env]
    return build


def _mode(path: str, mode: int) -> Callable[[ImageBuilder], None]:
    return lambda image: image.layer("RUN chmod").file(path, ELF, mode) and None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("clean", lambda image: None),
    Scenario("no USER", _user("")),
    Scenario("USER root", _user("root")),
    Scenario("USER 0", _user("0"),
             differs="dockle compares USER with \"\" and \"root\" only; UID 0 is root too"),
    Scenario("USER app (named, non-root)", _user("app")),
    Scenario("ENV DB_PASSWORD=... in history",
             _env_history("ENV DB_PASSWORD=hunter2hunter2", "DB_PASSWORD=hunter2hunter2")),
    Scenario("ARG value used by RUN", _env_history(
        "RUN |1 NPM_TOKEN=abcdef0123456789 /bin/sh -c npm ci")),
    Scenario("declared secret baked (DATABASE_URL)", _env_history(
        "ENV DATABASE_URL=postgres://u:p@db/x", "DATABASE_URL=postgres://u:p@db/x"),
        differs="dockle cannot know the contract's secrets; DATABASE_URL has no suspicious word"),
    Scenario("ENV PUBLIC_KEY_URL=https://...", _env_history(
        "ENV PUBLIC_KEY_URL=https://keys.example/pub", "PUBLIC_KEY_URL=https://keys.example/pub"),
        differs="dockle flags any name containing KEY/PASS/ACCESS; a URL value is no secret"),
    Scenario("ENV GPG_KEY=<fingerprint>", _env_history(
        "ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
        "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D")),
    Scenario("token value under a bland name", _env_history(
        "ENV HELPER=ghp_" + "a" * 36, "HELPER=ghp_" + "a" * 36),
        differs="dockle looks at names only; check-image also matches token formats in values"),
    Scenario("setuid binary", _mode("usr/bin/su", 0o4755)),
    Scenario("setgid binary", _mode("usr/bin/wall", 0o2755)),
    Scenario("setuid + setgid", _mode("usr/bin/both", 0o6755)),
)


@dataclass(frozen=True)
class Verdicts:
    root: bool
    credential: bool
    setuid: frozenset[str]


def dockle_path() -> str | None:
    found = shutil.which("dockle")
    home = Path.home() / "go" / "bin" / "dockle"
    return found or (str(home) if home.exists() else None)


def ours(tarball: Path, work: Path) -> Verdicts:
    contract_path = work / "pipeline.toml"
    contract_path.write_text(CONTRACT)
    findings = check_image(tarball, load_contract(contract_path), "app", context_dir=None)
    ids = {f.rule_id for f in findings}
    return Verdicts("user.root" in ids, bool(ids & CREDENTIAL_RULES),
                    frozenset((f.evidence[0].path or "") for f in findings
                              if f.rule_id == "fs.setuid"))


def dockle(tarball: Path, binary: str) -> Verdicts:
    done = subprocess.run([binary, "--input", str(tarball), "-f", "json", "--exit-code", "0"],
                          capture_output=True, text=True, timeout=120, check=True)
    details = {d["code"]: d for d in json.loads(done.stdout).get("details", [])}
    setuid = details.get("CIS-DI-0008", {}).get("alerts", [])
    return Verdicts("CIS-DI-0001" in details, "CIS-DI-0010" in details,
                    frozenset(alert.split()[-1].lstrip("/") for alert in setuid))


def run(scenario: Scenario, work: Path, binary: str) -> tuple[Verdicts, Verdicts]:
    image = ImageBuilder.clean()
    scenario.build(image)
    tarball = image.write(work / "image.tar")
    return ours(tarball, work), dockle(tarball, binary)
