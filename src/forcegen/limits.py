"""Limits of a call, shared by the API and the faces that declare them (CLI options)."""

MAX_RUNS = 1_000_000
"""Most runs one call simulates."""
