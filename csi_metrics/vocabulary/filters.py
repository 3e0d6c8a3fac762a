"""The dashboard's filter state, datasette-style: one `Filters` value that every
metric function and cached loader is keyed on, one parser from strings (the URL,
a deck file or link, the report command) that returns Filters and the problems it
found, and one description in words. The translation to SQL is
csi_metrics.metrics.query (one per table)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

from csi_metrics.vocabulary import codes, words

COMMUNITY_CHOICES = ("all", "community", "comparison")


@dataclass(frozen=True)
class Filters:
    year: str | None = None          # '2023-24'; None means every year
    spa: int | None = None           # 1..8
    district: str | None = None      # 7-char county+district code
    school: str | None = None        # 14-char CDS code
    community: str = "all"           # 'all' | 'community' | 'comparison'
    cohort: int | None = None
    school_type: str | None = None   # 'ES' | 'MS' | 'HS' | 'K-12' | 'other'
    student_group: str = "TA"        # CDE reporting category code

    def with_(self, **changes: object) -> "Filters":
        return replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_params(self, default: "Filters", keys: tuple[str, ...] | None = None) -> dict[str, str]:
        """The string values that `parse` reads back into these filters: the year
        always, the rest where they differ from `default`."""
        out: dict[str, str] = {}
        for name in keys or KEYS:
            v = getattr(self, name)
            if v is not None and (name == "year" or v != getattr(default, name)):
                out[name] = str(v)
        return out

    def describe(self, district_names: Mapping[str, str] | None = None, *, markup=lambda s: s) -> str:
        """The filters in words, for captions, notes and exports ('2023-24 · SPA 4 Metro ·
        community schools · cohort 2'). `markup` makes a name from the data safe for
        where it is written (safe_text.for_markdown on a page)."""
        parts = [self.year or "Every year", codes.spa_label(self.spa) if self.spa else "all SPAs"]
        if self.district:
            parts.append(markup((district_names or {}).get(self.district, self.district)))
        if self.school:
            parts.append(f"school {self.school}")
        parts.append(words.SIDE_LABELS[self.community].lower())
        if self.cohort is not None:
            parts.append(f"cohort {self.cohort}")
        if self.school_type:
            parts.append(words.SCHOOL_TYPE_LABELS.get(self.school_type, self.school_type).lower() + " schools")
        if self.student_group != "TA":
            parts.append(words.group_label("student_group", self.student_group))
        return " · ".join(parts)


KEYS = tuple(f.name for f in fields(Filters))
# The sidebar's filters as a sentence names them, in the sidebar's order.
FILTER_WORDS = {"year": "year", "spa": "SPA", "district": "district", "community": "schools",
                "cohort": "cohort", "school_type": "school type", "student_group": "student group"}
SIDEBAR = tuple(FILTER_WORDS)  # the filters a page's sidebar and its URL carry (not `school`: a page's own)


def not_applying(keys: Sequence[str], *, to: str | None = None, why: str | None = None) -> str:
    """The one sentence saying which sidebar filters a chart (or a part of it, `to`) does
    not follow, so every caption says it the same way and a reader (or a test) can find
    it: 'The year and student group filters do not apply.' All of them: 'The filters do
    not apply.' `why` follows a colon. '' for no keys."""
    named = [FILTER_WORDS[k] for k in FILTER_WORDS if k in keys]
    unknown = set(keys) - set(FILTER_WORDS) - {"school"}
    if unknown:
        raise ValueError(f"not sidebar filters: {', '.join(sorted(unknown))}")
    if not named:
        return ""
    if len(named) == len(FILTER_WORDS):
        said = "The filters do not apply"
    else:
        listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
        said = f"The {listed} filter{'s do' if len(named) > 1 else ' does'} not apply"
    return said + (f" to {to}" if to else "") + (f": {why}" if why else "") + "."
# What each filter falls back to, in words, when a value is refused.
DEFAULT_TEXT = {
    "year": "the latest year", "spa": "all SPAs", "district": "all districts", "school": "every school",
    "community": "all schools", "cohort": "all cohorts", "school_type": "all school types",
    "student_group": "all students",
}
_DISTRICT_RE = re.compile(r"^\d{7}$")
_SCHOOL_RE = re.compile(r"^\d{14}$")


@dataclass(frozen=True)
class FilterOptions:
    """Every value a filter may take in one database (metrics.query.filter_options reads it)."""

    years: tuple[str, ...]
    spas: tuple[int, ...]
    districts: tuple[tuple[str, str, int | None], ...]   # (code, name, spa_n) per school SPA
    cohorts: tuple[int, ...]
    school_types: tuple[str, ...]
    student_groups: tuple[tuple[str, str], ...]          # (code, label) in display order

    @property
    def district_names(self) -> dict[str, str]:
        return {c: n for c, n, _ in self.districts}

    def districts_in(self, spa: int | None) -> list[str]:
        codes_ = {c for c, _, s in self.districts if spa is None or s == spa}
        return sorted(codes_, key=lambda c: self.district_names[c])

    def default(self) -> Filters:
        """The filters with nothing chosen: the latest year."""
        return Filters(year=self.years[-1] if self.years else None)


@dataclass(frozen=True)
class Problem:
    """A value `parse` refused: the key, the text as given, and why (a phrase)."""

    key: str
    raw: str
    why: str


def _shape(key: str, value: object) -> tuple[object | None, str | None]:
    """(the typed value, None) or (None, why) for one value, whatever database it is for."""
    text = str(value).strip()
    if key in ("district", "school") and not isinstance(value, str):
        # A number here has been through a spreadsheet: leading zeros may be gone.
        return None, f"codes are text, not numbers: write \"{text}\" in quotes"
    if key == "year":
        return (text, None) if codes.is_academic_year(text) else (None, "expected an academic year like '2023-24'")
    if key == "spa":
        ok = re.fullmatch(r"\d{1,4}", text) and 1 <= int(text) <= 8
        return (int(text), None) if ok else (None, "expected an SPA number 1-8")
    if key == "cohort":
        ok = re.fullmatch(r"\d{1,4}", text) and int(text) >= 1
        return (int(text), None) if ok else (None, "expected a cohort number (1, 2, ...)")
    if key == "district":
        return (text, None) if _DISTRICT_RE.match(text) else (None, "expected a 7-digit county+district code")
    if key == "school":
        return (text, None) if _SCHOOL_RE.match(text) else (None, "expected a 14-digit CDS code")
    if key == "community":
        return (text, None) if text in COMMUNITY_CHOICES else (None, f"expected one of {', '.join(COMMUNITY_CHOICES)}")
    if key == "school_type":
        return (text, None) if text in codes.SCHOOL_TYPES else \
            (None, f"expected one of {', '.join(codes.SCHOOL_TYPES)}")
    if key == "student_group":
        known = text in codes.REPORTING_CATEGORIES or text in codes.EXTRA_CATEGORIES
        return (text, None) if known else (None, "not a CDE reporting category")
    raise AssertionError(key)


def _held(key: str, value: object, options: FilterOptions) -> str | None:
    """Why a well-formed value is not in this database, or None."""
    if key == "year" and value not in options.years:
        return (f"not a year in the data ({options.years[0]} to {options.years[-1]})" if options.years
                else "no years in the data")
    if key == "spa" and value not in options.spas:
        return "not an SPA number in the data (1 to 8)"
    if key == "district" and value not in options.district_names:
        return "not a district code in the data"
    if key == "cohort" and value not in options.cohorts:
        return "not a CCSPP cohort in the data"
    if key == "school_type" and value not in options.school_types:
        return f"expected one of {', '.join(options.school_types)} (the types in the data)"
    if key == "student_group" and value not in dict(options.student_groups):
        return "not a student group in the data"
    return None


def parse(raw: Mapping[str, object], options: FilterOptions | None = None, *,
          keys: tuple[str, ...] = KEYS, base: Filters | None = None,
          blank_is_unset: bool = True) -> tuple[Filters, list[Problem]]:
    """Filters from string values (a URL's query, a deck's filters, the report's
    arguments), and the values refused, each with why. Only `keys` are read; any
    other key is a problem. With `options` (what one database holds) a value must
    also be in the data, and a district must lie in the chosen SPA. A refused value
    leaves that filter as in `base` (default: options.default(), else Filters()).
    A blank value means "not set" (a deck file's empty field) unless `blank_is_unset`
    is False (a URL: `?year=` is a link cut short, and says so)."""
    start = base if base is not None else options.default() if options is not None else Filters()
    values: dict[str, object] = {}
    problems: list[Problem] = []
    for key, value in raw.items():
        if key not in keys:
            problems.append(Problem(key, str(value), f"unknown filter; expected one of {', '.join(keys)}"))
            continue
        if value is None or str(value).strip() == "":
            if not blank_is_unset:
                problems.append(Problem(key, "", "no value given"))
            continue
        typed, why = _shape(key, value)
        if why is None and options is not None:
            why = _held(key, typed, options)
        if why is None:
            values[key] = typed
        else:
            problems.append(Problem(key, str(value), why))
    if options is not None and values.get("district") is not None and values.get("spa") is not None \
            and values["district"] not in options.districts_in(values["spa"]):  # type: ignore[arg-type]
        problems.append(Problem("district", str(values.pop("district")),
                                f"no schools of that district in SPA {values['spa']}"))
    return start.with_(**values), problems
