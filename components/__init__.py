"""Reusable layout pieces and figure builders: pure functions, data in, component or figure out."""
