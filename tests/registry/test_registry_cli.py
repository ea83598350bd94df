"""The CLI commands end to end against a real registry: exit codes, one-line errors, no secrets."""

from __future__ import annotations

import json
import stat

import pytest
import yaml

from pipeline import cli

pytestmark = pytest.mark.registry


@pytest.fixture
def run(monkeypatch, capsys):
    # Only this area's commands: the dispatcher must not depend on other areas to test ours.
    monkeypatch.setattr(cli, "COMMANDS", ("stages", "attest", "render"))

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_keygen_attest_promote_history_rollback_render(run, registry, client, make_image,
                                                       tmp_path, monkeypatch):
    code, out, _ = run("keygen", "--out", str(tmp_path / "keys"))
    assert code == 0
    private = (tmp_path / "keys" / "signing.pem")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    monkeypatch.setenv("PIPELINE_SIGNING_KEY", private.read_text())
    public = tmp_path / "keys" / "signing.pub.pem"
    monkeypatch.setenv("PIPELINE_ATTESTATION_PUBLIC_KEY", str(public))
    secret_body = private.read_text().splitlines()[1]
    outputs = []

    refs = [make_image(attested=False) for _ in range(2)]
    for ref in refs:
        code, out, err = run("attest", "--image", ref, "--lane", "build", "--lane", "e2e",
                             "--contract-sha256", "cd" * 32, "--git-revision", "abc123")
        assert code == 0, err
        outputs += [out, err]
    code, out, err = run("verify", "--image", refs[0], "--require-lane", "e2e")
    assert (code, out.startswith(f"{refs[0]}: verified")) == (0, True), err

    for ref in refs:
        code, out, err = run("promote", "--image", ref, "--stage", "staging", "--reason", "go")
        assert code == 0, err
        assert "promoted" in out
        outputs += [out, err]
    code, out, err = run("rollback", "--stage", "staging",
                         "--repository", f"{registry.host}/team/backend", "--reason", "oops")
    assert code == 0 and "rolled-back" in out, err
    outputs += [out, err]

    code, out, _ = run("history", "--stage", "staging",
                       "--repository", f"{registry.host}/team/backend", "--json")
    history = json.loads(out)
    assert history["current"] == refs[0].split("@")[1]
    assert [(e["action"], e["reason"]) for e in history["entries"]] == [
        ("promote", "go"), ("promote", "go"), ("rollback", "oops")]
    code, out, _ = run("history", "--stage", "staging",
                       "--repository", f"{registry.host}/team/backend")
    assert code == 0 and len(out.splitlines()) == 4

    code, out, err = run("render", "--stage", "staging", "--out", str(tmp_path / "deploy"),
                         "--service", f"backend={registry.host}/team/backend",
                         "--port", "backend=8000")
    assert code == 0, err
    compose = yaml.safe_load((tmp_path / "deploy" / "compose.yaml").read_text())
    assert compose["services"]["backend"]["image"] == refs[0]

    assert not any(secret_body in text for text in outputs)


def test_refusals_are_one_line_with_exit_codes(run, registry, make_image, key_pair, tmp_path,
                                               monkeypatch):
    from cryptography.hazmat.primitives import serialization

    pub = tmp_path / "pub.pem"
    pub.write_bytes(key_pair[1].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    unvalidated = make_image(attested=False)
    cases = [
        (["promote", "--image", unvalidated, "--stage", "staging"], 1, "unvalidated"),
        (["promote", "--image", f"{registry.host}/team/backend:v1", "--stage", "staging"], 2,
         "a digest is required"),
        (["promote", "--image", make_image(failed=("e2e",)), "--stage", "staging"], 1,
         "failed gate"),
        (["rollback", "--stage", "staging", "--repository", f"{registry.host}/team/backend"], 1,
         "never been promoted"),
        (["render", "--stage", "staging", "--out", str(tmp_path / "d"),
          "--service", f"backend={registry.host}/team/backend:latest"], 2, "a digest is required"),
    ]
    for argv, expected, reason in cases:
        code, out, err = run(*argv, "--public-key", str(pub)) if argv[0] != "render" else run(*argv)
        assert code == expected, (argv, err)
        assert err.count("\n") == 1 and err.startswith("pipeline: error: ") and reason in err
    assert not (tmp_path / "d").exists()
    monkeypatch.delenv("PIPELINE_ATTESTATION_PUBLIC_KEY", raising=False)
    code, _, err = run("promote", "--image", unvalidated, "--stage", "staging")
    assert code == 2 and "PIPELINE_ATTESTATION_PUBLIC_KEY" in err
