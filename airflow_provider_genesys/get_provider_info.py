"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_genesys import __version__
from airflow_provider_genesys.hooks.regions import REGION_DOMAINS


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
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"login": "Client ID", "password": "Client Secret"},
                    "placeholders": {
                        "host": "leave empty for the region's hosts; http://127.0.0.1:PORT for the sandbox",
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
                    "hidden-fields": ["schema", "port", "login", "password"],
                    "relabeling": {"host": "CRM base URL"},
                    "placeholders": {"host": "https://crm.example.com"},
                },
            },
        ],
    }
