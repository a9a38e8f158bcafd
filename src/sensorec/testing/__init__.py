"""Fixtures and reusable contract tests shipped with the library."""
