"""Where the cluster keeps its files: one folder (``.cluster/`` at the repository root, git-ignored).

::

    .cluster/
      logs/                one log per process (postgres, redis, sandbox, api-server, scheduler, dag-processor,
                           triggerer, worker-a, worker-b, db-migrate) and tasks/ (Airflow's task logs)
      dags/                the DAG files every Airflow process reads (links to the shipped and the test DAGs)
      nodes/<name>/        each Airflow process's own AIRFLOW_HOME: its local disk, shared with nobody
      postgres/ redis/     the metadata database and the broker
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = ROOT / "example_dags"
TEST_DAGS = Path(__file__).resolve().parent / "dags"


@dataclass(frozen=True)
class ClusterLayout:
    """The paths of one cluster run under ``base``."""

    base: Path

    @property
    def logs(self) -> Path:
        return self.base / "logs"

    @property
    def task_logs(self) -> Path:
        return self.logs / "tasks"

    @property
    def dags(self) -> Path:
        return self.base / "dags"

    @property
    def postgres(self) -> Path:
        return self.base / "postgres"

    @property
    def redis(self) -> Path:
        return self.base / "redis"

    def node_home(self, node: str) -> Path:
        """The AIRFLOW_HOME of one process: its own local disk (nothing in it is visible to another node)."""
        return self.base / "nodes" / node

    def prepare(self, nodes: list[str]) -> None:
        """Start from an empty folder: logs, per-node homes and a DAGs folder linking the DAG files."""
        if self.base.exists():
            shutil.rmtree(self.base)
        for folder in (self.task_logs, self.dags, self.redis):
            folder.mkdir(parents=True)
        for node in nodes:
            self.node_home(node).mkdir(parents=True)
        for source in (EXAMPLE_DAGS, TEST_DAGS):
            for dag_file in sorted(source.glob("*.py")):
                (self.dags / dag_file.name).symlink_to(dag_file)
        (self.dags / "data").symlink_to(EXAMPLE_DAGS / "data")
