"""The one formatter's interval: both ends through format_value, the unit once when compact."""

from csi_metrics.vocabulary.formats import BLANK, format_interval, format_value


def test_an_interval_reads_as_its_two_ends():
    assert format_interval(-3.54, -1.35, "pp") == "-3.5 pp to -1.4 pp"
    assert format_interval(-3.54, 0.0, "pp", compact=True) == "-3.5 to 0.0 pp"
    assert format_interval(0.1, 0.205, "rate", compact=True) == "10.0% to 20.5%"  # no unit word to drop


def test_an_interval_missing_an_end_is_blank():
    assert format_interval(None, 1.0, "pp") == BLANK and format_interval(1.0, None, "pp", compact=True) == BLANK


def test_a_year_cde_never_published_reads_not_published_not_suppressed():
    from csi_metrics.vocabulary import codes
    assert format_value(None, "rate", not_published=True) == "not published"
    assert format_value(None, "rate", suppressed=True) == "suppressed"
    assert not codes.is_published("chronic_absenteeism", "2019-20")
    assert codes.is_published("suspension", "2019-20") and codes.is_published("chronic_absenteeism", "2020-21")


def test_a_table_cell_is_written_by_its_columns_unit():
    """The attendee page's tables: each number through format_value by the naming rule."""
    from csi_metrics.vocabulary.formats import BLANK, cell_text, column_unit

    assert column_unit("rate") == "rate" and column_unit("prior_rate") == "rate"
    assert column_unit("did_pp") == "pp" and column_unit("amount_usd") == "usd"
    assert column_unit("denominator_n") == "count" and column_unit("spa_name") is None
    assert cell_text("rate", 0.1234) == "12.3%"
    assert cell_text("change_pp", -1.25) == "-1.3 pp"
    assert cell_text("amount_usd", 1234567) == "$1,234,567"
    assert cell_text("denominator_n", 1234) == "1,234"
    assert cell_text("rate", None) == BLANK and cell_text("rate", float("nan")) == BLANK
    assert cell_text("suppressed", True) == "true"
    assert cell_text("chronic_absenteeism_pct", 12.34) == "12.3%"
    assert cell_text("spa_name", "Metro") == "Metro"
