"""Operators that create Genesys Cloud records exactly once: one at a time, or thousands in one task."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException
from pydantic import BaseModel

from airflow_provider_genesys.creation.bulk_run import BulkOptions, BulkResult, BulkRun
from airflow_provider_genesys.creation.engine import CreationEngine, invalid_audit, prepare_item
from airflow_provider_genesys.creation.inputs import BulkInput, as_payload, checked_external_id
from airflow_provider_genesys.creation.items import KindSpec, PreparedItem
from airflow_provider_genesys.creation.kinds import get_kind
from airflow_provider_genesys.creation.routing import RoutingValidator
from airflow_provider_genesys.creation.state import TaskState, state_store_for
from airflow_provider_genesys.creation.task import TaskIdentity
from airflow_provider_genesys.exceptions import (
    FieldError,
    GenesysApiError,
    GenesysBulkCreateError,
    InteractionValidationError,
    OutcomeUnknownError,
    PayloadChangedError,
)
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook
from airflow_provider_genesys.lineage import (
    RunCounts,
    genesys_domain,
    genesys_uri,
    operator_lineage,
    record_outlet_events,
)
from airflow_provider_genesys.links import GenesysInteractionLink, record_url
from airflow_provider_genesys.models.audit import AUDIT_SUMMARY_XCOM_KEY, AUDIT_XCOM_KEY, AuditRecord
from airflow_provider_genesys.utils import metrics
from airflow_provider_genesys.utils.audit_files import JsonLinesWriter, probe_location, resolve_audit_file

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context


class _GenesysCreateBase(BaseOperator):
    """What both create operators share: the hook, the kind, and where audit records go."""

    operator_extra_links = (GenesysInteractionLink(),)
    genesys_record_url: str = ""
    #: What the last run read and wrote (set by ``execute``; read by the OpenLineage methods).
    _run_counts: RunCounts | None = None

    def __init__(
        self,
        *,
        genesys_conn_id: str = GenesysCloudHook.default_conn_name,
        kind: str = "interaction",
        audit_path: str | None = None,
        validate_routing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.genesys_conn_id = genesys_conn_id
        self.kind = kind
        self.audit_path = audit_path
        self.validate_routing = validate_routing

    @cached_property
    def hook(self) -> GenesysCloudHook:
        """The Genesys hook (built on first use, never in ``__init__``)."""
        return GenesysCloudHook(genesys_conn_id=self.genesys_conn_id)

    @property
    def spec(self) -> KindSpec:
        """The row of the kinds table for ``kind``, once the connection is known to be able to use it."""
        spec = get_kind(str(self.kind))
        problem = spec.connection_problem(self.hook) if spec.connection_problem else None
        if problem:
            raise AirflowFailException(problem)  # a retry cannot change the connection
        return spec

    @cached_property
    def routing_validator(self) -> RoutingValidator:
        """Checks queues and skills once per task run (``validate_routing=True``)."""
        return RoutingValidator(self.hook)

    def _check_routing(self, spec: KindSpec, item: PreparedItem, label: str | None) -> None:
        """Raise the routing problems of ``item`` as validation errors (``validate_routing=True`` only)."""
        if not self.validate_routing:
            return
        problems = self.routing_validator.problems(spec.routing_refs(item.body))
        if problems:
            raise InteractionValidationError(errors=problems, item=label, kind=spec.name)

    @staticmethod
    def _load_state(context: Context, spec: KindSpec, task: TaskIdentity) -> TaskState:
        """What earlier executions of this task instance did (read once, before anything is sent)."""
        return TaskState.load(state_store_for(context, task), kind=spec.name, try_number=task.try_number)

    def _probe_audit_path(self, task: TaskIdentity) -> None:
        """Check, before anything is sent, that this try's audit file can be written."""
        if self.audit_path:
            target = resolve_audit_file(str(self.audit_path), task.scope, task.try_number)
            probe_location(target, what="audit_path")

    def _client_id(self) -> str | None:
        try:
            return self.hook.client_id
        except Exception:  # a broken connection must not hide the validation report
            return None

    def _log_audit(self, audit: AuditRecord) -> None:
        self.log.info("genesys_audit %s", audit.to_json_line())

    def _lineage_inputs(self) -> list[str]:
        """URIs of what the run read (none: the payload is inline)."""
        return []

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """OpenLineage: the source read, and ``genesys://<domain>/<kind>`` with row and outcome counts."""
        try:
            domain = genesys_domain(self.hook.endpoints)
        except Exception:  # an unusable connection: there is no output to name
            return None
        return operator_lineage(self._lineage_inputs(), genesys_uri(domain, self.spec.name), self._run_counts)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage | None:
        """OpenLineage of a failed run: what it wrote before failing counts too."""
        return self.get_openlineage_facets_on_complete(task_instance)

    def _record_url(self, record_id: str | None) -> str:
        endpoints = self.hook.endpoints
        return record_url(
            endpoints.apps_base,
            endpoints.is_custom_host,
            self.spec.ui_path(record_id or ""),
            record_id,
        )


class GenesysCreateInteractionOperator(_GenesysCreateBase):
    """Validate one record and create it in Genesys Cloud exactly once.

    The idempotency key is derived from the task instance (dag id, task id, run id, map index), the kind and the
    item's identity (``external_id`` when given, else the canonical payload), so Airflow retries and a clear in
    the UI reuse the key and never create a second record; a new DAG run creates a new one.

    Returns the audit record — the record's id (``interaction_id``), its idempotency key, outcome, status,
    correlation id and timings, never the record's content — and pushes it under XCom key ``genesys_audit`` too;
    the same record is logged as one JSON line and, with ``audit_path``, appended to a file. The record as Genesys
    returned it (its personal data included) is the return value only with ``return_record=True``.

    :param interaction: the request body (dict or pydantic model) of the chosen ``kind``. Templated.
    :param genesys_conn_id: Airflow connection of type ``genesys_cloud``.
    :param kind: ``interaction`` (default, ``/api/v2/interactions``) or another row of the kinds table. Templated.
    :param external_id: the item's own stable id (a CRM case id...); becomes its identity in the key. Templated.
    :param audit_path: file (``*.jsonl``) or directory/URI that receives audit records of every try. Templated.
    :param validate_routing: before creating, check that the record's queue and skills exist in Genesys and
        the skills are active (one lookup each per task run); a problem fails the task like invalid input.
    :param return_record: return the whole record as Genesys answered it instead of the audit record.
    """

    template_fields: Sequence[str] = ("interaction", "external_id", "kind", "audit_path", "genesys_conn_id")
    template_fields_renderers = {"interaction": "json"}
    ui_color = "#ff4f1f"

    def __init__(
        self,
        *,
        interaction: dict[str, Any] | BaseModel | str,
        genesys_conn_id: str = GenesysCloudHook.default_conn_name,
        kind: str = "interaction",
        external_id: str | None = None,
        audit_path: str | None = None,
        validate_routing: bool = False,
        return_record: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            genesys_conn_id=genesys_conn_id,
            kind=kind,
            audit_path=audit_path,
            validate_routing=validate_routing,
            **kwargs,
        )
        self.interaction = interaction
        self.external_id = external_id
        self.return_record = return_record

    def _payload(self) -> Any:
        payload = as_payload(self.interaction)
        if isinstance(payload, str):
            # a Jinja-rendered JSON string (e.g. "{{ params.interaction | tojson }}")
            try:
                payload = json.loads(payload)
            except (ValueError, RecursionError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                raise InteractionValidationError(
                    errors=[FieldError(path="", message=f"not a JSON object ({reason})")], kind=str(self.kind)
                ) from None
        return payload

    def execute(self, context: Context) -> dict[str, Any]:
        task = TaskIdentity.from_context(context)
        spec = self.spec
        self._probe_audit_path(task)
        state = self._load_state(context, spec, task)
        external_id = None
        try:
            external_id = checked_external_id(self.external_id)
            item = prepare_item(spec, self._payload(), task, external_id=external_id)
            self._check_routing(spec, item, None)
        except InteractionValidationError as error:
            audit = invalid_audit(
                task, spec, error, position=None, external_id=external_id, oauth_client_id=self._client_id()
            )
            self._emit(context, task, audit)
            self._run_counts = RunCounts.of_one("invalid")
            raise AirflowFailException(f"{error}\nNo create request was sent to Genesys.") from None

        engine = CreationEngine(self.hook, spec, task, logger=self.log, state=state)
        resumed = task.try_number > 1 or state.resumed
        outcome = engine.create_one(item, outcome_unknown=resumed)
        self._emit(context, task, outcome.audit)
        self._run_counts = RunCounts.of_one(outcome.audit.outcome)
        if outcome.audit.outcome == "failed":
            failure = outcome.error or GenesysApiError(status=None, message=outcome.audit.error or "")
            if isinstance(failure, (PayloadChangedError, OutcomeUnknownError)):
                # no later try can do better: retrying would only repeat this answer
                raise AirflowFailException(str(failure)) from None
            raise failure
        self.genesys_record_url = self._record_url(outcome.audit.interaction_id)
        self.log.info(
            "%s %s %s (key %s).",
            "Created" if outcome.audit.outcome == "created" else "Replayed",
            spec.name,
            outcome.audit.interaction_id,
            item.key,
        )
        return dict(outcome.record or {}) if self.return_record else outcome.audit.to_xcom()

    def _emit(self, context: Context, task: TaskIdentity, audit: AuditRecord) -> None:
        self._log_audit(audit)
        metrics.record_outcome(audit)
        context["ti"].xcom_push(key=AUDIT_XCOM_KEY, value=audit.to_xcom())
        if self.audit_path:
            with JsonLinesWriter(resolve_audit_file(str(self.audit_path), task.scope, task.try_number)) as writer:
                writer.write(audit.to_json_line())


class GenesysBulkCreateInteractionsOperator(_GenesysCreateBase):
    """Validate and create many records in one task: bounded concurrency, paced, exactly once, resumable.

    Items come from ``interactions`` (a list of dicts, e.g. an upstream XCom) or ``source`` (a JSON-lines or CSV
    file, read streaming). Each item's key is derived like the single operator's, with the item identity = its
    ``external_id_field`` value, else its position plus canonical payload. Duplicate external ids are invalid.

    ``on_invalid="fail"`` validates everything first and sends nothing if any item is invalid;
    ``on_invalid="skip"`` creates the valid items, reports the invalid ones, and fails the task at the end unless
    ``max_invalid`` (a count, or a fraction below 1 such as ``0.01``) allows them. Items that still fail after the
    hook's retries are reported and fail the task at the end; a retry or clear re-sends only what the key makes
    safe to re-send (a replay costs at most one request, and nothing is created twice).

    Returns a :class:`~airflow_provider_genesys.models.audit.RunSummary` dict. While the run's XCom fits
    ``[genesys] xcom_max_bytes`` (64 KB by default: a few dozen items), per-item results are in it (``items``) and
    the audit records are in XCom ``genesys_audit``; beyond that, both go to JSON-lines files (beside
    ``audit_path``, else in the state directory) whose paths are in the summary (``items_path``, ``audit_path``)
    and in ``genesys_audit``.

    :param interactions: list of request bodies (templated; an XComArg works).
    :param source: path or URI of a ``*.jsonl`` / ``*.csv`` file (templated).
    :param genesys_conn_id: Airflow connection of type ``genesys_cloud``.
    :param kind: the kind of record (templated).
    :param max_concurrency: requests in flight at once.
    :param requests_per_minute: pacing budget; default: the connection's (300).
    :param on_invalid: ``fail`` or ``skip``.
    :param max_invalid: with ``skip``, how many invalid items are tolerated (count, or fraction < 1).
    :param external_id_field: the field holding an item's own id; it is removed from the body before validation.
    :param audit_path: file (``*.jsonl``) or directory/URI for audit records and per-item results (templated).
    :param progress_interval: seconds between progress lines in the log.
    :param resume: skip the items an earlier execution of this task instance saw created (kept in the task's
        state); they are reported ``replayed`` without a request. Without that state (``resume=False``, or a
        deployment that clears it on success) they are resolved with Genesys by their keys instead.
    :param validate_routing: check every item's queue and skills in Genesys during validation (each id is
        looked up once per task run); items with a problem are invalid items.
    """

    template_fields: Sequence[str] = (
        "interactions",
        "source",
        "kind",
        "audit_path",
        "genesys_conn_id",
        "external_id_field",
    )
    ui_color = "#ff4f1f"

    def __init__(
        self,
        *,
        interactions: list[dict[str, Any]] | str | None = None,
        source: str | None = None,
        genesys_conn_id: str = GenesysCloudHook.default_conn_name,
        kind: str = "interaction",
        max_concurrency: int = 8,
        requests_per_minute: int | None = None,
        on_invalid: str = "fail",
        max_invalid: int | float = 0,
        external_id_field: str = "external_id",
        audit_path: str | None = None,
        progress_interval: float = 10.0,
        resume: bool = True,
        validate_routing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            genesys_conn_id=genesys_conn_id,
            kind=kind,
            audit_path=audit_path,
            validate_routing=validate_routing,
            **kwargs,
        )
        if on_invalid not in ("fail", "skip"):
            raise ValueError(f"on_invalid must be 'fail' or 'skip', not {on_invalid!r}")
        if interactions is None and source is None:
            raise ValueError("Give either interactions= or source=")
        if interactions is not None and source is not None:
            raise ValueError("Give interactions= or source=, not both")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.interactions = interactions
        self.source = source
        self.max_concurrency = max_concurrency
        self.requests_per_minute = requests_per_minute
        self.on_invalid = on_invalid
        self.max_invalid = max_invalid
        self.external_id_field = external_id_field
        self.progress_interval = progress_interval
        self.resume = resume

    @cached_property
    def hook(self) -> GenesysCloudHook:
        """The Genesys hook, sized for ``max_concurrency`` threads."""
        return GenesysCloudHook(
            genesys_conn_id=self.genesys_conn_id,
            requests_per_minute=self.requests_per_minute,
            pool_maxsize=max(32, self.max_concurrency * 2),
        )

    def _bulk_run(self, context: Context, task: TaskIdentity) -> BulkRun:
        spec = self.spec
        return BulkRun(
            self.hook,
            spec,
            task,
            BulkInput(interactions=self.interactions, source=self.source, external_id_field=self.external_id_field),
            options=BulkOptions(
                max_concurrency=self.max_concurrency,
                on_invalid=self.on_invalid,
                max_invalid=self.max_invalid,
                audit_path=self.audit_path,
                progress_interval=self.progress_interval,
                resume=self.resume,
            ),
            state=self._load_state(context, spec, task),
            client_id=self._client_id(),
            check=self._check_routing if self.validate_routing else None,
            logger=self.log,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        run = self._bulk_run(context, TaskIdentity.from_context(context))
        report = run.validate()
        result = run.create(report)
        self._push(context, result)
        self._report(context, result)
        if result.refused:
            raise AirflowFailException(result.message)
        if result.problems and not result.retry_may_help:
            # invalid input, 4xx rejections and unknown outcomes stay as they are on a retry
            raise AirflowFailException(result.message + "\nA retry cannot change this outcome; not retrying.")
        if result.problems:
            raise GenesysBulkCreateError(result.message, summary=result.summary_xcom())
        return result.summary_xcom()

    def _lineage_inputs(self) -> list[str]:
        return [str(self.source)] if self.source else []

    def _report(self, context: Context, result: BulkResult) -> None:
        """Keep the run's counts for lineage; give them to the Asset events of the ``outlets``."""
        self._run_counts = RunCounts.of_create(result.summary) if result.summary is not None else None
        record_outlet_events(context, self.outlets, self._run_counts)

    @staticmethod
    def _push(context: Context, result: BulkResult) -> None:
        ti = context["ti"]
        if result.summary is not None:
            summary = result.summary_xcom()
            ti.xcom_push(key=AUDIT_SUMMARY_XCOM_KEY, value={k: v for k, v in summary.items() if k != "items"})
        ti.xcom_push(key=AUDIT_XCOM_KEY, value=result.audits_xcom)
