"""Hooks of the Genesys Cloud provider."""
