"""The Dagger module: `dagger call <function>`. Each function is a thin wrapper.

The functions call the same code as the command line (`python -m pipeline ...`)
with the same arguments: `pipeline.validate` for the lanes, `pipeline.registry`
for promotion. Gate failures raise, so `dagger call validate` exits non-zero;
`reports` returns the reports directory whatever the outcome.
"""

# No `from __future__ import annotations` here: with string annotations the Python SDK
# loses the DefaultPath of `Annotated` aliases (the source becomes a required argument,
# and the engine drops every @check that has one).

import os
import tempfile
from pathlib import Path
from typing import Annotated

import anyio
import dagger
from dagger import DefaultPath, Doc, Ignore, check, dag, field, function, object_type

from pipeline.dag import plan_text
from pipeline.lanes.build import build_image
from pipeline.lanes.context import RunContext
from pipeline.lanes.publish import PublishOptions
from pipeline.lanes.reach import reach_loopback_registries
from pipeline.lanes.source import Source
from pipeline.report.run import render_summary
from pipeline.validate import SOURCE_EXCLUDE, ValidateOptions, plan, validate

# The constructor's: `dagger call --source=DIR --contract=F --overlay=F <function>`.
SourceDir = Annotated[
    dagger.Directory, DefaultPath("/"), Ignore(SOURCE_EXCLUDE),
    Doc("directory holding the contract file (default: the caller's repository)"),
]
ContractPath = Annotated[str, Doc("contract file, relative to the source")]
Overlays = Annotated[list[str], Doc("overlays merged over the contract, in order")]
# A function's own `--source` (the documented `dagger call validate --source=DIR`): this call
# only. No DefaultPath here (an argument has a DefaultPath or a Python default, never both),
# and no Ignore: the engine refuses an Ignore on an argument left out (nil); the same
# patterns are applied by `_source` instead.
SourceOverride = Annotated[
    dagger.Directory | None,
    Doc("directory holding the contract file, for this call (default: the module's --source)"),
]
StageOverlays = Annotated[list[str], Doc("the stage's overlay(s), merged over the contract "
                                         "after the module's --overlay")]
FailFast = Annotated[bool, Doc("cancel running lanes and skip the rest at the first failure")]
KeepGoing = Annotated[bool, Doc("run integration and E2E even when a contract lane fails")]
Jobs = Annotated[int, Doc("lanes running at once (0: no limit); contract lanes always probe apart")]
Fresh = Annotated[bool, Doc("contract lanes measure again instead of reusing the results kept "
                            "for unchanged images")]
CaBundle = Annotated[dagger.File | None, Doc("CA bundle (PEM) every tooling and runner container "
                                             "trusts: pip, uv, npm, Node, curl")]

Repository = Annotated[str, Doc("HOST/REPO holding the releases and the stage")]
Stage = Annotated[str, Doc("stage name, e.g. staging")]
PublicKey = Annotated[dagger.File, Doc("Ed25519 public key (PEM) the attestations verify with")]
Reason = Annotated[str, Doc("why (recorded in the stage's history)")]
RegistryUser = Annotated[str, Doc("registry user name (with --registry-password)")]
RegistryPassword = Annotated[dagger.Secret | None, Doc("registry password or token")]
RequireLanes = Annotated[list[str], Doc("refuse unless the attestation says these lanes passed")]
RefuseWaivers = Annotated[bool, Doc("refuse a validation that passed only thanks to a waiver, "
                                    "or whose contract lanes did not gate its tests")]
RollbackOnFailure = Annotated[bool, Doc("a failed verification moves the stage back to its "
                                        "last verified release")]


async def _credentials(username: str, password: dagger.Secret | None):
    """Registry credentials from Dagger arguments; the password stays a secret until here."""
    from pipeline.registry.credentials import Credentials

    return await Credentials.from_secret(username, password)


async def _ca_bundle(bundle: dagger.File | None) -> dagger.File | None:
    """The bundle, refused in one line unless it holds a PEM certificate (as the CLI does)."""
    if bundle is not None and "-----BEGIN CERTIFICATE-----" not in (await bundle.contents())[:1 << 20]:
        raise ValueError("--ca-bundle: not a PEM certificate bundle")
    return bundle


# `--repository=127.0.0.1:5000/...` names the same registry inside the module as on the host.
reach_loopback_registries()


class GateFailed(Exception):
    """A lane's gate said no; the message is the run's summary table."""


def _jobs(jobs: int) -> int | None:
    if jobs < 0:
        raise ValueError(f"--jobs must be 0 (no limit) or more, not {jobs}")
    return jobs or None


async def _run(source: dagger.Directory, options: ValidateOptions,
               ca_bundle: dagger.File | None = None) -> str:
    """Run the lanes; the summary table, or GateFailed carrying it."""
    with tempfile.TemporaryDirectory(prefix="pipeline-reports-") as tmp:
        result = await validate(source, options, reports=Path(tmp) / "reports",
                                ca_bundle=await _ca_bundle(ca_bundle))
    summary = render_summary(result.run)
    if result.run.exit_code != 0:
        raise GateFailed(summary)
    published = next((r.outputs for r in result.run if r.name == "publish"), {})
    if "release" in published:  # the id the promote workflow takes
        summary += f"release {published['release']} in {published['release_repository']}\n"
    return summary


@object_type
class Pipeline:
    """Build runtime images once, check them in separate lanes, promote validated digests."""

    source: SourceDir = field()
    contract: ContractPath = field(default="pipeline.toml")
    overlay: Overlays = field(default=list)

    def _source(self, override: dagger.Directory | None) -> dagger.Directory:
        """This call's source: its own --source without what SOURCE_EXCLUDE names, or the
        module's (already without it: its Ignore)."""
        return self.source if override is None else override.filter(exclude=SOURCE_EXCLUDE)

    def _options(self, **kwargs) -> ValidateOptions:
        """The run's options: the module's contract and overlays, and this call's `kwargs`."""
        return ValidateOptions(contract=self.contract, overlays=tuple(self.overlay), **kwargs)

    async def _lanes(self, source: dagger.Directory | None, kind: str) -> str:
        """The lanes of one kind (and what they need): one gate function."""
        return await _run(self._source(source), self._options(kinds=(kind,)))

    @function
    async def plan(self, source: SourceOverride = None) -> str:
        """Print the lanes' DAG without running anything."""
        return plan_text(await plan(self._source(source), self._options()))

    @function
    async def build(self, service: Annotated[str, Doc("service name")],
                    source: SourceOverride = None) -> dagger.Container:
        """A service's runtime image, built from its Dockerfile and target."""
        directory = self._source(source)
        with tempfile.TemporaryDirectory(prefix="pipeline-") as tmp:
            tree = Source.mirror(directory, Path(tmp))
            loaded, _ = await tree.load_contract(self.contract, tuple(self.overlay))
            # Lazy: the engine builds it from the Dagger directory when the caller uses it;
            # the mirror (read by the load only) is not needed past this block.
            ctx = RunContext(source=tree, contract=loaded, run_id="build")
            return build_image(ctx, loaded.service(service, field="--service"))

    @function
    @check  # `dagger check` runs it too
    async def lint(self, source: SourceOverride = None) -> str:
        """Lint every service in its tooling container."""
        return await self._lanes(source, "lint")

    @function
    @check  # `dagger check` runs it too
    async def unit_test(self, source: SourceOverride = None) -> str:
        """Unit-test every service in its tooling container."""
        return await self._lanes(source, "unit-test")

    @function
    @check  # `dagger check` runs it too
    async def check_images(self, source: SourceOverride = None) -> str:
        """Build each image, then run its contract lane: static rules and runtime probes
        (the lanes of kind `contract`; `pipeline check-image` runs the static rules on one
        image tarball)."""
        return await self._lanes(source, "contract")

    @function
    async def integration(self, source: SourceOverride = None) -> str:
        """Black-box tests from a runner container against the started services."""
        return await self._lanes(source, "integration")

    @function
    async def end_to_end(self, source: SourceOverride = None) -> str:
        # Not `e2e`: the Dagger CLI splits digits off into their own word (`e-2-e`).
        """Browser tests from a Chromium runner container against the started services."""
        return await self._lanes(source, "e2e")

    @function
    @check  # `dagger check` runs it too
    async def validate(self, source: SourceOverride = None, fail_fast: FailFast = False,
                       jobs: Jobs = 0, keep_going: KeepGoing = False,
                       ca_bundle: CaBundle = None, fresh: Fresh = False) -> str:
        """Run every lane; fails when any gate fails."""
        return await _run(self._source(source), self._options(
            fail_fast=fail_fast, jobs=_jobs(jobs), keep_going=keep_going, fresh=fresh), ca_bundle)

    # Once per session: the directory it returns lives in this call's workdir, which a
    # cached result from an earlier session would point at after that call is gone.
    @function(cache="session")
    async def reports(self, source: SourceOverride = None, fail_fast: FailFast = False,
                      jobs: Jobs = 0, keep_going: KeepGoing = False,
                      ca_bundle: CaBundle = None, fresh: Fresh = False) -> dagger.Directory:
        """Run every lane and return the reports directory (JUnit, SARIF, JSON, Markdown),
        whether the gates passed or not."""
        # The module's working directory is what current_module().workdir() can return.
        out = Path(tempfile.mkdtemp(prefix="reports-", dir=os.getcwd()))
        await validate(self._source(source), self._options(
            fail_fast=fail_fast, jobs=_jobs(jobs), keep_going=keep_going, fresh=fresh),
            reports=out / "reports", ca_bundle=await _ca_bundle(ca_bundle))
        return dag.current_module().workdir(str((out / "reports").relative_to(os.getcwd())))

    # Never from Dagger's function cache: it reads or moves registry state.
    @function(cache="never")
    async def publish(self,
                      repository: Annotated[str, Doc("push to REPOSITORY/<service> by digest")],
                      source: SourceOverride = None,
                      signing_key: Annotated[dagger.Secret | None,
                                             Doc("Ed25519 private key (PEM) that signs")] = None,
                      git_revision: Annotated[str, Doc("revision recorded in the release")] = "",
                      registry_username: RegistryUser = "",
                      registry_password: RegistryPassword = None,
                      version: Annotated[str, Doc("semver tag for the images ('latest': local "
                                                  "registries only)")] = "",
                      branch: Annotated[str, Doc("a branch build: also tag <version>-<branch>")] = "",
                      ) -> str:
        """Validate, then push every image by digest, attest it and store the run's release
        (only if every gate passed); prints the release id."""
        publish = PublishOptions(repository, signing_key, git_revision,
                                 registry_username=registry_username,
                                 registry_password=registry_password,
                                 version=version, branch=branch)
        return await _run(self._source(source), self._options(publish=publish))

    # Never from Dagger's function cache: it reads or moves registry state.
    @function(cache="never")
    async def promote(self, stage: Stage, public_key: PublicKey,
                      release: Annotated[str, Doc("release id (rel-...) in --repository")] = "",
                      repository: Annotated[str, Doc("HOST/REPO holding the releases")] = "",
                      image: Annotated[str, Doc("REPO@sha256:... of a one-service release")] = "",
                      reason: Reason = "", registry_username: RegistryUser = "",
                      registry_password: RegistryPassword = None,
                      verify: Annotated[bool, Doc("verify the stage after the move")] = False,
                      source: SourceOverride = None,
                      overlay: StageOverlays = [],  # noqa: B006 - Dagger needs a literal default
                      rollback_on_failure: RollbackOnFailure = False,
                      require_lane: RequireLanes = [],  # noqa: B006
                      refuse_waivers: RefuseWaivers = False) -> str:
        """Move a stage to a validated release as a whole (or a one-service release's digest),
        verifying its attestation; no rebuild. With --verify, then verify the stage."""
        from pipeline.actions import promote_image, promote_release
        from pipeline.registry.policy import Policy

        policy = Policy(required_lanes=tuple(require_lane), refuse_waivers=refuse_waivers)
        key = (await public_key.contents()).encode()
        login = await _credentials(registry_username, registry_password)
        if bool(release) == bool(image):
            raise ValueError("give --release (with --repository) or --image, not both")
        if image:
            return await anyio.to_thread.run_sync(
                lambda: promote_image(image, stage, key, reason, policy=policy, credentials=login))
        moved = await anyio.to_thread.run_sync(
            lambda: promote_release(release, repository, stage, key, reason, policy=policy,
                                    credentials=login))
        if not verify:
            return moved
        return moved + "\n" + await self._verify(source, repository, stage, key, overlay,
                                                 rollback_on_failure, reason, login)

    # Never from Dagger's function cache: it reads or moves registry state.
    @function(cache="never")
    async def rollback(self, repository: Repository, stage: Stage, public_key: PublicKey,
                       reason: Reason = "", registry_username: RegistryUser = "",
                       registry_password: RegistryPassword = None,
                       require_lane: RequireLanes = [],  # noqa: B006
                       refuse_waivers: RefuseWaivers = False) -> str:
        """Move a stage back to its last verified release (or previous validated digest)."""
        from pipeline.actions import rollback_any
        from pipeline.registry.policy import Policy

        policy = Policy(required_lanes=tuple(require_lane), refuse_waivers=refuse_waivers)
        key = (await public_key.contents()).encode()
        login = await _credentials(registry_username, registry_password)
        return await anyio.to_thread.run_sync(
            lambda: rollback_any(repository, stage, key, reason, policy=policy,
                                 credentials=login))

    # Never from Dagger's function cache: it reads or moves registry state.
    @function(cache="never")
    async def history(self, repository: Repository, stage: Stage,
                      registry_username: RegistryUser = "",
                      registry_password: RegistryPassword = None) -> str:
        """A stage's releases, moves and verifications: who, when, why."""
        from pipeline.actions import stage_history

        login = await _credentials(registry_username, registry_password)
        return await anyio.to_thread.run_sync(
            lambda: stage_history(repository, stage, credentials=login))

    # Never from Dagger's function cache: it reads or moves registry state.
    @function(cache="never")
    async def verify_stage(self, repository: Repository, stage: Stage, public_key: PublicKey,
                           source: SourceOverride = None,
                           overlay: StageOverlays = [],  # noqa: B006
                           rollback_on_failure: RollbackOnFailure = False, reason: Reason = "",
                           registry_username: RegistryUser = "",
                           registry_password: RegistryPassword = None) -> str:
        """Start the release the stage holds, by digest, with the stage's overlay; run the
        health probes and integration tests; record the result (fails when it failed)."""
        key = (await public_key.contents()).encode()
        login = await _credentials(registry_username, registry_password)
        return await self._verify(source, repository, stage, key, overlay, rollback_on_failure,
                                  reason, login)

    # Never from Dagger's function cache: it reads or moves registry state.
    @function(cache="never")
    async def render(self, repository: Repository, stage: Stage,
                     registry_username: RegistryUser = "",
                     registry_password: RegistryPassword = None) -> dagger.Directory:
        """Compose and Kubernetes files of the whole release the stage holds, pinned to digests."""
        from pipeline.actions import write_release_deploy_files

        login = await _credentials(registry_username, registry_password)
        out = Path(tempfile.mkdtemp(prefix="render-", dir=os.getcwd()))
        await anyio.to_thread.run_sync(
            lambda: write_release_deploy_files(repository, stage, out / "deploy",
                                               credentials=login))
        return dag.current_module().workdir(str((out / "deploy").relative_to(os.getcwd())))

    async def _verify(self, source: dagger.Directory | None, repository: str, stage: str,
                      key: bytes, overlay: list[str], rollback_on_failure: bool, reason: str,
                      login) -> str:
        """verify-stage as the module runs it (the CLI's verify-stage runs the same function)."""
        from pipeline.lanes.verify import VerifyOptions, verify_stage
        from pipeline.registry.signing import load_public_key

        options = VerifyOptions(repository=repository, stage=stage,
                                public_key=load_public_key(key, source="public key"),
                                contract=self.contract,
                                overlays=(*self.overlay, *overlay),
                                rollback_on_failure=rollback_on_failure, reason=reason,
                                credentials=login)
        with tempfile.TemporaryDirectory(prefix="pipeline-verify-") as tmp:
            result = await verify_stage(self._source(source), options,
                                        reports=Path(tmp) / "reports")
        if not result.passed:
            raise GateFailed(result.describe())
        return result.describe()
