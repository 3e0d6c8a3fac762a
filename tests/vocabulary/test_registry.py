"""The metric registry and value formatting."""

from __future__ import annotations

import dataclasses

import pytest

from csi_metrics.vocabulary import registry, formats
from csi_metrics.vocabulary.formats import format_value


def test_every_metric_complete():
    for mid, m in registry.METRICS.items():
        assert m.id == mid
        assert m.unit in formats.UNITS, mid
        assert m.direction in registry.DIRECTIONS, mid
        assert m.label and m.source
        assert m.definition.endswith(".") and m.definition.count(". ") == 0, mid  # one sentence


def test_metrics_the_pages_show_are_registered():
    for mid in ["chronic_absenteeism", "suspension", "community_schools_n", "students_served_n",
                "ccspp_usd", "usd_per_student", "did_pp", "gap_pp", "la_share_rate", "activities_n",
                "attendees_n", "unique_individuals_n", "items_n", "learning_opportunities_n",
                "support_sessions_n", "referrals_n", "engagement_events_n", "distributions_n", "grants_n"]:
        assert mid in registry.METRICS
    assert registry.METRICS["chronic_absenteeism"].direction == "lower_is_better"
    assert registry.METRICS["suspension"].direction == "lower_is_better"
    # every count column activities.activity_counts returns has a definition
    from csi_metrics.metrics import activities
    for col in activities.VALUE_COLUMNS:
        if col.endswith("_n"):
            assert col in registry.METRICS, col


def test_metricdef_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        registry.METRICS["suspension"].label = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "value,unit,expected",
    [
        (0.1234, "rate", "12.3%"),
        (0.0, "rate", "0.0%"),
        (-1.24, "pp", "-1.2 pp"),
        (2.0, "pp", "+2.0 pp"),
        (1234, "count", "1,234"),
        (1234567, "usd", "$1,234,567"),
        (411.6, "usd_per_student", "$412"),
        (0.25, "share", "25.0%"),
        (None, "rate", "—"),
        # half up, as the Dashboard levels round (Python's own format() rounds half to even on floats)
        (51 / 2000, "rate", "2.6%"),
        (-0.25, "pp", "-0.3 pp"),
        (0.25, "pp", "+0.3 pp"),
        (0.04, "pp", "0.0 pp"),
        (-7.55, "pp_abs", "7.6 percentage points"),
        (1_234_567, "usd", "$1,234,567"),
        (2.5, "count", "3"),
    ],
)
def test_format_value(value, unit, expected):
    assert formats.format_value(value, unit) == expected


def test_format_suppressed_and_errors():
    assert formats.format_value(0.5, "rate", suppressed=True) == "suppressed"
    assert formats.format_value(1_234_567, "usd", compact=True) == "$1.2M"
    assert formats.format_value(350_000, "usd", compact=True) == "$350K"
    assert formats.format_value(2_480.4, "usd", compact=True) == "$2,480"
    assert formats.format_value(1_250_000, "usd", compact=True) == "$1.3M"  # half up
    assert format_value(0.031, registry.get("suspension").unit) == "3.1%"
    with pytest.raises(ValueError, match="unit"):
        formats.format_value(1, "furlongs")
    with pytest.raises(ValueError, match="unknown metric"):
        registry.get("nope")
