"""The words for codes: how an SPA, a school type, a side of the comparison, a
student group, a grant or activity type is named on every page, chart, table,
export and slide."""

from __future__ import annotations

import re

from csi_metrics.vocabulary import codes

# The one glossary: every abbreviation or term of art a page, slide or export uses, defined
# once. About the data lists it; pages put a term's definition in its help tooltip (define).
GLOSSARY: dict[str, str] = {
    "CCSPP": "California Community Schools Partnership Program: the state grant program that funds community "
             "schools (planning, implementation and coordination grants).",
    "Community school": "A school with a CCSPP grant in the initiative; its cohort is the year its grant began.",
    "Comparison schools": "LA County schools with no CCSPP grant, shown beside community schools.",
    "Matched schools": "Comparison schools chosen for each community school because they looked alike before "
                       "its grant (rate, trend, share socioeconomically disadvantaged, size).",
    "Baseline": "A community school's last year before its first grant year (never 2019-20 or 2020-21): what "
                "the impact estimates measure change from. Changes \"since the first year\" start from the "
                "first year with data instead.",
    "Chronic absenteeism": "Students absent 10% or more of the days they were enrolled. Always written out, "
                           "never abbreviated.",
    "Cohort": "The group of community schools whose grants began in the same year (cohort 1: 2021-22).",
    "Dashboard colour": "The California School Dashboard's five colours (Red, Orange, Yellow, Green, Blue) "
                        "from a rate and its change. Official where CDE's file has it; otherwise "
                        "Dashboard-style, computed here the same way and labelled so.",
    "LEA": "Local educational agency: a school district, county office of education or charter school.",
    "LEA-wide": "A grant to an LEA whose community schools are in more than one SPA (or in none): its dollars "
                "belong to no single SPA, so they are shown as their own bar.",
    "SPA unassigned": "A school whose address places it in no SPA.",
    "Not published": "CDE published no data for that year (chronic absenteeism 2019-20); not the same as "
                     "suppressed.",
    "pp": "Percentage points: the difference between two percentages (20% to 18% is -2 pp, a fall of 2 "
          "percentage points, not of 2%).",
    "R-TAC": "Regional Technical Assistance Center: the county office team that supports community schools "
             "(learning sessions, coaching, referrals); its activities are on the Activities page.",
    "SPA": "Service Planning Area: one of the eight regions LA County's health services plan by.",
    "Suppressed": "Hidden to protect privacy: a group of fewer than 11 students, or a figure that would let a "
                  "hidden one be worked out by subtraction (complementary suppression).",
    "TK-8": "Transitional kindergarten to grade 8: the grades CDE places a school's chronic absenteeism colour on.",
}
# The short forms a test looks for on every page: each must be in GLOSSARY.
ABBREVIATIONS = ("CCSPP", "LEA", "LEA-wide", "pp", "R-TAC", "SPA", "TK-8")


def _term_pattern(term: str) -> re.Pattern[str]:
    """A glossary term as a whole word: abbreviations (SPA, pp, TK-8) exactly as written,
    phrases ("Community school") in any case and with a plural; an underscore separates
    words (a CSV's did_pp column uses pp)."""
    exact = term != term[:1] + term[1:].lower()
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(term)}s?(?![A-Za-z0-9-])" if exact else
                      rf"(?<![A-Za-z0-9]){re.escape(term)}s?(?![A-Za-z0-9])", 0 if exact else re.I)


_TERM_PATTERNS = {term: _term_pattern(term) for term in GLOSSARY}


def terms_in(*texts: str | None) -> list[str]:
    """The glossary terms the texts use, in the glossary's order: what an exported file
    must define (it travels without the About page and the tooltips)."""
    text = "\n".join(t for t in texts if t)
    return [term for term, pattern in _TERM_PATTERNS.items() if pattern.search(text)]


def terms_line(terms: list[str]) -> str:
    """'Terms: SPA — Service Planning Area: ... · pp — Percentage points: ...' ('' for none)."""
    return ("Terms: " + " · ".join(f"{t} — {GLOSSARY[t]}" for t in terms)) if terms else ""


def define(term: str) -> str:
    """The glossary's definition of `term`, for a help tooltip (KeyError if undefined)."""
    return f"{term}: {GLOSSARY[term]}"


SCHOOL_TYPE_LABELS = {"ES": "Elementary", "MS": "Middle", "HS": "High", "K-12": "K-12", "other": "Other"}
SIDE_LABELS = {"community": "Community schools", "comparison": "Comparison schools", "all": "All schools"}


def group_label(col: str, value: object) -> str:
    """A person-readable label for one value of a grouping column."""
    if value is None:
        return {"spa": "SPA unassigned", "spa_n": "SPA unassigned", "cohort": "No cohort",
                "district": "No district"}.get(col, "Not reported")
    if col in ("spa", "spa_n"):
        try:
            return codes.spa_label(int(value))  # type: ignore[arg-type]
        except (KeyError, ValueError):
            return f"SPA {value}"
    if col == "student_group":
        cats = {**codes.REPORTING_CATEGORIES, **codes.EXTRA_CATEGORIES}
        return cats.get(str(value), (str(value), ""))[0]
    if col in ("community", "side"):
        return SIDE_LABELS.get(str(value), str(value))
    if col == "cohort":
        return f"Cohort {value}"
    if col == "school_type":
        return SCHOOL_TYPE_LABELS.get(str(value), str(value))
    if col in ("activity_type", "grant_type"):
        return str(value).replace("_", " ").capitalize()
    return str(value)
