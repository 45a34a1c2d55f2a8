"""Which send times the participant-attribute search is given for keys an earlier try may have created."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from airflow_provider_genesys.creation import at_most_once
from airflow_provider_genesys.creation.conversation_search import SearchAnswer, SearchVerdict
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.state import TaskState
from airflow_provider_genesys.exceptions import OutcomeUnknownError
from tests.support.state_store import RecordingStateStore


class RecordedSearch:
    """Stands in for the search: records the times it is given, answers undecidable (nothing is sent)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, hook: Any, **kwargs: Any) -> SearchAnswer:
        self.calls.append(kwargs)
        return SearchAnswer(SearchVerdict.UNDECIDABLE, reason="recorded")


@pytest.fixture
def search(monkeypatch: pytest.MonkeyPatch) -> RecordedSearch:
    recorded = RecordedSearch()
    monkeypatch.setattr(at_most_once, "find_conversation_by_key", recorded)
    return recorded


def test_every_key_a_dead_try_left_sending_shares_one_window_from_when_this_try_started(
    search: RecordedSearch, item_of: Callable[..., Any]
) -> None:
    items = [item_of("callback", external_id=f"CASE-{n}") for n in range(5)]
    store = RecordingStateStore()
    dead = TaskState.load(store, kind="callback", try_number=1)
    dead.announce(item.key for item in items)  # and the worker died before any outcome was written
    retry = TaskState.load(store, kind="callback", try_number=2)

    for item in items:
        with pytest.raises(OutcomeUnknownError, match="recorded"):
            at_most_once.create_at_most_once(None, get_kind("callback"), item, outcome_unknown=True, state=retry)  # type: ignore[arg-type]

    started = datetime.fromisoformat(str(retry.loaded_at).replace("Z", "+00:00"))
    announced = datetime.fromisoformat(str(retry.earlier(items[0].key).timestamp).replace("Z", "+00:00"))
    assert [call["sent_at"] for call in search.calls] == [started] * len(items)  # one absolute window, not per item
    assert [call["sent_from"] for call in search.calls] == [announced] * len(items)


def test_a_lost_answer_is_searched_from_when_its_outcome_was_recorded(
    search: RecordedSearch, item_of: Callable[..., Any]
) -> None:
    item = item_of("email")
    store = RecordingStateStore()
    first = TaskState.load(store, kind="email", try_number=1)
    first.announce([item.key])
    first.sending(item.key)
    first.unknown(item.key, "timed out")
    first.flush()
    retry = TaskState.load(store, kind="email", try_number=2)

    with pytest.raises(OutcomeUnknownError):
        at_most_once.create_at_most_once(None, get_kind("email"), item, outcome_unknown=True, state=retry)  # type: ignore[arg-type]

    recorded = datetime.fromisoformat(str(retry.earlier(item.key).sent_until).replace("Z", "+00:00"))
    assert search.calls[0]["sent_at"] == recorded
