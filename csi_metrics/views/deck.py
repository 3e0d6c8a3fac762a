"""A presenter's deck: an ordered list of views, each one chart from one page
with its filters and an optional title. A deck travels as a small JSON file or
inside a link (`?deck=<base64url JSON>`), so it can be prepared in advance and
opened offline. Every malformed deck raises InputError naming the bad field."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from csi_metrics.views import catalogue
from csi_metrics.vocabulary import filters as filters_mod, registry
from csi_metrics.vocabulary.errors import InputError
from csi_metrics.vocabulary.filters import Filters

FORMAT_VERSION = 1
LINK_PARAM = "deck"
# A link is pasted into mail and chat; past a few kilobytes it gets cut.
MAX_LINK_CHARS = 6000
MAX_VIEWS = 60

PAGES = ("overview", "map", "trends", "equity", "funding", "activities", "schools", "about")

# The deck's chart names (kept for every link and file made so far): each is a
# catalogue chart with its choices. A view may also name a catalogue chart itself
# and give its choices in "options".
CHARTS: dict[str, tuple[str, str, dict[str, object]]] = {
    f"{m}_{kind}": (chart, f"{registry.get(m).name}: {what}", {**extra, **({"metric": m} if chart != "map" else
                                                                            {"measure": m})})
    for m in registry.OUTCOMES
    for kind, chart, what, extra in (
        ("trend", "trend", "over time, community vs comparison schools, county line", {"by": "community"}),
        ("did", "did", "difference-in-differences", {}),
        ("impact", "impact_event", "community vs matched schools, by year from the first grant", {}),
        ("map", "map", "the map by SPA, community schools as points", {}),
        ("by_spa", "by_spa", "by SPA", {}),
        ("equity", "equity", "by student group", {}),
    )
}
CHARTS.update({
    "funding_by_spa": ("awards_by", "CCSPP awards by SPA", {"awards_by": "spa"}),
    "funding_by_type": ("awards_by_type", "CCSPP awards by SPA and grant type", {}),
    "activities_by_month": ("activities_by_month", "R-TAC activities by month and type", {}),
})


# Names a saved deck or link may still carry for a chart drawn another way since (the awards
# by SPA and grant type were a treemap): read as the chart that replaced them (_view_from_json).
RENAMED = {"funding_treemap": "funding_by_type", "awards_treemap": "awards_by_type"}


def chart_of(name: str) -> tuple[str, dict[str, object]]:
    """(catalogue chart id, its choices) for a deck chart name or a catalogue id."""
    if name in CHARTS:
        chart, _, opts = CHARTS[name]
        return chart, dict(opts)
    return name, {}


def chart_label(name: str) -> str:
    return CHARTS[name][1] if name in CHARTS else catalogue.CHARTS[name].label


def _known(name: str) -> bool:
    return name in CHARTS or name in catalogue.CHARTS


_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class View:
    """One slide: a chart from a page, under filters given as URL-style strings."""

    page: str
    chart: str
    filters: tuple[tuple[str, str], ...] = ()
    title: str | None = None
    options: tuple[tuple[str, object], ...] = ()   # the chart's own choices (catalogue.Option)

    @property
    def filter_dict(self) -> dict[str, str]:
        return dict(self.filters)

    def catalogue_chart(self) -> tuple[str, dict[str, object]]:
        """(catalogue chart id, every choice given for it)."""
        chart, opts = chart_of(self.chart)
        return chart, {**opts, **dict(self.options)}

    def to_filters(self) -> Filters:
        """The metric library's Filters for this view (already validated at load)."""
        return parse_filters(self.filter_dict, where="filters")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"page": self.page, "chart": self.chart}
        if self.filters:
            out["filters"] = self.filter_dict
        if self.title:
            out["title"] = self.title
        if self.options:
            out["options"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.options}
        return out


@dataclass(frozen=True)
class Deck:
    title: str
    views: tuple[View, ...]

    def __len__(self) -> int:
        return len(self.views)

    def as_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "title": self.title, "views": [v.as_json() for v in self.views]}


def make_view(page: str, chart: str, filters: Mapping[str, object] | None = None, title: str | None = None,
              options: Mapping[str, object] | None = None) -> View:
    """A validated View from plain values (filters as they would appear in a URL)."""
    return _view_from_json({"page": page, "chart": chart, "filters": dict(filters or {}), "title": title,
                            "options": dict(options or {})}, source="view", where="view")


def parse_filters(raw: Mapping[str, object], *, where: str = "filters", source: str = "deck") -> Filters:
    """URL-style filter values -> Filters (vocabulary.filters.parse, the one parser);
    InputError naming `where.key` at the first value refused."""
    parsed, problems = filters_mod.parse(raw)
    if problems:
        p = problems[0]
        got = "" if p.why.startswith("unknown filter") or p.why.startswith("codes are text") else f", got {p.raw!r}"
        raise InputError(source, p.why + got, column=f"{where}.{p.key}")
    return parsed


def _view_from_json(obj: object, *, source: str, where: str) -> View:
    if not isinstance(obj, dict):
        raise InputError(source, "each view must be an object with page and chart", column=where)
    unknown = set(obj) - {"page", "chart", "filters", "title", "options"}
    if unknown:
        raise InputError(source, f"unknown field(s) {', '.join(sorted(unknown))}", column=where)
    page = obj.get("page")
    if page not in PAGES:
        raise InputError(source, f"expected a page, one of {', '.join(PAGES)}; got {page!r}", column=f"{where}.page")
    chart = obj.get("chart")
    if isinstance(chart, str):
        chart = RENAMED.get(chart, chart)  # every view is read here, so an old name is mended once
    if not isinstance(chart, str) or not _known(chart):
        raise InputError(source, f"unknown chart {chart!r}; expected one of {', '.join([*CHARTS, *catalogue.CHARTS])}",
                         column=f"{where}.chart")
    chart_id, base_options = chart_of(chart)
    on_page = catalogue.CHARTS[chart_id].page
    if on_page != page:
        raise InputError(source, f"chart {chart!r} is on page {on_page!r}, not {page!r}", column=f"{where}.chart")
    raw_options = obj.get("options") or {}
    if not isinstance(raw_options, dict):
        raise InputError(source, "options must be an object of name: value", column=f"{where}.options")
    try:
        catalogue.choices(chart_id, {**base_options, **raw_options})
    except ValueError as exc:
        raise InputError(source, str(exc), column=f"{where}.options") from None
    options = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in raw_options.items()))
    raw_filters = obj.get("filters") or {}
    if not isinstance(raw_filters, dict):
        raise InputError(source, "filters must be an object of name: value", column=f"{where}.filters")
    parse_filters(raw_filters, where=f"{where}.filters", source=source)
    clean = tuple(sorted((k, str(v).strip()) for k, v in raw_filters.items() if v is not None and str(v).strip()))
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise InputError(source, "title must be text", column=f"{where}.title")
    return View(page=page, chart=chart, filters=clean, title=(title or "").strip() or None, options=options)


def from_json_obj(obj: object, *, source: str = "deck") -> Deck:
    """A Deck from parsed JSON; InputError naming the field on anything malformed."""
    if not isinstance(obj, dict):
        raise InputError(source, "a deck must be a JSON object with 'title' and 'views'")
    unknown = set(obj) - {"version", "title", "views"}
    if unknown:
        raise InputError(source, f"unknown field(s) {', '.join(sorted(unknown))}", column="deck")
    version = obj.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise InputError(source, f"unsupported deck version {version!r}; this dashboard reads version "
                         f"{FORMAT_VERSION}", column="version")
    title = obj.get("title", "Deck")
    if not isinstance(title, str):
        raise InputError(source, "title must be text", column="title")
    views = obj.get("views")
    if not isinstance(views, list) or not views:
        raise InputError(source, "views must be a non-empty list", column="views")
    if len(views) > MAX_VIEWS:
        raise InputError(source, f"a deck holds at most {MAX_VIEWS} views, got {len(views)}", column="views")
    return Deck(title=title.strip() or "Deck",
                views=tuple(_view_from_json(v, source=source, where=f"views[{i}]") for i, v in enumerate(views)))


def to_json(deck: Deck) -> str:
    """The deck file's text: small, readable, stable key order."""
    return json.dumps(deck.as_json(), indent=2, ensure_ascii=False) + "\n"


def from_json(text: str | bytes, *, source: str = "deck file") -> Deck:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(source, f"not UTF-8 text ({exc.reason})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"not valid JSON: {exc.msg} (character {exc.colno})", line=exc.lineno) from None
    return from_json_obj(obj, source=source)


def to_link_param(deck: Deck) -> str:
    """The deck as a URL-safe value for `?deck=`: compact JSON, base64url, no padding."""
    compact = json.dumps(deck.as_json(), separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(compact.encode()).decode().rstrip("=")


def from_link_param(value: str, *, source: str = "deck link") -> Deck:
    value = (value or "").strip()
    if not value:
        raise InputError(source, "empty deck parameter", column=LINK_PARAM)
    if len(value) > MAX_LINK_CHARS:
        raise InputError(source, f"deck parameter is {len(value)} characters; at most {MAX_LINK_CHARS}",
                         column=LINK_PARAM)
    if not _B64URL_RE.match(value):
        raise InputError(source, "not base64url text (was the link cut short or retyped?)", column=LINK_PARAM)
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise InputError(source, "not base64url text (was the link cut short?)", column=LINK_PARAM) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(source, "does not decode to UTF-8 text (was the link cut short?)", column=LINK_PARAM) from None
    return from_json(text, source=source)


def default_deck(year: str | None = None) -> Deck:
    """The standard views, in the order a convening talk tends to go: outcomes over
    time, the comparison (with every other school, then with matched schools), where,
    for whom, the money, the work."""
    single = {"year": year} if year else {}
    return Deck(
        title="Community Schools Initiative: the standard views",
        views=(
            make_view("trends", "chronic_absenteeism_trend"),
            make_view("trends", "chronic_absenteeism_did"),
            make_view("trends", "chronic_absenteeism_impact"),
            make_view("map", "chronic_absenteeism_map", single),
            make_view("trends", "suspension_trend"),
            make_view("equity", "chronic_absenteeism_equity", {**single, "community": "community"}),
            make_view("funding", "funding_by_spa"),
            make_view("funding", "funding_by_type"),
            make_view("activities", "activities_by_month"),
        ),
    )


# --------------------------------------------------------------------------- building a deck
# A deck is built in the dashboard: each chart adds its view, and the Presenter page
# reorders, retitles, re-filters and removes slides. Every edit is a new Deck (a frozen
# value), validated as a loaded deck is, so a link or file made from it reads back.

BUILT_TITLE = "My deck"


def view_of(chart_id: str, filters: Filters, choices: Mapping[str, object] | None = None,
            title: str | None = None) -> View:
    """The deck view of a catalogue chart as a page drew it: its page, its filters as a
    link writes them, and the choices that differ from the chart's defaults."""
    defaults = catalogue.choices(chart_id)
    given = catalogue.choices(chart_id, choices or {})
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in given.items() if v != defaults.get(k)}
    return make_view(catalogue.CHARTS[chart_id].page, chart_id, filters.to_params(Filters()), title, options)


def _with_views(d: Deck, views: list[View]) -> Deck:
    if not views:
        raise InputError("deck", "a deck needs at least one slide", column="views")
    if len(views) > MAX_VIEWS:
        raise InputError("deck", f"a deck holds at most {MAX_VIEWS} views", column="views")
    return Deck(d.title, tuple(views))


def added(d: Deck | None, view: View) -> Deck:
    """`d` with `view` as its last slide; a new deck of that one slide when there is none."""
    return Deck(BUILT_TITLE, (view,)) if d is None else _with_views(d, [*d.views, view])


def moved(d: Deck, index: int, by: int) -> Deck:
    """Slide `index` (0-based) moved `by` places, kept inside the deck."""
    views = list(d.views)
    to = min(max(index + by, 0), len(views) - 1)
    views.insert(to, views.pop(index))
    return _with_views(d, views)


def removed(d: Deck, index: int) -> Deck:
    return _with_views(d, [v for i, v in enumerate(d.views) if i != index])


def retitled(d: Deck, index: int, title: str | None) -> Deck:
    """Slide `index` with its own title; blank gives it back the chart's."""
    v = d.views[index]
    return _with_views(d, [*d.views[:index], make_view(v.page, v.chart, v.filter_dict, title, dict(v.options)),
                           *d.views[index + 1:]])


def refiltered(d: Deck, index: int, filters: Mapping[str, object]) -> Deck:
    """Slide `index` under other filters (URL-style values); InputError naming the bad one."""
    v = d.views[index]
    new = _view_from_json({"page": v.page, "chart": v.chart, "filters": dict(filters), "title": v.title,
                           "options": {k: list(x) if isinstance(x, tuple) else x for k, x in v.options}},
                          source="slide filters", where=f"slide {index + 1}")
    return _with_views(d, [*d.views[:index], new, *d.views[index + 1:]])


def renamed(d: Deck, title: str) -> Deck:
    return Deck((title or "").strip() or d.title, d.views)
