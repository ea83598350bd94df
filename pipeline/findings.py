"""Findings: one rule's verdict on one image, and the catalogue of rule ids.

A finding carries a stable rule id, a severity, a one-line message, evidence
(layer, path, history line) and a remediation. Pass/fail is never set by hand:
`Verdict.of(findings, fail_on)` derives it. Static rules (pipeline.rules) and the
lead's runtime probes share this one catalogue, so reports list both alike.
"""

from __future__ import annotations

import enum
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Severity(enum.IntEnum):
    """Ordered severities: a run fails on findings at or above `fail_on`."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of: {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def sarif_level(self) -> str:
        # SARIF 2.1.0 §3.27.10 has only error / warning / note.
        if self >= Severity.HIGH:
            return "error"
        return "warning" if self == Severity.MEDIUM else "note"


@dataclass(frozen=True, slots=True)
class Rule:
    """A catalogue entry: what the rule checks, how bad a violation is, how to fix it."""

    id: str
    severity: Severity
    title: str
    remediation: str


def _catalogue(path: Path) -> dict[str, Rule]:
    """The rule catalogue, kept as data beside this module (one table per rule)."""
    with open(path, "rb") as handle:
        table = tomllib.load(handle)
    return {entry["id"]: Rule(entry["id"], Severity.parse(entry["severity"]), entry["title"],
                              entry["remediation"]) for entry in table["rule"]}


RULES: dict[str, Rule] = _catalogue(Path(__file__).with_name("findings.toml"))

# Forbidden tool classes are open-ended (a contract may add classes), so their
# ids are `forbidden.<class>`; every one shares this template.
FORBIDDEN_PREFIX = "forbidden."
_FORBIDDEN = Rule("forbidden", Severity.HIGH, "Forbidden tool class present",
                  "Install build/test tooling in a build stage or tooling image; copy only "
                  "runtime artifacts into the final stage.")


def rule(rule_id: str) -> Rule:
    """The catalogue entry for `rule_id` (forbidden.<class> ids share one template)."""
    if rule_id in RULES:
        return RULES[rule_id]
    if rule_id.startswith(FORBIDDEN_PREFIX) and len(rule_id) > len(FORBIDDEN_PREFIX):
        cls = rule_id[len(FORBIDDEN_PREFIX):]
        return Rule(rule_id, _FORBIDDEN.severity, f"Forbidden tool class present: {cls}",
                    _FORBIDDEN.remediation)
    raise KeyError(f"unknown rule id {rule_id!r}")


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a finding was seen: any of layer, path, history line, or a free detail."""

    layer: str | None = None        # layer digest (or index label)
    path: str | None = None         # path in the image filesystem or the build context
    history: int | None = None      # index into the config's history
    detail: str | None = None       # the offending text, redacted when it is a secret

    def describe(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path)
        if self.layer:
            parts.append(f"layer {self.layer[:19]}")
        if self.history is not None:
            parts.append(f"history[{self.history}]")
        if self.detail:
            parts.append(self.detail)
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("layer", self.layer), ("path", self.path),
                                  ("history", self.history), ("detail", self.detail))
                if v is not None}


@dataclass(frozen=True, slots=True)
class Waived:
    """Why a finding does not gate: the contract's waiver of its rule (see pipeline.waivers)."""

    reason: str
    until: str | None = None        # ISO date, the waiver's last day; None: open-ended

    def describe(self) -> str:
        return f"waived{f' until {self.until}' if self.until else ''}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, **({"until": self.until} if self.until else {})}


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation of one rule. Severity and remediation default from the catalogue."""

    rule_id: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    severity: Severity | None = None
    remediation: str | None = None
    subject: str | None = None       # the service or image the finding is about
    waived: Waived | None = None     # set by pipeline.waivers: reported, but never gating
    inherited_from: str | None = None  # the base image whose layers hold all the evidence

    def __post_init__(self) -> None:
        entry = rule(self.rule_id)   # unknown ids are a programming error, fail loudly
        if self.severity is None:
            object.__setattr__(self, "severity", entry.severity)
        if self.remediation is None:
            object.__setattr__(self, "remediation", entry.remediation)

    @property
    def level(self) -> Severity:
        assert self.severity is not None
        return self.severity

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "severity": self.level.label,
            "message": self.message,
            "evidence": [e.as_dict() for e in self.evidence],
            "remediation": self.remediation,
            **({"subject": self.subject} if self.subject else {}),
            **({"waived": self.waived.as_dict()} if self.waived else {}),
            **({"inherited_from": self.inherited_from} if self.inherited_from else {}),
        }

    @property
    def gates(self) -> bool:
        """Whether this finding can fail a gate (a waived one cannot)."""
        return self.waived is None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Derived from findings: passed unless a finding is at or above `fail_on`."""

    fail_on: Severity
    counts: dict[str, int] = field(default_factory=dict)
    failing: int = 0
    waived: int = 0                  # findings at or above fail_on that a waiver let pass

    @property
    def passed(self) -> bool:
        return self.failing == 0

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    @classmethod
    def of(cls, findings: Iterable[Finding], fail_on: Severity = Severity.HIGH) -> Verdict:
        findings = list(findings)
        counts = Counter(f.level.label for f in findings)
        failing = sum(1 for f in findings if f.level >= fail_on and f.gates)
        waived = sum(1 for f in findings if f.level >= fail_on and not f.gates)
        return cls(fail_on=fail_on, counts=dict(counts), failing=failing, waived=waived)

    def summary(self) -> str:
        if not self.counts:
            return "passed: no findings"
        by = ", ".join(f"{self.counts[s.label]} {s.label}"
                       for s in sorted(Severity, reverse=True) if s.label in self.counts)
        state = "passed" if self.passed else "failed"
        if self.passed and self.waived:
            state = "passed with waivers"
        waived = f"; {self.waived} waived" if self.waived else ""
        return f"{state}: {by} (failing at {self.fail_on.label} and above{waived})"


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, then by rule id: a stable order for every report."""
    return sorted(findings, key=lambda f: (-f.level, f.rule_id, f.message))
