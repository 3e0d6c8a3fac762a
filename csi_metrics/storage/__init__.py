"""The DuckDB file: its schema, and how a view opens it (read-only, with the
internal tables only for a signed-in session)."""
