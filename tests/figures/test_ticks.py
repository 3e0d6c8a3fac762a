"""Tick labels of every percentage axis and colour bar read differently (issue 17:
suspension axes read 3%, 3%, 2%, 2%; a map's colour bar 34%, 34%, 35%), for every
catalogue chart over the demo database, as a page draws it, as a deck slide and as
an export."""

from __future__ import annotations

import math
import re


from csi_metrics.figures import export, projector
from csi_metrics.views import catalogue
from csi_metrics.vocabulary import registry
from csi_metrics.vocabulary.filters import Filters


def d3(fmt: str, v: float) -> str:
    """The few d3-format specifiers the figures use, as plotly.js prints them."""
    m = re.fullmatch(r"(?P<head>[-+ $,(]*)\.(?P<n>\d+)(?P<kind>[f%])", fmt)
    if m:
        n, head = int(m["n"]), m["head"]
        x = v * 100 if m["kind"] == "%" else v
        text = f"{x:{'+' if '+' in head else ''}{',' if ',' in head else ''}.{n}f}"
        return ("$" if "$" in head else "") + text + ("%" if m["kind"] == "%" else "")
    if re.fullmatch(r"[$,]*d", fmt):
        return ("$" if "$" in fmt else "") + f"{round(v):,}"
    raise AssertionError(f"no emulation for {fmt!r}")


def plotly_auto_step(span: float) -> float:
    """plotly.js autoTicks on a slide-sized axis (over 360 px: 9 + 1 ticks), 1-2-5 steps."""
    raw = span / 10
    mag = 10 ** math.floor(math.log10(raw))
    return next(b * mag for b in (1, 2, 5, 10) if b * mag >= raw * 0.99)


def tick_labels(fmt: str, lo: float, hi: float, dtick: float | None, tick0: float | None) -> list[str]:
    step = float(dtick) if dtick else plotly_auto_step(hi - lo if hi > lo else abs(hi) or 1.0)
    start = float(tick0 or 0) + math.ceil((lo - float(tick0 or 0)) / step - 1e-9) * step
    n = int(math.floor((hi - start) / step + 1e-9)) + 1
    return [d3(fmt, start + k * step) for k in range(max(n, 0))]


def fixed_format(fmt: str | None) -> bool:
    return bool(fmt) and fmt not in ("$~s",)


def axes_and_bars(fig) -> list[tuple[str, list[str]]]:
    """(where, labels) for each axis and colour bar with a fixed-decimal tick format."""
    out = []
    for name in fig.layout:
        if not re.fullmatch(r"[xy]axis\d*", name):
            continue
        ax = fig.layout[name]
        if not fixed_format(ax.tickformat) or ax.tickvals is not None or ax.visible is False:
            continue
        if ax.range is not None:
            lo, hi = sorted(ax.range)
        else:
            letter = name[0]
            vals = [v for t in fig.data if hasattr(t, letter) for v in (getattr(t, letter) or ())
                    if isinstance(v, (int, float))]
            if not vals:
                continue
            lo, hi = min(vals), max(vals)
            if ax.rangemode == "tozero":
                lo, hi = min(lo, 0), max(hi, 0)
        out.append((name, tick_labels(ax.tickformat, lo, hi, ax.dtick, ax.tick0)))
    for t in fig.data:
        for holder, a, b in ((t, "zmin", "zmax"), (getattr(t, "marker", None), "cmin", "cmax")):
            cb = getattr(holder, "colorbar", None) if holder is not None else None
            if cb is None or not fixed_format(cb.tickformat) or getattr(holder, a, None) is None:
                continue
            out.append((f"colorbar of {t.name}", tick_labels(cb.tickformat, getattr(holder, a), getattr(holder, b),
                                                             cb.dtick, cb.tick0)))
    return out


def _cases(demo_con):
    school = demo_con.execute("SELECT min(cds_code) FROM schools WHERE is_community").fetchall()[0][0]
    for chart_id, chart in catalogue.CHARTS.items():
        base = {"school": school} if "school" in chart.options else {}
        choices = [base]
        for name, opt in chart.options.items():
            choices += [{**base, name: v} for v in (opt.values or ()) if v != opt.default_value()]
        if "metric" in chart.options:
            choices += [{**c, "metric": m} for c in list(choices) for m in registry.OUTCOMES]
        for given in choices:
            yield chart_id, given


def test_every_percentage_axis_and_colour_bar_has_distinct_tick_labels(demo_con):
    seen, repeated = 0, []
    for chart_id, given in _cases(demo_con):
        try:
            drawn = catalogue.render_on(demo_con, chart_id, Filters(year="2023-24"), choices_=given)
        except ValueError:
            continue  # a choice the demo cannot serve (e.g. a baseline); the catalogue test covers it
        for where, fig in (("page", drawn.fig), ("slide", projector.slide_figure(drawn.fig)),
                           ("export", export.prepare(drawn.fig, title=drawn.title))):
            for axis, labels in axes_and_bars(fig):
                seen += 1
                if len(labels) != len(set(labels)):
                    repeated.append((chart_id, given, where, axis, labels))
    assert seen > 50
    assert not repeated, repeated[:5]


def test_a_narrow_suspension_range_gets_decimals():
    from csi_metrics.figures import charts
    import polars as pl

    df = pl.DataFrame({"year": ["2021-22", "2022-23", "2023-24"], "rate": [0.031, 0.024, 0.012],
                       "suppressed": [False] * 3})
    fig = charts.trend_lines(df, title="Suspension rate by year")
    (axis, labels), = [x for x in axes_and_bars(fig) if x[0] == "yaxis"]
    assert labels == ["0.0%", "0.5%", "1.0%", "1.5%", "2.0%", "2.5%", "3.0%"]
