"""Stage verification (Kargo's verification): the release a stage holds, started and tested.

The images are pulled by digest from the release the stage records (never rebuilt),
started as services with the contract's runtime env merged with a per-stage overlay
(`--overlay stages/staging.toml`), with their dependencies, through the same
Topology the validate run uses. The lanes are the validate run's own pieces:

    pull:<svc> ──> health:<svc>   (Prober.healthy_start_and_shutdown: health within
              └──> integration     the startup budget, then shutdown on SIGTERM)
                                   (runner_lane: the contract's integration tests)

The result is recorded as a `verify` stage event; with rollback_on_failure a failed
verification moves the stage back to the last verified release, with the reason.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import dagger
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from dagger import dag

from pipeline.contract import Service
from pipeline.dag import EventCallback, Graph, Lane, LaneContext, LaneOutcome, RunResult, run_graph
from pipeline.errors import ContractError, PromotionRefused, StageEmpty
from pipeline.findings import Verdict, sort_findings
from pipeline.lanes.context import RunContext, with_registry_auth
from pipeline.lanes.graph import service_closure
from pipeline.lanes.image_contract import Prober
from pipeline.lanes.outputs import Upstream, image_output
from pipeline.lanes.runners import runner_lane
from pipeline.lanes.source import Source
from pipeline.lanes.topology import Topology
from pipeline.registry import release_stages
from pipeline.registry.client import Credentials, RegistryClient
from pipeline.registry.reference import parse_repository
from pipeline.registry.releases import Release, verify_release
from pipeline.report.run import RunReportPaths, write_run_reports


@dataclass(frozen=True)
class VerifyOptions:
    repository: str                   # HOST/REPO holding the releases and the stage record
    stage: str
    public_key: Ed25519PublicKey
    contract: str = "pipeline.toml"
    overlays: tuple[str, ...] = ()    # the per-stage overlay(s), merged over the contract
    rollback_on_failure: bool = False
    reason: str = ""
    credentials: Credentials | None = None


@dataclass(frozen=True)
class StageVerification:
    release: str
    passed: bool
    run: RunResult
    reports: RunReportPaths
    details: list[str]
    rollback: str | None = None  # the rollback's description, when one happened

    def describe(self) -> str:
        word = "passed" if self.passed else "FAILED"
        lines = [f"verification of release {self.release}: {word}"]
        lines += [f"  {detail}" for detail in self.details]
        if self.rollback:
            lines.append(self.rollback)
        return "\n".join(lines)


def verification_graph(ctx: RunContext, release: Release,
                       credentials: Credentials | None = None) -> Graph:
    """Pull each service of ``release`` by digest; probe each; run the integration tests."""
    contract = ctx.contract
    unknown = sorted(set(release.services) - set(contract.services))
    if unknown:
        raise ContractError(f"release {release.id} has service(s) the contract does not "
                            f"declare: {', '.join(unknown)}")
    missing = sorted(set(contract.services) - set(release.services))
    if missing:
        raise ContractError(f"release {release.id} lacks service(s): {', '.join(missing)}")
    graph = Graph()
    for name, service in sorted(release.services.items()):
        graph.add(Lane(f"pull:{name}", _pull(name, service.reference, credentials), kind="pull",
                       description=f"{service.reference}, by digest"))
    for name in release.services:
        closure = service_closure(contract, [name])
        graph.add(Lane(f"health:{name}", _health(ctx, contract.services[name]), kind="health",
                       needs=tuple(f"pull:{d}" for d in closure),
                       description=f"{name} started with the stage's env; health, then shutdown"))
    if contract.integration is not None:
        started = service_closure(contract, list(contract.integration.services))
        graph.add(Lane("integration", runner_lane(ctx, "integration", contract.integration),
                       kind="integration", needs=tuple(f"pull:{s}" for s in started),
                       description=f"integration tests against {', '.join(started)}"))
    graph.validate()
    return graph


def _pull(service: str, reference: str, credentials: Credentials | None):
    async def run(lane: LaneContext) -> LaneOutcome:
        container = dag.container()
        if credentials is not None:
            container = container.with_(with_registry_auth(
                reference.split("/", 1)[0], credentials.username,
                dag.set_secret("registry-password", credentials.password)))
        container = container.from_(reference)
        await container.sync()  # fail here, in this lane, if the digest cannot be pulled
        return LaneOutcome.success(f"pulled {reference}", outputs=image_output(service, container))

    return run


def _health(ctx: RunContext, spec: Service):
    async def run(lane: LaneContext) -> LaneOutcome:
        prober = Prober(ctx, Topology(ctx, Upstream(lane).images()), spec)
        findings = sort_findings(await prober.healthy_start_and_shutdown())
        verdict = Verdict.of(findings)
        failing = [f for f in findings if f.level >= verdict.fail_on]
        if failing:
            return LaneOutcome.failure("; ".join(f"{f.rule_id}: {f.message}" for f in failing),
                                       findings=verdict.counts)
        return LaneOutcome.success("healthy within budget, clean shutdown",
                                   findings=verdict.counts)

    return run


async def verify_stage(
    source: dagger.Directory, options: VerifyOptions, *, reports: Path,
    local_root: Path | None = None, on_event: EventCallback | None = None,
) -> StageVerification:
    """Verify what ``options.stage`` holds now; record it; roll back on failure if asked."""
    repo = parse_repository(options.repository)
    with RegistryClient.for_reference(repo, credentials=options.credentials) as client:
        held = await anyio.to_thread.run_sync(
            release_stages.held_release, client, repo.repository, options.stage)
        if held is None:
            raise StageEmpty(f"{repo}: stage {options.stage} holds no release")
        # The release as a whole, re-verified: what is tested is what was signed.
        release, _, _ = await anyio.to_thread.run_sync(
            lambda: verify_release(client, repo.repository, held.id, options.public_key))
    scratch = Path(tempfile.mkdtemp(prefix="pipeline-verify-"))
    try:
        tree = Source.resolve(source, local_root=local_root, scratch=scratch)
        contract, _ = await tree.load_contract(options.contract, options.overlays)
        run_id = datetime.now(UTC).strftime(f"verify-{options.stage}-%Y%m%d-%H%M%S")
        ctx = RunContext(source=tree, contract=contract, scratch=scratch, run_id=run_id)
        graph = verification_graph(ctx, release, options.credentials)
        run = await run_graph(graph, on_event=on_event)
        paths = write_run_reports(run, reports)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    details = [f"{r.name} {r.status}: {r.message}" for r in run if r.status.is_problem]
    passed = run.exit_code == 0
    rolled = None
    with RegistryClient.for_reference(repo, credentials=options.credentials) as client:
        await anyio.to_thread.run_sync(lambda: release_stages.record_verification(
            client, repo, options.stage, release.id, passed, details, options.reason))
        if not passed and options.rollback_on_failure:
            why = f"verification of {release.id} failed: {details[0] if details else 'unknown'}"
            try:
                result = await anyio.to_thread.run_sync(lambda: release_stages.rollback_release(
                    client, repo, options.stage, options.public_key, why))
                rolled = result.describe()
            except PromotionRefused as exc:
                rolled = f"no rollback: {exc}"
    return StageVerification(release.id, passed, run, paths, details, rolled)
