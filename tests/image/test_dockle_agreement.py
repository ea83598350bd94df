"""check-image agrees with dockle on non-root user, credentials and setuid, except where explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agreement import SCENARIOS, Scenario, dockle_path, run
from tests.conftest import missing


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_agreement_with_dockle(tmp_path: Path, scenario: Scenario) -> None:
    binary = dockle_path()
    if binary is None:
        missing("dockle", "not on PATH nor in ~/go/bin (scripts/deps.d/contract.sh builds it)")
    ours, theirs = run(scenario, tmp_path, binary)
    if scenario.differs:
        assert ours != theirs, f"now agrees; drop the explanation: {scenario.differs}"
    else:
        assert ours == theirs
