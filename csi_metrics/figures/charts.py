"""Chart builders: data in, Plotly figure out, one theme. No Streamlit here.

The theme is for a projector at the back of a hall as much as a laptop: large
type, one neutral palette for categories keyed by their codes (never a Dashboard
hue), and Dashboard colours, kept for levels, always drawn together with their
text label, never by hue alone."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from csi_metrics.figures import ticks
from csi_metrics.vocabulary.codes import is_published
from csi_metrics.vocabulary.formats import format_interval, format_value
from csi_metrics.vocabulary.safe_text import for_plotly
from csi_metrics.vocabulary.words import group_label

# Categories (SPAs, cohorts, grant and activity types, student groups, school types):
# one neutral palette, each colour at least 40 CIE76 units from every Dashboard
# colour so no category reads as a performance level (Okabe-Ito, used before, has
# blue, orange, green and yellow that do; tests/figures/test_palette.py).
CATEGORY_PALETTE: list[str] = [
    "#01665E",  # dark teal
    "#CC79A7",  # pink
    "#8E7F5A",  # khaki
    "#882255",  # wine
    "#88CCEE",  # pale cyan
    "#2D004B",  # deep purple
    "#44AA99",  # teal
    "#E7298A",  # magenta
    "#C2A5CF",  # lilac
    "#3F2A14",  # dark brown
]
# One series with no category (a single bar set, a sparkline): the palette's first.
SERIES_COLOR = CATEGORY_PALETTE[0]

# CDE California School Dashboard hues. Hue alone must never carry the meaning:
# every use pairs the colour with its name (legend, hover, or text on the mark).
DASHBOARD_COLORS: dict[str, str] = {
    "Red": "#C8102E",
    "Orange": "#F28C28",
    "Yellow": "#F2CD00",
    "Green": "#2E9E44",
    "Blue": "#1F5FAD",
}
DASHBOARD_ORDER = ["Red", "Orange", "Yellow", "Green", "Blue"]
NO_COLOR = "#9E9E9E"          # fewer than 30 students: the Dashboard gives no colour
NO_COLOR_LABEL = "No colour (the note says why)"  # several reasons: under 30 students, placed on TK-8 only, no Dashboard that year
COUNTY_COLOR = "#000000"
TEXT_COLOR = "#1A1A1A"
GRID_COLOR = "#D9D9D9"
COMMUNITY_COLORS = {"community": CATEGORY_PALETTE[0], "comparison": CATEGORY_PALETTE[1]}

FONT_FAMILY = "Inter, 'Source Sans Pro', 'Helvetica Neue', Arial, sans-serif"
BASE_FONT_PX = 18     # readable on a projector from the middle of a room
TITLE_FONT_PX = 24
PRESENT_BASE_FONT_PX = 26
PRESENT_TITLE_FONT_PX = 34
LINE_WIDTH_PX = 3
PRESENT_LINE_WIDTH_PX = 5
MARKER_PX = 9

SUPPRESSED_NOTE = "suppressed (<11 students)"
VALUE_LABELS = "value labels"  # a text trace holding bar labels set clear of a reference line

# Text laid out to fit a chart's column. The server never learns a window's width, so the
# words are wrapped for the narrowest column a chart gets: at 1440x900 a page's columns
# wrap under each other below SLOT_PX (csi_app.phone's CSS); a presenter's narrowest is
# the difference-in-differences beside the trend at 1920. Widths are estimated from the
# characters (CHAR_EM: the theme's sans-serif's average advance, measured in Chromium).
SLOT_PX = 440
FULL_PX = 980                 # the page's whole width at 1440x900 (the sidebar open)
DEMO_META = "csi_demo_mark"   # layout.meta key: the bottom margin a figure had before its demo mark
FIT_META = "csi_fit"          # layout.meta key: the width and own height fit_text lays a figure out for
PRESENT_SLOT_PX = 700
CHAR_EM = 0.56
TITLE_PAD_PX = 10
AXIS_TITLE_EM = 1.45         # a line of an axis title, with Plotly's spacing under the ticks
LINE_EM = 1.3                 # a line of chart text, in its font size
TITLE_LIFT_EM = 0.92          # how far Plotly lifts a title of two or more lines
LEGEND_ROW_EM = 1.7          # a legend row, in the legend's font size
COLORBAR_PX = 120             # a colour bar at the plot's right
LEGEND_SYMBOL_PX = 56         # a legend entry's line or marker, and the gap after it
MIN_PLOT_PX = 240             # the plot's own height, at the least, inside the margins
PRESENT_MIN_PLOT_PX = 340
DEFAULT_HEIGHT_PX = 450       # a figure's height when it sets none (Plotly's and Streamlit's)
MIN_NOTE_PX = 160             # a note's or axis title's lines never narrower than this
AXIS_ALLOWANCE_PX = 70        # what the y axis's labels take from a note's width under the plot

TEMPLATE_NAME = "csi"


def _template(base_px: int, title_px: int) -> go.layout.Template:
    return go.layout.Template(
        layout=go.Layout(
            font=dict(family=FONT_FAMILY, size=base_px, color=TEXT_COLOR),
            title=dict(font=dict(size=title_px), x=0, xanchor="left", y=1, yanchor="top", pad=dict(t=TITLE_PAD_PX)),
            colorway=CATEGORY_PALETTE,
            paper_bgcolor="white",
            plot_bgcolor="white",
            hoverlabel=dict(font=dict(size=base_px)),
            legend=dict(font=dict(size=base_px), bgcolor="rgba(255,255,255,0)"),
            xaxis=dict(showgrid=False, linecolor=TEXT_COLOR, ticks="outside", tickfont=dict(size=base_px),
                       title=dict(font=dict(size=base_px)), automargin=True),
            yaxis=dict(showgrid=True, gridcolor=GRID_COLOR, zeroline=True, zerolinecolor=GRID_COLOR,
                       tickfont=dict(size=base_px), title=dict(font=dict(size=base_px)), automargin=True),
            margin=dict(l=20, r=20, t=70, b=40),
        )
    )


pio.templates[TEMPLATE_NAME] = _template(BASE_FONT_PX, TITLE_FONT_PX)
pio.templates[TEMPLATE_NAME + "_present"] = _template(PRESENT_BASE_FONT_PX, PRESENT_TITLE_FONT_PX)


def apply_theme(fig: go.Figure, *, present: bool = False) -> go.Figure:
    """Put `fig` in the dashboard theme (presenter sizes when `present`), its words
    fitted to a column (`fit_text`); returns it."""
    name = TEMPLATE_NAME + ("_present" if present else "")
    fig.update_layout(template=pio.templates[name])
    if present:
        fig.update_traces(line=dict(width=PRESENT_LINE_WIDTH_PX), selector=dict(type="scatter"))
    fit_text(fig, present=present)
    # Every figure passes here (charts, maps, slides, exports): tick labels that differ at any size.
    return ticks.distinct_ticks(fig)


def _plain_text(text: str | None) -> str:
    import re

    return " ".join(re.sub(r"<br\s*/?>", " ", text or "", flags=re.I).split())


def _text_px(text: str, font_px: float) -> float:
    import re

    return len(re.sub(r"<[^>]*>", "", text)) * CHAR_EM * font_px


def wrap_to(text: str, font_px: float, width_px: float) -> list[str]:
    """`text` in lines that fit `width_px` at `font_px` (estimated by characters)."""
    import textwrap

    chars = max(10, int(width_px / (CHAR_EM * font_px)))
    return textwrap.wrap(text, chars, break_long_words=False, break_on_hyphens=False) or [text]


def is_note(ann: go.layout.Annotation) -> bool:
    """An annotation under the plot (a chart's note), placed in pixels below its axis."""
    return ann.yref == "paper" and ann.y is not None and (
        ann.y < 0 or (ann.y == 0 and ann.yanchor == "top" and (ann.yshift or 0) < 0))


def _legend_rows(fig: go.Figure, font_px: float, width_px: float) -> int:
    """Rows a horizontal legend takes in `width_px` (0: no legend shown)."""
    entries = [t.name for t in fig.data if t.showlegend is not False and t.name]
    if fig.layout.showlegend is False or not entries or (len(entries) < 2 and fig.layout.showlegend is not True):
        return 0
    rows, used = 1, 0.0
    for name in entries:
        w = LEGEND_SYMBOL_PX + _text_px(name, font_px)
        if used and used + w > width_px:
            rows, used = rows + 1, 0.0
        used += w
    return rows


def fit_text(fig: go.Figure, *, present: bool = False, width_px: int | None = None) -> go.Figure:
    """Fit a figure's words to its column, `width_px` wide at 1440x900 (kept on the figure
    from the first call: SLOT_PX, half a page, unless the catalogue says its chart is wider;
    on a projector the column is PRESENT_SLOT_PX / SLOT_PX times wider): the title wrapped,
    the top margin holding the title and a legend above the plot (so the legend never sits
    on the title), category labels turned when they would run together, and each note
    under the plot wrapped and set below the tick labels and the axis title. Run again
    (another width, presenter sizes), it lays out again from the unwrapped words."""
    if fig.layout.height is not None and fig.layout.height < MIN_PLOT_PX:
        return fig  # a sparkline: no words around it
    meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
    state = dict(meta.get(FIT_META) or {"height": fig.layout.height, "width": SLOT_PX})
    if width_px:
        state["width"] = width_px
    fig.update_layout(meta={**meta, FIT_META: state})
    width = state["width"] * (PRESENT_SLOT_PX / SLOT_PX if present else 1)
    base_px = PRESENT_BASE_FONT_PX if present else BASE_FONT_PX
    title_px = (fig.layout.title.font.size if fig.layout.title and fig.layout.title.font.size else
                PRESENT_TITLE_FONT_PX if present else TITLE_FONT_PX)
    is_map = any(getattr(t, "type", "") in ("choroplethmap", "scattermap") for t in fig.data)
    lines = 0
    if fig.layout.title and fig.layout.title.text:
        wrapped = wrap_to(_plain_text(fig.layout.title.text), title_px, width)
        fig.layout.title.text = "<br>".join(wrapped)
        lines = len(wrapped)
    legend = fig.layout.legend
    above = legend.orientation == "h" and (legend.y if legend.y is not None else 0) >= 1
    # A legend above the plot starts at the plot's left edge and wraps in the plot's width.
    bar = COLORBAR_PX if any(getattr(t, "type", "") in ("choropleth", "choroplethmap", "heatmap") for t in fig.data) else 0
    rows = _legend_rows(fig, legend.font.size or base_px, width - _y_labels_px(fig, base_px) - bar) if above else 0
    if lines:
        # Plotly sets a title of several lines higher, by about a line's height:
        # padded down by as much, its first line starts inside the figure.
        fig.layout.title.pad.t = round(TITLE_PAD_PX + (title_px * TITLE_LIFT_EM if lines > 1 else 0))
    if lines or rows:
        top = (TITLE_PAD_PX + lines * title_px * LINE_EM + (8 if lines else 0)
               + rows * (legend.font.size or base_px) * LEGEND_ROW_EM + (8 if rows else 4))
        if not is_map or rows or lines > 1:
            fig.update_layout(margin=dict(t=round(top)))
    tick_h = turn_crowded_ticks(fig, width, base_px)
    _fit_notes(fig, width, base_px, tick_h)
    if not is_map:
        # Margins grown for words must not squeeze the plot: the figure grows instead (from
        # its own height, rows of bars taller at presenter type).
        own = state["height"] and round(state["height"] * (PRESENT_BASE_FONT_PX / BASE_FONT_PX if present else 1))
        m = fig.layout.margin
        need = round((m.t or 0) + (m.b or 0) + (PRESENT_MIN_PLOT_PX if present else MIN_PLOT_PX))
        fig.update_layout(height=max(own, need) if own else need if need > DEFAULT_HEIGHT_PX else None)
    return fig


def _y_labels_px(fig: go.Figure, base_px: float) -> float:
    """What the y axis's labels take left of the plot: category names beside horizontal bars."""
    names = [y for t in fig.data if getattr(t, "y", None) is not None for y in t.y if isinstance(y, str)]
    if not names:
        return AXIS_ALLOWANCE_PX
    font_px = fig.layout.yaxis.tickfont.size or base_px
    return 20 + max(_text_px(part, font_px) for n in names for part in n.split("<br>"))


def _x_categories(fig: go.Figure) -> list[str]:
    axis = fig.layout.xaxis
    if axis.ticktext:
        return [str(t) for t in axis.ticktext]
    if axis.tickvals:
        return [str(t) for t in axis.tickvals]
    seen: dict[str, None] = {}
    for t in fig.data:
        xs = getattr(t, "x", None)
        if xs is not None and getattr(t, "orientation", None) != "h":
            seen.update({x: None for x in xs if isinstance(x, str)})
    return list(seen)


def turn_crowded_ticks(fig: go.Figure, width: float, base_px: float) -> float:
    """Category labels along the x axis (school years, bar names) that would run together
    in the column are turned to 45 degrees; returns the height the labels take."""
    axis = fig.layout.xaxis
    labels = _x_categories(fig)
    font_px = axis.tickfont.size or base_px
    if axis.visible is False or not labels:
        return 0.0 if axis.visible is False else 14 + font_px * LINE_EM
    lines = max(label.count("<br>") + 1 for label in labels)
    widths = [max(_text_px(part, font_px) for part in label.split("<br>")) for label in labels]
    longest = max(widths)
    # Labels sit one slot apart, each centred on its tick: two neighbours touch when half of each
    # (and a gap) is more than a slot, so one long label among short ones turns nothing.
    slot = (width - AXIS_ALLOWANCE_PX - 20) / len(labels)
    if any((a + b) / 2 + 12 > slot for a, b in zip(widths, widths[1:])) or longest > width - AXIS_ALLOWANCE_PX:
        axis.tickangle = -45
        return 10 + (longest + lines * font_px * LINE_EM) * 0.71
    if axis.tickangle == -45:  # turned for a narrower column than this one
        axis.tickangle = 0
    return 10 + lines * font_px * LINE_EM


def _x_title_px(fig: go.Figure, width: float, base_px: float) -> float:
    """An x axis title wrapped to the plot's width; returns the height it takes."""
    axis = fig.layout.xaxis
    if axis.visible is False or not (axis.title and axis.title.text):
        return 0.0
    font_px = axis.title.font.size or base_px
    lines = wrap_to(_plain_text(axis.title.text), font_px, max(width - _y_labels_px(fig, base_px), MIN_NOTE_PX))
    axis.title.text = "<br>".join(lines)
    return 12 + len(lines) * font_px * AXIS_TITLE_EM


def _fit_notes(fig: go.Figure, width: float, base_px: float, tick_h: float) -> None:
    notes = [a for a in fig.layout.annotations or () if is_note(a)]
    if not notes:
        return
    # What the x axis takes under the plot: its tick labels, the axis title if any.
    under = tick_h + _x_title_px(fig, width, base_px)
    plot_w = max(width - _y_labels_px(fig, base_px), MIN_NOTE_PX)  # a note starts at the plot's left edge
    bottom = 0.0
    for ann in notes:
        font_px = ann.font.size or base_px
        paragraphs = (ann.name or "").split("\n") if (ann.name or "").startswith(NOTE_MARK) else None
        if paragraphs is None:
            paragraphs = [_plain_text(p) for p in (ann.text or "").split("<br>")]
        else:
            paragraphs = paragraphs[1:]
            ann.name = NOTE_MARK + "\n" + "\n".join(paragraphs)
        wrapped = [line for p in paragraphs for line in wrap_to(p, font_px, plot_w)]
        ann.text = "<br>".join(wrapped)
        ann.update(y=0, yanchor="top", yshift=-round(under + 8))
        bottom = max(bottom, under + 8 + len(wrapped) * font_px * LINE_EM + 10)
    fig.update_layout(margin=dict(b=round(bottom)))


def _category_orders() -> dict[str, list[str]]:
    from csi_metrics.vocabulary import codes

    return {"spa": [str(n) for n, _, _ in codes.SPAS], "activity_type": list(codes.ACTIVITY_TYPES),
            "grant_type": list(codes.GRANT_TYPES), "school_type": list(codes.SCHOOL_TYPES),
            "student_group": list(codes.REPORTING_CATEGORIES), "community": ["community", "comparison"]}


def category_color(col: str, value: object) -> str:
    """The colour of one category, keyed by its code so it is the same on every page
    and under every filter (Referral is the same hue whatever else is shown). Known
    codes take their place in the vocabulary's list; others a stable hash."""
    import re
    import zlib

    if value is None:
        return NO_COLOR
    key = str(value)
    if col in ("spa", "spa_n", "spa_label"):
        m = re.match(r"(?:SPA\s*)?(\d+)", key)
        col, key = "spa", (m.group(1) if m else key)
    if col == "cohort":
        try:
            return CATEGORY_PALETTE[(int(float(key)) - 1) % len(CATEGORY_PALETTE)]
        except ValueError:
            pass
    order = _category_orders().get(col, [])
    n = order.index(key) if key in order else zlib.crc32(f"{col}={key}".encode())
    return CATEGORY_PALETTE[n % len(CATEGORY_PALETTE)]


def dashboard_color_hex(label: str | None) -> str:
    """Hex for a Dashboard colour name; grey for no colour."""
    return DASHBOARD_COLORS.get(label or "", NO_COLOR)


# --------------------------------------------------------------------------- labels

def chart_label(col: str, value: object) -> str:
    """group_label for a Plotly label: names from the data (districts, schools) are text
    there, never markup (safe_text.for_plotly)."""
    return for_plotly(group_label(col, value))


NOTE_MARK = "csi-note"  # an annotation's name: its unwrapped lines follow, so fit_text can re-wrap them


def _note(fig: go.Figure, lines: list[str]) -> None:
    """Notes (gaps, suppression) under the plot, in the figure itself so PNG exports keep them.
    fit_text (in apply_theme) wraps them to the column and sets them below the axis."""
    if not lines:
        return
    # Pixels, not paper fractions: the gap under the tick labels must not depend on the plot's height.
    fig.add_annotation(text="<br>".join(lines), xref="paper", yref="paper", x=0, y=0, yshift=-3 * BASE_FONT_PX - 8,
                       xanchor="left", yanchor="top", showarrow=False, align="left",
                       name=NOTE_MARK + "\n" + "\n".join(lines), font=dict(size=BASE_FONT_PX - 3, color="#444"))


def _empty(fig: go.Figure, message: str) -> go.Figure:
    fig.add_annotation(text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=BASE_FONT_PX + 2, color="#444"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def message_figure(message: str) -> go.Figure:
    """A figure holding only a message (in place of a chart that cannot be shown)."""
    return apply_theme(_empty(go.Figure(), message))


def _summarise(items: list[str], limit: int = 4) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


# --------------------------------------------------------------------------- trends

def trend_lines(
    df: pl.DataFrame,
    *,
    title: str,
    group_col: str | None = None,
    county: pl.DataFrame | None = None,
    y_title: str = "Rate",
    years: list[str] | None = None,
    name: str = "All schools in filter",
    metric: str | None = None,
    keep_order: bool = False,
) -> go.Figure:
    """One line per group over academic years; rates 0-1 drawn as percentages
    (groups sorted, or in the frame's order with `keep_order`).

    `df` is a trends.trend frame: year, [group_col], rate, suppressed. A null
    rate is a gap (connectgaps off), never a zero; suppressed points are named
    in a note instead of being drawn. `county` (year, rate) adds the LA County
    reference line."""
    fig = go.Figure()
    if "suppressed" not in df.columns:
        df = df.with_columns(pl.lit(False).alias("suppressed"))
    all_years = sorted(set(years or []) | set(df["year"].to_list() if "year" in df.columns else [])
                       | (set(county["year"].to_list()) if county is not None and "year" in county.columns else set()))
    if df.is_empty() or "rate" not in df.columns:
        return apply_theme(_empty(fig, "No data for these filters"))
    groups = [None] if not group_col else df[group_col].unique(maintain_order=True).to_list() if keep_order \
        else df[group_col].unique(maintain_order=True).sort(nulls_last=True).to_list()
    suppressed_notes: list[str] = []
    used: set[str] = set()
    for g in groups:
        part = df if group_col is None else df.filter(pl.col(group_col).is_null() if g is None else pl.col(group_col) == g)
        by_year = {r["year"]: r for r in part.iter_rows(named=True)}
        # A suppressed point is never drawn, even if a value slipped through upstream.
        y = [by_year[yr]["rate"] if yr in by_year and not by_year[yr].get("suppressed") else None
             for yr in all_years]
        trace_name = chart_label("name", name) if group_col is None else chart_label(group_col, g)
        # A group's colour follows its code (the same under any filter); a second group
        # on the same colour is dotted.
        colour = SERIES_COLOR if group_col is None else category_color(group_col, g)
        dash = "dot" if colour in used else "solid"
        used.add(colour)
        if group_col and g is None:
            colour, dash = NO_COLOR, "dot"
        fig.add_trace(go.Scatter(
            x=all_years, y=y, name=trace_name, mode="lines+markers", connectgaps=False,
            line=dict(width=LINE_WIDTH_PX, color=colour, dash=dash),
            marker=dict(size=MARKER_PX, color=colour, line=dict(width=1, color="#333")),
            customdata=[format_value(v, "rate", not_published=not is_published(metric, yr))
                        for v, yr in zip(y, all_years)],
            hovertemplate=f"<b>{trace_name}</b><br>%{{x}}: %{{customdata}}<extra></extra>",
        ))
        sup = [yr for yr, r in by_year.items() if r.get("suppressed")]
        if sup:
            suppressed_notes.append(f"{trace_name} {', '.join(sorted(sup))}")
    if county is not None and not county.is_empty():
        cy = {r["year"]: (None if r.get("suppressed") else r["rate"]) for r in county.iter_rows(named=True)}
        county_y = [cy.get(yr) for yr in all_years]
        fig.add_trace(go.Scatter(
            x=all_years, y=county_y, name="LA County (all schools)", mode="lines+markers",
            connectgaps=False, line=dict(width=LINE_WIDTH_PX - 1, color=COUNTY_COLOR, dash="dash"),
            marker=dict(size=MARKER_PX - 3, color=COUNTY_COLOR, symbol="diamond"),
            customdata=[format_value(v, "rate", not_published=not is_published(metric, yr))
                        for v, yr in zip(county_y, all_years)],
            hovertemplate="<b>LA County</b><br>%{x}: %{customdata}<extra></extra>",
        ))
    notes: list[str] = []
    missing = [yr for yr in all_years
               if not df.filter((pl.col("year") == yr) & pl.col("rate").is_not_null()).height
               and not df.filter((pl.col("year") == yr) & pl.col("suppressed").fill_null(False)).height]
    from csi_metrics.vocabulary.codes import year_caveats

    caveats = year_caveats(metric, all_years)
    flagged = {y for y in missing if any(c.startswith(y) for c in caveats)}
    if missing and set(missing) - flagged:
        notes.append(f"No data published for {', '.join(sorted(set(missing) - flagged))}: shown as a gap, not a zero.")
    notes += [c + ("; shown as a gap." if c.split(" ", 1)[0] in missing else ".") for c in caveats]
    if suppressed_notes:
        notes.append(f"Not shown, {SUPPRESSED_NOTE}: {_summarise(suppressed_notes)}.")
    many = len(fig.data) > 4  # a horizontal legend of many names would run into the title
    legend = dict(orientation="v", yanchor="top", y=1.0, x=1.01, xanchor="left") if many else \
        dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left")
    fig.update_layout(title=title, hovermode="x unified" if len(groups) > 1 else "closest", legend=legend,
                      margin=dict(t=80 if many else 110))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=all_years, title=None)
    fig.update_yaxes(tickformat=".0%", title=y_title, rangemode="tozero")  # decimals: ticks.distinct_ticks
    _note(fig, notes)
    return apply_theme(fig)


def did_bars(did: pl.DataFrame, *, title: str = "Difference-in-differences") -> go.Figure:
    """Community change, comparison change and their difference, in percentage points.

    `did` is compare.diff_in_diff's one-row frame (community_change_pp,
    comparison_change_pp, did_pp); a null is labelled, not drawn as zero."""
    fig = go.Figure()
    if did.is_empty():
        return apply_theme(_empty(fig, "Not enough years to compare"))
    row = did.row(0, named=True)
    parts = [("Community<br>schools", row.get("community_change_pp"), COMMUNITY_COLORS["community"]),
             ("Comparison<br>schools", row.get("comparison_change_pp"), COMMUNITY_COLORS["comparison"]),
             ("Difference", row.get("did_pp"), CATEGORY_PALETTE[5])]
    fig.add_trace(go.Bar(
        x=[p[0] for p in parts], y=[p[1] for p in parts], marker_color=[p[2] for p in parts],
        text=[format_value(p[1], "pp") if p[1] is not None else "not enough data" for p in parts], textposition="outside",
        cliponaxis=False, customdata=[format_value(p[1], "pp") for p in parts], hovertemplate="%{x}: %{customdata}<extra></extra>",
        showlegend=False,
    ))
    fig.update_layout(title=title, margin=dict(t=80))
    fig.update_yaxes(title="Change (percentage points)", zeroline=True, zerolinecolor=TEXT_COLOR)
    fig.update_xaxes(title=None, tickangle=0)
    end = row.get("end_year")
    _note(fig, [f"From the year before each school's first grant{f' to {end}' if end else ''}.",
                "Below zero: the rate fell (lower is better)."])
    return apply_theme(fig)


def _relative_label(e: int) -> str:
    return "0 (first grant)" if e == 0 else f"{e:+d}"


def event_study(df: pl.DataFrame, *, title: str) -> go.Figure:
    """The matched difference-in-differences by year relative to the first grant, with
    95% intervals: pre-grant points (< 0) show whether the two groups moved together
    before, the reference year sits at 0 with no interval, pandemic years are drawn
    hollow and named. `df` is metrics.impact.event_study's frame (relative_year,
    effect_pp, ci_low_pp, ci_high_pp, years, pandemic_year, is_reference, suppressed);
    a suppressed or missing year is a gap, named in a note."""
    fig = go.Figure()
    shown = df.filter(pl.col("effect_pp").is_not_null()) if not df.is_empty() else df
    if shown.is_empty():
        return apply_theme(_empty(fig.update_layout(title=title), "Not enough matched schools to estimate"))
    for kind, rows in (("effect", shown.filter(~pl.col("is_reference") & ~pl.col("pandemic_year"))),
                       ("pandemic", shown.filter(~pl.col("is_reference") & pl.col("pandemic_year"))),
                       ("reference", shown.filter(pl.col("is_reference")))):
        if rows.is_empty():
            continue
        eff, lo, hi = rows["effect_pp"].to_list(), rows["ci_low_pp"].to_list(), rows["ci_high_pp"].to_list()
        text = [format_value(v, "pp") if kind == "reference" or a is None else
                f"{format_value(v, 'pp')} (95% interval {format_interval(a, b, 'pp')})"
                for v, a, b in zip(eff, lo, hi)]
        fig.add_trace(go.Scatter(
            x=[_relative_label(e) for e in rows["relative_year"].to_list()], y=eff, mode="markers",
            name={"effect": "Community minus matched schools", "pandemic": "Pandemic year",
                  "reference": "Baseline year (0 by construction)"}[kind],
            marker=dict(size=MARKER_PX + 3, color=SERIES_COLOR if kind != "reference" else TEXT_COLOR,
                        symbol={"effect": "circle", "pandemic": "circle-open", "reference": "diamond"}[kind],
                        line=dict(width=2, color=SERIES_COLOR if kind != "reference" else TEXT_COLOR)),
            error_y=None if kind == "reference" else dict(
                type="data", symmetric=False, array=[(b - v) if b is not None else None for v, b in zip(eff, hi)],
                arrayminus=[(v - a) if a is not None else None for v, a in zip(eff, lo)],
                thickness=LINE_WIDTH_PX, width=8, color=SERIES_COLOR),
            customdata=[for_plotly(y) for y in rows["years"].to_list()], text=text,
            hovertemplate="%{x} (%{customdata}): %{text}<extra></extra>",
        ))
    order = [_relative_label(e) for e in sorted(df["relative_year"].to_list())]
    # Every relative year on the axis, a gap where nothing can be shown.
    fig.add_trace(go.Scatter(x=order, y=[None] * len(order), mode="markers", showlegend=False, hoverinfo="skip"))
    fig.update_xaxes(title="Years from the first grant", categoryorder="array", categoryarray=order, type="category")
    fig.update_yaxes(title="Difference (percentage points)", zeroline=True, zerolinecolor=TEXT_COLOR,
                     zerolinewidth=2)
    start = _relative_label(0)
    if start in order and order.index(start) > 0:
        fig.add_vline(x=order.index(start) - 0.5, line=dict(color=GRID_COLOR, width=2, dash="dash"))
    fig.update_layout(title=title, legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left"),
                      margin=dict(t=110))
    gaps = [_relative_label(e) for e, v in zip(df["relative_year"].to_list(), df["effect_pp"].to_list()) if v is None]
    # The intervals' kind is in the caption (the registry's definition); the figure keeps what reads off it.
    _note(fig, ["Below zero: fell more in community schools."]
          + ([f"Not shown (fewer than 11 students or no data): {', '.join(gaps)}."] if gaps else []))
    return apply_theme(fig)


def estimates_by_group(df: pl.DataFrame, *, category_col: str, title: str) -> go.Figure:
    """One matched estimate per group (an SPA, a cohort) with its 95% interval, a
    suppressed or unestimable group named in a note. `df`: category_col, effect_pp,
    ci_low_pp, ci_high_pp, treated_schools_n."""
    fig = go.Figure()
    shown = df.filter(pl.col("effect_pp").is_not_null()) if df.height else df
    if shown.is_empty():
        return apply_theme(_empty(fig.update_layout(title=title), "Not enough matched schools to estimate"))
    labels = [chart_label(category_col, v) for v in shown[category_col].to_list()]
    eff, lo, hi = shown["effect_pp"].to_list(), shown["ci_low_pp"].to_list(), shown["ci_high_pp"].to_list()
    fig.add_trace(go.Scatter(
        x=eff, y=labels, mode="markers", showlegend=False, marker=dict(size=MARKER_PX + 4, color=SERIES_COLOR),
        error_x=dict(type="data", symmetric=False, array=[b - v for v, b in zip(eff, hi)],
                     arrayminus=[v - a for v, a in zip(eff, lo)], thickness=LINE_WIDTH_PX, width=8,
                     color=SERIES_COLOR),
        text=[f"{format_value(v, 'pp')} (95% interval {format_interval(a, b, 'pp')}), "
              f"{format_value(n, 'count')} community schools" for v, a, b, n in
              zip(eff, lo, hi, shown["treated_schools_n"].to_list())],
        hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_xaxes(title="Community minus matched schools (percentage points)", zeroline=True,
                     zerolinecolor=TEXT_COLOR, zerolinewidth=2)
    fig.update_yaxes(title=None, autorange="reversed", type="category")
    fig.update_layout(title=title)
    missing = [chart_label(category_col, v) for v, e in zip(df[category_col].to_list(), df["effect_pp"].to_list())
               if e is None]
    _note(fig, ["Bars: 95% intervals, clustered by school."]
          + ([f"No estimate (too few schools or students): {_summarise(missing)}."] if missing else []))
    return apply_theme(fig)


def balance_chart(df: pl.DataFrame, *, title: str) -> go.Figure:
    """Standardised mean differences of each matching variable before matching (every
    eligible comparison school) and after (the matched ones), with the usual 0.1 marks
    of balance. `df` is metrics.impact.balance's frame (label, smd_before, smd_after)."""
    fig = go.Figure()
    rows = df.filter(pl.col("smd_before").is_not_null() | pl.col("smd_after").is_not_null()) if df.height else df
    if rows.is_empty():
        return apply_theme(_empty(fig.update_layout(title=title), "No matched schools to compare"))
    labels = [for_plotly(v) for v in rows["label"].to_list()]
    for col, name, symbol, color in (("smd_before", "Before matching", "circle-open", NO_COLOR),
                                     ("smd_after", "After matching", "circle", SERIES_COLOR)):
        vals = rows[col].to_list()
        fig.add_trace(go.Scatter(
            x=vals, y=labels, mode="markers", name=name,
            marker=dict(size=MARKER_PX + 5, symbol=symbol, color=color, line=dict(width=3, color=color)),
            text=[format_value(v, "smd") for v in vals],
            hovertemplate="%{y}: %{text}<extra>" + name + "</extra>",
        ))
    for x in (-0.1, 0.1):
        fig.add_vline(x=x, line=dict(color=GRID_COLOR, width=2, dash="dash"))
    fig.update_xaxes(title="Standardised mean difference (community minus comparison)", zeroline=True,
                     zerolinecolor=TEXT_COLOR)
    fig.update_yaxes(title=None, autorange="reversed")
    fig.update_layout(title=title, legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left"),
                      margin=dict(t=110))
    _note(fig, ["Dashed lines: |SMD| 0.1, the usual mark of balance."])
    return apply_theme(fig)


# --------------------------------------------------------------------------- bars

def value_text(v: float | None, unit: str) -> str:
    """A value as a chart label reads it (formats.format_value in `unit`; dollars compact:
    $1.2M, so a bar label stays short)."""
    return format_value(v, unit, compact=unit == "usd")


def bar_by_group(
    df: pl.DataFrame,
    *,
    category_col: str,
    value_col: str,
    title: str,
    kind: str = "rate",
    color_col: str | None = None,
    x_title: str | None = None,
    sort: bool = True,
    top_n: int | None = None,
) -> go.Figure:
    """Horizontal bars, one per category, each labelled with its value.

    kind: 'rate' (0-1, shown as %), 'usd' or 'count'. With `color_col` holding
    Dashboard colour names, each bar gets that hue AND the name in its label and
    legend. Rows flagged `suppressed` (or with a null value) are not drawn;
    they are named in a note."""
    fig = go.Figure()
    if df.is_empty() or value_col not in df.columns:
        return apply_theme(_empty(fig, "No data for these filters"))
    sup_mask = (pl.col("suppressed").fill_null(False) if "suppressed" in df.columns else pl.lit(False)) \
        | pl.col(value_col).is_null()
    shown = df.filter(~sup_mask)
    hidden = df.filter(sup_mask)
    if sort and not shown.is_empty():
        shown = shown.sort(value_col)
    left_out = 0
    if top_n is not None and shown.height > top_n:
        left_out = shown.height - top_n
        shown = shown.sort(value_col).tail(top_n)
    labels = [chart_label(category_col, v) for v in shown[category_col].to_list()]
    values = shown[value_col].to_list()
    hover_text = [value_text(v, kind) for v in values]  # the one formatter, not Plotly's rounding
    if color_col and color_col in shown.columns:
        colours = shown[color_col].to_list()
        for name in DASHBOARD_ORDER + [None]:
            idx = [i for i, c in enumerate(colours) if (c or None) == name]
            if not idx:
                continue
            legend = name or NO_COLOR_LABEL
            fig.add_trace(go.Bar(
                y=[labels[i] for i in idx], x=[values[i] for i in idx], orientation="h", name=legend,
                marker=dict(color=dashboard_color_hex(name), line=dict(color=TEXT_COLOR, width=1)),
                text=[f"{value_text(values[i], kind)} · {legend if name else 'no colour'}" for i in idx],
                textposition="outside", cliponaxis=False, customdata=[hover_text[i] for i in idx],
                hovertemplate=f"%{{y}}: %{{customdata}} · {legend}<extra></extra>",
            ))
    else:
        fig.add_trace(go.Bar(
            y=labels, x=values, orientation="h", marker_color=SERIES_COLOR, showlegend=False,
            text=hover_text, textposition="outside", cliponaxis=False, customdata=hover_text,
            hovertemplate="%{y}: %{customdata}<extra></extra>",
        ))
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels, title=None)
    fig.update_xaxes(title=x_title, showgrid=True, gridcolor=GRID_COLOR, rangemode="tozero",
                     tickformat=".0%" if kind == "rate" else None,
                     tickprefix="$" if kind == "usd" else None)
    if values:
        fig.update_xaxes(range=[0, max(values) * 1.3])
    fig.update_layout(title=title, height=max(300, 150 + 44 * len(labels)), bargap=0.3,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left"))
    notes = []
    if left_out:
        notes.append(f"The largest {top_n} shown; {left_out} more in the table.")
    if not hidden.is_empty():
        # Say which privacy rule hid each group where the frame knows (hidden_reason).
        by_subtraction = hidden["hidden_reason"].fill_null("") == "complementary" \
            if "hidden_reason" in hidden.columns else pl.Series([False] * hidden.height)
        small = [chart_label(category_col, v) for v in hidden.filter(~by_subtraction)[category_col].to_list()]
        other = [chart_label(category_col, v) for v in hidden.filter(by_subtraction)[category_col].to_list()]
        if small:
            notes.append(f"Not shown, {SUPPRESSED_NOTE}: {_summarise(small)}.")
        if other:
            notes.append(f"Not shown, hidden so a suppressed group cannot be worked out by subtraction: "
                         f"{_summarise(other)}.")
    _note(fig, notes)
    fig.update_layout(margin=dict(t=90))
    return apply_theme(fig)


def equity_bars(df: pl.DataFrame, *, title: str, highlight_n: int = 3, reference_group: str = "TA") -> go.Figure:
    """Student-group rates with their Dashboard colours, the largest gaps marked.

    `df`: student_group, rate, suppressed, and optionally color. The gap is each
    group's rate minus the reference group's (All students); the `highlight_n`
    largest positive gaps get a thick outline and a "+x pp gap" label."""
    base = bar_by_group(df.filter(pl.col("student_group") != reference_group) if "student_group" in df.columns else df,
                        category_col="student_group", value_col="rate", title=title,
                        color_col="color" if "color" in df.columns else None)
    ref = df.filter((pl.col("student_group") == reference_group) & pl.col("rate").is_not_null()) \
        if "student_group" in df.columns else df.clear()
    if ref.is_empty():
        return base
    ref_rate = ref["rate"][0]
    base.add_vline(x=ref_rate, line=dict(color=TEXT_COLOR, dash="dash", width=2), layer="below")
    # A label beside a bar shorter than All students would sit on the dashed line: the
    # labels are text set at each bar's end or just past the line, whichever is further.
    bars = [t for t in base.data if t.type == "bar" and t.text is not None]
    ys = [y for t in bars for y in t.y]
    xs = [x for t in bars for x in t.x]
    texts = [x for t in bars for x in t.text]
    for t in bars:
        t.text = None
    if xs:
        top = max(max(xs), ref_rate) * 1.45  # room for "41.9% · Orange" past the longest bar
        base.add_trace(go.Scatter(y=ys, x=[max(v, ref_rate) + top * 0.01 for v in xs], text=texts, mode="text",
                                  textposition="middle right", cliponaxis=False, hoverinfo="skip", showlegend=False,
                                  name=VALUE_LABELS, textfont=dict(size=BASE_FONT_PX)))
        base.update_xaxes(range=[0, top])
    # The line is named in the legend (a label above it would collide with the legend).
    base.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"All students {format_value(ref_rate, 'rate')}",
                              line=dict(color=TEXT_COLOR, dash="dash", width=2), hoverinfo="skip"))
    shown = df.filter((pl.col("student_group") != reference_group) & pl.col("rate").is_not_null()
                      & ~pl.col("suppressed").fill_null(False))
    gaps = shown.with_columns((pl.col("rate") - ref_rate).alias("gap")).filter(pl.col("gap") > 0) \
        .sort("gap", descending=True).head(highlight_n)
    for r in gaps.iter_rows(named=True):
        base.add_annotation(x=0, y=group_label("student_group", r["student_group"]), xref="x", yref="y",
                            xanchor="left", showarrow=False, text=f"<b>{format_value(r['gap'] * 100, 'pp')} gap</b>",
                            font=dict(size=BASE_FONT_PX - 2, color="white"), bgcolor="rgba(0,0,0,0.65)")
    return fit_text(base)  # its legend has the line's entry now


# The least a sparkline's y range spans, by unit: a 0.3-point dip in a rate must look
# like 0.3 points, not a collapse. Counts and dollars: a share of the value.
SPARK_MIN_SPAN = {"rate": 0.05, "pct": 5.0, "pp": 5.0}
SPARK_MIN_SHARE = 0.2


def sparkline(df: pl.DataFrame, *, x: str = "year", y: str = "value", kind: str = "rate") -> go.Figure:
    """A small trend for a headline card: no axes, its first and last values written on
    it, and a y range of at least a minimum span (SPARK_MIN_SPAN) so its shape is to
    scale; gaps kept."""
    fig = go.Figure()
    if df.is_empty() or y not in df.columns:
        return apply_theme(_empty(fig, "no trend"))
    xs, ys = df[x].to_list(), df[y].to_list()
    known = [i for i, v in enumerate(ys) if v is not None]
    labelled = {known[0], known[-1]} if known else set()
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers+text", connectgaps=False, showlegend=False,
                             line=dict(width=LINE_WIDTH_PX, color=SERIES_COLOR), marker=dict(size=6),
                             text=[value_text(v, kind) if i in labelled else "" for i, v in enumerate(ys)],
                             textposition=["top right" if i == 0 else "top left" for i in range(len(ys))],
                             textfont=dict(size=13, color=TEXT_COLOR), cliponaxis=False,
                             # the frame's own words when it has them ("not published", "suppressed")
                             customdata=df["text"].to_list() if "text" in df.columns
                             else [value_text(v, kind) for v in ys],
                             hovertemplate="%{x}: %{customdata}<extra></extra>"))
    fig.update_layout(height=110, margin=dict(l=4, r=4, t=8, b=24))
    fig.update_xaxes(type="category", showline=False, ticks="", tickfont=dict(size=12),
                     tickvals=[xs[0], xs[-1]] if xs else None)
    vals = [ys[i] for i in known]
    if vals:
        lo, hi = min(vals), max(vals)
        span = max(hi - lo, SPARK_MIN_SPAN.get(kind, SPARK_MIN_SHARE * max(abs(hi), abs(lo), 1)))
        mid = (hi + lo) / 2
        # Padded so the value labels above the line stay inside the card.
        fig.update_yaxes(range=[mid - span * 0.6, mid + span * 0.9])
    fig.update_yaxes(visible=False)
    apply_theme(fig)
    fig.update_xaxes(tickfont=dict(size=13))
    return fig


# --------------------------------------------------------------------------- funding, activities

def stacked_bars(df: pl.DataFrame, *, category_col: str, stack_col: str, value_col: str, title: str,
                 kind: str = "usd", x_title: str | None = None) -> go.Figure:
    """Horizontal bars, one per category (largest at the top), each split into `stack_col`'s
    parts in their fixed category colours (named in the legend), its total written at its end.
    Every category is named on the axis whatever its size (a treemap shrank a small box's words
    to nothing). Null values are not drawn."""
    fig = go.Figure()
    if df.is_empty() or value_col not in df.columns or not (df[value_col].sum() or 0):
        return apply_theme(_empty(fig, "No data for these filters"))
    shown = df.filter(pl.col(value_col).is_not_null())
    totals = shown.group_by(category_col).agg(pl.col(value_col).sum().alias("_total")).sort(
        ["_total", category_col], descending=[False, True])
    cats = totals[category_col].to_list()
    labels = [chart_label(category_col, c) for c in cats]
    sums = {(c, part): v for c, part, v in
            shown.group_by([category_col, stack_col]).agg(pl.col(value_col).sum()).iter_rows()}
    for part in sorted({part for _, part in sums}, key=lambda v: (v is None, str(v))):
        name = chart_label(stack_col, part) if part is not None else "Not recorded"
        xs = [sums.get((c, part)) for c in cats]
        fig.add_trace(go.Bar(
            y=labels, x=xs, orientation="h", name=name,
            marker=dict(color=category_color(stack_col, part), line=dict(color="#ffffff", width=1)),
            customdata=[value_text(x, kind) if x is not None else "none" for x in xs],
            hovertemplate=f"%{{y}} · {name}: %{{customdata}}<extra></extra>",
        ))
    ends = totals["_total"].to_list()
    fig.add_trace(go.Scatter(
        y=labels, x=ends, mode="text", text=[value_text(v, kind) for v in ends], textposition="middle right",
        showlegend=False, hoverinfo="skip", cliponaxis=False, name="Total"))
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels, title=None)
    fig.update_xaxes(title=x_title, showgrid=True, gridcolor=GRID_COLOR, rangemode="tozero",
                     range=[0, max(ends) * 1.3], tickprefix="$" if kind == "usd" else None,
                     tickformat=".0%" if kind == "rate" else None)
    fig.update_layout(title=title, barmode="stack", bargap=0.3, height=max(300, 170 + 44 * len(labels)),
                      margin=dict(t=110), legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left"))
    return apply_theme(fig)


def _month_label(month: str) -> str:
    """'2024-09' -> 'Sep 2024'."""
    import calendar

    try:
        y, m = month.split("-")
        return f"{calendar.month_abbr[int(m)]} {y}"
    except (ValueError, IndexError):
        return month


def activities_by_month(df: pl.DataFrame, *, title: str, value_col: str = "activities_n",
                        stack_col: str = "activity_type") -> go.Figure:
    """Stacked monthly bars, one colour per activity type (colour-blind-safe, named in the legend)."""
    fig = go.Figure()
    if df.is_empty() or value_col not in df.columns:
        return apply_theme(_empty(fig, "No activities for these filters"))
    months = sorted({str(m)[:7] for m in df["month"].to_list() if m is not None})
    keyed = df.with_columns(pl.col("month").cast(pl.Utf8).str.slice(0, 7).alias("_m"))
    stacks = [None] if stack_col not in df.columns else sorted(keyed[stack_col].unique().to_list(), key=str)
    for s in stacks:
        part = keyed if s is None else keyed.filter(pl.col(stack_col) == s)
        by_m = dict(part.group_by("_m").agg(pl.col(value_col).sum()).iter_rows())
        name = "Activities" if s is None else group_label(stack_col, s)
        fig.add_trace(go.Bar(x=months, y=[by_m.get(m, 0) for m in months], name=name,
                             marker_color=SERIES_COLOR if s is None else category_color(stack_col, s),
                             hovertemplate=f"<b>{name}</b><br>%{{x}}: %{{y:,}}<extra></extra>"))
    fig.update_layout(title=title, barmode="stack", margin=dict(t=110),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left"))
    fig.update_xaxes(type="category", title=None, tickvals=months, ticktext=[_month_label(m) for m in months])
    fig.update_yaxes(title="Number of activities" if value_col == "activities_n" else value_col.replace("_n", ""))
    return apply_theme(fig)


# --------------------------------------------------------------------------- the demo, on the live chart

LIVE_DEMO_MARK = "DEMO DATA · fictional schools"
LIVE_DEMO_PX = 11
LIVE_DEMO_SLIDE_PX = 24  # projector.MIN_TEXT_PX
LIVE_DEMO_NAME = "csi_demo_mark"  # the annotation's name: exports swap it for their own, larger mark


def mark_demo(fig: go.Figure, *, size_px: int | None = None) -> go.Figure:
    """`fig` itself with a small DEMO DATA mark in a strip of its own added under everything
    else (the title, legend and notes are laid out for the space they had; a mark above the
    plot ran into a wrapped title or a top legend), so a PNG taken with Plotly's own camera
    button (or a screenshot) cannot pass for real results. Changes `fig` in place (a copy of a
    map costs most of a second) and only once. `size_px`: its type size (a phone's narrow
    layout has no room for a slide's)."""
    if not any(getattr(a, "name", None) == LIVE_DEMO_NAME for a in fig.layout.annotations or ()):
        # Small beside a page's chart; on a slide, no smaller than a projector's smallest type.
        template = fig.layout.template
        present = template is not None and (template.layout.font.size or 0) >= PRESENT_BASE_FONT_PX
        size = size_px or (LIVE_DEMO_SLIDE_PX if present else LIVE_DEMO_PX)
        strip = _strip_px(size)
        bottom = fig.layout.margin.b if fig.layout.margin.b is not None else 80  # Plotly's default
        # The x axis's labels and title push the plot up past a small margin (automargin), and
        # the paper's bottom edge with it: the strip goes under what they take, not under the margin.
        margin_b = fig.layout.margin.b
        bottom = max(bottom, _x_axis_band_px(fig))
        # The figure keeps its height (a slide's or a column's box is sized for it): the plot gives up the strip.
        meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
        fig.update_layout(margin_b=bottom + strip, meta={**meta, DEMO_META: {"margin_b": margin_b}})
        fig.add_annotation(text=LIVE_DEMO_MARK, name=LIVE_DEMO_NAME, xref="paper", yref="paper", x=1, y=0,
                           xanchor="right", yanchor="top", yshift=-bottom - 2, showarrow=False,
                           font=dict(size=size, color="#8B0000"),
                           bgcolor="rgba(255,243,205,0.85)", borderpad=2)
    return fig


def _x_axis_band_px(fig: go.Figure) -> int:
    """A generous estimate of the room a cartesian figure's x tick labels and axis title take
    under the plot (0 when it has no visible x axis)."""
    import math

    if not any(getattr(t, "type", "") in ("bar", "scatter", "box", "histogram") for t in fig.data) \
            or fig.layout.xaxis.visible is False:
        return 0
    axis = fig.layout.xaxis
    template = fig.layout.template
    base = (template.layout.font.size if template is not None else None) or BASE_FONT_PX
    font = axis.tickfont.size or base
    labels = [str(t) for t in (axis.ticktext or axis.categoryarray or ())]
    lines = max([lab.count("<br>") + 1 for lab in labels] or [1])
    band = lines * font * 1.3 + (axis.ticklen or 5) + 8
    if axis.tickangle not in (None, 0):
        widest = max([max(len(part) for part in lab.split("<br>")) for lab in labels] or [6]) * font * 0.58
        band = max(band, (widest + font) * abs(math.sin(math.radians(axis.tickangle))) + 16)
    if axis.title is not None and axis.title.text:
        title_px = axis.title.font.size or base
        band += (axis.title.text.count("<br>") + 1) * title_px * 1.6 + (axis.title.standoff or 0) + 12
    return int(band)


def _strip_px(size_px: float) -> int:
    return int(size_px * 1.6) + 6


def without_demo_mark(fig: go.Figure) -> go.Figure:
    """`fig` with the live DEMO DATA mark and its strip taken off (in place)."""
    anns = fig.layout.annotations or ()
    marks = [a for a in anns if getattr(a, "name", None) == LIVE_DEMO_NAME]
    if marks:
        fig.layout.annotations = [a for a in anns if getattr(a, "name", None) != LIVE_DEMO_NAME]
        meta = dict(fig.layout.meta) if isinstance(fig.layout.meta, dict) else {}
        if DEMO_META in meta:
            fig.layout.margin.b = meta.pop(DEMO_META)["margin_b"]  # None again when it had none
            fig.layout.meta = meta or None
        else:  # meta replaced since (a map's view bounds): the strip is all that is known
            strip = _strip_px(marks[0].font.size or LIVE_DEMO_PX)
            fig.update_layout(margin_b=max((fig.layout.margin.b or 0) - strip, 0))
    return fig
