"""The contract loader: defaults, overlays, and one-line errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.contract import load_contract, parse_size
from pipeline.errors import ContractError

DATA = Path(__file__).parent / "data"
SAMPLE = Path(__file__).parents[2] / "examples" / "taskflow"


def write(tmp_path: Path, text: str, name: str = "pipeline.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path, overlays: tuple[Path, ...] = ()) -> str:
    with pytest.raises(ContractError) as info:
        load_contract(path, overlays)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_full_schema_example_loads() -> None:
    contract = load_contract(DATA / "full_contract.toml")
    backend = contract.service("backend")
    assert backend.max_size == 300_000_000
    assert backend.env.secrets == ["DATABASE_URL"]
    assert backend.health.body == {"status": "healthy"}
    assert backend.shutdown.signal == "SIGTERM"
    classes = backend.forbidden.classes()
    assert "package-managers" not in classes                     # relaxed
    assert "**/bin/ruff" in classes["linters"].paths               # extended
    assert backend.secrets_allowlist[0].reason == "test fixture, not a real key"
    assert contract.integration is not None and contract.integration.services == ["backend",
                                                                                  "frontend"]
    assert contract.context_dir("backend") == (DATA / "backend").resolve()


def test_short_contract_gets_defaults(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, '[services.api]\ncontext = "."\nport = 80\n'))
    api = contract.service("api")
    assert api.dockerfile == "Dockerfile"
    assert api.user.uid_min == 1
    assert api.health.path == "/health" and api.health.status == 200
    assert api.max_size == 1_000_000_000
    assert set(api.forbidden.classes()) == {"compilers", "package-managers", "test-frameworks",
                                            "linters", "vcs-ci"}


@pytest.mark.skipif(not (SAMPLE / "pipeline.toml").exists(), reason="sample app not present")
def test_sample_app_contract_and_offline_overlay_load() -> None:
    contract = load_contract(SAMPLE / "pipeline.toml", [SAMPLE / "pipeline.offline.toml"])
    assert set(contract.services) >= {"backend", "frontend"}
    assert all(ref.startswith("127.0.0.1:5000/") for ref in contract.images.values())


@pytest.mark.parametrize(("text", "expected"), [
    ('[services.api]\ncontext = "."\nport = 80\ncolour = "red"\n',
     "pipeline.toml:4: services.api.colour: unknown key"),
    ('[services.api]\ncontext = "."\nport = "eighty"\n',
     "pipeline.toml:3: services.api.port: Input should be a valid integer"),
    ('[services.api]\ncontext = "."\nport = 70000\n',
     "pipeline.toml:3: services.api.port: Input should be less than or equal to 65535"),
    ('[services.api]\ncontext = "."\n', "pipeline.toml:1: services.api.port: required key"),
    ('[services.api]\ncontext = "."\nport = 80\nuser = { uid_min = 0 }\n',
     "pipeline.toml:4: services.api.user.uid_min: Input should be greater than or equal to 1"),
    ('[services.api]\ncontext = "."\nport = 80\nmax_size = "big"\n',
     "pipeline.toml:4: services.api.max_size: 'big' is not a size"),
    ('[services.api]\ncontext = "../elsewhere"\nport = 80\n',
     "pipeline.toml:2: services.api.context: '../elsewhere' must be relative"),
    (('[services.api]\ncontext = "."\nport = 80\n[services.api.env]\nrequired = ["A"]\n'
     'secrets = ["B"]\n'), "pipeline.toml:4: services.api.env: secrets ['B'] are not listed"),
    ('[services.api]\ncontext = "."\nport = 80\n[services.api.forbidden]\nrelax = ["editors"]\n',
     "pipeline.toml:5: services.api.forbidden.relax: unknown tool class 'editors'"),
    (('[services.api]\ncontext = "."\nport = 80\n[[services.api.secrets_allowlist]]\n'
     'path = "a"\nreason = ""\n'),
     "pipeline.toml:6: services.api.secrets_allowlist[0].reason: String should have at least"),
    ('[services.Api]\ncontext = "."\nport = 80\n', "pipeline.toml:1: services.Api: String should"),
    ('[services.api]\ncontext = "."\nport = 80\n[services.api.checks]\nimage = "python-dev"\n',
     "pipeline.toml:5: services.api.checks.image: unknown image key 'python-dev'"),
    ('[services.api]\ncontext = "."\nport = 80\n[services.api.runtime]\ndepends_on = ["db"]\n',
     "pipeline.toml:5: services.api.runtime.depends_on[0]: unknown dependency or service 'db'"),
    ('[services.api]\ncontext = "."\nport = 80\n[services.api.shutdown]\nsignal = "SIGNOPE"\n',
     "pipeline.toml:5: services.api.shutdown.signal: 'SIGNOPE' is not a signal name"),
    ('version = 2\n[services.api]\ncontext = "."\nport = 80\n',
     "pipeline.toml:1: version: Input should be 1"),
    ("services = {}\n", "pipeline.toml:1: services: Dictionary should have at least 1 item"),
    ('[services.api]\ncontext = "."\nport = 80\n[services.api]\nport = 81\n',
     "pipeline.toml:4: invalid TOML"),
    ('[services.api\ncontext = "."\n', "pipeline.toml:1: invalid TOML"),
])
def test_bad_contract_is_one_line_naming_line_and_field(tmp_path: Path, text: str,
                                                        expected: str) -> None:
    message = error_of(write(tmp_path, text))
    assert message.startswith(str(tmp_path / "pipeline.toml"))
    assert expected in message, message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nope.toml").endswith("nope.toml: no such file")
    assert "is a directory" in error_of(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_bytes(b"\xff\xfe[services]")
    assert "not UTF-8" in error_of(path)


def test_overlay_merges_tables_and_replaces_arrays(tmp_path: Path) -> None:
    base = write(tmp_path, '[images]\npy = "python:3.11"\nnode = "node:20"\n'
                 '[services.api]\ncontext = "."\nport = 80\nlabels = ["a", "b"]\n')
    overlay = write(tmp_path, '[images]\npy = "127.0.0.1:5000/pipeline/python:3.11"\n'
                    '[services.api]\nlabels = ["c"]\n', "offline.toml")
    contract = load_contract(base, [overlay])
    assert contract.images == {"py": "127.0.0.1:5000/pipeline/python:3.11", "node": "node:20"}
    assert contract.service("api").labels == ["c"]
    assert contract.service("api").port == 80


def test_overlay_error_names_the_overlay_file(tmp_path: Path) -> None:
    base = write(tmp_path, '[services.api]\ncontext = "."\nport = 80\n')
    overlay = write(tmp_path, '# offline\n[services.api]\nport = -1\n', "offline.toml")
    message = error_of(base, (overlay,))
    assert message.startswith(f"{overlay}:3: services.api.port:"), message


def test_parse_size_units() -> None:
    assert parse_size("300MB") == 300_000_000
    assert parse_size("1.5 GiB") == int(1.5 * 1024**3)
    assert parse_size(42) == 42
    with pytest.raises(ValueError):
        parse_size("0MB")


# Malformed contracts: random TOML-ish text and random values in the right places.
_scalars = st.one_of(st.integers(-2**40, 2**40), st.text(max_size=12), st.booleans(),
                     st.floats(allow_nan=False, allow_infinity=False),
                     st.lists(st.integers(-5, 5), max_size=3))
_fields = st.sampled_from(["context", "port", "dockerfile", "max_size", "user", "entrypoint",
                           "workdir", "labels", "dockerignore", "env", "health", "shutdown",
                           "forbidden", "secrets_allowlist", "runtime", "checks", "target",
                           "build_args", "base_images", "bogus"])


def _toml_value(value: object) -> str:
    import json
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_fields, _scalars, max_size=6))
def test_fuzzed_fields_never_traceback(tmp_path: Path, fields: dict[str, object]) -> None:
    body = "".join(f"{k} = {_toml_value(v)}\n" for k, v in fields.items())
    path = write(tmp_path, f"[services.api]\n{body}")
    try:
        load_contract(path)
    except ContractError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_fuzzed_text_never_tracebacks(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_contract(path)
    except ContractError as exc:
        assert "\n" not in str(exc)
