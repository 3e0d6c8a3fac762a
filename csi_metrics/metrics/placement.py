"""Dashboard placement: the one rule every view uses to give a figure its
California School Dashboard level and colour.

`place(con, metric, by, filters)` decides, for each group of `by` under
`filters`, everything the other views used to decide each for itself:
- which rows: chronic absenteeism is a TK-8 indicator, so it is placed on the
  GRTK8 (grades TK-8) rows; a school or group with no TK-8 students is "not
  applicable". DataQuest has no TK-8 rows by student group, so a student
  group other than All students gets no computed chronic absenteeism colour
  (CDE's official file may give one). Suspension is placed on the rows shown;
- which cut set: suspension by school type for schools and school types, by
  LEA type for districts, the unified set for pooled groups (SPA, county,
  community schools), which CDE never colours itself;
- which year rule: no Dashboard for 2019-20 and 2020-21 data (the 2020 and
  2021 Dashboards were not published), status only for 2021-22 (the 2022
  Dashboard), status, change and colour otherwise;
- the Dashboard's own rules (csi_metrics.rules.levels): status rounded half up to
  0.1 from the unrounded rate, change from unrounded rates, no colour under 30
  students, the 3x5 grid under 150;
- official or computed: where CDE's own Dashboard file was loaded
  (dashboard_official) for a school or district, its level and colour are
  shown, labelled official; otherwise the placement is computed here and
  labelled "Dashboard-style, computed from DataQuest" (DataQuest counts any
  suspension, the Dashboard only a full day or more; CDE never colours pooled
  groups; so the two can differ: `reconcile` counts where they do).

Every placement carries `placed_rate`, the rate it was placed on (the TK-8
rate for chronic absenteeism, which is not the all-grades rate DataQuest shows
beside it), and `level_note` for every missing colour. A level is never given
to a figure that is hidden (privacy.cell_visibility): it would narrow it down.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.rules import levels
from csi_metrics.metrics import rates
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics import query

SOURCE_OFFICIAL = "official"
SOURCE_COMPUTED = "computed"
SOURCE_LABELS = {
    SOURCE_OFFICIAL: "California School Dashboard (CDE's official file)",
    SOURCE_COMPUTED: "Dashboard-style, computed from DataQuest",
}
TK8 = "GRTK8"

NOTE_NO_DASHBOARD = "no Dashboard that year (CDE published none in 2020 and 2021)"
NOTE_STATUS_ONLY = "status only: the 2022 Dashboard gave no change or colour"
NOTE_NOT_APPLICABLE = "not applicable: the indicator covers grades TK-8"
NOTE_NO_TK8_GROUP = "not computed: DataQuest has no TK-8 figure by student group"
NOTE_OFFICIAL_NONE = "no colour in CDE's Dashboard file"

# Data (academic) year -> what the Dashboard released for it.
YEAR_RULES = {"2019-20": "none", "2020-21": "none", "2021-22": "status_only"}

COLUMNS = {
    "placed_group": pl.String, "placed_rate": pl.Float64, "placed_prior_rate": pl.Float64,
    "placed_change_pp": pl.Float64, "status_level": pl.String, "change_level": pl.String, "color": pl.String,
    "level_note": pl.String, "level_source": pl.String, "cut_set": pl.String, "cut_set_note": pl.String,
}


def dashboard_year(academic_year: str) -> int:
    """The Dashboard that reports an academic year's data: 2023-24 -> 2024."""
    return codes.year_start(academic_year) + 1


def year_rule(academic_year: str) -> str:
    """'none', 'status_only' or 'full' for a data year."""
    return YEAR_RULES.get(academic_year, "full")


def _placed_group(metric: str, group: str) -> str | None:
    if metric == "chronic_absenteeism":
        return TK8 if group == "TA" else None
    return group


def _cut_sets(con: duckdb.DuckDBPyConnection, metric: str, by: list[str], frame: pl.DataFrame,
              filters: Filters) -> pl.Series:
    """The cut set of every row of `frame` (keyed by `by`)."""
    n = frame.height
    if metric == "chronic_absenteeism":
        return pl.Series("cut_set", ["chronic_absenteeism"] * n, dtype=pl.String)
    if "school" in by:
        types = query.fetch(con, "SELECT cds_code AS school, school_type FROM schools")
        t = frame.select("school").join(types, on="school", how="left")["school_type"]
        return levels.suspension_cut_set_expr(t).alias("cut_set")
    if "school_type" in by:
        return levels.suspension_cut_set_expr(frame["school_type"]).alias("cut_set")
    if "district" in by:
        lea = query.fetch(con, "SELECT district_code AS district, lea_type FROM districts")
        t = frame.select("district").join(lea, on="district", how="left")["lea_type"]
        return levels.lea_cut_set_expr(t).alias("cut_set")
    if filters.school is not None:
        st = query.fetch(con, "SELECT school_type FROM schools WHERE cds_code = ?", [filters.school])
        cut = levels.suspension_cut_set(st.item() if st.height else "other")
    elif filters.school_type is not None:
        cut = levels.suspension_cut_set(filters.school_type)
    elif filters.district is not None and _only_district(filters):
        lt = query.fetch(con, "SELECT lea_type FROM districts WHERE district_code = ?", [filters.district])
        cut = levels.suspension_cut_set(lea_type=lt.item() if lt.height else None)
    else:
        cut = "suspension_unified"
    return pl.Series("cut_set", [cut] * n, dtype=pl.String)


def _only_district(f: Filters) -> bool:
    return f.spa is None and f.community == "all" and f.cohort is None and f.school_type is None


def _year_of(frame: pl.DataFrame, filters: Filters) -> pl.Expr:
    return pl.col("year") if "year" in frame.columns else pl.lit(filters.year, dtype=pl.String)


def _join(a: pl.DataFrame, b: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """a left-joined with b on `by`; with no `by` both are one-row frames, side by side."""
    if by:
        return a.join(b, on=by, how="left", nulls_equal=True)
    if b.height == 0:
        return a.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in b.schema.items())
    return a.join(b, how="cross")


def _pooled_with_prior(con: duckdb.DuckDBPyConnection, metric: str, by: list[str], filters: Filters,
                       group_col_rows: str | None) -> pl.DataFrame:
    """by, rate, denominator_n, suppressed, prior_rate for the placement rows."""
    if "year" in by:
        every = rates.pooled_rates(con, metric, by, filters.with_(year=None))
        prior = every.select(
            codes.shift_year_expr(pl.col("year")).alias("year"),
            *[c for c in by if c != "year"], pl.col("rate").alias("prior_rate"))
        cur = every
    else:
        prev = codes.previous_year(filters.year)
        pair = rates.pooled_rates_in_years(con, metric, by, filters, [filters.year, prev])
        cur, prior = pair[filters.year], pair[prev].select(*by, pl.col("rate").alias("prior_rate"))
    if group_col_rows is not None:
        # A by-group frame: All students and the TK-8 group itself are placed on the TK-8 row.
        def tk8_as_both(df: pl.DataFrame) -> pl.DataFrame:
            tk8 = df.filter(pl.col("student_group") == group_col_rows)
            return pl.concat([tk8, tk8.with_columns(pl.lit("TA").alias("student_group"))])

        cur, prior = tk8_as_both(cur), tk8_as_both(prior)
    return _join(cur.select(*by, "rate", "denominator_n", "suppressed"), prior, by)


def place(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    by: Sequence[str],
    filters: Filters,
    *,
    official: bool = True,
) -> pl.DataFrame:
    """The Dashboard placement of every group of `by` under `filters` (see the
    module docstring), one row per group the figure itself (filters.student_group,
    or each group when by has 'student_group') has: *by, placed_group,
    placed_rate (0-1, unrounded: the rate placed), placed_prior_rate,
    placed_change_pp (pp, unrounded), status_level, change_level, color,
    level_note (why a colour is missing, or the 3x5 grid), level_source
    ('official' | 'computed' | null), cut_set, cut_set_note (a set not
    confirmed for that Dashboard year). filters.year None = the latest year.
    With official=False, CDE's files are not consulted (for `reconcile`).
    Suppression: where the figure shown (the DataQuest cell of the group) is
    hidden, every placement column is null and level_note is 'suppressed'."""
    rates.check_metric(metric)
    by = query.check_by(by, rates.BY_COLUMNS)
    if filters.year is None and "year" not in by:
        latest = query.fetch(con, "SELECT max(academic_year) AS y FROM outcomes WHERE metric = ?", [metric]).item()
        filters = filters.with_(year=latest)
    with rates.reuse():  # the figure shown and the one placed are often the same pooled frame
        return _place(con, metric, by, filters, official)


def _place(con: duckdb.DuckDBPyConnection, metric: str, by: list[str], filters: Filters,
           official: bool) -> pl.DataFrame:
    by_group = "student_group" in by
    if by_group:
        tk8_rows = TK8 if metric == "chronic_absenteeism" else None
        placed = _pooled_with_prior(con, metric, by, filters, tk8_rows)
        if tk8_rows is None:
            placed = placed.filter(pl.col("student_group").is_not_null())
    else:
        group = _placed_group(metric, filters.student_group)
        placed = _pooled_with_prior(con, metric, by, filters.with_(student_group=group), None) if group else None
    # The figure a person sees beside the level: its suppression decides whether a level may show.
    # (After the placed rows: when they are the shown group's, it is already pooled.)
    shown_f = filters.with_(year=None) if "year" in by else filters
    shown = rates.pooled_rates(con, metric, by, shown_f).select(*by, pl.col("suppressed").alias("__hidden"))
    out = shown
    if placed is not None and placed.height:
        out = _join(out, placed, by)
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias("rate"),
                               pl.lit(None, dtype=pl.Int64).alias("denominator_n"),
                               pl.lit(None, dtype=pl.Boolean).alias("suppressed"),
                               pl.lit(None, dtype=pl.Float64).alias("prior_rate"))
    out = out.with_columns(_cut_sets(con, metric, by, out, filters))
    out = out.with_columns(_year_of(out, filters).alias("__year"))
    if metric == "chronic_absenteeism":
        group_of = pl.col("student_group") if by_group else pl.lit(filters.student_group)
        out = out.with_columns(pl.when(group_of.is_in(["TA", TK8])).then(pl.lit(TK8)).alias("placed_group"))
    else:
        out = out.with_columns((pl.col("student_group") if by_group else pl.lit(filters.student_group))
                               .alias("placed_group"))
    placed_cols = _placed_columns(metric, out)
    result = pl.concat([out.select(*by, "placed_group", "cut_set", "__year"), placed_cols], how="horizontal")
    if official:
        result = _overlay_official(con, metric, by, filters, result, shown)
    return result.select(*by, *COLUMNS)


def _placed_columns(metric: str, out: pl.DataFrame) -> pl.DataFrame:
    """The placement columns of every group of `out` (see `place`), a whole column at
    a time: which rule leaves a group without a level (hidden, no Dashboard that year,
    no TK-8 group, no TK-8 row), then levels.assess_frame for the rest."""
    names = {k: v for k, v in COLUMNS.items() if k not in ("placed_group", "cut_set")}
    if out.height == 0:
        return pl.DataFrame(schema=names)
    year = pl.col("__year")
    rule = (pl.when(year.is_null()).then(pl.lit("full"))
            .otherwise(year.replace_strict(YEAR_RULES, default="full", return_dtype=pl.String)))
    supp = pl.col("suppressed").fill_null(False)
    # A group with no placement row reads as not suppressed (a row-by-row `not None`).
    no_row_note = NOTE_NOT_APPLICABLE if metric == "chronic_absenteeism" else levels.NOTE_SUPPRESSED
    w = out.select(
        pl.col("__hidden").fill_null(False).alias("hidden"), rule.alias("rule"), year,
        pl.col("placed_group").is_null().alias("no_group"),
        (pl.col("denominator_n").is_null() & ~supp).alias("no_row"),
        "rate", "denominator_n", "prior_rate", "cut_set", supp.alias("suppressed"),
    )
    skip_note = (pl.when(pl.col("hidden")).then(pl.lit(levels.NOTE_SUPPRESSED))
                 .when(pl.col("rule") == "none").then(pl.lit(NOTE_NO_DASHBOARD))
                 .when(pl.col("no_group")).then(pl.lit(NOTE_NO_TK8_GROUP))
                 .when(pl.col("no_row")).then(pl.lit(no_row_note)))
    w = w.with_columns(skip_note.alias("skip_note"))
    full = pl.col("rule") == "full"
    a = levels.assess_frame(metric, w.select(
        "rate", "denominator_n", pl.when(full).then(pl.col("prior_rate")).alias("prior_rate"), "cut_set",
        "suppressed"))
    w = pl.concat([w, a], how="horizontal")
    assessed = pl.col("skip_note").is_null()
    shown = assessed & ~pl.col("suppressed")
    placed = assessed & pl.col("status_level").is_not_null()
    # Each cut set's note for each Dashboard year, worked out once per pair, not per row.
    pairs = w.filter(placed & year.is_not_null()).select("cut_set", "__year").unique()
    notes = pl.DataFrame(
        [(c, y, levels.confirmation_note(c, dashboard_year(y))) for c, y in pairs.iter_rows()],
        schema={"cut_set": pl.String, "__year": pl.String, "cut_set_note": pl.String}, orient="row")
    w = w.join(notes, on=["cut_set", "__year"], how="left", maintain_order="left")
    return w.select(
        pl.when(shown).then(pl.col("rate")).alias("placed_rate"),
        pl.when(shown & full).then(pl.col("prior_rate")).alias("placed_prior_rate"),
        pl.when(shown & full).then((pl.col("rate") - pl.col("prior_rate")) * 100).alias("placed_change_pp"),
        pl.when(assessed).then(pl.col("status_level")).alias("status_level"),
        pl.when(assessed).then(pl.col("change_level")).alias("change_level"),
        pl.when(assessed).then(pl.col("color")).alias("color"),
        pl.when(~assessed).then(pl.col("skip_note"))
        .when((pl.col("rule") == "status_only") & placed).then(pl.lit(NOTE_STATUS_ONLY))
        .otherwise(pl.col("level_note")).alias("level_note"),
        pl.when(placed).then(pl.lit(SOURCE_COMPUTED)).alias("level_source"),
        pl.when(placed).then(pl.col("cut_set_note")).alias("cut_set_note"),
    ).cast(names)


def _entity(by: list[str], filters: Filters) -> tuple[str, str] | None:
    """('S'|'D', how the entity's CDS code is found) when the rows are single schools or
    districts, the only figures CDE's own file places; None for pooled groups."""
    if by and by[0] == "school" and len(by) <= 2:
        return "S", "school"
    if by and by[0] == "district" and len(by) <= 2 and _only_district(filters) and filters.school is None:
        return "D", "district"
    rest = [b for b in by if b not in ("year", "student_group")]
    if not rest and filters.school is not None:
        return "S", "filter_school"
    if not rest and filters.district is not None and filters.school is None and _only_district(filters):
        return "D", "filter_district"
    return None


def _has_official(con: duckdb.DuckDBPyConnection) -> bool:
    return rates.remembered(("has_official", id(con)), lambda: query.fetch(
        con, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'dashboard_official'").item() > 0)


def _overlay_official(con: duckdb.DuckDBPyConnection, metric: str, by: list[str], filters: Filters,
                      result: pl.DataFrame, shown: pl.DataFrame) -> pl.DataFrame:
    entity = _entity(by, filters)
    if entity is None or not _has_official(con):
        return result
    rtype, how = entity
    # Only the years and groups the result has: the file holds every school of the state.
    years = result["__year"].drop_nulls().unique().to_list()
    groups = result["student_group"].drop_nulls().unique().to_list() if "student_group" in by \
        else [filters.student_group]
    if not years or not groups:
        return result
    off = query.fetch(con, f"""
        SELECT cds_code, academic_year AS __year, student_group AS __group, status_pct, prior_status_pct,
               change_pp, status_level, change_level, color, n_size_met
        FROM dashboard_official WHERE indicator = ? AND rtype = ?
          AND academic_year IN ({', '.join('?' for _ in years)})
          AND student_group IN ({', '.join('?' for _ in groups)})""", [metric, rtype, *years, *groups])
    if off.is_empty():
        return result
    if how == "school":
        key = pl.col("school")
    elif how == "district":
        key = pl.col("district") + "0000000"
    elif how == "filter_school":
        key = pl.lit(filters.school)
    else:
        key = pl.lit(filters.district + "0000000")
    group = pl.col("student_group") if "student_group" in by else pl.lit(filters.student_group)
    work = result.with_columns(key.alias("__cds"), group.alias("__group"))
    work = work.join(off.rename({"cds_code": "__cds"}), on=["__cds", "__year", "__group"], how="left",
                     suffix="_off")
    # level_note is null for an ordinary placement: a bare == would make `use` null, i.e. false
    hidden = (pl.col("level_note") == levels.NOTE_SUPPRESSED).fill_null(False)
    use = pl.col("status_level_off").is_not_null() & ~hidden
    status_only = pl.col("__year").is_in([y for y, r in YEAR_RULES.items() if r == "status_only"])
    note = (pl.when(status_only).then(pl.lit(NOTE_STATUS_ONLY))
            .when(pl.col("color_off").is_null() & ~pl.col("n_size_met").fill_null(True))
            .then(pl.lit(levels.NOTE_FEWER_THAN_30))
            .when(pl.col("color_off").is_null()).then(pl.lit(NOTE_OFFICIAL_NONE)))
    work = work.with_columns(
        pl.when(use).then(pl.col("status_pct") / 100).otherwise(pl.col("placed_rate")).alias("placed_rate"),
        pl.when(use).then(pl.col("prior_status_pct") / 100).otherwise(pl.col("placed_prior_rate"))
        .alias("placed_prior_rate"),
        pl.when(use).then(pl.col("change_pp")).otherwise(pl.col("placed_change_pp")).alias("placed_change_pp"),
        pl.when(use).then(pl.col("status_level_off")).otherwise(pl.col("status_level")).alias("status_level"),
        pl.when(use).then(pl.col("change_level_off")).otherwise(pl.col("change_level")).alias("change_level"),
        pl.when(use).then(pl.col("color_off")).otherwise(pl.col("color")).alias("color"),
        pl.when(use).then(note).otherwise(pl.col("level_note")).alias("level_note"),
        pl.when(use).then(pl.lit(SOURCE_OFFICIAL)).otherwise(pl.col("level_source")).alias("level_source"),
        pl.when(use).then(None).otherwise(pl.col("cut_set_note")).alias("cut_set_note"),
    )
    return work.drop([c for c in work.columns if c.endswith("_off") or c.startswith("__cds") or c in (
        "__group", "status_pct", "prior_status_pct", "change_pp", "n_size_met")])


def label(source: str | None) -> str:
    """How a level's source reads beside it."""
    return SOURCE_LABELS.get(source or "", "")


def colour_sentence(sources: "pl.Series | list[str | None]", metric: str | None = None) -> str:
    """The caption words for the colours a view shows, from their level_source values:
    official, computed, or both, and what computed means."""
    present = {s for s in (sources.to_list() if isinstance(sources, pl.Series) else sources) if s}
    parts = []
    if SOURCE_OFFICIAL in present:
        parts.append("CDE's official California School Dashboard colour where its Dashboard file has one")
    if SOURCE_COMPUTED in present:
        parts.append("Dashboard-style colours computed from DataQuest with CDE's five-by-five tables (DataQuest "
                     "counts differ from the Dashboard's, and CDE never colours pooled groups)")
    if not parts:
        return "No Dashboard colour applies here."
    tk8 = " Chronic absenteeism is placed on grades TK-8, the Dashboard's own indicator." \
        if metric == "chronic_absenteeism" else ""
    return "Colours: " + "; ".join(parts) + "." + tk8


RECONCILE_COLUMNS = {"indicator": pl.String, "dashboard_year": pl.Int64, "schools_compared_n": pl.Int64,
                     "same_colour_n": pl.Int64, "different_colour_n": pl.Int64}


def reconcile(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """How the computed placement compares with CDE's official one, for every school
    whose all-students figure has an official colour in a loaded Dashboard file.

    Returns (summary, differences). summary: indicator, dashboard_year,
    schools_compared_n (official and computed colour both present),
    same_colour_n, different_colour_n. differences: indicator, dashboard_year,
    cds_code, school_name, official_color, computed_color, official_status_pct,
    computed_status_pct (the TK-8 / all-students rate placed, rounded half up)."""
    empty = (pl.DataFrame(schema=RECONCILE_COLUMNS), pl.DataFrame())
    if not _has_official(con):
        return empty
    years = query.fetch(con, """SELECT DISTINCT indicator, academic_year FROM dashboard_official
                                 WHERE rtype = 'S' AND student_group = 'TA' AND color IS NOT NULL ORDER BY 1, 2""")
    summary, diffs = [], []
    for indicator, year in years.iter_rows():
        off = query.fetch(con, """SELECT cds_code AS school, color AS official_color, status_pct AS official_status_pct
                                  FROM dashboard_official WHERE indicator = ? AND academic_year = ? AND rtype = 'S'
                                    AND student_group = 'TA' AND color IS NOT NULL""", [indicator, year])
        comp = place(con, indicator, ["school"], Filters(year=year), official=False).select(
            "school", pl.col("color").alias("computed_color"),
            (pl.col("placed_rate") * 100).alias("computed_status_pct"))
        both = off.join(comp, on="school", how="inner").filter(pl.col("computed_color").is_not_null())
        same = both.filter(pl.col("official_color") == pl.col("computed_color")).height
        summary.append({"indicator": indicator, "dashboard_year": dashboard_year(year),
                        "schools_compared_n": both.height, "same_colour_n": same,
                        "different_colour_n": both.height - same})
        names = query.fetch(con, "SELECT cds_code AS school, school_name FROM schools")
        d = both.filter(pl.col("official_color") != pl.col("computed_color")).join(names, on="school", how="left")
        diffs.append(d.select(pl.lit(indicator).alias("indicator"), pl.lit(dashboard_year(year)).alias("dashboard_year"),
                              pl.col("school").alias("cds_code"), "school_name", "official_color", "computed_color",
                              "official_status_pct", "computed_status_pct"))
    return (pl.DataFrame(summary, schema=RECONCILE_COLUMNS),
            pl.concat(diffs, how="vertical") if diffs else pl.DataFrame())
