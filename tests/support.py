"""Test helpers that read or check what the product makes: thin readers per CDE
file, a fresh database with the schema, CDE's own aggregate rows for checking
pooled figures, and a PNG's size. Test-only code, so it lives with the tests."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from csi_metrics.ingest.cde import CHRONIC_LAYOUT, SUSPENSION_LAYOUT, ReadResult, read_outcomes
from csi_metrics.metrics import query
from csi_metrics.metrics.rates import check_metric
from csi_metrics.rules import privacy
from csi_metrics.storage.db import apply_schema


def read_chronic_absenteeism(path: str | Path, all_counties: bool = False) -> ReadResult:
    """CDE Chronic Absenteeism file (chronicabsenteeism*.txt) -> rows for `outcomes`."""
    return read_outcomes(path, CHRONIC_LAYOUT, all_counties)


def read_suspension(path: str | Path, all_counties: bool = False) -> ReadResult:
    """CDE Suspension file (suspension*.txt) -> rows for `outcomes` (dass_scope 'All')."""
    return read_outcomes(path, SUSPENSION_LAYOUT, all_counties)


def new_database(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh database (in memory when path is None) with the schema applied."""
    con = duckdb.connect(str(path) if path else ":memory:")
    apply_schema(con)
    return con


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; ValueError if it is not a PNG."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def aggregate_rows(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    level: str,
    year: str | None = None,
    student_group: str = "TA",
) -> pl.DataFrame:
    """CDE's own published district ('D'), county ('C') or state ('T') rows with
    charter and DASS scope 'All' (the true aggregate), for checking pooled
    figures. Columns: cds_code, year, numerator_n, denominator_n, rate,
    published_rate_pct, suppressed; suppression applied."""
    check_metric(metric)
    if level not in ("D", "C", "T"):
        raise ValueError(f"level must be 'D', 'C' or 'T'; got {level!r}")
    conds = ["metric = ?", "aggregate_level = ?", "charter_scope = 'All'", "dass_scope = 'All'", "reporting_category = ?"]
    params: list[object] = [metric, level, student_group]
    if year is not None:
        conds.append("academic_year = ?")
        params.append(year)
    df = query.fetch(
        con,
        f"""SELECT cds_code, academic_year AS year, numerator_n, denominator_n,
                   CASE WHEN denominator_n > 0 THEN numerator_n / denominator_n END AS rate,
                   published_rate_pct, suppressed
            FROM outcomes WHERE {' AND '.join(conds)} ORDER BY cds_code, year""",
        params,
    )
    return privacy.suppress(df, value_cols=("rate", "numerator_n", "denominator_n", "published_rate_pct"))
