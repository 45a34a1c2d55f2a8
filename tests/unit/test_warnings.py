"""Deprecations attributed to the provider's own modules fail the tests (pytest ``filterwarnings`` in pyproject);
those of other packages do not."""

from __future__ import annotations

import warnings

import pytest


def _warn_from(module: str, category: type[Warning]) -> None:
    warnings.warn_explicit("deprecated", category, filename=f"{module.replace('.', '/')}.py", lineno=1, module=module)


@pytest.mark.parametrize("module", ["airflow_provider_genesys", "airflow_provider_genesys.hooks.crm"])
def test_a_deprecation_in_the_providers_code_is_an_error(module: str) -> None:
    from airflow.utils.deprecation_tools import DeprecatedImportWarning

    with pytest.raises(DeprecationWarning):
        _warn_from(module, DeprecationWarning)
    with pytest.raises(DeprecatedImportWarning):  # what importing a moved Airflow module raises (a FutureWarning)
        _warn_from(module, DeprecatedImportWarning)


@pytest.mark.parametrize("module", ["airflow.models", "airflow_provider_genesys_other", "tests.unit.test_warnings"])
def test_a_deprecation_elsewhere_is_only_reported(module: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        _warn_from(module, DeprecationWarning)
    assert [str(warning.message) for warning in caught] == ["deprecated"]
