"""Canary credentials: values that must never appear in a log line, an XCom value, an audit record or an exception."""

from __future__ import annotations

import base64

#: The OAuth client of every Genesys connection the tests define.
CANARY_CLIENT_ID = "canary-client-7d1e"
CANARY_CLIENT_SECRET = "canary-secret-Zq81xWv4Lm2P"
#: The CRM connection's Standard Webhooks signing secret, and its base64 part (just as sensitive).
CANARY_CRM_SECRET = "whsec_" + base64.b64encode(b"canary-crm-secret-0123456789").decode()
CANARY_CRM_PARTS = (CANARY_CRM_SECRET, CANARY_CRM_SECRET.removeprefix("whsec_"))


def assert_no_secret(*texts: str) -> None:
    """Fail when any text holds the CRM signing secret or the Genesys client secret."""
    for text in texts:
        for part in (*CANARY_CRM_PARTS, CANARY_CLIENT_SECRET):
            assert part not in text, "a canary secret leaked"
