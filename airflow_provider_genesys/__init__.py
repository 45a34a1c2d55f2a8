"""Apache Airflow provider for Genesys Cloud."""

from __future__ import annotations

__version__ = "0.1.0"
