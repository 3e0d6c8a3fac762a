"""`python -m csi_metrics report`: pooled rates with Dashboard levels for
analysts and scripts.

    python -m csi_metrics report --metric chronic_absenteeism|suspension
        --by spa|district|school|school_type|student_group|year|community
        [--year 2023-24] [--spa N] [--district CODE] [--community all|community|comparison]
        [--cohort N] [--school-type ES|MS|HS|K-12|other] [--student-group CODE]
        [--format csv|json|table] [--db PATH]

Each row: the group, pooled numerator, denominator and rate (DataQuest, all
grades; percent rounded half up to one decimal), schools pooled and CDE-hidden
school rows left out, then the Dashboard placement from csi_metrics.metrics.placement:
the group whose rate was placed (GRTK8 for chronic absenteeism), that rate
(placed_rate_pct), status level, change level, colour, and its source
(official: CDE's Dashboard file; computed: Dashboard-style, computed from
DataQuest), with a note for every missing colour. Suppression is applied exactly
as on the pages: suppressed cells print '*' in csv and table output and null in
json. Exit codes: 0 done, 2 bad argument (the message names it), 1 no database.
"""

from __future__ import annotations

import argparse
import json
import sys

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes, config
from csi_metrics.storage import db
from csi_metrics.figures import downloads
from csi_metrics.views import deck
from csi_metrics.rules import levels
from csi_metrics.metrics import trends
from csi_metrics.metrics.breakdown import breakdown
from csi_metrics.vocabulary.errors import InputError
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics import query

REPORT_BY = ("spa", "district", "school", "school_type", "student_group", "year", "community")
FORMATS = ("csv", "json", "table")
OUT_COLUMNS = ["numerator_n", "denominator_n", "rate_pct", "schools_n", "suppressed_schools_n", "placed_group",
               "placed_rate_pct", "status_level", "change_level", "color", "level_source", "level_note", "cut_set",
               "cut_set_note", "suppressed"]


class ReportArgumentError(ValueError):
    """A bad report argument; the message names it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the report options to the `report` subparser."""
    parser.add_argument("--metric", required=True, help="chronic_absenteeism or suspension")
    parser.add_argument("--by", default="spa", help=f"one of {', '.join(REPORT_BY)} (default spa)")
    parser.add_argument("--year", help="academic year such as 2023-24 (default: the latest year in the database)")
    parser.add_argument("--spa", type=int, help="only schools in this Service Planning Area (1-8)")
    parser.add_argument("--district", help="only this district (7-digit county+district code)")
    parser.add_argument("--community", help="all (default), community or comparison schools")
    parser.add_argument("--cohort", help="only community schools of this CCSPP cohort")
    parser.add_argument("--school-type", help="ES, MS, HS, K-12 or other")
    parser.add_argument("--student-group", help="a CDE reporting category code (default TA, all students)")
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
    have = set(query.fetch(con, "SELECT DISTINCT academic_year AS y FROM outcomes WHERE metric = ?",
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


def _filters(args: argparse.Namespace, year: str | None) -> Filters:
    """The options as Filters, through the one parser of filter strings the deck links use."""
    raw = {"spa": args.spa, "district": getattr(args, "district", None),
           "community": getattr(args, "community", None), "cohort": getattr(args, "cohort", None),
           "school_type": getattr(args, "school_type", None), "student_group": getattr(args, "student_group", None)}
    try:
        f = deck.parse_filters({k: (str(v) if v is not None else None) for k, v in raw.items()}, where="report")
    except InputError as exc:
        option = (exc.column or "").split(".")[-1].replace("_", "-")
        raise ReportArgumentError(f"--{option}: {exc.message}") from None
    return f.with_(year=year)


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
        placed = r.get("placed_rate")
        rec["placed_rate_pct"] = float(levels.round1(placed * 100)) if placed is not None else None
        records.append(rec)
    return cols, records


def _text(value: object, suppressed: bool, col: str) -> str:
    if suppressed and col in ("numerator_n", "denominator_n", "rate_pct", "placed_rate_pct"):
        return "*"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if col in ("rate_pct", "placed_rate_pct"):
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
        filters = _filters(args, year)
        df = _labels(breakdown(con, metric, by, filters), by)
        cols, records = _rows(df, by)
        out.write(render(cols, records, args.format))
        return 0
    except ReportArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        con.close()
