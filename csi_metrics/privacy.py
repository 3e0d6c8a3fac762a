"""Small-cell suppression for every figure a person can see.

Two rules, applied in this order by every metric function that returns
something shown on a page, in a table, a tooltip or a download:

1. Primary suppression (`suppress`): a cell whose student count (`n_col`,
   normally the denominator: eligible or cumulative enrollment) is below
   `codes.MIN_N` (11), or unknown, is suppressed: `suppressed` becomes True and
   the value columns (rate, numerator_n, denominator_n by default) become null.
   The numerator is drawn from that same group of students, so a group of 11 or
   more may show a small numerator, as CDE's own files do.

2. Complementary suppression (`complementary_suppress`): when cells partition
   a total a person can also see (student groups of all students, SPA parts of
   the county, community vs comparison schools of a total, schools of a
   district), and exactly one cell of a partition is suppressed, its value could
   be recovered as total minus the others. The next-smallest visible cell of that
   partition (smallest `n_col`; ties broken by row order) is suppressed too, which
   hides both its denominator and its numerator. `suppress_breakdown` repeats
   this over several dimensions until nothing changes, because hiding a cell in
   one dimension can leave a single hidden cell in another. A cell whose counts
   were never known (all its school rows CDE-suppressed) is in no visible total
   and so needs no complementary cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from . import codes

DEFAULT_VALUE_COLS = ("rate", "numerator_n", "denominator_n")
KNOWN_COL = "__known"

# Student groups that add up to all students (TA), or to TK-8 (GRTK8). Program
# groups (SE, SD, ...) overlap and have no visible complement, so they form no
# partition. A group code may sit in several partitions.
STUDENT_GROUP_PARTITIONS: dict[str, tuple[str, ...]] = {
    "race": ("RA", "RB", "RD", "RF", "RH", "RI", "RP", "RT", "RW"),
    "gender": ("GF", "GM", "GX", "GZ"),
    "grade_spans": ("GRTKKN", "GR13", "GR46", "GR78", "GR912"),
    "grade_k8_hs": ("GRTK8", "GR912"),
    "grade_k8_parts": ("GRTKKN", "GR13", "GR46", "GR78"),
}


def suppress(
    df: pl.DataFrame,
    n_col: str = "denominator_n",
    value_cols: Sequence[str] | None = None,
    min_n: int = codes.MIN_N,
) -> pl.DataFrame:
    """Primary suppression: rows with `n_col` < min_n (or null) get suppressed=True
    and null `value_cols`. An existing `suppressed` column is kept (OR-ed)."""
    cols = [c for c in (value_cols if value_cols is not None else DEFAULT_VALUE_COLS) if c in df.columns]
    small = pl.col(n_col).is_null() | (pl.col(n_col) < min_n)
    if "suppressed" in df.columns:
        small = small | pl.col("suppressed").fill_null(True)
    df = df.with_columns(small.alias("suppressed"))
    return _null_where_suppressed(df, cols)


def _null_where_suppressed(df: pl.DataFrame, cols: Sequence[str]) -> pl.DataFrame:
    return df.with_columns(
        [pl.when(pl.col("suppressed")).then(None).otherwise(pl.col(c)).alias(c) for c in cols]
    )


def complementary_suppress(
    df: pl.DataFrame,
    partition_cols: Sequence[str],
    n_col: str = "denominator_n",
    value_cols: Sequence[str] | None = None,
    members: Sequence[object] | None = None,
    member_col: str | None = None,
) -> pl.DataFrame:
    """One pass of complementary suppression.

    Rows sharing `partition_cols` are the parts of one total. Where exactly one
    part is suppressed, the visible part with the smallest `n_col` is suppressed
    as well. With `members`/`member_col`, only rows whose `member_col` value is in
    `members` take part (e.g. the race groups of a student-group breakdown); the
    rest are left alone. Needs a boolean `suppressed` column (run `suppress` first).
    """
    cols = [c for c in (value_cols if value_cols is not None else DEFAULT_VALUE_COLS) if c in df.columns]
    if df.height == 0:
        return df
    idx = "__row"
    work = df.with_row_index(idx)
    part = work
    if members is not None and member_col is not None:
        part = work.filter(pl.col(member_col).is_in(list(members)))
    keys = list(partition_cols)
    if not keys:
        part = part.with_columns(pl.lit(0).alias("__all"))
        keys = ["__all"]
    visible = ~pl.col("suppressed")
    smallest_n = pl.col(n_col).filter(visible).min().over(keys)
    candidate = visible & (pl.col(n_col) == smallest_n)
    # A cell whose counts were never known (every school row CDE-suppressed) is
    # in no visible total, so subtraction cannot reveal it: it needs no cover.
    hidden = pl.col("suppressed") & (pl.col(KNOWN_COL) if KNOWN_COL in part.columns else pl.lit(True))
    ranked = part.with_columns(
        hidden.cast(pl.Int32).sum().over(keys).alias("__hidden_n"),
        pl.col(idx).filter(candidate).min().over(keys).alias("__pick"),
    )
    extra = ranked.filter((pl.col("__hidden_n") == 1) & (pl.col(idx) == pl.col("__pick"))).get_column(idx)
    if extra.len() == 0:
        return df
    out = work.with_columns(
        (pl.col("suppressed") | pl.col(idx).is_in(extra.implode())).alias("suppressed")
    ).drop(idx)
    return _null_where_suppressed(out, cols)


def suppress_breakdown(
    df: pl.DataFrame,
    by: Sequence[str],
    partition_dims: Sequence[str],
    n_col: str = "denominator_n",
    value_cols: Sequence[str] | None = None,
    max_rounds: int = 10,
) -> pl.DataFrame:
    """Primary then complementary suppression of a breakdown grouped by `by`.

    For each d in `partition_dims` (a subset of `by`), the cells that differ only
    in d are the parts of one total, keyed by the other columns of `by`. For
    `student_group` the parts are the groups of each STUDENT_GROUP_PARTITIONS
    entry. Rounds repeat until no new cell is hidden.
    """
    df = df.with_columns(pl.col(n_col).is_not_null().alias(KNOWN_COL))
    df = suppress(df, n_col=n_col, value_cols=value_cols)
    for _ in range(max_rounds):
        before = int(df.get_column("suppressed").sum()) if df.height else 0
        for d in partition_dims:
            keys = [c for c in by if c != d]
            if d == "student_group":
                for members in STUDENT_GROUP_PARTITIONS.values():
                    df = complementary_suppress(
                        df, keys, n_col=n_col, value_cols=value_cols, members=members, member_col=d
                    )
            else:
                df = complementary_suppress(df, keys, n_col=n_col, value_cols=value_cols)
        after = int(df.get_column("suppressed").sum()) if df.height else 0
        if after == before:
            break
    return df.drop(KNOWN_COL)
