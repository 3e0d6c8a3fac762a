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

from csi_metrics.vocabulary import filters as filters_mod
from csi_metrics.vocabulary.errors import InputError
from csi_metrics.vocabulary.filters import Filters

FORMAT_VERSION = 1
LINK_PARAM = "deck"
# A link is pasted into mail and chat; past a few kilobytes it gets cut.
MAX_LINK_CHARS = 6000
MAX_VIEWS = 60

PAGES = ("overview", "map", "trends", "equity", "funding", "activities", "schools", "about")

# chart id -> (page it belongs to, what it shows). csi_metrics.slides builds each one.
CHARTS: dict[str, tuple[str, str]] = {
    "chronic_absenteeism_trend": ("trends", "Chronic absenteeism over time: community vs comparison schools, county line"),
    "suspension_trend": ("trends", "Suspension over time: community vs comparison schools, county line"),
    "chronic_absenteeism_did": ("trends", "Chronic absenteeism: difference-in-differences"),
    "suspension_did": ("trends", "Suspension: difference-in-differences"),
    "chronic_absenteeism_map": ("map", "Chronic absenteeism by SPA: the map, community schools as points"),
    "suspension_map": ("map", "Suspension by SPA: the map, community schools as points"),
    "chronic_absenteeism_by_spa": ("map", "Chronic absenteeism by SPA"),
    "suspension_by_spa": ("map", "Suspension by SPA"),
    "chronic_absenteeism_equity": ("equity", "Chronic absenteeism by student group"),
    "suspension_equity": ("equity", "Suspension by student group"),
    "funding_by_spa": ("funding", "CCSPP awards by SPA"),
    "funding_treemap": ("funding", "CCSPP awards by SPA and grant type"),
    "activities_by_month": ("activities", "R-TAC activities by month and type"),
}

_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class View:
    """One slide: a chart from a page, under filters given as URL-style strings."""

    page: str
    chart: str
    filters: tuple[tuple[str, str], ...] = ()
    title: str | None = None

    @property
    def filter_dict(self) -> dict[str, str]:
        return dict(self.filters)

    def to_filters(self) -> Filters:
        """The metric library's Filters for this view (already validated at load)."""
        return parse_filters(self.filter_dict, where="filters")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"page": self.page, "chart": self.chart}
        if self.filters:
            out["filters"] = self.filter_dict
        if self.title:
            out["title"] = self.title
        return out


@dataclass(frozen=True)
class Deck:
    title: str
    views: tuple[View, ...]

    def __len__(self) -> int:
        return len(self.views)

    def as_json(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "title": self.title, "views": [v.as_json() for v in self.views]}


def make_view(page: str, chart: str, filters: Mapping[str, object] | None = None, title: str | None = None) -> View:
    """A validated View from plain values (filters as they would appear in a URL)."""
    return _view_from_json({"page": page, "chart": chart, "filters": dict(filters or {}), "title": title},
                           source="view", where="view")


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
    unknown = set(obj) - {"page", "chart", "filters", "title"}
    if unknown:
        raise InputError(source, f"unknown field(s) {', '.join(sorted(unknown))}", column=where)
    page = obj.get("page")
    if page not in PAGES:
        raise InputError(source, f"expected a page, one of {', '.join(PAGES)}; got {page!r}", column=f"{where}.page")
    chart = obj.get("chart")
    if chart not in CHARTS:
        raise InputError(source, f"unknown chart {chart!r}; expected one of {', '.join(CHARTS)}",
                         column=f"{where}.chart")
    if CHARTS[chart][0] != page:
        raise InputError(source, f"chart {chart!r} is on page {CHARTS[chart][0]!r}, not {page!r}",
                         column=f"{where}.chart")
    raw_filters = obj.get("filters") or {}
    if not isinstance(raw_filters, dict):
        raise InputError(source, "filters must be an object of name: value", column=f"{where}.filters")
    parse_filters(raw_filters, where=f"{where}.filters", source=source)
    clean = tuple(sorted((k, str(v).strip()) for k, v in raw_filters.items() if v is not None and str(v).strip()))
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise InputError(source, "title must be text", column=f"{where}.title")
    return View(page=page, chart=chart, filters=clean, title=(title or "").strip() or None)


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
    time, the comparison, where, for whom, the money, the work."""
    single = {"year": year} if year else {}
    return Deck(
        title="Community Schools Initiative: the standard views",
        views=(
            make_view("trends", "chronic_absenteeism_trend"),
            make_view("trends", "chronic_absenteeism_did"),
            make_view("map", "chronic_absenteeism_map", single),
            make_view("trends", "suspension_trend"),
            make_view("equity", "chronic_absenteeism_equity", {**single, "community": "community"}),
            make_view("funding", "funding_by_spa"),
            make_view("funding", "funding_treemap"),
            make_view("activities", "activities_by_month"),
        ),
    )
