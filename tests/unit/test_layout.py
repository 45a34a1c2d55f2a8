"""The house rules of the layout, checked on the code itself (imports read with ``ast``, nothing executed)."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_genesys"
SANDBOX = ROOT / "genesys_sandbox"


def _modules(folder: Path) -> dict[str, Path]:
    modules = {}
    for path in folder.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """Every import of a file, wherever it stands (module level, deferred into a function, TYPE_CHECKING)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for module, names in _imports(path):
            submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules]
            targets = submodules + ([module] if len(submodules) < len(names) or not names else [])
            graph[name].update(target for target in targets if target in modules and target != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_package_sits_at_the_top_level() -> None:
    assert PACKAGE.is_dir() and SANDBOX.is_dir()
    assert not (ROOT / "src").exists()


def test_the_package_root_is_small() -> None:
    root_modules = sorted(path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py")
    assert len(root_modules) <= 6, root_modules


@pytest.mark.parametrize("folder", [PACKAGE, SANDBOX], ids=lambda folder: folder.name)
def test_no_import_cycles_counting_deferred_and_type_checking_imports(folder: Path) -> None:
    assert _cycles(_graph(_modules(folder))) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_sensors_and_triggers_never_import_operators() -> None:
    for folder in ("sensors", "triggers"):
        for path in (PACKAGE / folder).glob("*.py"):
            imported = [module for module, _ in _imports(path)]
            assert not [m for m in imported if m.startswith("airflow_provider_genesys.operators")], path


def test_the_sandbox_shares_no_code_with_the_provider() -> None:
    for path in SANDBOX.rglob("*.py"):
        imported = [module for module, _ in _imports(path)]
        assert not [m for m in imported if m.startswith("airflow_provider_genesys")], path


def test_tests_never_import_benchmark_code() -> None:
    for path in (ROOT / "tests").rglob("*.py"):
        imported = [module for module, _ in _imports(path)]
        assert not [m for m in imported if m == "benchmarks" or m.startswith("benchmarks.")], path


def _execute_methods() -> Iterator[tuple[str, int]]:
    for path in (PACKAGE / "operators").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name.startswith("execute"):
                        assert item.end_lineno is not None
                        yield f"{node.name}.{item.name}", item.end_lineno - item.lineno + 1


def test_operators_stay_thin() -> None:
    methods = dict(_execute_methods())
    assert "GenesysBulkCreateInteractionsOperator.execute" in methods
    assert {name: lines for name, lines in methods.items() if lines > 60} == {}


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("hooks.genesys_cloud", "GenesysCloudHook"),
        ("hooks.crm", "CrmWebhookHook"),
        ("operators.interactions", "GenesysCreateInteractionOperator"),
        ("operators.interactions", "GenesysBulkCreateInteractionsOperator"),
        ("operators.workitem_jobs", "GenesysBulkAddWorkitemsOperator"),
        ("operators.crm", "GenesysCrmSyncOperator"),
        ("sensors.crm", "GenesysCrmSyncSensor"),
    ],
)
def test_public_import_paths_keep_working(module: str, name: str) -> None:
    assert isinstance(getattr(importlib.import_module(f"airflow_provider_genesys.{module}"), name), type)


def test_every_error_derives_from_one_base_in_one_module() -> None:
    from airflow_provider_genesys import exceptions

    errors = [
        value
        for value in vars(exceptions).values()
        if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == exceptions.__name__
    ]
    assert len(errors) >= 10
    assert all(issubclass(error, exceptions.GenesysError) for error in errors)
    for path in PACKAGE.rglob("*.py"):
        if path.name == "exceptions.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        raised_bases = [
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any(isinstance(base, ast.Name) and base.id.endswith(("Error", "Exception")) for base in node.bases)
        ]
        assert raised_bases == [] or all(name.startswith("_") for name in raised_bases), (path, raised_bases)


def test_nothing_cites_a_file_outside_the_repository() -> None:
    outside = "genesys-" + "facts"  # the summary the project started from lives outside this repository
    for folder in ("airflow_provider_genesys", "genesys_sandbox", "tests", "benchmarks", "scripts", "example_dags"):
        for path in (ROOT / folder).rglob("*.py"):
            assert outside not in path.read_text(encoding="utf-8"), path
