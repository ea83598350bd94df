"""Idle CPU and memory of a started service, judged against its contract's budgets.

The service wrapper (pipeline/servicewrap) appends one JSON line every 500 ms
from inside the container: wall time `t`, the cgroup's cumulative CPU time
`cpu_usec` and its working-set memory `mem_bytes`. This module reads those
samples over the window after health passed and turns them into figures and
findings; it imports no Dagger.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipeline.contract import Resources
from pipeline.contract.sizes import format_size
from pipeline.findings import Evidence, Finding

MAX_SAMPLES = 100_000  # a day at two a second; a larger file is not the wrapper's


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    cpu_usec: int | None
    mem_bytes: int | None


@dataclass(frozen=True, slots=True)
class IdleFigures:
    """What the service used while idle: mean CPU over the window, peak working set."""

    cpu_millicores: float | None
    memory_bytes: int | None
    seconds: float
    samples: int

    def describe(self) -> str:
        cpu = f"{self.cpu_millicores:.0f}m CPU" if self.cpu_millicores is not None else "CPU unknown"
        memory = format_size(self.memory_bytes) if self.memory_bytes is not None else "memory unknown"
        return f"{cpu}, {memory} over {self.seconds:.1f}s ({self.samples} samples)"


def parse_samples(lines: Iterable[str]) -> list[Sample]:
    """The well-formed samples; a torn last line (the service was stopped mid-write) is skipped."""
    samples: list[Sample] = []
    for line in lines:
        if len(samples) >= MAX_SAMPLES:
            break
        try:
            data = json.loads(line)
            t = float(data["t"])
        except (ValueError, KeyError, TypeError):
            continue
        cpu, mem = data.get("cpu_usec"), data.get("mem_bytes")
        samples.append(Sample(t, cpu if isinstance(cpu, int) else None,
                              mem if isinstance(mem, int) else None))
    return samples


def idle_figures(samples: list[Sample], start: float, seconds: float) -> IdleFigures | None:
    """Figures over [start, start + seconds]; None with fewer than two samples in it."""
    window = [s for s in samples if start <= s.t <= start + seconds + 0.5]
    if len(window) < 2:
        return None
    first, last = window[0], window[-1]
    elapsed = last.t - first.t
    cpu = None
    if first.cpu_usec is not None and last.cpu_usec is not None and elapsed > 0:
        cpu = max(0.0, (last.cpu_usec - first.cpu_usec) / 1000 / elapsed)  # usec/s/1000 = millicores
    memory = [s.mem_bytes for s in window if s.mem_bytes is not None]
    return IdleFigures(cpu_millicores=cpu, memory_bytes=max(memory) if memory else None,
                       seconds=elapsed, samples=len(window))


def judge_idle(service: str, resources: Resources, figures: IdleFigures | None,
               *, why_none: str = "") -> list[Finding]:
    """The figures as an info finding (every report shows them), plus one per budget exceeded
    or, because a budget that could not be checked is no pass, not measured."""
    if figures is None:
        message = f"{service}: idle resources not measured" + (f" ({why_none})" if why_none else "")
        findings = [Finding("runtime.idle-resources", message, subject=service)]
        cpu = memory = None
    else:
        detail = Evidence(detail=figures.describe())
        findings = [Finding("runtime.idle-resources", f"{service} idle: {figures.describe()}",
                            (detail,), subject=service)]
        cpu, memory = figures.cpu_millicores, figures.memory_bytes
    # One budget a row: (rule, what, measured, budget, how a figure reads, "over budget" words).
    budgets: tuple[tuple[str, str, float | None, float | None, Callable[[float], str], str], ...] = (
        ("runtime.idle-cpu", "CPU", cpu, resources.idle_cpu, _millicores, "used {} CPU"),
        ("runtime.idle-memory", "memory", memory, resources.idle_memory, _bytes, "held {}"),
    )
    for rule, what, measured, budget, show, over in budgets:
        if budget is None:
            continue
        if measured is None:
            findings.append(Finding(rule, f"{service}: idle {what} not measured, "
                                    f"budget {show(budget)}", subject=service))
        elif measured > budget:
            findings.append(Finding(rule, f"{service} {over.format(show(measured))} while idle, "
                                    f"budget {show(budget)}", subject=service))
    return findings


def _millicores(value: float) -> str:
    return f"{value:.0f}m"


def _bytes(value: float) -> str:
    return format_size(int(value))
