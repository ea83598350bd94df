"""SARIF 2.1.0 (OASIS), the format code-scanning UIs ingest.

One run, tool.driver.rules from the catalogue entries the findings use,
one result per finding; image paths become artifact locations with the
layer and history index in the result's properties.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipeline.findings import Finding, rule, sort_findings
from pipeline.textsafe import portable_tree

if TYPE_CHECKING:
    from pipeline.waivers import WaiverStatus

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def document(findings: Sequence[Finding], *, tool: str = "pipeline check-image",
             version: str = "0.1.0", artifact: str | None = None,
             waivers: Sequence[WaiverStatus] = ()) -> dict[str, Any]:
    ordered = sort_findings(findings)
    rule_ids = sorted({f.rule_id for f in ordered})
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = []
    for rid in rule_ids:
        entry = rule(rid)
        rules.append({
            "id": rid, "name": rid.replace(".", "-"),
            "shortDescription": {"text": entry.title},
            "help": {"text": entry.remediation},
            "defaultConfiguration": {"level": entry.severity.sarif_level},
            "properties": {"severity": entry.severity.label},
        })
    results = []
    for f in ordered:
        locations = []
        for e in f.evidence:
            if e.path or artifact:
                location: dict[str, Any] = {"physicalLocation": {
                    "artifactLocation": {"uri": e.path or artifact}}}
                if e.layer or e.history is not None:
                    location["logicalLocations"] = [{
                        "name": e.layer or f"history[{e.history}]",
                        "kind": "layer" if e.layer else "historyEntry"}]
                locations.append(location)
        if not locations and artifact:
            locations.append({"physicalLocation": {"artifactLocation": {"uri": artifact}}})
        results.append({
            "ruleId": f.rule_id, "ruleIndex": index[f.rule_id], "level": f.level.sarif_level,
            "message": {"text": f.message},
            "locations": locations[:10],
            "properties": {"severity": f.level.label, "remediation": f.remediation,
                           "evidence": [e.as_dict() for e in f.evidence],
                           **({"subject": f.subject} if f.subject else {}),
                           **({"inheritedFrom": f.inherited_from} if f.inherited_from else {})},
            # SARIF 2.1.0 §3.35: a suppressed result is still a result, marked as accepted.
            **({"suppressions": [{"kind": "external", "status": "accepted",
                                  "justification": f.waived.describe()}]} if f.waived else {}),
        })
    return portable_tree({
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": tool, "version": version, "rules": rules}},
                  "results": results,
                  **({"properties": {"waivers": [w.as_dict() for w in waivers]}}
                     if waivers else {})}],
    })


def render(findings: Sequence[Finding], **kwargs: Any) -> str:
    return json.dumps(document(findings, **kwargs), indent=2) + "\n"
