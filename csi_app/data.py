"""Data access for the pages: the pinned read-only connection (one database file
per script run, even mid-rebuild; the internal tables only for a signed-in
session), cached loaders over the metric functions (passed as function objects),
cached figures, and the database's filter options and build facts."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import pandas  # noqa: F401  (see below)
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from csi_metrics.metrics import query
from csi_metrics.storage import db
from csi_metrics.views import catalogue
from csi_metrics.vocabulary import config, safe_text
from csi_metrics.vocabulary.filters import FilterOptions, Filters

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


def access_level(configured: bool | None = None) -> str:
    """What this session may read: everything, unless sign-in is configured and the
    viewer has not signed in; then the public data only (db.open_for_display).
    `configured`: whether sign-in is configured, when the caller has read it already."""
    from csi_app import auth

    if configured is None:
        configured = auth.sign_in_configured()
    return PUBLIC if configured and not auth.signed_in() else INTERNAL


def _file_identity() -> tuple[str, int, int]:
    p = config.db_path()
    file_id = (0, 0) if db.is_hosted(p) else _file_id(str(p))  # a hosted database has no file
    return (str(p), *file_id)


def database_identity() -> tuple[str, int, int] | None:
    """Which database file is at the configured path now (path, inode, mtime), None when
    there is none; outside a script run too (csi_app.firstpaint's pictures name it)."""
    try:
        return _file_identity()
    except OSError:
        return None


def _live_key(configured: bool | None = None) -> tuple[str, int, int, str]:
    return (*_file_identity(), access_level(configured))


_PIN = "_db_pinned"


def _current(configured: bool | None = None) -> tuple[tuple[str, int, int, str], duckdb.DuckDBPyConnection]:
    """(key, connection) of the database file at the path now, retrying a swap mid-open;
    `configured` as for access_level."""
    for attempt in range(50):
        key = _live_key(configured)
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
    connection cache has dropped it. The next run pins the new file.

    Whether sign-in is configured is read here, once per run, and kept with the pin:
    with no secrets file each read takes Streamlit's secrets lock and looks for the
    file, and asking on every query cost 13 % of the server's CPU under load."""
    from csi_app import auth

    st.session_state.pop(_PIN, None)
    _require_database()
    configured = auth.sign_in_configured()
    st.session_state[_PIN] = (*_current(configured), configured)


def _pinned() -> tuple[tuple[str, int, int, str], duckdb.DuckDBPyConnection]:
    pinned = st.session_state.get(_PIN)
    if pinned is not None:
        key, con, configured = pinned
        # Whether this viewer is signed in is checked on every query (it is cheap), so a
        # pin left by an earlier run never gives a signed-out page the internal tables.
        if key[0] == str(config.db_path()) and key[3] == access_level(configured):
            return key, con
    _require_database()
    return _current()  # a page run on its own (tests): the file as it is now


def _require_database() -> None:
    """A missing database stops the page saying how to build one."""
    p = config.db_path()
    if not db.is_hosted(p) and not p.exists():
        st.error(
            f"No database at `{p}`. Build the demo database with "
            "`python -m csi_metrics build --demo` (or set CSI_DB to an existing file), then reload."
        )
        st.stop()


# --------------------------------------------------------------------------- cached loaders

_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def _fkey(filters: Filters | None) -> tuple[tuple[str, object], ...] | None:
    return None if filters is None else tuple(filters.as_dict().items())


def _name(fn: Callable[..., Any]) -> str:
    name = f"{fn.__module__}.{fn.__qualname__}"
    _FUNCTIONS.setdefault(name, fn)
    return name


def _plain(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


@st.cache_data(show_spinner=False, max_entries=1024)
def _cached(db_key: tuple[str, int, int, str], name: str, args: tuple, fkey: tuple | None, kwargs: tuple,
            _con: duckdb.DuckDBPyConnection) -> Any:
    # _con (unhashed) is the connection db_key names: the pinned file, never whatever is at
    # the path now; db_key holds the access level too, so a signed-in result is never served
    # to a signed-out session. `name` (module.function) keys the function; the object is
    # looked up, since Streamlit would hash a function by its code.
    cur = _cursor(_con)
    try:
        call_args = [cur, *args]
        if fkey is not None:
            call_args.append(Filters(**dict(fkey)))
        return _FUNCTIONS[name](*call_args, **dict(kwargs))
    except duckdb.CatalogException as exc:
        _raise_if_internal(exc)
        raise
    finally:
        cur.close()


def _raise_if_internal(exc: BaseException) -> None:
    table = db.internal_table_in(exc)
    if table is not None:
        raise db.SignInRequired(table) from None


def load(fn: Callable[..., Any], *args: Any, filters: Filters | None = None, **kwargs: Any) -> Any:
    """fn(con, *args, filters, **kwargs) for a metric function `fn`, cached on the
    pinned database file, its access level and the plain argument values, and
    shared by every session. The catalogue's loader (csi_metrics.views.catalogue)."""
    key, con = _pinned()
    kw = tuple(sorted((k, _plain(v)) for k, v in kwargs.items()))
    return _cached(key, _name(fn), tuple(_plain(a) for a in args), _fkey(filters), kw, con)


@st.cache_resource(show_spinner=False, max_entries=2048)
def _figure_cached(db_key: tuple[str, int, int, str], key: tuple, _build: Callable[[], go.Figure]) -> go.Figure:
    return _build()


def cached_figure(key: tuple, build: Callable[[], go.Figure]) -> go.Figure:
    """`build()` once per database file and plain `key` (chart name, filter values,
    options: everything the figure depends on), shared by every session. For
    small figures that cost more to build than to send (a sparkline: ~13 ms of
    CPU). Never change the returned figure in place."""
    db_key, _ = _pinned()
    return _figure_cached(db_key, key, build)


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
    """A cached lookup query (option lists, build sources); metrics go through `load`."""
    key, con = _pinned()
    return _sql_cached(key, sql_text, tuple(params), con)


# A resource, not cache_data: the facts of one database file never change, and
# is_demo() is asked for every chart drawn (its demo mark), where cache_data
# unpickled a fresh frame each time.
@st.cache_resource(show_spinner=False, max_entries=8)
def _build_info_cached(db_key: tuple[str, int, int, str], _con: duckdb.DuckDBPyConnection) -> Mapping[str, str]:
    cur = _cursor(_con)
    try:
        return MappingProxyType(dict(cur.sql("SELECT key, value FROM build_info").fetchall()))
    finally:
        cur.close()


def build_info() -> Mapping[str, str]:
    """The pinned database's build facts (build_info: mode, built_at, sources), read-only."""
    key, con = _pinned()
    return _build_info_cached(key, con)


def is_demo() -> bool:
    return build_info().get("mode", "").lower() == "demo"


def filter_options(years_from: str = "outcomes") -> FilterOptions:
    """Every value a filter may take in the pinned database (metrics.query.filter_options),
    years from `years_from`. A signed-out session cannot read the activity records: it is
    offered the outcome years, and the page itself asks it to sign in."""
    try:
        return load(query.filter_options, years_from=years_from)
    except db.SignInRequired:
        return load(query.filter_options, years_from="outcomes")


def describe(f: Filters) -> str:
    """The filter state in words, for captions and notes (Filters.describe with the
    database's district names, made safe for markdown)."""
    return f.describe(filter_options().district_names, markup=safe_text.for_markdown)


def latest_year() -> str | None:
    """The latest outcome year: what a one-year chart shows when no year is chosen."""
    years = filter_options().years
    return years[-1] if years else None


def draw(chart_id: str, filters: Filters, choices: Mapping[str, Any] | None = None, *,
         title: str | None = None) -> catalogue.Drawn:
    """Catalogue chart `chart_id` drawn for `filters` through the cached loaders: the
    one way a page, the deck and the exports get a chart."""
    return catalogue.render(chart_id, filters=filters, load=load, describe=describe, latest_year=latest_year(),
                            choices_=choices, title=title)


def boundaries_drawn() -> bool:
    """Whether the map has SPA boundaries to draw (and so school points); else it is tiles."""
    return catalogue.default_boundaries()[0] is not None
