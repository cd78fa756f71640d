"""Scenario: the schema, loading with positions, claims and quantities."""
