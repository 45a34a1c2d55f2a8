"""Sensors of the Genesys Cloud provider."""
