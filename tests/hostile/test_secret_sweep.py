"""Planted-secret sweep: each command runs with secrets planted where it reads them; no
output of any command (stdout, stderr, every file it wrote) may hold one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.badserver import bad_registry
from tests.hostile.harness import Outcome, run_cli
from tests.imagebuilder import ImageBuilder, write_contract

DIGEST = "sha256:" + "c" * 64
PEM_BODY = "MIIEowIBAAKCAQEAsweepPEMbody0planted0in0the0image0XyZ"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
OPENSSH_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUsweepOPENSSH"
OPENSSH = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{OPENSSH_BODY}\n-----END OPENSSH PRIVATE KEY-----"
PLANTED = {
    "pem": PEM_BODY,
    "openssh": OPENSSH_BODY,
    "declared": "sw33p-d",                     # short, shapeless: a declared secret's value
    "declared-long": "sweep-declared-value-that-is-long-9f8e7d",
    "registry-password": "sweep-regpass-Q7x",
    "userinfo": "sweep-userinfo-P3z",
    "public-key-env": "sweep-pubkey-K1w",
    "signing-key-env": "sweep-signkey-K2v",
    "key-file": "sweep-keyfile-K3u",
}


def _outputs(outcome: Outcome, *roots: Path) -> dict[str, str]:
    found = {"stdout": outcome.stdout, "stderr": outcome.stderr}
    for root in roots:
        for path in ([root] if root.is_file() else sorted(root.rglob("*")) if root.exists()
                     else []):
            if path.is_file():
                found[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return found


def _assert_clean(outcome: Outcome, *roots: Path) -> None:
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]
    for where, text in _outputs(outcome, *roots).items():
        for name, secret in PLANTED.items():
            assert secret not in text, f"planted {name} secret in {where}"
            # Not in pieces either: a 16-character window of the key body.
            if name in ("pem", "openssh"):
                assert secret[8:24] not in text, f"part of planted {name} in {where}"


@pytest.fixture()
def hostile_image(tmp_path: Path) -> Path:
    write_contract(tmp_path)
    image = ImageBuilder.clean()
    image.config["Env"] += [
        f"TLS_KEY={PEM}", f"SSH_KEY={OPENSSH}", f"SECRET_KEY={PLANTED['declared']}",
        f"DATABASE_URL={PLANTED['declared-long']}",
        f"HARMLESS=-----BEGIN PRIVATE KEY-----{PEM_BODY}-----END PRIVATE KEY-----",
    ]
    image.history("ARG CERT=" + PEM.replace("\n", "\\n"))
    image.history(f"|1 DEPLOY_KEY={PEM} /bin/sh -c make")
    image.history(f'ENV SSH_KEY="{OPENSSH}"')
    image.layer().file("app/id_rsa", PEM).file(f"app/{PLANTED['declared-long']}/.env", "A=1")
    return image.write(tmp_path / "hostile.tar")


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "markdown"])
def test_check_image_never_prints_a_planted_secret(hostile_image: Path, fmt: str) -> None:
    root = hostile_image.parent
    outcome = run_cli("check-image", hostile_image.name, "--service", "backend", "--format", fmt,
                      "--reports", "reports", cwd=root)
    assert outcome.code == 1, outcome.stderr
    assert "private key" in outcome.stdout           # found, just not shown
    _assert_clean(outcome, root / "reports")


def test_registry_commands_never_print_credentials(tmp_path: Path) -> None:
    env = {"PIPELINE_REGISTRY_USERNAME": "bob",
           "PIPELINE_REGISTRY_PASSWORD": PLANTED["registry-password"]}
    key = tmp_path / "pub.pem"
    key.write_text(f"-----BEGIN PUBLIC KEY-----\n{PLANTED['key-file']}\n-----END PUBLIC KEY-----\n")
    with bad_registry("echo-credentials") as host:
        userinfo = f"bob:{PLANTED['userinfo']}@{host}"
        commands = [
            ("history", "--repository", f"{host}/team/app", "--stage", "s"),
            ("history", "--repository", f"{userinfo}/team/app", "--stage", "s"),
            ("render", "--stage", "s", "--service", f"api={host}/team/api", "--out",
             tmp_path / "out"),
            ("render", "--stage", "s", "--service", f"api={userinfo}/team/api", "--out",
             tmp_path / "out"),
            ("promote", "--image", f"{userinfo}/team/app@{DIGEST}", "--stage", "s",
             "--public-key", key),
            ("promote", "--image", f"{host}/team/app@{DIGEST}", "--stage", "s"),
            ("verify", "--image", f"{host}/team/app@{DIGEST}"),
            ("verify", "--image", f"{host}/team/app@{DIGEST}", "--public-key", key),
            ("rollback", "--repository", f"{userinfo}/team/app", "--stage", "s"),
            ("attest", "--image", f"{host}/team/app@{DIGEST}", "--lane", "build",
             "--contract-sha256", "ab" * 32, "--git-revision", "x"),
            ("attest", "--image", f"{userinfo}/team/app@{DIGEST}", "--lane", "build",
             "--contract-sha256", "ab" * 32, "--git-revision", "x"),
        ]
        keys = {"PIPELINE_ATTESTATION_PUBLIC_KEY": PLANTED["public-key-env"],
                "PIPELINE_SIGNING_KEY": PLANTED["signing-key-env"]}
        for args in commands:
            outcome = run_cli(*args, "--deadline", "10", env={**env, **keys})
            assert outcome.code in (1, 2), (args, outcome.stderr)
            _assert_clean(outcome, tmp_path / "out")
            assert len(outcome.stderr_lines) == 1, (args, outcome.stderr)


def test_a_planted_public_key_value_is_never_echoed(tmp_path: Path) -> None:
    for value in (PLANTED["public-key-env"], f"-----BEGIN PUBLIC KEY-----\n{PLANTED['key-file']}"
                  "\n-----END PUBLIC KEY-----", f"/nonexistent/{PLANTED['key-file']}"):
        outcome = run_cli("verify", "--image", f"127.0.0.1:1/a@{DIGEST}",
                          env={"PIPELINE_ATTESTATION_PUBLIC_KEY": value})
        assert outcome.code == 2
        assert "PIPELINE_ATTESTATION_PUBLIC_KEY" in outcome.stderr
        _assert_clean(outcome)
