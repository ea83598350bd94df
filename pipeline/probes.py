"""Runtime probe verdicts: what a started container answered, judged against its contract.

The lanes start containers and poll them (on Dagger); this module only turns
the measurements into findings, so it is tested without an engine.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from pipeline.contract import Health, Shutdown
from pipeline.findings import Evidence, Finding


@dataclass(frozen=True, slots=True)
class HealthAnswer:
    """The last answer of a health poll."""

    url: str
    status: int | None
    body: str | None
    seconds: float | None  # from the poll's start to this answer
    attempts: int
    error: str | None = None


def poll_health(url: str, deadline: float, expected: int | None = None, *,
                interval: float = 0.25) -> HealthAnswer:
    """GET `url` until it answers `expected` (any status when None) or `deadline` seconds
    pass; the last answer seen. Connection errors are retried: the service may still
    be starting."""
    start = time.monotonic()
    attempts, status, body, seconds, error = 0, None, None, None, None
    while True:
        attempts += 1
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                status, raw = response.status, response.read(65536)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read(65536)
        except (OSError, ValueError) as exc:  # refused, reset, DNS, timeout: keep polling
            error = f"{type(exc).__name__}: {exc}"
            raw = None
        if raw is not None:
            body, error = raw.decode("utf-8", "replace"), None
            seconds = round(time.monotonic() - start, 3)
            if expected is None or status == expected:
                break
        if time.monotonic() - start >= deadline:
            break
        time.sleep(interval)
    return HealthAnswer(url=url, status=status, body=body, seconds=seconds, attempts=attempts,
                        error=error)


def _body_matches(health: Health, body: str | None) -> str | None:
    """None when the body satisfies the contract, else why not."""
    if health.body_contains is not None and health.body_contains not in (body or ""):
        return f"body does not contain {health.body_contains!r}"
    if health.body is not None:
        try:
            data: Any = json.loads(body or "")
        except (ValueError, RecursionError):  # a hostile body nested past the parser's depth
            return "body is not JSON"
        if not json_subset(health.body, data):
            return f"body {_short(body)} does not include {json.dumps(health.body)}"
    return None


def json_subset(expected: Any, actual: Any) -> bool:
    """Whether `actual` contains `expected`: an object has at least its keys, each a subset;
    an array has, for each expected element, an element containing it; a scalar is equal
    (1 and 1.0 alike, but never True and 1)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and json_subset(value, actual[key]) for key, value in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            any(json_subset(item, candidate) for candidate in actual) for item in expected)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return expected == actual


def _short(text: str | None, limit: int = 120) -> str:
    text = (text or "").strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


def judge_startup(
    service: str, health: Health, answer: HealthAnswer | None, *, start_seconds: float,
    start_error: str | None = None,
) -> list[Finding]:
    """Healthy within the startup budget? `start_seconds` is the time the engine took to
    see the port open; the poll's own seconds come on top."""
    if start_error is not None or answer is None:
        return [Finding("runtime.startup-time",
                        f"{service} did not start: {start_error or 'no answer'}",
                        (Evidence(detail=f"budget {health.startup_seconds:g}s"),), subject=service)]
    findings: list[Finding] = []
    total = start_seconds + (answer.seconds or 0.0)
    where = Evidence(path=health.path, detail=f"{answer.attempts} attempt(s), {total:.1f}s")
    if answer.status != health.status:
        seen = f"status {answer.status}" if answer.status is not None else f"no answer ({answer.error})"
        findings.append(Finding("runtime.health",
                                f"{service} answered {seen} on {health.path}, expected {health.status}",
                                (where,), subject=service))
    else:
        mismatch = _body_matches(health, answer.body)
        if mismatch:
            findings.append(Finding("runtime.health", f"{service} {health.path}: {mismatch}",
                                    (where,), subject=service))
    if answer.status == health.status and total > health.startup_seconds:
        findings.append(Finding("runtime.startup-time",
                                f"{service} was healthy after {total:.1f}s, budget {health.startup_seconds:g}s",
                                (where,), subject=service))
    return findings


def judge_dependency_down(
    service: str, health: Health, answer: HealthAnswer | None, *, missing: list[str],
    start_error: str | None = None,
) -> list[Finding]:
    """With its dependencies absent, does the health endpoint say so with the contract's status?"""
    expected = health.dependency_down_status
    if expected is None:
        return []
    down = ", ".join(missing)
    if start_error is not None or answer is None or answer.status is None:
        why = start_error or (answer.error if answer else None) or "no answer"
        return [Finding("runtime.dependency-down",
                        f"{service} without {down} did not answer on {health.path} ({why}), "
                        f"expected {expected}", (Evidence(path=health.path),), subject=service)]
    if answer.status != expected:
        return [Finding("runtime.dependency-down",
                        f"{service} without {down} answered {answer.status} on {health.path}, "
                        f"expected {expected}", (Evidence(path=health.path),), subject=service)]
    return []


def judge_shutdown(
    service: str, shutdown: Shutdown, *, seconds: float | None, error: str | None = None
) -> list[Finding]:
    """Stopped within the grace period after the stop signal? `seconds` None = not stopped."""
    if seconds is None or error is not None:
        return [Finding("runtime.shutdown",
                        f"{service} did not stop within {shutdown.grace_seconds:g}s of "
                        f"{shutdown.signal}" + (f": {error}" if error else ""), subject=service)]
    if seconds > shutdown.grace_seconds:
        return [Finding("runtime.shutdown",
                        f"{service} took {seconds:.1f}s to stop after {shutdown.signal}, "
                        f"grace {shutdown.grace_seconds:g}s", subject=service)]
    return []
