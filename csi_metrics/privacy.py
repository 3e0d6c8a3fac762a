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
   district), a hidden cell could be recovered as total minus the others. So
   while a partition has exactly one hidden cell, or hidden cells that add up
   to 1-10 students, the next-smallest visible cell of that partition (smallest
   `n_col`; ties broken by row order) is hidden too, which hides both its
   denominator and its numerator. (The "add up to 1-10" clause goes beyond the
   usual one-cell rule: two hidden cells of 3 and 4 students would otherwise
   give away a group of 7.) `suppress_breakdown` repeats this over several
   dimensions until nothing changes, because hiding a cell in one dimension can
   leave a single hidden cell in another.

   Cells whose counts were never known (every school row CDE-suppressed) are
   not in a pooled total of schools, so along SPA, district, school, community
   and similar dimensions they need no cover. Student groups are different: the
   all-students row counts those students, so all students minus the known
   groups gives the unknown groups' size; when that remainder is 1-10 the
   unknown groups are covered like a hidden cell (a remainder of 11 or more
   describes a group large enough to show).

   Known limit: figures from different filter settings (e.g. all schools and
   community schools of one SPA) are suppressed independently, so their
   difference is not checked.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from . import codes

DEFAULT_VALUE_COLS = ("rate", "numerator_n", "denominator_n")
KNOWN_COL = "__known"
RAW_COL = "__n"

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
# The row each partition adds up to.
PARTITION_TOTALS: dict[str, str] = {
    "race": "TA", "gender": "TA", "grade_spans": "TA", "grade_k8_hs": "TA", "grade_k8_parts": "GRTK8",
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
    total: object | None = None,
    min_n: int = codes.MIN_N,
) -> pl.DataFrame:
    """Complementary suppression inside each partition, repeated until it holds.

    Rows sharing `partition_cols` are the parts of one total. While a partition
    has exactly one hidden part, or hidden parts whose students add up to 1-10
    (so total minus the visible parts would show a figure under 11), the visible
    part with the smallest `n_col` (ties: row order) is hidden too.

    With `members`/`member_col`, only rows whose `member_col` value is in
    `members` take part (e.g. the race groups of a student-group breakdown).
    With `total` (the member_col value of the partition's total row, e.g. 'TA'),
    parts whose counts were never known are covered too when the visible total
    minus the known parts leaves 1-10 students: that remainder is exactly the
    unknown parts' size. Without `total`, never-known parts are in no visible
    total and need no cover. Needs a boolean `suppressed` column (run `suppress`
    first); uses the pre-suppression counts in RAW_COL when present.
    """
    cols = [c for c in (value_cols if value_cols is not None else DEFAULT_VALUE_COLS) if c in df.columns]
    if df.height == 0:
        return df
    idx = "__row"
    work = df.with_row_index(idx)
    raw = RAW_COL if RAW_COL in work.columns else n_col
    # Without the KNOWN_COL marker (a frame from `suppress` alone) every hidden cell
    # counts as known, the cautious reading.
    known = pl.col(KNOWN_COL) if KNOWN_COL in work.columns else pl.lit(True)
    keys = list(partition_cols)
    if not keys:
        work = work.with_columns(pl.lit(0).alias("__all"))
        keys = ["__all"]
    in_part = pl.col(member_col).is_in(list(members)) if members is not None and member_col is not None else pl.lit(True)
    resid = None
    if total is not None and member_col is not None:
        tot = work.filter((pl.col(member_col) == total) & ~pl.col("suppressed") & known).select(
            *keys, pl.col(raw).alias("__total")
        )
        member_sum = work.filter(in_part & known).group_by(keys).agg(pl.col(raw).sum().alias("__known_sum"))
        resid = tot.join(member_sum, on=keys, how="left", nulls_equal=True).select(
            *keys, (pl.col("__total") - pl.col("__known_sum").fill_null(0)).clip(lower_bound=0).alias("__resid")
        )
    for _ in range(work.height + 1):
        part = work.filter(in_part)
        if resid is not None:
            part = part.join(resid, on=keys, how="left", nulls_equal=True).with_columns(pl.col("__resid").fill_null(0))
        else:
            part = part.with_columns(pl.lit(0, dtype=pl.Int64).alias("__resid"))
        hidden_known = pl.col("suppressed") & known
        unknown_here = (pl.col("suppressed") & ~known).any().over(keys) & (pl.col("__resid") > 0)
        resid_small = unknown_here & (pl.col("__resid") < min_n)
        visible = ~pl.col("suppressed")
        smallest = pl.col(raw).filter(visible).min().over(keys)
        g = part.with_columns(
            (hidden_known.cast(pl.Int64).sum().over(keys) + resid_small.cast(pl.Int64)).alias("__hidden_cnt"),
            (pl.col(raw).filter(hidden_known).sum().over(keys).fill_null(0)
             + pl.when(unknown_here).then(pl.col("__resid")).otherwise(0)).alias("__hidden_sum"),
            pl.col(idx).filter(visible & (pl.col(raw) == smallest)).min().over(keys).alias("__pick"),
        )
        need = (pl.col("__hidden_cnt") >= 1) & (
            (pl.col("__hidden_cnt") == 1) | ((pl.col("__hidden_sum") > 0) & (pl.col("__hidden_sum") < min_n))
        )
        extra = g.filter(need & (pl.col(idx) == pl.col("__pick"))).get_column(idx)
        if extra.len() == 0:
            break
        work = work.with_columns((pl.col("suppressed") | pl.col(idx).is_in(extra.implode())).alias("suppressed"))
    out = work.drop([c for c in (idx, "__all") if c in work.columns])
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
    entry, with PARTITION_TOTALS as their total. Rounds repeat until no new cell
    is hidden.
    """
    df = df.with_columns(pl.col(n_col).is_not_null().alias(KNOWN_COL), pl.col(n_col).alias(RAW_COL))
    df = suppress(df, n_col=n_col, value_cols=value_cols)
    for _ in range(max_rounds):
        before = int(df.get_column("suppressed").sum()) if df.height else 0
        for d in partition_dims:
            keys = [c for c in by if c != d]
            if d == "student_group":
                for name, members in STUDENT_GROUP_PARTITIONS.items():
                    df = complementary_suppress(
                        df, keys, n_col=n_col, value_cols=value_cols, members=members, member_col=d,
                        total=PARTITION_TOTALS[name],
                    )
            else:
                df = complementary_suppress(df, keys, n_col=n_col, value_cols=value_cols)
        after = int(df.get_column("suppressed").sum()) if df.height else 0
        if after == before:
            break
    return df.drop(KNOWN_COL, RAW_COL)
