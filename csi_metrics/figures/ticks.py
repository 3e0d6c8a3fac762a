"""Tick steps that keep tick labels distinct, for every axis and colour bar at once.

Plotly picks its tick step from the figure's pixel size, so a format with fixed
decimals that reads well on a laptop repeats on a projector (suspension rates of
1-3% at a 0.5-point step read 3%, 3%, 2%, 2% with whole percents; a map's 33-36%
read 34%, 34%, 35%). Here the step is chosen from the data's range (about five
ticks, 1-2-5 steps) and the format gets the decimals that step needs, so labels
differ at any size. charts.apply_theme calls `distinct_ticks` on every figure,
so every chart, slide, export and colour bar gets it."""

from __future__ import annotations

import math
import re
from typing import Any

import plotly.graph_objects as go

# Formats with a fixed number of decimals: [sign/currency/grouping].N[f|%], or integers.
_FIXED = re.compile(r"^(?P<head>[-+ $,(]*)\.(?P<n>\d+)(?P<kind>[f%])$")
_INTEGER = re.compile(r"^[-+ $,(]*(?:d|\.0f)$")
TARGET_TICKS = 5


def nice_step(span: float, target: int = TARGET_TICKS) -> float:
    """A 1, 2 or 5 times a power of ten step giving about `target` intervals over `span`."""
    raw = abs(span) / target if span else 1.0
    mag = 10 ** math.floor(math.log10(raw))
    norm = raw / mag
    return (1 if norm < 1.5 else 2 if norm < 3.5 else 5 if norm < 7.5 else 10) * mag


def decimals_for(step: float, percent: bool) -> int:
    """Decimals that tell ticks `step` apart (percent: of step x 100)."""
    shown = step * (100 if percent else 1)
    return max(0, -math.floor(math.log10(shown) + 1e-9))


def _numbers(values: Any) -> list[float]:
    if values is None:
        return []
    out = []
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


def _axis_values(fig: go.Figure, axis_name: str) -> list[float]:
    """Numbers drawn on layout axis `axis_name` ('xaxis', 'yaxis2', ...)."""
    letter, suffix = axis_name[0], axis_name[5:]
    ref = letter + suffix  # 'x', 'y2'
    vals: list[float] = []
    for t in fig.data:
        if (getattr(t, letter + "axis", None) or letter) != ref:
            continue
        if not hasattr(t, letter):
            continue
        vals += _numbers(getattr(t, letter))
        if getattr(t, "type", "") == "bar" and getattr(t, "base", None) is None:
            horizontal = getattr(t, "orientation", None) == "h"
            if (letter == "x") == horizontal:
                vals.append(0.0)  # a bar starts at zero
    return vals


def _step_and_format(lo: float, hi: float, fmt: str) -> tuple[float, str] | None:
    """(step, format) for a range under `fmt`, or None when `fmt` has no fixed decimals."""
    span = hi - lo
    if span <= 0:
        span = abs(hi) or 1.0
    if _INTEGER.match(fmt):
        return max(1.0, nice_step(span)), fmt
    m = _FIXED.match(fmt)
    if not m:
        return None
    step = nice_step(span)
    n = decimals_for(step, m["kind"] == "%")
    return step, f"{m['head']}.{n}{m['kind']}"


def _fix_axis(axis: Any, lo: float, hi: float) -> None:
    if axis.tickvals is not None or not axis.tickformat:
        return
    got = _step_and_format(lo, hi, axis.tickformat)
    if got is None:
        return
    step, fmt = got
    axis.update(tickmode="linear", tick0=0, dtick=step, tickformat=fmt)


def distinct_ticks(fig: go.Figure) -> go.Figure:
    """Give every axis and colour bar whose format has fixed decimals a step from the
    data's range and the decimals that step needs; returns `fig`."""
    for name in list(fig.layout):
        if not re.fullmatch(r"[xy]axis\d*", name):
            continue
        axis = fig.layout[name]
        if not axis.tickformat or axis.tickvals is not None:
            continue
        if axis.range is not None and None not in tuple(axis.range):
            lo, hi = sorted(float(v) for v in axis.range)
        else:
            vals = _axis_values(fig, name)
            if not vals:
                continue
            lo, hi = min(vals), max(vals)
            if axis.rangemode == "tozero":
                lo, hi = min(lo, 0.0), max(hi, 0.0)
        _fix_axis(axis, lo, hi)
    for t in fig.data:
        for holder, lo_name, hi_name in ((t, "zmin", "zmax"), (getattr(t, "marker", None), "cmin", "cmax")):
            cb = getattr(holder, "colorbar", None) if holder is not None else None
            if cb is None or not cb.tickformat or cb.tickvals is not None:
                continue
            lo, hi = getattr(holder, lo_name, None), getattr(holder, hi_name, None)
            if lo is None or hi is None:
                vals = _numbers(getattr(holder, "z" if holder is t else "color", None))
                if not vals:
                    continue
                lo, hi = min(vals), max(vals)
            got = _step_and_format(float(lo), float(hi), cb.tickformat)
            if got is not None:
                cb.update(tickmode="linear", tick0=0, dtick=got[0], tickformat=got[1])
    return fig
