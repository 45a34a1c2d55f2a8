"""The provider as a user installs it, at the Airflow versions it claims to support.

    python .ci/fresh_install.py

1. ``uv build --all-packages``: the sdists, then each wheel built from its sdist (so the sdist carries what a build
   needs); the provider's wheel must not contain the sandbox.
2. For the newest patch of the declared Airflow floor's minor (``apache-airflow>=3.3.0`` -> newest 3.3.x on the
   index) and for the locked Airflow (``uv.lock``; every other package at its locked version too): a fresh virtual
   environment with the provider's wheel and nothing else; ``check_install.py`` imports every module and parses
   every example DAG there; then the test dependencies and the sandbox's wheel are added and the unit tests run
   against that install, from a copy of ``tests/`` (the checkout is not on ``sys.path``). When both are the same
   Airflow version it runs once and says so.

Everything happens in a temporary directory, removed at the end; uv's cache makes the installs fast.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = "airflow_provider_genesys"
SANDBOX = "genesys_sandbox"
#: Unit tests that read the checkout's files (the layout rules), not the installed package.
CHECKOUT_ONLY_TESTS = ["tests/unit/test_layout.py"]


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists() and not shutil.which(found):
        raise SystemExit("uv not found (make sync installs it into .tools/)")
    return found


def run(command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, show: bool = False) -> str:
    """Run a command and return its standard output; on failure print all its output and stop the check."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print((result.stdout + result.stderr)[-8000:], file=sys.stderr)
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}")
    if show:
        print(result.stdout.rstrip())
    return result.stdout


def step(label: str, started: float) -> None:
    print(f"  {label}: {time.monotonic() - started:.1f} s", flush=True)


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def airflow_floor_spec() -> tuple[str, str]:
    """(the declared floor, the spec of its minor's newest patch): ``("3.3.0", "apache-airflow~=3.3.0")``."""
    for requirement in project()["project"]["dependencies"]:
        match = re.fullmatch(r"apache-airflow\s*>=\s*(\d+)\.(\d+)(?:\.(\d+))?", requirement.strip())
        if match:
            major, minor, patch = match.group(1), match.group(2), match.group(3) or "0"
            return f"{major}.{minor}.{patch}", f"apache-airflow~={major}.{minor}.0"
    raise SystemExit("no apache-airflow>=X.Y requirement in [project].dependencies")


def locked_airflow() -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    (version,) = {package["version"] for package in lock["package"] if package["name"] == "apache-airflow"}
    return str(version)


def build(dist: Path) -> tuple[Path, Path]:
    started = time.monotonic()
    run([uv(), "build", "--all-packages", "--out-dir", str(dist)])
    (provider,) = dist.glob(f"{PROVIDER}-*.whl")
    (sandbox,) = dist.glob(f"{SANDBOX}-*.whl")
    with zipfile.ZipFile(provider) as wheel:
        names = wheel.namelist()
        if any(name.startswith(f"{SANDBOX}/") for name in names):
            raise SystemExit("the provider's wheel contains the sandbox")
        if not any(name.endswith(".dist-info/licenses/LICENSE") for name in names):
            raise SystemExit("the provider's wheel has no LICENSE")
    with zipfile.ZipFile(sandbox) as wheel:
        if f"{SANDBOX}/__main__.py" not in wheel.namelist():
            raise SystemExit("the sandbox's wheel has no genesys_sandbox package")
    built = sorted(path.name for path in dist.iterdir() if path.suffix in (".whl", ".gz"))
    step(f"built {', '.join(built)} (each wheel from its sdist)", started)
    return provider, sandbox


def test_requirements() -> list[str]:
    return [str(item) for item in project()["dependency-groups"]["test"] if isinstance(item, str)]


def check(label: str, airflow_spec: str, provider: Path, sandbox: Path, work: Path, constraints: Path | None) -> str:
    """One fresh environment: install, import and parse, then the unit tests. Returns the Airflow version."""
    print(f"{label}: {airflow_spec}", flush=True)
    venv = work / "venv"
    python = venv / "bin" / "python"
    pinned = ["--constraint", str(constraints)] if constraints else []

    started = time.monotonic()
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)])
    run([uv(), "pip", "install", "--quiet", "--python", str(python), *pinned, str(provider), airflow_spec])
    version = run([str(python), "-c", "import airflow; print(airflow.__version__)"]).strip().splitlines()[-1]
    step(f"fresh environment with the provider's wheel and Airflow {version}", started)

    started = time.monotonic()
    home = work / "airflow-home"
    dags = work / "example_dags"
    shutil.copytree(ROOT / "example_dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    report = run([str(python), str(ROOT / ".ci" / "check_install.py"), str(dags)], cwd=work, env=env)
    print("  " + report.strip().splitlines()[-1])
    step("imported every module, parsed every example DAG", started)

    started = time.monotonic()
    frozen = work / "installed.txt"
    frozen.write_text(run([uv(), "pip", "freeze", "--python", str(python)]), encoding="utf-8")
    keep_installed = ["--constraint", str(frozen), *pinned]  # the tests adapt to the install, not the reverse
    install = [uv(), "pip", "install", "--quiet", "--python", str(python)]
    run([*install, *keep_installed, str(sandbox), *test_requirements()])
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")  # pytest's settings (filterwarnings...)
    step("added the test dependencies and the sandbox's wheel", started)

    started = time.monotonic()
    ignored = [f"--ignore={path}" for path in CHECKOUT_ONLY_TESTS]
    output = run(
        [str(python), "-m", "pytest", "tests/unit", "-q", "-p", "no:cacheprovider", *ignored],
        cwd=work,
        env=env,
    )
    print("  " + output.strip().splitlines()[-1])
    step("unit tests against the installed wheel", started)
    return version


def main() -> None:
    started = time.monotonic()
    floor, newest_spec = airflow_floor_spec()
    locked = locked_airflow()
    work = Path(tempfile.mkdtemp(prefix="genesys-fresh-install-"))
    try:
        provider, sandbox = build(work / "dist")
        newest = check(
            f"newest patch of the floor's minor (floor {floor})", newest_spec, provider, sandbox, work / "newest", None
        )
        if newest == locked:
            minor = floor.rsplit(".", 1)[0]
            print(f"the newest {minor}.x is the locked version ({locked}): one run covers both")
        else:
            constraints = work / "locked.txt"
            everything = ["--all-groups", "--all-extras", "--no-emit-project", "--no-emit-workspace"]
            run([uv(), "export", "--frozen", "--no-hashes", "--no-header", *everything, "-o", str(constraints)])
            check("locked", f"apache-airflow=={locked}", provider, sandbox, work / "locked", constraints)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"fresh-install check passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
