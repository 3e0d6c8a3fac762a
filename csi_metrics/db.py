"""Opening DuckDB files and applying the schema."""

from __future__ import annotations

from pathlib import Path

import duckdb

from . import codes

SCHEMA_PATH = Path(__file__).with_name("schema.sql")


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table from schema.sql and fill the fixed code tables."""
    con.execute(SCHEMA_PATH.read_text(encoding="utf-8"))
    con.executemany(
        "INSERT INTO spas VALUES (?, ?, ?, ?)",
        [(n, name, abbv, codes.spa_label(n)) for n, name, abbv in codes.SPAS],
    )
    cats = {**codes.REPORTING_CATEGORIES, **codes.EXTRA_CATEGORIES}
    con.executemany(
        "INSERT INTO reporting_categories VALUES (?, ?, ?, ?)",
        [(code, label, kind, i) for i, (code, (label, kind)) in enumerate(cats.items())],
    )


def new_database(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh database (in memory when path is None) with the schema applied."""
    con = duckdb.connect(str(path) if path else ":memory:")
    apply_schema(con)
    return con


def is_hosted(path: str | Path) -> bool:
    """A hosted DuckDB service (MotherDuck, `md:<database>`) rather than a file."""
    return str(path).startswith("md:")


def open_read_only(path: str | Path) -> duckdb.DuckDBPyConnection:
    """The dashboard's view of the data: read-only, so no page can change it.

    `md:<database>` (CSI_DB=md:csi) connects to MotherDuck instead of a file;
    read-only there comes from the token (a read-scaling token, in
    $motherduck_token), not from the connection."""
    if is_hosted(path):
        return duckdb.connect(str(path))
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no database at {p}: run `python -m csi_metrics build --demo` first")
    return duckdb.connect(str(p), read_only=True)
