"""The startup-policy probe on the real engine: a service started without its required
variables must exit non-zero (naming the variable); one that comes up healthy is a finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.contract import Contract, load_contract
from tests.corpus import CORPUS

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def variant(mode: str, **env: object) -> Contract:
    """The corpus contract, its failfast service run with APP_MODE=`mode`."""
    contract = load_contract(CORPUS / "pipeline.toml")
    spec = contract.services["failfast"]
    runtime = spec.runtime.model_copy(update={"env": {**spec.runtime.env, "APP_MODE": mode}})
    spec = spec.model_copy(update={"runtime": runtime, "env": spec.env.model_copy(update=env)})
    copy = contract.model_copy(update={"services": {**contract.services, "failfast": spec}})
    copy._root = contract.root
    return copy


@pytest.fixture(scope="module")
async def image(dag):
    import dagger

    spec = load_contract(CORPUS / "pipeline.toml").services["failfast"]
    built = dag.host().directory(str(CORPUS / "failfast")).docker_build(
        build_args=[dagger.BuildArg(name=k, value=v) for k, v in spec.build_args.items()])
    return await built.sync()


async def probe(image, contract: Contract, tmp_path: Path):
    from dagger import dag

    from pipeline.lanes.context import RunContext
    from pipeline.lanes.image_contract import Prober
    from pipeline.lanes.source import Source
    from pipeline.lanes.startup_policy import fail_fast
    from pipeline.lanes.topology import Topology

    ctx = RunContext(source=Source.local(tmp_path, dag.directory()), contract=contract,
                     scratch=tmp_path, run_id="t")
    return await fail_fast(Prober(ctx, Topology(ctx, {"failfast": image}),
                                  contract.services["failfast"]))


async def test_strict_service_fails_fast_naming_each_variable(image, tmp_path: Path) -> None:
    assert await probe(image, variant("strict"), tmp_path) == []


async def test_lenient_service_that_comes_up_healthy_is_a_finding(image, tmp_path: Path) -> None:
    found = await probe(image, variant("lenient"), tmp_path)
    assert [f.rule_id for f in found] == ["runtime.fail-fast", "runtime.fail-fast"]
    assert {f.message.split(" came up")[0] for f in found} == {
        "failfast without DATABASE_URL", "failfast without SECRET_KEY"}
    assert all("came up healthy" in f.message for f in found)


async def test_failure_that_does_not_name_the_variable(image, tmp_path: Path) -> None:
    found = await probe(image, variant("quiet"), tmp_path)
    assert [f.rule_id for f in found] == ["runtime.fail-fast-message"] * 2
    # The message check is optional: off, the same service passes.
    assert await probe(image, variant("quiet", fail_fast_message=False), tmp_path) == []


async def test_all_at_once(image, tmp_path: Path) -> None:
    found = await probe(image, variant("lenient", fail_fast="all"), tmp_path)
    assert [f.message.split(" came up")[0] for f in found] == [
        "failfast without DATABASE_URL, SECRET_KEY"]
    assert await probe(image, variant("lenient", fail_fast="off"), tmp_path) == []
