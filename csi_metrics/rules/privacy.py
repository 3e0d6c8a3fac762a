"""Small-cell suppression for every figure a person can see.

The pattern is decided once, in the build, for every cell CDE publishes
(`cell_visibility`: a school's, or a district's, figure for one year, metric and
reporting category), and stored with the data (outcomes.visible,
outcomes.hidden_reason). Every view reads it; none decides again:

1. A cell is hidden when CDE suppressed it ('*'), when it describes fewer than
   `codes.MIN_N` (11) students, or as a complementary cell: within a partition
   of an entity's students (race, gender, grade spans), no lone hidden cell and
   no hidden cells adding up to 1-10 students; no program group with 1-10
   students outside it.
2. Pooled figures (SPA, district, community schools, cohorts, ...) add up
   visible cells only (rates.raw_pooled), so a hidden cell is hidden in every
   view, and every figure shown is a sum of cells that are themselves shown: no
   difference of two views (with and without a filter, a total and its parts)
   can give a hidden cell back. The dashboard's connection masks the counts of
   hidden cells (db.open_for_display), so no view can read them at all.
3. The numerator is drawn from the same group of students as the denominator,
   so a cell of 11 or more students may show a small numerator (1-10
   chronically absent), as CDE's own files do.

`suppress` and `suppress_breakdown` (primary and complementary suppression of a
breakdown) serve both the build's decision and, as a second line, every pooled
breakdown a metric function returns: with rule 2 they rarely hide anything
more, but a figure with no visible cell still reads as suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from csi_metrics.vocabulary import codes

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


# --------------------------------------------------------------------------- the one pattern, decided in the build

# One published entity's figures: a school (or CDE's district/county/state row)
# in one year, scope and metric. Its reporting categories are the cells.
ENTITY_KEYS = ("metric", "academic_year", "aggregate_level", "cds_code", "charter_scope", "dass_scope")
HIDDEN_CDE = "cde_suppressed"          # CDE printed '*': its counts are unknown
HIDDEN_SMALL = "fewer_than_11"         # published, but a group of fewer than 11 students
HIDDEN_COMPLEMENT = "complementary"    # hidden so that a hidden cell of its partition cannot be worked out


# Groups that are part of All students whose other part is never published (the
# students not in the program): All students minus the group would size it.
PROGRAM_GROUPS = ("SD", "SE", "SF", "SH", "SM", "SS")
MAX_ROUNDS = 20


def cell_visibility(outcomes: pl.DataFrame) -> pl.DataFrame:
    """`outcomes` (the table's rows as read from CDE's files) with two columns
    added: `visible` and `hidden_reason` (null when visible).

    This is the dashboard's one suppression pattern, decided once in the build
    and stored with the data; every view reads it and none decides again:
    - a cell CDE suppressed ('*') is hidden (HIDDEN_CDE);
    - a cell whose denominator is under 11 students is hidden (HIDDEN_SMALL);
    - complementary cells (HIDDEN_COMPLEMENT), so no hidden group of 1-10
      students can be worked out by subtraction:
      * within each of an entity's partitions of its students (race, gender,
        grade spans, TK-8 and 9-12, the TK-8 spans; STUDENT_GROUP_PARTITIONS), a
        lone hidden cell, hidden cells adding up to 1-10 students, or unknown
        ('*') cells that the total minus the shown parts would size at 1-10, get
        the smallest visible cell of that partition hidden too;
      * a program group (PROGRAM_GROUPS: students with disabilities, English
        learners, ...) whose entity has 1-10 students outside it: All students
        minus the group would count them, so the group is hidden;
      repeated until every rule holds at once.

    Not a rule (said on the About page): the two files count different students
    (chronic absenteeism: eligible enrollment; suspension: cumulative enrollment),
    and their difference is a cell of neither. Hiding every school whose two
    counts differ by 1-10 would hide about one cell in six (measured on the demo:
    94,000 of 593,000), so it is not done.

    Pooled figures (SPA, district, community schools, ...) then add up visible
    cells only (rates.raw_pooled), so every number the dashboard shows is a sum
    of cells that are themselves shown, and each school's part of any difference
    of two such numbers is 0 or at least 11 students: no pair of views gives back
    a hidden cell. The counts of hidden cells stay in the table for the build's
    own checks; the dashboard's connection masks them (db.open_for_display)."""
    keys = list(ENTITY_KEYS)
    frame = outcomes.with_row_index("__i")
    small = pl.col("denominator_n").is_null() | (pl.col("denominator_n") < codes.MIN_N)
    work = frame.select(
        "__i", *keys, pl.col("reporting_category").alias("student_group"), "denominator_n",
        (pl.col("suppressed") | small).alias("__hidden"),
    )
    for _ in range(MAX_ROUNDS):
        before = int(work["__hidden"].sum())
        work = _complementary_within_entities(work, keys)
        work = _hide_small_remainders(work, keys)
        if int(work["__hidden"].sum()) == before:
            break
    out = frame.join(work.select("__i", "__hidden"), on="__i", how="left")
    return out.with_columns(
        (~pl.col("__hidden")).alias("visible"),
        pl.when(~pl.col("__hidden")).then(None)
        .when(pl.col("suppressed")).then(pl.lit(HIDDEN_CDE))
        .when(small).then(pl.lit(HIDDEN_SMALL))
        .otherwise(pl.lit(HIDDEN_COMPLEMENT)).alias("hidden_reason"),
    ).sort("__i").drop("__i", "__hidden")


def _complementary_within_entities(work: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    # Only entities with a hidden cell can need complementary cells.
    touched = work.filter(pl.col("__hidden").any().over(keys))
    if touched.height == 0:
        return work
    decided = suppress_breakdown(
        touched.with_columns(pl.col("__hidden").alias("suppressed")),
        by=[*keys, "student_group"], partition_dims=["student_group"], value_cols=(),
    ).select("__i", pl.col("suppressed").alias("__now"))
    return work.join(decided, on="__i", how="left").with_columns(
        (pl.col("__hidden") | pl.col("__now").fill_null(False)).alias("__hidden")).drop("__now")


def _hide_small_remainders(work: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """A program group with 1-10 of its entity's students outside it: All students
    minus the group would count them (the other part is never published), so the
    group is hidden."""
    shown_den = pl.when(~pl.col("__hidden")).then(pl.col("denominator_n"))
    total = work.filter(pl.col("student_group") == "TA").select(*keys, shown_den.alias("__total"))
    progs = work.filter(pl.col("student_group").is_in(PROGRAM_GROUPS)).join(total, on=keys, how="inner")
    extra = progs.filter(~pl.col("__hidden") & (pl.col("__total") - pl.col("denominator_n")).is_between(
        1, codes.MIN_N - 1)).get_column("__i")
    if extra.len() == 0:
        return work
    return work.with_columns((pl.col("__hidden") | pl.col("__i").is_in(extra.implode())).alias("__hidden"))
