"""Helpers without Airflow or Genesys knowledge: redaction, streaming sources, audit files."""
