"""The atomic build: read and validate every input, write a fresh DuckDB file
beside the target, and swap it in only when it is complete.

A failed build (bad input, a full disk, or anything else) deletes its temporary
file and leaves the previous database byte-for-byte as it was. One build at a
time per database (build_lock); a killed build's leftovers go at the next."""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import filelock
import polars as pl

from csi_metrics.ingest import boundaries as bnd
from csi_metrics.ingest import cde, initiative, matching
from csi_metrics.vocabulary import codes, config
from csi_metrics.storage import db
from csi_metrics.rules import privacy
from csi_metrics.ingest import dashboard_files as dash
from csi_metrics.vocabulary.errors import BuildError, InputError

Progress = Callable[[str], None] | None

DEMO_SEED = 2024
# Every table the build fills, in load order; names are a fixed whitelist for SQL.
TABLES = ("districts", "schools", "outcomes", "dashboard_official", "grants", "activities", "attendance",
          "impact_matches", "impact_unmatched", "impact_covariates",
          "build_info", "build_sources", "build_rejections")
COUNT_TABLES = ("spas", "reporting_categories") + TABLES


@dataclass
class BuildReport:
    db_path: Path
    mode: str
    scale: str
    seconds: float
    size_bytes: int
    tables: dict[str, int]
    schools_n: int
    unassigned_schools_n: int
    years: dict[str, list[str]]
    rejections: list[tuple[str, str, int, int | None]] = field(default_factory=list)
    dashboard_years: dict[str, list[int]] = field(default_factory=dict)  # CDE's Dashboard files read

    def summary(self) -> str:
        lines = [
            f"built {self.db_path} ({self.mode}, {self.scale}) in {self.seconds:.1f} s, "
            f"{self.size_bytes / 1e6:.1f} MB",
            "rows: " + ", ".join(f"{t} {n:,}" for t, n in self.tables.items() if not t.startswith("build_")),
            f"schools: {self.schools_n:,}, SPA unassigned: {self.unassigned_schools_n:,}",
        ]
        for metric, years in self.years.items():
            lines.append(f"{metric}: {', '.join(years) if years else 'no years'}")
        for indicator, years in self.dashboard_years.items():
            if years:
                lines.append(f"official Dashboard {indicator}: {', '.join(map(str, years))}")
        return "\n".join(lines)


def schema_version() -> str:
    """The schema's own fingerprint: changes whenever schema.sql does."""
    return hashlib.sha256(db.SCHEMA_PATH.read_bytes()).hexdigest()[:12]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _say(progress: Progress) -> Callable[[str], None]:
    return progress if progress is not None else (lambda msg: None)


def find_cde_files(cde_dir: Path) -> tuple[Path, list[tuple[str, Path]]]:
    """(pubschls.txt, [(metric, outcome file), ...]) found in cde_dir by file-name pattern."""
    if not cde_dir.is_dir():
        raise InputError(cde_dir, "CDE folder not found")
    names = sorted(cde_dir.iterdir())
    directories = [p for p in names if p.name.lower() == "pubschls.txt"]
    if len(directories) > 1:
        # Refused: either copy may be the hand-edited one, and the build cannot tell which.
        raise InputError(cde_dir, f"two Public Schools directory files, {' and '.join(p.name for p in directories)}; "
                                  "keep one (names differ only in case)")
    directory = directories[0] if directories else None
    if directory is None:
        raise InputError(cde_dir, "no pubschls.txt (CDE Public Schools directory) in this folder")
    outcomes = [(k, p) for p in names if p.is_file() and (k := cde.outcome_kind(p.name))]
    if not outcomes:
        raise InputError(cde_dir, "no chronicabsenteeism*.txt or suspension*.txt files in this folder")
    return directory, outcomes


def assign_school_spas(
    schools: pl.DataFrame,
    boundaries: "bnd.gpd.GeoDataFrame | None",
    crosswalk: pl.DataFrame | None,
) -> tuple[pl.DataFrame, list[tuple[str, int, int | None]]]:
    """Fill spa_n / spa_source. With boundaries, point-in-polygon of each school's
    coordinates; without, the crosswalk. Returns the frame and rejection rows
    (reason, count, example line) for the schools left unassigned, by why."""
    has_xy = pl.col("latitude").is_not_null() & pl.col("longitude").is_not_null()
    if boundaries is not None:
        located = schools.filter(has_xy)
        spa = bnd.assign_spa(boundaries, located["longitude"].to_pandas(), located["latitude"].to_pandas())
        spa_s = pl.Series("spa_n", spa.to_numpy(dtype="float64", na_value=float("nan"))).fill_nan(None).cast(pl.Int32)
        out = pl.concat([located.with_columns(spa_s), schools.filter(~has_xy)]).sort("_row")
        source, elsewhere = "boundary", "outside every SPA polygon: SPA unassigned"
    elif crosswalk is not None:
        out = schools.drop("spa_n").join(crosswalk.select("cds_code", "spa_n"), on="cds_code", how="left")
        out = out.select(schools.columns).sort("_row")
        source, elsewhere = "crosswalk", "not in SPA crosswalk: SPA unassigned"
    else:
        out, source, elsewhere = schools, None, "no boundary file or crosswalk: SPA unassigned"
    out = out.with_columns(
        pl.when(pl.col("spa_n").is_null()).then(None).otherwise(pl.lit(source, dtype=pl.Utf8)).alias("spa_source"))

    missing = out.filter(pl.col("spa_n").is_null())
    in_la = pl.col("county_code") == codes.LA_COUNTY_CODE
    reasons: list[tuple[str, int, int | None]] = []
    # SPAs exist only in LA County; a school elsewhere (all-counties builds) has none by definition.
    for reason, part in (("outside LA County: no SPA", missing.filter(~in_la)),
                         ("no coordinates: SPA unassigned", missing.filter(in_la & ~has_xy)),
                         (elsewhere, missing.filter(in_la & has_xy))):
        if part.height:
            reasons.append((reason, part.height, int(part["_row"][0]) + 2))
    return out, reasons


# ---------------------------------------------------------------- one build per database at a time

def lock_path(target: Path) -> Path:
    """The build lock beside the database. It stays after the build: unlinking a
    lock file lets two waiters lock two different files (filelock keeps it too)."""
    return target.with_name(f"{target.name}.lock")


def _write_pid(fd: int) -> None:
    """On acquiring: the holder's pid in the lock file, for a refused build to name."""
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError:  # a full disk: the pid is only a courtesy
        pass


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would end the process there; never treat a file as stale
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, ValueError):
        return False
    return True


@contextlib.contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """Hold the database's build lock, refusing at once (BuildError) if another
    build, in this process or another, holds it: two builds into one file would
    both report success and the slower would silently win. Re-entrant in one
    thread (build_demo calls build). Under the lock, removes stale temp files."""
    target.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(target)
    lock = filelock.FileLock(os.path.abspath(path), timeout=0, is_singleton=True, on_acquired=_write_pid)
    try:
        lock.acquire()
    except filelock.Timeout:
        try:
            pid = int(path.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        who = f" (pid {pid})" if pid and pid_alive(pid) else ""
        raise BuildError(f"{target}: another build into this database is running{who}; wait for it to finish, "
                         "or build into another --db; the database is unchanged") from None
    try:
        remove_stale_temp_files(target)
        yield
    finally:
        if lock.lock_counter == 1:
            with contextlib.suppress(OSError):
                os.truncate(path, 0)
        lock.release()


def _one_build_at_a_time(fn):
    @functools.wraps(fn)
    def locked(db_path, *args, **kwargs):
        with build_lock(Path(db_path)):
            return fn(db_path, *args, **kwargs)
    return locked


def remove_stale_temp_files(target: Path) -> None:
    """Remove `<db>.tmp-PID` (and its .wal, and DuckDB's .tmp spill folder) left by
    a build that was killed, whose PID is no longer running. The lock already
    keeps other builds out; the PID check spares a build from an older checkout
    that takes no lock."""
    stale = re.compile(re.escape(target.name) + r"\.tmp-([0-9]+)(\.wal|\.tmp)?$")
    for p in target.parent.iterdir():
        m = stale.match(p.name)
        if m and not pid_alive(int(m.group(1))):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


DEMO_TMP = re.compile(r"csi-demo-([0-9]+)-")


def remove_stale_demo_folders() -> None:
    """Remove build_demo's temp folders (up to 70 MB each) whose owner, the PID in
    the name, is no longer running. Folders without a PID are left: they may be
    a running older build's."""
    for p in Path(tempfile.gettempdir()).glob("csi-demo-*"):
        m = DEMO_TMP.match(p.name)
        if m and p.is_dir() and not p.is_symlink() and not pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)  # another user's is not ours to remove


@_one_build_at_a_time
def build(
    db_path: str | os.PathLike[str],
    cde_dir: str | os.PathLike[str],
    initiative_dir: str | os.PathLike[str],
    boundaries: str | os.PathLike[str] | None = None,
    mode: str = "real",
    all_counties: bool = False,
    progress: Progress = None,
    *,
    scale: str | None = None,
    seed: int | None = None,
    display_root: str | None = None,
) -> BuildReport:
    """Build the database at db_path from a CDE folder (pubschls.txt,
    chronicabsenteeism*.txt, suspension*.txt; optionally CDE's Dashboard files
    chronicdownload*.txt, suspdownload*.txt), an initiative folder (roster.csv,
    grants.csv, activities.csv; attendance.csv and spa_crosswalk.csv optional) and
    an optional SPA boundary file. Raises InputError for bad input; the file at
    db_path is then untouched. `display_root` replaces the input folders' common
    parent in build_sources paths (the demo's temp folder means nothing later)."""
    t0 = time.perf_counter()
    say = _say(progress)
    target = Path(db_path)
    cde_dir, initiative_dir = Path(cde_dir), Path(initiative_dir)
    scale = scale or ("state" if all_counties else "county")

    sources: list[tuple[str, str, str, int, int]] = []
    rejections: list[tuple[str, str, int, int | None]] = []

    def shown(p: Path) -> str:
        if display_root is not None:
            try:
                return f"{display_root}/{p.relative_to(cde_dir.parent).as_posix()}"
            except ValueError:
                pass
        return str(p.resolve())

    def record(p: Path, kind: str, rows_n: int, kept_n: int, rej: list[cde.Rejection] = ()) -> None:
        sources.append((shown(p), kind, sha256_file(p), rows_n, kept_n))
        rejections.extend((shown(p), r.reason, r.rows_n, r.example_line_n) for r in rej)

    # --- CDE files
    directory_path, outcome_files = find_cde_files(cde_dir)
    say(f"reading {directory_path.name}")
    directory = cde.read_directory(directory_path, all_counties=all_counties)
    record(directory_path, "directory", directory.rows_n, directory.rows_kept_n, directory.rejections)

    frames: list[pl.DataFrame] = []
    seen: dict[tuple[str, str], Path] = {}
    for metric, path in outcome_files:
        say(f"reading {path.name}")
        res = cde.read_outcomes(path, cde.CHRONIC_LAYOUT if metric == "chronic_absenteeism" else cde.SUSPENSION_LAYOUT,
                                all_counties, directory)
        for year in cde.year_of(res.frame):
            if (metric, year) in seen:
                raise InputError(path, f"{metric} {year} was already read from {seen[(metric, year)].name}; "
                                       "keep one file per year", column=cde.CHRONIC_LAYOUT.year
                                 if metric == "chronic_absenteeism" else cde.SUSPENSION_LAYOUT.year)
            seen[(metric, year)] = path
        record(path, metric, res.rows_n, res.rows_kept_n, res.rejections)
        frames.append(res.frame)
    outcomes = pl.concat(frames) if frames else pl.DataFrame(schema=cde.OUTCOME_SCHEMA)
    official, dashboard_years = read_dashboard_files(cde_dir, all_counties, directory, say, record)
    say("deciding which cells may be shown (suppression under 11 and complementary cells)")
    outcomes = privacy.cell_visibility(outcomes)

    # --- initiative files
    def ini(name: str) -> Path | None:
        p = initiative_dir / name
        if p.exists():
            return p
        if name in initiative.OPTIONAL_FILES:
            return None
        raise InputError(p, f"file not found; copy data/templates/{name} into {initiative_dir} and fill it in")

    if not initiative_dir.is_dir():
        raise InputError(initiative_dir, "initiative folder not found")
    say("reading initiative records")
    roster = initiative.read_roster(ini("roster.csv"))
    grants = initiative.read_grants(ini("grants.csv"))
    activities = initiative.read_activities(ini("activities.csv"))
    att_path, xw_path = ini("attendance.csv"), ini("spa_crosswalk.csv")
    attendance = initiative.read_attendance(att_path) if att_path else None
    crosswalk = initiative.read_spa_crosswalk(xw_path) if xw_path else None
    grantees_path = ini("ccspp_grantees.csv")
    grantees = initiative.read_ccspp_grantees(grantees_path) if grantees_path else None
    for res in (roster, grants, activities, attendance, crosswalk, grantees):
        if res is not None:
            record(res.path, res.kind, res.rows_n, res.rows_kept_n)

    # --- SPA assignment
    schools = directory.schools
    boundary_gdf = None
    boundary_source = "none"
    if boundaries is not None:
        bpath = Path(boundaries)
        say(f"reading SPA boundaries {bpath.name}")
        boundary_gdf = bnd.load_spa_boundaries(bpath)
        missing = bnd.missing_spas(boundary_gdf)
        if missing:
            raise InputError(bpath, f"boundary file lacks SPA {', '.join(map(str, missing))}", column="SPA_NUM")
        record(bpath, "boundaries", len(boundary_gdf), len(boundary_gdf))
        boundary_source = f"{config.boundary_kind(bpath)}: {shown(bpath)}"
    elif crosswalk is not None:
        boundary_source = f"crosswalk {shown(crosswalk.path)}"
    say("assigning schools to SPAs")
    schools, spa_rej = assign_school_spas(schools, boundary_gdf, crosswalk.frame if crosswalk else None)
    rejections.extend((shown(directory_path), reason, n, line) for reason, n, line in spa_rej)

    # --- cross-file checks, then the roster onto schools
    known_schools = schools["cds_code"]
    initiative.check_known(roster.frame, roster.path, "cds_code", known_schools,
                           f"a school in the directory {directory_path.name}")
    dist_codes = directory.districts["district_code"] + "0000000"
    initiative.check_known(activities.frame, activities.path, "cds_code", pl.concat([known_schools, dist_codes]),
                           f"a school or district in the directory {directory_path.name}")
    rejections.extend((shown(grants.path), r.reason, r.rows_n, r.example_line_n)
                      for r in initiative.grantees_not_in_directory(grants.frame, directory, all_counties))
    if attendance is not None:
        initiative.check_known(attendance.frame, attendance.path, "activity_id", activities.frame["activity_id"],
                               "an activity_id in activities.csv")
    schools = schools.drop("is_community", "ccspp_cohort", "grant_type", "first_grant_year").join(
        roster.frame.select(
            "cds_code",
            pl.lit(True).alias("is_community"),
            pl.col("cohort").alias("ccspp_cohort"),
            "grant_type",
            "first_grant_year",
        ),
        on="cds_code",
        how="left",
    ).with_columns(pl.col("is_community").fill_null(False))
    # An activity logged at a school but without an SPA takes the school's.
    acts = activities.frame.join(schools.select("cds_code", pl.col("spa_n").alias("_school_spa")),
                                 on="cds_code", how="left")
    acts = acts.with_columns(pl.coalesce("spa_n", "_school_spa").alias("spa_n")).drop("_school_spa")

    # --- matched comparison schools for the impact study (csi_metrics.ingest.matching)
    say("matching comparison schools to community schools")
    t_match = time.perf_counter()
    excluded = set(grants.frame.filter(pl.col("grantee_level") == "school")["grantee_cds"].to_list())
    if grantees is not None:
        excluded |= set(grantees.frame["cds_code"].to_list())
    impact_matches, impact_unmatched, impact_covariates = matching.match_schools(schools, outcomes, excluded)
    match_seconds = time.perf_counter() - t_match

    unassigned_n = schools.filter(pl.col("spa_n").is_null()).height
    info = {
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": mode,
        "scale": scale,
        "county_filter": "none" if all_counties else codes.LA_COUNTY_CODE,
        "schema_version": schema_version(),
        "schools_n": str(schools.height),
        "unassigned_schools_n": str(unassigned_n),
        # All-counties builds: schools outside LA County have no SPA by definition.
        "outside_la_schools_n": str(schools.filter(pl.col("county_code") != codes.LA_COUNTY_CODE).height),
        "boundary_source": boundary_source,
        "impact_match_seconds": f"{match_seconds:.2f}",
        "impact_match_rule": f"nearest neighbour 1:{matching.K} with replacement, exact school type, "
                             f"caliper {matching.CALIPER} (RMS standardised difference)",
    }
    if seed is not None:
        info["demo_seed"] = str(seed)
    for metric in codes.METRICS:
        yrs = outcomes.filter(pl.col("metric") == metric)["academic_year"].unique().sort().to_list()
        info[f"years_{metric}"] = ",".join(yrs)
    for indicator in dash.INDICATORS:  # CDE's own Dashboard files read (optional; may be none)
        info[f"dashboard_years_{indicator}"] = ",".join(map(str, dashboard_years[indicator]))
    # What the suppression pattern hid, for `info` and the About page.
    info["cells_n"] = str(outcomes.height)
    hidden = dict(outcomes.group_by("hidden_reason").len().drop_nulls("hidden_reason").iter_rows())
    for reason in (privacy.HIDDEN_CDE, privacy.HIDDEN_SMALL, privacy.HIDDEN_COMPLEMENT):
        info[f"hidden_{reason}_n"] = str(hidden.get(reason, 0))

    say(f"ordering {outcomes.height:,} outcome rows for storage")
    frames_by_table: dict[str, pl.DataFrame] = {
        "districts": directory.districts,
        "schools": schools.drop("_row"),
        # Stored in the order the metrics filter by (metric, school level, student
        # group, then CDS code, which starts with the county): DuckDB's per-row-group
        # min/max then skips most of the table, about halving a pooled-rate query at
        # state scale (docs/benchmarks.md).
        "outcomes": sort_by_packed_key(outcomes, OUTCOMES_STORAGE_ORDER),
        "dashboard_official": official,
        "grants": grants.frame,
        "activities": acts.drop("_row"),
        "attendance": attendance.frame.drop("_row") if attendance else pl.DataFrame(
            schema={"activity_id": pl.Utf8, "person_key": pl.Utf8}),
        "impact_matches": impact_matches,
        "impact_unmatched": impact_unmatched,
        "impact_covariates": impact_covariates,
        "build_info": pl.DataFrame({"key": list(info), "value": list(info.values())}),
        "build_sources": pl.DataFrame(sources, schema=["path", "kind", "sha256", "rows_n", "rows_kept_n"],
                                      orient="row"),
        "build_rejections": pl.DataFrame(rejections, schema=["path", "reason", "rows_n", "example_line_n"],
                                         orient="row"),
    }
    write_atomic(target, frames_by_table, say)

    size = target.stat().st_size
    con = duckdb.connect(str(target), read_only=True)
    try:
        tables = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNT_TABLES}
    finally:
        con.close()
    years = {m: [y for y in info[f"years_{m}"].split(",") if y] for m in codes.METRICS}
    return BuildReport(target, mode, scale, time.perf_counter() - t0, size, tables, schools.height,
                       unassigned_n, years, rejections, dashboard_years)


def read_dashboard_files(cde_dir: Path, all_counties: bool, directory: cde.DirectoryResult,
                         say: Callable[[str], None], record: Callable[..., None],
                         ) -> tuple[pl.DataFrame, dict[str, list[int]]]:
    """Every chronicdownload*.txt / suspdownload*.txt in cde_dir (none is fine), read and
    recorded as the other CDE files are; a second file for an indicator's Dashboard year is refused.
    Returns the `dashboard_official` rows and the Dashboard years read, by indicator."""
    frames: list[pl.DataFrame] = []
    seen: dict[tuple[str, int], Path] = {}
    for indicator, path in dash.find_files(cde_dir):
        say(f"reading {path.name}")
        res = dash.read_dashboard_file(path, all_counties, directory)
        slot = (indicator, res.dashboard_year)
        if slot in seen:
            raise InputError(path, f"{indicator} Dashboard {res.dashboard_year} was already read from "
                                   f"{seen[slot].name}; keep one file per Dashboard year")
        seen[slot] = path
        record(path, res.kind, res.rows_n, res.rows_kept_n, res.rejections)
        frames.append(res.frame)
    years = {i: sorted(y for k, y in seen if k == i) for i in dash.INDICATORS}
    if not frames:
        return pl.DataFrame(schema=dash.TABLE_SCHEMA), years
    return pl.concat(frames).sort("indicator", "dashboard_year", "rtype", "cds_code", "dashboard_group",
                                  "school_or_lea_type", nulls_last=True), years


OUTCOMES_STORAGE_ORDER = ("metric", "aggregate_level", "reporting_category", "cds_code", "academic_year")


def sort_by_packed_key(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """frame sorted by the string columns in order, via one integer key.

    Each column becomes its rank among its own distinct values, and the ranks
    are packed into one UInt64 (the product of the cardinalities is small: about
    2 x 4 x 26 x 11,000 x 7 at state scale). On the state demo's 3 million rows
    this took 11 s where a five-column string sort took 100 s on a busy
    2-core machine."""
    key = pl.lit(0, dtype=pl.UInt64)
    for col in columns:
        values = frame[col].unique().sort()
        key = key * len(values) + pl.col(col).cast(pl.Enum(values.to_list())).to_physical().cast(pl.UInt64)
    return frame.sort(key)


def write_atomic(target: Path, frames: dict[str, pl.DataFrame], say: Callable[[str], None]) -> None:
    """Write every frame into a new file beside target, then os.replace it onto target.
    A full disk ends in one BuildError naming the temp file and the space needed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    wal = tmp.with_name(tmp.name + ".wal")
    _remove(tmp)
    try:
        con = duckdb.connect(str(tmp))
        try:
            db.apply_schema(con)
            for table in TABLES:
                frame = frames[table]
                say(f"writing {table} ({frame.height:,} rows)")
                arrow = frame.to_arrow()
                con.register("_incoming", arrow)
                # BY NAME: column order in the frame need not follow schema.sql.
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
                con.unregister("_incoming")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, target)
    except BaseException as exc:
        written = sum(p.stat().st_size for p in (tmp, wal) if p.exists())
        _remove(tmp)
        _remove(wal)
        if _disk_full(exc):
            raise BuildError(_disk_full_message(tmp, target, frames, written)) from exc
        raise
    finally:
        _remove(wal)


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    # DuckDB reports it as its own IOException or FatalException, with the OS's text.
    return isinstance(exc, duckdb.Error) and "No space left on device" in str(exc)


def _disk_full_message(tmp: Path, target: Path, frames: dict[str, pl.DataFrame], written: int) -> str:
    # The previous database is the best guide to the new one's size; the tables'
    # in-memory size (which DuckDB compresses) and what was written so far bound it.
    previous = target.stat().st_size if target.exists() else 0
    needed = max(previous, written, sum(f.estimated_size() for f in frames.values()))
    free = shutil.disk_usage(target.parent).free  # measured after the temp file went
    kept = "the previous database is unchanged" if target.exists() else "no database was written"
    return (f"{tmp}: no space left on device while writing the new database (about {needed / 1e6:.1f} MB "
            f"needed, {free / 1e6:.1f} MB free); {kept}")


def _remove(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass


@_one_build_at_a_time
def build_demo(
    db_path: str | os.PathLike[str],
    scale: str = "county",
    boundaries: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    progress: Progress = None,
) -> BuildReport:
    """Generate the embedded demo (csi_metrics.ingest.demo) into a temp folder in the real
    CDE layouts and build it through the same readers, mode 'demo'. The state
    scale covers every county, so it is built without the county filter."""
    from csi_metrics.ingest import demo  # the generator is large and only needed here

    if scale not in ("county", "state"):
        raise ValueError(f"scale must be 'county' or 'state', not {scale!r}")
    seed = getattr(demo, "DEFAULT_SEED", DEMO_SEED) if seed is None else seed
    say = _say(progress)
    remove_stale_demo_folders()
    # The PID in the name tells a later build whether the folder's owner still runs.
    with tempfile.TemporaryDirectory(prefix=f"csi-demo-{os.getpid()}-") as tmp:
        out = Path(tmp)
        say(f"generating the {scale} demo (seed {seed})")
        t0 = time.perf_counter()
        demo.generate(out, scale, seed)
        say(f"generated in {time.perf_counter() - t0:.1f} s")
        report = build(db_path, out / "cde", out / "initiative", boundaries, mode="demo",
                       all_counties=(scale == "state"), progress=progress, scale=scale, seed=seed,
                       display_root="demo")
    report.seconds = time.perf_counter() - t0  # generation included: it is part of what a user waits for
    return report
