"""Opening DuckDB files and applying the schema."""

from __future__ import annotations

from pathlib import Path

import duckdb

from csi_metrics.vocabulary import codes

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


def is_hosted(path: str | Path) -> bool:
    """A hosted DuckDB service (MotherDuck, `md:<database>`) rather than a file."""
    return str(path).startswith("md:")


# The initiative's own records of its work (who attended what): shown only to
# signed-in people when sign-in is configured. Everything else comes from CDE's
# public files or public grant awards.
INTERNAL_TABLES = ("activities", "attendance")
CATALOG = "csi"
# What a view may read of a cell the build hid (privacy.cell_visibility): that it
# exists and why it is hidden, never its counts.
_MASKED = ("numerator_n", "denominator_n", "published_rate_pct")


class SignInRequired(Exception):
    """A view read the initiative's internal records through a public connection."""

    def __init__(self, table: str):
        self.table = table
        super().__init__(f"the {table} records are internal: sign in to see them")


def open_for_display(path: str | Path, *, internal: bool = True) -> duckdb.DuckDBPyConnection:
    """The one connection every view reads through (pages, deck, exports, report).

    A fresh in-memory DuckDB with the file attached read-only, and in its default
    catalog one view per table: so no query can change the file, the counts of
    cells the build hid (outcomes.visible false) read as NULL everywhere, and,
    with internal=False, the internal tables (INTERNAL_TABLES) do not exist at
    all, so anything built from them fails (as SignInRequired, see
    `internal_table_in`) instead of reaching a signed-out viewer. External file
    access is then switched off and the setting locked.

    Not duckdb.connect(path): while any connection to a path is open, DuckDB
    hands every later connect to that path the same database instance, so after
    a rebuild's swap a process would keep reading the replaced file. `md:<database>`
    (CSI_DB=md:csi) attaches a MotherDuck database the same way; read-only there
    comes from its token (a read-scaling token in $motherduck_token)."""
    if not is_hosted(path) and not Path(path).exists():
        raise FileNotFoundError(f"no database at {path}: run `python -m csi_metrics build --demo` first")
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH ? AS {CATALOG} (READ_ONLY)", [str(path)])
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'", [CATALOG]
    ).fetchall()]
    for t in tables:
        if t in INTERNAL_TABLES and not internal:
            continue
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
            "ORDER BY column_index", [CATALOG, t]).fetchall()]
        if t == "outcomes" and "visible" in cols:
            select = ", ".join(f"CASE WHEN visible THEN {c} END AS {c}" if c in _MASKED else c for c in cols)
        else:
            select = "*"
        # Names come from the file's own catalog and a fixed list, never from a user.
        con.execute(f'CREATE VIEW main."{t}" AS SELECT {select} FROM {CATALOG}.main."{t}"')
    con.execute("SET enable_progress_bar = false")  # DuckDB draws one on stdout for reads over ~2 s
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def internal_table_in(exc: BaseException) -> str | None:
    """The internal table a failed query needed, if that is why it failed."""
    if isinstance(exc, duckdb.CatalogException):
        for t in INTERNAL_TABLES:
            if f"Table with name {t} does not exist" in str(exc):
                return t
    return None
