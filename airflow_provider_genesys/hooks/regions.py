"""Genesys Cloud regions: a region name or domain → API, login and web-UI base URLs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from airflow_provider_genesys.exceptions import GenesysConfigurationError

#: Region name → Genesys Cloud domain: the official SDK's ``PureCloudRegionHosts`` (``api.<domain>``), all 18.
REGION_DOMAINS: dict[str, str] = {
    "us-east-1": "mypurecloud.com",
    "eu-west-1": "mypurecloud.ie",
    "ap-southeast-2": "mypurecloud.com.au",
    "ap-northeast-1": "mypurecloud.jp",
    "eu-central-1": "mypurecloud.de",
    "us-west-2": "usw2.pure.cloud",
    "ca-central-1": "cac1.pure.cloud",
    "ap-northeast-2": "apne2.pure.cloud",
    "eu-west-2": "euw2.pure.cloud",
    "ap-south-1": "aps1.pure.cloud",
    "us-east-2": "use2.us-gov-pure.cloud",
    "sa-east-1": "sae1.pure.cloud",
    "me-central-1": "mec1.pure.cloud",
    "ap-northeast-3": "apne3.pure.cloud",
    "eu-central-2": "euc2.pure.cloud",
    "mx-central-1": "mxc1.pure.cloud",
    "ap-southeast-1": "apse1.pure.cloud",
    "eusc-de-east-1": "edee1.eusc-pure.cloud",
}

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Endpoints:
    """Where to send API calls, token requests, and where a person views a record.

    :param api_base: base URL of the Platform API (``https://api.<domain>``).
    :param login_base: base URL of the OAuth server (``https://login.<domain>``).
    :param apps_base: base URL of the web UI (``https://apps.<domain>``); the sandbox's own URL for the sandbox.
    :param is_custom_host: True when a single ``host`` overrides all three (the local sandbox, a gateway).
    """

    api_base: str
    login_base: str
    apps_base: str
    is_custom_host: bool = False


def domain_for(region: str | None) -> str:
    """Return the Genesys domain of a region name (``eu-west-1``) or a domain (``mypurecloud.ie``)."""
    value = (region or DEFAULT_REGION).strip().lower()
    if value in REGION_DOMAINS:
        return REGION_DOMAINS[value]
    if value.startswith(("api.", "login.", "apps.")):
        value = value.split(".", 1)[1]
    if value in REGION_DOMAINS.values() or ("." in value and "/" not in value and " " not in value):
        return value
    known = ", ".join(REGION_DOMAINS)
    raise GenesysConfigurationError(
        f"Unknown Genesys Cloud region {region!r}: use one of {known}, or a domain such as 'mypurecloud.ie'."
    )


def resolve_endpoints(region: str | None = None, host: str | None = None) -> Endpoints:
    """Resolve the base URLs for a connection.

    :param region: region name or domain; default ``us-east-1``.
    :param host: optional single base URL (``http://127.0.0.1:8080``) serving both login and API routes.
    """
    if host:
        base = host.strip()
        if "://" not in base:
            base = f"https://{base}"
        base = base.rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GenesysConfigurationError(f"Connection host {host!r} is not an http(s) URL.")
        return Endpoints(api_base=base, login_base=base, apps_base=base, is_custom_host=True)
    name = (region or DEFAULT_REGION).strip().lower()
    domain = REGION_DOMAINS.get(name) or domain_for(name)
    return Endpoints(
        api_base=f"https://api.{domain}",
        login_base=f"https://login.{domain}",
        apps_base=f"https://apps.{domain}",
    )
