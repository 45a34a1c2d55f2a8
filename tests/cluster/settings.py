"""The settings of the distributed deployment: what every Airflow process of a Celery cluster needs.

Every value is an environment variable, the same in every process except the per-node ones
(:func:`node_environment`). The README's "Running on Celery or Kubernetes" section lists the ones a real
deployment needs, and why.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from genesys_sandbox import DEFAULT_CRM_SIGNING_SECRET
from tests.cluster.layout import ROOT, ClusterLayout
from tests.cluster.node import NODE_VARIABLE

#: Environment variable naming the cluster run: every process of the cluster carries it (teardown checks).
RUN_MARKER = "GENESYS_CLUSTER_RUN"
#: Seconds without a heartbeat after which the scheduler fails a running task (default 300).
TASK_HEARTBEAT_TIMEOUT = 12
#: Seconds without a heartbeat after which a triggerer's triggers go to another triggerer (default 30).
TRIGGERER_HEALTH_THRESHOLD = 8
#: Requests per minute the sandbox allows per token, and the connection's pacing.
QUOTA_PER_MINUTE = 6000
#: Seconds before the sandbox's participant-attribute search finds a new conversation; the connection trusts
#: "not found" only after a longer delay.
SEARCH_INDEXING_DELAY = 2
CONNECTION_SEARCH_INDEXING_DELAY = 5


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


@dataclass(frozen=True)
class Ports:
    """The loopback ports of the services (chosen free at start)."""

    postgres: int
    redis: int
    api: int


@dataclass(frozen=True)
class Deployment:
    """One cluster's addresses and shared secrets.

    :param layout: its folders.
    :param ports: the loopback ports.
    :param sandbox_url: base URL of the Genesys sandbox (also the CRM receiver).
    :param worker_concurrency: task slots per Celery worker.
    """

    layout: ClusterLayout
    ports: Ports
    sandbox_url: str
    worker_concurrency: int = 2
    fernet_key: str = field(default_factory=_fernet_key)
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    api_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports.postgres}/airflow"

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    def airflow_settings(self) -> dict[str, str]:
        """``AIRFLOW__*`` settings shared by every Airflow process of the deployment."""
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.layout.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # encrypts connections and variables: one key for every process
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            # where a worker's task supervisor calls the Execution API (default: localhost:8080)
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            # TI.hostname per worker: two workers on one machine would otherwise share the machine's name
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.cluster.node.hostname",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.ports.api),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": self.api_secret_key,
            # the scheduler signs each task's Execution API token, the API server checks it: one secret
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.database_url}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            # an unacknowledged task message is redelivered after this long: longer than any task
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "3600",
            # a killed worker's task is failed (and retried) this many seconds after its last heartbeat
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_HEARTBEAT_TIMEOUT),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
            # a dead triggerer's triggers move to a live triggerer after this many seconds
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(TRIGGERER_HEALTH_THRESHOLD),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.layout.task_logs),
        }

    def connections(self) -> dict[str, str]:
        """The provider's connections, as environment variables (JSON form), for every process."""
        genesys = {
            "conn_type": "genesys_cloud",
            "login": "sandbox-client",
            "password": "sandbox-secret",
            "host": self.sandbox_url,
            "extra": {
                "requests_per_minute": QUOTA_PER_MINUTE,
                "timeout": 10,
                "search_indexing_delay": CONNECTION_SEARCH_INDEXING_DELAY,
            },
        }
        crm = {
            "conn_type": "crm_webhook",
            "host": self.sandbox_url,
            "extra": {"endpoint": "/crm/interactions", "signing_secret": DEFAULT_CRM_SIGNING_SECRET},
        }
        return {"AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT": json.dumps(genesys), "AIRFLOW_CONN_CRM_DEFAULT": json.dumps(crm)}

    def node_environment(self, node: str) -> dict[str, str]:
        """The complete environment of one Airflow process: its own AIRFLOW_HOME and name, the shared rest.

        Inherited ``AIRFLOW*`` and ``GENESYS_*`` variables are dropped, so nothing of the calling shell leaks in.
        """
        home = self.layout.node_home(node)
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AIRFLOW", "GENESYS_", "PYTHONPATH")) or name == RUN_MARKER
        }
        environment.update(
            {
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '/usr/bin:/bin')}",
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "AIRFLOW_HOME": str(home),
                "TMPDIR": str(home),
                NODE_VARIABLE: node,
                **self.airflow_settings(),
                **self.connections(),
            }
        )
        return environment
