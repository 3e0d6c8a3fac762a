"""Constructed impact-study data in CDE's real file layouts: a directory
(pubschls.txt) of many schools cloned from the fixture's Cedar Grove elementary
row, chronic absenteeism and suspension files per year (TA and SS rows), and an
initiative folder (roster, header-only grants and activities, a crosswalk), built
through the real readers and the build (so the matching runs as in production).

    spec = Scenario(...); db_path = build(tmp_path, spec)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import cde_files
from csi_metrics.ingest import build as build_mod
from fixture_paths import FIXTURES

DISTRICT = "1975309"
SOC = {"ES": ("60", "Elementary Schools (Public)"), "HS": ("66", "High Schools (Public)")}
YEARS = ["2018-19", "2020-21", "2021-22", "2022-23", "2023-24"]


@dataclass
class School:
    cds: str
    community: bool
    first_grant_year: str | None = None
    grant_type: str = "implementation"
    school_type: str = "ES"
    rates: dict[str, float] = field(default_factory=dict)    # year -> chronic absenteeism rate (0-1)
    enrollment: int = 500
    ss_share: float = 0.7


def cds(i: int) -> str:
    return f"{DISTRICT}{6100000 + i:07d}"


def _directory(schools: list[School], shuffle: random.Random | None) -> str:
    lines = (FIXTURES / "cde" / "pubschls.txt").read_text(encoding="utf-8").splitlines()
    header = lines[0]
    district = next(line for line in lines if line.startswith(f"{DISTRICT}0000000"))
    template = next(line for line in lines if line.startswith("19753096000001")).split("\t")
    cols = header.split("\t")
    rows = []
    for s in schools:
        cells = list(template)
        cells[cols.index("CDSCode")] = s.cds
        cells[cols.index("School")] = f"Impact School {s.cds[-4:]}"
        cells[cols.index("SOC")], cells[cols.index("SOCType")] = SOC[s.school_type]
        rows.append("\t".join(cells))
    if shuffle is not None:
        shuffle.shuffle(rows)
    return "\r\n".join([header, district, *rows]) + "\r\n"


def _rows(schools: list[School], year: str, shuffle: random.Random | None) -> list[tuple]:
    out = []
    for s in schools:
        if year not in s.rates:
            continue
        den = s.enrollment
        ss_den = round(s.ss_share * den)
        rate = s.rates[year]
        out.append((s.cds, "TA", round(rate * den), den))
        out.append((s.cds, "SS", round(rate * ss_den), ss_den))
    if shuffle is not None:
        shuffle.shuffle(out)
    return out


def build(tmp: Path, schools: list[School], *, shuffle_seed: int | None = None,
          grantees: list[str] = ()) -> Path:
    """Write the files (rows shuffled when shuffle_seed is given) and build; the database path."""
    rnd = random.Random(shuffle_seed) if shuffle_seed is not None else None
    years = sorted({y for s in schools for y in s.rates})
    chronic = {y: _rows(schools, y, rnd) for y in years}
    # Suspension: a tenth of the chronic rate, so both metrics are matched and estimated.
    susp_schools = [School(s.cds, s.community, s.first_grant_year, s.grant_type, s.school_type,
                           {y: r / 10 for y, r in s.rates.items()}, s.enrollment, s.ss_share) for s in schools]
    suspension = {y: _rows(susp_schools, y, rnd) for y in years}
    cde_dir, ini = cde_files.folder(tmp, chronic=chronic, suspension=suspension,
                                    extra={"pubschls.txt": _directory(schools, rnd)})
    roster = ["cds_code,cohort,grant_type,first_grant_year"]
    cohorts = {g: i + 1 for i, g in enumerate(sorted({s.first_grant_year for s in schools if s.community}))}
    comm = [s for s in schools if s.community]
    if rnd is not None:
        rnd.shuffle(comm)
    roster += [f"{s.cds},{cohorts[s.first_grant_year]},{s.grant_type},{s.first_grant_year}" for s in comm]
    (ini / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
    (ini / "grants.csv").write_text(",".join(["grant_id", "grantee_cds", "grantee_name", "grantee_level",
                                              "county_code", "cohort", "grant_type", "award_year", "amount_usd",
                                              "funding_source"]) + "\n", encoding="utf-8")
    (ini / "activities.csv").write_text("activity_id,activity_date,activity_type,spa_n,cds_code,attendees_n,"
                                        "items_n\n", encoding="utf-8")
    for name in ("attendance.csv",):
        (ini / name).unlink(missing_ok=True)
    (ini / "spa_crosswalk.csv").write_text("cds_code,spa_n\n" + "".join(f"{s.cds},4\n" for s in schools),
                                           encoding="utf-8")
    if grantees:
        (ini / "ccspp_grantees.csv").write_text("cds_code\n" + "".join(f"{c}\n" for c in grantees),
                                                encoding="utf-8")
    target = tmp / "csi.duckdb"
    build_mod.build(target, cde_dir, ini, None)
    return target


def scenario(*, seed: int = 7, n_community: int = 30, community_level: float = 0.42,
             comparison_levels: tuple[tuple[int, float], ...] = ((150, 0.16), (50, 0.40)),
             post_factor: float = 1.0, effect_pp: float = 0.0, first_grant_year: str = "2022-23",
             noise: float = 0.01) -> list[School]:
    """Community schools around community_level, comparison schools in groups (count, level);
    every school's rate is multiplied by post_factor from first_grant_year on (0.75: every school
    falls 25%), and community schools' post-grant rates move by effect_pp on top."""
    rng = np.random.default_rng(seed)
    out: list[School] = []

    def school(i: int, community: bool, level: float) -> School:
        rates = {}
        lvl = float(np.clip(level + rng.normal(0, 0.02), 0.02, 0.9))
        for y in YEARS:
            r = lvl
            if y >= first_grant_year:
                r = r * post_factor + (effect_pp / 100 if community else 0.0)
            rates[y] = float(np.clip(r + rng.normal(0, noise), 0.01, 0.95))
        return School(cds(i), community, first_grant_year if community else None, rates=rates,
                      enrollment=int(rng.integers(350, 700)), ss_share=float(np.clip(rng.normal(0.7, 0.05), 0.3, 0.95)))

    i = 1
    for _ in range(n_community):
        out.append(school(i, True, community_level))
        i += 1
    for n, level in comparison_levels:
        for _ in range(n):
            out.append(school(i, False, level))
            i += 1
    return out
