"""The filter state a page runs with, kept in the URL: the shared sidebar filters
(parsed by vocabulary.filters, the one parser, and checked against the database),
each page's own controls (`page_choice`), and the entry-script workaround that
makes a deep link run through dashboard.py."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from csi_app import data, phone, presenter
from csi_app.show import demo_banner
from csi_metrics.views import catalogue
from csi_metrics.vocabulary import codes, filters as filters_mod, registry, words
from csi_metrics.vocabulary.filters import COMMUNITY_CHOICES, FilterOptions, Filters

# Each page offers the years its own data has (metrics.query.YEAR_SOURCES): CDE's
# outcome files lag a year or more behind the initiative's awards and activities.
PAGE_YEARS = {"funding": "grants", "activities": "activities"}  # url_path -> source; the rest: outcomes
URL_PARAMS = filters_mod.SIDEBAR


def year_source(page_path: str | None) -> str:
    return PAGE_YEARS.get(page_path or "", "outcomes")


def shown(value: str) -> str:
    """A URL value safe to echo back: printable, short, no markup."""
    clean = re.sub(r"[^\w .,:/+-]", "?", value)[:40]
    return html.escape(clean)


def default_filters(options: FilterOptions) -> Filters:
    return options.default()


def parse_query_params(params: Mapping[str, str], options: FilterOptions) -> tuple[Filters, list[str]]:
    """Filters from URL values (vocabulary.filters.parse against what the database
    holds). A bad value falls back to that filter's default and adds a warning naming
    the parameter; it never raises. Other parameters (a page's own) are not read here."""
    mine = {k: str(v) for k, v in params.items() if k in URL_PARAMS}
    parsed, problems = filters_mod.parse(mine, options, keys=URL_PARAMS, blank_is_unset=False)
    warnings = [f"Ignored URL parameter `{p.key}={shown(p.raw)}`: {p.why}. Showing "
                f"{filters_mod.DEFAULT_TEXT[p.key]} instead." for p in problems]
    return parsed, warnings


def query_params_for(filters: Filters, options: FilterOptions) -> dict[str, str]:
    """The URL values that reproduce `filters`: the year always, the rest when not default."""
    return filters.to_params(options.default(), URL_PARAMS)


_KEY = "f_"   # widget keys: f_year, f_spa, ...
# "All" in a select box: None would show as an empty box with a placeholder.
ALL = "(all)"
_OPTIONAL = ("spa", "district", "cohort", "school_type")


def _clear_url_warnings() -> None:
    st.session_state["_url_warnings"] = []


def set_filter(name: str, value: object) -> None:
    """Set a shared filter from a page's own control (a click on the map) before the
    sidebar draws: the next run shows it there and in the URL."""
    if name not in URL_PARAMS:
        raise ValueError(f"no shared filter {name!r}; the filters are {', '.join(URL_PARAMS)}")
    st.session_state[_KEY + name] = ALL if value is None and name in _OPTIONAL else value


def sidebar_filters(page_path: str | None = None) -> Filters:
    """Draw the shared filters in the sidebar (seeded from the URL on a session's
    first run), write them back to the URL, and return them. The year box offers
    the years of the page's own data (PAGE_YEARS)."""
    options = data.filter_options(year_source(page_path))
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
    for name, offered in (("year", options.years), ("spa", [ALL, *options.spas]), ("community", COMMUNITY_CHOICES),
                          ("cohort", [ALL, *options.cohorts]), ("school_type", [ALL, *options.school_types]),
                          ("student_group", groups)):
        register_control(_KEY + name, offered, name)
    with st.sidebar:
        st.header("Filters")
        kw = dict(on_change=_clear_url_warnings)
        year = st.selectbox("School year", list(reversed(options.years)), key=_KEY + "year", **kw)
        spa = st.selectbox("Service Planning Area", [ALL, *options.spas], key=_KEY + "spa",
                           format_func=lambda v: "All SPAs" if v == ALL else codes.spa_label(v), **kw)
        district_choices = options.districts_in(None if spa == ALL else spa)
        if ss[_KEY + "district"] not in (ALL, *district_choices):
            ss[_KEY + "district"] = ALL
        register_control(_KEY + "district", [ALL, *district_choices], "district")
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
    phone.inject_css()  # under 640 px: no chart toolbar, nothing wider than the screen
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

    for frame in inspect.stack()[1:]:
        p = Path(frame.filename)
        if p.parent.name == "pages" and p.stem != "__init__":
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
    data.pin_database()
    demo_banner()
    sidebar_filters(_running_page())


def filters() -> Filters:
    """The filters the entry script drew this run (defaults if it has not)."""
    require_entry()
    f = st.session_state.get("_filters")
    return f if isinstance(f, Filters) else data.filter_options().default()


def _match(raw: str, options: Sequence[Any], format_func: Callable[[Any], str]) -> list[Any]:
    """The option a URL value names: its code, or (older links) its label, any case."""
    by_code = [o for o in options if str(o) == raw]
    return by_code or [o for o in options if format_func(o).strip().lower() == raw.strip().lower()]


def _ignored(key: str, raw: str, options: Sequence[Any], instead: str) -> None:
    st.warning(f"Ignored URL parameter `{key}={shown(raw)}`: must be one of "
               f"{', '.join(map(str, options))}. Showing {instead} instead.", icon=":material/link_off:")


CONTROLS = "_url_controls"  # session key: widget key -> (URL parameter, its options), for tests and tools


def register_control(key: str, options: Sequence[Any] | None, param: str | None = None) -> None:
    """Note a control kept in the URL: its widget key, the parameter it writes and the
    options it offers (None: free text)."""
    st.session_state.setdefault(CONTROLS, {})[key] = (param or key, None if options is None else list(options))


def _write_url(key: str, value: str | None) -> None:
    """?key=value, or no ?key when the control shows its default (None)."""
    if value is None:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def page_choice(label: str, options: Sequence[Any], *, key: str, default: Any,
                format_func: Callable[[Any], str] = str, widget: str = "segmented",
                help: str | None = None) -> Any:
    """A page control kept in the URL as ?key=value: segmented buttons for a few
    options, or widget="select" for a longer list.

    The URL holds the option itself (a code), not its label; an older link's label
    is read as its code; a value that is neither falls back to `default` with a
    warning naming the parameter. (Streamlit's own query-param binding keys the URL
    on the label and drops a bad value silently.)"""
    ss = st.session_state
    if key not in ss:
        raw = st.query_params.get(key)
        match = _match(raw, options, format_func) if raw is not None else []
        if raw is not None and not match:
            _ignored(key, raw, options, format_func(default))
        ss[key] = match[0] if match else default
    register_control(key, options)
    if widget == "select":
        value = st.selectbox(label, list(options), key=key, format_func=format_func, help=help)
    else:
        value = st.segmented_control(label, list(options), key=key, format_func=format_func, required=True,
                                     help=help)
    value = default if value is None else value
    _write_url(key, None if value == default else str(value))
    return value


MULTI_SEP = ","  # ?groups=TA,SE,SD: codes never hold a comma


def page_choices(label: str, options: Sequence[Any], *, key: str, default: Sequence[Any],
                 format_func: Callable[[Any], str] = str, widget: str = "pills",
                 max_selections: int | None = None) -> list[Any]:
    """A control choosing several options (widget="pills" or "multiselect"), kept in
    the URL as ?key=code,code (none chosen: ?key= ; the default: no ?key). Labels
    are read as their codes; a value matching no option is dropped with a warning."""
    ss = st.session_state
    if key not in ss:
        raw = st.query_params.get(key)
        picked: list[Any] = list(default)
        if raw is not None:
            parts = [p for p in raw.split(MULTI_SEP) if p.strip()]
            found = [m[0] for p in parts if (m := _match(p, options, format_func))]
            bad = [p for p in parts if not _match(p, options, format_func)]
            if bad:
                _ignored(key, MULTI_SEP.join(bad), options, "the rest" if found else "the default")
            picked = found if found or not bad else list(default)
            picked = list(dict.fromkeys(picked))[:max_selections]
        ss[key] = picked
    register_control(key, options)
    if widget == "multiselect":
        value = st.multiselect(label, list(options), key=key, format_func=format_func, max_selections=max_selections)
    else:
        value = st.pills(label, list(options), key=key, format_func=format_func, selection_mode="multi")
    value = list(value or [])
    _write_url(key, None if value == list(default) else MULTI_SEP.join(map(str, value)))
    return value


def page_text(label: str, *, key: str, placeholder: str = "", max_chars: int = 80) -> str:
    """A text box kept in the URL as ?key=text (empty: no ?key)."""
    ss = st.session_state
    if key not in ss:
        ss[key] = (st.query_params.get(key) or "")[:max_chars]
    register_control(key, None)
    value = st.text_input(label, key=key, placeholder=placeholder, max_chars=max_chars) or ""
    _write_url(key, value or None)
    return value


def metric_picker(key: str = "metric") -> str:
    """Chronic absenteeism or suspension, kept in the URL as ?metric=."""
    return page_choice("Measure", list(registry.OUTCOMES), key=key, default="chronic_absenteeism",
                       format_func=lambda m: registry.get(m).name)


def chart_choices(chart_id: str, *, skip: Sequence[str] = (),
                  labels: Mapping[str, Callable[[Any], str]] | None = None, **given: Any) -> dict[str, Any]:
    """A catalogue chart's choices as page controls, each kept in the URL under its own
    name (csi_metrics.views.catalogue.Option); `given` fixes some, `skip` leaves some
    to the page, `labels` words an option's values for this page (a year in them)."""
    out = dict(given)
    for name, opt in catalogue.CHARTS[chart_id].options.items():
        if name in out or name in skip or opt.values is None:
            continue
        out[name] = page_choice(opt.label, list(opt.values), key=name, default=opt.default_value(),
                                format_func=(labels or {}).get(name, opt.label_of),
                                widget="select" if len(opt.values) > 6 else "segmented")
    return out
