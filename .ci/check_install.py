"""Run by the fresh-install check inside the new virtual environment, outside the checkout:

    python check_install.py EXAMPLE_DAGS_FOLDER

It checks what a user gets from ``pip install airflow-provider-genesys`` alone: the package comes from the installed
wheel, every module imports without a deprecation of its own, the sandbox is not there, Airflow registers the
provider (hooks, connection forms, config section), and every example DAG parses with no import error.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
import sysconfig
import warnings
from pathlib import Path


def fail(message: str) -> None:
    print(f"FAIL: {message}", file=sys.stderr)
    raise SystemExit(1)


def main() -> None:
    dags_folder = Path(sys.argv[1])
    import airflow

    import airflow_provider_genesys

    package_dir = Path(airflow_provider_genesys.__file__).resolve().parent
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    if package_dir.parent != site_packages:
        fail(f"airflow_provider_genesys comes from {package_dir}, not from the installed wheel in {site_packages}")
    if importlib.util.find_spec("genesys_sandbox") is not None:
        fail("genesys_sandbox is importable: the provider's wheel must not bring the sandbox")

    modules = [airflow_provider_genesys.__name__]
    modules += [info.name for info in pkgutil.walk_packages([str(package_dir)], prefix="airflow_provider_genesys.")]
    own_deprecations = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in modules:
            importlib.import_module(name)
    for warning in caught:
        if issubclass(warning.category, (DeprecationWarning, FutureWarning)) and str(package_dir) in warning.filename:
            own_deprecations.append(f"{warning.filename}:{warning.lineno}: {warning.message}")
    if own_deprecations:
        fail("deprecations raised by the provider's own modules:\n" + "\n".join(own_deprecations))

    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManager()  # what the api-server builds the UI's connection forms from
    if "airflow-provider-genesys" not in manager.providers:
        fail("Airflow does not list the provider (entry point apache_airflow_provider)")
    forms = {meta.connection_type: meta for meta in manager.iter_connection_type_hook_ui_metadata()}
    runtime_hooks = ProvidersManagerTaskRuntime().hooks  # what a task resolves a connection type to
    for conn_type in ("genesys_cloud", "crm_webhook"):
        if conn_type not in forms or not forms[conn_type].hook_class_name:
            fail(f"Airflow has no connection form for {conn_type}")
        if runtime_hooks.get(conn_type) is None:
            fail(f"the task runtime cannot import the hook of {conn_type}")
    widgets = {name.split("__")[-1] for name in manager.connection_form_widgets if "genesys_cloud" in name}
    if not {"region", "max_attempts", "backoff_max", "connect_timeout"} <= widgets:
        fail(f"the genesys_cloud connection form lacks fields: {sorted(widgets)}")
    if "airflow_provider_genesys.links.GenesysInteractionLink" not in manager.extra_links_class_names:
        fail("the extra link is not registered")
    from airflow.sdk import conf

    if conf.get("genesys", "state_dir") != "":  # declared by the provider: no fallback needed
        fail("the [genesys] section is not registered")

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        fail(f"example DAGs with import errors: {bag.import_errors}")
    if len(bag.dag_ids) < len(list(dags_folder.glob("*.py"))):
        fail(f"example DAG files without a DAG: {sorted(bag.dag_ids)}")

    print(
        f"installed: Airflow {airflow.__version__}, airflow-provider-genesys {airflow_provider_genesys.__version__} "
        f"from {package_dir}; {len(modules)} modules imported, {len(bag.dag_ids)} example DAGs parsed "
        f"({', '.join(sorted(bag.dag_ids))}), 0 import errors"
    )


if __name__ == "__main__":
    main()
