"""Hand-built CDE files in the real layouts, for tests that must go through the
readers and the build: write a few school rows as CDE would publish them, build.

    folder = cde_files.folder(tmp_path, chronic={"2023-24": [row, ...]}, suspension={...})
    db = cde_files.build(tmp_path, chronic=..., suspension=...)

A row is (cds_code, reporting_category, numerator, denominator) or with a
fifth element True for a CDE-starred row. The directory and initiative files are
the repository's real-layout fixtures (tests/fixtures: Cedar Grove Unified's
schools, a county office, an Alameda school)."""

from __future__ import annotations

import shutil
from pathlib import Path

from csi_metrics.ingest import build as build_mod
from fixture_paths import FIXTURES

CHRONIC_HEADER = ["Academic Year", "Aggregate Level", "County Code", "District Code", "School Code", "County Name",
                  "District Name", "School Name", "Charter School", "DASS", "Reporting Category",
                  "ChronicAbsenteeismEligibleCumulativeEnrollment", "ChronicAbsenteeismCount",
                  "ChronicAbsenteeismRate"]
SUSPENSION_HEADER = ["AcademicYear", "AggregateLevel", "CountyCode", "DistrictCode", "SchoolCode", "CountyName",
                     "DistrictName", "SchoolName", "CharterYN", "ReportingCategory", "CumulativeEnrollment",
                     "Total Suspensions", "Unduplicated Count of Students Suspended (Total)",
                     "Unduplicated Count of Students Suspended (Defiance-Only)", "Suspension Rate (Total)",
                     "Suspension Count Violent Incident (Injury)", "Suspension Count Violent Incident (No Injury)",
                     "Suspension Count Weapons Possession", "Suspension Count Illicit Drug-Related",
                     "Suspension Count Defiance-Only", "Suspension Count Other Reasons"]

# Cedar Grove Unified's schools in tests/fixtures/cde/pubschls.txt
ES, HS, MS, K12, ES_CLOSED = ("19753096000001", "19753096000002", "19753096000003", "19753090100004",
                              "19753096000005")


def _rate(num: int, den: int) -> str:
    tenths = (num * 2000 + den) // (2 * den)
    return f"{tenths // 10}.{tenths % 10}"


def _school_cells(cds: str) -> list[str]:
    return ["S", cds[:2], cds[2:7], cds[7:], "Los Angeles", "Cedar Grove Unified", "A School"]


def chronic_text(rows_by_year: dict[str, list[tuple]]) -> str:
    lines = ["\t".join(CHRONIC_HEADER)]
    for year, rows in rows_by_year.items():
        for cds, group, num, den, *star in rows:
            starred = bool(star and star[0])
            vals = ["*", "*", "*"] if starred else [str(den), str(num), _rate(num, den)]
            lines.append("\t".join([year, *_school_cells(cds), "No", "No", group, *vals]))
    return "\r\n".join(lines) + "\r\n"


def suspension_text(rows_by_year: dict[str, list[tuple]]) -> str:
    lines = ["\t".join(SUSPENSION_HEADER)]
    for year, rows in rows_by_year.items():
        for cds, group, num, den, *star in rows:
            starred = bool(star and star[0])
            if starred:
                vals = ["*"] * 11
            else:
                vals = [str(den), str(num), str(num), "0", _rate(num, den), "0", "0", "0", "0", "0", str(num)]
            lines.append("\t".join([year, *_school_cells(cds), "No", group, *vals]))
    return "\r\n".join(lines) + "\r\n"


def folder(tmp: Path, *, chronic: dict[str, list[tuple]] | None = None,
           suspension: dict[str, list[tuple]] | None = None, extra: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A CDE folder (the fixture directory plus these outcome files, one per year) and
    the fixture initiative folder; returns (cde_dir, initiative_dir)."""
    cde_dir, ini = tmp / "cde", tmp / "initiative"
    cde_dir.mkdir(parents=True)
    shutil.copy(FIXTURES / "cde" / "pubschls.txt", cde_dir / "pubschls.txt")
    shutil.copytree(FIXTURES / "initiative", ini)
    for year, rows in (chronic or {}).items():
        (cde_dir / f"chronicabsenteeism{year[-2:]}.txt").write_text(chronic_text({year: rows}), encoding="utf-8")
    for year, rows in (suspension or {}).items():
        (cde_dir / f"suspension{year[-2:]}.txt").write_text(suspension_text({year: rows}), encoding="utf-8")
    for name, text in (extra or {}).items():
        (cde_dir / name).write_text(text, encoding="utf-8")
    return cde_dir, ini


def build(tmp: Path, **kw) -> Path:
    """folder(...) built into tmp/csi.duckdb through the real readers; returns the path."""
    cde_dir, ini = folder(tmp, **kw)
    target = tmp / "csi.duckdb"
    build_mod.build(target, cde_dir, ini, None)
    return target
