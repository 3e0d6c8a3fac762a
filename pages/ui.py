"""The one Streamlit-aware helper module: the read-only connection, cached
loaders over the metric library, the shared sidebar filters kept in the URL,
the demo banner and `show_chart`. Pages import this and stay thin."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas  # noqa: F401  (see below)
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from csi_metrics.figures import downloads
from csi_metrics.vocabulary import codes, config, registry, safe_text, formats, words
from csi_metrics.storage import db
from csi_metrics.vocabulary.filters import COMMUNITY_CHOICES, Filters
from pages import presenter

# pandas is imported above, whole, while this module's import lock holds every
# other session back: Plotly uses pandas whenever it finds it in sys.modules, and
# on a cold server two sessions' first runs met a half-imported pandas
# ("partially initialized module 'pandas' has no attribute 'Series'").

# --------------------------------------------------------------------------- connection


class _Replaced(Exception):
    """The database file was swapped while a connection to it was being opened."""


def _file_id(path: str) -> tuple[int, int]:
    st_ = Path(path).stat()
    return st_.st_ino, st_.st_mtime_ns


# Keyed on the file's inode and mtime: the build swaps in a new file atomically,
# and a connection keeps reading the inode it opened. Old entries are kept for
# runs still pinned to them (see pin_database); a few are plenty, as each
# holds a replaced file's disk space until dropped.
@st.cache_resource(show_spinner=False, max_entries=8)
def _open(path: str, ino: int, mtime_ns: int, access: str) -> duckdb.DuckDBPyConnection:
    # No leading underscores on ino/mtime_ns/access: Streamlit leaves such arguments
    # out of the cache key, and then every key got the first connection ever opened.
    if db.is_hosted(path):
        return db.open_for_display(path, internal=access == INTERNAL)
    if _file_id(path) != (ino, mtime_ns):
        raise _Replaced(path)
    con = db.open_for_display(path, internal=access == INTERNAL)
    if _file_id(path) != (ino, mtime_ns):  # swapped during connect: which file it holds is unknown
        con.close()
        raise _Replaced(path)
    return con


def _cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor for one query: a DuckDB connection must not run queries from two
    Streamlit sessions' threads at once, its cursors may (and see its views)."""
    return con.cursor()


INTERNAL, PUBLIC = "internal", "public"


def access_level() -> str:
    """What this session may read: everything, unless sign-in is configured and the
    viewer has not signed in; then the public data only (db.open_for_display)."""
    from pages import auth

    return PUBLIC if auth.sign_in_configured() and not auth.signed_in() else INTERNAL


def _live_key() -> tuple[str, int, int, str]:
    p = config.db_path()
    file_id = (0, 0) if db.is_hosted(p) else _file_id(str(p))  # a hosted database has no file
    return (str(p), *file_id, access_level())


_PIN = "_db_pinned"


def _current() -> tuple[tuple[str, int, int, str], duckdb.DuckDBPyConnection]:
    """(key, connection) of the database file at the path now, retrying a swap mid-open."""
    for attempt in range(50):
        key = _live_key()
        try:
            return key, _open(*key)
        except _Replaced:
            time.sleep(0.01 * attempt)  # a build is swapping files right now; it finishes quickly
    raise RuntimeError(f"the database at {config.db_path()} keeps being replaced; try again")


def pin_database() -> None:
    """Fix, for the rest of this script run, which database file every query reads.

    The entry script calls it first on each run: a rebuild that swaps the file
    mid-run then cannot give one page old numbers beside new ones. The session
    holds the connection itself, so the run keeps reading its file even if the
    connection cache has dropped it. The next run pins the new file."""
    st.session_state.pop(_PIN, None)
    get_connection()  # with no database, stops the page saying how to build one
    st.session_state[_PIN] = _current()


def _pinned() -> tuple[tuple[str, int, int, str], duckdb.DuckDBPyConnection]:
    pinned = st.session_state.get(_PIN)
    if pinned is not None and pinned[0][0] == str(config.db_path()) and pinned[0][3] == access_level():
        return pinned
    return _current()  # a page run on its own (tests): the file as it is now


def get_connection() -> duckdb.DuckDBPyConnection:
    """The shared read-only connection; a missing database stops the page with how to build one."""
    p = config.db_path()
    if not db.is_hosted(p) and not p.exists():
        st.error(
            f"No database at `{p}`. Build the demo database with "
            "`python -m csi_metrics build --demo` (or set CSI_DB to an existing file), then reload."
        )
        st.stop()
    return _pinned()[1]


def _query(sql: str, params: Sequence[object] = ()) -> pl.DataFrame:
    # One cursor per call: a DuckDB connection must not run queries from two
    # Streamlit sessions' threads at once, its cursors may.
    cur = _cursor(get_connection())
    try:
        return cur.sql(sql, params=list(params)).pl()
    finally:
        cur.close()


# --------------------------------------------------------------------------- cached loaders


def _fkey(filters: Filters | None) -> tuple[tuple[str, object], ...] | None:
    return None if filters is None else tuple(filters.as_dict().items())


def _metric_fn(name: str) -> Callable[..., pl.DataFrame]:
    """The metric library's function `module.func`. Imported on first use so a page
    that needs one module does not fail while another is being changed."""
    import importlib

    module, func = name.rsplit(".", 1)
    layer = "metrics"
    return getattr(importlib.import_module(f"csi_metrics.{layer}.{module}"), func)


@st.cache_data(show_spinner=False, max_entries=1024)
def _cached(db_key: tuple[str, int, int, str], name: str, args: tuple, fkey: tuple | None, kwargs: tuple,
            _con: duckdb.DuckDBPyConnection) -> Any:
    # _con (unhashed) is the connection db_key names: the pinned file, never whatever is at
    # the path now; db_key holds the access level too, so a signed-in result is never served
    # to a signed-out session.
    cur = _cursor(_con)
    try:
        call_args = [cur, *args]
        if fkey is not None:
            call_args.append(Filters(**dict(fkey)))
        return _metric_fn(name)(*call_args, **dict(kwargs))
    except duckdb.CatalogException as exc:
        _raise_if_internal(exc)
        raise
    finally:
        cur.close()


def _raise_if_internal(exc: BaseException) -> None:
    table = db.internal_table_in(exc)
    if table is not None:
        raise db.SignInRequired(table) from None


def load(name: str, *args: Any, filters: Filters | None = None, **kwargs: Any) -> Any:
    """Call metric function `name` ('rates.pooled_rates', ...) as name(con, *args, filters, **kwargs),
    cached on the database file and the plain argument values."""
    get_connection()
    args = tuple(tuple(a) if isinstance(a, list) else a for a in args)
    kw = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items()))
    key, con = _pinned()
    return _cached(key, name, args, _fkey(filters), kw, con)


@st.cache_resource(show_spinner=False, max_entries=2048)
def _figure_cached(db_key: tuple[str, int, int, str], key: tuple, _build: Callable[[], go.Figure]) -> go.Figure:
    return _build()


def cached_figure(key: tuple, build: Callable[[], go.Figure]) -> go.Figure:
    """`build()` once per database file and plain `key` (chart name, filter values,
    options: everything the figure depends on), shared by every session. For
    small figures that cost more to build than to send (a sparkline: ~13 ms of
    CPU). Never change the returned figure in place."""
    get_connection()
    db_key, _ = _pinned()
    return _figure_cached(db_key, key, build)


def pooled(metric: str, by: Sequence[str], filters: Filters) -> pl.DataFrame:
    return load("rates.pooled_rates", metric, list(by), filters=filters)


def county(metric: str, filters: Filters) -> pl.DataFrame:
    return load("rates.county_rate", metric, filters=filters)


def trend(metric: str, by: Sequence[str], filters: Filters) -> pl.DataFrame:
    return load("trends.trend", metric, list(by), filters=filters)


@st.cache_data(show_spinner=False)
def _sql_cached(db_key: tuple[str, int, int, str], sql: str, params: tuple,
                _con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    cur = _cursor(_con)
    try:
        return cur.sql(sql, params=list(params)).pl()
    except duckdb.CatalogException as exc:
        _raise_if_internal(exc)
        raise
    finally:
        cur.close()


def sql(sql_text: str, params: Sequence[object] = ()) -> pl.DataFrame:
    """A cached lookup query (option lists, build facts); metrics go through `load`."""
    get_connection()
    key, con = _pinned()
    return _sql_cached(key, sql_text, tuple(params), con)


def build_info() -> dict[str, str]:
    return dict(sql("SELECT key, value FROM build_info").iter_rows())


def is_demo() -> bool:
    return build_info().get("mode", "").lower() == "demo"


# --------------------------------------------------------------------------- filter options and URL state


@dataclass(frozen=True)
class FilterOptions:
    """Every value a filter may take, read from the database itself."""

    years: tuple[str, ...]
    spas: tuple[int, ...]
    districts: tuple[tuple[str, str, int | None], ...]   # (code, name, spa_n) per school SPA
    cohorts: tuple[int, ...]
    school_types: tuple[str, ...]
    student_groups: tuple[tuple[str, str], ...]          # (code, label) in display order

    @property
    def district_names(self) -> dict[str, str]:
        return {c: n for c, n, _ in self.districts}

    def districts_in(self, spa: int | None) -> list[str]:
        codes_ = {c for c, _, s in self.districts if spa is None or s == spa}
        return sorted(codes_, key=lambda c: self.district_names[c])


# Each page offers the years its own data has: CDE's outcome files lag a year or
# more behind the initiative's awards and activities.
YEAR_SOURCES = {
    "outcomes": "SELECT DISTINCT academic_year AS y FROM outcomes WHERE aggregate_level = 'S' ORDER BY 1",
    "grants": "SELECT DISTINCT award_year AS y FROM grants WHERE county_code = '19' ORDER BY 1",
    "activities": "SELECT DISTINCT academic_year AS y FROM activities ORDER BY 1",
}
PAGE_YEARS = {"funding": "grants", "activities": "activities"}  # url_path -> source; the rest: outcomes


def year_source(page_path: str | None) -> str:
    return PAGE_YEARS.get(page_path or "", "outcomes")


def filter_options(years_from: str = "outcomes") -> FilterOptions:
    """Every value a filter may take, read from the database; years from `years_from`
    (YEAR_SOURCES). A signed-out session cannot read the activity records: it is offered
    the outcome years, and the page itself asks it to sign in."""
    try:
        years = sql(YEAR_SOURCES[years_from]).rename({"y": "academic_year"})
    except db.SignInRequired:
        years = sql(YEAR_SOURCES["outcomes"]).rename({"y": "academic_year"})
    if years.is_empty():
        years = sql(YEAR_SOURCES["outcomes"]).rename({"y": "academic_year"})
    spas = sql("SELECT DISTINCT spa_n FROM schools WHERE spa_n IS NOT NULL ORDER BY 1")
    dists = sql("SELECT DISTINCT district_code, district_name, spa_n FROM schools ORDER BY 2, 3")
    cohorts = sql("SELECT DISTINCT ccspp_cohort FROM schools WHERE ccspp_cohort IS NOT NULL ORDER BY 1")
    types = sql("SELECT DISTINCT school_type FROM schools")
    groups = sql(
        """SELECT rc.code, rc.label FROM reporting_categories rc
           WHERE rc.code IN (SELECT DISTINCT reporting_category FROM outcomes) ORDER BY rc.sort_order"""
    )
    order = {t: i for i, t in enumerate(codes.SCHOOL_TYPES)}
    return FilterOptions(
        years=tuple(years["academic_year"].to_list()),
        spas=tuple(spas["spa_n"].to_list()),
        districts=tuple(dists.iter_rows()),
        cohorts=tuple(cohorts["ccspp_cohort"].to_list()),
        school_types=tuple(sorted(types["school_type"].to_list(), key=lambda t: order.get(t, 99))),
        student_groups=tuple(groups.iter_rows()),
    )


URL_PARAMS = ("year", "spa", "district", "community", "cohort", "school_type", "student_group")
_DEFAULT_TEXT = {
    "year": "the latest year", "spa": "all SPAs", "district": "all districts", "community": "all schools",
    "cohort": "all cohorts", "school_type": "all school types", "student_group": "all students",
}


def _shown(value: str) -> str:
    """A URL value safe to echo back: printable, short, no markup."""
    clean = re.sub(r"[^\w .,:/+-]", "?", value)[:40]
    return html.escape(clean)


def default_filters(options: FilterOptions) -> Filters:
    return Filters(year=options.years[-1] if options.years else None)


def parse_query_params(params: Mapping[str, str], options: FilterOptions) -> tuple[Filters, list[str]]:
    """Filters from URL values, each checked against what the database holds.

    A bad value falls back to that filter's default and adds a warning naming
    the parameter; it never raises."""
    base = default_filters(options)
    values: dict[str, object] = {}
    warnings: list[str] = []

    def bad(name: str, raw: str, why: str) -> None:
        warnings.append(
            f"Ignored URL parameter `{name}={_shown(raw)}`: {why}. Showing {_DEFAULT_TEXT[name]} instead."
        )

    def as_int(raw: str) -> int | None:
        return int(raw) if re.fullmatch(r"\d{1,4}", raw.strip()) else None

    for name in URL_PARAMS:
        if name not in params:
            continue
        raw = str(params[name])
        if name == "year":
            if raw in options.years:
                values["year"] = raw
            else:
                bad(name, raw, f"not a year in the data ({options.years[0]} to {options.years[-1]})"
                    if options.years else "no years in the data")
        elif name == "spa":
            n = as_int(raw)
            if n in options.spas:
                values["spa"] = n
            else:
                bad(name, raw, "not an SPA number in the data (1 to 8)")
        elif name == "district":
            if raw in options.district_names:
                values["district"] = raw
            else:
                bad(name, raw, "not a district code in the data")
        elif name == "community":
            if raw in COMMUNITY_CHOICES:
                values["community"] = raw
            else:
                bad(name, raw, "must be all, community or comparison")
        elif name == "cohort":
            n = as_int(raw)
            if n in options.cohorts:
                values["cohort"] = n
            else:
                bad(name, raw, "not a CCSPP cohort in the data")
        elif name == "school_type":
            if raw in options.school_types:
                values["school_type"] = raw
            else:
                bad(name, raw, f"must be one of {', '.join(options.school_types)}")
        elif name == "student_group":
            if raw in dict(options.student_groups):
                values["student_group"] = raw
            else:
                bad(name, raw, "not a student group in the data")
    # A district outside the chosen SPA would show nothing: keep the SPA, drop the district.
    if values.get("district") is not None and values.get("spa") is not None \
            and values["district"] not in options.districts_in(values["spa"]):  # type: ignore[arg-type]
        warnings.append(f"Ignored URL parameter `district={_shown(str(values['district']))}`: "
                        f"no schools of that district in SPA {values['spa']}. Showing all districts instead.")
        values.pop("district")
    return base.with_(**values), warnings


def query_params_for(filters: Filters, options: FilterOptions) -> dict[str, str]:
    """The URL values that reproduce `filters`: the year always, the rest when not default."""
    default = default_filters(options)
    out: dict[str, str] = {}
    for name in URL_PARAMS:
        v = getattr(filters, name)
        if v is not None and (name == "year" or v != getattr(default, name)):
            out[name] = str(v)
    return out


_KEY = "f_"   # widget keys: f_year, f_spa, ...
# "All" in a select box: None would show as an empty box with a placeholder.
ALL = "(all)"
_OPTIONAL = ("spa", "district", "cohort", "school_type")


def _clear_url_warnings() -> None:
    st.session_state["_url_warnings"] = []


def sidebar_filters(page_path: str | None = None) -> Filters:
    """Draw the shared filters in the sidebar (seeded from the URL on a session's
    first run), write them back to the URL, and return them. The year box offers
    the years of the page's own data (PAGE_YEARS)."""
    options = filter_options(year_source(page_path))
    ss = st.session_state
    if not ss.get("_url_loaded"):
        parsed, warnings = parse_query_params(st.query_params.to_dict(), options)
        ss["_filters"] = parsed
        ss["_url_warnings"] = warnings
        ss["_url_loaded"] = True
    current: Filters = ss["_filters"]
    for name in URL_PARAMS:
        if _KEY + name not in ss or ss[_KEY + name] is None:
            v = getattr(current, name) if _KEY + name not in ss else None
            ss[_KEY + name] = ALL if v is None and name in _OPTIONAL else v
    for w in ss.get("_url_warnings", []):
        st.warning(w, icon=":material/link_off:")

    if ss[_KEY + "year"] not in options.years:
        if ss[_KEY + "year"] is not None:
            st.info(f"{ss[_KEY + 'year']} has no data on this page yet; showing "
                    f"{default_filters(options).year}, its latest year.", icon=":material/event_busy:")
        ss[_KEY + "year"] = default_filters(options).year
    groups = dict(options.student_groups)
    names = options.district_names
    with st.sidebar:
        st.header("Filters")
        kw = dict(on_change=_clear_url_warnings)
        year = st.selectbox("School year", list(reversed(options.years)), key=_KEY + "year", **kw)
        spa = st.selectbox("Service Planning Area", [ALL, *options.spas], key=_KEY + "spa",
                           format_func=lambda v: "All SPAs" if v == ALL else codes.spa_label(v), **kw)
        district_choices = options.districts_in(None if spa == ALL else spa)
        if ss[_KEY + "district"] not in (ALL, *district_choices):
            ss[_KEY + "district"] = ALL
        district = st.selectbox("District", [ALL, *district_choices], key=_KEY + "district",
                                format_func=lambda v: "All districts" if v == ALL else names.get(v, v), **kw)
        community = st.radio("Schools", list(COMMUNITY_CHOICES), key=_KEY + "community",
                             format_func=lambda v: words.SIDE_LABELS[v], **kw)
        cohort = st.selectbox("CCSPP cohort", [ALL, *options.cohorts], key=_KEY + "cohort",
                              format_func=lambda v: "All cohorts" if v == ALL else f"Cohort {v}", **kw)
        school_type = st.selectbox("School type", [ALL, *options.school_types], key=_KEY + "school_type",
                                   format_func=lambda v: "All school types" if v == ALL
                                   else words.SCHOOL_TYPE_LABELS.get(v, v), **kw)
        student_group = st.selectbox("Student group", list(groups), key=_KEY + "student_group",
                                     format_func=lambda v: groups.get(v, v), **kw)
    spa, district, cohort, school_type = (None if v == ALL else v for v in (spa, district, cohort, school_type))
    filters = Filters(year=year, spa=spa, district=district, community=community or "all",
                      cohort=cohort, school_type=school_type, student_group=student_group or "TA")
    ss["_filters"] = filters
    _mark_entry()
    wanted = query_params_for(filters, options)
    for name in URL_PARAMS:
        if name in wanted:
            if st.query_params.get(name) != wanted[name]:
                st.query_params[name] = wanted[name]
        elif name in st.query_params:
            del st.query_params[name]
    presenter.apply_presenter_mode()  # ?present=1 / sidebar toggle: hide chrome, enlarge type
    return filters


def _run_token() -> object | None:
    """An object that lives exactly one script run (Streamlit makes a new
    coordinator per run), to mark that the entry script ran in this run."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return getattr(ctx, "parallel_coordinator", None) if ctx else None


def _mark_entry() -> None:
    tok = _run_token()
    if tok is not None:
        setattr(tok, "_csi_entry_ran", True)


def _entry_ran() -> bool:
    return bool(getattr(_run_token(), "_csi_entry_ran", False))


def _running_page() -> str | None:
    """The url_path of the page script running on its own (pages/funding.py -> 'funding'):
    the first frame up the stack in a page file that is not one of these helpers."""
    import inspect

    helpers = {"ui", "auth", "presenter", "__init__"}
    for frame in inspect.stack()[1:]:
        p = Path(frame.filename)
        if p.parent.name == "pages" and p.stem not in helpers:
            return p.stem
    return None


def require_entry() -> None:
    """Make sure this page has the entry script's banner and filters.

    Streamlit treats a `pages/` folder beside the main script as a legacy
    multipage app until the process first calls st.navigation (and AppTest
    resets that on every run): a deep link as a fresh server's first request,
    or a page switch under AppTest, runs the page on its own. Leave legacy
    mode and rerun once (the page's hash is its url_path in both modes, so the
    rerun lands on the same page through dashboard.py); if the page still runs
    alone, draw the entry's parts here."""
    if _entry_ran():
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    ss = st.session_state
    if not ss.get("_legacy_rerun"):
        ss["_legacy_rerun"] = True
        st.rerun()
    st.set_page_config(layout="wide", page_title="CSI Dashboard")
    pin_database()
    get_connection()
    demo_banner()
    sidebar_filters(_running_page())


def filters() -> Filters:
    """The filters the entry script drew this run (defaults if it has not)."""
    require_entry()
    f = st.session_state.get("_filters")
    return f if isinstance(f, Filters) else default_filters(filter_options())


def describe(f: Filters) -> str:
    """The filter state in words, for captions and notes."""
    names = filter_options().district_names
    parts = [f.year or "Every year"]
    parts.append(codes.spa_label(f.spa) if f.spa else "all SPAs")
    if f.district:
        parts.append(safe_text.for_markdown(names.get(f.district, f.district)))
    parts.append(words.SIDE_LABELS[f.community].lower())
    if f.cohort is not None:
        parts.append(f"cohort {f.cohort}")
    if f.school_type:
        parts.append(words.SCHOOL_TYPE_LABELS.get(f.school_type, f.school_type).lower() + " schools")
    if f.student_group != "TA":
        parts.append(words.group_label("student_group", f.student_group))
    return " · ".join(parts)


# --------------------------------------------------------------------------- banner and charts

DEMO_BANNER = ("**DEMO DATA — fictional schools.** Every school, grant, activity and rate here was "
               "generated for demonstration; none of it describes a real school or student.")


def demo_banner() -> None:
    if is_demo():
        st.warning(DEMO_BANNER, icon=":material/science:")


def metric_caption(metric_id: str) -> str:
    """'Label: definition Source: ...' from the metric registry."""

    m = registry.METRICS.get(metric_id)
    if m is None:
        return ""
    return f"**{m.label}**: {m.definition} *Source:* {m.source}"


def readable(df: pl.DataFrame) -> pl.DataFrame:
    """The table behind a chart with names beside codes (SPA, student group, ...)."""
    out = df
    for col, label_col in (("spa", "spa_name"), ("student_group", "student_group_name"),
                           ("school_type", "school_type_name"), ("activity_type", "activity_type_name"),
                           ("grant_type", "grant_type_name")):
        if col in out.columns and label_col not in out.columns:
            # Labels for the few distinct values, looked up here, then mapped natively: no
            # Python function runs inside Polars (its thread pool deadlocked under load).
            labels = {v: words.group_label(col, v) for v in out[col].unique().to_list() if v is not None}
            out = out.with_columns(
                pl.col(col).replace_strict(labels, default=None, return_dtype=pl.Utf8)
                .fill_null(words.group_label(col, None)).alias(label_col))
            cols = out.columns
            cols.remove(label_col)
            cols.insert(cols.index(col) + 1, label_col)
            out = out.select(cols)
    return out


def csv_bytes(df: pl.DataFrame) -> bytes:
    """The CSV a download button hands over: csi_metrics.figures.downloads, the one CSV writer."""
    return downloads.csv_bytes(df)


def rounded_for_reading(df: pl.DataFrame) -> pl.DataFrame:
    """The table a person reads: rates (0-1) to 0.1 point and pp to 0.1, rounded half up
    as the one formatter rounds; the CSV keeps the unrounded values."""
    rate_cols = [c for c, t in df.schema.items() if t.is_float() and (c == "rate" or c.endswith("_rate"))]
    pp_cols = [c for c, t in df.schema.items() if t.is_float() and c.endswith("_pp")]
    return df.with_columns([formats.half_up_expr(pl.col(c), 3).alias(c) for c in rate_cols]
                           + [formats.half_up_expr(pl.col(c), 1).alias(c) for c in pp_cols])


def _column_config(df: pl.DataFrame) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    for c in df.columns:
        if c == "rate" or c.endswith("_rate"):
            cfg[c] = st.column_config.NumberColumn(c, format="percent", help="shown as %; 0-1 in the CSV")
        elif c.endswith("_usd"):
            cfg[c] = st.column_config.NumberColumn(c, format="dollar")
    return cfg


EMPTY = "—"  # how a table shows a blank (suppressed, unpublished or not applicable) cell


def dataframe(df: pl.DataFrame, **kwargs: Any) -> Any:
    """st.dataframe of a Polars frame, handed over as Arrow: Streamlit's own conversion
    of a Polars frame goes through pandas and can wait on Polars' thread pool while it
    holds the GIL (with a Python function in that pool, the server deadlocked)."""
    return st.dataframe(df.to_arrow() if isinstance(df, pl.DataFrame) else df, **kwargs)

PLOTLY_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "width": 1920, "height": 1080, "scale": 1},
}


def show_chart(fig: go.Figure, df: pl.DataFrame, *, key: str, caption: str | None = None,
               metric: str | None = None, on_select: Callable[[], None] | None = None) -> None:
    """Draw `fig`, its definition and source, and the table behind it with a CSV
    download of exactly that table (suppression already applied upstream).
    With `on_select`, a click on a point calls it (selection in
    st.session_state[f"chart_{key}"])."""
    config_ = {**PLOTLY_CONFIG, "toImageButtonOptions": {**PLOTLY_CONFIG["toImageButtonOptions"], "filename": key}}
    select: dict[str, Any] = dict(on_select=on_select, selection_mode="points") if on_select else {}
    # theme=None: Streamlit's own chart theme would override the dashboard's projector type sizes.
    st.plotly_chart(presenter.for_display(fig), key=f"chart_{key}", config=config_, theme=None, **select)
    words = " ".join(x.rstrip(".") + "." for x in (metric_caption(metric) if metric else "", caption or "") if x)
    if words:
        st.caption(words)
    presenter.export_buttons(fig, key=key, caption=words)  # PNG / SVG at 1920x1080
    table = readable(df)
    with st.expander("Table and CSV"):
        # The button above the table: the grid sizes itself after the expander opens, and a
        # button below it would move under the pointer of someone reaching for it.
        st.download_button("Download CSV", csv_bytes(table), file_name=f"{key}.csv",
                           mime="text/csv", key=f"csv_{key}", on_click="ignore")
        dataframe(rounded_for_reading(table), hide_index=True, column_config=_column_config(table), key=f"table_{key}",
                     placeholder=EMPTY)
        if "suppressed" in table.columns:
            st.caption(f"{EMPTY} (blank in the CSV): suppressed (fewer than {codes.MIN_N} students, or recoverable "
                       "by subtraction), not published, or not applicable; suppressed = true marks suppression.")


# --------------------------------------------------------------------------- page controls

METRIC_LABELS = {"chronic_absenteeism": "Chronic absenteeism", "suspension": "Suspension"}


def page_choice(label: str, options: Sequence[Any], *, key: str, default: Any,
                format_func: Callable[[Any], str] = str, widget: str = "segmented") -> Any:
    """A page control kept in the URL as ?key=value: segmented buttons for a few
    options, or widget="select" for a longer list.

    The URL holds the option itself (a code), not its label; a value that is not
    an option falls back to `default` with a warning naming the parameter.
    (Streamlit's own query-param binding keys the URL on the label and drops a
    bad value silently.)"""
    ss = st.session_state
    if key not in ss:
        raw = st.query_params.get(key)
        match = [o for o in options if str(o) == raw]
        if raw is not None and not match:
            st.warning(f"Ignored URL parameter `{key}={_shown(raw)}`: must be one of "
                       f"{', '.join(map(str, options))}. Showing {format_func(default)} instead.",
                       icon=":material/link_off:")
        ss[key] = match[0] if match else default
    if widget == "select":
        value = st.selectbox(label, list(options), key=key, format_func=format_func)
    else:
        value = st.segmented_control(label, list(options), key=key, format_func=format_func, required=True)
    value = default if value is None else value
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)
    return value


def metric_picker(key: str = "metric") -> str:
    """Chronic absenteeism or suspension, kept in the URL as ?metric=."""
    return page_choice("Measure", list(METRIC_LABELS), key=key, default="chronic_absenteeism",
                       format_func=METRIC_LABELS.get)


def with_prior(metric: str, by: Sequence[str], f: Filters) -> pl.DataFrame:
    """breakdown.breakdown by the one column in `by`: rates with prior_rate, change_pp and the
    Dashboard levels and colour placed as the report and the Schools table place them."""
    (column,) = by
    return load("breakdown.breakdown", metric, column, filters=f)


def headline_series(f: Filters) -> pl.DataFrame:
    """The headline frame for every year up to f.year, stacked: the small trends on the Overview."""
    return load("headline.headline_series", filters=f)


# --------------------------------------------------------------------------- schools page

SCHOOL_DISPLAY = {
    "school_name": "School", "district_name": "District", "spa_name": "SPA", "school_type": "Type",
    "ccspp_cohort": "Cohort", "grant_type": "Grant",
    "chronic_absenteeism_pct": "Chronic absenteeism %", "ca_trend": "CA trend (years with data)",
    "chronic_absenteeism_change_pp": "CA change (pp)", "chronic_absenteeism_placed_pct": "CA TK-8 % (placed)",
    "chronic_absenteeism_color": "CA colour", "chronic_absenteeism_level_source": "CA colour source",
    "chronic_absenteeism_level_note": "CA no-colour reason",
    "suspension_pct": "Suspension %", "suspension_change_pp": "Susp. change (pp)",
    "suspension_color": "Susp. colour", "suspension_level_source": "Susp. colour source",
    "suspension_level_note": "Susp. no-colour reason", "cds_code": "CDS code",
}


def school_display(table: pl.DataFrame, f: Filters) -> pl.DataFrame:
    """The Schools page table: the columns a person reads, SPA named, and each
    school's chronic absenteeism over the years (suppressed years blank)."""
    t = readable(table.rename({"spa_n": "spa"}) if "spa_n" in table.columns else table)
    # Numbers rounded half up here, so the table reads as the one formatter prints them.
    t = t.with_columns(formats.half_up_expr(pl.col(f"{m}_rate") * 100).alias(f"{m}_pct")
                       for m in METRIC_LABELS if f"{m}_rate" in t.columns)
    t = t.with_columns(formats.half_up_expr(pl.col(f"{m}_change_pp")).alias(f"{m}_change_pp")
                       for m in METRIC_LABELS if f"{m}_change_pp" in t.columns)
    if "chronic_absenteeism_placed_rate" in t.columns:
        t = t.with_columns(formats.half_up_expr(pl.col("chronic_absenteeism_placed_rate") * 100)
                           .alias("chronic_absenteeism_placed_pct"))
    for m in METRIC_LABELS:
        if f"{m}_level_source" in t.columns:
            t = t.with_columns(pl.col(f"{m}_level_source").replace_strict(
                {"official": "CDE official", "computed": "computed (Dashboard-style)"}, default=None,
                return_dtype=pl.String))
    tr = trend("chronic_absenteeism", ["school"], f.with_(year=None))
    if not tr.is_empty():
        # The table's sparkline cannot draw a gap (a blank makes the whole cell text), so it
        # holds the years with a published, unsuppressed rate; the school's own chart shows the gaps.
        lists = tr.sort("year").filter(~pl.col("suppressed") & pl.col("rate").is_not_null()) \
            .group_by("school").agg(pl.col("rate").alias("ca_trend"))
        t = t.join(lists.rename({"school": "cds_code"}), on="cds_code", how="left")
    return t.select([c for c in SCHOOL_DISPLAY if c in t.columns])


def school_columns(df: pl.DataFrame) -> dict[str, Any]:
    cfg: dict[str, Any] = {c: st.column_config.Column(label) for c, label in SCHOOL_DISPLAY.items() if c in df.columns}
    for c in ("chronic_absenteeism_pct", "suspension_pct", "chronic_absenteeism_placed_pct"):
        if c in df.columns:
            cfg[c] = st.column_config.NumberColumn(SCHOOL_DISPLAY[c], format="%.1f")
    for c in ("chronic_absenteeism_change_pp", "suspension_change_pp"):
        if c in df.columns:
            cfg[c] = st.column_config.NumberColumn(SCHOOL_DISPLAY[c], format="%+.1f")
    if "ca_trend" in df.columns:
        cfg["ca_trend"] = st.column_config.LineChartColumn(SCHOOL_DISPLAY["ca_trend"])  # own scale: the shape
    return cfg


_PICK = "school_pick"


def _all_schools() -> dict[str, str]:
    return dict(sql("SELECT cds_code, school_name FROM schools ORDER BY school_name").iter_rows())


def school_selection_sync() -> None:
    """Seed the school picker from ?school=CDS when the page opens; a bad code warns and is ignored."""
    ss = st.session_state
    if _PICK in ss:
        return
    raw = st.query_params.get("school")
    if raw is None:
        return
    if raw in _all_schools():
        ss[_PICK] = raw
    else:
        st.warning(f"Ignored URL parameter `school={_shown(raw)}`: not a CDS code in the data. "
                   "Pick a school from the table instead.", icon=":material/link_off:")
        del st.query_params["school"]


def on_school_row() -> None:
    """Table row selected: open that school (st.dataframe selection callback)."""
    ss = st.session_state
    rows = ss.get("school_table", {}).get("selection", {}).get("rows", [])
    listed = ss.get("_school_rows", [])
    if rows and rows[0] < len(listed):
        ss[_PICK] = listed[rows[0]]


def school_picker(table: pl.DataFrame) -> str | None:
    """The school shown below the table, kept in the URL as ?school=CDS."""
    names = _all_schools()
    listed = table["cds_code"].to_list()
    current = st.session_state.get(_PICK)
    options = [None, *listed] + ([current] if current and current not in listed else [])
    cds = st.selectbox("School", options, key=_PICK, placeholder="Choose a school",
                       format_func=lambda c: "Choose a school" if c is None else f"{names.get(c, c)} ({c})")
    if cds:
        if st.query_params.get("school") != cds:
            st.query_params["school"] = cds
    elif "school" in st.query_params:
        del st.query_params["school"]
    return cds

