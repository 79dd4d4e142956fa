"""Persistence: tables, connections, migrations and queries."""
