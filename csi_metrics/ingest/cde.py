"""Readers for the CDE public files: Chronic Absenteeism, Suspension and the
Public Schools directory (pubschls.txt). Layouts: ../shared/data/SOURCES.md.

Every column is read as text by its header name, then validated with vectorised
Polars expressions; the first bad row is located only to name it in the error.
Codes stay strings. Line numbers are 1-based file lines (the header is line 1).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.vocabulary.errors import InputError

SUPPRESSED = "*"
NO_DATA = "No Data"
SCOPE_VALUES = ("All", "Yes", "No")
AGGREGATE_LEVELS = ("T", "C", "D", "S")

# Published rates are one-decimal percents; anything further off than this
# means the file's counts and rates disagree (CDE rounds half up, so 0.05 is the
# most honest rounding can explain; 0.1 leaves room for float noise).
RATE_TOLERANCE_PP = 0.1


Expected = str | tuple[str, ...]  # a column's name, or its accepted names by naming style


@dataclass(frozen=True)
class Layout:
    """Which header names carry which meaning in one CDE outcome file family.

    Each field is the name CDE's current files use. `aliases` pairs some of them
    with the name the same column had in CDE's older naming style (chronic
    absenteeism to 2018-19: run-together `AcademicYear`, `CharterYN`, ...; from
    2020-21: spaced `Academic Year`, `Charter School`, ...). Which style a file
    uses is read from its header, in one place (choose_columns): a file uses one
    style throughout, so a lone name of the other style is refused, not accepted.
    `bind` gives the layout under the names the file actually has, so every error
    names the file's own column. `dass_from`: the first academic year whose file
    must have the `dass` column; older files may lack it (their rows are stored
    with dass_scope 'All', as suspension's always are)."""

    metric: str
    year: str
    level: str
    county: str
    district: str
    school: str
    charter: str
    dass: str | None
    category: str
    denominator: str
    numerator: str
    rate: str
    aliases: tuple[tuple[str, str], ...] = ()
    dass_from: str | None = None

    @property
    def columns(self) -> list[str]:
        cols = [self.year, self.level, self.county, self.district, self.school, self.charter]
        if self.dass:
            cols.append(self.dass)
        return cols + [self.category, self.denominator, self.numerator, self.rate]

    def accepted(self, name: str) -> Expected:
        """`name`, or (name, its older-style alias) when it has one."""
        old = dict(self.aliases).get(name)
        return (name, old) if old else name

    @property
    def expected(self) -> list[Expected]:
        """The columns as choose_columns / read_text_table take them."""
        return [self.accepted(c) for c in self.columns]

    @property
    def optional(self) -> frozenset[str]:
        return frozenset([self.dass]) if self.dass and self.dass_from else frozenset()

    def bind(self, present: list[str]) -> "Layout":
        """This layout under the names in `present` (the columns choose_columns picked);
        an optional column that is absent becomes None."""
        have = set(present)
        names = {}
        for f in ("year", "level", "county", "district", "school", "charter", "dass", "category",
                  "denominator", "numerator", "rate"):
            current = getattr(self, f)
            if current is None:
                continue
            found = [n for n in _names(self.accepted(current)) if n in have]
            names[f] = found[0] if found else None
        return replace(self, **names)


def _names(e: Expected) -> tuple[str, ...]:
    return (e,) if isinstance(e, str) else tuple(e)


CHRONIC_LAYOUT = Layout(
    metric="chronic_absenteeism",
    year="Academic Year",
    level="Aggregate Level",
    county="County Code",
    district="District Code",
    school="School Code",
    charter="Charter School",
    dass="DASS",
    category="Reporting Category",
    denominator="ChronicAbsenteeismEligibleCumulativeEnrollment",
    numerator="ChronicAbsenteeismCount",
    rate="ChronicAbsenteeismRate",
    # 2016-17..2018-19 files (chrabs1819.txt, later chronicabsenteeism19.txt) ran the
    # identity names together and had CharterYN and no DASS column; 2020-21 has the
    # spaced names (its DASS column is unconfirmed); 2021-22 on, the names above.
    # The measure names are the same in every year (the old files add an unused
    # CumulativeEnrollment beside the eligible enrollment). Research notes: cde_dashboard.md §4.2.
    aliases=(("Academic Year", "AcademicYear"), ("Aggregate Level", "AggregateLevel"),
             ("County Code", "CountyCode"), ("District Code", "DistrictCode"), ("School Code", "SchoolCode"),
             ("Charter School", "CharterYN"), ("Reporting Category", "ReportingCategory")),
    dass_from="2021-22",
)

# CharterYN and no DASS column in every year seen (2018-19 .. 2024-25).
SUSPENSION_LAYOUT = Layout(
    metric="suspension",
    year="AcademicYear",
    level="AggregateLevel",
    county="CountyCode",
    district="DistrictCode",
    school="SchoolCode",
    charter="CharterYN",
    dass=None,
    category="ReportingCategory",
    denominator="CumulativeEnrollment",
    numerator="Unduplicated Count of Students Suspended (Total)",
    rate="Suspension Rate (Total)",
)

DIRECTORY_COLUMNS = [
    "CDSCode", "StatusType", "County", "District", "School", "City", "Zip",
    "Charter", "DOC", "SOC", "Latitude", "Longitude",
]

OUTCOME_SCHEMA = {
    "metric": pl.Utf8,
    "academic_year": pl.Utf8,
    "aggregate_level": pl.Utf8,
    "cds_code": pl.Utf8,
    "charter_scope": pl.Utf8,
    "dass_scope": pl.Utf8,
    "reporting_category": pl.Utf8,
    "numerator_n": pl.Int32,
    "denominator_n": pl.Int32,
    "published_rate_pct": pl.Float64,
    "suppressed": pl.Boolean,
}


@dataclass
class Rejection:
    """Rows a reader dropped on purpose (not errors): why, how many, one example line."""

    reason: str
    rows_n: int
    example_line_n: int | None


@dataclass
class ReadResult:
    path: Path
    kind: str
    frame: pl.DataFrame
    rows_n: int
    encoding: str
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rows_kept_n(self) -> int:
        return self.frame.height


@dataclass
class DirectoryResult:
    path: Path
    schools: pl.DataFrame
    districts: pl.DataFrame
    rows_n: int
    encoding: str
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rows_kept_n(self) -> int:
        return self.schools.height + self.districts.height


# ---------------------------------------------------------------- file reading

_SEP_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}

CDE_REDO = "or download CDE's file again"


def sniff_file_kind(raw: bytes, path: str | Path, redo: str | None = CDE_REDO, *, line_ends: bool = True) -> None:
    """Refuse, saying what the file is and what to do, a file that is not plain
    8-bit text: gzip or zip bytes, or UTF-16; and (line_ends) text whose lines
    end with CR alone. Every text reader comes through here (decode_bytes, and
    the GeoJSON boundary reader), so each kind is told apart in this one place;
    read as text, they fail later with messages that point elsewhere (a binary
    column name, "does not split on tab", a missing column). `redo` is a second
    remedy for the UTF-16 case ("or ...")."""
    suffix = Path(str(path)).suffix or ".txt"
    if raw.startswith(b"\x1f\x8b"):
        raise InputError(path, "is a gzip-compressed file; decompress it (gunzip) and build again")
    if raw.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise InputError(path, f"is a zip archive; extract the {suffix} inside")
    head = raw[:4096]
    half = len(head) // 2
    # Without a BOM, UTF-16 text of ASCII-range names is every other byte NUL;
    # one stray NUL in a cell is a different defect (read_text_table names it).
    nul_interleaved = half >= 2 and max(head[0::2].count(0), head[1::2].count(0)) >= 0.9 * half
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or nul_interleaved:
        raise InputError(path, "is UTF-16 text; save it as UTF-8" + (f" ({redo})" if redo else ""))
    if line_ends and b"\r" in raw and b"\n" not in raw:
        raise InputError(path, "lines end with CR only (old Mac line endings); convert them to LF or CRLF")


def decode_bytes(raw: bytes, path: str | Path = "<bytes>", separator: str = "\t",
                 redo: str | None = CDE_REDO) -> tuple[bytes, str]:
    """UTF-8 bytes for Polars, and the encoding the file was in.

    First sniff_file_kind. A BOM means utf-8-sig (suspension 2023-24); otherwise valid UTF-8 is taken
    as such, and anything else is cp1252, which CDE uses for most years. A file
    that holds valid multi-byte UTF-8 *and* bytes that are not UTF-8 was put
    together from two encodings; reading it either way would garble names, so
    it is refused at the first bad byte."""
    sniff_file_kind(raw, path, redo)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _mixed(raw, exc.start, path, separator, "has a UTF-8 byte-order mark") from None
        return raw, "utf-8-sig"
    try:
        raw.decode("utf-8")
        return raw, "utf-8"
    except UnicodeDecodeError as exc:
        utf8_at = _first_utf8_sequence(raw)
        if utf8_at is not None:
            utf8_line = raw.count(b"\n", 0, utf8_at) + 1
            raise _mixed(raw, exc.start, path, separator, f"is UTF-8 on line {utf8_line}") from None
        # cp1252 leaves five bytes undefined; replacing them beats refusing a whole year.
        return raw.decode("cp1252", errors="replace").encode("utf-8"), "cp1252"


def _first_utf8_sequence(raw: bytes) -> int | None:
    """Offset of the first well-formed multi-byte UTF-8 sequence, or None.

    Looks only at the (few) bytes >= 0x80, vectorised: a lead byte followed by
    the right number of continuation bytes. cp1252 text rarely forms one (it
    would take e.g. 'Ã' followed by '©')."""
    b = np.frombuffer(raw, dtype=np.uint8)
    hi = np.flatnonzero(b >= 0x80)
    if hi.size == 0:
        return None
    padded = np.concatenate([b, np.zeros(3, dtype=np.uint8)])

    def cont(k: int) -> np.ndarray:
        nxt = padded[hi + k]
        return (nxt >= 0x80) & (nxt <= 0xBF)

    lead = b[hi]
    two = (lead >= 0xC2) & (lead <= 0xDF) & cont(1)
    three = (lead >= 0xE0) & (lead <= 0xEF) & cont(1) & cont(2)
    four = (lead >= 0xF0) & (lead <= 0xF4) & cont(1) & cont(2) & cont(3)
    found = np.flatnonzero(two | three | four)
    return int(hi[found[0]]) if found.size else None


def _locate(raw: bytes, offset: int, separator: str, quote_char: str | None = None) -> tuple[int, str | None]:
    """Only on the error path: (1-based file line, header name) of the byte at `offset`.
    With quote_char, separators inside quotes on that line are not field breaks."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    prefix = raw[line_start:offset]
    if quote_char:
        q, sep, field_i, inside = quote_char.encode()[0], separator.encode()[0], 0, False
        for b in prefix:
            if b == q:
                inside = not inside
            elif b == sep and not inside:
                field_i += 1
    else:
        field_i = prefix.count(separator.encode())
    header = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r").lstrip("\ufeff")
    names = [h.strip().strip('"') for h in header.split(separator)]
    return line, names[field_i] if field_i < len(names) else None


def _mixed(raw: bytes, offset: int, path: str | Path, separator: str, utf8_where: str) -> InputError:
    line, column = _locate(raw, offset, separator)
    return InputError(path, f"mixed encodings: byte {raw[offset:offset + 1]!r} is not UTF-8, but the file "
                            f"{utf8_where}; save it in one encoding", line=line, column=column)


def choose_columns(header: list[str], expected: list[Expected],
                   optional: frozenset[str] | set[str] = frozenset()) -> tuple[list[str], list[tuple[str, str]]]:
    """Which of each expected column's accepted names the header has.

    An `expected` entry is a name, or a tuple of the names one column has in each
    of CDE's naming styles (index 0 the current style; Layout.accepted). The style
    is the one most of the header's tupled columns are in (ties: the current one),
    and a file uses one style throughout. Returns (the names found, in `expected`
    order, leaving out an absent `optional` column (named by its first name);
    problems as (column, message)): a column with none of its names, one only
    under another style's name, or one under two names at once."""
    have = set(header)
    styles = [len(_names(e)) for e in expected if not isinstance(e, str)]
    votes = [sum(1 for e in expected if not isinstance(e, str) and i < len(e) and e[i] in have)
             for i in range(max(styles, default=1))]
    style = max(range(len(votes)), key=lambda i: (votes[i], -i))
    example = next((e[style] for e in expected
                    if not isinstance(e, str) and len(e) > style and e[style] in have), None)
    chosen: list[str] = []
    problems: list[tuple[str, str]] = []
    for e in expected:
        names = _names(e)
        want = names[style] if len(names) > style else names[0]
        present = [n for n in names if n in have]
        if len(present) > 1:
            extra = next(n for n in present if n != want) if want in present else present[1]
            problems.append((extra, f"the header has both {present[0]!r} and {present[1]!r} "
                                    "(one column under two names); keep one"))
        elif want in have:
            chosen.append(want)
        elif present:
            problems.append((want, f"missing column {want!r}: the header has {present[0]!r}, a name in CDE's "
                                   f"other naming style, beside {example!r}; a CDE file uses one style"))
        elif names[0] not in optional:
            others = [n for n in names if n != want]
            alt = f" (or {' or '.join(repr(n) for n in others)})" if others else ""
            problems.append((want, f"missing column {want!r}{alt}"))
    return chosen, problems


def read_text_table(
    path: str | Path,
    expected: list[Expected],
    separator: str,
    *,
    quote_char: str | None,
    null_values: list[str] | None = None,
    allow_no_rows: bool = False,
    redo: str | None = CDE_REDO,
    optional: frozenset[str] | set[str] = frozenset(),
) -> tuple[pl.DataFrame, str]:
    """Read a delimited file with every column as text, checking the header names.

    `expected` entries may give a column's names in each of CDE's naming styles
    (choose_columns picks the header's); an `optional` column may be absent.
    Returns (frame of the `expected` columns the header has, under the header's
    own names, in `expected` order; encoding). Raises InputError
    for a file that is not plain text (sniff_file_kind; `redo` is its UTF-16
    remedy), an empty file, a NUL byte, a header that does not split on
    `separator` into the expected names, a missing or repeated used column, or
    a line with the wrong number of fields."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(p, "file not found") from None
    data, encoding = decode_bytes(raw, p, separator, redo)
    if not data.strip():
        raise InputError(p, "empty file", line=1)
    nul = data.find(b"\x00")
    if nul >= 0:
        # Polars and DuckDB keep it, but it ends a name early in every C-string
        # consumer (exports, the PDF report) and is never meant: refused.
        line, column = _locate(data, nul, separator, quote_char)
        raise InputError(p, "NUL byte (\\x00) in a cell; remove it and build again", line=line, column=column)
    header_line = data.split(b"\n", 1)[0].decode("utf-8").rstrip("\r")
    header = [h.strip().strip('"') if quote_char else h.strip() for h in header_line.split(separator)]
    chosen, problems = choose_columns(header, expected, optional)
    if problems:
        sep_name = _SEP_NAMES.get(separator, repr(separator))
        first = _names(expected[0])[0]
        if len(header) == 1 or not {n for e in expected for n in _names(e)} & set(header):
            other = next((s for s in ("\t", ",", ";", "|") if s != separator and s in header_line), None)
            found = f"; it looks {_SEP_NAMES.get(other, repr(other))}-separated" if other else ""
            raise InputError(
                p,
                f"header does not split on {sep_name} into the expected column names{found} "
                f"(expected {sep_name}-separated columns such as {first!r})",
                line=1,
                column=first,
            )
        column, message = problems[0]
        raise InputError(p, message, line=1, column=column)
    expected = chosen
    dupes = sorted({c for c in header if header.count(c) > 1 and c in expected})
    if dupes:
        raise InputError(p, f"column {dupes[0]!r} appears twice in the header", line=1, column=dupes[0])
    # Unused columns are ignored, so a repeated unused name is too; Polars needs
    # distinct names, and the \x00 keeps a renamed copy from meeting a real one.
    names = [h if h not in header[:i] else f"{h}\x00{i}" for i, h in enumerate(header)]
    try:
        df = pl.read_csv(
            io.BytesIO(data),
            separator=separator,
            quote_char=quote_char,
            infer_schema=False,
            new_columns=names,
            truncate_ragged_lines=False,
            empty_string_is_null=False,  # blanks and null_values become null below, in one place
        )
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError, pl.exceptions.NoDataError) as exc:
        line = _first_ragged_line(data, separator, len(header), quote_char)
        msg = f"expected {len(header)} fields per line" if line else f"cannot parse: {exc}"
        raise InputError(p, msg, line=line) from None
    if df.width != len(header):
        line = _first_ragged_line(data, separator, len(header), quote_char)
        raise InputError(p, f"expected {len(header)} fields per line", line=line)
    # Polars pads a short (e.g. truncated) line with blanks; a separator count
    # off from rows x (columns - 1) says one exists, and only then is it looked for.
    # (Quoted CSV may hold separators inside quotes; the csv module settles that.)
    if data.count(separator.encode()) != (df.height + 1) * (len(header) - 1):
        line = _first_ragged_line(data, separator, len(header), quote_char)
        if line is not None:
            raise InputError(p, f"expected {len(header)} fields per line (is the file truncated?)", line=line)
    if df.height == 0 and not allow_no_rows:
        raise InputError(p, "no data rows after the header", line=2)
    blank = [""] + list(null_values or [])
    return df.select(pl.when(pl.col(c).is_in(blank)).then(None).otherwise(pl.col(c)).alias(c) for c in expected), encoding


def _first_ragged_line(data: bytes, separator: str, n_fields: int, quote_char: str | None) -> int | None:
    """Only on the error path: find the line whose field count is off."""
    import csv

    text = data.decode("utf-8")
    if quote_char is None:
        for i, line in enumerate(text.split("\n"), start=1):  # not splitlines: names may hold \x0b, \x1c
            if line.strip() and line.count(separator) != n_fields - 1:
                return i
        return None
    # newline="": a bare \r inside a cell is a line break to csv, not an exception.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar=quote_char)
    try:
        for row in reader:
            if row and len(row) != n_fields:
                return reader.line_num
    except csv.Error:  # e.g. a field over csv's size limit: that line is the bad one
        return max(reader.line_num, 1)
    return None


def first_bad(df: pl.DataFrame, bad: pl.Expr) -> int | None:
    """0-based index of the first row where `bad` is true, or None."""
    idx = df.select(pl.arg_where(bad.fill_null(False)).first()).item()
    return None if idx is None else int(idx)


Rule = tuple[pl.Expr, str, "object"]  # (bad-row expression, column, message(row) -> str)


def run_checks(df: pl.DataFrame, path: Path, rules: list[Rule]) -> None:
    """Evaluate every rule in one Polars pass; raise InputError for the first rule,
    in list order, that some row breaks, at that rule's first bad row.

    The line is the row's position in the file (header = line 1), taken from a
    `_row` column when the frame has been filtered."""
    if not rules:
        return
    hits = df.select(pl.arg_where(bad.fill_null(False)).first().alias(f"_rule{i}")
                     for i, (bad, _, _) in enumerate(rules)).row(0)
    for (_, column, message), i in zip(rules, hits):
        if i is not None:
            row = df.row(int(i), named=True)
            line = (row["_row"] if "_row" in row else int(i)) + 2
            raise InputError(path, message(row), line=line, column=column)


def check(df: pl.DataFrame, path: Path, bad: pl.Expr, column: str, message) -> None:
    """Raise InputError at the first row where `bad` holds. `message(row)` builds the text."""
    run_checks(df, path, [(bad, column, message)])


def _digits(col: str, n: int) -> pl.Expr:
    return pl.col(col).str.contains(rf"^[0-9]{{{n}}}$")


def academic_year_bad(col: str) -> pl.Expr:
    """True where a value is not '2023-24' style with consecutive years."""
    c = pl.col(col)
    shape_ok = c.str.contains(r"^[0-9]{4}-[0-9]{2}$")
    first = c.str.slice(0, 4).cast(pl.Int32, strict=False)
    second = c.str.slice(5, 2).cast(pl.Int32, strict=False)
    return (~shape_ok) | c.is_null() | ((first + 1) % 100 != second)


def count_expr(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().cast(pl.Int64, strict=False)


MAX_COUNT = 2_147_483_647  # INTEGER in schema.sql


def count_rules(col: str, active: pl.Expr, blank_ok: bool = False) -> list[Rule]:
    """Where `active`, a count cell is a non-negative whole number (blank too, if blank_ok)."""
    v = pl.col(col)
    rules: list[Rule] = []
    if not blank_ok:
        rules.append((active & v.is_null(), col, lambda r: "blank count (expected a whole number)"))
    rules += [
        (active & v.str.contains(r"^-[0-9]+$"), col, lambda r: f"negative count {r[col]!r}"),
        (active & v.is_not_null() & ~v.str.contains(r"^[0-9]+$"), col, lambda r: f"non-numeric count {r[col]!r}"),
        # The database stores counts as INTEGER; a larger value is a typo, and casting it would crash.
        (active & v.str.contains(r"^[0-9]+$") & ~(count_expr(col) <= MAX_COUNT).fill_null(False), col,
         lambda r: f"count {r[col]!r} is too large (more than {MAX_COUNT:,})"),
    ]
    return rules


def count_checks(df: pl.DataFrame, path: Path, col: str, active: pl.Expr, blank_ok: bool = False) -> None:
    run_checks(df, path, count_rules(col, active, blank_ok))


# ---------------------------------------------------------------- outcome files


def read_outcomes(path: str | Path, layout: Layout, all_counties: bool = False,
                  directory: "DirectoryResult | None" = None) -> ReadResult:
    """Read one CDE outcome file in `layout` into the `outcomes` table's shape.

    cds_code: school rows county+district+school; D rows county+district+'0000000';
    C rows county+'000000000000'; T rows '00000000000000'. A '*' in any of the
    three measures marks the row suppressed and nulls all three. Keeps LA County
    (code 19) plus the state rows unless all_counties. With `directory`, school
    rows whose CDS code is not a school there are recorded as a rejection."""
    p = Path(path)
    df, encoding = read_text_table(p, layout.expected, "\t", quote_char=None, optional=layout.optional)
    wanted_dass = layout.dass
    layout = layout.bind(df.columns)  # the file's own names, in every message below
    df = df.with_columns(pl.col(c).str.strip_chars() for c in layout.columns)
    if wanted_dass and not layout.dass:
        # Only files of years before dass_from may lack it: a current file without it is
        # refused, as before (a malformed year is left to its own rule below).
        late = first_bad(df, ~academic_year_bad(layout.year) & (pl.col(layout.year) >= layout.dass_from))
        if late is not None:
            raise InputError(p, f"missing column {wanted_dass!r} (CDE's files have it from {layout.dass_from} on; "
                                f"line {late + 2} is {df[layout.year][late]})", line=1, column=wanted_dass)
    lv = pl.col(layout.level)

    star = pl.lit(False)
    for c in (layout.denominator, layout.numerator, layout.rate):
        star = star | (pl.col(c) == SUPPRESSED).fill_null(False)
    rate_v = pl.col(layout.rate)
    # One pass for every cell rule; order = which problem is reported when a file has several.
    rules: list[Rule] = [
        (pl.col(layout.year).is_null(), layout.year, lambda r: "blank academic year"),
        (academic_year_bad(layout.year), layout.year,
         lambda r: f"unknown year format {r[layout.year]!r} (expected e.g. '2023-24')"),
        (~lv.is_in(AGGREGATE_LEVELS) | lv.is_null(), layout.level,
         lambda r: f"unknown aggregate level {r[layout.level]!r} (expected T, C, D or S)"),
        (lv.is_in(["S", "D", "C"]) & ~_digits(layout.county, 2), layout.county,
         lambda r: f"county code {r[layout.county]!r} is not 2 digits"),
        (lv.is_in(["S", "D"]) & ~_digits(layout.district, 5), layout.district,
         lambda r: f"district code {r[layout.district]!r} is not 5 digits"),
        ((lv == "S") & ~_digits(layout.school, 7), layout.school,
         lambda r: f"school code {r[layout.school]!r} is not 7 digits"),
    ]
    for scope_col in [layout.charter] + ([layout.dass] if layout.dass else []):
        rules.append((~pl.col(scope_col).is_in(SCOPE_VALUES) | pl.col(scope_col).is_null(), scope_col,
                      lambda r, c=scope_col: f"value {r[c]!r} is not All, Yes or No"))
    rules.append((pl.col(layout.category).is_null(), layout.category, lambda r: "blank reporting category"))
    rules += count_rules(layout.denominator, ~star) + count_rules(layout.numerator, ~star)
    rules.append((~star & (rate_v.is_null() | rate_v.cast(pl.Float64, strict=False).is_null()), layout.rate,
                  lambda r: f"non-numeric rate {r[layout.rate]!r}"))
    run_checks(df, p, rules)

    num = pl.when(star).then(None).otherwise(count_expr(layout.numerator))
    den = pl.when(star).then(None).otherwise(count_expr(layout.denominator))
    rate = pl.when(star).then(None).otherwise(rate_v.cast(pl.Float64, strict=False))
    df = df.with_columns(num.alias("_num"), den.alias("_den"), rate.alias("_rate"), star.alias("_star"))
    expected = ((pl.col("_num") * 1000 / pl.col("_den")) + 0.5).floor() / 10
    run_checks(df, p, [
        (pl.col("_num") > pl.col("_den"), layout.numerator,
         lambda r: f"numerator {r['_num']} is above denominator {r['_den']} ({layout.denominator})"),
        ((pl.col("_rate") < 0) | (pl.col("_rate") > 100), layout.rate,
         lambda r: f"rate {r['_rate']} is outside 0-100"),
        ((pl.col("_den") > 0) & ((pl.col("_rate") - expected).abs() > RATE_TOLERANCE_PP + 1e-9), layout.rate,
         lambda r: f"published rate {r['_rate']} disagrees with counts "
                   f"{r['_num']}/{r['_den']} = {100 * r['_num'] / r['_den']:.1f}"),
    ])

    cds = (
        pl.when(lv == "S").then(pl.col(layout.county) + pl.col(layout.district) + pl.col(layout.school))
        .when(lv == "D").then(pl.col(layout.county) + pl.col(layout.district) + pl.lit("0000000"))
        .when(lv == "C").then(pl.col(layout.county) + pl.lit("000000000000"))
        .otherwise(pl.lit("00000000000000"))
    )
    out = df.with_row_index("_row").select(
        pl.lit(layout.metric).alias("metric"),
        pl.col(layout.year).alias("academic_year"),
        lv.alias("aggregate_level"),
        cds.alias("cds_code"),
        pl.col(layout.charter).alias("charter_scope"),
        (pl.col(layout.dass) if layout.dass else pl.lit("All")).alias("dass_scope"),
        pl.col(layout.category).alias("reporting_category"),
        pl.col("_num").cast(pl.Int32).alias("numerator_n"),
        pl.col("_den").cast(pl.Int32).alias("denominator_n"),
        pl.col("_rate").alias("published_rate_pct"),
        pl.col("_star").alias("suppressed"),
        pl.col("_row"),
    )
    key = ["academic_year", "aggregate_level", "cds_code", "charter_scope", "dass_scope", "reporting_category"]
    dup = first_bad(out, ~pl.struct(key).is_first_distinct())
    if dup is not None:
        r = out.row(dup, named=True)
        first = first_bad(out, pl.struct(key) == pl.lit(pl.Series([{k: r[k] for k in key}])).first())
        raise InputError(p, f"row repeats {r['aggregate_level']} {r['cds_code']} {r['academic_year']} "
                            f"{r['charter_scope']}/{r['dass_scope']} {r['reporting_category']} "
                            f"(also on line {(first or 0) + 2})",
                         line=dup + 2, column=layout.category)

    rejections: list[Rejection] = []
    out, repeated = _count_schools_once(out, p, layout)
    if repeated is not None:
        rejections.append(repeated)
    if not all_counties:
        keep = (pl.col("aggregate_level") == "T") | pl.col("cds_code").str.starts_with(codes.LA_COUNTY_CODE)
        dropped = out.filter(~keep)
        if dropped.height:
            rejections.append(Rejection(f"outside county filter (county {codes.LA_COUNTY_CODE})",
                                        dropped.height, int(dropped["_row"][0]) + 2))
        out = out.filter(keep)
    if directory is not None:
        # Kept, not dropped (nothing is lost), but every figure joins outcomes to
        # schools, so without this record the rows would vanish unexplained.
        orphan = out.filter((pl.col("aggregate_level") == "S")
                            & ~pl.col("cds_code").is_in(directory.schools["cds_code"].implode()))
        if orphan.height:
            rejections.append(Rejection(f"school not in the directory ({directory.path.name}): "
                                        "left out of every figure", orphan.height, int(orphan["_row"][0]) + 2))
    return ReadResult(p, layout.metric, out.drop("_row"), df.height, encoding, rejections)


REPEATED_SCHOOL_ROW = "repeated school row under Charter School 'All': counted once"


def _count_schools_once(out: pl.DataFrame, p: Path, layout: Layout) -> tuple[pl.DataFrame, Rejection | None]:
    """Drop the school rows that repeat a school under Charter School 'All'.

    CDE's older files (the 2018-19 and 2019-20 ones among them) give a school at
    aggregate level S twice: under Charter School (CharterYN) 'All' and under its
    own 'Yes' or 'No'; the same students, which every pooled figure would count
    twice. For the same year, reporting category and DASS scope, the school's own
    row is kept and the 'All' row dropped (recorded as one Rejection). The two
    must agree in every measure; a pair that does not, or an 'All' row beside
    both a 'Yes' and a 'No' row, is refused (InputError at the 'All' row's line).
    A school that has only an 'All' row keeps it. District, county and state rows
    are untouched: their All/Yes/No rows are different aggregates."""
    school = out.filter(pl.col("aggregate_level") == "S")
    alls = school.filter(pl.col("charter_scope") == "All")
    if alls.height == 0:
        return out, None
    group = ["academic_year", "cds_code", "dass_scope", "reporting_category"]
    own = school.filter(pl.col("charter_scope") != "All").select(
        *group, "charter_scope", "numerator_n", "denominator_n", "published_rate_pct", "_row")
    pairs = alls.join(own, on=group, how="inner", suffix="_own").sort("_row", "_row_own")
    if pairs.height == 0:
        return out, None

    def where(r: dict) -> str:
        return f"school {r['cds_code']} {r['academic_year']} {r['reporting_category']}"

    both = first_bad(pairs, pl.col("_row").is_duplicated())
    if both is not None:
        r, r2 = pairs.row(both, named=True), pairs.row(both + 1, named=True)
        raise InputError(p, f"{where(r)} has a {layout.charter} 'All' row here and also both "
                            f"{r['charter_scope_own']!r} (line {r['_row_own'] + 2}) and "
                            f"{r2['charter_scope_own']!r} (line {r2['_row_own'] + 2}) rows: it cannot be counted once",
                         line=r["_row"] + 2, column=layout.charter)
    measures = [("denominator_n", layout.denominator), ("numerator_n", layout.numerator),
                ("published_rate_pct", layout.rate)]
    differs = pl.lit(False)
    for c, _ in measures:
        differs = differs | pl.col(c).ne_missing(pl.col(f"{c}_own"))
    bad = first_bad(pairs, differs)
    if bad is not None:
        r = pairs.row(bad, named=True)
        c, column = next((c, col) for c, col in measures if r[c] != r[f"{c}_own"])

        def shown(v) -> str:
            return SUPPRESSED if v is None else str(v)

        raise InputError(p, f"{where(r)} under {layout.charter} 'All' repeats the school's own "
                            f"{r['charter_scope_own']!r} row on line {r['_row_own'] + 2} with a different count: "
                            f"{shown(r[c])} here, {shown(r[f'{c}_own'])} there (a corrupt file? "
                            "download it again)", line=r["_row"] + 2, column=column)
    dropped = pairs["_row"]
    return (out.filter(~pl.col("_row").is_in(dropped.implode())),
            Rejection(REPEATED_SCHOOL_ROW, dropped.len(), int(dropped.min()) + 2))


# ---------------------------------------------------------------- directory

def read_directory(path: str | Path, all_counties: bool = False) -> DirectoryResult:
    """CDE Public Schools directory (pubschls.txt) -> `schools` and `districts` frames.

    District rows are those whose CDSCode ends 0000000. `No Data` is null.
    Schools' SPA is left null here; the build assigns it. Keeps LA County
    (CDS codes starting 19) unless all_counties."""
    p = Path(path)
    df, encoding = read_text_table(p, DIRECTORY_COLUMNS, "\t", quote_char=None, null_values=[NO_DATA])
    df = df.with_columns(pl.col(c).str.strip_chars() for c in DIRECTORY_COLUMNS).with_row_index("_row")

    check(df, p, ~_digits("CDSCode", 14) | pl.col("CDSCode").is_null(), "CDSCode",
          lambda r: f"CDS code {r['CDSCode']!r} is not 14 digits")
    check(df, p, ~pl.col("CDSCode").is_first_distinct(), "CDSCode", lambda r: f"CDS code {r['CDSCode']} appears twice")
    check(df, p, pl.col("District").is_null(), "District", lambda r: "blank district name")
    check(df, p, pl.col("StatusType").is_null(), "StatusType", lambda r: "blank status")
    for c in ("Latitude", "Longitude"):
        check(df, p, pl.col(c).is_not_null() & pl.col(c).cast(pl.Float64, strict=False).is_null(), c,
              lambda r, c=c: f"non-numeric coordinate {r[c]!r}")
    check(df, p, pl.col("Latitude").is_null() != pl.col("Longitude").is_null(), "Longitude",
          lambda r: "latitude and longitude must both be given or both be 'No Data'")
    # Not a place on Earth (340.35 is a slipped decimal point): refused, where a
    # real point outside LA County is kept and recorded as SPA unassigned.
    for c, limit in (("Latitude", 90), ("Longitude", 180)):
        check(df, p, pl.col(c).cast(pl.Float64, strict=False).abs() > limit, c,
              lambda r, c=c, limit=limit: f"{c.lower()} {r[c]} is outside -{limit}..{limit}")

    rows_n = df.height
    rejections: list[Rejection] = []
    if not all_counties:
        keep = pl.col("CDSCode").str.starts_with(codes.LA_COUNTY_CODE)
        dropped = df.filter(~keep)
        if dropped.height:
            rejections.append(Rejection(f"outside county filter (county {codes.LA_COUNTY_CODE})",
                                        dropped.height, int(dropped["_row"][0]) + 2))
        df = df.filter(keep)

    is_district = pl.col("CDSCode").str.ends_with("0000000")
    dist = df.filter(is_district)
    sch = df.filter(~is_district)
    check(sch, p, pl.col("School").is_null(), "School", lambda r: f"school {r['CDSCode']} has no name")

    districts = dist.select(
        pl.col("CDSCode").str.slice(0, 7).alias("district_code"),
        pl.col("CDSCode").str.slice(0, 2).alias("county_code"),
        pl.col("District").alias("district_name"),
        pl.col("DOC").alias("doc_code"),
        pl.col("DOC").replace_strict(codes.DOC_LEA_TYPE, default="other").alias("lea_type"),
    )
    schools = sch.select(
        pl.col("CDSCode").alias("cds_code"),
        pl.col("CDSCode").str.slice(0, 2).alias("county_code"),
        pl.col("CDSCode").str.slice(0, 7).alias("district_code"),
        pl.col("School").alias("school_name"),
        pl.col("District").alias("district_name"),
        pl.col("City").alias("city"),
        pl.col("Zip").alias("zip"),
        pl.col("Latitude").cast(pl.Float64).alias("latitude"),
        pl.col("Longitude").cast(pl.Float64).alias("longitude"),
        pl.lit(None, dtype=pl.Int32).alias("spa_n"),
        pl.lit(None, dtype=pl.Utf8).alias("spa_source"),
        pl.col("SOC").alias("soc_code"),
        pl.col("SOC").replace_strict(codes.SOC_SCHOOL_TYPE, default="other").alias("school_type"),
        (pl.col("Charter") == "Y").fill_null(False).alias("charter"),
        pl.col("StatusType").alias("status"),
        pl.lit(False).alias("is_community"),
        pl.lit(None, dtype=pl.Int32).alias("ccspp_cohort"),
        pl.lit(None, dtype=pl.Utf8).alias("grant_type"),
        pl.lit(None, dtype=pl.Utf8).alias("first_grant_year"),
        pl.col("_row"),
    )
    return DirectoryResult(p, schools, districts, rows_n, encoding, rejections)


def year_of(frame: pl.DataFrame) -> list[str]:
    """Academic years present in an outcomes frame, sorted."""
    return sorted(frame["academic_year"].unique().to_list())


_OUTCOME_FILE = re.compile(r"^(chronicabsenteeism|suspension).*\.txt$", re.IGNORECASE)


def outcome_kind(name: str) -> str | None:
    """'chronic_absenteeism' / 'suspension' for a CDE outcome file name, else None."""
    m = _OUTCOME_FILE.match(name)
    if not m:
        return None
    return "chronic_absenteeism" if m.group(1).lower() == "chronicabsenteeism" else "suspension"
