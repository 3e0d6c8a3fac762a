"""A small hand-built database for the metric tests: a few schools and rows
typed in, so every expected value can be worked out by hand."""

from __future__ import annotations

import duckdb

from csi_metrics.rules import privacy
import support


def cds(district: int, school: int, county: str = "19") -> str:
    """A 14-character CDS code: county(2) + district(5) + school(7)."""
    return f"{county}{district:05d}{school:07d}"


def district_code(district: int, county: str = "19") -> str:
    return f"{county}{district:05d}"


def new_db() -> duckdb.DuckDBPyConnection:
    return support.new_database()


def add_school(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    spa: int | None = 1,
    school_type: str = "ES",
    community: bool = False,
    cohort: int | None = None,
    grant_type: str | None = None,
    first_grant_year: str | None = None,
    name: str | None = None,
    district_name: str = "Example Unified",
) -> None:
    con.execute(
        """INSERT INTO schools (cds_code, county_code, district_code, school_name, district_name, spa_n,
               spa_source, school_type, charter, status, is_community, ccspp_cohort, grant_type, first_grant_year)
           VALUES (?, ?, ?, ?, ?, ?, 'crosswalk', ?, FALSE, 'Active', ?, ?, ?, ?)""",
        [code, code[:2], code[:7], name or f"School {code[-4:]}", district_name, spa, school_type,
         community, cohort, grant_type, first_grant_year],
    )


def add_district(con: duckdb.DuckDBPyConnection, code7: str, lea_type: str = "unified", name: str = "Example Unified") -> None:
    con.execute("INSERT INTO districts VALUES (?, ?, ?, '54', ?)", [code7, code7[:2], name, lea_type])


def add_outcome(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    year: str,
    code: str,
    numerator: int | None,
    denominator: int | None,
    *,
    group: str = "TA",
    level: str = "S",
    suppressed: bool | None = None,
    charter_scope: str | None = None,
    dass_scope: str | None = None,
) -> None:
    """One CDE row. suppressed defaults to 'CDE printed *': denominator None or <= 10,
    in which case both counts are stored as NULL, as the readers store them."""
    if suppressed is None:
        suppressed = denominator is None or denominator <= 10
    if suppressed:
        numerator = denominator = None
    rate = round(100 * numerator / denominator, 1) if numerator is not None and denominator else None
    scope = "No" if level == "S" else "All"
    key = [metric, year, level, code, charter_scope or scope,
           dass_scope or ("All" if metric == "suspension" or level != "S" else "No")]
    con.execute(
        "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, NULL)",
        [*key, group, numerator, denominator, rate, suppressed],
    )
    decide_visibility(con, key)


def decide_visibility(con: duckdb.DuckDBPyConnection, key: list[object]) -> None:
    """What the build does for every entity (privacy.cell_visibility), redone for the
    one whose cells just changed: which of its cells may be shown."""
    where = " AND ".join(f"{k} = ?" for k in privacy.ENTITY_KEYS)
    rows = con.sql(f"SELECT * FROM outcomes WHERE {where}", params=key).pl()
    decided = privacy.cell_visibility(rows.drop("visible", "hidden_reason"))
    con.execute(f"DELETE FROM outcomes WHERE {where}", key)
    con.register("_decided", decided.to_arrow())
    con.execute("INSERT INTO outcomes BY NAME SELECT * FROM _decided")
    con.unregister("_decided")


def add_grant(
    con: duckdb.DuckDBPyConnection,
    grant_id: str,
    grantee: str,
    amount: int,
    *,
    level: str = "school",
    county: str = "19",
    cohort: int = 1,
    grant_type: str = "implementation",
    year: str = "2022-23",
) -> None:
    con.execute(
        "INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'CCSPP')",
        [grant_id, grantee, f"Grantee {grant_id}", level, county, cohort, grant_type, year, amount],
    )


def add_activity(
    con: duckdb.DuckDBPyConnection,
    activity_id: str,
    date: str,
    year: str,
    activity_type: str,
    *,
    spa: int | None = 1,
    school: str | None = None,
    attendees: int | None = 0,
    items: int | None = 0,
    people: list[str] = (),
) -> None:
    con.execute(
        "INSERT INTO activities VALUES (?, CAST(? AS DATE), ?, ?, ?, ?, ?, ?)",
        [activity_id, date, year, activity_type, spa, school, attendees, items],
    )
    for p in people:
        con.execute("INSERT INTO attendance VALUES (?, ?)", [activity_id, p])
