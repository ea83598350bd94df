"""Every static rule on real image tarballs: a clean image, then one violation at a time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.contract import load_contract
from pipeline.findings import Severity
from pipeline.rules import check_image
from tests.imagebuilder import CLEAN_CONTRACT, ImageBuilder, write_contract

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 57


def ids(tmp_path: Path, image: ImageBuilder, contract: str = CLEAN_CONTRACT, *,
        dockerignore: str | None = ".git\n.env\n**/__pycache__\n", fmt: str = "docker",
        context: bool = True, min_severity: Severity = Severity.INFO) -> list[str]:
    path = write_contract(tmp_path, contract, dockerignore)
    tarball = image.write(tmp_path / "image.tar", fmt=fmt)
    findings = check_image(tarball, load_contract(path), "backend",
                           context_dir=tmp_path / "backend" if context else None)
    return sorted(f.rule_id for f in findings if f.level >= min_severity)


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_clean_image_has_no_findings(tmp_path: Path, fmt: str) -> None:
    assert ids(tmp_path, ImageBuilder.clean(), fmt=fmt) == []


def _config(**changes: object) -> Callable[[ImageBuilder], None]:
    def apply(image: ImageBuilder) -> None:
        image.config.update(changes)
    return apply


def _files(*entries: tuple[str, bytes | str, int]) -> Callable[[ImageBuilder], None]:
    def apply(image: ImageBuilder) -> None:
        layer = image.layer("COPY . /")
        for path, data, mode in entries:
            layer.file(path, data, mode)
    return apply


def _label(key: str, value: str | None) -> Callable[[ImageBuilder], None]:
    def apply(image: ImageBuilder) -> None:
        labels = dict(image.config["Labels"])
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value
        image.config["Labels"] = labels
    return apply


def _history(line: str) -> Callable[[ImageBuilder], None]:
    return lambda image: image.history(line) and None


def _deleted_secret(image: ImageBuilder) -> None:
    image.layer("COPY id_ed25519 /root/.ssh/").file("root/.ssh/id_ed25519", KEY, 0o600)
    image.layer("RUN rm /root/.ssh/id_ed25519").delete("root/.ssh/id_ed25519")


VIOLATIONS: list[tuple[str, Callable[[ImageBuilder], None], list[str]]] = [
    ("no USER", _config(User=""), ["user.root"]),
    ("USER root", _config(User="root"), ["user.root"]),
    ("USER 0:0", _config(User="0:0"), ["user.root"]),
    ("USER below uid_min", _config(User="999"), ["user.mismatch"]),
    ("USER name not in passwd", _config(User="ghost"), ["user.unknown"]),
    ("USER name resolves", _config(User="app"), []),
    ("port not exposed", _config(ExposedPorts={"9000/tcp": {}}),
     ["port.extra", "port.not-exposed"]),
    ("extra port", _config(ExposedPorts={"8000/tcp": {}, "22/tcp": {}}), ["port.extra"]),
    ("entrypoint", _config(Entrypoint=["sh", "-c", "python -m app"]), ["entrypoint.mismatch"]),
    ("workdir", _config(WorkingDir="/"), ["workdir.mismatch"]),
    ("label missing", _label("org.opencontainers.image.source", None), ["labels.missing"]),
    ("base not allowed", _label("org.opencontainers.image.base.name", "node:20"),
     ["base.not-allowed"]),
    ("base from registry path allowed",
     _label("org.opencontainers.image.base.name", "127.0.0.1:5000/pipeline/python:3.11"), []),
    ("declared secret baked", _config(Env=["SECRET_KEY=s3cr3t-value"]), ["env.secret-baked"]),
    ("secret-looking ENV", _config(Env=["STRIPE_API_KEY=abcdef123456"]), ["env.secret-value"]),
    ("token in ENV", _config(Env=["X=ghp_" + "a" * 36]), ["env.secret-value"]),
    ("placeholder ENV is fine", _config(Env=["DB_PASSWORD=", "API_TOKEN_FILE=/run/secrets/t"]),
     []),
    ("ARG secret in history", _history("ARG NPM_TOKEN=abcdefabcdef"), ["history.secret"]),
    ("RUN with ARG secret", _history("RUN |1 DB_PASSWORD=hunter22 /bin/sh -c ./migrate"),
     ["history.secret"]),
    ("cloud key in RUN", _history("RUN /bin/sh -c echo AKIAIOSFODNN7EXAMPLE > /tmp/k"),
     ["history.secret"]),
    ("compiler by path", _files(("usr/bin/gcc-12", ELF, 0o755)), ["forbidden.compilers"]),
    ("package manager by path", _files(("usr/local/bin/pip", "#!python", 0o755)),
     ["forbidden.package-managers"]),
    ("compiler by dpkg", _files(("var/lib/dpkg/status",
                                 ("Package: libc6\nStatus: install ok installed\n\n"
                                 "Package: gcc-12\nStatus: install ok installed\n"), 0o644)),
     ["forbidden.compilers"]),
    ("Debian's essential gcc-12-base/libgcc-s1 are fine",
     _files(("var/lib/dpkg/status", "Package: gcc-12-base\nStatus: install ok installed\n\n"
             "Package: libgcc-s1\nStatus: install ok installed\n\n"
             "Package: cpp-12-doc\nStatus: install ok installed\n", 0o644)), []),
    ("removed dpkg package is fine", _files(("var/lib/dpkg/status",
                                             "Package: gcc-12\nStatus: deinstall ok config-files\n",
                                             0o644)), []),
    ("compiler by apk", _files(("lib/apk/db/installed", "C:x\nP:build-base\nV:0.5\n\n", 0o644)),
     ["forbidden.compilers"]),
    ("test framework by dist-info",
     _files(("usr/local/lib/python3.11/site-packages/pytest-8.3.2.dist-info/METADATA",
             "Name: pytest\n", 0o644)), ["forbidden.test-frameworks"]),
    ("linter by node_modules", _files(("app/node_modules/eslint/package.json",
                                       '{"name": "eslint"}', 0o644)), ["forbidden.linters"]),
    ("vcs by path", _files(("usr/bin/git", ELF, 0o755)), ["forbidden.vcs-ci"]),
    ("private key", _files(("app/deploy.pem", KEY, 0o600)), ["secret.private-key"]),
    ("private key deleted by an upper layer", _deleted_secret, ["secret.private-key"]),
    ("aws key in a file", _files(("app/settings.py", 'KEY = "AKIAIOSFODNN7EXAMPLE"\n', 0o644)),
     ["secret.cloud-key"]),
    ("token in a file", _files(("app/ci.sh", "TOKEN=glpat-abcdefghij0123456789\n", 0o644)),
     ["secret.token"]),
    (".env file", _files(("app/.env", "DEBUG=1\n", 0o644)), ["secret.dotenv"]),
    (".env.example is fine", _files(("app/.env.example", "DEBUG=1\n", 0o644)), []),
    ("setuid", _files(("usr/local/bin/helper", ELF, 0o4755)), ["fs.setuid"]),
    ("setgid", _files(("usr/local/bin/helper", ELF, 0o2755)), ["fs.setuid"]),
    (".git directory", _files(("app/.git/HEAD", "ref: refs/heads/main\n", 0o644)),
     ["fs.git-dir"]),
]


@pytest.mark.parametrize(("mutate", "expected"), [(m, e) for _, m, e in VIOLATIONS],
                         ids=[name for name, _, _ in VIOLATIONS])
def test_each_violation_gives_its_finding(tmp_path: Path, mutate: Callable[[ImageBuilder], None],
                                          expected: list[str]) -> None:
    image = ImageBuilder.clean()
    mutate(image)
    assert ids(tmp_path, image) == expected


def test_size_exceeded(tmp_path: Path) -> None:
    image = ImageBuilder.clean()
    image.layer().file("app/blob.bin", b"\0" * 2_000_000)
    small = CLEAN_CONTRACT.replace('max_size = "10MB"', 'max_size = "1MB"')
    assert ids(tmp_path, image, small) == ["size.exceeded"]


def test_cmd_mismatch(tmp_path: Path) -> None:
    contract = CLEAN_CONTRACT.replace('workdir = "/app"', 'workdir = "/app"\ncmd = ["--port", "8000"]')
    assert ids(tmp_path, ImageBuilder.clean(), contract) == ["cmd.mismatch"]


def test_uid_and_name_mismatch(tmp_path: Path) -> None:
    contract = CLEAN_CONTRACT.replace("user = { uid_min = 1000 }", 'user = { name = "svc" }')
    assert ids(tmp_path, ImageBuilder.clean(), contract) == ["user.mismatch"]


def test_pinned_base_digest(tmp_path: Path) -> None:
    digest = "sha256:" + "b" * 64
    contract = CLEAN_CONTRACT.replace('base_images = [{ name = "python" }]',
                                      f'base_images = [{{ name = "python", digest = "{digest}" }}]')
    assert ids(tmp_path, ImageBuilder.clean(), contract) == ["base.digest-mismatch"]
    pinned = ImageBuilder.clean()
    pinned.config["Labels"]["org.opencontainers.image.base.digest"] = digest
    assert ids(tmp_path, pinned, contract) == []


def test_base_from_dockerfile_with_build_args(tmp_path: Path) -> None:
    image = ImageBuilder.clean()
    image.config["Labels"].pop("org.opencontainers.image.base.name")
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "Dockerfile").write_text(
        "ARG BASE=node:20\nFROM ${BASE} AS build\nRUN make\n\n"
        "FROM build AS runtime\nUSER 10001\n\nFROM alpine AS debug\n")
    contract = CLEAN_CONTRACT.replace('context = "backend"',
                                      'context = "backend"\ntarget = "runtime"\n'
                                      'build_args = { BASE = "python:3.11-slim" }')
    assert ids(tmp_path, image, contract) == []
    unargued = contract.replace('build_args = { BASE = "python:3.11-slim" }', "")
    assert ids(tmp_path, image, unargued) == ["base.not-allowed"]
    assert ids(tmp_path, image, contract, context=False) == ["base.unknown"]


def test_dockerignore(tmp_path: Path) -> None:
    assert ids(tmp_path, ImageBuilder.clean(), dockerignore=None) == ["dockerignore.missing"]
    assert ids(tmp_path, ImageBuilder.clean(), dockerignore="# nothing\n.git\n") == \
        ["dockerignore.not-excluded", "dockerignore.not-excluded"]
    assert ids(tmp_path, ImageBuilder.clean(), dockerignore="**\n!src\n") == []
    assert ids(tmp_path, ImageBuilder.clean(), dockerignore=".git\n.env*\n**/__pycache__\n"
               "!.env\n") == ["dockerignore.not-excluded"]


def test_relaxed_and_allowed_tools(tmp_path: Path) -> None:
    image = ImageBuilder.clean()
    image.layer().file("usr/local/bin/pip", "#!", 0o755).file("usr/bin/git", ELF, 0o755)
    contract = CLEAN_CONTRACT + ('[services.backend.forbidden]\nrelax = ["package-managers"]\n'
                                 'allow = ["/usr/bin/git"]\n')
    assert ids(tmp_path, image, contract) == []
    extended = CLEAN_CONTRACT + ('[services.backend.forbidden]\n'
                                 'extend = { editors = { paths = ["usr/bin/vi*"] } }\n')
    image.layer().file("usr/bin/vim.basic", ELF, 0o755)
    assert ids(tmp_path, image, extended) == ["forbidden.editors", "forbidden.package-managers",
                                              "forbidden.vcs-ci"]


def test_allowlisted_secret_is_info_with_its_reason(tmp_path: Path) -> None:
    image = ImageBuilder.clean()
    image.layer().file("app/tests/fixtures/fake_key.pem", KEY)
    contract = CLEAN_CONTRACT + ('[[services.backend.secrets_allowlist]]\n'
                                 'path = "app/tests/fixtures/*.pem"\nreason = "test fixture"\n')
    path = write_contract(tmp_path, contract)
    findings = check_image(image.write(tmp_path / "i.tar"), load_contract(path), "backend",
                           context_dir=tmp_path / "backend")
    assert [(f.rule_id, f.level) for f in findings] == [("secret.private-key", Severity.INFO)]
    assert "test fixture" in findings[0].message


def test_secret_values_never_reach_findings(tmp_path: Path) -> None:
    image = ImageBuilder.clean()
    image.config["Env"] = ["SECRET_KEY=topsecretvalue123", "GH=ghp_" + "z" * 36]
    image.history("ARG DB_PASSWORD=hunter2hunter2")
    path = write_contract(tmp_path)
    findings = check_image(image.write(tmp_path / "i.tar"), load_contract(path), "backend",
                           context_dir=tmp_path / "backend")
    text = repr([f.as_dict() for f in findings])
    assert "topsecretvalue123" not in text and "z" * 36 not in text and "hunter2hunter2" not in text
    assert {f.rule_id for f in findings} == {"env.secret-baked", "env.secret-value",
                                             "history.secret"}
