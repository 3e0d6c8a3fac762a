"""The embedded demo generator: real layouts, shape, internal consistency,
suppression, determinism and geography. One county generation per module."""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from csi_metrics.vocabulary import codes
from csi_metrics.ingest import demo
from fixture_paths import DIRECTORY_EXCERPT, SPA_2012, SPA_2022

SEED = 2024
CHRONIC_FILES = {"2018-19": "19", "2020-21": "21", "2021-22": "22", "2022-23": "23", "2023-24": "24",
                 "2024-25": "25"}
SUSPENSION_FILES = {y: y[-2:] for y in codes.year_range("2018-19", "2024-25")}
DASHBOARD_YEARS = (2019, 2022, 2023, 2024, 2025)  # the Dashboards reporting 2018-19 and 2021-22..2024-25
DASHBOARD_FILES = [f"{prefix}{y}.txt" for y in DASHBOARD_YEARS for prefix in ("chronicdownload", "suspdownload")]
RACE_NOT_RD = ["RA", "RB", "RF", "RH", "RI", "RP", "RT", "RW"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_county")
    t0 = time.perf_counter()
    demo.generate(out, "county", SEED)
    print(f"county demo generated in {time.perf_counter() - t0:.1f} s")
    return out


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    return raw.decode("cp1252")


def _read_cde(path: Path) -> pl.DataFrame:
    text = _decode(path.read_bytes())
    return pl.read_csv(text.encode("utf-8"), separator="\t", quote_char=None, infer_schema=False)


@pytest.fixture(scope="module")
def chronic(demo_dir) -> dict[str, pl.DataFrame]:
    return {y: _read_cde(demo_dir / "cde" / f"chronicabsenteeism{yy}.txt") for y, yy in CHRONIC_FILES.items()}


@pytest.fixture(scope="module")
def suspension(demo_dir) -> dict[str, pl.DataFrame]:
    return {y: _read_cde(demo_dir / "cde" / f"suspension{yy}.txt") for y, yy in SUSPENSION_FILES.items()}


@pytest.fixture(scope="module")
def directory(demo_dir) -> pl.DataFrame:
    return _read_cde(demo_dir / "cde" / "pubschls.txt")


def _ini(demo_dir: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(demo_dir / "initiative" / name, infer_schema=False)


# ------------------------------------------------------------------ layouts

def test_file_set_has_the_real_gap(demo_dir):
    names = sorted(p.name for p in (demo_dir / "cde").iterdir())
    expected = sorted([f"chronicabsenteeism{yy}.txt" for yy in CHRONIC_FILES.values()]
                      + [f"suspension{yy}.txt" for yy in SUSPENSION_FILES.values()] + ["pubschls.txt"]
                      + DASHBOARD_FILES)
    assert names == expected
    assert not (demo_dir / "cde" / "chronicabsenteeism20.txt").exists()
    assert sorted(p.name for p in (demo_dir / "initiative").iterdir()) == sorted(
        ["roster.csv", "grants.csv", "activities.csv", "attendance.csv", "spa_crosswalk.csv"])


def test_headers_are_verbatim(demo_dir, fixtures_dir):
    """Headers compared with the real-layout fixtures (CDE's verbatim header lines) and the
    real pubschls excerpt."""
    def first_line(path):
        return _decode(path.read_bytes()).split("\n")[0].rstrip("\r")

    chronic_header = first_line(fixtures_dir / "cde" / "chronicabsenteeism24.txt")
    susp_header = first_line(fixtures_dir / "cde" / "suspension24.txt")
    dir_header = first_line(DIRECTORY_EXCERPT)
    assert len(chronic_header.split("\t")) == 14 and len(susp_header.split("\t")) == 21
    assert len(dir_header.split("\t")) == 46
    for yy in CHRONIC_FILES.values():
        first = _decode((demo_dir / "cde" / f"chronicabsenteeism{yy}.txt").read_bytes()).split("\n")[0]
        assert first.rstrip("\r") == chronic_header
    for yy in SUSPENSION_FILES.values():
        first = _decode((demo_dir / "cde" / f"suspension{yy}.txt").read_bytes()).split("\n")[0]
        assert first.rstrip("\r") == susp_header
    assert (demo_dir / "cde" / "pubschls.txt").read_bytes().split(b"\n")[0].decode() == dir_header
    heads = {"roster.csv": "cds_code,cohort,grant_type,first_grant_year",
             "grants.csv": "grant_id,grantee_cds,grantee_name,grantee_level,county_code,cohort,grant_type,"
                           "award_year,amount_usd,funding_source",
             "activities.csv": "activity_id,activity_date,activity_type,spa_n,cds_code,attendees_n,items_n",
             "attendance.csv": "activity_id,person_key",
             "spa_crosswalk.csv": "cds_code,spa_n"}
    for name, head in heads.items():
        assert (demo_dir / "initiative" / name).read_text(encoding="utf-8").split("\n")[0] == head


def test_encodings_bom_only_in_suspension24(demo_dir):
    """cp1252 everywhere except suspension 2023-24 (UTF-8 with a BOM), as CDE published them.
    The demo's names include 'ñ', so the bytes tell the encodings apart."""
    n_tilde_cp1252, n_tilde_utf8 = "ñ".encode("cp1252"), "ñ".encode("utf-8")
    for p in sorted((demo_dir / "cde").glob("*.txt")):
        if p.name in DASHBOARD_FILES:  # their own test: test_dashboard_files_layouts_and_encoding
            continue
        raw = p.read_bytes()
        if p.name == "suspension24.txt":
            assert raw.startswith(b"\xef\xbb\xbf")
            raw[3:].decode("utf-8")  # strict
            assert n_tilde_utf8 in raw
        else:
            assert not raw.startswith(b"\xef\xbb\xbf"), p.name
            assert n_tilde_cp1252 in raw and n_tilde_utf8 not in raw, p.name
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
    for p in (demo_dir / "initiative").glob("*.csv"):
        p.read_bytes().decode("utf-8")


def test_each_file_holds_its_own_year(chronic, suspension):
    for year, df in {**chronic, **suspension}.items():
        col = df.columns[0]
        assert df[col].unique().to_list() == [year]


# ------------------------------------------------------------------ shape

def test_directory_counts_and_codes(directory):
    is_district = directory["CDSCode"].str.ends_with("0000000")
    schools, districts = directory.filter(~is_district), directory.filter(is_district)
    assert 2100 <= schools.height <= 2300
    assert 78 <= districts.height <= 82
    assert (districts["School"] == "No Data").all()
    assert directory["CDSCode"].str.contains(r"^19\d{12}$").all()
    assert directory["CDSCode"].is_unique().all()
    assert set(schools["CDSCode"].str.slice(2, 5)) <= set(districts["CDSCode"].str.slice(2, 5))
    assert set(districts["DOC"]) == {"00", "52", "54", "56"}
    assert districts.filter(pl.col("DOC") == "00").height == 1
    soc = schools["SOC"].value_counts().sort("SOC")
    counts = dict(zip(soc["SOC"], soc["count"]))
    assert counts["60"] > counts["62"] > counts["66"] > counts["65"] > 0
    assert all(counts.get(s, 0) > 0 for s in ("68", "69", "09"))
    assert 150 <= (schools["Charter"] == "Y").sum() <= 600
    closed = (schools["StatusType"] == "Closed").sum()
    assert 10 <= closed <= 120 and (schools["StatusType"] == "Active").sum() + closed == schools.height
    assert ((schools["StatusType"] == "Closed") == (schools["ClosedDate"] != "No Data")).all()
    assert schools["OpenDate"].str.contains(r"^\d{2}/\d{2}/\d{4}$").all()
    no_xy = schools.filter(pl.col("Latitude") == "No Data")
    assert no_xy.height == 5 and (no_xy["Longitude"] == "No Data").all()
    located = schools.filter(pl.col("Latitude") != "No Data")
    assert located["Latitude"].str.contains(r"^3[34]\.\d{6}$").all()
    assert located["Longitude"].str.contains(r"^-11[78]\.\d{5}$").all()


def test_every_name_is_plainly_demo(directory, chronic, demo_dir):
    for col in ("District", "School"):
        names = directory.filter(pl.col(col) != "No Data")[col]
        assert names.str.starts_with("Demo ").all(), names.filter(~names.str.starts_with("Demo ")).head(3)
    for col in ("Street", "MailStreet"):
        assert directory[col].str.contains("Demo").all()
    grants = _ini(demo_dir, "grants.csv")
    assert grants["grantee_name"].str.starts_with("Demo ").all()
    rows = chronic["2023-24"]
    for col in ("District Name", "School Name"):
        assert rows[col].drop_nulls().str.starts_with("Demo ").all()


def test_roster_cohorts_and_spas(demo_dir, directory):
    roster = _ini(demo_dir, "roster.csv")
    xw = _ini(demo_dir, "spa_crosswalk.csv")
    assert roster.height == 520 and roster["cds_code"].is_unique().all()
    assert dict(roster.group_by("cohort").len().sort("cohort").iter_rows()) == {"1": 140, "2": 175, "3": 205}
    first = dict(roster.select("cohort", "first_grant_year").unique().sort("cohort").iter_rows())
    assert first == {"1": "2021-22", "2": "2022-23", "3": "2023-24"}
    assert set(roster["grant_type"]) == {"implementation", "planning"}
    active = directory.filter(pl.col("StatusType") == "Active")["CDSCode"]
    assert roster["cds_code"].is_in(active.implode()).all()
    per_spa = roster.join(xw, on="cds_code").group_by("spa_n").len()
    assert per_spa.height == 8 and per_spa["len"].min() >= 10


def test_grants_total_and_shares(demo_dir):
    g = _ini(demo_dir, "grants.csv").with_columns(pl.col("amount_usd").cast(pl.Int64))
    roster = _ini(demo_dir, "roster.csv")
    la = g.filter(pl.col("county_code") == "19")
    assert la["amount_usd"].sum() == 660_000_000
    assert g["amount_usd"].sum() == 2_800_000_000  # awarded statewide, not the $4.1B appropriation
    assert 0.23 < la["amount_usd"].sum() / g["amount_usd"].sum() < 0.24  # LACOE: "nearly 24%"
    assert g["grant_id"].is_unique().all()
    assert set(g["county_code"]) == {f"{i:02d}" for i in range(1, 59)}
    assert (g["grantee_cds"].str.slice(0, 2) == g["county_code"]).all()
    impl = la.filter(pl.col("grant_type") == "implementation")
    # one row per award: five years of $150k-$500k
    assert impl["amount_usd"].min() >= 5 * 150_000 and impl["amount_usd"].max() <= 5 * 500_000
    assert (impl["grantee_level"] == "school").all()
    impl_schools = roster.filter(pl.col("grant_type") == "implementation")["cds_code"]
    assert sorted(impl["grantee_cds"]) == sorted(impl_schools)
    plan = la.filter(pl.col("grant_type") == "planning")
    assert (plan["amount_usd"] == 200_000).all() and plan["grantee_cds"].str.ends_with("0000000").all()
    coord = la.filter(pl.col("grant_type") == "coordination")
    assert coord.height == 3 and (coord["grantee_cds"] == "19101990000000").all()
    assert set(g["award_year"]) <= {"2021-22", "2022-23", "2023-24"}
    assert (g["funding_source"] == "CCSPP (Prop 98)").all()


def test_activities_2024_25_match_the_published_counts(demo_dir):
    acts = _ini(demo_dir, "activities.csv")
    att = _ini(demo_dir, "attendance.csv")
    roster = _ini(demo_dir, "roster.csv")
    xw = _ini(demo_dir, "spa_crosswalk.csv")
    d = acts["activity_date"].str.to_date("%Y-%m-%d")
    start = pl.when(d.dt.month() >= 7).then(d.dt.year()).otherwise(d.dt.year() - 1)
    acts = acts.with_columns(acts.select(start.alias("start")).to_series())
    assert set(acts["start"]) == {2023, 2024}
    y25 = acts.filter(pl.col("start") == 2024)
    by_type = dict(y25.group_by("activity_type").len().iter_rows())
    assert by_type == {"learning_opportunity": 77, "support_session": 459, "referral": 436,
                       "engagement_event": 582, "items_distributed": 140}
    lo = y25.filter(pl.col("activity_type") == "learning_opportunity")
    lo_att = att.filter(pl.col("activity_id").is_in(lo["activity_id"].implode()))
    attendees = lo["attendees_n"].cast(pl.Int64).sum()
    assert attendees == lo_att.height and 3000 <= attendees <= 3200
    assert lo_att["person_key"].n_unique() == 745
    assert att["person_key"].str.contains(r"^P\d{6}$").all()
    assert att.select(pl.struct("activity_id", "person_key").is_unique().all()).item()
    per_activity = lo_att.group_by("activity_id").len()
    joined = lo.join(per_activity, on="activity_id")
    assert (joined["attendees_n"].cast(pl.Int64) == joined["len"]).all()
    items = y25.filter(pl.col("activity_type") == "items_distributed")["items_n"].cast(pl.Int64)
    assert items.null_count() == 0 and items.sum() >= 10_000
    assert acts["spa_n"].cast(pl.Int64).is_between(1, 8).all()
    at_school = acts.filter(pl.col("cds_code").is_not_null())
    assert at_school.height > 0 and at_school["cds_code"].is_in(roster["cds_code"].implode()).all()
    # an activity at a school carries that school's SPA
    chk = at_school.join(xw, on="cds_code", suffix="_school")
    assert chk.height == at_school.height and (chk["spa_n"] == chk["spa_n_school"]).all()


def test_state_scale_size_plan():
    """Without generating it: the state scale plans ~10,000 schools in ~1,000 districts over 58 counties."""
    la_schools = demo.COE_SCHOOLS + demo.METRO_SCHOOLS + sum(n for _, _, n in demo.LA_DISTRICTS)
    la_districts = 2 + len(demo.LA_DISTRICTS)
    others = [demo._other_county_size(c, SEED) for c in demo.COUNTY_CODES if c != "19"]
    assert len(others) == 57
    schools = la_schools + sum(s for s, _ in others)
    districts = la_districts + sum(d for _, d in others)
    assert 9_500 <= schools <= 10_500 and 950 <= districts <= 1_100


# ------------------------------------------------------------------ numbers

CHRONIC_COLS = ("ChronicAbsenteeismEligibleCumulativeEnrollment", "ChronicAbsenteeismCount", "ChronicAbsenteeismRate")
SUSP_COLS = ("CumulativeEnrollment", "Unduplicated Count of Students Suspended (Total)", "Suspension Rate (Total)")


def _numeric(df: pl.DataFrame, metric: str) -> pl.DataFrame:
    """Common shape: level, entity, scope, cat, den, num, rate (text), star."""
    if metric == "chronic":
        den, num, rate = CHRONIC_COLS
        names = ("Aggregate Level", "County Code", "District Code", "School Code", "Charter School",
                 "Reporting Category")
        dass = pl.col("DASS")
    else:
        den, num, rate = SUSP_COLS
        names = ("AggregateLevel", "CountyCode", "DistrictCode", "SchoolCode", "CharterYN", "ReportingCategory")
        dass = pl.lit("All")
    lv, cc, dc, sc, ch, cat = names
    star = pl.col(den) == "*"
    return df.select(
        pl.col(lv).alias("level"),
        (pl.col(cc) + pl.col(dc).fill_null("") + pl.col(sc).fill_null("")).alias("entity"),
        pl.col(dc).fill_null("").alias("district"),
        pl.col(ch).alias("charter"), dass.alias("dass"), pl.col(cat).alias("cat"),
        star.alias("star"),
        (pl.col(num) == "*").alias("star_num"), (pl.col(rate) == "*").alias("star_rate"),
        pl.when(star).then(None).otherwise(pl.col(den)).cast(pl.Int64).alias("den"),
        pl.when(star).then(None).otherwise(pl.col(num)).cast(pl.Int64).alias("num"),
        pl.when(star).then(None).otherwise(pl.col(rate)).alias("rate"),
    )


def _all_numeric(chronic, suspension):
    for y, df in chronic.items():
        yield "chronic", y, _numeric(df, "chronic")
    for y, df in suspension.items():
        yield "suspension", y, _numeric(df, "suspension")


def test_suppression_rule(chronic, suspension):
    """Every visible row has a denominator over 10; a masked row masks all its numbers; RD is
    masked wherever another race row of the same entity is; rates are count/den x 100 rounded half up."""
    masked_total = rows_total = 0
    for metric, year, n in _all_numeric(chronic, suspension):
        rows_total += n.height
        masked_total += n["star"].sum()
        assert (n["star"] == n["star_num"]).all() and (n["star"] == n["star_rate"]).all()
        visible = n.filter(~pl.col("star"))
        assert visible["den"].min() >= 11, (metric, year)
        assert (visible["num"] <= visible["den"]).all()
        expected = ((visible["num"] * 2000 + visible["den"]) // (2 * visible["den"]))
        tenths = visible["rate"].str.replace(".", "", literal=True).cast(pl.Int64)
        assert (tenths == expected).all() and visible["rate"].str.contains(r"^\d+\.\d$").all()
        key = ["level", "entity", "charter", "dass"]
        other_masked = n.filter(pl.col("cat").is_in(RACE_NOT_RD) & pl.col("star")).select(key).unique()
        rd = n.filter(pl.col("cat") == "RD").join(other_masked, on=key)
        assert rd["star"].all(), (metric, year)
    assert 0.1 < masked_total / rows_total < 0.5
    # the suspension file masks every numeric cell of a masked row
    df = suspension["2023-24"]
    masked = df.filter(pl.col("CumulativeEnrollment") == "*")
    assert masked.height > 0
    for col in df.columns[10:]:
        assert (masked[col] == "*").all(), col


def _partition_gaps(n: pl.DataFrame, parts: list[str], whole: str) -> tuple[int, int]:
    """(entities where the visible parts fully cover and sum exactly to the whole,
        entities where that fails). Missing part rows count as 0 (CDE omits empty groups)."""
    key = ["level", "entity", "charter", "dass"]
    p = n.filter(pl.col("cat").is_in(parts)).group_by(key).agg(
        pl.col("den").sum().alias("pden"), pl.col("num").sum().alias("pnum"), pl.col("star").any().alias("pstar"))
    w = n.filter((pl.col("cat") == whole) & ~pl.col("star")).select(*key, "den", "num")
    j = w.join(p, on=key, how="left").with_columns(
        pl.col("pden").fill_null(0), pl.col("pnum").fill_null(0), pl.col("pstar").fill_null(False))
    full = j.filter(~pl.col("pstar"))
    ok = full.filter((pl.col("den") == pl.col("pden")) & (pl.col("num") == pl.col("pnum"))).height
    # with masked parts, the visible parts can only fall short
    partial = j.filter(pl.col("pstar"))
    assert ((partial["pden"] <= partial["den"]) & (partial["pnum"] <= partial["num"])).all()
    return ok, full.height - ok


def test_subgroups_partition_the_total(chronic, suspension):
    races = [c for c in codes.REPORTING_CATEGORIES if codes.REPORTING_CATEGORIES[c][1] == "race"]
    for metric, year, n in _all_numeric(chronic, suspension):
        for parts, whole in ((races, "TA"), (["GF", "GM", "GX"], "TA"), (["GRTK8", "GR912"], "TA"),
                             (["GRTKKN", "GR13", "GR46", "GR78"], "GRTK8")):
            ok, bad = _partition_gaps(n, parts, whole)
            assert bad == 0 and ok > 100, (metric, year, whole, parts, ok, bad)
        key = ["level", "entity", "charter", "dass"]
        ta = n.filter(pl.col("cat") == "TA").select(*key, pl.col("den").alias("ta_den"), pl.col("num").alias("ta_num"))
        prog = n.filter(pl.col("cat").is_in(["SD", "SE", "SF", "SH", "SM", "SS"]) & ~pl.col("star")).join(ta, on=key)
        assert prog.height > 0
        assert ((prog["den"] <= prog["ta_den"]) & (prog["num"] <= prog["ta_num"])).all(), (metric, year)
        # state and county rows are never masked, so their partitions are checked in full above
        assert not n.filter(pl.col("level").is_in(["C", "T"]))["star"].any()


def test_aggregates_are_sums_of_schools(chronic, suspension, directory):
    """D, C rows = exact sums of their school rows wherever no school row is masked (CDE sums
    before masking); where some are masked the visible school rows fall short. T > C."""
    charter = directory.select(pl.col("CDSCode").alias("entity"), pl.col("Charter"))
    for metric, year, n in _all_numeric(chronic, suspension):
        s = n.filter(pl.col("level") == "S")
        checked = 0
        for level, group, scope in (("D", ["district"], None), ("C", [], None), ("D", ["district"], "Y"),
                                    ("D", ["district"], "N")):
            src = s
            if scope:
                src = s.join(charter, on="entity").filter(pl.col("Charter") == scope)
            sums = src.group_by(group + ["cat"]).agg(pl.col("den").sum(), pl.col("num").sum(),
                                                     pl.col("star").any().alias("any_star"))
            want = "All" if scope is None else ("Yes" if scope == "Y" else "No")
            agg = n.filter((pl.col("level") == level) & (pl.col("charter") == want) & (pl.col("dass") == "All"))
            if not group:
                agg = agg.with_columns(pl.lit(0).alias("_k"))
                sums = sums.with_columns(pl.lit(0).alias("_k"))
            j = agg.join(sums, on=(group or ["_k"]) + ["cat"], how="inner", suffix="_s")
            assert j.height > 0 or scope is not None
            full = j.filter(~pl.col("any_star") & ~pl.col("star"))
            assert (full["den"] == full["den_s"]).all() and (full["num"] == full["num_s"]).all(), (metric, year, level)
            part = j.filter(pl.col("any_star") & ~pl.col("star"))
            assert (part["den_s"] <= part["den"]).all()
            checked += full.height
        assert checked > 1000
        c_ta = n.filter((pl.col("level") == "C") & (pl.col("cat") == "TA"))["den"].item()
        t_ta = n.filter((pl.col("level") == "T") & (pl.col("cat") == "TA"))["den"].item()
        assert 4.0 < t_ta / c_ta < 5.2


def test_suspension_columns_are_coherent(suspension):
    cols = suspension["2023-24"].columns
    total, undup, undup_def = cols[11], cols[12], cols[13]
    reasons = cols[15:21]
    for year, df in suspension.items():
        v = df.filter(pl.col("CumulativeEnrollment") != "*").select(
            pl.col(c).cast(pl.Int64) for c in [total, undup, undup_def, *reasons])
        assert (v[total] >= v[undup]).all() and (v[undup] >= v[undup_def]).all()
        assert (v[reasons[4]] >= v[undup_def]).all()
        assert (v.select(pl.sum_horizontal(reasons)).to_series() == v[total]).all(), year


def _county_rate(df: pl.DataFrame, metric: str, cat: str = "TA") -> float:
    n = _numeric(df, metric).filter((pl.col("level") == "C") & (pl.col("cat") == cat))
    return 100 * n["num"].item() / n["den"].item()


def test_rates_move_the_way_the_real_ones_did(chronic, suspension):
    ca = {"2018-19": 12, "2020-21": 15, "2021-22": 30, "2022-23": 25, "2023-24": 21, "2024-25": 18}
    su = {"2018-19": 2.5, "2019-20": 1.5, "2020-21": 0.2, "2021-22": 2.3, "2022-23": 2.7, "2023-24": 2.6,
          "2024-25": 2.5}
    for y, target in ca.items():
        assert abs(_county_rate(chronic[y], "chronic") - target) < 1.0, y
    for y, target in su.items():
        assert abs(_county_rate(suspension[y], "suspension") - target) < 0.3, y
    # student groups differ: foster and homeless youth highest, Asian students lowest
    rates = {c: _county_rate(chronic["2023-24"], "chronic", c) for c in ("TA", "SF", "SH", "RA", "SD")}
    assert rates["SF"] > rates["SD"] > rates["TA"] > rates["RA"] and rates["SH"] > rates["TA"]


def test_community_schools_start_worse_and_improve_faster(chronic, suspension, demo_dir):
    roster = _ini(demo_dir, "roster.csv").select(pl.col("cds_code").alias("entity"), pl.lit(True).alias("comm"))

    def pooled(df, metric):
        s = _numeric(df, metric).filter((pl.col("level") == "S") & (pl.col("cat") == "TA") & ~pl.col("star"))
        g = s.join(roster, on="entity", how="left").with_columns(pl.col("comm").fill_null(False))
        out = g.group_by("comm").agg((100 * pl.col("num").sum() / pl.col("den").sum()).alias("r"))
        return dict(out.iter_rows())

    for files, metric, first, last in ((chronic, "chronic", "2018-19", "2024-25"),
                                       (suspension, "suspension", "2018-19", "2024-25")):
        before, after = pooled(files[first], metric), pooled(files[last], metric)
        assert before[True] > before[False]  # higher need to start with
        did = (after[True] - before[True]) - (after[False] - before[False])
        assert did < 0, (metric, did)


# ------------------------------------------------------------------ geography

def _boundaries():
    from csi_metrics.ingest.boundaries import load_spa_boundaries

    return {v: load_spa_boundaries(p) for v, p in (("2022", SPA_2022), ("2012", SPA_2012))}


def test_every_school_is_inside_its_crosswalk_spa(demo_dir, directory):
    from csi_metrics.ingest.boundaries import assign_spa

    xw = _ini(demo_dir, "spa_crosswalk.csv").with_columns(pl.col("spa_n").cast(pl.Int64))
    schools = directory.filter(~pl.col("CDSCode").str.ends_with("0000000"))
    located = schools.filter(pl.col("Latitude") != "No Data")
    assert sorted(xw["cds_code"]) == sorted(located["CDSCode"])
    pts = located.join(xw, left_on="CDSCode", right_on="cds_code").to_pandas()
    assert set(pts["spa_n"]) == set(range(1, 9))
    for vintage, gdf in _boundaries().items():
        got = assign_spa(gdf, pts["Longitude"].astype(float), pts["Latitude"].astype(float))
        wrong = (got.to_numpy(dtype="float64", na_value=np.nan) != pts["spa_n"].to_numpy())
        assert not wrong.any(), (vintage, pts.loc[wrong, ["CDSCode", "spa_n"]].head())


def test_every_centre_disk_is_inside_its_spa():
    """The generator places points without the boundary file: prove each centre's whole jitter
    disk (as jitter() converts metres to degrees) lies inside its SPA on both official layers."""
    from shapely.affinity import scale, translate
    from shapely.geometry import Point

    layers = _boundaries()
    for c in demo.CENTRES:
        r_deg = c.radius_m / demo.METRES_PER_DEG_LAT
        disk = Point(0, 0).buffer(r_deg, 64)
        disk = scale(disk, xfact=1 / math.cos(math.radians(c.lat)), yfact=1.0, origin=(0, 0))
        disk = translate(disk, c.lon, c.lat)
        for vintage, gdf in layers.items():
            poly = gdf.loc[gdf["spa_n"] == c.spa_n, "geometry"].iloc[0]
            assert poly.contains(disk), (c.place, vintage)


def test_jitter_stays_within_radius():
    rng = np.random.default_rng(0)
    idx = np.repeat(np.arange(len(demo.CENTRES)), 50)
    lat, lon = demo.jitter(rng, idx)
    lat0 = np.array([demo.CENTRES[i].lat for i in idx])
    lon0 = np.array([demo.CENTRES[i].lon for i in idx])
    dy = (lat - lat0) * demo.METRES_PER_DEG_LAT
    dx = (lon - lon0) * demo.METRES_PER_DEG_LAT * np.cos(np.radians(lat0))
    r = np.array([demo.CENTRES[i].radius_m for i in idx])
    assert (np.hypot(dx, dy) <= r + 1e-6).all()
    assert (np.hypot(dx, dy) > 0.5 * r).any()  # it does spread


# ------------------------------------------------------------------ determinism, ingest, state

def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(demo_dir, tmp_path):
    demo.generate(tmp_path, "county", SEED)
    assert _digests(tmp_path) == _digests(demo_dir)


def test_other_seed_changes_the_schools():
    _, a, _ = demo.make_schools("19", SEED)
    _, b, _ = demo.make_schools("19", SEED + 1)
    assert a["cds_code"].to_list() != b["cds_code"].to_list()


def test_build_ingests_the_demo_through_the_real_readers(demo_dir, tmp_path, chronic, suspension):
    build = pytest.importorskip("csi_metrics.ingest.build")
    import duckdb

    report = build.build(tmp_path / "demo.duckdb", demo_dir / "cde", demo_dir / "initiative", None, mode="demo")
    con = duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True)
    try:
        files_rows = sum(df.height for df in chronic.values()) + sum(df.height for df in suspension.values())
        assert con.execute("SELECT count(*) FROM outcomes").fetchone()[0] == files_rows
        assert con.execute("SELECT count(*) FROM schools WHERE spa_n IS NULL").fetchone()[0] == 5
        assert con.execute("SELECT count(*) FROM schools WHERE is_community").fetchone()[0] == 520
        assert con.execute("SELECT sum(amount_usd) FROM grants WHERE county_code = '19'").fetchone()[0] == 660_000_000
        # The Dashboard files: every row kept (county scale is LA plus the state row).
        official_rows = sum(_read_cde(demo_dir / "cde" / n).height for n in DASHBOARD_FILES)
        assert con.execute("SELECT count(*) FROM dashboard_official").fetchone()[0] == official_rows
        info = dict(con.execute("SELECT key, value FROM build_info").fetchall())
        assert info["dashboard_years_chronic_absenteeism"] == info["dashboard_years_suspension"] == \
            "2019,2022,2023,2024,2025"
        kinds = dict(con.execute("SELECT kind, count(*) FROM build_sources GROUP BY kind").fetchall())
        assert kinds["dashboard_chronic_absenteeism"] == kinds["dashboard_suspension"] == 5
        # 2022 status only; 2019 has no prior year in the demo (it has no 2017-18), so no colours either.
        colours = dict(con.execute("SELECT dashboard_year, count(color) FROM dashboard_official GROUP BY ALL").fetchall())
        assert colours[2019] == colours[2022] == 0 and min(colours[y] for y in (2023, 2024, 2025)) > 1000
    finally:
        con.close()
    assert report.unassigned_schools_n == 5
    assert report.dashboard_years == {"chronic_absenteeism": list(DASHBOARD_YEARS),
                                      "suspension": list(DASHBOARD_YEARS)}


def test_state_scale(tmp_path, demo_dir):
    t0 = time.perf_counter()
    demo.generate(tmp_path, "state", SEED)
    print(f"state demo generated in {time.perf_counter() - t0:.1f} s")
    d = pl.read_csv(tmp_path / "cde" / "pubschls.txt", separator="\t", quote_char=None, infer_schema=False,
                    encoding="utf8-lossy")
    is_district = d["CDSCode"].str.ends_with("0000000")
    assert 9_500 <= (~is_district).sum() <= 10_500 and 950 <= is_district.sum() <= 1_100
    assert d["CDSCode"].str.slice(0, 2).n_unique() == 58
    # LA keeps its county-scale schools
    la = sorted(d.filter(pl.col("CDSCode").str.starts_with("19"))["CDSCode"])
    county = pl.read_csv(demo_dir / "cde" / "pubschls.txt", separator="\t", quote_char=None, infer_schema=False,
                         encoding="utf8-lossy")
    assert la == sorted(county["CDSCode"])
    rows = sum(1 for _ in open(tmp_path / "cde" / "suspension25.txt", "rb")) - 1
    assert rows > 150_000


# ------------------------------------------------------------------ the Dashboard files

def _dashboard(demo_dir: Path, name: str) -> pl.DataFrame:
    return _read_cde(demo_dir / "cde" / name)


def _first_line(path: Path) -> str:
    return _decode(path.read_bytes()).split("\n")[0].rstrip("\r")


def test_dashboard_files_layouts_and_encoding(demo_dir, fixtures_dir):
    """Headers as the real-layout fixtures have them (CDE's record layouts); cp1252, no BOM."""
    fixture = {n: _first_line(fixtures_dir / "dashboard" / n).split("\t") for n in
               ("chronicdownload2024.txt", "chronicdownload2022.txt", "suspdownload2024.txt",
                "suspdownload2019.txt")}
    for name in DASHBOARD_FILES:
        raw = (demo_dir / "cde" / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), name
        header = raw.decode("cp1252").split("\r\n")[0].split("\t")
        year = int(name[-8:-4])
        like = ("chronicdownload" if name.startswith("chronic") else "suspdownload") + (
            "2022" if year == 2022 else "2024" if year >= 2023 else "2019") + ".txt"
        if like in fixture:
            assert [h.lower() for h in header] == [h.lower() for h in fixture[like]], name
        if year == 2022:
            assert not {"priorstatus", "change", "color", "box"} & set(header), name
        assert ("changeLevel" in header) == (name.startswith("chronic") and year >= 2023), name
        assert _dashboard(demo_dir, name)["reportingyear"].unique().to_list() == [str(year)]


def _dq(frame: pl.DataFrame, metric: str, cat: str) -> pl.DataFrame:
    """DataQuest rows of one category as (rtype, cds, den, num), the Dashboard's entities:
    schools, districts' All rows, the state."""
    n = _numeric(frame, metric).filter((pl.col("cat") == cat) & (pl.col("level") != "C"))
    n = n.filter((pl.col("level") == "S") | ((pl.col("charter") == "All") & (pl.col("dass") == "All")))
    return n.select(
        pl.col("level").replace({"T": "X"}).alias("rtype"),
        pl.when(pl.col("level") == "T").then(pl.lit("00000000000000"))
        .when(pl.col("level") == "D").then(pl.col("entity") + "0000000").otherwise(pl.col("entity")).alias("cds"),
        "den", "num", "star")


def test_dashboard_chronic_is_the_dataquest_grtk8(demo_dir, chronic):
    """Chronic absenteeism on the Dashboard is grades TK-8: every row is the DataQuest GRTK8
    row of the same school, district or state, and a school without TK-8 students has none."""
    for year in (2019, 2022, 2024):
        dash = _dashboard(demo_dir, f"chronicdownload{year}.txt")
        dq = _dq(chronic[codes.academic_year(year - 1)], "chronic", "GRTK8")
        assert sorted(dash["cds"]) == sorted(dq["cds"])
        j = dash.join(dq, on=["rtype", "cds"])
        assert j.height == dash.height
        shown = j.filter(~pl.col("star"))
        assert (shown["currdenom"].cast(pl.Int64) == shown["den"]).all()
        assert (shown["currnumer"].cast(pl.Int64) == shown["num"]).all()
        # CDE's rule: numerator and status blank under 11 students
        small = dash.filter(pl.col("currdenom").cast(pl.Int64) < 11)
        assert small["currnumer"].null_count() == small["currstatus"].null_count() == small.height
    ta = {c for c in _dq(chronic["2023-24"], "chronic", "TA")["cds"]}
    assert len(ta - set(_dashboard(demo_dir, "chronicdownload2024.txt")["cds"])) > 100  # high schools


def test_dashboard_suspension_counts_full_days_only(demo_dir, suspension, directory):
    """Suspension on all students: DataQuest's enrolment, and 92-97% of its suspended students
    (only a combined full day counts on the Dashboard); types from SOC and DOC."""
    dash = _dashboard(demo_dir, "suspdownload2024.txt")
    dq = _dq(suspension["2023-24"], "suspension", "TA")
    j = dash.join(dq, on=["rtype", "cds"]).filter(~pl.col("star") & (pl.col("rtype") == "S"))
    assert j.height > 2000
    assert (j["currdenom"].cast(pl.Int64) == j["den"]).all()
    num = j["currnumer"].cast(pl.Int64)
    assert (num <= j["num"]).all() and (num < j["num"]).sum() > 500
    assert 0.92 <= num.sum() / j["num"].sum() <= 0.97
    soc = dict(zip(directory["CDSCode"], directory["SOC"]))
    doc = dict(zip(directory["CDSCode"], directory["DOC"]))
    want = {"60": "ES", "62": "MS", "66": "HS", "68": "HS", "65": "UD", "69": "UD", "09": "UD", "14": "UD"}
    for cds, rtype, typ in dash.select("cds", "rtype", "type").iter_rows():
        if rtype == "S":
            assert typ == want[soc[cds]], cds
        elif rtype == "D":
            assert typ == {"52": "ED", "56": "HD", "54": "UD", "00": "UD"}[doc[cds]], cds
    assert set(dash["type"]) == {"ES", "MS", "HS", "ED", "HD", "UD"}


def _cut_set(typ: str | None) -> str | None:
    from csi_metrics.rules import levels
    if typ is None:
        return None
    school = {"ES": "ES", "MS": "MS", "HS": "HS"}.get(typ)
    if school:
        return levels.suspension_cut_set(school_type=school)
    return levels.suspension_cut_set(lea_type={"ED": "elementary", "HD": "high"}.get(typ, "unified"))


def test_dashboard_placements_are_csi_metrics_levels(demo_dir):
    """Status rounded half up, change from unrounded rates, levels and colour as
    csi_metrics.rules.levels places them: no colour under 30, the 3x5 grid under 150."""
    from csi_metrics.rules import levels
    status_code = {n: str(5 - i) for i, n in enumerate(levels.STATUS_LEVELS)}
    color_code = {n: str(i + 1) for i, n in enumerate(levels.COLORS)}
    checked = 0
    for name in ("chronicdownload2024.txt", "suspdownload2025.txt"):
        metric = "chronic_absenteeism" if name.startswith("chronic") else "suspension"
        dash = _dashboard(demo_dir, name)
        for r in dash.iter_rows(named=True):
            den = int(r["currdenom"])
            assert r["smalldenom"] == ("Y" if den < 150 else "N")
            assert r["currnsizemet"] == ("Y" if den >= 30 else "N")
            if den < 30:
                assert r["color"] == "0" and r["box"] is None
            if den < 30 or r["priorstatus"] is None:
                continue
            num, pnum, pden = int(r["currnumer"]), int(r["priornumer"]), int(r["priordenom"])
            a = levels.assess(metric, num / den, den, pnum / pden, _cut_set(r.get("type")))
            assert float(r["currstatus"]) == a["status_pct"] and float(r["change"]) == a["change_pp"], r
            assert r["statuslevel"] == status_code[a["status_level"]] and r["color"] == color_code[a["color"]], r
            checked += 1
    assert checked > 3000


def test_some_official_suspension_colours_differ_from_dataquest_ones(demo_dir, suspension):
    """The full-day definition moves some schools to another colour than the same placement
    on DataQuest's counts gives: realistic material for reconciling the two."""
    from csi_metrics.rules import levels
    dash = _dashboard(demo_dir, "suspdownload2024.txt").filter(pl.col("rtype") == "S")
    cur = _dq(suspension["2023-24"], "suspension", "TA").filter(~pl.col("star"))
    pri = _dq(suspension["2022-23"], "suspension", "TA").filter(~pl.col("star"))
    j = dash.join(cur, on=["rtype", "cds"]).join(pri, on=["rtype", "cds"], suffix="_prior")
    j = j.filter((pl.col("den") >= 30) & (pl.col("color") != "0"))
    colors = levels.COLORS
    differ = 0
    for r in j.iter_rows(named=True):
        a = levels.assess("suspension", r["num"] / r["den"], r["den"], r["num_prior"] / r["den_prior"],
                          _cut_set(r["type"]))
        differ += colors[int(r["color"]) - 1] != a["color"]
    assert j.height > 1500 and 0.01 * j.height < differ < 0.5 * j.height  # about 2-3%
