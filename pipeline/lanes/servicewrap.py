"""Started services keep their output and their idle figures: one wrapper around the entrypoint.

Dagger keeps no service output to read back (dagger/dagger#6553), so every
runtime container a lane starts runs under `servicewrap` (pipeline/servicewrap/
main.go): a small static binary mounted into the container that starts the
image's own ENTRYPOINT + CMD as the engine's init would (a session of its own, the
init's signals passed on, its exit status returned), copies fds 1 and 2 to files,
samples the container's own cgroup, and exits only once what the entrypoint said
before it exited is on disk. The files land in a cache volume, a folder per
instance and in it one per start, named by its start time; the same binary reads
them back in an empty container, taking only the starts since this run began.

The volumes are plain (no seed directory): the engine mounts a seeded volume as
an overlay, and the kernel refuses a second overlay mount of it while the first
is in use, which is what the reader does while services still run. A plain
volume is a bind mount, so a root step of this run (`_ready`) makes its folder
world-writable for services that run as their own user.

Nothing run-specific enters a service's definition, so the same images give the
same services in every run, and a test lane whose images, tests and services are
unchanged comes from Dagger's cache instead of running again (the probes, which
must measure again, add the run id themselves: pipeline.lanes.topology). Runs
stay apart because the engine starts a session's services for that session alone
(dagger/dagger#6914), and a volume holds only runs that gave their services the
same secret values: its name carries a slow hash of them (`_scope`).

The image is never changed, and nothing here touches the host: the binary is
built by the engine from source text this package carries, so it works the same
in client and in module mode.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import dagger
from dagger import dag

from pipeline.contract.secrets import parse_ref
from pipeline.dag.messages import one_line, redact
from pipeline.findings import Finding
from pipeline.lanes.context import RunContext
from pipeline.lanes.dependencies import dependency_container
from pipeline.resources import idle_figures, judge_idle, parse_samples

if TYPE_CHECKING:
    from pipeline.lanes.topology import Topology

# Any image with Go 1.19+, or a Debian-based one: Go then comes from Debian's packages
# (bookworm: 1.19), built once per engine and cached.
BUILDER_KEY = "servicewrap"
BUILDER_ENV = "PIPELINE_SERVICEWRAP_IMAGE"
DEFAULT_BUILDER = "debian:bookworm"
HELPER = "/.pipeline/servicewrap"
LOGS = "/.pipeline/out"
WRITABLE = "w"  # the volume's world-writable folder
FORMAT = "v3"   # of the volumes' layout: plain, a folder an instance, one in it a start
# Clock slack between this process and the engine's containers, in the reader's favour:
# a start a moment before the run began (by the other clock) is still this run's.
CLOCK_SLACK_SECONDS = 2.0

_BUILD = (
    "command -v go >/dev/null || { apt-get update -qq >/dev/null && "
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends golang-go "
    ">/dev/null; }; go build -trimpath -ldflags='-s -w' -o /out/servicewrap ."
)


def builder_image(ctx: RunContext) -> str:
    """`[images] servicewrap` in the contract, else $PIPELINE_SERVICEWRAP_IMAGE, else Go's image."""
    return (ctx.contract.images.get(BUILDER_KEY) or os.environ.get(BUILDER_ENV)
            or DEFAULT_BUILDER)


def helper_binary(ctx: RunContext) -> dagger.File:
    """The static servicewrap binary, built (and cached) by the engine from its source."""
    package = resources.files("pipeline").joinpath("servicewrap")
    source = (dag.directory()
              .with_new_file("main.go", package.joinpath("main.go").read_text(encoding="utf-8"))
              .with_new_file("go.mod", package.joinpath("go.mod").read_text(encoding="utf-8")))
    builder = builder_image(ctx)
    return (dag.container().from_(builder)
            .with_directory("/src", source).with_workdir("/src")
            .with_env_variable("CGO_ENABLED", "0").with_env_variable("GOTOOLCHAIN", "local")
            .with_env_variable("GOCACHE", "/tmp/go-cache").with_env_variable("GOFLAGS", "-mod=mod")
            .with_exec(["sh", "-c", _BUILD])
            .file("/out/servicewrap"))


@dataclass(frozen=True, slots=True)
class Launch:
    """How an image starts (its config), read once so services can be declared synchronously."""

    command: tuple[str, ...]


class ServiceWrapper:
    """Declares wrapped services and reads back what they wrote."""

    def __init__(self, ctx: RunContext, launches: Mapping[str, Launch], helper: dagger.File | None,
                 unavailable: str = "") -> None:
        self.ctx = ctx
        self.launches = dict(launches)
        self.helper = helper
        self.unavailable = unavailable  # why services run unwrapped (no helper), if they do
        self.run_scoped: set[str] = set()  # instances whose output is this run's alone

    @classmethod
    async def prepare(cls, ctx: RunContext, containers: Mapping[str, dagger.Container], *,
                      probes: bool = False) -> ServiceWrapper:
        """Read each container's ENTRYPOINT + CMD (cheap: image config only). `probes`: the
        lane starts instances of its own (their output volume is this run's)."""
        launches: dict[str, Launch] = {}
        for name, container in containers.items():
            command = [*(await container.entrypoint() or []), *(await container.default_args() or [])]
            launches[name] = Launch(tuple(command))
        wrapper = cls(ctx, launches, helper_binary(ctx))
        if why := await wrapper._ready(probes=probes):
            # No builder image here: the probes still run, unwrapped, and say what is missing.
            return cls(ctx, launches, None, unavailable=why)
        return wrapper

    async def _ready(self, *, probes: bool) -> str:
        """Builds the helper (once per engine, then cached) and makes this run's volumes'
        folders world-writable; why the wrapper cannot be used, or "". Once per run and
        volume, whichever lane asks first, the others waiting for it; a failure is every
        lane's, so all of a run's services are wrapped or none. In every run: a volume can
        be pruned while a step's result is kept."""
        lock = self.ctx.shared.setdefault(_READY_LOCK, anyio.Lock())
        kept: dict[bool, str] = self.ctx.shared.setdefault(_READY, {})
        async with lock:
            missing = [kind for kind in ((False, True) if probes else (False,)) if kind not in kept]
            if missing:
                assert self.helper is not None
                step = dag.container().with_mounted_file("/servicewrap", self.helper)
                for index, run_scoped in enumerate(missing):
                    step = step.with_mounted_cache(f"/v/{index}", self._volume(run_scoped=run_scoped))
                try:
                    await (step.with_env_variable("PIPELINE_RUN", self.ctx.run_id)
                           .with_exec(["/servicewrap", "init",
                                       *(f"/v/{index}/{WRITABLE}" for index in range(len(missing)))])
                           .sync())
                    why = ""
                except dagger.QueryError as exc:
                    why = (f"servicewrap not ready (built from {builder_image(self.ctx)}): "
                           f"{one_line(str(exc))}")
                kept.update(dict.fromkeys(missing, why))
            return next((why for why in kept.values() if why), "")

    def _volume(self, *, run_scoped: bool) -> dagger.CacheVolume:
        # A lane's own instances (probes) measure this run alone: their output is this run's,
        # as their definition is (PIPELINE_RUN). The others outlive runs (see above).
        run = f"run-{self.ctx.run_id}-" if run_scoped else ""
        return dag.cache_volume(f"pipeline-service-output-{FORMAT}-{run}{self._scope()}")

    def _folder(self, instance: str) -> str:
        """Where `instance` writes, under its volume's mount."""
        return f"{WRITABLE}/{instance}"

    def service(self, name: str, container: dagger.Container, *, instance: str,
                run_scoped: bool = False) -> dagger.Service:
        """`container` (an instance of `name`) as a service under the wrapper; unwrapped
        when its image declares nothing to run (the engine then says so itself).
        `run_scoped`: the instance is this run's alone (a probe), and so is its output."""
        if run_scoped:
            self.run_scoped.add(instance)
        launch = self.launches.get(name)
        if self.helper is None or launch is None or not launch.command:
            return container.as_service(use_entrypoint=True)
        container = (container.with_mounted_file(HELPER, self.helper)
                     .with_mounted_cache(LOGS, self._volume(run_scoped=run_scoped)))
        return container.as_service(
            args=[HELPER, "run", f"{LOGS}/{self._folder(instance)}", "--", *launch.command],
            use_entrypoint=False)

    async def collect(self, instances: Iterable[str], dest: Path, *,
                      log: Path | None = None) -> dict[str, Path]:
        """Copy each instance's files (stdout.log, stderr.log, samples.jsonl) to dest/<instance>;
        the folders that exist afterwards, by instance. A failed read is said in `log`."""
        found: dict[str, Path] = {}
        if self.helper is None:
            return found
        instances = list(dict.fromkeys(instances))
        if not instances:
            return found
        # The starts since this run began, by the reader's own clock (the clock the starts
        # were named by): earlier runs' starts share the volume. One reader for them all.
        window = time.time() - self.ctx.started_at + CLOCK_SLACK_SECONDS
        reader = (dag.container().with_mounted_file("/servicewrap", self.helper)
                  .with_directory("/out", dag.directory()))
        args = ["/servicewrap", "copy", f"{window:.3f}"]
        mounts = {instance: instance in self.run_scoped for instance in instances}
        for run_scoped in set(mounts.values()):
            reader = reader.with_mounted_cache(_READER_MOUNTS[run_scoped],
                                               self._volume(run_scoped=run_scoped))
        for instance, run_scoped in mounts.items():
            args += [f"{_READER_MOUNTS[run_scoped]}/{self._folder(instance)}", f"/out/{instance}"]
        # Read now, not from the cache of an earlier read.
        reader = (reader.with_env_variable("PIPELINE_READ_AT", repr(time.time()))
                  .with_exec(args).directory("/out"))
        try:
            # None started in this run: skipped lanes, failed starts before the wrapper ran,
            # or lanes whose results came from Dagger's cache (nothing started).
            if not await reader.entries():
                return found
            await reader.export(str(dest))
        except dagger.QueryError as exc:
            if log is not None:
                with log.open("a", encoding="utf-8") as out:
                    out.write(f"services: their output was not kept: {one_line(str(exc))}\n")
            return found
        for instance in instances:
            if (dest / instance).is_dir():
                found[instance] = dest / instance
                for kept in (dest / instance).glob("*.log"):
                    _mask(kept, self._secrets())
        return found

    def _secrets(self) -> list[str]:
        """The secret values this run gave services and dependencies: a service may print its
        configuration, and what it prints reaches the reports. Once per run (RunContext.shared),
        whichever lane's wrapper asks first."""
        return self._per_run()[0]

    def _scope(self) -> str:
        """What a service-output volume's name carries of those values (see `_per_run`)."""
        return self._per_run()[1]

    def _per_run(self) -> tuple[list[str], str]:
        kept = self.ctx.shared.get(_PER_RUN)
        if kept is None:
            contract = self.ctx.contract
            values = [v for spec in contract.services.values() for k, v in spec.runtime.env.items()
                      if self.ctx.is_secret(k, set(spec.env.secrets))]
            values += [v for dep in contract.dependencies.values() for k, v in dep.env.items()
                       if self.ctx.is_secret(k)]
            values = [v for v in values if parse_ref(v) is None]  # a reference names, holds nothing
            values += self.ctx.secret_plaintexts                   # what the references held
            secrets = sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)
            kept = self.ctx.shared[_PER_RUN] = (secrets, _scope(secrets))
        return kept


_PER_RUN = "servicewrap:secrets"
_READY, _READY_LOCK = "servicewrap:ready", "servicewrap:ready-lock"
_READER_MOUNTS = {False: "/in/shared", True: "/in/run"}   # by run_scoped


def _scope(secrets: list[str]) -> str:
    """Runs with other secret values never share a volume (and so never read what those
    printed). A slow, salted hash, since volume names show in the engine's progress output."""
    if not secrets:
        return "open"
    joined = "\0".join(sorted(secrets)).encode()
    return hashlib.pbkdf2_hmac("sha256", joined, b"pipeline-service-output", 200_000).hex()[:16]


def instance_name(name: str, *, without: Iterable[str] = (), role: str = "") -> str:
    """A service instance's folder name: the service, what it runs without, and a role
    (`probe`) when the instance is a lane's own."""
    missing = sorted(without)
    parts = [name, *(["without-" + "-".join(missing)] if missing else []), *([role] if role else [])]
    return ".".join(parts)


def _mask(path: Path, secrets: list[str]) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    masked = text
    for value in secrets:
        masked = masked.replace(value, "***")
    masked = redact(masked)
    if masked != text:
        path.write_text(masked, encoding="utf-8")


async def wrapper_for(ctx: RunContext, images: Mapping[str, dagger.Container],
                      names: Iterable[str], *, probes: bool = False) -> ServiceWrapper:
    """A wrapper that knows how each of `names` (services and dependencies) starts;
    `probes`: the lane starts instances of its own (ServiceWrapper.prepare)."""
    containers: dict[str, dagger.Container] = {}
    for name in names:
        if name in ctx.contract.services:
            containers[name] = images[name]
        elif name in ctx.contract.dependencies:
            # As the dependency starts: its image or build, and its command.
            containers[name] = dependency_container(ctx, name)
    return await ServiceWrapper.prepare(ctx, containers, probes=probes)


def topology_names(ctx: RunContext, roots: Iterable[str]) -> list[str]:
    """`roots` and everything they depend on, services and dependencies alike."""
    seen: dict[str, None] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = None
        spec = ctx.contract.services.get(name)
        todo.extend(spec.runtime.depends_on if spec else ())
    return list(seen)


async def idle_findings(topology: Topology, name: str, since: float, *, healthy: bool,
                        log: Path | None = None) -> list[Finding]:
    """Idle figures of `name`'s probe instance over its window from `since` (a wall time,
    as the samples are), judged against its contract's budgets. A failed read is said in
    `log`."""
    spec = topology.ctx.contract.services[name]
    wrapper = topology.wrapper
    if not healthy:
        return judge_idle(name, spec.resources, None, why_none="it never became healthy")
    if wrapper is None:
        return []
    if wrapper.helper is None:
        return judge_idle(name, spec.resources, None, why_none=wrapper.unavailable)
    instance = instance_name(name, role="probe")
    scratch = Path(tempfile.mkdtemp(prefix="idle-", dir=topology.ctx.scratch))
    try:
        kept = await wrapper.collect([instance], scratch, log=log)
        path = kept.get(instance, scratch / instance) / "samples.jsonl"
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    figures = idle_figures(parse_samples(lines), since, spec.resources.window_seconds)
    return judge_idle(name, spec.resources, figures,
                      why_none="no cgroup samples from the container" if figures is None else "")
