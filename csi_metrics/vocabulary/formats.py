"""The one formatter per unit: how every figure a person reads is written (cards,
charts, tooltips, tables, CSV text, exports, the report), rounding half up as the
Dashboard does. Nothing else formats a number for reading."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl

UNITS = ("rate", "pp", "pp_abs", "points", "count", "usd", "usd_per_student", "share", "smd")
SUPPRESSED_TEXT = "suppressed"
NOT_PUBLISHED_TEXT = "not published"  # CDE published no data that year (not the privacy rule)
BLANK = "—"  # a missing value (not published, not applicable), everywhere a value is written


def half_up(value: float, digits: int = 1) -> Decimal:
    """`value` rounded half up (away from zero) to `digits` decimals, after dropping
    float noise: the rounding the Dashboard levels use (levels.round1), so a figure
    printed beside a level reads as the value that was placed (51/2000 -> 2.6%)."""
    d = Decimal(format(float(value), ".9f"))
    return d.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def half_up_expr(expr: "pl.Expr", digits: int = 1) -> "pl.Expr":
    """`expr` rounded half up (away from zero) to `digits` decimals, natively: for tables
    that keep numbers (to sort) but must read as the formatter prints them."""
    scale = 10 ** digits
    return (expr.sign() * ((expr.abs() * scale + 0.5 + 1e-9).floor() / scale)).cast(pl.Float64)


def _usd_compact(a: float) -> str:
    if abs(a) >= 1e9:
        return f"${half_up(a / 1e9)}B"
    if abs(a) >= 1e6:
        return f"${half_up(a / 1e6)}M"
    if abs(a) >= 1e4:  # below that, every dollar digit is short enough and worth reading
        return f"${half_up(a / 1e3, 0):,}K"
    return f"${half_up(a, 0):,}"


def format_value(value: float | int | None, unit: str, *, suppressed: bool = False, digits: int = 1,
                 compact: bool = False, not_published: bool = False) -> str:
    """The one formatter of every figure a person reads (cards, charts, tooltips,
    tables, CSV text, exports), one rule per unit, rounding half up:
    rate / share 0.1234 -> '12.3%'; pp -1.25 -> '-1.3 pp' (sign shown; zero
    '0.0 pp'); pp_abs 1.25 -> '1.3 percentage points' (unsigned, for sentences; points: '1.3 points',
    for the same sentence's later changes);
    count 1234 -> '1,234'; smd (a standardised mean difference) 0.084 -> '+0.08';
    usd 1234567 -> '$1,234,567' (compact=True: '$1.2M',
    '$350K', for a bar label); usd_per_student 411.6 -> '$412'. A suppressed
    value reads 'suppressed', one for a year CDE never published 'not published',
    a missing one '—'."""
    if not_published:
        return NOT_PUBLISHED_TEXT
    if suppressed:
        return SUPPRESSED_TEXT
    if value is None or (isinstance(value, float) and value != value):
        return BLANK
    if unit in ("rate", "share"):
        return f"{half_up(value * 100, digits)}%"
    if unit == "pp":
        d = half_up(value, digits)
        return f"{'+' if d > 0 else ''}{d} pp" if d != 0 else f"{abs(d)} pp"
    if unit == "pp_abs":
        return f"{abs(half_up(value, digits))} percentage points"
    if unit == "points":  # pp_abs once a sentence has said "percentage points"
        return f"{abs(half_up(value, digits))} points"
    if unit == "count":
        return f"{half_up(value, 0):,}"
    if unit == "smd":
        d = half_up(value, 2)
        return f"{'+' if d > 0 else ''}{d}" if d != 0 else "0.00"
    if unit in ("usd", "usd_per_student"):
        return _usd_compact(float(value)) if compact else f"${half_up(value, 0):,}"
    raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")


def format_interval(low: float | None, high: float | None, unit: str, *, compact: bool = False) -> str:
    """An interval as a person reads it: '-3.5 pp to -1.4 pp', or with compact=True the
    unit word once at the end ('-3.5 to -1.4 pp', for a card); '—' when either end is missing."""
    if low is None or high is None:
        return BLANK
    a, b = format_value(low, unit), format_value(high, unit)
    if compact and " " in b:
        a = a.removesuffix(" " + b.rsplit(" ", 1)[1])
    return f"{a} to {b}"


def column_unit(column: str) -> str | None:
    """The unit a table column holds, from the house naming rule (_rate 0-1, _pp, _usd, _n):
    what a table written as text (the attendee page) formats it with."""
    if column in ("rate", "share") or column.endswith("_rate"):
        return "rate"
    if column == "usd_per_student":
        return "usd_per_student"
    for suffix, unit in (("_pp", "pp"), ("_usd", "usd"), ("_n", "count"), ("_smd", "smd")):
        if column.endswith(suffix):
            return unit
    return None


def cell_text(column: str, value: object) -> str:
    """One table cell as a person reads it: a number through format_value by its column's
    unit, a blank (suppressed, unpublished, not applicable) as BLANK, as the live tables show it."""
    if value is None or (isinstance(value, float) and value != value):
        return BLANK
    if isinstance(value, bool):
        return "true" if value else "false"
    unit = column_unit(column)
    if column.endswith("_pct") and isinstance(value, (int, float)):
        return format_value(value / 100, "rate")
    if unit is not None and isinstance(value, (int, float)):
        return format_value(value, unit)
    if isinstance(value, float):
        return str(half_up(value, 3).normalize())
    if isinstance(value, (list, tuple)):
        return "; ".join(cell_text(column, v) for v in value)
    return str(value)
