"""Machine-readable report: findings and the derived verdict as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.findings import Finding, Verdict, sort_findings
from pipeline.textsafe import portable_tree


def document(findings: Sequence[Finding], verdict: Verdict, **meta: Any) -> dict[str, Any]:
    # portable: a file name with undecodable bytes still makes valid JSON (and no secret).
    return portable_tree({
        **meta,
        "passed": verdict.passed,
        "fail_on": verdict.fail_on.label,
        "counts": verdict.counts,
        "findings": [f.as_dict() for f in sort_findings(findings)],
    })


def render(findings: Sequence[Finding], verdict: Verdict, **meta: Any) -> str:
    return json.dumps(document(findings, verdict, **meta), indent=2, sort_keys=False) + "\n"
