"""A local emulator of the Genesys Cloud API parts this provider uses, plus a CRM receiver.

Run it with ``genesys-sandbox`` (or ``python -m genesys_sandbox``), in tests with
:class:`SandboxServer` (a background thread) or :class:`SandboxProcess` (a child process).
"""

from __future__ import annotations

from genesys_sandbox.app import SandboxApp, create_app
from genesys_sandbox.config import DEFAULT_CRM_SIGNING_SECRET, SandboxConfig
from genesys_sandbox.faults import FaultConfig
from genesys_sandbox.seeds import (
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
from genesys_sandbox.server import SandboxProcess, SandboxServer

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
