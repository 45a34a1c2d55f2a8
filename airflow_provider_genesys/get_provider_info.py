"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_genesys import __version__
from airflow_provider_genesys.hooks.regions import REGION_DOMAINS

#: Extras of a ``genesys_cloud`` connection that tune the hook's retry policy (defaults: the hook's).
_GENESYS_RETRY_FIELDS: dict[str, Any] = {
    "connect_timeout": {
        "label": "Connect timeout (seconds)",
        "description": "Time to establish one TCP/TLS connection.",
        "schema": {"type": ["number", "null"], "default": 10, "exclusiveMinimum": 0},
    },
    "max_attempts": {
        "label": "Max attempts",
        "description": "HTTP attempts per request for 502/503/504, timeouts and dropped connections "
        "(including the first).",
        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 1},
    },
    "max_throttle_attempts": {
        "label": "Max attempts when throttled",
        "description": "Attempts per request answered 429 (each waits Retry-After).",
        "schema": {"type": ["integer", "null"], "default": 10, "minimum": 1},
    },
    "backoff_initial": {
        "label": "Backoff, first (seconds)",
        "description": "First backoff ceiling; doubled per attempt, with jitter.",
        "schema": {"type": ["number", "null"], "default": 3, "minimum": 0},
    },
    "backoff_max": {
        "label": "Backoff, cap (seconds)",
        "description": "Largest backoff between two attempts.",
        "schema": {"type": ["number", "null"], "default": 27, "minimum": 0},
    },
    "token_retry_seconds": {
        "label": "Token retry budget (seconds)",
        "description": "How long fetching an OAuth token is retried when the login service fails transiently "
        "(empty: 60).",
        # No default here: Airflow masks the values of fields named like a token, so a default would show as ***.
        "schema": {"type": ["number", "null"], "minimum": 0},
    },
    "interactions_contract": {
        "label": "Host implements /api/v2/interactions",
        "description": "Only for a gateway on a Genesys region that offers this provider's /api/v2/interactions "
        "contract (kind='interaction'); Genesys Cloud itself does not.",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
}

#: Extras of a ``genesys_cloud`` connection that tune how callbacks and emails are looked up by key (POST
#: /api/v2/conversations/participants/attributes/search) when an earlier try's outcome is unknown.
_GENESYS_SEARCH_FIELDS: dict[str, Any] = {
    "search_indexing_delay": {
        "label": "Search indexing delay (seconds)",
        "description": "How long after a create the participant-attribute search is trusted to see the new "
        "conversation. Genesys documents no figure; until it has passed, 'not found' is not taken as 'absent'.",
        "schema": {"type": ["number", "null"], "default": 300, "minimum": 0, "maximum": 86400},
    },
    "search_lookback": {
        "label": "Search look-back (seconds)",
        "description": "How far back the search looks for a conversation an earlier try may have created "
        "(at most 30 days, the reported retention of participant attributes).",
        "schema": {"type": ["number", "null"], "default": 259200, "minimum": 60, "maximum": 2592000},
    },
    "search_max_wait": {
        "label": "Search, longest wait (seconds)",
        "description": "The longest a lookup waits for the indexing delay to pass; beyond it the outcome stays "
        "unknown (0: never wait).",
        "schema": {"type": ["number", "null"], "default": 360, "minimum": 0, "maximum": 3600},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata: modules, connection type, connection form fields."""
    return {
        "package-name": "airflow-provider-genesys",
        "name": "Genesys Cloud",
        "description": "Create Genesys Cloud interaction records exactly once from Airflow DAGs, "
        "validated, audited and synchronised to a CRM.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Genesys Cloud",
                "external-doc-url": "https://developer.genesys.cloud/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Genesys Cloud",
                "python-modules": [
                    "airflow_provider_genesys.hooks.genesys_cloud",
                    "airflow_provider_genesys.hooks.genesys_cloud_async",
                    "airflow_provider_genesys.hooks.crm",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": "Genesys Cloud",
                "python-modules": [
                    "airflow_provider_genesys.operators.interactions",
                    "airflow_provider_genesys.operators.crm",
                    "airflow_provider_genesys.operators.workitem_jobs",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Genesys Cloud",
                "python-modules": ["airflow_provider_genesys.sensors.crm"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Genesys Cloud",
                "python-modules": [
                    "airflow_provider_genesys.triggers.crm",
                    "airflow_provider_genesys.triggers.workitem_jobs",
                ],
            }
        ],
        "extra-links": ["airflow_provider_genesys.links.GenesysInteractionLink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_genesys.hooks.genesys_cloud.GenesysCloudHook",
                "hook-name": "Genesys Cloud",
                "connection-type": "genesys_cloud",
                "conn-fields": {
                    "region": {
                        "label": "Region",
                        "description": "Genesys Cloud region name, or a domain such as mypurecloud.ie.",
                        "schema": {
                            "type": ["string", "null"],
                            "default": "us-east-1",
                            "examples": list(REGION_DOMAINS),
                            "enum": [*REGION_DOMAINS, *REGION_DOMAINS.values(), None],
                        },
                    },
                    "requests_per_minute": {
                        "label": "Requests per minute",
                        "description": "Client-side pacing; Genesys' default quota is 300 per token.",
                        "schema": {"type": ["integer", "null"], "default": 300, "minimum": 1},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "description": "Read timeout of one HTTP request.",
                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 1},
                    },
                    **_GENESYS_RETRY_FIELDS,
                    **_GENESYS_SEARCH_FIELDS,
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema"],
                    "relabeling": {"login": "Client ID", "password": "Client Secret"},
                    "placeholders": {
                        "host": "leave empty for the region's hosts; http://127.0.0.1:PORT for the sandbox",
                        "port": "only with a custom host that names no port",
                        "login": "OAuth client id (client credentials grant)",
                        "password": "OAuth client secret",
                    },
                },
            },
            {
                "hook-class-name": "airflow_provider_genesys.hooks.crm.CrmWebhookHook",
                "hook-name": "CRM webhook (Standard Webhooks)",
                "connection-type": "crm_webhook",
                "conn-fields": {
                    "endpoint": {
                        "label": "Endpoint path",
                        "description": "Path of the CRM's webhook receiver, e.g. /crm/interactions.",
                        "schema": {"type": ["string", "null"], "default": "/crm/interactions"},
                    },
                    "signing_secret": {
                        "label": "Signing secret",
                        "description": "Standard Webhooks secret (whsec_...).",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 1},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["login"],
                    "relabeling": {
                        "host": "CRM base URL",
                        "schema": "Scheme",
                        "password": "Signing secret (if not in the extra)",
                    },
                    "placeholders": {
                        "host": "https://crm.example.com",
                        "schema": "https (used when the base URL names no scheme)",
                        "port": "only when the base URL names no port",
                        "password": "whsec_... (the Signing secret field below takes precedence)",
                    },
                },
            },
        ],
        "config": {
            "genesys": {
                "description": "Settings of the Genesys Cloud provider.",
                "options": {
                    "state_store": {
                        "description": "Where each task instance keeps what it sent and what Genesys made of it "
                        "(its send records, the bulk add jobs it queued), so that a retry or a clear on any worker "
                        "resumes without a duplicate: 'task_state_store' (default) is Airflow's task state store, "
                        "kept by the API server in the metadata database; 'local_files' keeps one JSON file per "
                        "value under state_dir, which must then be storage every worker shares.\n",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "local_files",
                        "default": "task_state_store",
                    },
                    "state_dir": {
                        "description": "Directory (or ObjectStoragePath URI) of the provider's run-scoped files: "
                        "audit files and per-item results written without an audit_path, and the task state when "
                        "state_store is 'local_files' (a local path or shared mount then). Empty means "
                        "$AIRFLOW_HOME/genesys. The environment variable GENESYS_PROVIDER_STATE_DIR, when set, "
                        "takes precedence.\n",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/shared/airflow/genesys",
                        "default": "",
                    },
                    "xcom_max_bytes": {
                        "description": "The XCom budget of one run of any Genesys operator, in bytes (at least "
                        "4096): its return value and every key it pushes, counted as the JSON text XCom stores. "
                        "Per-item results, audit records and CRM receipts stay in XCom while they fit; beyond it "
                        "they go to JSON-lines files (beside the operator's audit_path, else in state_dir) and XCom "
                        "holds the files' paths.\n",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "262144",
                        "default": "65536",
                    },
                },
            },
        },
    }
