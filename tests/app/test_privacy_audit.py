"""Privacy audit: no figure built from fewer than 11 students reaches a screen or
a download, including by subtraction.

Part 1 walks every page of the dashboard (AppTest over dashboard.py, the demo
database) and, on each, every SPA filter and every student-group filter at
least once (SPA and group are paired in a covering cycle, so a page gets
max(9, groups) runs rather than 9 x groups). Every table shown (st.dataframe),
every CSV download (st.download_button data, captured as the page hands it
over) and every headline number (st.metric) is checked:
  - a count of students or people that is shown is 0 or at least 11;
  - a rate or numerator is shown only beside a denominator of at least 11
    (or in a frame whose `suppressed` flag says it passed);
  - a row flagged suppressed shows no rate or count;
  - within a shown breakdown whose total row is also shown (All students and
    the race, gender or grade-span groups), never exactly one hidden cell.
Part 2 checks subtraction across views with true values: for every SPA x
group filter, each breakdown the pages draw (by SPA, school type, student
group), against the unbroken total for the same filters, no hidden cell with
fewer than 11 students equals total minus the shown cells."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from csi_metrics.vocabulary import codes
from csi_metrics.metrics import rates
from csi_metrics.vocabulary.filters import Filters
import fixture_paths

pytestmark = pytest.mark.app

REPO = fixture_paths.REPO
APP = str(REPO / "dashboard.py")
MIN_N = codes.MIN_N
PAGES = ["pages/overview.py", "pages/map.py", "pages/trends.py", "pages/equity.py", "pages/funding.py",
         "pages/activities.py", "pages/schools.py", "pages/about.py", "pages/present.py"]

# Columns that count students or people (a count of activities, grants or schools is not about people).
PEOPLE = re.compile(r"^(denominator_n|numerator_n|enrolled_n|students?_n|students_served_n|"
                    r"unique_individuals_n|.*_denominator_n|.*_numerator_n|prior_denominator_n|prior_numerator_n)$")
DENOMINATOR = re.compile(r"^(.*_)?denominator_n$|^enrolled_n$|^students(_served)?_n$")
RATE = re.compile(r"^(rate|prior_rate|.*_rate)$")
# Rates that are not about students (a share of dollars).
NOT_STUDENT_RATES = {"la_share_rate"}
# Partitions of All students (TA) among CDE reporting categories.
PARTITIONS = {
    "race": [c for c, (_, k) in codes.REPORTING_CATEGORIES.items() if k == "race"],
    "gender": ["GF", "GM", "GX", "GZ"],
    "grade": ["GRTKKN", "GR13", "GR46", "GR78", "GR912"],
}


# ---------------------------------------------------------------- capture what a page hands over

class Captured:
    def __init__(self) -> None:
        self.downloads: list[tuple[str, bytes]] = []


CAPTURED = Captured()


@pytest.fixture(scope="module")
def capture_downloads():
    """Record every download's data as the page passes it (CSV only; chart images
    and deck files are rendered lazily from the same figures)."""
    mp = pytest.MonkeyPatch()
    original = DeltaGenerator.download_button

    def recording(self, label, data=None, file_name=None, *args, **kwargs):
        if isinstance(data, (bytes, str)) and str(file_name or "").endswith(".csv"):
            CAPTURED.downloads.append((str(file_name), data.encode() if isinstance(data, str) else data))
        return original(self, label, data, file_name, *args, **kwargs)

    mp.setattr(DeltaGenerator, "download_button", recording)
    main = st._main  # st.download_button is bound to the main DeltaGenerator at import
    mp.setattr(st, "download_button", lambda *a, **k: recording(main, *a, **k))
    yield CAPTURED
    mp.undo()


# ---------------------------------------------------------------- the rules

def audit_frame(df: pl.DataFrame, where: str) -> list[str]:
    """Every way `df` could show a figure from fewer than 11 students."""
    problems: list[str] = []
    cols = df.columns
    dens = [c for c in cols if DENOMINATOR.match(c)]
    num_cols = [c for c in cols if PEOPLE.match(c)]
    for c in num_cols:
        s = df[c]
        if not s.dtype.is_numeric():
            continue
        small = df.filter(pl.col(c).is_not_null() & (pl.col(c) > 0) & (pl.col(c) < MIN_N))
        if c in dens or c in ("unique_individuals_n", "students_n", "students_served_n", "enrolled_n"):
            if small.height:
                problems.append(f"{where}: {c} shows {small[c].to_list()[:5]} (< {MIN_N})")
    rate_cols = [c for c in cols if RATE.match(c) and c not in NOT_STUDENT_RATES and df[c].dtype.is_numeric()]
    if dens:
        den = dens[0] if "denominator_n" not in dens else "denominator_n"
        for c in rate_cols + [c for c in num_cols if "numerator" in c and not c.startswith("prior")]:
            if c.startswith("prior"):
                continue
            bad = df.filter(pl.col(c).is_not_null() & (pl.col(den).is_null() | (pl.col(den) < MIN_N)))
            if bad.height:
                problems.append(f"{where}: {c} shown with {den} {bad[den].to_list()[:5]}")
    if "suppressed" in cols and df["suppressed"].dtype == pl.Boolean:
        for c in rate_cols + [c for c in ("numerator_n", "denominator_n") if c in cols]:
            if c.startswith("prior"):
                continue
            bad = df.filter(pl.col("suppressed").fill_null(False) & pl.col(c).is_not_null())
            if bad.height:
                problems.append(f"{where}: suppressed row shows {c} {bad[c].to_list()[:5]}")
    problems += subtraction_in_frame(df, where)
    return problems



def subtraction_in_frame(df: pl.DataFrame, where: str) -> list[str]:
    """Within one table: All students shown, one member of a partition hidden, and
    All students minus the shown members leaves 1 to 10 students, so that the
    hidden cell is known to be that small. (CDE's own '*' rows make the race,
    gender and grade groups add up to less than All students, which is why a lone
    hidden group with a larger remainder is not recoverable.)"""
    if "student_group" not in df.columns or "denominator_n" not in df.columns:
        return []
    others = [c for c in df.columns if c in ("year", "academic_year", "spa", "community", "school_type",
                                               "district", "school", "metric", "cohort")]
    problems = []
    for key, part in (df.group_by(others) if others else [((), df)]):
        groups = dict(zip(part["student_group"].to_list(), part["denominator_n"].to_list()))
        if groups.get("TA") is None:
            continue
        for kind, members in PARTITIONS.items():
            present = [m for m in members if m in groups]
            hidden = [m for m in present if groups[m] is None]
            if len(present) >= 2 and len(hidden) == 1:
                rest = groups["TA"] - sum(groups[m] for m in present if groups[m] is not None)
                if 0 < rest < MIN_N:
                    problems.append(f"{where} {key}: {hidden[0]} is the only hidden {kind} group and All students "
                                    f"minus the rest leaves {rest}")
    return problems


SCHOOL_PCT = {"chronic_absenteeism_pct": "chronic_absenteeism", "suspension_pct": "suspension"}


def school_rates_against_counts(df: pl.DataFrame, f: Filters, db: Path, where: str) -> list[str]:
    """A school table shows rates without their counts: look each shown rate's
    students up in the database (that school, year, student group)."""
    cols = [c for c in SCHOOL_PCT if c in df.columns]
    if "cds_code" not in df.columns or not cols:
        return []
    shown = df.select("cds_code", *cols)
    con = duckdb.connect(str(db), read_only=True)
    try:
        counts = con.sql(
            "SELECT cds_code, metric, max(denominator_n) AS den FROM outcomes WHERE aggregate_level = 'S' "
            "AND academic_year = ? AND reporting_category = ? GROUP BY ALL", params=[f.year, f.student_group]).pl()
    finally:
        con.close()
    out = []
    for c in cols:
        joined = shown.filter(pl.col(c).is_not_null()).join(
            counts.filter(pl.col("metric") == SCHOOL_PCT[c]), on="cds_code", how="left")
        AUDIT["school_rates"] += joined.height
        bad = joined.filter(pl.col("den").is_null() | (pl.col("den") < MIN_N))
        if bad.height:
            out.append(f"{where}: {c} shown for {bad['cds_code'].to_list()[:3]} with {bad['den'].to_list()[:3]} "
                       "students")
    return out


def frame_from(value) -> pl.DataFrame:
    if isinstance(value, pl.DataFrame):
        return value
    try:
        return pl.from_pandas(value)
    except Exception:  # noqa: BLE001 - a styler or list: take its data
        return pl.from_pandas(getattr(value, "data", value))


def metric_problems(at: AppTest, where: str) -> list[str]:
    out = []
    for m in at.metric:
        if re.search(r"student|individual|people|enrol", m.label, re.I):
            digits = re.sub(r"[,\s]", "", str(m.value))
            if re.fullmatch(r"\d+", digits) and 0 < int(digits) < MIN_N:
                out.append(f"{where}: metric {m.label!r} shows {m.value}")
    return out


# ---------------------------------------------------------------- part 1: every page x filters

@pytest.fixture(scope="module")
def options(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        groups = [r[0] for r in con.execute(
            "SELECT rc.code FROM reporting_categories rc WHERE rc.code IN "
            "(SELECT DISTINCT reporting_category FROM outcomes) ORDER BY rc.sort_order").fetchall()]
        spas = [r[0] for r in con.execute(
            "SELECT DISTINCT spa_n FROM schools WHERE spa_n IS NOT NULL ORDER BY 1").fetchall()]
        year = con.execute("SELECT max(academic_year) FROM outcomes WHERE aggregate_level = 'S'").fetchone()[0]
    finally:
        con.close()
    return {"groups": groups, "spas": spas, "year": year}


def combos(options) -> list[tuple[int | None, str]]:
    spa_choices = [None, *options["spas"]]
    n = max(len(spa_choices), len(options["groups"]))
    return [(spa_choices[i % len(spa_choices)], options["groups"][i % len(options["groups"])]) for i in range(n)]


AUDIT = {"runs": 0, "tables": 0, "downloads": 0, "metrics": 0, "school_rates": 0}


@pytest.mark.parametrize("page", PAGES)
def test_page_shows_and_downloads_nothing_under_eleven(page, demo_db, options, capture_downloads, monkeypatch):
    monkeypatch.setenv("CSI_DB", str(demo_db))
    monkeypatch.chdir(REPO)
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    todo = combos(options)
    seen_spa, seen_group = set(), set()
    problems: list[str] = []
    for spa, group in todo:
        capture_downloads.downloads.clear()
        at.sidebar.selectbox(key="f_spa").set_value(spa)
        at.sidebar.selectbox(key="f_student_group").set_value(group)
        at.run()
        where = f"{page} spa={spa} group={group}"
        assert not at.exception, (where, [e.message for e in at.exception])
        f = at.session_state["_filters"]
        assert (f.spa, f.student_group) == (spa, group), where
        seen_spa.add(spa)
        seen_group.add(group)
        for i, d in enumerate(at.dataframe):
            frame = frame_from(d.value)
            problems += audit_frame(frame, f"{where} table {i}")
            problems += school_rates_against_counts(frame, f, demo_db, f"{where} table {i}")
            AUDIT["tables"] += 1
        for name, data in capture_downloads.downloads:
            problems += audit_frame(pl.read_csv(io.BytesIO(data), comment_prefix="#", infer_schema_length=None), f"{where} {name}")
            AUDIT["downloads"] += 1
        problems += metric_problems(at, where)
        AUDIT["metrics"] += len(at.metric)
        AUDIT["runs"] += 1
    assert seen_spa == {None, *options["spas"]} and seen_group == set(options["groups"])
    print(f"\nprivacy audit {page}: {AUDIT['runs']} page runs, {AUDIT['tables']} tables, "
          f"{AUDIT['downloads']} CSV downloads, {AUDIT['metrics']} headline numbers, "
          f"{AUDIT['school_rates']} school rates checked against their counts (this worker, so far)")
    # The walk really looked: every page but the deck shows tables or downloads.
    if page != "pages/present.py":
        assert AUDIT["tables"] + AUDIT["downloads"] > 0
    if page == "pages/schools.py":
        assert AUDIT["school_rates"] > 0
    assert not problems, problems[:10]


# ---------------------------------------------------------------- part 2: subtraction across views

BREAKDOWNS = [["spa"], ["school_type"], ["student_group"]]


def test_no_hidden_cell_under_eleven_recoverable_from_its_total(demo_db, options):
    con = duckdb.connect(str(demo_db), read_only=True)
    checked = 0
    leaks: list[str] = []
    try:
        for metric, spa, group in itertools.product(codes.METRICS, [None, *options["spas"]], options["groups"]):
            f = Filters(year=options["year"], spa=spa, student_group=group)
            total = rates.pooled_rates(con, metric, [], f)
            for by in BREAKDOWNS:
                if by == ["spa"] and spa is not None:
                    continue
                if by == ["student_group"] and group != "TA":
                    continue  # the group filter does not narrow a by-group breakdown
                shown = rates.pooled_rates(con, metric, by, f)
                true = rates.raw_pooled(con, metric, by, f)
                checked += 1
                leaks += _recoverable(metric, f, by, shown, true, total)
    finally:
        con.close()
    print(f"\nsubtraction audit: {checked} breakdowns against their totals")
    assert checked >= 2 * 9 * len(options["groups"])
    assert not leaks, leaks[:10]


def _recoverable(metric, f, by, shown, true, total) -> list[str]:
    col = by[0]
    if col == "student_group":
        parts = [(kind, members) for kind, members in PARTITIONS.items()]
        ta = shown.filter(pl.col("student_group") == "TA")
        tot_den = ta["denominator_n"][0] if ta.height else None
        tot_num = ta["numerator_n"][0] if ta.height else None
    else:
        parts = [(col, shown[col].to_list())]
        tot_den = total["denominator_n"][0] if total.height else None
        tot_num = total["numerator_n"][0] if total.height else None
    if tot_den is None:
        return []
    out = []
    for kind, members in parts:
        sub = shown.filter(pl.col(col).is_in(members))
        hidden = sub.filter(pl.col("denominator_n").is_null())
        if hidden.height != 1:
            continue
        h = hidden[col][0]
        t = true.filter(pl.col(col) == h)
        if not t.height:
            continue
        true_den = t["denominator_n"][0]
        rec_den = tot_den - (sub["denominator_n"].fill_null(0).sum())
        rec_num = None if tot_num is None else tot_num - sub["numerator_n"].fill_null(0).sum()
        if true_den is not None and true_den < MIN_N and rec_den == true_den:
            out.append(f"{metric} {f} by {col}: hidden {h} has {true_den} students = total {tot_den} minus the "
                       f"shown cells" + (f" (numerator {rec_num})" if rec_num is not None else ""))
    return out


def test_rules_catch_what_they_are_for():
    """The audit's own rules flag a small count, an unflagged rate, and a lone hidden race group."""
    race = PARTITIONS["race"]  # RA, RB, then seven more
    leak = pl.DataFrame({"student_group": ["TA", *race],
                         "denominator_n": [100, 5, None] + [13] * (len(race) - 2),
                         "numerator_n": [10, 1, None] + [1] * (len(race) - 2),
                         "rate": [0.1, 0.2, None] + [1 / 13] * (len(race) - 2)})
    found = audit_frame(leak, "t")
    assert any("denominator_n shows [5]" in p for p in found)
    assert any("rate shown with denominator_n" in p for p in found)
    assert any("RB is the only hidden race group and All students minus the rest leaves 4" in p for p in found)
    # RA hidden too: two hidden cells whose sum (9) is all a reader can recover.
    ok = leak.with_columns(pl.when(pl.col("student_group").is_in(["RA", "RB"])).then(None)
                           .otherwise(pl.col(c)).alias(c) for c in ("denominator_n", "numerator_n", "rate"))
    assert audit_frame(ok, "t") == []
