"""The startup-policy probe: start the service without its required variables, see it fail.

Dagger reports a service that exits before its port opens as an ExecError with
the exit code and output (non-zero), or as "exited before healthcheck" (zero).
A service that opens its port instead is polled on its health path for the
rest of the budget. Every attempt is stopped (killed) however it ended. The
service starts without its dependencies (see `_container`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio
import dagger

from pipeline.findings import Finding
from pipeline.startup_policy import MAX_OUTPUT, StartWithout, attempts, judge_fail_fast

if TYPE_CHECKING:
    from pipeline.lanes.image_contract import Prober

_EXITED_ZERO = "exited before healthcheck"
# Seconds the engine may take to create and start the container on a loaded machine
# (measured: 3 s idle, 10-20 s beside other lanes on 2 cores). They are not the
# service's: only a service still running after budget + allowance is judged slow.
ENGINE_ALLOWANCE = 20.0


def _container(prober: Prober, missing: tuple[str, ...]) -> dagger.Container:
    # Alone, without its dependencies: Dagger (0.19) never reports the exit of a service
    # that has service bindings (it waits on the health check forever, measured), and a
    # missing variable should stop the service before it connects to anything.
    # `fail_fast_message` tells a config error from a failed connection.
    container = prober.topology.container(prober.name,
                                          without=frozenset(prober.spec.runtime.depends_on))
    for name in missing:
        container = container.without_env_variable(name).without_secret_variable(name)
    # Its own identity: never the instance another probe, lane or run is using.
    return (container.with_env_variable("PIPELINE_PROBE", f"{prober.name}-without-{'-'.join(missing)}")
            .with_env_variable("PIPELINE_RUN", prober.ctx.run_id))


async def _stop(service: dagger.Service) -> None:
    """Kill it, even when the caller is being cancelled; a service already gone is fine."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(30):
        try:
            await service.stop(kill=True)
        except dagger.DaggerError:
            pass


async def _attempt(prober: Prober, missing: tuple[str, ...]) -> StartWithout:
    from pipeline.lanes.image_contract import _one_line

    env, health = prober.spec.env, prober.spec.health
    service = _container(prober, missing).as_service(use_entrypoint=True)
    started = time.monotonic()
    try:
        with anyio.fail_after(env.fail_fast_seconds + ENGINE_ALLOWANCE):
            await service.start()
    except TimeoutError:
        seconds = time.monotonic() - started
        await _stop(service)
        return StartWithout(missing, seconds)
    except dagger.ExecError as exc:
        output = (exc.stdout or "")[-MAX_OUTPUT:] + "\n" + (exc.stderr or "")[-MAX_OUTPUT:]
        return StartWithout(missing, time.monotonic() - started, exit_code=exc.exit_code,
                            output=output)
    except dagger.DaggerError as exc:
        seconds = time.monotonic() - started
        if _EXITED_ZERO in str(exc):
            return StartWithout(missing, seconds, exit_code=0)
        return StartWithout(missing, seconds, error=_one_line(exc))
    # It opened its port: healthy within what is left of the budget is the worst case.
    try:
        left = max(1.0, env.fail_fast_seconds - (time.monotonic() - started))
        answer = await prober._poll(service, left, health.status)
        return StartWithout(missing, time.monotonic() - started, listening=True,
                            healthy=answer.status == health.status)
    finally:
        await _stop(service)


async def fail_fast(prober: Prober) -> list[Finding]:
    """runtime.fail-fast findings for `prober`'s service, one start per variable set."""
    env = prober.spec.env
    if not attempts(env):
        why = "not asked: no env.required" if env.required else "not asked: env.fail_fast = \"off\""
        prober.not_run.update({"runtime.fail-fast": why, "runtime.fail-fast-message": why})
    elif not env.fail_fast_message:
        prober.not_run["runtime.fail-fast-message"] = "not asked: env.fail_fast_message = false"
    findings: list[Finding] = []
    for missing in attempts(env):
        findings += judge_fail_fast(prober.name, env, await _attempt(prober, missing),
                                    allowance=ENGINE_ALLOWANCE)
    return findings
