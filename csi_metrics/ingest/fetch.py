"""Downloading the official files: the CDE Public Schools directory, the
Chronic Absenteeism and Suspension files (DataQuest) and CDE's California School
Dashboard indicator files for the same years, into one folder that
`python -m csi_metrics build --cde-dir` reads.

Each file is written to a temporary name beside its target and renamed over it
only when it is complete and its header is the CDE layout, so a failed or
interrupted download (or an HTML error page served with status 200) never
replaces a good copy. A manifest (`MANIFEST.tsv`) records where each file came
from, when, its size and sha256."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from csi_metrics.ingest import cde
from csi_metrics.ingest import dashboard_files as dash
from csi_metrics.vocabulary.errors import InputError

# CDE's own file names, by academic year (filesabd.asp, filessd.asp). CDE revises a
# year's file under a new name ("-v2", "-v3"); when a name here goes stale the
# download fails with a 404 naming the URL, and `--url` takes the new one.
# Names checked against the research notes on CDE's files (cde_dashboard.md §4.1:
# third-party code; CDE's file-list pages were not captured). Where two names are attested, the one
# here is the one the most recent code (which also has the 2024-25 "-v2" files)
# fetches; the other is kept in a comment. Files saved under another name must be
# renamed to the one here: the build finds files by these names.
CHRONIC_FILES = {
    # Also attested, in older code: attendance/chrabs1819.txt (CDE's earlier name; the
    # run-together layout, read through cde.CHRONIC_LAYOUT's aliases). Save it as chronicabsenteeism19.txt.
    "2018-19": "attendance/chronicabsenteeism19.txt",
    # 2019-20: not published (no chronic absenteeism data for the pandemic year).
    # Also attested, in older code: attendance/chrabs2021.txt (save it as chronicabsenteeism21.txt).
    "2020-21": "attendance/chronicabsenteeism21.txt",
    "2021-22": "attendance/chronicabsenteeism22-v3.txt",  # -v2 also attested; -v3 is the later revision
    "2022-23": "attendance/chronicabsenteeism23.txt",
    "2023-24": "attendance/chronicabsenteeism24.txt",
    "2024-25": "attendance/chronicabsenteeism25-v2.txt",  # the reissue of chronicabsenteeism25.txt
}
SUSPENSION_FILES = {
    "2018-19": "discipline/suspension19.txt",
    "2019-20": "discipline/suspension20.txt",
    "2020-21": "discipline/suspension21.txt",
    "2021-22": "discipline/suspension22-v2.txt",
    "2022-23": "discipline/suspension23.txt",
    "2023-24": "discipline/suspension24.txt",
    "2024-25": "discipline/suspension25-v2.txt",
}
KNOWN_YEARS = sorted(set(CHRONIC_FILES) | set(SUSPENSION_FILES))
# The Dashboard files (under the Dashboard base URL) for the Dashboard year that reports
# each academic year's data: 2023-24 -> chronicdownload2024.txt, suspdownload2024.txt.
# None for 2019-20 and 2020-21: there was no 2020 or 2021 Dashboard. Some public
# scripts spell the suspension file SUSPdownloadYYYY.txt, others suspdownloadYYYY.txt;
# CDE serves these from IIS on Windows, which matches paths without regard to case,
# so the lower-case name fetches the same file (not checked against the live server
# here; `--url` takes any spelling, and the build finds the files in any case).
DASHBOARD_YEARS = {y: dash.dashboard_year_of(y) for y in KNOWN_YEARS
                   if dash.dashboard_year_of(y) not in dash.NO_DASHBOARD_YEARS}
DIRECTORY_FILE = "pubschls.txt"
MANIFEST = "MANIFEST.tsv"
TIMEOUT_S = 120
CHUNK = 1 << 16


class DownloadError(Exception):
    """A URL that could not be fetched (network, HTTP status); str() names the URL."""

    def __init__(self, url: str, reason: str):
        self.url, self.reason = url, reason
        super().__init__(f"cannot download {url}: {reason}")


@dataclass(frozen=True)
class Fetched:
    url: str
    path: Path
    bytes_n: int
    sha256: str


@dataclass(frozen=True)
class Wanted:
    """One file to fetch: where from, the name to save it under, and what it must be."""

    url: str
    name: str
    kind: str  # 'directory' | 'chronic_absenteeism' | 'suspension' | 'dashboard_chronic_absenteeism' | 'dashboard_suspension'


def download(url: str, out: Path, *, check: Callable[[Path], None] | None = None,
             timeout_s: float = TIMEOUT_S) -> Fetched:
    """Fetch `url` into `out` atomically: a temp file beside it, `check(temp)`
    (raise InputError to refuse it), then a rename. Raises DownloadError when
    the URL cannot be fetched; `out` is untouched on any failure."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    size = 0
    try:
        try:
            with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout_s) as resp:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
            else:
                reason = getattr(exc, "reason", None) or exc
            raise DownloadError(url, str(reason)) from None
        if size == 0:
            raise InputError(url, "the download is empty")
        if check is not None:
            check(tmp)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return Fetched(url, out, size, digest.hexdigest())


def _header(path: Path) -> list[str]:
    with open(path, "rb") as f:
        first = f.readline(1 << 16)
    text, _enc = cde.decode_bytes(first.rstrip(b"\r\n"), path)
    return text.decode("utf-8").split("\t")


_DASHBOARD_KINDS = {kind: indicator for indicator, kind in dash.SOURCE_KIND.items()}


def header_check(kind: str, url: str) -> Callable[[Path], None]:
    """A check that the file's first line has every column its CDE layout needs
    (by name, any order; an older year's names too, as the readers take them:
    cde.choose_columns; Dashboard files' names in any case, for the Dashboard
    year in the URL's file name); the error names the URL, since the temp file is gone."""
    if kind in _DASHBOARD_KINDS:
        indicator = _DASHBOARD_KINDS[kind]
        year = dash.year_of_name(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
        what = f"not a CDE Dashboard {indicator.replace('_', ' ')} file"

        def problems_of(header: list[str]) -> list[tuple[str, str]]:
            return [(c, f"missing column {c!r}") for c in dash.missing_columns(header, indicator, year)]
    else:
        layout = {"chronic_absenteeism": cde.CHRONIC_LAYOUT, "suspension": cde.SUSPENSION_LAYOUT}.get(kind)
        wanted = layout.expected if layout else {"directory": cde.DIRECTORY_COLUMNS}[kind]
        optional = layout.optional if layout else frozenset()
        what = f"not a CDE {kind.replace('_', ' ')} file"

        def problems_of(header: list[str]) -> list[tuple[str, str]]:
            return cde.choose_columns(header, wanted, optional)[1]

    def check(path: Path) -> None:
        try:
            have = _header(path)
        except InputError as exc:
            raise InputError(url, f"{what}: {exc.message}", line=1) from None
        problems = problems_of(have)
        if problems:
            twice = [(c, msg) for c, msg in problems if not msg.startswith("missing column")]
            if twice:  # one column under two names: the reader would refuse it
                raise InputError(url, f"{what}: {twice[0][1]}", line=1, column=twice[0][0])
            missing = [c for c, _msg in problems]
            looks = " (it looks like a web page)" if any("<" in h for h in have) else ""
            raise InputError(url, f"{what}{looks}: its header lacks "
                             + ", ".join(repr(c) for c in missing[:4]) + ("..." if len(missing) > 4 else ""),
                             line=1, column=missing[0])
    return check


def wanted_files(years: Iterable[str], base_url: str, directory_url: str,
                 extra_urls: Iterable[str] = (), dashboard_url: str | None = None) -> list[Wanted]:
    """The directory, then each metric's file for each of `years` that CDE
    publishes (and, with dashboard_url, the Dashboard files of the Dashboard year
    reporting it), then any explicit URLs (their kind from the file name)."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    out = [Wanted(directory_url, DIRECTORY_FILE, "directory")]
    for year in years:
        if year not in CHRONIC_FILES and year not in SUSPENSION_FILES:
            raise ValueError(f"--years: no CDE files known for {year!r} (known: {', '.join(KNOWN_YEARS)})")
        for kind, table in (("chronic_absenteeism", CHRONIC_FILES), ("suspension", SUSPENSION_FILES)):
            if year in table:
                rel = table[year]
                out.append(Wanted(urllib.parse.urljoin(base, rel), rel.rsplit("/", 1)[-1], kind))
        if dashboard_url is not None and year in DASHBOARD_YEARS:
            dbase = dashboard_url if dashboard_url.endswith("/") else dashboard_url + "/"
            for indicator in dash.INDICATORS:
                name = dash.file_name(indicator, DASHBOARD_YEARS[year])
                out.append(Wanted(urllib.parse.urljoin(dbase, name), name, dash.SOURCE_KIND[indicator]))
    for url in extra_urls:
        name = urllib.parse.urlparse(url).path.rsplit("/", 1)[-1]
        kind = "directory" if name.lower() == DIRECTORY_FILE else cde.outcome_kind(name)
        if kind is None and (indicator := dash.indicator_of(name)):
            kind = dash.SOURCE_KIND[indicator]
        if kind is None:
            raise ValueError(f"--url {url}: the file name must be pubschls.txt, chronicabsenteeism*.txt, "
                             "suspension*.txt, chronicdownload*.txt or suspdownload*.txt (the build finds files "
                             "by these names)")
        # A revised file (chronicabsenteeism25-v3.txt) replaces the one named for the same year.
        out = [w for w in out if _slot(w.name) != _slot(name)] + [Wanted(url, name, kind)]
    return out


def _slot(name: str) -> str:
    """'pubschls', or the file family and its year: 'chronicabsenteeism25', 'suspdownload2025'."""
    m = re.match(r"(chronicabsenteeism|suspension)(\d{2})|(chronicdownload|suspdownload)(\d{4})", name.lower())
    return m.group(0) if m else name.lower().removesuffix(".txt")


def fetch_all(wanted: list[Wanted], out_dir: Path,
              progress: Callable[[str], None] = lambda _m: None) -> tuple[list[Fetched], list[str]]:
    """Fetch every file; one failure does not stop the others. Returns what was
    saved and one message per failure. The manifest is rewritten with every
    file now in the folder that it knows of (earlier rows kept)."""
    saved: list[Fetched] = []
    failed: list[str] = []
    for i, w in enumerate(wanted, 1):
        progress(f"({i}/{len(wanted)}) {w.url}")
        try:
            saved.append(download(w.url, out_dir / w.name, check=header_check(w.kind, w.url)))
        except (DownloadError, InputError) as exc:
            failed.append(str(exc))
    _write_manifest(out_dir, saved)
    return saved, failed


def _write_manifest(out_dir: Path, saved: list[Fetched]) -> None:
    path = out_dir / MANIFEST
    rows: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            name = line.split("\t", 1)[0]
            if name and (out_dir / name).exists():
                rows[name] = line
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for f in saved:
        rows[f.path.name] = "\t".join((f.path.name, f.url, now, str(f.bytes_n), f.sha256))
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{MANIFEST}.part")
    tmp.write_text("file\turl\tfetched_utc\tbytes\tsha256\n" + "".join(rows[k] + "\n" for k in sorted(rows)),
                   encoding="utf-8")
    os.replace(tmp, path)
