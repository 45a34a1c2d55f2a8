"""The chaos matrix in its short form: one shared Matrix (canary credentials of the suite, one fork server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chaos.harness import Canaries
from tests.chaos.matrix import Matrix
from tests.support.canaries import CANARY_CLIENT_ID, CANARY_CLIENT_SECRET


@pytest.fixture(scope="session")
def chaos_matrix() -> Iterator[Matrix]:
    """Short-form scenarios; every scenario's evidence stays in it for the secret-hygiene scan of scenario 8."""
    matrix = Matrix(short=True, canaries=Canaries(client_id=CANARY_CLIENT_ID, client_secret=CANARY_CLIENT_SECRET))
    try:
        yield matrix
    finally:
        matrix.close()
