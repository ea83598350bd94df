"""Startup policy: without its required configuration, a service must fail fast.

For each variable in `env.required` (or all of them at once, `env.fail_fast =
"all"`), the contract lane starts the service without it. It must exit non-zero
within `env.fail_fast_seconds`, and, with `env.fail_fast_message = true`, say
which variable is missing. The lane measures (on Dagger); this module only
judges, so it is tested without an engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.contract.models import EnvContract
from pipeline.findings import Evidence, Finding

# The part of a failed start's output kept for the message check (never reported).
MAX_OUTPUT = 64 * 1024


@dataclass(frozen=True, slots=True)
class StartWithout:
    """How one start without `missing` ended."""

    missing: tuple[str, ...]
    seconds: float                  # from asking the engine to start it to the outcome
    exit_code: int | None = None    # None: it did not exit within the budget
    output: str = ""                # its stdout and stderr, bounded
    healthy: bool = False           # it opened its port and answered its health check
    listening: bool = False         # it opened its port
    error: str | None = None        # the engine could not run it at all


def attempts(env: EnvContract) -> list[tuple[str, ...]]:
    """The variable sets to start without, as the contract says."""
    if env.fail_fast == "off" or not env.required:
        return []
    if env.fail_fast == "all":
        return [tuple(env.required)]
    return [(name,) for name in env.required]


def names_variable(output: str, names: tuple[str, ...]) -> bool:
    """Does the output name one of the missing variables (as a word)?"""
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", output)
               for n in names)


def judge_fail_fast(service: str, env: EnvContract, seen: StartWithout, *,
                    allowance: float = 0.0) -> list[Finding]:
    """`allowance`: seconds the engine itself may take to start the container."""
    without = ", ".join(seen.missing)
    budget = env.fail_fast_seconds
    where = Evidence(detail=f"started without {without}; budget {budget:g}s")

    def finding(text: str, rule: str = "runtime.fail-fast") -> list[Finding]:
        return [Finding(rule, f"{service} without {without} {text}", (where,), subject=service)]

    if seen.error is not None:
        return finding(f"could not be started: {seen.error}")
    if seen.healthy:
        return finding("came up healthy: a service missing required configuration must "
                       "refuse to start")
    if seen.exit_code is None:
        state = "listening on its port" if seen.listening else "running"
        return finding(f"was still {state} after {seen.seconds:.1f}s, expected a non-zero "
                       f"exit within {budget:g}s")
    if seen.exit_code == 0:
        return finding(f"exited 0 after {seen.seconds:.1f}s: a missing required variable "
                       "must be a failure (non-zero exit)")
    if seen.seconds > budget + allowance:
        return finding(f"exited {seen.exit_code} only after {seen.seconds:.1f}s, budget {budget:g}s")
    if env.fail_fast_message and not names_variable(seen.output, seen.missing):
        return finding(f"exited {seen.exit_code}, but its output does not name "
                       f"{'it' if len(seen.missing) == 1 else 'any of them'}",
                       "runtime.fail-fast-message")
    return []
