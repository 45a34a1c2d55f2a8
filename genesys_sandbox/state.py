"""In-memory state of a sandbox: tokens, quotas, request log, created records (the ledger), idempotency keys.

All access goes through :class:`SandboxState`, whose methods hold one re-entrant lock, so the state can be read
from test threads while the server thread writes it.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from genesys_sandbox.config import SandboxConfig
from genesys_sandbox.faults import FaultInjector

QUOTA_WINDOW_SECONDS = 60.0


def utc_now_iso() -> str:
    """Return the current UTC time as ISO-8601 with milliseconds and a ``Z`` suffix (as Genesys writes it)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TokenStatus(Enum):
    """Outcome of checking a bearer token."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"


@dataclass
class _Token:
    expires_at: float
    revoked: bool = False


@dataclass
class StoredRecord:
    """One created record of any kind (``interaction``, ``workitem``, ``callback``, ``email``).

    :param view: builds the API representation from the record and its ACD state (``queued``/``assigned``).
    """

    kind: str
    id: str
    key: str | None
    body: dict[str, Any]
    created_at: float
    view: Callable[[StoredRecord, str], dict[str, Any]] | None = None

    def acd_state(self, acd_delay_seconds: float) -> str:
        """Return ``assigned`` once the ACD delay has passed since creation, else ``queued``."""
        return "assigned" if time.monotonic() - self.created_at >= acd_delay_seconds else "queued"

    def render(self, acd_delay_seconds: float) -> dict[str, Any]:
        """Return the API representation of the record."""
        state = self.acd_state(acd_delay_seconds)
        if self.view is not None:
            return self.view(self, state)
        return {**self.body, "state": state}


class ReservationOutcome(Enum):
    """Outcome of reserving an ``Idempotency-Key``."""

    NEW = "new"
    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_FLIGHT = "in_flight"


@dataclass
class _KeyEntry:
    fingerprint: str
    record_id: str | None = None


@dataclass
class SandboxState:
    """Everything a sandbox remembers between requests."""

    config: SandboxConfig
    lock: threading.RLock = field(default_factory=threading.RLock)
    faults: FaultInjector = field(init=False)
    tokens_issued: int = 0
    total_requests: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    refreshers: list[Callable[[], None]] = field(default_factory=list)
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _token_requests: deque[float] = field(default_factory=deque)
    _quota: dict[str, deque[float]] = field(default_factory=dict)
    _request_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    _records: dict[str, StoredRecord] = field(default_factory=dict)
    _creates_by_key: dict[str, dict[str, int]] = field(default_factory=dict)
    _interaction_keys: dict[str, _KeyEntry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.faults = FaultInjector(self.config.faults)

    # -- tokens --------------------------------------------------------------------------------------------
    def token_rate_exceeded(self) -> bool:
        """Count one token request; return whether it exceeds ``token_rate_per_minute``."""
        now = time.monotonic()
        with self.lock:
            window = self._token_requests
            while window and now - window[0] >= QUOTA_WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self.config.token_rate_per_minute:
                return True
            window.append(now)
            return False

    def issue_token(self) -> str:
        """Create and remember a new access token."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            self._tokens[token] = _Token(expires_at=time.monotonic() + self.config.token_ttl_seconds)
            self.tokens_issued += 1
        return token

    def check_token(self, token: str) -> TokenStatus:
        """Return whether ``token`` is valid, unknown or expired."""
        with self.lock:
            entry = self._tokens.get(token)
        if entry is None:
            return TokenStatus.UNKNOWN
        if entry.revoked or time.monotonic() >= entry.expires_at:
            return TokenStatus.EXPIRED
        return TokenStatus.VALID

    def expire_tokens(self) -> int:
        """Invalidate every issued token; return how many were valid."""
        with self.lock:
            count = sum(1 for entry in self._tokens.values() if not entry.revoked)
            for entry in self._tokens.values():
                entry.revoked = True
            return count

    def consume_quota(self, token: str) -> int | None:
        """Count one API request for ``token``; return the seconds to wait when the quota is exhausted."""
        now = time.monotonic()
        with self.lock:
            window = self._quota.setdefault(token, deque())
            while window and now - window[0] >= QUOTA_WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self.config.quota_per_minute:
                if not window:
                    return int(QUOTA_WINDOW_SECONDS)
                return max(1, math.ceil(window[0] + QUOTA_WINDOW_SECONDS - now))
            window.append(now)
            return None

    # -- request log ---------------------------------------------------------------------------------------
    def count_request(self, route: str, status: str) -> None:
        """Count one answered request under its route template (``POST /api/v2/interactions``)."""
        with self.lock:
            self.total_requests += 1
            by_status = self._request_counts.setdefault(route, {})
            by_status[status] = by_status.get(status, 0) + 1

    def requests_summary(self) -> dict[str, Any]:
        """Return ``{"total", "by_route", "tokens_issued"}``."""
        with self.lock:
            return {
                "total": self.total_requests,
                "by_route": {route: dict(counts) for route, counts in self._request_counts.items()},
                "tokens_issued": self.tokens_issued,
            }

    # -- records -------------------------------------------------------------------------------------------
    def store_record(self, record: StoredRecord) -> StoredRecord:
        """Commit a created record; count it under its idempotency key (so a real duplicate shows)."""
        with self.lock:
            self._records[record.id] = record
            if record.key is not None:
                counts = self._creates_by_key.setdefault(record.kind, {})
                counts[record.key] = counts.get(record.key, 0) + 1
        return record

    def get_record(self, record_id: str, kind: str | None = None) -> StoredRecord | None:
        """Return the record ``record_id`` (of ``kind`` when given)."""
        with self.lock:
            record = self._records.get(record_id)
        if record is None or (kind is not None and record.kind != kind):
            return None
        return record

    def iter_records(self, kind: str | None = None) -> Iterator[StoredRecord]:
        """Iterate over a snapshot of the records (of ``kind`` when given), oldest first."""
        with self.lock:
            records = list(self._records.values())
        return (record for record in records if kind is None or record.kind == kind)

    def render(self, record: StoredRecord) -> dict[str, Any]:
        """Return the API representation of ``record``."""
        return record.render(self.config.acd_delay_seconds)

    # -- interactions idempotency --------------------------------------------------------------------------
    def reserve_key(self, key: str, fingerprint: str) -> tuple[ReservationOutcome, StoredRecord | None]:
        """Reserve ``key`` for a create with payload ``fingerprint``, or tell why it cannot be."""
        with self.lock:
            entry = self._interaction_keys.get(key)
            if entry is None:
                self._interaction_keys[key] = _KeyEntry(fingerprint)
                return ReservationOutcome.NEW, None
            if entry.record_id is None:
                return ReservationOutcome.IN_FLIGHT, None
            if entry.fingerprint != fingerprint:
                return ReservationOutcome.MISMATCH, None
            return ReservationOutcome.REPLAY, self._records.get(entry.record_id)

    def commit_key(self, key: str, record: StoredRecord) -> StoredRecord:
        """Store ``record`` and bind it to the reserved ``key``."""
        with self.lock:
            self.store_record(record)
            entry = self._interaction_keys.get(key)
            if entry is not None:
                entry.record_id = record.id
        return record

    def key_in_flight(self, key: str) -> bool:
        """Whether a create of ``key`` is reserved and not yet committed (a request is being processed)."""
        with self.lock:
            entry = self._interaction_keys.get(key)
            return entry is not None and entry.record_id is None

    def release_key(self, key: str) -> None:
        """Forget a reservation whose create did not complete."""
        with self.lock:
            entry = self._interaction_keys.get(key)
            if entry is not None and entry.record_id is None:
                del self._interaction_keys[key]

    def refresh(self) -> None:
        """Run the registered refreshers (e.g. complete due bulk jobs) before a full read."""
        for refresher in list(self.refreshers):
            refresher()

    # -- admin ---------------------------------------------------------------------------------------------
    def ledger(self) -> dict[str, Any]:
        """Return every created record and per-key create counts.

        ``duplicates`` is the number of records beyond the first per (kind, key); ``duplicate_keys`` the
        number of keys that created more than one record. Both are 0 when nothing was created twice.
        """
        self.refresh()
        with self.lock:
            records = list(self._records.values())
            counts = {kind: dict(per_key) for kind, per_key in self._creates_by_key.items()}
        rendered = []
        for record in records:
            rendered.append(
                {
                    **self.render(record),
                    "kind": record.kind,
                    "idempotencyKey": record.key,
                    "state": record.acd_state(self.config.acd_delay_seconds),
                }
            )
        creates_by_key: dict[str, int] = defaultdict(int)
        by_kind: dict[str, dict[str, Any]] = {}
        for kind, per_key in counts.items():
            for key, count in per_key.items():
                creates_by_key[key] += count
            by_kind[kind] = {
                "records": 0,
                "creates_by_key": per_key,
                "duplicates": sum(count - 1 for count in per_key.values() if count > 1),
            }
        for record in records:
            by_kind.setdefault(record.kind, {"records": 0, "creates_by_key": {}, "duplicates": 0})
        for kind, summary in by_kind.items():
            summary["records"] = sum(1 for record in records if record.kind == kind)
        return {
            "records": rendered,
            "creates_by_key": dict(creates_by_key),
            "duplicates": sum(kind["duplicates"] for kind in by_kind.values()),
            "duplicate_keys": sum(1 for per_key in counts.values() for c in per_key.values() if c > 1),
            "by_kind": by_kind,
        }

    def reset(self) -> None:
        """Forget records, keys, request counts, tokens and quotas; restore the configured faults."""
        with self.lock:
            self._records.clear()
            self._creates_by_key.clear()
            self._interaction_keys.clear()
            self._request_counts.clear()
            self._tokens.clear()
            self._token_requests.clear()
            self._quota.clear()
            self.extras.clear()
            self.total_requests = 0
            self.tokens_issued = 0
            self.faults.replace(self.config.faults)
