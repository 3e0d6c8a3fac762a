"""Optional sign-in for the internal pages (the initiative's own activity and
referral records). Public pages never call this.

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


def require_sign_in_if_configured(what: str = "This page") -> None:
    """Stop the page with a sign-in prompt unless sign-in is unconfigured or the
    viewer is signed in. Call it before anything internal is loaded or drawn."""
    section = _auth_section()
    if section is None or signed_in():
        return
    st.info(f"{what} shows the initiative's internal records. Sign in with your organisation account to see it; "
            "every other page is public.", icon=":material/lock:")
    providers = _providers(section)
    if len(providers) > 1:
        for name in providers:
            st.button(f"Sign in with {name}", key=f"login_{name}", on_click=st.login, args=(name,))
    else:
        st.button("Sign in", key="login", on_click=st.login, args=tuple(providers))
    st.stop()
