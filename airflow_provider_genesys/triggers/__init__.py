"""Triggers of the Genesys Cloud provider."""
