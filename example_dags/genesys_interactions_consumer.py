"""Scheduled on Genesys interactions: runs after each bulk create that succeeded, with that run's counts.

``genesys_bulk_interactions`` declares the ``genesys_interactions`` Asset as an outlet of its bulk create task; the
bulk operator puts the run's counts (``rows``, ``written``, ``created``, ``replayed``, ``invalid``, ``failed``) in
the extra of the Asset event. This DAG reads them from ``triggering_asset_events`` — for instance to start a report
only when something new was created.
"""

from __future__ import annotations

import json
from typing import Any

import pendulum
from airflow.sdk import Asset, dag, task

#: The same Asset as the producer's (assets are identified by name and URI).
GENESYS_INTERACTIONS = Asset(name="genesys_interactions", uri="genesys://mypurecloud.com/interaction")


@dag(
    dag_id="genesys_interactions_consumer",
    schedule=[GENESYS_INTERACTIONS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["genesys", "example"],
)
def genesys_interactions_consumer() -> None:
    @task
    def report_new_interactions(triggering_asset_events: Any = None) -> dict[str, int]:
        totals: dict[str, int] = {}
        for events in (triggering_asset_events or {}).values():
            for event in events:
                for name, value in (event.extra or {}).items():
                    if isinstance(value, int):
                        totals[name] = totals.get(name, 0) + value
        print("Interactions since the last run:", json.dumps(totals, sort_keys=True))
        return totals

    report_new_interactions()


genesys_interactions_consumer_dag = genesys_interactions_consumer()
