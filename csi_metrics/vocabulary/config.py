"""Where things live. Resolved here only: an explicit argument wins, then an
environment variable, then a default under data/."""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"

DEFAULT_DB = DATA_DIR / "csi.duckdb"
DEFAULT_BOUNDARIES = DATA_DIR / "boundaries" / "la_county_spa_2022.geojson"
# The official 2022 layer simplified for display, shipped in the repository with its
# provenance beside it (`python -m csi_metrics simplify-boundaries` regenerates it).
SHIPPED_BOUNDARIES = DATA_DIR / "spa" / "la_county_spa_2022_simplified.geojson"

# LA County eGIS, "Service Planning Areas (2022)": fields SPA, SPA_NAME, SPA_NUM.
DEFAULT_BOUNDARIES_URL = (
    "https://public.gis.lacounty.gov/public/rest/services/LACounty_Dynamic/"
    "Administrative_Boundaries/FeatureServer/23/query?where=1%3D1&outFields=*&outSR=4326&f=geojson"
)


# The attendee page (csi_metrics.views.publish): Streamlit serves the folder `static/` next to
# its entry script at /app/static/ (server.enableStaticServing), so a page published here is on
# the live server at ATTENDEE_URL_PATH, and csi_app.serve answers the short /attendees with it.
STATIC_DIR = PROJECT_ROOT / "static"


def attendee_folder(value: str | None = None) -> str:
    """The attendee page's folder under static/: `value`, else $CSI_ATTENDEE_FOLDER, else
    "attendees" (a second server on one checkout, such as the browser tests', publishes into
    its own folder instead of over the presenter's). One plain name: no path, nothing hidden."""
    name = value if value is not None else os.environ.get("CSI_ATTENDEE_FOLDER", "attendees")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}", name):
        raise ValueError(f"CSI_ATTENDEE_FOLDER must be one folder name of letters, digits, '-' and '_' "
                         f"(under {STATIC_DIR}), not {name!r}")
    return name


ATTENDEE_FOLDER = attendee_folder()
ATTENDEE_DIR = STATIC_DIR / ATTENDEE_FOLDER
ATTENDEE_URL_PATH = f"/app/static/{ATTENDEE_FOLDER}/index.html"
ATTENDEE_SHORT_PATH = "/attendees"


# The words a switch (a setting or a URL parameter such as ?present=) reads as on and as off.
ON_WORDS = frozenset({"1", "true", "yes", "on"})
OFF_WORDS = frozenset({"0", "false", "no", "off"})


def first_paint(value: str | None = None) -> bool:
    """Whether csi_app.serve sends each page's picture (csi_app.firstpaint): `value`, else
    $CSI_FIRST_PAINT, else on. Off is the page exactly as Streamlit sends it, for a server
    that should spend no CPU rendering pictures (a replica kept for signed-in analysts)."""
    raw = value if value is not None else os.environ.get("CSI_FIRST_PAINT", "1")
    word = raw.strip().lower()
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise ValueError(f"CSI_FIRST_PAINT must be one of {sorted(ON_WORDS | OFF_WORDS)}, not {raw!r}")


DEFAULT_CDE_DIR = DATA_DIR / "cde"
# Where CDE serves the outcome files (under attendance/ and discipline/) and the directory.
DEFAULT_CDE_BASE_URL = "https://www3.cde.ca.gov/demo-downloads/"
DEFAULT_CDE_DIRECTORY_URL = "https://www.cde.ca.gov/schooldirectory/report?rid=dl1&tp=txt"
# Where CDE serves the California School Dashboard indicator files (chronicdownloadYYYY.txt, ...).
DEFAULT_CDE_DASHBOARD_URL = "https://www3.cde.ca.gov/researchfiles/cadashboard/"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The DuckDB file: explicit path, else $CSI_DB, else data/csi.duckdb."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CSI_DB")
    return Path(env) if env else DEFAULT_DB


def boundary_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The SPA boundary file: explicit path, else $CSI_BOUNDARIES, else the full
    official layer data/boundaries/la_county_spa_2022.geojson if `fetch-boundaries`
    has put one there, else the shipped display layer (None only if that was deleted)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CSI_BOUNDARIES")
    if env:
        return Path(env)
    for p in (DEFAULT_BOUNDARIES, SHIPPED_BOUNDARIES):
        if p.exists():
            return p
    return None


def boundary_kind(path: str | os.PathLike[str] | None) -> str:
    """What a boundary file is, in words for `info` and the build record."""
    if path is None:
        return "none"
    p = Path(path).resolve()
    if p == SHIPPED_BOUNDARIES.resolve():
        return "shipped display layer (official 2022 layer simplified; fetch-boundaries gives the full one)"
    if p == DEFAULT_BOUNDARIES.resolve():
        return "full official layer"
    return "boundary file"


def boundaries_url(explicit: str | None = None) -> str:
    """Where fetch-boundaries downloads from: explicit, else $CSI_BOUNDARIES_URL, else LA County eGIS."""
    return explicit or os.environ.get("CSI_BOUNDARIES_URL") or DEFAULT_BOUNDARIES_URL


def cde_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where fetch-cde saves the CDE files: explicit, else $CSI_CDE_DIR, else data/cde."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("CSI_CDE_DIR")
    return Path(env) if env else DEFAULT_CDE_DIR


def cde_base_url(explicit: str | None = None) -> str:
    """Base URL of CDE's outcome downloads: explicit, else $CSI_CDE_BASE_URL, else CDE's."""
    return explicit or os.environ.get("CSI_CDE_BASE_URL") or DEFAULT_CDE_BASE_URL


def cde_directory_url(explicit: str | None = None) -> str:
    """The Public Schools directory download: explicit, else $CSI_CDE_DIRECTORY_URL, else CDE's."""
    return explicit or os.environ.get("CSI_CDE_DIRECTORY_URL") or DEFAULT_CDE_DIRECTORY_URL


def cde_dashboard_url(explicit: str | None = None) -> str:
    """Base URL of CDE's Dashboard indicator files: explicit, else $CSI_CDE_DASHBOARD_URL, else CDE's."""
    return explicit or os.environ.get("CSI_CDE_DASHBOARD_URL") or DEFAULT_CDE_DASHBOARD_URL
