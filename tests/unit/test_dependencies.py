"""Every distribution a package imports is one its metadata requires, and every requirement is imported.

The imports are read with ``ast`` from the files Python actually imports (the installed wheel in the fresh-install
check, the checkout in development), and each imported module is traced to the distribution whose files hold it —
so ``airflow.sdk`` counts as ``apache-airflow-task-sdk``, a part that ``apache-airflow`` pins. Imports under
``TYPE_CHECKING`` are not needed at run time; imports guarded by ``except ImportError`` are optional features.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as metadata
import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: import package -> the distribution that ships it.
PACKAGES = {"airflow_provider_genesys": "airflow-provider-genesys", "genesys_sandbox": "genesys-sandbox"}

#: Optional imports (guarded by ``except ImportError``) allowed without a requirement, and why.
OPTIONAL_WITHOUT_REQUIREMENT: set[str] = set()


@dataclass(frozen=True)
class Import:
    module: str
    file: str
    line: int
    guarded: bool


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(name, ast.Name) and name.id in ("ImportError", "ModuleNotFoundError") for name in names)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of_file(path: Path, package: str) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, guarded)
            return  # imports for type checkers only
        if isinstance(node, ast.Try):
            optional = guarded or any(_catches_import_error(handler) for handler in node.handlers)
            for child in node.body:
                visit(child, optional)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded)
            return
        modules: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        for module in modules:
            top = module.split(".")[0]
            if top not in sys.stdlib_module_names and top != package and top != "__future__":
                found.append(Import(module, str(path), getattr(node, "lineno", 0), guarded))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def _package_imports(package: str) -> list[Import]:
    root = Path(importlib.import_module(package).__file__ or "").parent
    return [found for path in sorted(root.rglob("*.py")) for found in _imports_of_file(path, package)]


@cache
def _file_owners() -> dict[Path, str]:
    """Every installed ``.py`` file -> the (canonical) name of the distribution that installed it."""
    owners: dict[Path, str] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        for file in dist.files or ():
            if file.suffix == ".py":
                owners[Path(str(dist.locate_file(file))).resolve()] = name
    return owners


def _owner(module: str) -> str | None:
    """The distribution whose files hold ``module``; ``None`` when it is not installed."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.origin:
        return None
    owner = _file_owners().get(Path(spec.origin).resolve())
    assert owner is not None, f"{module} ({spec.origin}) belongs to no installed distribution"
    return owner


def _requirements(distribution: str) -> tuple[set[str], set[str], dict[str, set[str]]]:
    """(unconditional requirements, requirements of extras, parts each requirement pins with ``==``)."""
    always: set[str] = set()
    extras: set[str] = set()
    for line in metadata.requires(distribution) or []:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            always.add(name)
        elif "extra" in str(requirement.marker):
            extras.add(name)
    return always, extras, {name: _pinned_parts(name) for name in always | extras}


def _pinned_parts(distribution: str) -> set[str]:
    """The distributions ``distribution`` requires at one exact version: parts of it (apache-airflow-core...)."""
    try:
        lines = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return set()
    parts = set()
    for line in lines:
        requirement = Requirement(line)
        exact = any(spec.operator in ("==", "===") for spec in requirement.specifier)
        if exact and (requirement.marker is None or requirement.marker.evaluate({"extra": ""})):
            parts.add(canonicalize_name(requirement.name))
    return parts


def _installed(package: str, distribution: str) -> None:
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed here")
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed here")


def _covering(owner: str, declared: set[str], parts: dict[str, set[str]]) -> str | None:
    """The declared requirement that provides ``owner``: itself, or the one that pins it as a part."""
    if owner in declared:
        return owner
    return next((name for name in sorted(declared) if owner in parts.get(name, set())), None)


@pytest.mark.parametrize(("package", "distribution"), PACKAGES.items(), ids=list(PACKAGES))
def test_every_import_is_a_declared_requirement(package: str, distribution: str) -> None:
    _installed(package, distribution)
    always, extras, parts = _requirements(distribution)
    problems = []
    for found in _package_imports(package):
        owner = _owner(found.module)
        where = f"{found.file}:{found.line} imports {found.module}"
        if found.guarded:
            if owner and not _covering(owner, always | extras, parts) and owner not in OPTIONAL_WITHOUT_REQUIREMENT:
                problems.append(f"{where}: optional, but {owner} is no requirement and no extra")
        elif owner is None:
            problems.append(f"{where}: not installed, so no requirement brought it")
        elif owner != distribution and not _covering(owner, always, parts):
            problems.append(f"{where}: {owner} is not in {distribution}'s dependencies")
    assert problems == []


@pytest.mark.parametrize(("package", "distribution"), PACKAGES.items(), ids=list(PACKAGES))
def test_every_requirement_is_imported(package: str, distribution: str) -> None:
    _installed(package, distribution)
    always, extras, parts = _requirements(distribution)
    owners = {_owner(found.module) for found in _package_imports(package)}
    installed = {name for name in always | extras if _is_installed(name)}
    assert always <= installed  # an extra may be absent (then its imports cannot be traced here)
    unused = {name for name in installed if not ({name} | parts[name]) & owners}
    assert unused == set()


def _is_installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def test_the_provider_never_imports_the_sandbox() -> None:
    imported = {found.module.split(".")[0] for found in _package_imports("airflow_provider_genesys")}
    assert "genesys_sandbox" not in imported
    assert "genesys-sandbox" not in {canonicalize_name(line.split(";")[0]) for line in _requirement_names()}


def _requirement_names() -> list[str]:
    return [Requirement(line).name for line in metadata.requires("airflow-provider-genesys") or []]


def test_the_import_reader_sees_guards_and_type_checking(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text(
        "from __future__ import annotations\n"
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "import requests\n"
        "if TYPE_CHECKING:\n"
        "    import yaml\n"
        "try:\n"
        "    import aiohttp\n"
        "except ImportError:\n"
        "    aiohttp = None\n"
        "def later():\n"
        "    from tenacity import retry\n"
        "    from mypkg import thing\n",
        encoding="utf-8",
    )
    found = {(item.module, item.guarded) for item in _imports_of_file(source, "mypkg")}
    assert found == {("requests", False), ("aiohttp", True), ("tenacity", False)}


def test_the_owner_of_a_module_is_the_distribution_that_installed_it() -> None:
    assert _owner("airflow.sdk") == "apache-airflow-task-sdk"
    assert _owner("airflow.triggers.base") == "apache-airflow-core"
    assert _owner("requests.adapters") == "requests"
    assert _owner("no_such_module_here") is None
    assert {"apache-airflow-core", "apache-airflow-task-sdk"} <= _pinned_parts("apache-airflow")
