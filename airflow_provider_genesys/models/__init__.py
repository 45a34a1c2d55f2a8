"""Pydantic v2 models of request bodies, records and audit data. No I/O happens here."""
