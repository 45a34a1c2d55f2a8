"""Build hook: ship ``genesys_sandbox/`` (kept at the repository root) in this distribution's sdist and wheel.

From the repository the package is two levels up; from an unpacked sdist it sits next to this file. Only the
package's Python files are taken (by name, never a whole directory), so nothing else lying in the working tree
can end up in a release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "genesys_sandbox"


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the package's ``*.py`` files, plus the licence and readme the metadata names, to the build."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return  # dev-mode-dirs puts the repository root on sys.path instead
        here = Path(self.root)
        bundled = here / PACKAGE
        repository = here.parent.parent
        source = bundled if bundled.is_dir() else repository / PACKAGE
        if not (source / "__init__.py").is_file():
            raise FileNotFoundError(f"{PACKAGE} not found at {bundled} or {repository / PACKAGE}")
        for path in sorted(source.rglob("*.py")):
            if "__pycache__" not in path.parts:
                build_data["force_include"][str(path)] = f"{PACKAGE}/{path.relative_to(source).as_posix()}"
