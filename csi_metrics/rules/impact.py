"""The impact study's shared rules: which year is a school's pre-grant baseline,
which years are pandemic years, and the names of the matching variables. Used by
the build's matching (csi_metrics.ingest.matching) and by the estimator
(csi_metrics.metrics.impact), which must agree on them and never import each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from csi_metrics.vocabulary import codes

# 2019-20 (schools closed in March 2020; no chronic absenteeism file) and 2020-21
# (taught mostly at a distance): never a default baseline, always flagged.
PANDEMIC_YEARS = ("2019-20", "2020-21")

BASELINE_RULE = ("baseline = the last year before the school's first grant year that has data and is not "
                 "2019-20 or 2020-21 (pandemic years)")

# The matching variables, as named in impact_covariates and in the balance table.
COVARIATES = ("level_rate", "trend_pp", "ss_share_rate", "log_enrollment")
COVARIATE_LABELS = {
    "level_rate": "Outcome rate at baseline",
    "trend_pp": "Pre-period trend (baseline minus the year before, pp)",
    "ss_share_rate": "Share socioeconomically disadvantaged",
    "log_enrollment": "Enrollment (log)",
}

GRANT_TYPE_CHOICES = ("implementation", "planning", "coordination", "all")


def is_pandemic(year: str) -> bool:
    return year in PANDEMIC_YEARS


def default_baseline(first_grant_year: str, years_with_data: Iterable[str]) -> str | None:
    """The last year strictly before first_grant_year in years_with_data that is not a
    pandemic year; None when there is none. A ValueError names a malformed year."""
    codes.year_start(first_grant_year)
    earlier = [y for y in years_with_data if y < first_grant_year and not is_pandemic(y)]
    return max(earlier) if earlier else None


def check_grant_type(grant_type: str) -> str:
    if grant_type not in GRANT_TYPE_CHOICES:
        raise ValueError(f"grant_type must be one of {', '.join(GRANT_TYPE_CHOICES)}; got {grant_type!r}")
    return grant_type
