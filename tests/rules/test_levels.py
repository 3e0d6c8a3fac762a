"""Dashboard status, change and colour at every cut point edge."""

from __future__ import annotations

from decimal import Decimal

import pytest

from csi_metrics.rules import levels

CA = "chronic_absenteeism"
SU = "suspension"

# (cut set, metric, [(status_pct, expected level), ...]) both sides of every edge.
STATUS_EDGES = [
    ("chronic_absenteeism", CA, [(0.0, "Very Low"), (2.5, "Very Low"), (2.6, "Low"), (5.0, "Low"), (5.1, "Medium"),
                                 (10.0, "Medium"), (10.1, "High"), (20.0, "High"), (20.1, "Very High"), (100, "Very High")]),
    ("suspension_es", SU, [(0.5, "Very Low"), (0.6, "Low"), (1.0, "Low"), (1.1, "Medium"), (3.0, "Medium"),
                           (3.1, "High"), (6.0, "High"), (6.1, "Very High")]),
    ("suspension_ms", SU, [(0.5, "Very Low"), (0.6, "Low"), (2.0, "Low"), (2.1, "Medium"), (8.0, "Medium"),
                           (8.1, "High"), (12.0, "High"), (12.1, "Very High")]),
    ("suspension_hs", SU, [(0.5, "Very Low"), (0.6, "Low"), (1.5, "Low"), (1.6, "Medium"), (6.0, "Medium"),
                           (6.1, "High"), (10.0, "High"), (10.1, "Very High")]),
    ("suspension_elementary_district", SU, [(0.5, "Very Low"), (0.6, "Low"), (1.5, "Low"), (1.6, "Medium"),
                                            (3.0, "Medium"), (3.1, "High"), (6.0, "High"), (6.1, "Very High")]),
    ("suspension_high_district", SU, [(0.5, "Very Low"), (0.6, "Low"), (1.5, "Low"), (1.6, "Medium"),
                                      (6.0, "Medium"), (6.1, "High"), (10.0, "High"), (10.1, "Very High")]),
    ("suspension_unified", SU, [(1.0, "Very Low"), (1.1, "Low"), (2.5, "Low"), (2.6, "Medium"), (4.5, "Medium"),
                                (4.6, "High"), (8.0, "High"), (8.1, "Very High")]),
]

CHANGE_EDGES = [
    ("chronic_absenteeism", CA, [(-3.0, "Declined Significantly"), (-2.9, "Declined"), (-0.5, "Declined"),
                                 (-0.4, "Maintained"), (0.0, "Maintained"), (0.4, "Maintained"), (0.5, "Increased"),
                                 (3.0, "Increased"), (3.1, "Increased Significantly")]),
    ("suspension_es", SU, [(-1.0, "Declined Significantly"), (-0.9, "Declined"), (-0.3, "Declined"),
                           (-0.2, "Maintained"), (0.2, "Maintained"), (0.3, "Increased"), (2.0, "Increased"),
                           (2.1, "Increased Significantly")]),
    ("suspension_ms", SU, [(-3.0, "Declined Significantly"), (-2.9, "Declined"), (-0.3, "Declined"),
                           (-0.2, "Maintained"), (0.2, "Maintained"), (0.3, "Increased"), (4.0, "Increased"),
                           (4.1, "Increased Significantly")]),
    ("suspension_hs", SU, [(-2.0, "Declined Significantly"), (-1.9, "Declined"), (-0.3, "Declined"),
                           (-0.2, "Maintained"), (0.2, "Maintained"), (0.3, "Increased"), (3.0, "Increased"),
                           (3.1, "Increased Significantly")]),
    ("suspension_elementary_district", SU, [(-2.0, "Declined Significantly"), (-1.9, "Declined"), (-0.3, "Declined"),
                                            (-0.2, "Maintained"), (0.2, "Maintained"), (0.3, "Increased"),
                                            (2.0, "Increased"), (2.1, "Increased Significantly")]),
    ("suspension_unified", SU, [(-2.0, "Declined Significantly"), (-1.9, "Declined"), (-0.3, "Declined"),
                                (-0.2, "Maintained"), (0.2, "Maintained"), (0.3, "Increased"), (2.0, "Increased"),
                                (2.1, "Increased Significantly")]),
]


@pytest.mark.parametrize("cut_set,metric,cases", STATUS_EDGES, ids=[c[0] for c in STATUS_EDGES])
def test_status_edges(cut_set, metric, cases):
    for pct, expected in cases:
        assert levels.status_level(metric, pct, cut_set) == expected, (cut_set, pct)


@pytest.mark.parametrize("cut_set,metric,cases", CHANGE_EDGES, ids=[c[0] for c in CHANGE_EDGES])
def test_change_edges(cut_set, metric, cases):
    for pp, expected in cases:
        assert levels.change_level(metric, pp, cut_set) == expected, (cut_set, pp)


def test_status_rounds_half_up_to_one_decimal():
    assert levels.status_level(CA, 2.54) == "Very Low"      # 2.5
    assert levels.status_level(CA, 2.55) == "Low"           # 2.6, half up
    assert levels.status_level(CA, 20.04) == "High"         # 20.0
    assert levels.status_level(CA, 20.05) == "Very High"    # 20.1
    # float noise: 51/2000*100 is 2.55 exactly in decimal
    assert levels.status_level(CA, 51 / 2000 * 100) == "Low"
    assert levels.round1(Decimal("-0.45")) == Decimal("-0.5")  # halves away from zero
    assert levels.round1(2.5499999999999998) == Decimal("2.6")


def test_change_from_unrounded_rates():
    # 10.04% -> 10.0 rounded and 9.56% -> 9.6 rounded: rounded difference 0.4 (Maintained),
    # unrounded difference 0.48 -> 0.5 (Increased). CDE uses the unrounded one.
    out = levels.assess(CA, 0.1004, 500, 0.0956)
    assert out["status_pct"] == 10.0 and out["change_pp"] == 0.5
    assert out["change_level"] == "Increased"
    assert out["color"] == "Orange"  # Medium x Increased


def test_grid_colours_match_cde_table():
    # CDE prints columns Increased Significantly .. Declined Significantly.
    expected = {
        "Very Low": ["Yellow", "Green", "Blue", "Blue", "Blue"],
        "Low": ["Orange", "Yellow", "Green", "Green", "Blue"],
        "Medium": ["Orange", "Orange", "Yellow", "Green", "Green"],
        "High": ["Red", "Orange", "Orange", "Yellow", "Yellow"],
        "Very High": ["Red", "Red", "Red", "Orange", "Yellow"],
    }
    for status, colours in expected.items():
        got = [levels.color(status, ch) for ch in reversed(levels.CHANGE_LEVELS)]
        assert got == colours, status


def test_small_population_grid_caps_significant_change():
    assert levels.color("Very High", "Declined Significantly") == "Yellow"
    assert levels.color("Very High", "Declined Significantly", small_population=True) == "Orange"
    assert levels.color("Very Low", "Increased Significantly", small_population=True) == "Green"
    assert levels.color("Medium", "Maintained", small_population=True) == "Yellow"


def test_assess_thresholds_30_and_150():
    assert levels.assess(CA, 0.25, 29, 0.2)["level_note"] == levels.NOTE_FEWER_THAN_30
    assert levels.assess(CA, 0.25, 29, 0.2)["color"] is None
    assert levels.assess(CA, 0.25, 29, 0.2)["status_level"] is None
    small = levels.assess(CA, 0.25, 30, 0.15)  # VH, +10 pp IS -> Red either way
    assert small["small_population"] is True and small["color"] == "Red"
    down_small = levels.assess(CA, 0.25, 149, 0.35)  # VH, -10 pp DS: 3x5 -> Declined -> Orange
    assert down_small["color"] == "Orange" and down_small["change_level"] == "Declined Significantly"
    down_big = levels.assess(CA, 0.25, 150, 0.35)
    assert down_big["color"] == "Yellow" and down_big["small_population"] is False


def test_assess_missing_prior_and_suppressed():
    no_prior = levels.assess(SU, 0.05, 500, None, "suspension_hs")
    assert no_prior["status_level"] == "Medium" and no_prior["color"] is None
    assert no_prior["level_note"] == levels.NOTE_NO_PRIOR
    hidden = levels.assess(SU, None, None, 0.02, suppressed=True)
    assert hidden["status_level"] is None and hidden["level_note"] == levels.NOTE_SUPPRESSED


def test_suspension_cut_set_choice():
    assert levels.suspension_cut_set("ES") == "suspension_es"
    assert levels.suspension_cut_set("MS") == "suspension_ms"
    assert levels.suspension_cut_set("HS") == "suspension_hs"
    assert levels.suspension_cut_set("K-12") == "suspension_unified"
    assert levels.suspension_cut_set(lea_type="elementary") == "suspension_elementary_district"
    assert levels.suspension_cut_set(lea_type="high") == "suspension_high_district"
    assert levels.suspension_cut_set(lea_type="unified") == "suspension_unified"
    assert levels.suspension_cut_set() == "suspension_unified"


def test_wrong_cut_set_for_metric():
    with pytest.raises(ValueError):
        levels.status_level(SU, 1.0, "chronic_absenteeism")
    with pytest.raises(ValueError):
        levels.status_level(SU, 1.0, "suspension_nowhere")


def test_assess_frame_gives_what_assess_gives_row_by_row():
    """The columnar placement (every view's) is the scalar rule, value for value, at the
    rounding edges too: rates that are exact halves of a tenth (51/2000 = 2.55%), changes
    of a half tenth, every cut set, and the notes (suppressed, under 30, no prior, 3x5)."""
    import random

    import polars as pl

    rng = random.Random(7)
    for metric, cuts in ((CA, ["chronic_absenteeism"]), (SU, [c for c in levels.CUT_SETS if c.startswith("susp")])):
        rows = []
        for _ in range(4000):
            den = rng.choice([None, 5, 29, 30, 149, 150, rng.randint(1, 5000)])
            rate = rng.choice([None, rng.randint(0, 2000) / 2000, rng.random()])
            prior = rng.choice([None, rng.random(), None if rate is None else rate - rng.randint(-300, 300) / 2000])
            rows.append((rate, den, prior, rng.choice(cuts), rng.random() < 0.05))
        rows += [(0.0255, 500, 0.0205, cuts[0], False), (0.0245, 500, 0.0250, cuts[0], False),
                 (0.10049999999, 200, 0.1, cuts[0], False), (1.0, 30, 0.0, cuts[0], False)]
        frame = pl.DataFrame(rows, schema={"rate": pl.Float64, "denominator_n": pl.Int64, "prior_rate": pl.Float64,
                                           "cut_set": pl.String, "suppressed": pl.Boolean}, orient="row")
        got = levels.assess_frame(metric, frame).iter_rows(named=True)
        for r, g in zip(rows, got):
            want = levels.assess(metric, *r)
            assert g == {k: want[k] for k in levels.ASSESS_COLUMNS}, (metric, r)
