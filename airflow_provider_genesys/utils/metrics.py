"""The provider's Airflow ``Stats`` metrics: sent wherever Airflow's ``[metrics]`` section sends Airflow's own.

============================  =======  ======================================  ==================================
name                          type     tags                                    what
============================  =======  ======================================  ==================================
``genesys.record.created``    counter  ``kind``, ``dag_id``, ``task_id``       a record created by this task
``genesys.record.replayed``   counter  ``kind``, ``dag_id``, ``task_id``       a record an earlier attempt created
``genesys.record.invalid``    counter  ``kind``, ``dag_id``, ``task_id``       an item refused by validation
``genesys.record.failed``     counter  ``kind``, ``dag_id``, ``task_id``       an item that failed after retries
``genesys.api.latency``       timer    ``method``, ``route``, ``status``       one HTTP round trip, in ms
``genesys.api.throttled``     counter  ``method``, ``route``                   one HTTP 429 answer
``genesys.api.pacing_wait``   timer    (none)                                  a wait for a pacing slot, in ms
============================  =======  ======================================  ==================================

``route`` is the path without its ``/api/v2/`` prefix, ids replaced by ``id`` and ``/`` by ``.``
(``taskmanagement.workitems.bulk.add.jobs.id``), so that it is one tag value per endpoint whatever the backend
(StatsD with InfluxDB tags allows no ``/``); ``status`` is ``error`` when no answer arrived. A metrics backend
that fails never fails a run: the error is logged at debug level.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from airflow.sdk.observability.stats import Stats

if TYPE_CHECKING:
    from airflow_provider_genesys.models.audit import AuditRecord

log = logging.getLogger(__name__)

RECORD_METRIC = "genesys.record"
LATENCY_METRIC = "genesys.api.latency"
THROTTLED_METRIC = "genesys.api.throttled"
PACING_WAIT_METRIC = "genesys.api.pacing_wait"

#: A path segment that is an id: a UUID, or any segment with a digit that is not a version (``v2``).
_ID_SEGMENT = re.compile(r"^(?:[0-9a-fA-F-]{32,36}|(?!v\d+$).*\d.*)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def route_tag(route: str) -> str:
    """``/api/v2/taskmanagement/workitems/bulk/add/jobs/3f2a…`` → ``taskmanagement.workitems.bulk.add.jobs.id``."""
    path = route.split("?", 1)[0].strip("/")
    path = re.sub(r"^api/v\d+/", "", path)
    segments = ["id" if _ID_SEGMENT.match(segment) else _UNSAFE.sub("_", segment) for segment in path.split("/")]
    return ".".join(segment for segment in segments if segment) or "root"


def record_outcome(audit: AuditRecord) -> None:
    """Count one item's outcome (``genesys.record.<outcome>``)."""
    _emit(
        Stats.incr,
        f"{RECORD_METRIC}.{audit.outcome}",
        tags={"kind": audit.kind, "dag_id": audit.dag_id, "task_id": audit.task_id},
    )


def request_latency(method: str, route: str, status: int | None, milliseconds: float) -> None:
    """Time one HTTP round trip (``status`` ``None``: no answer arrived)."""
    tags = {"method": method, "route": route_tag(route), "status": "error" if status is None else str(status)}
    _emit(Stats.timing, LATENCY_METRIC, milliseconds, tags=tags)


def throttled(method: str, route: str) -> None:
    """Count one HTTP 429 answer."""
    _emit(Stats.incr, THROTTLED_METRIC, tags={"method": method, "route": route_tag(route)})


def pacing_wait(milliseconds: float) -> None:
    """Time one wait for a pacing slot (nothing when the slot was free)."""
    if milliseconds >= 1.0:
        _emit(Stats.timing, PACING_WAIT_METRIC, milliseconds)


def _emit(method: Any, *args: Any, **kwargs: Any) -> None:
    try:
        method(*args, **kwargs)
    except Exception:  # a metrics backend never fails a run
        log.debug("Could not emit metric %s", args[0] if args else "?", exc_info=True)
