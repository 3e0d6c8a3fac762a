"""`python -m csi_metrics report`: pooled rates with Dashboard levels for
analysts and scripts.

    python -m csi_metrics report --metric chronic_absenteeism|suspension
        --by spa|district|school|school_type|student_group|year|community
        [--year 2023-24] [--spa N] [--format csv|json|table] [--db PATH]

Each row: the group, pooled numerator, denominator and rate (percent, one
decimal), schools pooled, and the Dashboard status level, change level and
colour. Suppression is applied exactly as on the pages (csi_metrics.rates):
suppressed cells print '*' in csv and table output and null in json. Exit
codes: 0 done, 2 bad argument (the message names it), 1 no database.

Dashboard placement of a row (`breakdown`): the rate's change is measured
against the same group a year earlier. Chronic absenteeism is placed from
GRTK8 rows (K-8 indicator) unless the report is by student group or for a
student group other than all students. Suspension uses the school type's cut
set when the rows are schools or school types, the LEA type's set when they
are districts, and the unified set otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys

import duckdb
import polars as pl

from . import codes, config, db, downloads, levels, rates, trends
from .filters import Filters

REPORT_BY = ("spa", "district", "school", "school_type", "student_group", "year", "community")
FORMATS = ("csv", "json", "table")
OUT_COLUMNS = ["numerator_n", "denominator_n", "rate_pct", "schools_n", "status_level", "change_level", "color",
               "suppressed"]


class ReportArgumentError(ValueError):
    """A bad report argument; the message names it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the report options to the `report` subparser."""
    parser.add_argument("--metric", required=True, help="chronic_absenteeism or suspension")
    parser.add_argument("--by", default="spa", help=f"one of {', '.join(REPORT_BY)} (default spa)")
    parser.add_argument("--year", help="academic year such as 2023-24 (default: the latest year in the database)")
    parser.add_argument("--spa", type=int, help="only schools in this Service Planning Area (1-8)")
    parser.add_argument("--format", default="table", help="csv, json or table (default table)")
    parser.add_argument("--db", help="database file (default $CSI_DB or data/csi.duckdb)")


def _check(args: argparse.Namespace, con: duckdb.DuckDBPyConnection) -> tuple[str, str, str | None]:
    if args.metric not in codes.METRICS:
        raise ReportArgumentError(f"--metric {args.metric!r}: choose one of {', '.join(codes.METRICS)}")
    if args.by not in REPORT_BY:
        raise ReportArgumentError(f"--by {args.by!r}: choose one of {', '.join(REPORT_BY)}")
    if args.format not in FORMATS:
        raise ReportArgumentError(f"--format {args.format!r}: choose one of {', '.join(FORMATS)}")
    if args.spa is not None and args.spa not in codes.SPA_NAMES:
        raise ReportArgumentError(f"--spa {args.spa}: a Service Planning Area is 1 to 8")
    years = [y for y in trends.year_span(con, args.metric)]
    have = set(rates.fetch(con, "SELECT DISTINCT academic_year AS y FROM outcomes WHERE metric = ?",
                           [args.metric])["y"].to_list())
    year = args.year
    if year is not None:
        if not codes.is_academic_year(year):
            raise ReportArgumentError(f"--year {year!r}: use an academic year such as 2023-24")
        if year not in have:
            span = f"{years[0]} to {years[-1]}" if years else "none"
            raise ReportArgumentError(f"--year {year}: no {args.metric} data for that year (years in the database: {span})")
    elif args.by != "year":
        year = max(have) if have else None
    return args.metric, args.by, year


def _cut_sets(con: duckdb.DuckDBPyConnection, metric: str, by: str, frame: pl.DataFrame) -> pl.Series | str | None:
    if metric != "suspension":
        return None
    if by == "school":
        types = rates.fetch(con, "SELECT cds_code AS school, school_type FROM schools")
        t = frame.select("school").join(types, on="school", how="left")["school_type"]
        return levels.suspension_cut_set_expr(t)
    if by == "school_type":
        return levels.suspension_cut_set_expr(frame["school_type"])
    if by == "district":
        lea = rates.fetch(con, "SELECT district_code AS district, lea_type FROM districts")
        t = frame.select("district").join(lea, on="district", how="left")["lea_type"]
        return levels.lea_cut_set_expr(t)
    return "suspension_unified"


def _prior(
    con: duckdb.DuckDBPyConnection, metric: str, by: str, filters: Filters, group: str, by_dtype: pl.DataType
) -> pl.DataFrame:
    """by, prior_rate: the same rows of `group` a year earlier (null when unknown or suppressed)."""
    if by == "year":
        every = rates.pooled_rates(con, metric, ["year"], filters.with_(year=None, student_group=group))
        return every.select(
            codes.shift_year_expr(pl.col("year")).alias("year"),
            pl.col("rate").alias("prior_rate"),
        )
    prior_year = codes.previous_year(filters.year) if filters.year and codes.is_academic_year(filters.year) else None
    if prior_year is None:
        return pl.DataFrame(schema={by: by_dtype, "prior_rate": pl.Float64})
    return rates.pooled_rates(con, metric, [by], filters.with_(student_group=group, year=prior_year)).select(
        by, pl.col("rate").alias("prior_rate")
    )


def breakdown(
    con: duckdb.DuckDBPyConnection, metric: str, by: str, filters: Filters
) -> pl.DataFrame:
    """Pooled rates by one column with Dashboard levels: the one code path for
    every breakdown that carries a Dashboard colour (this report, the Equity
    page, the presenter's by-SPA and by-group charts).

    rate = pooled numerator_n / denominator_n of filters.student_group (every
    group when by='student_group'), as rates.pooled_rates; prior_rate = the
    same rows a year earlier; change_pp = (rate - prior_rate) * 100, unrounded.
    status_level, change_level, color and level_note place each row as the
    module docstring says (chronic absenteeism from the GRTK8 rows, suspension
    with the school-type / LEA-type cut set), so for chronic absenteeism they
    may rest on K-8 figures while rate and change_pp are all grades, as on
    the headline. Suppression: a suppressed row (under 11 students, CDE '*',
    or complementary) has null rate, counts, prior_rate, change_pp and levels,
    level_note saying so; no colour under 30 students.
    Columns: by, [labels], numerator_n, denominator_n, rate, rate_pct,
    schools_n, suppressed, prior_rate, change_pp, status_level, change_level,
    color, level_note."""
    shown = rates.pooled_rates(con, metric, [by], filters)
    level_group = filters.student_group
    if metric == "chronic_absenteeism" and by != "student_group" and filters.student_group == "TA":
        level_group = "GRTK8"
    key = [by]
    dtype = shown.schema[by]
    # each student group is placed from its own rows
    placed_cur = shown if by == "student_group" else rates.pooled_rates(
        con, metric, key, filters.with_(year=None, student_group=level_group) if by == "year"
        else filters.with_(student_group=level_group))
    placed_pre = _prior(con, metric, by, filters, level_group, dtype)
    shown_pre = placed_pre if level_group == filters.student_group or by == "student_group" \
        else _prior(con, metric, by, filters, filters.student_group, dtype)
    placed = placed_cur.select(*key, "rate", "denominator_n", "suppressed").join(
        placed_pre, on=key, how="left", nulls_equal=True
    )
    cuts = _cut_sets(con, metric, by, placed)
    if isinstance(cuts, pl.Series):
        placed = placed.with_columns(cuts.alias("__cut"))
        placed = levels.add_dashboard_levels(placed, metric, "__cut").drop("__cut")
    else:
        placed = levels.add_dashboard_levels(placed, metric, cuts)
    placed = placed.select(*key, "status_level", "change_level", "color", "level_note")
    out = shown.join(shown_pre, on=key, how="left", nulls_equal=True).join(placed, on=key, how="left", nulls_equal=True)
    out = out.with_columns(((pl.col("rate") - pl.col("prior_rate")) * 100).alias("change_pp"))
    # A level of a hidden figure would narrow it down: no level where the row is suppressed.
    out = out.with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c)
         for c in ("prior_rate", "change_pp", "status_level", "change_level", "color")]
        + [pl.when(pl.col("suppressed")).then(pl.lit(levels.NOTE_SUPPRESSED)).otherwise(pl.col("level_note"))
           .alias("level_note")]
    )
    out = out.with_columns((pl.col("rate") * 100).alias("rate_pct"))
    return out.select(*[c for c in out.columns if c not in ("prior_rate", "change_pp", "status_level", "change_level",
                                                             "color", "level_note")],
                      "prior_rate", "change_pp", "status_level", "change_level", "color", "level_note")


def _labels(df: pl.DataFrame, by: str) -> pl.DataFrame:
    if by == "spa":
        return df.with_columns(
            pl.col("spa").replace_strict({n: codes.spa_label(n) for n in codes.SPA_NAMES}, default="Unassigned",
                                         return_dtype=pl.String).alias("spa_label")
        )
    if by == "student_group":
        cats = {**codes.REPORTING_CATEGORIES, **codes.EXTRA_CATEGORIES}
        return df.with_columns(
            pl.col("student_group").replace_strict({k: v[0] for k, v in cats.items()}, default=None,
                                                   return_dtype=pl.String).alias("student_group_label")
        )
    return df


def _rows(df: pl.DataFrame, by: str) -> tuple[list[str], list[dict]]:
    label_cols = [c for c in ("spa_label", "student_group_label", "school_name", "district_name") if c in df.columns]
    cols = [by, *label_cols, *OUT_COLUMNS]
    records = []
    for r in df.iter_rows(named=True):
        rec = {c: r.get(c) for c in cols}
        if rec["rate_pct"] is not None:
            rec["rate_pct"] = float(levels.round1(rec["rate_pct"]))
        records.append(rec)
    return cols, records


def _text(value: object, suppressed: bool, col: str) -> str:
    if suppressed and col in ("numerator_n", "denominator_n", "rate_pct"):
        return "*"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if col == "rate_pct":
        return f"{value:.1f}"
    return str(value)


def render(cols: list[str], records: list[dict], fmt: str) -> str:
    """csv / json / table text of report records (suppressed: '*' or null)."""
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    cells = [[_text(r[c], bool(r["suppressed"]), c) for c in cols] for r in records]
    if fmt == "csv":
        return downloads.csv_text(cols, cells)
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, out=None) -> int:
    """Run the report; print to `out` (stdout by default). Returns the exit code."""
    out = out or sys.stdout
    path = config.db_path(getattr(args, "db", None))
    try:
        con = db.open_for_display(path)
    except FileNotFoundError as exc:
        print(f"error: --db: {exc}", file=sys.stderr)
        return 1
    try:
        metric, by, year = _check(args, con)
        filters = Filters(year=year, spa=args.spa)
        df = _labels(breakdown(con, metric, by, filters), by)
        cols, records = _rows(df, by)
        out.write(render(cols, records, args.format))
        return 0
    except ReportArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        con.close()
