"""Reader for CDE's California School Dashboard indicator files: the official
status, change, level and colour of every school, LEA and the state.

    chronicdownloadYYYY.txt   Chronic Absenteeism indicator (grades TK-8)
    suspdownloadYYYY.txt      Suspension Rate indicator

YYYY is the Dashboard year (2018, 2019, 2022, 2023, 2024, 2025; CDE published
no 2020 or 2021 Dashboard); its data are those of the academic year before:
Dashboard 2024 = 2023-24. Layouts: CDE's record layout pages chronic18/19/22/
23/24.asp and suspindicator19/22/24.asp (notes in /work/research/cde_dashboard.md
§1). What is not confirmed from CDE itself: the real files' header lines (only
the layout pages were seen), the order of the fields after `currnsizemet`
(third-party code only), colour codes 2-5 and change-level codes 2-4 (CDE
printed only 1 and 5 / 0), the `changeLevel` spelling of the chronic file, and
`cds` versus `cdscode` in 2019. So columns are found by name, in any case and
any order; unknown extra columns are ignored.

Tab-delimited, header row, never quoted; UTF-8 (a BOM is stripped) else cp1252,
through the DataQuest readers' own decoding and checks (cde.read_text_table,
cde.run_checks). Every bad value is an InputError naming file, line and column.

What is stored (the `dashboard_official` table): the published figures and
placements, never the numerators and denominators (the dashboard never shows
them, and a second set of student counts would be a second set to protect).
The project's floor of 11 students (codes.MIN_N) holds here too: where the
current denominator is under 11 (or blank) no figure of the row is stored, and
where the prior one is, no prior status or change; both are recorded with the
build's rejections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from csi_metrics.ingest import cde
from csi_metrics.vocabulary import codes
from csi_metrics.vocabulary.errors import InputError
from csi_metrics.rules.levels import CHANGE_LEVELS, COLORS, STATUS_LEVELS
from csi_metrics.vocabulary.formats import half_up_expr

INDICATORS = ("chronic_absenteeism", "suspension")
FILE_PREFIX = {"chronic_absenteeism": "chronicdownload", "suspension": "suspdownload"}
# build_sources.kind of each indicator's files.
SOURCE_KIND = {"chronic_absenteeism": "dashboard_chronic_absenteeism", "suspension": "dashboard_suspension"}

PUBLISHED_YEARS = (2018, 2019, 2022, 2023, 2024, 2025)
NO_DASHBOARD_YEARS = (2020, 2021)  # SB 98 suspended the 2020 Dashboard; none in 2021 either
FIRST_READ_YEAR = 2018             # Fall/Spring 2017 files have older layouts (rtype L, no dass_flag, no X rows)
STATUS_ONLY_YEARS = (2022,)        # 2021-22 data: status only (no prior, change, colour or box)

_FILE = re.compile(r"^(chronicdownload|suspdownload)([0-9]{4})?.*\.txt$", re.IGNORECASE)

# CDE's student-group code -> the DataQuest reporting category it corresponds to.
# LTEL (long-term English learners, 2024 on) and RFP (RFEPs only, 2018) have no
# DataQuest category and keep their own code.
GROUP_CATEGORY: dict[str, str] = {
    "ALL": "TA", "AA": "RB", "AI": "RI", "AS": "RA", "FI": "RF", "HI": "RH", "PI": "RP", "WH": "RW",
    "MR": "RT", "EL": "SE", "SED": "SS", "SWD": "SD", "FOS": "SF", "HOM": "SH", "LTEL": "LTEL", "RFP": "RFP",
}
# The chronic 2024 layout page prints "LT EL"; the files and the suspension page say LTEL.
GROUP_ALIASES = {"LT EL": "LTEL"}
TYPES = ("ES", "MS", "HS", "ED", "HD", "UD")  # suspension `type`: school type or LEA type (picks the cut set)
RTYPES = ("S", "D", "X")
STATE_CDS = "00000000000000"

# Codes -> names (csi_metrics.rules.levels spells the names). CDE: statuslevel 1=Very High ..
# 5=Very Low, changelevel 1=Increased Significantly .. 5=Declined Significantly
# (CDE's Spring 2017 layout says "Decreased Significantly"), color 1=Red .. 5=Blue;
# 0 = No Data / No Color.
STATUS_CODES = {str(5 - i): name for i, name in enumerate(STATUS_LEVELS)}
CHANGE_CODES = {str(5 - i): name for i, name in enumerate(CHANGE_LEVELS)}
COLOR_CODES = {str(i + 1): name for i, name in enumerate(COLORS)}
LEVEL_CODES = ("0", "1", "2", "3", "4", "5")
FLAG_VALUES = ("Y", "N")

# Every column this reader uses, by its lower-case name.
KNOWN_COLUMNS = (
    "cds", "cdscode", "rtype", "type", "studentgroup", "currnumer", "currdenom", "currstatus",
    "priornumer", "priordenom", "priorstatus", "change", "statuslevel", "changelevel", "color", "box",
    "smalldenom", "safetynet", "currnsizemet", "reportingyear",
)
PRIOR_COLUMNS = ("priornumer", "priordenom", "priorstatus", "change", "changelevel", "color", "box")

CURRENT_SMALL = ("fewer than 11 students: the official status, change and colour are not stored")
PRIOR_SMALL = ("prior year fewer than 11 students: the official prior status and change are not stored")

# Change is computed from unrounded rates and rounded; the two statuses were
# rounded too: each rounding moves a figure by at most 0.05.
CHANGE_TOLERANCE_PP = 0.15

TABLE_SCHEMA = {
    "indicator": pl.Utf8, "dashboard_year": pl.Int32, "academic_year": pl.Utf8, "rtype": pl.Utf8,
    "cds_code": pl.Utf8, "student_group": pl.Utf8, "dashboard_group": pl.Utf8, "school_or_lea_type": pl.Utf8,
    "status_pct": pl.Float64, "prior_status_pct": pl.Float64, "change_pp": pl.Float64,
    "status_level": pl.Utf8, "change_level": pl.Utf8, "color": pl.Utf8, "box": pl.Int32,
    "small_population": pl.Boolean, "n_size_met": pl.Boolean,
}


@dataclass
class DashboardResult(cde.ReadResult):
    indicator: str = ""
    dashboard_year: int = 0


def indicator_of(name: str) -> str | None:
    """'chronic_absenteeism' / 'suspension' for a Dashboard file name (any case), else None."""
    m = _FILE.match(name)
    if not m:
        return None
    return "chronic_absenteeism" if m.group(1).lower() == "chronicdownload" else "suspension"


def year_of_name(name: str) -> int | None:
    """The Dashboard year in a file name (chronicdownload2024.txt -> 2024), else None."""
    m = _FILE.match(name)
    return int(m.group(2)) if m and m.group(2) else None


def file_name(indicator: str, dashboard_year: int) -> str:
    return f"{FILE_PREFIX[indicator]}{dashboard_year}.txt"


def dashboard_year_of(academic_year: str) -> int:
    """'2023-24' -> 2024: the Dashboard that reports the year's data."""
    return codes.year_start(academic_year) + 1


def academic_year_of(dashboard_year: int) -> str:
    """2024 -> '2023-24'."""
    return codes.academic_year(dashboard_year - 1)


def find_files(cde_dir: Path) -> list[tuple[str, Path]]:
    """(indicator, path) of every chronicdownload*.txt / suspdownload*.txt in cde_dir, by name."""
    return [(k, p) for p in sorted(Path(cde_dir).iterdir()) if p.is_file() and (k := indicator_of(p.name))]


def required_columns(indicator: str, dashboard_year: int | None) -> list[str | tuple[str, ...]]:
    """The columns a file must have (lower case); a tuple is "one of these".
    dashboard_year None: the columns every year has (what a download is checked for)."""
    cols: list[str | tuple[str, ...]] = [("cds", "cdscode"), "rtype"]
    if indicator == "suspension":
        cols.append("type")
    cols.append("studentgroup")
    if dashboard_year is not None:
        cols += ["currnumer", "currdenom"]
    cols += ["currstatus", "statuslevel"]
    if dashboard_year is None:
        return cols
    if dashboard_year not in STATUS_ONLY_YEARS:
        cols += list(PRIOR_COLUMNS) + [("smalldenom", "safetynet")]
    return cols


def missing_columns(header: list[str], indicator: str, dashboard_year: int | None) -> list[str]:
    """Required columns (as named in CDE's layouts) that `header` lacks, matching names in any case."""
    have = {h.strip().lower() for h in header}
    out = []
    for c in required_columns(indicator, dashboard_year):
        options = c if isinstance(c, tuple) else (c,)
        if not any(o in have for o in options):
            out.append(options[0])
    return out


def _describe_missing(name: str) -> str:
    alt = {"cds": " (or 'cdscode')", "smalldenom": " (or 'safetynet', 2018 and 2019)"}.get(name, "")
    return f"missing column {name!r}{alt}; names are matched in any case"


def read_header(path: Path) -> list[str]:
    """The header line's names, decoded as the readers decode (BOM stripped, UTF-8 else cp1252)."""
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 16)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    text, _enc = cde.decode_bytes(first.rstrip(b"\r\n"), path)
    return [h.strip() for h in text.decode("utf-8").split("\t")]


def _column_map(path: Path, header: list[str]) -> dict[str, str]:
    """lower-case known name -> the name as the header spells it; refuses two spellings of one name."""
    seen: dict[str, str] = {}
    for h in header:
        key = h.lower()
        if key in KNOWN_COLUMNS:
            if key in seen:
                raise InputError(path, f"columns {seen[key]!r} and {h!r} are the same name in a different case; "
                                       "keep one", line=1, column=h)
            seen[key] = h
    if "cds" in seen and "cdscode" in seen:
        raise InputError(path, f"both {seen['cds']!r} and {seen['cdscode']!r}: keep one CDS code column",
                         line=1, column=seen["cdscode"])
    return seen


_DECIMAL = r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"


def read_dashboard_file(path: str | Path, all_counties: bool = False,
                        directory: cde.DirectoryResult | None = None) -> DashboardResult:
    """Read one Dashboard indicator file into the `dashboard_official` table's shape.

    Keeps LA County (CDS codes starting 19) and the state (X) rows unless
    all_counties; dropped rows are recorded as a rejection, as are (kept) school
    rows not in `directory` and the rows whose figures the 11-student floor withholds."""
    p = Path(path)
    indicator = indicator_of(p.name)
    if indicator is None:
        raise InputError(p, "not a Dashboard file name (chronicdownloadYYYY.txt or suspdownloadYYYY.txt)")
    header = read_header(p)
    cmap = _column_map(p, header)
    if not (set(cmap) & {"cds", "cdscode", "rtype", "studentgroup", "currstatus"}):
        raise InputError(p, "header does not split on tab into the Dashboard file's column names (expected "
                            "tab-separated columns such as 'cds', 'rtype', 'studentgroup', 'currstatus')",
                         line=1, column=header[0] if header else None)
    name_year = year_of_name(p.name)
    if name_year is None and "reportingyear" not in cmap:
        raise InputError(p, "no Dashboard year: the file name has none (e.g. "
                            f"{file_name(indicator, 2024)}) and there is no reportingyear column")
    # Check what every year needs before reading, so a wrong file is named as such.
    early = missing_columns(list(cmap.values()), indicator, None)
    if early:
        raise InputError(p, _describe_missing(early[0]), line=1, column=early[0])

    df, encoding = cde.read_text_table(p, list(cmap.values()), "\t", quote_char=None)
    df = df.with_columns(pl.col(c).str.strip_chars() for c in cmap.values())
    A = dict(cmap)  # canonical -> header name
    if "cdscode" in A:
        A["cds"] = A.pop("cdscode")

    def v(name: str) -> pl.Expr:
        return pl.col(A[name])

    # --- the Dashboard year: the file name's, or the reportingyear column's; both must agree
    year = name_year
    if "reportingyear" in A:
        ry = A["reportingyear"]
        cde.check(df, p, v("reportingyear").is_not_null() & ~v("reportingyear").str.contains(r"^[0-9]{4}$"), ry,
                  lambda r: f"reporting year {r[ry]!r} is not a four-digit Dashboard year")
        if year is None:
            first = df.select(v("reportingyear").drop_nulls().first()).item()
            if first is None:
                raise InputError(p, "no Dashboard year: the file name has none and reportingyear is blank", column=ry)
            year = int(first)
            where = "the file's first reporting year"
        else:
            where = f"the file name's Dashboard year ({p.name})"
        y = year
        cde.check(df, p, v("reportingyear").is_not_null() & (v("reportingyear") != str(y)), ry,
                  lambda r: f"reporting year {r[ry]} disagrees with {where}, {y}")
    assert year is not None
    if year < FIRST_READ_YEAR:
        raise InputError(p, f"Dashboard {year}: files before the 2018 Dashboard have older layouts "
                            "(no state rows, rtype L) that this reader does not read")
    if year in NO_DASHBOARD_YEARS:
        raise InputError(p, f"Dashboard {year}: CDE published no 2020 or 2021 Dashboard; is the year in the "
                            "file name right?")
    missing = missing_columns(list(cmap.values()), indicator, year)
    if missing:
        raise InputError(p, _describe_missing(missing[0]) + f" (Dashboard {year} layout)", line=1, column=missing[0])
    status_only = year in STATUS_ONLY_YEARS
    flag_col = None if status_only else ("smalldenom" if "smalldenom" in A else "safetynet")

    # --- every cell rule in one pass (order = which problem a file with several reports)
    cds, rt, grp = A["cds"], A["rtype"], A["studentgroup"]
    rules: list[cde.Rule] = [
        (v("cds").is_null() | ~v("cds").str.contains(r"^[0-9]{14}$"), cds,
         lambda r: f"CDS code {r[cds]!r} is not 14 digits"),
        (v("rtype").is_null() | ~v("rtype").is_in(RTYPES), rt,
         lambda r: f"unknown record type {r[rt]!r} (expected S school, D district/LEA or X state)"),
        ((v("rtype") == "D") & ~v("cds").str.ends_with("0000000"), cds,
         lambda r: f"district (D) row's CDS code {r[cds]} does not end in 0000000"),
        ((v("rtype") == "S") & v("cds").str.ends_with("0000000"), cds,
         lambda r: f"school (S) row's CDS code {r[cds]} ends in 0000000, a district's code"),
    ]
    if indicator == "suspension":
        ty = A["type"]
        rules += [
            ((v("rtype") != "X") & v("type").is_null(), ty,
             lambda r: f"blank school or district type (expected {', '.join(TYPES)})"),
            (v("type").is_not_null() & ~v("type").is_in(TYPES), ty,
             lambda r: f"unknown school or district type {r[ty]!r} (expected {', '.join(TYPES)})"),
        ]
    groups = list(GROUP_CATEGORY) + list(GROUP_ALIASES)
    rules += [
        (v("studentgroup").is_null(), grp, lambda r: "blank student group"),
        (~v("studentgroup").is_in(groups), grp,
         lambda r: f"unknown student group {r[grp]!r} (expected one of {', '.join(GROUP_CATEGORY)})"),
    ]
    periods = [("currnumer", "currdenom", "currstatus")]
    if not status_only:
        periods.append(("priornumer", "priordenom", "priorstatus"))
    for num, den, status in periods:
        rules += cde.count_rules(A[num], pl.lit(True), blank_ok=True)
        rules += cde.count_rules(A[den], pl.lit(True), blank_ok=True)
        s = A[status]
        rules += [
            (v(status).is_not_null() & ~v(status).str.contains(_DECIMAL), s,
             lambda r, s=s: f"non-numeric rate {r[s]!r}"),
            (v(status).str.contains(_DECIMAL) & ~v(status).cast(pl.Float64, strict=False).is_between(0, 100), s,
             lambda r, s=s: f"rate {r[s]} is outside 0-100"),
        ]
    if not status_only:
        ch = A["change"]
        rules.append((v("change").is_not_null() & ~v("change").str.contains(_DECIMAL), ch,
                      lambda r: f"non-numeric change {r[ch]!r}"))
        rules.append((v("change").str.contains(_DECIMAL) & ~v("change").cast(pl.Float64, strict=False)
                      .is_between(-100, 100), ch, lambda r: f"change {r[ch]} is outside -100..100"))
    codes_cols = ["statuslevel"] + ([] if status_only else ["changelevel", "color"])
    meaning = {"statuslevel": "1 Very High .. 5 Very Low, 0 No Data",
               "changelevel": "1 Increased Significantly .. 5 Declined Significantly, 0 No Data",
               "color": "1 Red, 2 Orange, 3 Yellow, 4 Green, 5 Blue, 0 No Color"}
    for c in codes_cols:
        h = A[c]
        rules.append((v(c).is_not_null() & ~v(c).is_in(LEVEL_CODES), h,
                      lambda r, h=h, c=c: f"unknown {c} code {r[h]!r} (expected {meaning[c]})"))
    if not status_only:
        b = A["box"]
        rules.append((v("box").is_not_null() & ~v("box").str.contains(r"^[0-9]{1,4}$"), b,
                      lambda r: f"box {r[b]!r} is not a grid position (a whole number, e.g. 130)"))
    for c in [flag_col, "currnsizemet"]:
        if c is not None and c in A:
            h = A[c]
            rules.append((v(c).is_not_null() & ~v(c).is_in(FLAG_VALUES), h,
                          lambda r, h=h: f"value {r[h]!r} is not Y, N or blank"))
    cde.run_checks(df, p, rules)

    # --- figures that must agree with each other
    cross: list[cde.Rule] = []
    for num, den, status in periods:
        n, d, s = cde.count_expr(A[num]), cde.count_expr(A[den]), v(status).cast(pl.Float64, strict=False)
        cross += [
            (n > d, A[num], lambda r, num=num, den=den: f"numerator {r[A[num]]} is above denominator "
                                                        f"{r[A[den]]} ({A[den]})"),
            ((d > 0) & ((s - half_up_expr(n * 100 / d)).abs() > cde.RATE_TOLERANCE_PP + 1e-9), A[status],
             lambda r, num=num, den=den, status=status: (
                 f"published rate {r[A[status]]} disagrees with counts {r[A[num]]}/{r[A[den]]} = "
                 f"{100 * int(r[A[num]]) / int(r[A[den]]):.1f}")),
        ]
    if not status_only:
        cur, pri = v("currstatus").cast(pl.Float64, strict=False), v("priorstatus").cast(pl.Float64, strict=False)
        chg = v("change").cast(pl.Float64, strict=False)
        cross.append(((chg - (cur - pri)).abs() > CHANGE_TOLERANCE_PP + 1e-9, A["change"],
                      lambda r: f"change {r[A['change']]} disagrees with {r[A['currstatus']]} - "
                                f"{r[A['priorstatus']]} ({A['currstatus']} - {A['priorstatus']})"))
    cde.run_checks(df, p, cross)

    # --- into the table's shape
    group = v("studentgroup").replace(GROUP_ALIASES)
    den = cde.count_expr(A["currdenom"])
    cur_small = den.is_null() | (den < codes.MIN_N)
    # Recorded: rows under 11, and rows whose published figure is withheld for want of a denominator.
    cur_record = (den < codes.MIN_N).fill_null(v("currstatus").is_not_null())
    if status_only:
        prior_small = pl.lit(True)
        prior_record = pl.lit(False)
    else:
        pden = cde.count_expr(A["priordenom"])
        prior_small = cur_small | pden.is_null() | (pden < codes.MIN_N)
        prior_record = ~cur_small & (pden < codes.MIN_N).fill_null(v("priorstatus").is_not_null())

    def unless(hidden: pl.Expr, expr: pl.Expr) -> pl.Expr:
        return pl.when(hidden).then(None).otherwise(expr)

    def named(col: str, mapping: dict[str, str]) -> pl.Expr:
        return unless(cur_small, v(col).replace_strict(mapping, default=None, return_dtype=pl.Utf8))

    none_s, none_f = pl.lit(None, dtype=pl.Utf8), pl.lit(None, dtype=pl.Float64)
    if "currnsizemet" in A:
        size_met = (v("currnsizemet") == "Y").fill_null(False)
    else:  # 2018, 2019 and 2022 layouts: CDE's rule, at least 30 students in the current denominator
        size_met = den >= 30
    out = df.with_row_index("_row").select(
        pl.lit(indicator).alias("indicator"),
        pl.lit(year, dtype=pl.Int32).alias("dashboard_year"),
        pl.lit(academic_year_of(year)).alias("academic_year"),
        v("rtype").alias("rtype"),
        pl.when(v("rtype") == "X").then(pl.lit(STATE_CDS)).otherwise(v("cds")).alias("cds_code"),
        group.replace_strict(GROUP_CATEGORY, return_dtype=pl.Utf8).alias("student_group"),
        group.alias("dashboard_group"),
        (v("type") if indicator == "suspension" else none_s).alias("school_or_lea_type"),
        unless(cur_small, v("currstatus").cast(pl.Float64)).alias("status_pct"),
        (none_f if status_only else unless(prior_small, v("priorstatus").cast(pl.Float64)))
        .alias("prior_status_pct"),
        (none_f if status_only else unless(prior_small, v("change").cast(pl.Float64))).alias("change_pp"),
        named("statuslevel", STATUS_CODES).alias("status_level"),
        (none_s if status_only else named("changelevel", CHANGE_CODES)).alias("change_level"),
        (none_s if status_only else named("color", COLOR_CODES)).alias("color"),
        # 0 or blank: no colour, so no grid position
        (pl.lit(None, dtype=pl.Int32) if status_only
         else unless(cur_small | (v("box").cast(pl.Int32, strict=False) == 0), v("box").cast(pl.Int32))).alias("box"),
        (pl.lit(None, dtype=pl.Boolean) if status_only else (v(flag_col) == "Y").fill_null(False))
        .alias("small_population"),
        size_met.alias("n_size_met"),
        cur_record.alias("_cur_small"),
        prior_record.alias("_prior_small"),
        "_row",
    )
    key = ["rtype", "cds_code", "dashboard_group", "school_or_lea_type"]
    dup = cde.first_bad(out, ~pl.struct(key).is_first_distinct())
    if dup is not None:
        r = out.row(dup, named=True)
        first = cde.first_bad(out, pl.struct(key) == pl.lit(pl.Series([{k: r[k] for k in key}])).first())
        what = f"{r['rtype']} {r['cds_code']} {r['dashboard_group']}" + (
            f" {r['school_or_lea_type']}" if r["school_or_lea_type"] else "")
        raise InputError(p, f"row repeats {what} (also on line {(first or 0) + 2})", line=dup + 2, column=grp)

    rejections: list[cde.Rejection] = []

    def reject(reason: str, part: pl.DataFrame) -> None:
        if part.height:
            rejections.append(cde.Rejection(reason, part.height, int(part["_row"][0]) + 2))

    if not all_counties:
        keep = (pl.col("rtype") == "X") | pl.col("cds_code").str.starts_with(codes.LA_COUNTY_CODE)
        reject(f"outside county filter (county {codes.LA_COUNTY_CODE})", out.filter(~keep))
        out = out.filter(keep)
    reject(CURRENT_SMALL, out.filter("_cur_small"))
    reject(PRIOR_SMALL, out.filter("_prior_small"))
    if directory is not None:
        reject(f"school not in the directory ({directory.path.name})",
               out.filter((pl.col("rtype") == "S")
                          & ~pl.col("cds_code").is_in(directory.schools["cds_code"].implode())))
    frame = out.select(list(TABLE_SCHEMA))
    return DashboardResult(p, SOURCE_KIND[indicator], frame, df.height, encoding, rejections,
                           indicator=indicator, dashboard_year=year)
