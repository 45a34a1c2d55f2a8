"""Every scenario of the reliability and security matrix, in its short form (``make chaos`` runs the full one).

The scenario code lives in ``tests/chaos/scenarios/`` (one module each); each test runs one scenario against its
own sandbox on loopback and asserts that nothing was duplicated, lost or leaked and that every check held. The
tests are generated from the matrix's own list, in its order, so a scenario cannot go untested and secret
hygiene (8), which scans what the other scenarios of this session produced, runs last.
"""

from __future__ import annotations

import pytest

from tests.chaos.harness import ScenarioResult
from tests.chaos.matrix import SCENARIOS, Matrix


@pytest.mark.parametrize(("number", "name", "scenario"), SCENARIOS, ids=[f"{number:02d}" for number, _, _ in SCENARIOS])
def test_scenario(chaos_matrix: Matrix, number: int, name: str, scenario: object) -> None:
    result = chaos_matrix.run(scenario, number, name)  # type: ignore[arg-type]
    assert result.ok, result.explain()
    # a scenario that ran no check, or drove no item, proved nothing
    assert result.checks > 0 and result.items > 0, result.to_dict()


def test_a_failed_check_or_a_leak_fails_the_scenario() -> None:
    result = ScenarioResult(number=0, name="self-check")
    assert result.check(True, "holds") and result.ok
    result.check(False, "a duplicate record")
    assert not result.ok and "a duplicate record" in result.explain()
    leaked = ScenarioResult(number=0, name="leak", leaks=1)
    assert not leaked.ok


def test_the_matrix_crash_of_a_scenario_is_a_failure(chaos_matrix: Matrix) -> None:
    def crashes(matrix: Matrix, evidence: object, result: ScenarioResult) -> None:
        raise RuntimeError("the harness broke")

    result = chaos_matrix.run(crashes, 0, "crash")  # type: ignore[arg-type]
    assert not result.ok and "crashed: RuntimeError" in result.explain()
