"""Print check-image's and dockle's verdicts side by side (markdown) on tests/agreement.py's images.

    .venv/bin/python benchmarks/dockle_agreement.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.agreement import SCENARIOS, Verdicts, dockle_path, run  # noqa: E402


def show(v: Verdicts) -> str:
    setuid = ",".join(sorted(v.setuid)) or "-"
    return f"root={'yes' if v.root else 'no'} cred={'yes' if v.credential else 'no'} setuid={setuid}"


def main() -> int:
    binary = dockle_path()
    if binary is None:
        print("dockle not found (scripts/deps.d/contract.sh builds it)", file=sys.stderr)
        return 2
    print("| image | check-image | dockle | agree | why not |")
    print("| --- | --- | --- | --- | --- |")
    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory() as work:
            ours, theirs = run(scenario, Path(work), binary)
        agree = "yes" if ours == theirs else "no"
        print(f"| {scenario.name} | {show(ours)} | {show(theirs)} | {agree} | {scenario.differs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
