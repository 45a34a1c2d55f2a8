"""Reading an Airflow connection from an event loop (the triggers' hooks), without blocking it.

``get_async_connection`` and ``get_async_extra_dejson`` of ``apache-airflow-providers-common-compat`` pick the
lookup that cannot deadlock on the running Airflow (before Airflow 3.3.2 the SDK's own ``aget_connection`` masks
secrets with a synchronous call to the supervisor). ``get_async_extra_dejson`` came in common-compat 1.23, which
needs Python 3.11; on Python 3.10 (common-compat 1.20) the extra is read the way 1.23 reads it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from airflow.providers.common.compat.connection import get_async_connection


async def _extra_dejson(conn: Any) -> dict[str, Any]:
    """The extra as common-compat 1.23 reads it: masked asynchronously where Airflow can, else in a thread."""
    if hasattr(conn, "aextra_dejson"):
        return dict(await conn.aextra_dejson())
    return dict(await asyncio.to_thread(lambda: conn.extra_dejson))  # one short lookup, never a wait


try:
    from airflow.providers.common.compat.connection import get_async_extra_dejson
except ImportError:  # common-compat before 1.23 (the newest release for Python 3.10)
    get_async_extra_dejson = _extra_dejson


async def aget_connection_and_extra(conn_id: str, hook: Any) -> tuple[Any, dict[str, Any]]:
    """The connection ``conn_id`` (looked up through ``hook``) and its parsed extra.

    :param conn_id: the Airflow connection id.
    :param hook: the hook whose ``aget_connection`` / ``get_connection`` resolves it.
    """
    conn = await get_async_connection(conn_id, hook=hook)
    return conn, dict(await get_async_extra_dejson(conn) or {})
