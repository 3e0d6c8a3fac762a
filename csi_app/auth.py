"""Optional sign-in for the initiative's internal records (its activity and
referral records: csi_metrics.storage.db.INTERNAL_TABLES).

Who may read what is decided once, by the data: a signed-out session's
database connection has no internal tables (csi_app.data.access_level,
db.open_for_display), so any chart, table, CSV, map measure, deck slide or
export built from them raises db.SignInRequired, and the entry script (or the
deck) draws `sign_in_prompt` in its place. No page checks sign-in itself.

Configured means an `[auth]` section in Streamlit's secrets
(.streamlit/secrets.toml): redirect_uri, cookie_secret and an OIDC provider,
either inline (client_id, client_secret, server_metadata_url) or as named
`[auth.<provider>]` sections. Without it every page is public, as the README says."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

# Keys of [auth] that are settings, not provider sections.
_AUTH_SETTINGS = {"redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url",
                  "client_kwargs", "expose_tokens"}


def _auth_section() -> Mapping | None:
    try:
        section = st.secrets.get("auth")
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):  # no secrets file at all
        return None
    return section if isinstance(section, Mapping) and len(section) else None


def sign_in_configured() -> bool:
    return _auth_section() is not None


def _providers(section: Mapping) -> list[str]:
    return [k for k, v in section.items() if k not in _AUTH_SETTINGS and isinstance(v, Mapping)]


def signed_in() -> bool:
    return bool(getattr(st.user, "is_logged_in", False))


def sign_in_prompt(what: str = "This view", *, key: str = "login") -> None:
    """What a signed-out viewer sees in place of a view built from internal records."""
    section = _auth_section() or {}
    st.info(f"{what} shows the initiative's internal records. Sign in with your organisation account to see it; "
            "the public figures need no sign-in.", icon=":material/lock:")
    providers = _providers(section)
    if len(providers) > 1:
        for name in providers:
            st.button(f"Sign in with {name}", key=f"{key}_{name}", on_click=st.login, args=(name,))
    else:
        st.button("Sign in", key=key, on_click=st.login, args=tuple(providers))
