"""Registered source adapters for public datasets (auto-discovered)."""
