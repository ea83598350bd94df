"""The image-contract lane: static rules on the exported image, and runtime probes.

Static: the built image is exported as an OCI tarball and read by the domain
rules (pipeline.rules), exactly as `pipeline check-image` reads a tarball.
Runtime: the image is started as a service with its declared env and
dependencies and its health endpoint polled over the network (through a
tunnel from this process) within the startup budget; the same again without
its dependencies, expecting the contract's dependency-down status; and without
each required variable (fail-fast). These three run concurrently, with the
machine alone. The healthy instance then idles for what is left of its window,
with the gate paused (another lane may measure meanwhile), and is stopped with
the machine alone again, the time it takes to exit after SIGTERM measured
against the grace period; its idle figures are read after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio
import dagger

from pipeline.contract import Service
from pipeline.dag import LaneContext, LaneOutcome, LaneRun
from pipeline.dag.messages import one_line
from pipeline.findings import Finding, Verdict, sort_findings
from pipeline.lanes import reuse
from pipeline.lanes.context import RunContext
from pipeline.lanes.dependencies import NotReady, Preparer
from pipeline.lanes.outputs import Upstream
from pipeline.lanes.reach import http_url
from pipeline.lanes.servicewrap import idle_findings, topology_names, wrapper_for
from pipeline.lanes.startup_policy import fail_fast
from pipeline.lanes.topology import Topology
from pipeline.probes import (
    HealthAnswer,
    judge_dependency_down,
    judge_shutdown,
    judge_startup,
    poll_health,
)
from pipeline.registry.baseimage import base_for_service
from pipeline.report.findings import write_all
from pipeline.rules import check_image, static_rule_ids
from pipeline.waivers import apply_waivers, waiver_note

RUNTIME_RULE_IDS = ("runtime.health", "runtime.startup-time", "runtime.dependency-down",
                    "runtime.shutdown", "runtime.idle-resources", "runtime.idle-cpu",
                    "runtime.idle-memory", "runtime.fail-fast", "runtime.fail-fast-message")
# Seconds the engine may take beyond a budget before we stop waiting on it.
_MARGIN = 5.0


def _one_line(exc: BaseException) -> str:
    # The shared helper masks URL passwords: a failed start can echo the service's env.
    return one_line(str(exc)) or type(exc).__name__


@dataclass(frozen=True, slots=True)
class _Started:
    """The probe instance that started, for its stop and its idle figures."""

    service: dagger.Service
    idle_from: float        # a wall time, as the samples are: when health answered
    healthy: bool


class Prober:
    """Starts one service in the configurations the contract asks about."""

    def __init__(self, ctx: RunContext, topology: Topology, spec: Service,
                 log: Path | None = None) -> None:
        self.ctx, self.topology, self.spec, self.name = ctx, topology, spec, spec.name
        self.log = log          # where init and dependency health steps write their output
        self._ready: str | None = None   # why the dependencies are not ready (`ready`)
        self._started: _Started | None = None   # the instance `healthy_start` started
        # Checks that never ran, and why: reported as skipped, never as passed.
        self.not_run: dict[str, str] = {}
        if self.spec.health.dependency_down_status is None or not self.spec.runtime.depends_on:
            self.not_run["runtime.dependency-down"] = "not asked: no dependency_down_status or no depends_on"
        for rule, budget in (("runtime.idle-cpu", self.spec.resources.idle_cpu),
                             ("runtime.idle-memory", self.spec.resources.idle_memory)):
            if budget is None:
                self.not_run[rule] = "no budget set in resources"

    def _service(self, *, without: frozenset[str] = frozenset()) -> dagger.Service:
        # A variable no other lane sets gives the probed instance its own identity,
        # so stopping it here never stops a service another lane is using.
        container = self.topology.container(self.name, without=without)
        return self.topology.as_service(self.name, container.with_env_variable("PIPELINE_PROBE", self.name),
                                        without=without, role="probe")

    async def _poll(self, service: dagger.Service, deadline: float, status: int) -> HealthAnswer:
        """Poll the health endpoint from this process (see pipeline.lanes.reach)."""
        async with http_url(service, self.spec.port) as base:
            return await anyio.to_thread.run_sync(
                partial(poll_health, base + self.spec.health.path, max(deadline, 1.0), status))

    async def _start(self, service: dagger.Service, budget: float) -> tuple[float, str | None]:
        started = time.monotonic()
        try:
            with anyio.fail_after(budget + _MARGIN):
                await service.start()
        except TimeoutError:
            return time.monotonic() - started, f"port {self.spec.port} not open after {budget + _MARGIN:g}s"
        except dagger.DaggerError as exc:
            return time.monotonic() - started, _one_line(exc)
        return time.monotonic() - started, None

    async def ready(self) -> str:
        """This service's dependencies started (healthy, its init steps done) before the
        lane measures: nothing of theirs is timed, so they need not have the machine alone.
        Why they are not ready, or "", kept for the startup probe to report. Once per prober."""
        if self._ready is None:
            self._ready = await self._get_ready()
        return self._ready

    async def _get_ready(self) -> str:
        """Why the dependencies are not ready, or "" when they are."""
        try:
            await Preparer(self.topology, self.log).prepare([self.name])
        except NotReady as exc:
            return str(exc)
        for dependency in self.spec.runtime.depends_on:
            try:
                await self.topology.service(dependency).start()
            except dagger.DaggerError as exc:
                return f"dependency {dependency} did not start: {_one_line(exc)}"
        return ""

    def _not_run_after(self, why: str) -> None:
        """The startup probe ended before health was asked: what it would have checked."""
        self.not_run.update({"runtime.health": why, "runtime.shutdown": why})
        for rule in RUNTIME_RULE_IDS:
            if rule.startswith("runtime.idle-"):
                self.not_run.setdefault(rule, why)

    async def healthy_start(self) -> list[Finding]:
        """Start the service and time it to a healthy answer: startup and health."""
        health = self.spec.health
        # Dependencies start first, outside the clock: the budget is this service's own
        # startup. The bindings below reuse these very instances (same definition).
        if why := await self.ready():
            # Not this service's fault, but its probes cannot run: a finding (the
            # dependency's own output is kept under services/), not a crash; and the
            # checks that never ran say so rather than pass.
            self._not_run_after(why)
            return judge_startup(self.name, health, None, start_seconds=0.0, start_error=why)
        service = self._service()
        start_seconds, error = await self._start(service, health.startup_seconds)
        if error:
            why = f"{self.name} did not start"
            self._not_run_after(why)
            return judge_startup(self.name, health, None, start_seconds=start_seconds, start_error=error)
        answer = await self._poll(service, health.startup_seconds - start_seconds, health.status)
        # Idle figures: the window right after health passed, before the stop signal.
        self._started = _Started(service, time.time(), healthy=answer.status == health.status)
        return judge_startup(self.name, health, answer, start_seconds=start_seconds)

    def idle_left(self) -> float:
        """Seconds left of the healthy service's idle window (under way since health
        passed); 0 when there is none to wait for."""
        if self._started is None or not self._started.healthy:
            return 0.0
        window_end = self._started.idle_from + self.spec.resources.window_seconds
        return max(0.0, window_end - time.time())

    async def idle_window(self) -> None:
        """Leave the healthy service idle to the end of its window, so the figures `idle`
        reads cover it."""
        await anyio.sleep(self.idle_left())

    async def shutdown(self) -> list[Finding]:
        """Stop the started service and time its exit after SIGTERM."""
        if self._started is None:
            return []
        shutdown = self.spec.shutdown
        # Dagger's stop sends SIGTERM and waits for the process to exit.
        stopped = time.monotonic()
        try:
            with anyio.fail_after(shutdown.grace_seconds + _MARGIN):
                await self._started.service.stop()
            seconds: float | None = time.monotonic() - stopped
            stop_error = None
        except TimeoutError:
            seconds, stop_error = None, None
            await self._started.service.stop(kill=True)
        except dagger.DaggerError as exc:
            seconds, stop_error = None, _one_line(exc)
        return judge_shutdown(self.name, shutdown, seconds=seconds, error=stop_error)

    async def idle(self) -> list[Finding]:
        """The idle figures the stopped service's sampler wrote over its window (nothing is
        timed: read after the measuring)."""
        if self._started is None:
            return []
        return await idle_findings(self.topology, self.name, self._started.idle_from,
                                   healthy=self._started.healthy, log=self.log)

    async def healthy_start_and_shutdown(self) -> list[Finding]:
        """Start, health, idle window, stop and idle figures in one go, for a lane that
        shares no gate (stage verification)."""
        findings = await self.healthy_start()
        await self.idle_window()
        findings += await self.shutdown()
        return findings + await self.idle()

    async def dependency_down(self) -> list[Finding]:
        health = self.spec.health
        missing = list(self.spec.runtime.depends_on)
        if health.dependency_down_status is None or not missing:
            return []
        service = self._service(without=frozenset(missing))
        _, error = await self._start(service, health.startup_seconds)
        if error:
            return judge_dependency_down(self.name, health, None, missing=missing, start_error=error)
        try:
            answer = await self._poll(service, health.startup_seconds, health.dependency_down_status)
        finally:
            await service.stop(kill=True)
        return judge_dependency_down(self.name, health, answer, missing=missing)


async def _static(ctx: RunContext, image: dagger.Container, spec: Service) -> list[Finding]:
    service = spec.name
    tarball = ctx.work_dir("images") / f"{service}.tar"
    await image.as_tarball().export(str(tarball))
    # The base's layers, from its registry: findings in them say `inherited from <base>`.
    base = await anyio.to_thread.run_sync(partial(base_for_service, ctx.contract, service))
    try:
        return await anyio.to_thread.run_sync(partial(
            check_image, tarball, ctx.contract, service, context_dir=ctx.contract.context_dir(service),
            base=base))
    finally:
        tarball.unlink(missing_ok=True)


async def _gather(*calls) -> list[Finding]:
    """Run the finding producers concurrently; their findings, together."""
    found: list[list[Finding]] = [[] for _ in calls]

    async def one(i: int, call) -> None:
        found[i] = await call()

    async with anyio.create_task_group() as group:
        for i, call in enumerate(calls):
            group.start_soon(one, i, call)
    return [finding for part in found for finding in part]


def contract_lane(ctx: RunContext, spec: Service) -> LaneRun:
    service = spec.name

    async def run(lane: LaneContext) -> LaneOutcome:
        upstream = Upstream(lane)
        image, images = upstream.image(service), upstream.images()
        out = ctx.lane_dir(lane.lane)
        wrapper = await wrapper_for(ctx, images, topology_names(ctx, [service]), probes=True)
        topology = Topology(ctx, images, wrapper)
        prober = Prober(ctx, topology, spec, log=out / "output.log")

        async def measure() -> list[Finding]:
            # The static rules and the dependencies' start time nothing: they run beside the
            # rest of the run. The probes time startup and shutdown, so they run with no
            # other lane running.
            static: list[Finding] = []

            async def static_rules() -> None:
                static.extend(await _static(ctx, image, spec))

            async with anyio.create_task_group() as group:
                group.start_soon(static_rules)
                group.start_soon(prober.ready)
            async with lane.measuring():
                probes = await _gather(prober.healthy_start, prober.dependency_down,
                                       partial(fail_fast, prober))
                # Nothing is timed while the service idles: another lane may measure.
                if prober.idle_left() > 0:
                    async with lane.pausing():
                        await prober.idle_window()
                probes += await prober.shutdown()
            probes += await prober.idle()
            return [*static, *probes]

        # Kept by digest (pipeline.lanes.reuse): an unchanged image is not measured again.
        result = await reuse.findings_for(ctx.contract, images, service, measure,
                                          fresh=True if ctx.fresh else None, store=ctx.results)
        # Waivers apply after any reuse: changing them never needs the image measured again.
        findings, waivers = apply_waivers(sort_findings(result.findings), spec.waive,
                                          subject=service)
        # The started services' own output (none when the findings were reused).
        kept = await wrapper.collect(topology.started, out / "services", log=out / "output.log")
        verdict = Verdict.of(findings)
        note = result.describe()
        paths = write_all(findings, out, name=f"contract-{service}", waivers=waivers,
                          checked=[*static_rule_ids(spec), *RUNTIME_RULE_IDS],
                          artifact=f"{service} ({note})" if note else service,
                          not_run=prober.not_run)
        # The counts by severity are the lane's `findings`, shown beside this message.
        failing = sorted({f.rule_id for f in findings if f.level >= verdict.fail_on and f.gates})
        floor = f"{verdict.fail_on.label} and above"
        message = (f"rules failing at {floor}: {', '.join(failing)}" if failing
                   else f"no finding at {floor}") + (f"; {note}" if note else "")
        message += waiver_note(waivers)
        log = out / "output.log"
        return LaneOutcome(
            passed=verdict.passed, message=message, findings=verdict.counts,
            outputs={"findings": len(findings)},  # the image was the build lane's output
            junit=(paths["junit"],),
            reports=(*(p for k, p in paths.items() if k != "junit"), *([out / "services"] if kept else [])),
            waivers=tuple(waivers), log=log if log.exists() else None,
        )

    return run
