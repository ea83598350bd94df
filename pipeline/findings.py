"""Findings: one rule's verdict on one image, and the catalogue of rule ids.

A finding carries a stable rule id, a severity, a one-line message, evidence
(layer, path, history line) and a remediation. Pass/fail is never set by hand:
`Verdict.of(findings, fail_on)` derives it. Static rules (pipeline.rules) and the
lead's runtime probes share this one catalogue, so reports list both alike.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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


def _catalogue(*rules: Rule) -> dict[str, Rule]:
    return {rule.id: rule for rule in rules}


S = Severity
RULES: dict[str, Rule] = _catalogue(
    # base image
    Rule("base.unknown", S.MEDIUM, "Base image cannot be determined",
         "Build from a Dockerfile in the contract's context, or set the "
         "org.opencontainers.image.base.name annotation/label."),
    Rule("base.not-allowed", S.HIGH, "Base image is not in the allowed list",
         "Build the final stage FROM one of the contract's base_images."),
    Rule("base.digest-mismatch", S.HIGH, "Base image is not the pinned digest",
         "Pin the final stage FROM to name@<digest> as listed in base_images."),
    # image configuration
    Rule("size.exceeded", S.HIGH, "Image is larger than max_size",
         "Use a slimmer base, multi-stage builds, and remove caches in the layer that creates them."),
    Rule("user.root", S.HIGH, "Image runs as root",
         "Add a USER instruction with a non-root UID (e.g. USER 10001)."),
    Rule("user.unknown", S.HIGH, "USER names an account missing from /etc/passwd",
         "Create the account in the image or use a numeric UID."),
    Rule("user.mismatch", S.HIGH, "USER differs from the contract",
         "Set USER to the name/UID the contract requires."),
    Rule("port.not-exposed", S.HIGH, "Contract port is not exposed",
         "EXPOSE the contract's port."),
    Rule("port.extra", S.MEDIUM, "Image exposes ports beyond the contract's",
         "EXPOSE only the service port."),
    Rule("entrypoint.mismatch", S.HIGH, "ENTRYPOINT differs from the contract",
         "Set ENTRYPOINT in exec form exactly as the contract states."),
    Rule("cmd.mismatch", S.HIGH, "CMD differs from the contract",
         "Set CMD in exec form exactly as the contract states."),
    Rule("workdir.mismatch", S.HIGH, "WORKDIR differs from the contract",
         "Set WORKDIR to the contract's workdir."),
    Rule("labels.missing", S.HIGH, "Required OCI label is missing",
         "Add the label with LABEL or the build's --label/annotation option."),
    # secrets in configuration and history
    Rule("env.secret-baked", S.CRITICAL, "A declared secret has a value baked into ENV",
         "Remove the ENV; inject the secret at run time."),
    Rule("env.secret-value", S.CRITICAL, "ENV holds a secret-looking value",
         "Remove the ENV; inject secrets at run time, never at build time."),
    Rule("history.secret", S.CRITICAL, "Build history records a secret (ARG/ENV/RUN)",
         "Use build secrets (RUN --mount=type=secret) instead of ARG/ENV; rotate the secret."),
    # filesystem
    Rule("secret.private-key", S.CRITICAL, "A private key ships in a layer",
         "Remove the key from the build context; rotate it. Deleting it in a later layer "
         "does not remove it from the image."),
    Rule("secret.cloud-key", S.CRITICAL, "A cloud access key ships in a layer",
         "Remove it from the build context and rotate it."),
    Rule("secret.token", S.CRITICAL, "An API token ships in a layer",
         "Remove it from the build context and rotate it."),
    Rule("secret.dotenv", S.HIGH, "A .env file ships in a layer",
         "Exclude .env files with .dockerignore; inject configuration at run time."),
    Rule("fs.setuid", S.MEDIUM, "Setuid/setgid file",
         "Remove the setuid/setgid bit (chmod u-s,g-s) or the file."),
    Rule("fs.git-dir", S.HIGH, "A .git directory ships in the image",
         "Exclude .git with .dockerignore; copy only what the runtime needs."),
    Rule("dockerignore.missing", S.MEDIUM, "The build context has no .dockerignore",
         "Add a .dockerignore listing the contract's dockerignore entries."),
    Rule("dockerignore.not-excluded", S.MEDIUM, "A required .dockerignore entry is missing",
         "Add the entry to the context's .dockerignore."),
    # runtime probes (the lead's contract lane, on a started container)
    Rule("runtime.health", S.HIGH, "Health endpoint answered wrongly",
         "Serve the contract's health path with the expected status and body."),
    Rule("runtime.startup-time", S.HIGH, "Service was not healthy within its startup budget",
         "Make startup faster or raise health.startup_seconds deliberately."),
    Rule("runtime.dependency-down", S.HIGH, "Wrong status when a dependency is down",
         "Report dependency_down_status from the health endpoint when a dependency is absent."),
    Rule("runtime.shutdown", S.HIGH, "Service did not stop within its grace period on its signal",
         "Handle the shutdown signal (exec-form ENTRYPOINT, PID 1 forwarding)."),
    # idle resources (sampled from the started container's cgroup once health passed)
    Rule("runtime.idle-resources", S.INFO, "Idle CPU and memory of the started service",
         "Set resources.idle_cpu / idle_memory to turn these figures into budgets."),
    Rule("runtime.idle-cpu", S.HIGH, "Idle CPU above the contract's budget",
         "Find what spins while idle (busy polling, a tight retry loop, debug reloaders), "
         "or raise resources.idle_cpu deliberately."),
    Rule("runtime.idle-memory", S.HIGH, "Idle memory above the contract's budget",
         "Lower the worker count or caches at startup, or raise resources.idle_memory "
         "deliberately."),
)

# Forbidden tool classes are open-ended (a contract may add classes), so their
# ids are `forbidden.<class>`; every one shares this template.
FORBIDDEN_PREFIX = "forbidden."
_FORBIDDEN = Rule("forbidden", S.HIGH, "Forbidden tool class present",
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
class Finding:
    """One violation of one rule. Severity and remediation default from the catalogue."""

    rule_id: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    severity: Severity | None = None
    remediation: str | None = None
    subject: str | None = None       # the service or image the finding is about

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
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Derived from findings: passed unless a finding is at or above `fail_on`."""

    fail_on: Severity
    counts: dict[str, int] = field(default_factory=dict)
    failing: int = 0

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
        failing = sum(1 for f in findings if f.level >= fail_on)
        return cls(fail_on=fail_on, counts=dict(counts), failing=failing)

    def summary(self) -> str:
        if not self.counts:
            return "passed: no findings"
        by = ", ".join(f"{self.counts[s.label]} {s.label}"
                       for s in sorted(Severity, reverse=True) if s.label in self.counts)
        state = "passed" if self.passed else "failed"
        return f"{state}: {by} (failing at {self.fail_on.label} and above)"


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, then by rule id: a stable order for every report."""
    return sorted(findings, key=lambda f: (-f.level, f.rule_id, f.message))
