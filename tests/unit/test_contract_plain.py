"""pipeline.contract.plain against the pydantic models: it vouches only for what they accept.

The plain reading may give up on a good contract (the models then read it), never
accept a bad one, and where it accepts, every field holds what the models hold.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel, ValidationError

from pipeline.contract import models, plain
from pipeline.contract.loader import load_contract
from pipeline.contract.plain import Record, Unsure
from pipeline.errors import ContractError
from tests.hostile.strategies import contracts

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parents[2] / "examples"
RECORDS = {name: cls for name, cls in vars(plain).items()
           if isinstance(cls, type) and issubclass(cls, Record) and cls is not Record}


def dump(value: Any) -> Any:
    """Either reading's value as plain data, types kept (10 and 10.0 differ)."""
    if isinstance(value, BaseModel):
        return (type(value).__name__,
                {name: dump(getattr(value, name)) for name in type(value).model_fields})
    if isinstance(value, Record):
        return (type(value).__name__, {name: dump(getattr(value, name)) for name in value.FIELDS})
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return (type(value).__name__, value)


def models_read(document: dict[str, Any]) -> models.Contract | None:
    try:
        contract = models.Contract.model_validate(copy.deepcopy(document))
    except (ValidationError, RecursionError, OverflowError):
        return None
    return None if contract.references() else contract


def plain_read(document: dict[str, Any]) -> plain.Contract | None:
    try:
        contract = plain.Contract.read(copy.deepcopy(document))
    except Unsure:
        return None
    return None if contract.references() else contract


def agree(document: dict[str, Any]) -> bool:
    """Whether the plain reading vouched; fails if it vouched for what the models refuse,
    or read anything differently."""
    ours = plain_read(document)
    if ours is None:
        return False
    theirs = models_read(document)
    assert theirs is not None, f"plain accepted what the models refuse: {document!r}"
    assert dump(ours) == dump(theirs)
    assert {n: s.name for n, s in ours.services.items()} == \
        {n: s.name for n, s in theirs.services.items()}
    for name, service in ours.services.items():
        assert dump(service.forbidden.classes()) == dump(theirs.services[name].forbidden.classes())
    return True


def test_every_model_has_a_record_with_its_fields_and_defaults() -> None:
    pydantic_models = {name: cls for name, cls in vars(models).items()
                       if isinstance(cls, type) and issubclass(cls, models.Model)
                       and cls is not models.Model}
    assert set(RECORDS) == set(pydantic_models)
    for name, record in RECORDS.items():
        fields = pydantic_models[name].model_fields
        assert list(record.FIELDS) == list(fields), name
        for field, (_, default) in record.FIELDS.items():
            if fields[field].is_required():
                assert default is plain.REQUIRED, (name, field)
                continue
            ours = default() if callable(default) else default
            assert dump(ours) == dump(fields[field].get_default(call_default_factory=True)), \
                (name, field)


def full_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "full", tomllib.loads((DATA / "full_contract.toml").read_text())
    for example in sorted(EXAMPLES.glob("*/pipeline.toml")):
        yield example.parent.name, tomllib.loads(example.read_text())


@pytest.mark.parametrize(("name", "document"), list(full_documents()))
def test_real_contracts_are_vouched_for_and_read_alike(name: str, document: dict) -> None:
    assert agree(document), name


# Values of every TOML type, and the edges the models' constraints draw.
HOSTILE: list[Any] = [
    True, False, 0, 1, -1, 63, 100, 599, 600, 601, 65535, 65536, 2**32 - 2, 2**32 - 1, 2**63 - 1,
    0.0, 1.5, 600.0, 3600.5, math.inf, -math.inf, math.nan, "", " ", "x", "a-b", "A", "a\n",
    "ab" * 40, "/abs", "rel/x", "../up", "a/../b", "\0", "sh", "SIGKILL", "kill", "SIGNOPE",
    "300MB", "big", "0MB", "250m", "0.5", "-1m", "env:TOKEN", "env:bad name", "file:", "file:x",
    "report", "enforce", "each", "required", "user.root", "forbidden.compilers",
    "forbidden.nope", "sha256:" + "a" * 64, "sha256:" + "a" * 64 + "\n", "   abc  ",
    "abc\x1c", "\u3000abc\xa0", "abc\u200b", "\x1fabc",
    date(2030, 1, 1), datetime(2030, 1, 1), [], [""], ["x"], ["x", "x"], [1], [["a"]],
    {}, {"x": 1}, {"bogus": "x"}, {"paths": ["a"]}, {"A": "x"}, {"a": {"paths": []}},
]


def locations(value: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield loc
    if isinstance(value, dict):
        for key, child in value.items():
            yield from locations(child, (*loc, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from locations(child, (*loc, index))


def replaced(document: dict[str, Any], loc: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node = changed
    for part in loc[:-1]:
        node = node[part]
    node[loc[-1]] = value
    return changed


def variants() -> Iterator[dict[str, Any]]:
    """The full contract with each value, in turn, replaced by each hostile value; each
    table given an unknown key or emptied; each service's tables filled with every field."""
    document = tomllib.loads((DATA / "full_contract.toml").read_text())
    for loc in locations(document):
        if not loc:
            continue
        for value in HOSTILE:
            yield replaced(document, loc, value)
    for loc in locations(document):
        node = document
        for part in loc:
            node = node[part]
        if isinstance(node, dict):
            yield replaced(document, (*loc, "bogus"), 1) if loc else {**document, "bogus": 1}
    service = document["services"]["backend"]
    for field in ("user", "env", "health", "shutdown", "forbidden", "resources", "runtime",
                  "checks"):
        for key in ("uid", "name", "fail_fast", "fail_fast_seconds", "fail_fast_message",
                    "body_contains", "grace_seconds", "count_applets", "inherited",
                    "idle_cpu", "idle_memory", "window_seconds", "init", "depends_on"):
            for value in HOSTILE:
                table = dict(service.get(field, {}))
                table[key] = value
                yield replaced(document, ("services", "backend", field), table)
    for key in ("waive", "secrets_allowlist", "base_images"):
        for entry in ({"rule": "user.root", "reason": "later"},
                      {"rule": "forbidden.compilers", "reason": "abc", "until": date(2030, 1, 1)},
                      {"rule": "forbidden.nope", "reason": "abc"}, {"rule": "no.such"},
                      {"path": "/a/b", "reason": " why "}, {"name": "python"}):
            yield replaced(document, ("services", "backend", key), [entry])
            yield replaced(document, ("services", "backend", key), [entry, entry])
    for dependency in ({"context": "db", "port": 5432}, {"image": "postgres", "port": 1,
                                                          "dockerfile": "D"},
                       {"port": 5432}, {"context": "db", "port": 1, "target": "t",
                                        "health": {"command": "pg_isready", "retries": 3}},
                       {"image": "postgres", "port": 2, "extra_ports": [2, 3],
                        "health": {"command": [], "interval_seconds": 0.5}}):
        yield replaced(document, ("dependencies", "postgres"), dependency)


def test_the_plain_reading_never_vouches_for_what_the_models_refuse() -> None:
    vouched = refused = 0
    for document in variants():
        if agree(document):
            vouched += 1
        else:
            refused += 1
    # Both kinds are exercised: most variants are bad, many still good.
    assert vouched > 500 and refused > 2000, (vouched, refused)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=contracts())
def test_generated_hostile_contracts_read_alike(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        expected = load_contract(path)
    except ContractError as exc:
        with pytest.raises(ContractError) as got:
            plain.load(path)
        assert str(got.value) == str(exc)
        return
    ours = plain.read_plain(path)
    assert ours is None or dump(ours) == dump(expected)


@pytest.mark.parametrize("text", [
    '[services.api]\ncontext = "."\nport = 80\ncolour = "red"\n',
    '[services.api]\ncontext = "."\nport = "eighty"\n',
    '[services.api]\ncontext = "../elsewhere"\nport = 80\n',
    '[services.api]\ncontext = "."\nport = 80\n[services.api.runtime]\ndepends_on = ["db"]\n',
    '[services.api]\ncontext = "."\nport = 80\n[services.api\n',
    '[services.api]\ncontext = "link"\nport = 80\n',
    "services = {}\n",
])
def test_load_fails_with_the_models_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "link").symlink_to("/")
    path = tmp_path / "pipeline.toml"
    path.write_text(text)
    with pytest.raises(ContractError) as expected:
        load_contract(path)
    with pytest.raises(ContractError) as got:
        plain.load(path)
    assert str(got.value) == str(expected.value)


def test_load_reads_a_good_contract_plainly_with_overlays() -> None:
    sample = EXAMPLES / "taskflow"
    overlay = [sample / "pipeline.offline.toml"]
    ours = plain.load(sample / "pipeline.toml", overlay)
    assert isinstance(ours, plain.Contract)
    theirs = load_contract(sample / "pipeline.toml", overlay)
    assert dump(ours) == dump(theirs)
    assert ours.root == theirs.root and ours.source == theirs.source
    assert ours.context_dir("backend") == theirs.context_dir("backend")
    assert str(ours.error_at(("services", "backend", "port"), "bad")) == \
        str(theirs.error_at(("services", "backend", "port"), "bad"))
    with pytest.raises(ContractError) as got:
        ours.service("nope", field="--service")
    with pytest.raises(ContractError) as expected:
        theirs.service("nope", field="--service")
    assert str(got.value) == str(expected.value)
