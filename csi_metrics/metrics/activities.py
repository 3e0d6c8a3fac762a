"""Initiative activity counts: learning opportunities, support sessions,
referrals, engagement events and item distributions, with attendees, unique
individuals and items, by activity type, SPA, month and academic year, and
year over year.

Definitions:
- activities_n: logged activities; learning_opportunities_n, support_sessions_n,
  referrals_n, engagement_events_n and distributions_n split it by type.
- attendees_n: sum of each activity's attendance count (a person who came to
  two activities counts twice); blank counts add nothing.
- unique_individuals_n: distinct pseudonymous person keys in the attendance
  records of the activities in the cell. People are not additive across cells
  (one person can attend in two SPAs), so cells are not a partition and no
  complementary suppression is needed; but a cell describing fewer than 11
  people is suppressed (null, unique_suppressed=True). Activities count adults
  and events, not students; the count of people is what could identify someone.
- items_n: sum of items distributed.

Filters: year -> academic year of the activity date (July-June); spa ->
activity SPA (the build fills it from the school when blank); district and
school -> the activity's CDS code; community, cohort and school_type -> the
activity's school (activities with no school drop out when one is set).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics import query
from csi_metrics.metrics.query import fetch

BY_COLUMNS: dict[str, str] = {
    "activity_type": "a.activity_type",
    "spa": "a.spa_n",
    "month": "strftime(a.activity_date, '%Y-%m')",
    "year": "a.academic_year",
}

TYPE_COUNTS = {
    "learning_opportunities_n": "learning_opportunity",
    "support_sessions_n": "support_session",
    "referrals_n": "referral",
    "engagement_events_n": "engagement_event",
    "distributions_n": "items_distributed",
}

VALUE_COLUMNS = ["activities_n", *TYPE_COUNTS, "attendees_n", "unique_individuals_n", "unique_suppressed", "items_n"]


def _where(filters: Filters) -> tuple[list[str], list[object], bool]:
    # An activity serves everyone who comes: the student group has no meaning here.
    conds, params = query.where(filters, query.ACTIVITIES, skip=("student_group",), county_code=None)
    return conds, params, query.needs_schools(filters, query.ACTIVITIES)


def activity_counts(
    con: duckdb.DuckDBPyConnection,
    by: Sequence[str],
    filters: Filters = Filters(),
) -> pl.DataFrame:
    """Counts for each combination of `by` (activity_type, spa, month
    'YYYY-MM', year). Columns: *by, activities_n, learning_opportunities_n,
    support_sessions_n, referrals_n, engagement_events_n, distributions_n,
    attendees_n, unique_individuals_n, unique_suppressed, items_n.
    unique_individuals_n is null when fewer than 11 people (see module doc)."""
    by = query.check_by(by, BY_COLUMNS)
    conds, params, need_school = _where(filters)
    sel = ", ".join(f"{BY_COLUMNS[b]} AS {b}" for b in by)
    group = ", ".join(str(i + 1) for i in range(len(by)))
    type_counts = ",\n".join(
        f"CAST(count(*) FILTER (WHERE a.activity_type = '{t}') AS BIGINT) AS {name}"
        for name, t in TYPE_COUNTS.items()
    )
    join = "JOIN schools s ON s.cds_code = a.cds_code" if need_school else ""
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    sql = f"""
        WITH a AS (SELECT a.* FROM activities a {join} {where}),
        counts AS (
            SELECT {sel + ',' if sel else ''}
                   CAST(count(*) AS BIGINT) AS activities_n,
                   {type_counts},
                   CAST(coalesce(sum(a.attendees_n), 0) AS BIGINT) AS attendees_n,
                   CAST(coalesce(sum(a.items_n), 0) AS BIGINT) AS items_n
            FROM a {'GROUP BY ' + group if by else ''}
        ),
        people AS (
            SELECT {sel + ',' if sel else ''} CAST(count(DISTINCT t.person_key) AS BIGINT) AS unique_individuals_n
            FROM a JOIN attendance t ON t.activity_id = a.activity_id
            {'GROUP BY ' + group if by else ''}
        )
        SELECT c.*, coalesce(p.unique_individuals_n, 0) AS unique_individuals_n
        FROM counts c LEFT JOIN people p
          ON {' AND '.join(f'c.{b} IS NOT DISTINCT FROM p.{b}' for b in by) or 'TRUE'}
        {'ORDER BY ' + ', '.join(f'c.{b}' for b in by) if by else ''}
    """
    df = fetch(con, sql, params)
    df = df.with_columns(
        ((pl.col("unique_individuals_n") > 0) & (pl.col("unique_individuals_n") < codes.MIN_N)).alias("unique_suppressed")
    ).with_columns(
        pl.when(pl.col("unique_suppressed")).then(None).otherwise(pl.col("unique_individuals_n"))
        .alias("unique_individuals_n")
    )
    return df.select([*by, *VALUE_COLUMNS])


def year_over_year(
    con: duckdb.DuckDBPyConnection,
    by: Sequence[str],
    filters: Filters = Filters(),
) -> pl.DataFrame:
    """activity_counts plus, for every count, the same cell a year earlier
    (`prior_<col>`) and the change (`<col>_change`). `by` must contain 'year'
    (prior = previous academic year) or 'month' (prior = same month a year
    earlier). A cell with no activities a year earlier has prior 0 for counts
    of activities, attendees and items; a change touching a suppressed
    unique-individuals figure is null. filters.year, if set, picks the current
    year and the prior year is read as well."""
    by = query.check_by(by, BY_COLUMNS)
    if "year" not in by and "month" not in by:
        raise ValueError("year_over_year needs 'year' or 'month' in by")
    f = filters.with_(year=None)
    cur = activity_counts(con, by, f)
    prior = cur.clone()
    if "year" in by:
        prior = prior.with_columns(
            codes.shift_year_expr(pl.col("year")).alias("year")
        )
    if "month" in by:
        prior = prior.with_columns(
            codes.shift_month_expr(pl.col("month")).alias("month")
        )
    counts = ["activities_n", *TYPE_COUNTS, "attendees_n", "items_n"]
    prior = prior.rename({c: f"prior_{c}" for c in [*counts, "unique_individuals_n", "unique_suppressed"]})
    out = cur.join(prior, on=by, how="left", nulls_equal=True)
    out = out.with_columns([pl.col(f"prior_{c}").fill_null(0) for c in counts])
    out = out.with_columns(
        [(pl.col(c) - pl.col(f"prior_{c}")).alias(f"{c}_change") for c in counts]
        + [(pl.col("unique_individuals_n") - pl.col("prior_unique_individuals_n")).alias("unique_individuals_n_change")]
    )
    if filters.year is not None:
        out = out.filter(pl.col("year") == filters.year) if "year" in by else out.filter(
            codes.month_academic_year_expr(pl.col("month")) == filters.year
        )
    return out
