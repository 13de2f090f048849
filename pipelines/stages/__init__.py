"""Registered stages (auto-discovered)."""
