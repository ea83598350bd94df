"""Issue 11's contract keys: each loads and means what it says, each misconfiguration is one
line naming the file, line and field.

checks.depends_on / checks.env, runtime.init, dependencies built from a Dockerfile with
command and health, runners naming dependencies, waive, env:/file: references.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.contract import load_contract
from pipeline.contract.secrets import parse_ref, read_all, references
from pipeline.errors import ContractError

SIGNUP = Path(__file__).parents[2] / "examples" / "signup"

HEAD = '[images]\npy = "python:3.11"\n[services.api]\ncontext = "."\nport = 80\n'


def write(tmp_path: Path, text: str, name: str = "pipeline.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ContractError) as info:
        load_contract(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_every_new_key_loads_with_its_meaning(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, HEAD + """\
build_secrets = { NPM_TOKEN = "env:NPM_TOKEN" }
waive = [{ rule = "user.root", reason = "inherited from upstream", until = 2099-12-31 },
         { rule = "forbidden.compilers", reason = "removed next sprint" }]
[services.api.runtime]
env = { TOKEN = "file:secrets/token", PLAIN = "x" }
depends_on = ["db", "mail"]
init = [["app", "migrate"], "echo seeded"]
[services.api.checks]
image = "py"
unit_test = ["pytest"]
depends_on = ["db"]
env = { DATABASE_URL = "env:TEST_DATABASE_URL" }
[dependencies.db]
image = "py"
port = 5432
health = { command = ["pg_isready"], interval_seconds = 0.5, retries = 10 }
[dependencies.mail]
context = "mail"
target = "run"
build_args = { BASE = "python:3.11" }
port = 1025
extra_ports = [8025, 1025]
command = ["--smtp", "1025"]
[integration]
image = "py"
source = "tests"
command = ["pytest"]
services = ["api", "mail"]
"""))
    api = contract.service("api")
    assert api.runtime.init == [["app", "migrate"], ["sh", "-c", "echo seeded"]]
    assert api.checks is not None and api.checks.depends_on == ["db"]
    assert [w.rule for w in api.waive] == ["user.root", "forbidden.compilers"]
    assert api.waive[0].until == datetime.date(2099, 12, 31) and api.waive[1].until is None
    mail = contract.dependencies["mail"]
    assert mail.context == "mail" and mail.dockerfile == "Dockerfile" and mail.image is None
    assert mail.ports == [1025, 8025]                       # the main port once, first
    assert mail.command == ["--smtp", "1025"]
    db = contract.dependencies["db"]
    assert db.health is not None and db.health.retries == 10
    assert contract.integration is not None and contract.integration.services == ["api", "mail"]
    found = {".".join(map(str, loc)): ref for loc, ref in references(contract)}
    assert found == {
        "services.api.runtime.env.TOKEN": parse_ref("file:secrets/token"),
        "services.api.build_secrets.NPM_TOKEN": parse_ref("env:NPM_TOKEN"),
        "services.api.checks.env.DATABASE_URL": parse_ref("env:TEST_DATABASE_URL"),
    }


@pytest.mark.parametrize(("text", "expected"), [
    ('[services.api.checks]\nimage = "py"\ndepends_on = ["db"]\n',
     "pipeline.toml:8: services.api.checks.depends_on[0]: unknown dependency or service 'db'"),
    ('[services.api.checks]\nimage = "py"\nenv = { A = "env:1BAD" }\n',
     "pipeline.toml:8: services.api.checks.env.A: env: must name an environment variable"),
    ('[services.api.checks]\nimage = "py"\nenv = { 9A = "x" }\n',
     "pipeline.toml:8: services.api.checks.env.9A: String should match pattern"),
    ('[services.api.runtime]\ninit = [42]\n',
     "pipeline.toml:7: services.api.runtime.init[0]: Input should be a valid list"),
    ('[services.api.runtime]\ninit = [[]]\n',
     "pipeline.toml:7: services.api.runtime.init[0]: List should have at least 1 item"),
    ('[services.api.runtime]\nenv = { T = "file:" }\n',
     "pipeline.toml:7: services.api.runtime.env.T: file: must name a file"),
    ('build_args = { TOKEN = "env:TOKEN" }\n',
     "pipeline.toml:6: services.api.build_args.TOKEN: build args are recorded in the image history"),
    ('build_secrets = { TOKEN = "hunter2" }\n',
     "pipeline.toml:6: services.api.build_secrets.TOKEN: must be a reference"),
    ('[dependencies.db]\nport = 5432\n',
     "pipeline.toml:6: dependencies.db: set image (a key of [images]) or context"),
    ('[dependencies.db]\nimage = "py"\ncontext = "db"\nport = 5432\n',
     "pipeline.toml:6: dependencies.db: set image (a key of [images]) or context"),
    ('[dependencies.db]\nimage = "py"\ntarget = "x"\nport = 5432\n',
     "pipeline.toml:6: dependencies.db: dockerfile, target and build_args need context"),
    ('[dependencies.db]\nimage = "nope"\nport = 5432\n',
     "pipeline.toml:7: dependencies.db.image: unknown image key 'nope'"),
    ('[dependencies.db]\ncontext = "../db"\nport = 5432\n',
     "pipeline.toml:7: dependencies.db.context: '../db' must be relative"),
    ('[dependencies.db]\nimage = "py"\nport = 5432\nextra_ports = [70000]\n',
     "pipeline.toml:9: dependencies.db.extra_ports[0]: Input should be less than or equal to"),
    ('[dependencies.db]\nimage = "py"\nport = 5432\ncommand = "postgres"\n',
     "pipeline.toml:9: dependencies.db.command: Input should be a valid list"),
    ('[dependencies.db]\nimage = "py"\nport = 5432\nhealth = { command = ["x"], retries = 0 }\n',
     "pipeline.toml:9: dependencies.db.health.retries: Input should be greater than or equal to 1"),
    ('[dependencies.db]\nimage = "py"\nport = 5432\nhealth = { retries = 3 }\n',
     "pipeline.toml:9: dependencies.db.health.command: required key is missing"),
    ('[dependencies.db]\nimage = "py"\nport = 5432\nenv = { P = "env:" }\n',
     "pipeline.toml:9: dependencies.db.env.P: env: must name an environment variable"),
    ('[integration]\nimage = "py"\nsource = "t"\ncommand = ["x"]\nservices = ["mail"]\n',
     "pipeline.toml:10: integration.services[0]: unknown service or dependency 'mail'"),
    ('[integration]\nimage = "py"\nsource = "t"\ncommand = ["x"]\nenv = { K = "env:a-b" }\n',
     "pipeline.toml:10: integration.env.K: env: must name an environment variable"),
    ('waive = [{ rule = "user.rooot", reason = "typo" }]\n',
     "pipeline.toml:6: services.api.waive[0].rule: unknown rule id 'user.rooot'"),
    ('waive = [{ rule = "user.root", reason = "" }]\n',
     "pipeline.toml:6: services.api.waive[0].reason: String should have at least 3 characters"),
    ('waive = [{ rule = "user.root", reason = "because", until = "soon" }]\n',
     "pipeline.toml:6: services.api.waive[0].until: Input should be a valid date"),
    ('waive = [{ rule = "user.root", reason = "because", why = "x" }]\n',
     "pipeline.toml:6: services.api.waive[0].why: unknown key"),
    ('waive = [{ rule = "user.root", reason = "one" }, { rule = "user.root", reason = "two" }]\n',
     "pipeline.toml:6: services.api.waive: rule 'user.root' is waived twice"),
    ('waive = [{ rule = "forbidden.editors", reason = "vim stays" }]\n',
     "pipeline.toml:6: services.api.waive: waiver of 'forbidden.editors': no tool class"),
])
def test_misconfiguration_is_one_line_naming_file_line_and_field(
        tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(write(tmp_path, HEAD + text))
    assert message.startswith(str(tmp_path / "pipeline.toml"))
    assert expected in message, message


def test_a_waiver_of_a_relaxed_tool_class_is_an_error(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, HEAD + 'waive = [{ rule = "forbidden.linters", '
                             'reason = "ruff stays" }]\n[services.api.forbidden]\n'
                             'relax = ["linters"]\n'))
    assert "no tool class 'linters'" in message


# --------------------------------------------------------------- secret references

def refs_contract(tmp_path: Path):
    return load_contract(write(tmp_path, HEAD + """\
[services.api.runtime]
env = { TOKEN = "env:API_TOKEN", KEY = "file:secrets/key.txt" }
"""))


def test_references_read_from_the_environment_and_files(tmp_path: Path) -> None:
    contract = refs_contract(tmp_path)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key.txt").write_text("s3cr3t-key\n")
    values = read_all(contract, environ={"API_TOKEN": "tok-123"})
    assert values == {"services.api.runtime.env.TOKEN": "tok-123",
                      "services.api.runtime.env.KEY": "s3cr3t-key"}      # trailing newline cut


def test_absolute_file_reference(tmp_path: Path) -> None:
    secret = tmp_path / "abs.txt"
    secret.write_text("abs-value")
    contract = load_contract(write(tmp_path, HEAD + f'[services.api.runtime]\n'
                                                    f'env = {{ K = "file:{secret}" }}\n'))
    assert read_all(contract, environ={}) == {"services.api.runtime.env.K": "abs-value"}


def test_a_missing_variable_names_field_line_and_variable(tmp_path: Path) -> None:
    contract = refs_contract(tmp_path)
    with pytest.raises(ContractError) as info:
        read_all(contract, environ={})
    assert str(info.value) == (f"{tmp_path / 'pipeline.toml'}:7: services.api.runtime.env.TOKEN: "
                               "environment variable API_TOKEN is not set")


@pytest.mark.parametrize(("setup", "expected"), [
    (lambda root: None, "file secrets/key.txt does not exist"),
    (lambda root: (root / "secrets" / "key.txt").mkdir(parents=True),
     "file secrets/key.txt is not a regular file"),
    (lambda root: ((root / "secrets").mkdir(), (root / "secrets" / "key.txt").write_text("")),
     "file secrets/key.txt is empty"),
    (lambda root: ((root / "secrets").mkdir(),
                   (root / "secrets" / "key.txt").write_bytes(b"\xff\xfe")),
     "file secrets/key.txt is not UTF-8 text"),
    (lambda root: ((root / "secrets").mkdir(),
                   (root / "secrets" / "key.txt").write_bytes(b"k" * 200_000)),
     "file secrets/key.txt is larger than 128000 bytes"),
])
def test_a_bad_file_names_field_and_file(tmp_path: Path, setup, expected: str) -> None:
    contract = refs_contract(tmp_path)
    setup(tmp_path)
    with pytest.raises(ContractError) as info:
        read_all(contract, environ={"API_TOKEN": "t"})
    assert str(info.value) == (f"{tmp_path / 'pipeline.toml'}:7: "
                               f"services.api.runtime.env.KEY: {expected}")


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(min_size=1, max_size=64).filter(lambda v: v.strip()))
def test_no_error_ever_shows_a_value(tmp_path: Path, value: str) -> None:
    """Whatever the other references hold, the error about a missing one names only it."""
    contract = load_contract(write(tmp_path, HEAD + '[services.api.runtime]\n'
                                   'env = { A = "env:PRESENT", B = "env:ABSENT" }\n'))
    with pytest.raises(ContractError) as info:
        read_all(contract, environ={"PRESENT": value})
    # Exactly this line: the file, line, field and variable, and nothing a value could be in.
    assert str(info.value) == (f"{tmp_path / 'pipeline.toml'}:7: services.api.runtime.env.B: "
                               "environment variable ABSENT is not set")


def test_a_plain_value_is_not_a_reference() -> None:
    assert parse_ref("postgresql://u:p@db/x") is None
    assert parse_ref("environment") is None
    assert parse_ref("env:X") is not None and parse_ref("file:a").kind == "file"  # type: ignore[union-attr]


def test_the_signup_example_loads_with_its_overlay() -> None:
    contract = load_contract(SIGNUP / "pipeline.toml", [SIGNUP / "pipeline.offline.toml"])
    app = contract.service("app")
    assert app.runtime.init and app.checks is not None and app.checks.depends_on == ["postgres"]
    assert contract.dependencies["mailcatcher"].context == "mailcatcher"
    assert all(ref.startswith("127.0.0.1:5000/") for ref in contract.images.values())
    assert any(ref.kind == "env" for _, ref in references(contract))
