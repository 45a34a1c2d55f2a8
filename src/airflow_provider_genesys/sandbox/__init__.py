"""A local emulator of the Genesys Cloud API parts this provider uses, plus a CRM receiver.

Run it with ``genesys-sandbox`` (or ``python -m airflow_provider_genesys.sandbox``), in tests with
:class:`SandboxServer` (a background thread) or :class:`SandboxProcess` (a child process).
"""

from __future__ import annotations

from airflow_provider_genesys.sandbox.app import SandboxApp, create_app
from airflow_provider_genesys.sandbox.config import DEFAULT_CRM_SIGNING_SECRET, SandboxConfig
from airflow_provider_genesys.sandbox.faults import FaultConfig
from airflow_provider_genesys.sandbox.seeds import (
    ORGANIZATION_ID,
    QUEUE_BILLING_ID,
    QUEUE_SALES_ID,
    QUEUE_SUPPORT_ID,
    SKILL_BILLING_ID,
    SKILL_ENGLISH_ID,
    SKILL_LEGACY_ID,
    SKILL_SPANISH_ID,
    WORKBIN_ID,
    WORKTYPE_ID,
)
from airflow_provider_genesys.sandbox.server import SandboxProcess, SandboxServer

__all__ = [
    "DEFAULT_CRM_SIGNING_SECRET",
    "ORGANIZATION_ID",
    "QUEUE_BILLING_ID",
    "QUEUE_SALES_ID",
    "QUEUE_SUPPORT_ID",
    "SKILL_BILLING_ID",
    "SKILL_ENGLISH_ID",
    "SKILL_LEGACY_ID",
    "SKILL_SPANISH_ID",
    "WORKBIN_ID",
    "WORKTYPE_ID",
    "FaultConfig",
    "SandboxApp",
    "SandboxConfig",
    "SandboxProcess",
    "SandboxServer",
    "create_app",
]
