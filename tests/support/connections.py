"""Airflow connections (JSON form, as ``AIRFLOW_CONN_<ID>`` environment variables) pointing at the sandbox."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.canaries import CANARY_CLIENT_ID, CANARY_CLIENT_SECRET, CANARY_CRM_SECRET

#: Retries fast enough for tests (the defaults wait 3 s, 9 s, 27 s).
#: The sandbox indexes a new conversation for the participant-attribute search at once unless told otherwise.
FAST_RETRIES = {"backoff_initial": 0.05, "backoff_max": 0.2, "timeout": 10, "search_indexing_delay": 0}


def genesys_connection(
    base_url: str,
    *,
    client_id: str = CANARY_CLIENT_ID,
    client_secret: str = CANARY_CLIENT_SECRET,
    requests_per_minute: int = 60_000,
    **extra: Any,
) -> str:
    """A ``genesys_cloud`` connection to the sandbox at ``base_url`` (fast retries unless ``extra`` says otherwise)."""
    settings: dict[str, Any] = {"requests_per_minute": requests_per_minute, **FAST_RETRIES, **extra}
    return json.dumps(
        {
            "conn_type": "genesys_cloud",
            "login": client_id,
            "password": client_secret,
            "host": base_url,
            "extra": settings,
        }
    )


def crm_connection(
    base_url: str, *, secret: str | None = CANARY_CRM_SECRET, conn_type: str = "crm_webhook", **extra: Any
) -> str:
    """A ``crm_webhook`` connection to the CRM receiver at ``base_url``."""
    settings: dict[str, Any] = {"signing_secret": secret, "timeout": 5, **extra}
    if secret is None:
        settings.pop("signing_secret")
    return json.dumps({"conn_type": conn_type, "host": base_url, "extra": settings})


def conn_env_var(conn_id: str, value: str) -> dict[str, str]:
    """``{"AIRFLOW_CONN_<ID>": value}``."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": value}


@contextmanager
def environment(**variables: str) -> Iterator[None]:
    """Set environment variables for the block and restore the previous values after it."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
