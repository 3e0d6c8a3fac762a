"""Decks: round trips through a file and a link, and every malformed deck
rejected with a message naming the bad field."""

from __future__ import annotations

import base64
import json

import pytest

from csi_metrics.views import deck
from csi_metrics.vocabulary.errors import InputError
from csi_metrics.vocabulary.filters import Filters


def _two_view_deck() -> deck.Deck:
    return deck.Deck(
        title="Board, March",
        views=(
            deck.make_view("trends", "suspension_trend", {"spa": "6", "community": "community"}, "South SPA"),
            deck.make_view("map", "chronic_absenteeism_by_spa", {"year": "2023-24", "student_group": "SE"}),
        ),
    )


def test_file_round_trip_keeps_order_filters_and_titles():
    d = _two_view_deck()
    back = deck.from_json(deck.to_json(d))
    assert back == d
    assert [v.chart for v in back.views] == ["suspension_trend", "chronic_absenteeism_by_spa"]
    assert back.views[0].title == "South SPA"
    assert back.views[0].to_filters() == Filters(spa=6, community="community")
    assert back.views[1].to_filters() == Filters(year="2023-24", student_group="SE")


def test_link_param_is_url_safe_and_round_trips():
    d = _two_view_deck()
    param = deck.to_link_param(d)
    assert set(param) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert deck.from_link_param(param) == d
    # The link carries the same JSON as the file, compacted.
    decoded = json.loads(base64.urlsafe_b64decode(param + "=" * (-len(param) % 4)))
    assert decoded == json.loads(deck.to_json(d))


def test_bytes_with_bom_are_read():
    d = _two_view_deck()
    assert deck.from_json(("\ufeff" + deck.to_json(d)).encode()) == d


def test_default_deck_is_valid_and_survives_a_link():
    d = deck.default_deck("2023-24")
    assert len(d) == 9
    assert {v.page for v in d.views} <= set(deck.PAGES)
    assert deck.from_link_param(deck.to_link_param(d)) == d
    assert d.views[3].chart == "chronic_absenteeism_map" and d.views[3].to_filters().year == "2023-24"


def test_int_filter_values_from_a_hand_written_file_are_accepted():
    d = deck.from_json('{"title": "t", "views": [{"page": "trends", "chart": "suspension_trend",'
                       ' "filters": {"spa": 3, "cohort": 2}}]}')
    assert d.views[0].to_filters() == Filters(spa=3, cohort=2)
    assert d.views[0].filter_dict == {"cohort": "2", "spa": "3"}


@pytest.mark.parametrize(
    "views, column, words",
    [
        ([{"page": "nowhere", "chart": "suspension_trend"}], "views[0].page", "expected a page"),
        ([{"page": "trends", "chart": "pie_of_doom"}], "views[0].chart", "unknown chart"),
        ([{"page": "funding", "chart": "suspension_trend"}], "views[0].chart", "is on page 'trends'"),
        ([{"page": "trends", "chart": "suspension_trend"},
          {"page": "trends", "chart": "suspension_trend", "filters": {"spa": "9"}}],
         "views[1].filters.spa", "SPA number 1-8"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"year": "2023"}}],
         "views[0].filters.year", "academic year"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"year": "2023-25"}}],
         "views[0].filters.year", "academic year"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"school": 19647330000000}}],
         "views[0].filters.school", "codes are text"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"school": "1964733000000"}}],
         "views[0].filters.school", "14-digit"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"district": "19-6473"}}],
         "views[0].filters.district", "7-digit"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"community": "some"}}],
         "views[0].filters.community", "expected one of all, community, comparison"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"school_type": "college"}}],
         "views[0].filters.school_type", "expected one of"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"student_group": "ZZ"}}],
         "views[0].filters.student_group", "reporting category"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"cohort": "first"}}],
         "views[0].filters.cohort", "cohort number"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": {"colour": "red"}}],
         "views[0].filters.colour", "unknown filter"),
        ([{"page": "trends", "chart": "suspension_trend", "filters": ["spa", 3]}],
         "views[0].filters", "object of name: value"),
        ([{"page": "trends", "chart": "suspension_trend", "title": 7}], "views[0].title", "title must be text"),
        ([{"page": "trends", "chart": "suspension_trend", "zoom": 2}], "views[0]", "unknown field"),
        (["trends"], "views[0]", "must be an object"),
        ([], "views", "non-empty"),
    ],
)
def test_bad_views_name_the_field(views, column, words):
    with pytest.raises(InputError) as err:
        deck.from_json(json.dumps({"title": "t", "views": views}), source="march.json")
    assert err.value.column == column
    assert err.value.path == "march.json"
    assert words in err.value.message
    assert f"column '{column}'" in str(err.value)


def test_bad_json_names_the_line():
    with pytest.raises(InputError) as err:
        deck.from_json('{"title": "t",\n "views": [\n  {"page": "trends",, }]}', source="x.json")
    assert err.value.line == 3
    assert "not valid JSON" in err.value.message


def test_wrong_version_and_top_level_shape():
    with pytest.raises(InputError) as err:
        deck.from_json('{"version": 2, "title": "t", "views": []}')
    assert err.value.column == "version"
    with pytest.raises(InputError) as err:
        deck.from_json('[1, 2]')
    assert "JSON object" in err.value.message
    with pytest.raises(InputError) as err:
        deck.from_json('{"title": "t", "views": [{"page": "trends", "chart": "suspension_trend"}], "x": 1}')
    assert err.value.column == "deck"


def test_too_many_views():
    views = [{"page": "trends", "chart": "suspension_trend"}] * (deck.MAX_VIEWS + 1)
    with pytest.raises(InputError) as err:
        deck.from_json(json.dumps({"title": "t", "views": views}))
    assert str(deck.MAX_VIEWS) in err.value.message


@pytest.mark.parametrize(
    "param, words",
    [
        ("", "empty"),
        ("%%%not-base64%%%", "base64url"),
        (base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(), "UTF-8"),
        (base64.urlsafe_b64encode(b'{"title": "t", "views": [').decode().rstrip("="), "not valid JSON"),
        ("A" * (deck.MAX_LINK_CHARS + 1), "at most"),
    ],
)
def test_bad_link_params(param, words):
    with pytest.raises(InputError) as err:
        deck.from_link_param(param)
    assert err.value.path == "deck link"
    assert words in err.value.message


def test_every_chart_belongs_to_a_known_page():
    from csi_metrics.views import catalogue

    assert {catalogue.CHARTS[deck.chart_of(name)[0]].page for name in deck.CHARTS} <= set(deck.PAGES)
    assert {c.page for c in catalogue.CHARTS.values()} <= set(deck.PAGES)


@pytest.mark.parametrize("old", ["funding_treemap", "awards_treemap"])
def test_a_deck_saved_with_the_treemaps_name_opens_the_chart_that_replaced_it(old):
    d = deck.from_json(json.dumps({"title": "t", "views": [{"page": "funding", "chart": old}]}))
    new = deck.make_view("funding", "funding_by_type").catalogue_chart()[0]
    assert d.views[0].catalogue_chart()[0] == new == "awards_by_type"
    assert deck.chart_label(d.views[0].chart) == "CCSPP awards by SPA and grant type"
