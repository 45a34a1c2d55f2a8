"""Who is creating: the task instance's identity, the input of every idempotency key and state location."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_genesys.creation.keys import derive_idempotency_key
from airflow_provider_genesys.utils.audit_files import safe_segment


@dataclass(frozen=True)
class TaskIdentity:
    """The task instance's ids (the inputs of every idempotency key) and its try number."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    try_number: int

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> TaskIdentity:
        """Read the ids from an Airflow 3 task context (``ti`` and ``run_id``; top-level ``dag_id`` is None)."""
        ti = context["ti"]
        run_id = context.get("run_id") or getattr(ti, "run_id", None)
        map_index = getattr(ti, "map_index", -1)
        return cls(
            dag_id=str(ti.dag_id),
            task_id=str(ti.task_id),
            run_id=str(run_id),
            map_index=-1 if map_index is None else int(map_index),
            try_number=int(getattr(ti, "try_number", 1) or 1),
        )

    @property
    def scope(self) -> str:
        """``<dag_id>/<run_id>/<task_id>[@<map_index>]``, each id percent-encoded into one segment: this task's folder.

        No id can leave the folder (``..`` becomes ``%2E.``, ``/`` becomes ``%2F``) or share another's (the
        encoding is reversible, and the ``@`` before a map index never comes out of it).
        """
        task_part = safe_segment(self.task_id) + ("" if self.map_index < 0 else f"@{self.map_index}")
        return "/".join((safe_segment(self.dag_id), safe_segment(self.run_id), task_part))

    def audit_fields(self) -> dict[str, Any]:
        """The task's ids as audit-record fields."""
        return {
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "run_id": self.run_id,
            "map_index": self.map_index,
            "try_number": self.try_number,
        }

    def key_for(self, kind: str, identity: Any) -> str:
        """The idempotency key of one item of this task instance."""
        return derive_idempotency_key(
            dag_id=self.dag_id,
            task_id=self.task_id,
            run_id=self.run_id,
            map_index=self.map_index,
            kind=kind,
            item=identity,
        )


def describe_item(position: int | None, external_id: str | None) -> str:
    """Human label of an item for error messages: ``item 3 (external_id='CASE-9')``."""
    label = "the interaction" if position is None else f"item {position}"
    return f"{label} (external_id={external_id!r})" if external_id is not None else label
