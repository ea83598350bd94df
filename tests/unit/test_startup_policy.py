"""Startup policy verdicts (pipeline.startup_policy): how a start without config ended, judged."""

from __future__ import annotations

import pytest

from pipeline.contract.models import EnvContract
from pipeline.startup_policy import StartWithout, attempts, judge_fail_fast, names_variable

ENV = EnvContract(required=["DATABASE_URL", "SECRET_KEY"], secrets=["DATABASE_URL"],
                  fail_fast_seconds=10, fail_fast_message=True)


def ids(seen: StartWithout, env: EnvContract = ENV) -> list[str]:
    return [f.rule_id for f in judge_fail_fast("api", env, seen)]


def test_attempts_follow_the_contract() -> None:
    assert attempts(ENV) == [("DATABASE_URL",), ("SECRET_KEY",)]
    assert attempts(ENV.model_copy(update={"fail_fast": "all"})) == [("DATABASE_URL", "SECRET_KEY")]
    assert attempts(ENV.model_copy(update={"fail_fast": "off"})) == []
    assert attempts(EnvContract()) == []


def test_non_zero_exit_naming_the_variable_passes() -> None:
    seen = StartWithout(("DATABASE_URL",), 2.0, exit_code=2, output="error: DATABASE_URL is required\n")
    assert ids(seen) == []


@pytest.mark.parametrize(("seen", "expected"), [
    (StartWithout(("DATABASE_URL",), 3.0, healthy=True, listening=True), ["runtime.fail-fast"]),
    (StartWithout(("DATABASE_URL",), 15.0, listening=True), ["runtime.fail-fast"]),
    (StartWithout(("DATABASE_URL",), 15.0), ["runtime.fail-fast"]),
    (StartWithout(("DATABASE_URL",), 1.0, exit_code=0, output="DATABASE_URL missing"), ["runtime.fail-fast"]),
    (StartWithout(("DATABASE_URL",), 12.0, exit_code=1, output="DATABASE_URL"), ["runtime.fail-fast"]),
    (StartWithout(("DATABASE_URL",), 1.0, error="image not found"), ["runtime.fail-fast"]),
    (StartWithout(("DATABASE_URL",), 1.0, exit_code=1, output="Traceback: KeyError"),
     ["runtime.fail-fast-message"]),
    # A longer name that merely contains the variable's name does not count.
    (StartWithout(("DATABASE_URL",), 1.0, exit_code=1, output="OLD_DATABASE_URL_X unset"),
     ["runtime.fail-fast-message"]),
])
def test_each_way_of_not_failing_fast(seen: StartWithout, expected: list[str]) -> None:
    assert ids(seen) == expected


def test_engine_allowance_is_not_the_services_time() -> None:
    late = StartWithout(("DATABASE_URL",), 14.0, exit_code=2, output="DATABASE_URL")
    assert ids(late) == ["runtime.fail-fast"]
    assert [f.rule_id for f in judge_fail_fast("api", ENV, late, allowance=5)] == []


def test_message_is_optional() -> None:
    quiet = ENV.model_copy(update={"fail_fast_message": False})
    assert ids(StartWithout(("SECRET_KEY",), 1.0, exit_code=1, output=""), quiet) == []


def test_finding_names_the_variable_and_never_the_output() -> None:
    seen = StartWithout(("DATABASE_URL",), 3.0, healthy=True, listening=True,
                        output="connecting to postgresql://u:hunter2@db/app")
    [finding] = judge_fail_fast("api", ENV, seen)
    assert finding.message.startswith("api without DATABASE_URL came up healthy")
    assert "hunter2" not in str(finding.as_dict())


def test_names_variable_with_several() -> None:
    assert names_variable("missing: SECRET_KEY", ("DATABASE_URL", "SECRET_KEY"))
    assert not names_variable("missing: secret_key", ("SECRET_KEY",))


def test_contract_keys_are_validated() -> None:
    from pydantic import ValidationError
    with pytest.raises(ValidationError):
        EnvContract(fail_fast="sometimes")
    with pytest.raises(ValidationError):
        EnvContract(fail_fast_seconds=0)
