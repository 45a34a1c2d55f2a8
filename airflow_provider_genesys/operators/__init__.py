"""Operators of the Genesys Cloud provider."""
