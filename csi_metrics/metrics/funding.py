"""CCSPP funding: awards by SPA, cohort, grant type, district and award year;
dollars per enrolled student; the LA County share of the state total.

Attribution of a grant to a SPA:
- a school grant belongs to the grantee school's SPA ('Unassigned' when the
  school has none);
- an LEA grant belongs to the SPA of that LEA's community schools when they
  all lie in one SPA; otherwise (schools in several SPAs, or no community
  school on the roster yet) it goes to an 'LEA-wide' bucket. Dollars are never
  split between SPAs by a formula we would have to invent.
  `spa` is null for both buckets and `spa_label` names them.

Enrolment (the "students" of dollars per student): a school's cumulative
enrollment from its all-students (TA) suspension row for the year, or its
chronic absenteeism eligible enrollment when the suspension row is missing or
CDE-suppressed. A grant funds its grantee school, or for an LEA grant the LEA's
community schools. When the award year has no enrolment yet (data lag), the
latest earlier year is used. Each school counts once per award year within a
group, however many grants it received. Dollars of grants with no known
enrolment are left out of usd_per_student and reported as unmatched_usd.

Filters: year -> award year; spa, district (grantee's 7-char code), school
(grantee school), cohort, school_type (grantee school's type; LEA grants drop
out) apply. `community` is ignored: every grant is a community-school grant.
Suppression: dollars are not student counts, but enrolled_n under 11 students
is suppressed with its usd_per_student.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.rules import privacy
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics.query import fetch
from csi_metrics.metrics import query

BY_COLUMNS: dict[str, str] = {
    "spa": "g.spa_n",
    "cohort": "g.cohort",
    "grant_type": "g.grant_type",
    "district": "g.district_code",
    "award_year": "g.award_year",
    "grantee_level": "g.grantee_level",
}

LEA_WIDE = "LEA-wide"
UNASSIGNED = "Unassigned"

# One row per grant with its attributed SPA and district.
_GRANTS_SQL = """
    WITH lea_spa AS (
        SELECT district_code,
               count(DISTINCT spa_n) AS spa_count,
               bool_or(spa_n IS NULL) AS any_unassigned,
               min(spa_n) AS only_spa
        FROM schools WHERE is_community GROUP BY district_code
    )
    SELECT g.grant_id, g.grantee_cds, g.grantee_level, g.county_code, g.cohort, g.grant_type,
           g.award_year, g.amount_usd, substr(g.grantee_cds, 1, 7) AS district_code,
           gs.school_type,
           coalesce(d.district_name, sd.district_name,
                    CASE WHEN g.grantee_level = 'LEA' THEN g.grantee_name END) AS district_name,
           CASE WHEN g.grantee_level = 'school' THEN gs.spa_n
                WHEN l.spa_count = 1 AND NOT l.any_unassigned THEN l.only_spa END AS spa_n,
           CASE WHEN g.grantee_level = 'school' THEN (CASE WHEN gs.spa_n IS NULL THEN 'Unassigned' END)
                WHEN l.spa_count = 1 AND NOT l.any_unassigned THEN NULL
                ELSE 'LEA-wide' END AS spa_bucket
    FROM grants g
    LEFT JOIN schools gs ON g.grantee_level = 'school' AND gs.cds_code = g.grantee_cds
    LEFT JOIN lea_spa l ON g.grantee_level = 'LEA' AND l.district_code = substr(g.grantee_cds, 1, 7)
    LEFT JOIN districts d ON d.district_code = substr(g.grantee_cds, 1, 7)
    LEFT JOIN (SELECT district_code, min(district_name) AS district_name FROM schools GROUP BY district_code) sd
           ON sd.district_code = substr(g.grantee_cds, 1, 7)
"""

# The same rows when nothing asks for the attributed SPA, the grantee's school type or the
# district name: planning the attribution's joins costs DuckDB more than the sum itself.
_PLAIN_GRANTS_SQL = """
    SELECT g.grant_id, g.grantee_cds, g.grantee_level, g.county_code, g.cohort, g.grant_type,
           g.award_year, g.amount_usd, substr(g.grantee_cds, 1, 7) AS district_code
    FROM grants g
"""


def _needs_attribution(by: Sequence[str], filters: Filters) -> bool:
    """Whether a grant sum reads a column only _GRANTS_SQL has (spa_n, spa_bucket,
    school_type, district_name): grouped by SPA or district, or filtered by SPA or school type."""
    return "spa" in by or "district" in by or filters.spa is not None or filters.school_type is not None


# School enrolment per year of one reporting category (bound as the first parameter):
# suspension cumulative enrollment, else chronic eligible; null for a school whose
# cells are hidden (it is kept, so a total can say it left one out, not drop it).
ENROLMENT_SQL = """
    SELECT cds_code, academic_year,
           coalesce(max(denominator_n) FILTER (WHERE metric = 'suspension' AND visible),
                    max(denominator_n) FILTER (WHERE metric = 'chronic_absenteeism' AND visible)) AS enrolled_n
    FROM outcomes
    WHERE aggregate_level = 'S' AND reporting_category = ? {schools}
    GROUP BY cds_code, academic_year
"""


def _enrolment_sql(school_conds: list[str] | None = None) -> str:
    """ENROLMENT_SQL, for the schools matching `school_conds` (conditions on `schools s`;
    their parameters follow the reporting category) when given: filtered before the
    aggregation, so a state-scale table is not summed school by school to keep one county."""
    if not school_conds:
        return ENROLMENT_SQL.format(schools="")
    return ENROLMENT_SQL.format(
        schools=f"AND cds_code IN (SELECT s.cds_code FROM schools s WHERE {' AND '.join(school_conds)})")


# Grants are made to community schools and their LEAs: the community filter and
# the student group have no meaning for a dollar, and are left out on purpose.
GRANT_SKIP = ("community", "student_group")


def _where(filters: Filters, county_code: str | None) -> tuple[list[str], list[object]]:
    return query.where(filters, query.GRANTS, skip=GRANT_SKIP, county_code=county_code)


def _select_by(by: list[str]) -> tuple[str, str]:
    cols = [f"{BY_COLUMNS[b]} AS {b}" for b in by]
    if "spa" in by:
        cols.append("any_value(g.spa_bucket) AS spa_bucket")
    if "district" in by:
        cols.append("any_value(g.district_name) AS district_name")
    group = ", ".join([BY_COLUMNS[b] for b in by] + (["g.spa_bucket"] if "spa" in by else []))
    return ", ".join(cols), group


def _spa_label(df: pl.DataFrame) -> pl.DataFrame:
    if "spa" not in df.columns:
        return df
    labels = {n: codes.spa_label(n) for n in codes.SPA_NAMES}
    return df.with_columns(
        pl.when(pl.col("spa").is_not_null())
        .then(pl.col("spa").replace_strict(labels, default=None, return_dtype=pl.String))
        .otherwise(pl.col("spa_bucket"))
        .alias("spa_label")
    ).drop("spa_bucket")


def awards(
    con: duckdb.DuckDBPyConnection,
    by: Sequence[str],
    filters: Filters = Filters(),
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """Sum of award amounts and number of grants for each combination of `by`
    (spa, cohort, grant_type, district, award_year, grantee_level). LA County
    grantees only unless county_code is None. Columns: *by, [spa_label],
    [district_name], amount_usd, grants_n. SPA attribution as in the module docstring."""
    by = query.check_by(by, BY_COLUMNS)
    conds, params = _where(filters, county_code)
    return _summed(con, by, conds, params, _needs_attribution(by, filters))


def awards_to_date(
    con: duckdb.DuckDBPyConnection,
    by: Sequence[str],
    filters: Filters = Filters(),
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """Awards made in every award year up to and including filters.year (every
    award year when None), summed for each combination of `by`: the Funding
    page's default and the headline's 'CCSPP dollars awarded to date'.
    amount_usd = sum of those grants' award amounts, grants_n = their number;
    other filters, SPA attribution and columns as in awards(). Dollars are not
    student counts: nothing is suppressed."""
    by = query.check_by(by, BY_COLUMNS)
    conds, params = _where(filters.with_(year=None), county_code)
    if filters.year is not None:
        conds.append("g.award_year <= ?")
        params.append(filters.year)
    return _summed(con, by, conds, params, _needs_attribution(by, filters))


def _summed(con: duckdb.DuckDBPyConnection, by: list[str], conds: list[str], params: list[object],
            attributed: bool = True) -> pl.DataFrame:
    sel, group = _select_by(by)
    sql = f"""
        SELECT {sel + ',' if sel else ''}
               CAST(coalesce(sum(g.amount_usd), 0) AS BIGINT) AS amount_usd,
               CAST(count(*) AS BIGINT) AS grants_n
        FROM ({_GRANTS_SQL if attributed else _PLAIN_GRANTS_SQL}) g
        {'WHERE ' + ' AND '.join(conds) if conds else ''}
        {'GROUP BY ' + group if group else ''}
        {'ORDER BY ' + group if group else ''}
    """
    df = _spa_label(fetch(con, sql, params))
    return df.select([*by, *_label_cols(by), "amount_usd", "grants_n"])


def _label_cols(by: Sequence[str]) -> list[str]:
    return (["spa_label"] if "spa" in by else []) + (["district_name"] if "district" in by else [])


def _district_names(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> pl.DataFrame:
    if "district" not in df.columns:
        return df
    names = fetch(
        con, f"SELECT DISTINCT district_code AS district, district_name FROM ({_GRANTS_SQL}) g"
    ).unique(subset="district", keep="first")
    return df.join(names, on="district", how="left", nulls_equal=True)


def dollars_per_student(
    con: duckdb.DuckDBPyConnection,
    by: Sequence[str],
    filters: Filters = Filters(),
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
    to_date: bool = False,
) -> pl.DataFrame:
    """Dollars per enrolled student: amount of grants whose funded schools have
    a known enrolment, divided by enrolled_n (each funded school's enrolment in
    the award year, counted once per school and award year within a group).
    With `to_date`, the grants of every award year up to and including
    filters.year (as awards_to_date), not of that year alone.
    Columns: *by, [spa_label], amount_usd (all grants), enrolled_n,
    usd_per_student, unmatched_usd (dollars with no enrolment), schools_n,
    suppressed (enrolled_n under 11: enrolled_n and usd_per_student null)."""
    by = query.check_by(by, BY_COLUMNS)
    conds, params = _where(filters.with_(year=None) if to_date else filters, county_code)
    if to_date and filters.year is not None:
        conds.append("g.award_year <= ?")
        params.append(filters.year)
    keys = [BY_COLUMNS[b].replace("g.", "") for b in by]
    key_sel = ", ".join(f"{k} AS {b}" for k, b in zip(keys, by))
    key_sel_g = ", ".join(f"g.{k} AS {b}" for k, b in zip(keys, by))
    bucket = ["spa_bucket"] if "spa" in by else []
    group_cols = ", ".join(list(by) + bucket)
    sql = f"""
        WITH g AS (SELECT * FROM ({_GRANTS_SQL}) g {'WHERE ' + ' AND '.join(conds) if conds else ''}),
        enrol AS ({_enrolment_sql()}),
        funded AS (
            SELECT g.grant_id, s.cds_code, g.award_year
            FROM g JOIN schools s
              ON (g.grantee_level = 'school' AND s.cds_code = g.grantee_cds)
              OR (g.grantee_level = 'LEA' AND s.district_code = g.district_code AND s.is_community)
        ),
        funded_enrol AS (
            SELECT f.grant_id, f.cds_code, f.award_year, e.enrolled_n
            FROM funded f ASOF LEFT JOIN enrol e
              ON e.cds_code = f.cds_code AND f.award_year >= e.academic_year
        ),
        grant_known AS (
            SELECT grant_id, bool_or(enrolled_n IS NOT NULL) AS known FROM funded_enrol GROUP BY grant_id
        ),
        money AS (
            SELECT {key_sel + ',' if key_sel else ''} {'spa_bucket,' if bucket else ''}
                   sum(g.amount_usd) AS amount_usd,
                   sum(g.amount_usd) FILTER (WHERE coalesce(k.known, FALSE)) AS matched_usd
            FROM g LEFT JOIN grant_known k USING (grant_id)
            {'GROUP BY ' + group_cols if group_cols else ''}
        ),
        students AS (
            SELECT {', '.join(list(by) + bucket) + ',' if by or bucket else ''}
                   sum(enrolled_n) AS enrolled_n, count(DISTINCT cds_code) AS schools_n
            FROM (SELECT DISTINCT {key_sel_g + ',' if key_sel_g else ''} {'g.spa_bucket,' if bucket else ''}
                         fe.cds_code, fe.award_year AS funded_year, fe.enrolled_n
                  FROM g JOIN funded_enrol fe USING (grant_id) WHERE fe.enrolled_n IS NOT NULL)
            {'GROUP BY ' + group_cols if group_cols else ''}
        )
        SELECT {', '.join(f'm.{c}' for c in list(by) + bucket) + ',' if by or bucket else ''}
               CAST(coalesce(m.amount_usd, 0) AS BIGINT) AS amount_usd,
               CAST(st.enrolled_n AS BIGINT) AS enrolled_n,
               CAST(coalesce(m.matched_usd, 0) AS DOUBLE) AS matched_usd,
               CAST(coalesce(st.schools_n, 0) AS BIGINT) AS schools_n
        FROM money m LEFT JOIN students st
          ON {' AND '.join(f'm.{c} IS NOT DISTINCT FROM st.{c}' for c in list(by) + bucket) or 'TRUE'}
        {'ORDER BY ' + ', '.join(f'm.{c}' for c in list(by) + bucket) if by or bucket else ''}
    """
    df = fetch(con, sql, [*params, "TA"])  # the enrolment CTE's group comes after the grant filters
    df = df.with_columns(
        pl.when(pl.col("enrolled_n") > 0).then(pl.col("matched_usd") / pl.col("enrolled_n")).otherwise(None)
        .alias("usd_per_student"),
        (pl.col("amount_usd") - pl.col("matched_usd")).round(0).cast(pl.Int64).alias("unmatched_usd"),
    )
    df = privacy.suppress(df, n_col="enrolled_n", value_cols=("enrolled_n", "usd_per_student"))
    df = _district_names(con, _spa_label(df))
    return df.select(
        [*by, *_label_cols(by), "amount_usd", "enrolled_n", "usd_per_student",
         "unmatched_usd", "schools_n", "suppressed"]
    )


def la_share_of_state(con: duckdb.DuckDBPyConnection, award_year: str | None = None) -> pl.DataFrame:
    """LA County's share of every CCSPP dollar in the grants table: la_usd (grants
    with county_code '19') / state_usd (all grants). One row: la_usd, state_usd,
    la_share_rate (null when there are no dollars). The share is only as
    complete as the grants table: it is the state total only when the table
    holds every county's awards."""
    conds = ["TRUE"]
    params: list[object] = [codes.LA_COUNTY_CODE]
    if award_year is not None:
        conds.append("award_year = ?")
        params.append(award_year)
    df = fetch(
        con,
        f"""SELECT CAST(coalesce(sum(amount_usd) FILTER (WHERE county_code = ?), 0) AS BIGINT) AS la_usd,
                   CAST(coalesce(sum(amount_usd), 0) AS BIGINT) AS state_usd
            FROM grants WHERE {' AND '.join(conds)}""",
        params,
    )
    return df.with_columns(
        pl.when(pl.col("state_usd") > 0).then(pl.col("la_usd") / pl.col("state_usd")).otherwise(None)
        .alias("la_share_rate")
    )


def school_enrolment(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """Each school's enrolment of filters.student_group in filters.year, as
    enrolled_students adds it up (null for a school whose cell is hidden).
    Columns: cds_code, enrolled_n."""
    conds, params = query.where(filters, query.SCHOOLS, skip=("year", "student_group"), county_code=county_code)
    enrol = _enrolment_sql(conds)
    inner = list(params) if conds else []
    conds.append("e.academic_year = ?")
    params.append(filters.year)
    return fetch(
        con,
        f"""WITH e AS ({enrol})
            SELECT e.cds_code, CAST(e.enrolled_n AS BIGINT) AS enrolled_n
            FROM e JOIN schools s ON s.cds_code = e.cds_code WHERE {' AND '.join(conds)}""",
        [filters.student_group, *inner, *params],
    )


def enrolled_students(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    county_code: str | None = codes.LA_COUNTY_CODE,
) -> pl.DataFrame:
    """Students of filters.student_group enrolled in the schools matching `filters`
    in filters.year (every year when None): sum of each school's enrolment
    (suspension cumulative enrollment, else chronic absenteeism eligible
    enrollment) of that group. Columns: year,
    enrolled_n, schools_n, hidden_schools_n, suppressed. Only schools whose
    all-students cell is visible are added up (privacy.cell_visibility); the rest
    are counted in hidden_schools_n. enrolled_n is null and suppressed true when
    no school's enrolment can be shown."""
    conds, params = query.where(filters, query.SCHOOLS, skip=("year", "student_group"), county_code=county_code)
    enrol = _enrolment_sql(conds)
    inner = list(params) if conds else []
    if filters.year is not None:
        conds.append("e.academic_year = ?")
        params.append(filters.year)
    df = fetch(
        con,
        f"""WITH e AS ({enrol})
            SELECT e.academic_year AS year, CAST(sum(e.enrolled_n) AS BIGINT) AS enrolled_n,
                   CAST(count(e.enrolled_n) AS BIGINT) AS schools_n,
                   CAST(count(*) - count(e.enrolled_n) AS BIGINT) AS hidden_schools_n
            FROM e JOIN schools s ON s.cds_code = e.cds_code
            {'WHERE ' + ' AND '.join(conds) if conds else ''}
            GROUP BY 1 ORDER BY 1""",
        [filters.student_group, *inner, *params],
    )
    return privacy.suppress(df, n_col="enrolled_n", value_cols=("enrolled_n",))
