"""The region table is the SDK's ``PureCloudRegionHosts``, and the connection form offers every region."""

from __future__ import annotations

from airflow_provider_genesys.get_provider_info import get_provider_info
from airflow_provider_genesys.hooks.regions import REGION_DOMAINS, resolve_endpoints
from tests.contract.sdk_oracle import region_hosts


def test_the_region_table_equals_the_sdk_region_hosts() -> None:
    provider = {region: f"https://api.{domain}" for region, domain in REGION_DOMAINS.items()}
    assert provider == region_hosts()


def test_every_sdk_region_resolves_to_its_api_host() -> None:
    for region, api_host in region_hosts().items():
        assert resolve_endpoints(region=region).api_base == api_host, region


def test_the_connection_form_offers_every_sdk_region() -> None:
    genesys = next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == "genesys_cloud")
    enum = genesys["conn-fields"]["region"]["schema"]["enum"]
    for region, api_host in region_hosts().items():
        assert region in enum and api_host.removeprefix("https://api.") in enum, region
