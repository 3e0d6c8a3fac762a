"""The words for codes: how an SPA, a school type, a side of the comparison, a
student group, a grant or activity type is named on every page, chart, table,
export and slide."""

from __future__ import annotations

from csi_metrics.vocabulary import codes

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
