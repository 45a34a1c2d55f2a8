"""Every scenario of the reliability and security matrix, in its short form (``make chaos`` runs the full one).

The scenario code lives in ``tests/chaos/scenarios/`` (one module each); each test runs one scenario against its own
sandbox on loopback and asserts that nothing was duplicated, lost or leaked and that every check held.
Secret hygiene (8) runs last: it scans what the other scenarios of this session produced, too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos import matrix as chaos
from tests.chaos.matrix import Matrix

BY_NUMBER = {number: (name, scenario) for number, name, scenario in chaos.SCENARIOS}


def _run(matrix: Matrix, number: int) -> None:
    name, scenario = BY_NUMBER[number]
    result = matrix.run(scenario, number, name)
    assert result.ok, result.explain()
    assert result.trials > 0 and result.items > 0


def test_01_sigkill_then_rerun_in_the_same_dag_run(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 1)


def test_02_commit_then_dropped_connection(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 2)


def test_03_429_storms_and_daily_quota(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 3)


def test_04_intermittent_5xx_and_a_route_that_always_503s(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 4)


def test_05_token_expiry_and_forced_401(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 5)


def test_06_two_tasks_with_the_same_keys_at_once(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 6)


def test_07_generated_invalid_payloads_and_malformed_files(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 7)


def test_09_webhook_tampering_and_replays(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 9)


def test_10_sandbox_robustness(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 10)


def test_11_hostile_answers_html_empty_no_id_redirects_echoed_secrets(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 11)


def test_12_failures_before_sending_leave_every_key_never_sent(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 12)


def test_13_a_source_that_changes_between_the_passes(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 13)


def test_14_hostile_ids_and_unusable_output_locations(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 14)


def test_zz_08_secret_hygiene_over_everything_the_matrix_produced(chaos_matrix: Matrix) -> None:
    _run(chaos_matrix, 8)


@pytest.mark.parametrize("number", [number for number, _, _ in chaos.SCENARIOS])
def test_every_scenario_of_the_matrix_has_a_test(number: int) -> None:
    assert f"_{number:02d}_" in Path(__file__).read_text(encoding="utf-8")
