"""Waivers: a service's rules that do not gate yet, each with a reason and maybe an end date.

`apply_waivers` marks the findings of waived rules (they are still reported, in every
format, but no longer fail the gate) and says what became of every waiver: applied to
how many findings, unused, or expired. An expired waiver (its `until` day is past)
waives nothing and says so, so a forgotten waiver cannot hide a violation forever.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from pipeline.findings import Finding, Waived


class WaiverSpec(Protocol):
    """What the contract says (pipeline.contract.models.Waiver)."""

    rule: str
    reason: str
    until: date | None


@dataclass(frozen=True, slots=True)
class WaiverStatus:
    """One waiver in one run: what it waived, or why it waived nothing."""

    subject: str                 # the service
    rule: str
    reason: str
    until: str | None = None     # ISO date
    expired: bool = False
    findings: int = 0            # findings it let pass (0 when expired or unused)

    @property
    def active(self) -> bool:
        return not self.expired

    def describe(self) -> str:
        if self.expired:
            return (f"{self.subject}: waiver of {self.rule} expired on {self.until}, "
                    f"not applied ({self.reason})")
        scope = f" until {self.until}" if self.until else ""
        used = f"{self.findings} finding(s)" if self.findings else "no finding"
        return f"{self.subject}: {self.rule} waived{scope} ({used}): {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def today() -> date:
    return datetime.now(UTC).date()


def apply_waivers(
    findings: Sequence[Finding], waivers: Sequence[WaiverSpec], *, subject: str,
    on: date | None = None,
) -> tuple[list[Finding], list[WaiverStatus]]:
    """The findings with waived ones marked, and each waiver's status on day `on`."""
    on = on or today()
    active = {w.rule: w for w in waivers if w.until is None or w.until >= on}
    marked: list[Finding] = []
    used: dict[str, int] = {}
    for finding in findings:
        waiver = active.get(finding.rule_id)
        if waiver is None:
            marked.append(finding)
            continue
        used[waiver.rule] = used.get(waiver.rule, 0) + 1
        until = waiver.until.isoformat() if waiver.until else None
        marked.append(dataclasses.replace(finding, waived=Waived(waiver.reason, until)))
    statuses = [
        WaiverStatus(subject=subject, rule=w.rule, reason=w.reason,
                     until=w.until.isoformat() if w.until else None,
                     expired=w.rule not in active, findings=used.get(w.rule, 0))
        for w in waivers
    ]
    return marked, statuses


def waiver_note(statuses: Sequence[WaiverStatus]) -> str:
    """'; waived: user.root; waiver expired: size.exceeded' for a lane's one-line message."""
    waived = [w.rule for w in statuses if w.active and w.findings]
    expired = [w.rule for w in statuses if w.expired]
    note = f"; waived: {', '.join(waived)}" if waived else ""
    return note + (f"; waiver expired: {', '.join(expired)}" if expired else "")
