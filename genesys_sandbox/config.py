"""Settings of a sandbox instance."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from genesys_sandbox.faults import FaultConfig

#: A valid Standard Webhooks secret (``whsec_`` + base64 of 24 fixed bytes) shared with example DAGs.
DEFAULT_CRM_SIGNING_SECRET = "whsec_" + base64.b64encode(b"genesys-sandbox-crm-key!").decode("ascii")

#: Genesys' documented maximum request body.
MAX_BODY_BYTES = 512_000


@dataclass
class SandboxConfig:
    """Everything that shapes a sandbox instance; the defaults mirror Genesys Cloud where it is documented.

    :param client_id: the one OAuth client accepted by ``/oauth/token``.
    :param client_secret: its secret.
    :param token_ttl_seconds: lifetime of issued tokens (``expires_in``).
    :param quota_per_minute: API requests allowed per token in any sliding 60 s window.
    :param token_rate_per_minute: token requests allowed in any sliding 60 s window (excess: HTTP 400).
    :param acd_delay_seconds: time after which the simulated ACD assigns a queued record.
    :param processing_ms: time a create stays "in flight" between reserving its key and committing it.
    :param faults: initial fault settings (also restored by ``POST /_sandbox/reset``).
    :param max_body_bytes: larger request bodies are answered 413.
    :param bulk_job_start_seconds: time a queued bulk add job stays ``Queued`` before ``Running``.
    :param bulk_job_process_seconds: time a bulk add job stays ``Running`` before it ends (``Succeeded``).
    :param bulk_max_entities: maximum entities per bulk add job (Genesys documents 50).
    :param crm_signing_secret: Standard Webhooks secret of the CRM receiver.
    :param crm_mode: ``sync`` (answer 200) or ``async`` (answer 202 and a status URL).
    :param crm_async_delay_seconds: time an async CRM delivery takes to complete.
    :param crm_failure_rate: fraction of CRM deliveries answered with an error.
    """

    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    token_ttl_seconds: int = 86_399
    quota_per_minute: int = 300
    token_rate_per_minute: int = 120
    acd_delay_seconds: float = 2.0
    processing_ms: int = 0
    faults: FaultConfig = field(default_factory=FaultConfig)
    max_body_bytes: int = MAX_BODY_BYTES
    bulk_job_start_seconds: float = 0.2
    bulk_job_process_seconds: float = 0.5
    bulk_max_entities: int = 50
    crm_signing_secret: str = DEFAULT_CRM_SIGNING_SECRET
    crm_mode: str = "sync"
    crm_async_delay_seconds: float = 1.0
    crm_failure_rate: float = 0.0
