"""Suppression holds across views: a cell hidden in one view is hidden in all,
and no difference of two figures the dashboard offers gives a hidden cell back.

The pattern is decided once in the build (privacy.cell_visibility) and every
view reads it. Tested three ways:
1. the rule itself on hand-built cells (the issue's cases);
2. the issue's cross-view attacks on small hand-built databases, through the
   functions the pages draw (Schools page groups, Map points, report, Trends,
   the Overview's students served);
3. on the demo: every nested pair of views the filters allow (a figure with and
   without one more filter value: SPA, district, school type, community, cohort,
   student group), both metrics, every year, plus an independent re-check of the
   stored pattern for every school. A recovery is a difference of 1-10 students."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

import metrics_fixtures as mf
from csi_metrics.vocabulary import codes
from csi_metrics.metrics import funding, headline, rates, schools, trends
from csi_metrics.rules import privacy
from csi_metrics.metrics.breakdown import breakdown
from csi_metrics.vocabulary.filters import Filters
from csi_metrics.metrics import geo

MIN_N = codes.MIN_N
Y, P = "2023-24", "2022-23"
CA, SU = "chronic_absenteeism", "suspension"


def _cells(rows: list[tuple[str, int | None, bool]]) -> pl.DataFrame:
    """One school-year's cells: (reporting category, denominator, CDE starred)."""
    return pl.DataFrame(
        [("suspension", Y, "S", "19000010000001", "No", "All", g, None if star else max(d // 10, 0),
          None if star else d, None, star) for g, d, star in rows],
        schema=["metric", "academic_year", "aggregate_level", "cds_code", "charter_scope", "dass_scope",
                "reporting_category", "numerator_n", "denominator_n", "published_rate_pct", "suppressed"],
        orient="row", schema_overrides={"numerator_n": pl.Int32, "denominator_n": pl.Int32},
    )


def _hidden(df: pl.DataFrame) -> dict[str, str]:
    v = privacy.cell_visibility(df)
    return dict(v.filter(~pl.col("visible")).select("reporting_category", "hidden_reason").iter_rows())


# ---------------------------------------------------------------- 1. the rule

def test_starred_non_binary_hides_the_smaller_other_gender_too():
    # The school: Non-binary starred (8 students); Female would be Total - Male.
    got = _hidden(_cells([("TA", 200, False), ("GM", 110, False), ("GF", 82, False), ("GX", 8, True)]))
    assert got == {"GX": privacy.HIDDEN_CDE, "GF": privacy.HIDDEN_COMPLEMENT}


def test_unstarred_small_cell_is_hidden_by_our_own_threshold():
    got = _hidden(_cells([("TA", 200, False), ("RA", 9, False), ("RB", 60, False), ("RH", 131, False)]))
    assert got == {"RA": privacy.HIDDEN_SMALL, "RB": privacy.HIDDEN_COMPLEMENT}


def test_two_hidden_cells_adding_up_to_ten_or_fewer_get_a_third():
    got = _hidden(_cells([("TA", 300, False), ("RA", 4, True), ("RB", 5, True), ("RH", 40, False),
                          ("RW", 251, False)]))
    # TA - RH - RW = 9: the two starred groups together are 9 students; RH is hidden too.
    assert got == {"RA": privacy.HIDDEN_CDE, "RB": privacy.HIDDEN_CDE, "RH": privacy.HIDDEN_COMPLEMENT}


def test_program_group_with_few_students_outside_it_is_hidden():
    # 95 of 100 students socioeconomically disadvantaged: All students minus them counts 5.
    got = _hidden(_cells([("TA", 100, False), ("SS", 95, False), ("SE", 40, False)]))
    assert got == {"SS": privacy.HIDDEN_COMPLEMENT}


def test_nothing_hidden_when_every_cell_and_remainder_is_eleven_or_more():
    assert _hidden(_cells([("TA", 200, False), ("GM", 100, False), ("GF", 89, False), ("GX", 11, False),
                           ("SS", 150, False)])) == {}


def test_hiding_in_one_partition_can_force_hiding_in_another():
    # TA = GRTK8 + GR912: the starred TK-8 group would be TA minus GR912 = 7, so GR912 is
    # hidden too, which then leaves the grade-span partition with two hidden parts.
    df = _cells([("TA", 60, False), ("GRTK8", 7, True), ("GR912", 53, False), ("GRTKKN", 7, True)])
    got = _hidden(df)
    assert got["GRTK8"] == privacy.HIDDEN_CDE and got["GR912"] == privacy.HIDDEN_COMPLEMENT


# ---------------------------------------------------------------- 2. the attacks

@pytest.fixture
def gender_db():
    """One community school whose Non-binary group CDE starred (8 students), and a second school."""
    c = mf.new_db()
    x, z = mf.cds(1, 1), mf.cds(1, 2)
    mf.add_school(c, x, spa=6, community=True, cohort=2, first_grant_year=P, school_type="ES")
    mf.add_school(c, z, spa=6, school_type="ES")
    c.execute("UPDATE schools SET latitude = 34.0, longitude = -118.25")
    for year in (P, Y):
        for code, (ta, gm, gf, gx) in ((x, (200, 110, 82, 8)), (z, (300, 150, 150, None))):
            for g, d in (("TA", ta), ("GM", gm), ("GF", gf), ("GX", gx)):
                if d is not None:
                    mf.add_outcome(c, CA, year, code, d // 5, d, group=g)
    yield c
    c.close()


def test_a_group_hidden_on_the_schools_page_is_hidden_on_the_map_and_in_the_report(gender_db):
    x = mf.cds(1, 1)
    groups = schools.school_profile(gender_db, x)["student_groups"].filter(pl.col("metric") == CA)
    by_group = {r["student_group"]: r for r in groups.iter_rows(named=True)}
    assert by_group["GF"]["suppressed"] and by_group["GF"]["denominator_n"] is None
    # The Map with ?student_group=GF: the same school's Female figure is hidden there too.
    pts = geo.school_points_frame(gender_db, CA, Filters(year=Y, student_group="GF"))
    row = pts.filter(pl.col("cds_code") == x).row(0, named=True)
    assert row["suppressed"] and row["rate"] is None and row["enrolled_n"] is None
    # The report and the pooled figure by school for GF, and the SPA's pooled GF.
    rep = breakdown(gender_db, CA, "school", Filters(year=Y, student_group="GF"))
    assert rep.filter(pl.col("school") == x)["denominator_n"].to_list() == [None]
    spa = rates.pooled_rates(gender_db, CA, [], Filters(year=Y, spa=6, student_group="GF")).row(0, named=True)
    assert spa["denominator_n"] == 150  # the other school's Female group only
    # Total - Male - Female, from anything shown, never gives the 8.
    ta = rates.pooled_rates(gender_db, CA, [], Filters(year=Y, school=x)).row(0, named=True)["denominator_n"]
    gm = rates.pooled_rates(gender_db, CA, [], Filters(year=Y, school=x, student_group="GM")).row(0, named=True)
    assert ta - gm["denominator_n"] == 90 and not (0 < ta - gm["denominator_n"] < MIN_N)


@pytest.fixture
def small_school_db():
    """SPA 1: a 300-student elementary and a high school of 8 students (not starred by CDE)."""
    c = mf.new_db()
    big, small = mf.cds(1, 1), mf.cds(1, 2)
    mf.add_school(c, big, spa=1, school_type="ES", community=True, first_grant_year=P)
    mf.add_school(c, small, spa=1, school_type="HS", community=True, first_grant_year=P)
    c.execute("UPDATE schools SET latitude = 34.6, longitude = -118.1")
    for year in (P, Y):
        for metric in (CA, SU):
            mf.add_outcome(c, metric, year, big, 30, 300)
            mf.add_outcome(c, metric, year, small, 4, 8, suppressed=False)
    yield c
    c.close()


def test_trends_with_and_without_a_school_type_filter_do_not_give_the_small_school_back(small_school_db):
    c = small_school_db
    every = trends.trend(c, CA, [], Filters(spa=1))
    es = trends.trend(c, CA, [], Filters(spa=1, school_type="ES"))
    for y in (P, Y):
        d_all = every.filter(pl.col("year") == y)["denominator_n"][0]
        d_es = es.filter(pl.col("year") == y)["denominator_n"][0]
        assert d_all - d_es == 0  # before the build decided cells: 8, the hidden school
    hs = trends.trend(c, CA, [], Filters(spa=1, school_type="HS"))
    assert hs["suppressed"].all() and hs["denominator_n"].is_null().all()


def test_students_served_minus_the_map_never_gives_a_hidden_school(small_school_db):
    c = small_school_db
    served = headline.headline(c, Filters(year=Y))
    value = served.filter(pl.col("metric_id") == "students_served_n")["value"][0]
    pts = geo.school_points_frame(c, CA, Filters(year=Y))
    shown = pts["enrolled_n"].drop_nulls().sum()
    assert value == 300 and shown == 300 and value - shown == 0
    assert funding.enrolled_students(c, Filters(year=Y, community="community"))["hidden_schools_n"][0] == 1


# ---------------------------------------------------------------- 3. the demo: every nested pair

DIMS = ("spa", "district", "school_type", "community", "cohort")
GROUPS = ("TA", "SE", "SS", "RB", "GF", "GRTK8")
BASES = [Filters()] + [Filters(spa=n) for n in range(1, 9)] + [Filters(community="community"),
                                                               Filters(community="comparison")]


@pytest.fixture(scope="module")
def demo(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)  # the raw file, true counts included
    yield con
    con.close()


def test_no_nested_pair_of_views_recovers_a_group_of_one_to_ten(demo):
    """A figure and the same figure with one more filter value (SPA, district, school type,
    community, cohort): their difference is the schools left out, never 1-10 students."""
    pairs, found = 0, []
    for metric in codes.METRICS:
        for base in BASES:
            for group in GROUPS:
                f = base.with_(year=None, student_group=group)
                totals = rates.pooled_rates(demo, metric, ["year"], f)
                for dim in DIMS:
                    if getattr(base, dim) not in (None, "all"):
                        continue
                    parts = rates.pooled_rates(demo, metric, ["year", dim], f)
                    joined = parts.join(totals.select("year", pl.col("denominator_n").alias("total")), on="year")
                    shown = joined.filter(pl.col("denominator_n").is_not_null() & pl.col("total").is_not_null())
                    pairs += shown.height
                    diff = shown.with_columns((pl.col("total") - pl.col("denominator_n")).alias("diff"))
                    for r in diff.filter(pl.col("diff").is_between(1, MIN_N - 1)).iter_rows(named=True):
                        found.append(f"{metric} {r['year']} {base} {group}: without {dim}={r[dim]} leaves {r['diff']}")
    print(f"\ncross-view audit: {pairs:,} nested pairs of views checked, {len(found)} recoveries")
    assert pairs > 20_000
    assert found == [], found[:10]


def test_every_pooled_figure_is_a_sum_of_visible_cells_only(demo):
    """The auditor's own sum over the school cells the build left visible, against what
    the views get: a hidden cell in any pooled figure would make them differ."""
    truth = demo.sql("""
        SELECT o.metric, o.academic_year AS year, o.reporting_category AS student_group, s.spa_n AS spa,
               s.school_type, CAST(sum(o.numerator_n) AS BIGINT) AS num, CAST(sum(o.denominator_n) AS BIGINT) AS den
        FROM outcomes o JOIN schools s USING (cds_code)
        WHERE o.aggregate_level = 'S' AND o.visible AND s.county_code = '19'
        GROUP BY ALL""").pl()
    checked = 0
    for metric in codes.METRICS:
        got = rates.pooled_rates(demo, metric, ["year", "student_group", "spa", "school_type"], Filters())
        want = truth.filter(pl.col("metric") == metric)
        j = got.join(want, on=["year", "student_group", "spa", "school_type"], how="full", nulls_equal=True)
        shown = j.filter(pl.col("denominator_n").is_not_null())
        checked += shown.height
        assert (shown["denominator_n"] == shown["den"]).all() and (shown["numerator_n"] == shown["num"]).all()
        # and a figure with no visible cell is not shown
        assert j.filter(pl.col("den").is_null() & pl.col("denominator_n").is_not_null()).height == 0
    served = funding.enrolled_students(demo, Filters(community="community"))
    want = demo.sql("""SELECT academic_year AS year, sum(denominator_n) AS n FROM outcomes o JOIN schools s USING (cds_code)
                       WHERE o.aggregate_level = 'S' AND o.reporting_category = 'TA' AND o.metric = 'suspension'
                         AND o.visible AND s.is_community AND s.county_code = '19' GROUP BY 1""").pl()
    j = served.join(want, on="year")
    assert j.height and (j["enrolled_n"] == j["n"]).all()
    print(f"\nvisible-only audit: {checked:,} pooled figures equal the sum of their visible cells")


def _determined(equations: list[tuple[dict[str, int], int]], hidden: list[str]) -> list[str]:
    """Hidden cells whose value follows from the equations (sum of coefficient x cell =
    constant), by rank: e_i lies in the row space of the coefficient matrix."""
    import numpy as np

    if not equations or not hidden:
        return []
    idx = {h: i for i, h in enumerate(hidden)}
    a = np.array([[coef.get(h, 0) for h in hidden] for coef, _ in equations], dtype=float)
    r = np.linalg.matrix_rank(a)
    out = []
    for h in hidden:
        e = np.zeros((1, len(hidden)))
        e[0, idx[h]] = 1
        if np.linalg.matrix_rank(np.vstack([a, e])) == r:
            out.append(h)
    return out


def test_no_hidden_cell_of_any_school_follows_from_what_is_shown(demo):
    """For every school, year and metric: the visible cells and the ways its groups add up
    (STUDENT_GROUP_PARTITIONS) determine no hidden cell, and leave no set of hidden
    cells known to hold 1-10 students; no program group has 1-10 students outside it."""
    cells = demo.sql("""SELECT metric, academic_year, cds_code, reporting_category AS g, denominator_n AS d, visible
                        FROM outcomes WHERE aggregate_level = 'S'""").pl()
    assert cells.filter(pl.col("visible") & (pl.col("d").is_null() | (pl.col("d") < MIN_N))).height == 0
    parts = {m for ms in privacy.STUDENT_GROUP_PARTITIONS.values() for m in ms} | set(privacy.PARTITION_TOTALS.values())
    entities = cells.filter(pl.col("g").is_in(sorted(parts)) | pl.col("g").is_in(privacy.PROGRAM_GROUPS)) \
        .group_by("metric", "academic_year", "cds_code").agg("g", "d", "visible")
    checked, bad = 0, []
    for metric, year, cds, gs, ds, vis in entities.iter_rows():
        shown = {g: d for g, d, v in zip(gs, ds, vis) if v}
        hidden = [g for g, v in zip(gs, vis) if not v and g in parts]
        for g in privacy.PROGRAM_GROUPS:
            if "TA" in shown and g in shown and 0 < shown["TA"] - shown[g] < MIN_N:
                bad.append(f"{cds} {metric} {year}: TA minus {g} = {shown['TA'] - shown[g]}")
        if not hidden:
            continue
        checked += 1
        equations = []
        for name, members in privacy.STUDENT_GROUP_PARTITIONS.items():
            total = privacy.PARTITION_TOTALS[name]
            present = [m for m in members if m in gs]
            if total not in gs or not present:
                continue
            coef = {m: 1 for m in present if m not in shown}
            if total not in shown:
                coef[total] = coef.get(total, 0) - 1
            const = (shown.get(total, 0)) - sum(shown[m] for m in present if m in shown)
            equations.append((coef, const))
            if total in shown and coef and 0 < const < MIN_N:
                bad.append(f"{cds} {metric} {year}: hidden {name} groups hold {const} students together")
        for h in _determined(equations, hidden):
            bad.append(f"{cds} {metric} {year}: hidden {h} follows from the shown cells")
    print(f"\nschool-level audit: {checked:,} school-years with hidden cells solved, {len(bad)} recoveries")
    assert checked > 1_000
    assert bad == [], bad[:10]


def test_the_school_check_finds_a_hidden_cell_that_follows_from_the_rest():
    # TA 100 shown, the four TK-8 spans shown (70 together), TK-8 and 9-12 both hidden:
    # TK-8 = 70 from its spans, and 9-12 = 100 - 70. Both follow; the check must say so.
    equations = [({"GRTK8": 1, "GR912": 1}, 100), ({"GRTK8": -1}, -70), ({"GR912": 1}, 30)]
    assert sorted(_determined(equations, ["GRTK8", "GR912"])) == ["GR912", "GRTK8"]
    # Two hidden parts of one total, and nothing else: neither follows.
    assert _determined([({"RA": 1, "RB": 1}, 25)], ["RA", "RB"]) == []
