"""Small trends to scale (issue 17): an Overview sparkline writes its first and last
values and spans at least a minimum range, so a 0.3-point dip does not look like a
collapse; the Schools table's trend is one unsmoothed bar per year with a gap for a
year with no data, in a colour that does not mean bad."""

from __future__ import annotations

import polars as pl
import pytest

from csi_metrics.figures import charts
from csi_metrics.views import catalogue
from csi_metrics.vocabulary import formats
from csi_metrics.vocabulary.filters import Filters


def test_a_small_dip_looks_small_and_the_ends_carry_their_values():
    df = pl.DataFrame({"year": ["2021-22", "2022-23", "2023-24"], "value": [0.205, 0.202, 0.204]})
    fig = charts.sparkline(df, kind="rate")
    lo, hi = fig.layout.yaxis.range
    assert (0.205 - 0.202) / (hi - lo) < 0.1  # 0.3 points is under a tenth of the card's height
    texts = list(fig.data[0].text)
    assert texts[0] == formats.format_value(0.205, "rate") and texts[-1] == formats.format_value(0.204, "rate")
    assert texts[1] == ""


@pytest.mark.parametrize("metric_id", ["chronic_absenteeism", "suspension", "community_schools_n", "ccspp_usd"])
def test_every_headline_sparkline_is_labelled_and_to_scale(demo_con, metric_id):
    d = catalogue.render_on(demo_con, "headline_spark", Filters(year="2023-24"),
                            choices_={"metric_id": metric_id, "scope": "selected"})
    trace = d.fig.data[0]
    labels = [t for t in trace.text if t]
    assert 1 <= len(labels) <= 2
    vals = [v for v in trace.y if v is not None]
    lo, hi = d.fig.layout.yaxis.range
    assert lo <= min(vals) and hi >= max(vals)
    assert hi - lo >= charts.SPARK_MIN_SPAN.get(d.table["value"].dtype and "rate" if metric_id in
                                                ("chronic_absenteeism", "suspension") else "", 0)
