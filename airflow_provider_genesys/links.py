"""Operator extra link: the created record in the Genesys Cloud web UI (or the sandbox's record page)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class GenesysInteractionLink(BaseOperatorLink):
    """Opens the record the task created (``https://apps.<domain>/...``; the sandbox's ``/_sandbox/records/``)."""

    name = "Genesys record"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the URL the operator recorded while it ran (empty when nothing was created)."""
        return str(getattr(operator, "genesys_record_url", "") or "")


def record_url(apps_base: str, is_custom_host: bool, ui_path: str, record_id: str | None) -> str:
    """URL of a record: the Genesys UI path on ``apps.<domain>``, or the sandbox's record page."""
    if not record_id:
        return ""
    if is_custom_host:
        return f"{apps_base}/_sandbox/records/{record_id}"
    return f"{apps_base}{ui_path}"
