"""What a move requires of a validation beyond a valid signature (`--require-lane`,
`--refuse-waivers`), checked the same way for one image's attestation and a release's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import PromotionRefused


@dataclass(frozen=True, slots=True)
class Policy:
    required_lanes: tuple[str, ...] = ()
    refuse_waivers: bool = False  # refuse what passed only thanks to a waiver, or did not gate

    def check(self, where: str, *, lanes_passed: Sequence[str],
              waivers: Sequence[Mapping[str, Any]], gating: bool | None = None) -> None:
        """PromotionRefused naming `where` when the validation falls short; `gating` is None
        where it is not recorded (a release: its run published only if every lane passed)."""
        if not lanes_passed:
            raise PromotionRefused(f"{where}: unvalidated, the attestation names no passed lane")
        missing = [lane for lane in self.required_lanes if lane not in lanes_passed]
        if missing:
            raise PromotionRefused(
                f"{where}: not validated by required lane(s): {', '.join(missing)}")
        if not self.refuse_waivers:
            return
        waived = waived_rules(waivers)
        if waived:
            raise PromotionRefused(f"{where}: validated with waived rule(s): {', '.join(waived)}")
        if gating is False:
            raise PromotionRefused(f"{where}: validated by a run whose contract lanes did not "
                                   "gate its tests (--keep-going)")


DEFAULT_POLICY = Policy()  # signed, and at least one lane passed


def waived_rules(waivers: Sequence[Mapping[str, Any]]) -> list[str]:
    """The rules a validation passed only thanks to a waiver (one that matched no finding
    let nothing through)."""
    return sorted({str(w.get("rule")) for w in waivers
                   if isinstance(w, Mapping) and w.get("findings")})
