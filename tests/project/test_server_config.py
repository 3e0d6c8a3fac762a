"""The server settings in .streamlit/config.toml: each is a real Streamlit option
(a misspelt key is ignored silently by Streamlit) and has the value the product
depends on: no usage statistics sent (offline halls, no calling home), no
developer toolbar for leaders, and no forced full garbage collection after every
run (it made a convening's crowd wait; docs/benchmarks.md)."""

from __future__ import annotations

import tomllib

from streamlit import config as st_config
import fixture_paths

CONFIG = fixture_paths.REPO / ".streamlit" / "config.toml"
WANTED = {
    "browser.gatherUsageStats": False,
    "client.toolbarMode": "viewer",
    "runner.postScriptGC": False,
}


def _flat(doc: dict) -> dict[str, object]:
    return {f"{section}.{key}": value for section, opts in doc.items() for key, value in opts.items()}


def test_every_setting_is_a_streamlit_option():
    settings = _flat(tomllib.loads(CONFIG.read_text(encoding="utf-8")))
    known = st_config.get_config_options()
    unknown = sorted(k for k in settings if k not in known)
    assert not unknown, f"{CONFIG}: not Streamlit options: {unknown}"


def test_settings_the_product_depends_on():
    settings = _flat(tomllib.loads(CONFIG.read_text(encoding="utf-8")))
    for key, value in WANTED.items():
        assert settings.get(key) == value, f"{CONFIG}: {key} should be {value!r}, is {settings.get(key)!r}"
