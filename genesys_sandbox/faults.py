"""Fault injection: latency, errors, 429s, scheduled failures, connections dropped after a commit; hostile answers
(what a corporate proxy or a broken gateway sends instead of the API's answer); and the behaviours of real Genesys a
client must cope with: partial query pages, bulk add jobs that end ``Failed`` or ``Terminated``, entities a job
rejects.

The settings are a :class:`FaultConfig` (the JSON of ``GET``/``PUT /_sandbox/faults``); :class:`FaultInjector`
holds the live copy, the remaining scheduled failures and the random generator (seeded by ``seed`` so that a
run is reproducible).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Hostile answers: a proxy's HTML sign-in page (200), a 201 with an empty body, a 200 whose JSON carries no record
#: id, a redirect (302 or 307) to ``redirect_location``, and an error answer echoing the request's credentials in
#: every field.
HostileAnswer = Literal["html_200", "empty_201", "json_without_id", "redirect_302", "redirect_307", "echo_secrets"]


class FaultConfig(BaseModel):
    """Fault settings; every field is optional and defaults to "no fault".

    :param latency_ms: delay added to every matching request.
    :param error_rate: fraction (0..1) of matching requests answered with ``error_status`` before any work.
    :param error_status: status of those injected errors (default 503).
    :param rate_429: fraction of matching requests answered 429 with ``Retry-After: retry_after``.
    :param retry_after: seconds advertised by injected 429s.
    :param fail_next: statuses answered, in order, by the next matching requests (e.g. ``[503, 503]``).
    :param drop_after_commit_rate: fraction of creates whose connection is closed after the record is stored.
    :param drop_after_commit_next: number of next creates whose connection is closed after the record is stored.
    :param route_prefix: only requests whose path starts with this prefix are affected.
    :param token_latency_ms: delay added to ``POST /oauth/token``.
    :param seed: seed of the random generator used by the rate-based faults.
    :param hostile_answer: what a hostile answer is (see :data:`HostileAnswer`).
    :param hostile_rate: fraction of matching requests that get the hostile answer.
    :param hostile_next: number of next matching requests that get the hostile answer.
    :param hostile_after_commit: the request is served first (a create is stored) and its answer then replaced
        (a gateway mangling the answer); otherwise the hostile answer comes instead (a proxy that never forwarded).
    :param redirect_location: the ``Location`` of hostile redirects (another host, by default a closed port).
    :param query_page_limit: at most this many entities per workitems query page, whatever ``pageSize`` asks
        (Genesys: a page may hold fewer entities than asked while more exist); the rest follows with ``after``.
    :param bulk_job_end_state: how bulk add jobs queued from now on end: ``Succeeded`` (default, creating their
        entities), ``Failed`` or ``Terminated`` (creating nothing, with no results).
    :param bulk_reject_rate: fraction of bulk add job entities rejected (``{"error": {"message", "code":
        "entity.rejected"}}``) instead of created.
    :param bulk_reject_tags: ``externalTag`` values whose bulk add job entities are rejected.
    :param search_indexing_delay: seconds after its creation before a callback or email is found by the
        participant-attribute search (Genesys documents no figure; a search made sooner misses it).
    :param search_page_size: results per page of the participant-attribute search (the rest follows with
        ``cursor``).
    :param search_missing_permission: the participant-attribute search answers 403 ``missing.permissions``
        (an OAuth client without ``conversation:participant:attributesview``).
    :param search_repeat_cursor: every page of the participant-attribute search answers the same cursor (paging
        that never ends).
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(default=0, ge=0, le=600_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_status: int = Field(default=503, ge=400, le=599)
    rate_429: float = Field(default=0.0, ge=0.0, le=1.0)
    retry_after: int = Field(default=1, ge=0, le=86_400)
    fail_next: list[int] = Field(default_factory=list)
    drop_after_commit_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_after_commit_next: int = Field(default=0, ge=0)
    route_prefix: str = "/api/v2/"
    token_latency_ms: int = Field(default=0, ge=0, le=600_000)
    seed: int | None = None
    hostile_answer: HostileAnswer | None = None
    hostile_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    hostile_next: int = Field(default=0, ge=0)
    hostile_after_commit: bool = False
    redirect_location: str = "http://127.0.0.1:9/sign-in"
    query_page_limit: int | None = Field(default=None, ge=1, le=200)
    bulk_job_end_state: Literal["Succeeded", "Failed", "Terminated"] | None = None
    bulk_reject_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    bulk_reject_tags: list[str] = Field(default_factory=list)
    search_indexing_delay: float = Field(default=0.0, ge=0.0, le=86_400.0)
    search_page_size: int = Field(default=50, ge=1, le=500)
    search_missing_permission: bool = False
    search_repeat_cursor: bool = False


@dataclass(frozen=True)
class InjectedFault:
    """A fault decided for one request: answer ``status`` (with ``retry_after`` for a 429)."""

    status: int
    retry_after: int | None = None


class FaultInjector:
    """Thread-safe live fault settings and their random generator."""

    def __init__(self, initial: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._random = random.Random()
        self.replace(initial or FaultConfig())

    def replace(self, config: FaultConfig) -> None:
        """Install ``config`` (a copy), re-seeding the random generator."""
        with self._lock:
            self._config = config.model_copy(deep=True)
            self._random = random.Random(config.seed)

    def snapshot(self) -> FaultConfig:
        """Return a copy of the current settings (``fail_next`` and counters show what remains)."""
        with self._lock:
            return self._config.model_copy(deep=True)

    def matches(self, path: str) -> bool:
        """Return whether requests to ``path`` are subject to faults."""
        return path.startswith(self._config.route_prefix)

    def latency_seconds(self, path: str) -> float:
        """Return the delay to add before answering a request to ``path``."""
        config = self._config
        delay = 0.0
        if path == "/oauth/token":
            delay += config.token_latency_ms / 1000
        if path.startswith(config.route_prefix):
            delay += config.latency_ms / 1000
        return delay

    def decide(self, path: str) -> InjectedFault | None:
        """Return the fault to answer a request to ``path`` with, or ``None`` to serve it normally."""
        with self._lock:
            config = self._config
            if not path.startswith(config.route_prefix):
                return None
            if config.fail_next:
                status = config.fail_next.pop(0)
                return InjectedFault(status, config.retry_after if status == 429 else None)
            if config.error_rate > 0 and self._random.random() < config.error_rate:
                status = config.error_status
                return InjectedFault(status, config.retry_after if status == 429 else None)
            if config.rate_429 > 0 and self._random.random() < config.rate_429:
                return InjectedFault(429, config.retry_after)
            return None

    def hostile(self, path: str) -> HostileAnswer | None:
        """Return the hostile answer a request to ``path`` gets, or ``None``."""
        with self._lock:
            config = self._config
            if config.hostile_answer is None or not path.startswith(config.route_prefix):
                return None
            if config.hostile_next > 0:
                config.hostile_next -= 1
                return config.hostile_answer
            if config.hostile_rate > 0 and self._random.random() < config.hostile_rate:
                return config.hostile_answer
            return None

    def rejects_entity(self, external_tag: str | None) -> bool:
        """Return whether a bulk add job rejects the entity carrying ``external_tag``."""
        with self._lock:
            config = self._config
            if external_tag is not None and external_tag in config.bulk_reject_tags:
                return True
            return config.bulk_reject_rate > 0 and self._random.random() < config.bulk_reject_rate

    def should_drop_after_commit(self, path: str) -> bool:
        """Return whether the connection of a just-committed create to ``path`` must be dropped."""
        with self._lock:
            config = self._config
            if not path.startswith(config.route_prefix):
                return False
            if config.drop_after_commit_next > 0:
                config.drop_after_commit_next -= 1
                return True
            return config.drop_after_commit_rate > 0 and self._random.random() < config.drop_after_commit_rate
