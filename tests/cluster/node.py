"""``[core] hostname_callable`` of the cluster: the node name its launcher gave this process.

Both Celery workers run on one machine, so Airflow's default (the machine's FQDN) would record the same
``hostname`` for every task instance. The value must stay the same for the life of a task: the supervisor sends
it with every heartbeat, and the API server stops a task whose hostname changes.
"""

from __future__ import annotations

import os
import socket

NODE_VARIABLE = "GENESYS_CLUSTER_NODE"


def hostname() -> str:
    """The node name of this process (``worker-a``...), else the machine's FQDN."""
    return os.environ.get(NODE_VARIABLE) or socket.getfqdn()
