"""`python -m csi_metrics build / info / fetch-cde / fetch-boundaries / simplify-boundaries / report / impact /
publish / bench`.

Exit codes: 0 done, 2 bad input (InputError; the database is untouched),
1 anything else a user can act on (no database yet, download failed, and
BuildError: the disk filled up while writing, or another build into the same
database is running; the database is untouched then too)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from csi_metrics.vocabulary import config
from csi_metrics.vocabulary.errors import BuildError, InputError


def _progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parser(with_report: bool = False) -> argparse.ArgumentParser:
    """The argument parser. The report subcommand's own arguments are added only
    when it is the command being run, so the other commands never import it."""
    p = argparse.ArgumentParser(prog="python -m csi_metrics", description="CSI Dashboard data tools")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the DuckDB file (atomically: a failed build changes nothing)")
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("--demo", action="store_true", help="build the embedded, fictional demo")
    src.add_argument("--cde-dir", type=Path, help="folder with pubschls.txt, chronicabsenteeism*.txt, suspension*.txt")
    b.add_argument("--initiative-dir", type=Path, help="folder with roster.csv, grants.csv, activities.csv, ...")
    b.add_argument("--boundaries", type=Path,
                   help="SPA boundary file (eGIS 2022 or 2012 layer); default $CSI_BOUNDARIES or a fetched file")
    b.add_argument("--scale", choices=("county", "state"), default="county", help="demo size (default county)")
    b.add_argument("--seed", type=int, help="demo seed")
    b.add_argument("--all-counties", action="store_true", help="keep every county, not only Los Angeles (19)")
    b.add_argument("--db", help="database file (default $CSI_DB or data/csi.duckdb)")

    i = sub.add_parser("info", help="print what a database file holds")
    i.add_argument("--db", help="database file (default $CSI_DB or data/csi.duckdb)")

    c = sub.add_parser("fetch-cde", help="download the CDE directory, outcome and Dashboard files for "
                                          "`build --cde-dir`")
    c.add_argument("--out", type=Path, help=f"folder (default $CSI_CDE_DIR or {config.DEFAULT_CDE_DIR})")
    c.add_argument("--years", nargs="+", metavar="YEAR",
                   help="academic years, e.g. 2023-24 2024-25 (default: every year the dashboard shows)")
    c.add_argument("--url", action="append", default=[], metavar="URL",
                   help="also fetch this file (a revised CDE name replaces the one for its year); repeatable")
    c.add_argument("--base-url", help="default $CSI_CDE_BASE_URL or CDE's demo-downloads/")
    c.add_argument("--directory-url", help="default $CSI_CDE_DIRECTORY_URL or CDE's school directory download")
    c.add_argument("--dashboard-url", help="base of the Dashboard files (chronicdownloadYYYY.txt, "
                                           "suspdownloadYYYY.txt); default $CSI_CDE_DASHBOARD_URL or CDE's "
                                           "researchfiles/cadashboard/")

    f = sub.add_parser("fetch-boundaries", help="download the official LA County SPA layer")
    f.add_argument("--url", help="default $CSI_BOUNDARIES_URL or LA County eGIS")
    f.add_argument("--out", type=Path, help=f"default {config.DEFAULT_BOUNDARIES}")
    f.add_argument("--simplify", action="store_true",
                   help="then regenerate the shipped display layer (data/spa/) from it")

    s = sub.add_parser("simplify-boundaries", help="regenerate the shipped display layer from the full official layer")
    s.add_argument("--source", type=Path, help=f"the full layer (default {config.DEFAULT_BOUNDARIES})")
    s.add_argument("--out", type=Path, help=f"default {config.SHIPPED_BOUNDARIES}")
    s.add_argument("--source-url", help="where the full layer came from (default: its .source.json record, "
                                        "else LA County eGIS)")
    s.add_argument("--fetched", help="date the full layer was fetched, YYYY-MM-DD (default: its .source.json record)")
    s.add_argument("--obtained-from", help="how the full layer was obtained, if not by fetch-boundaries")

    r = sub.add_parser("report", help="metric report (see `report --help`)")
    if with_report:
        try:
            from csi_metrics import report
        except ImportError:
            r.set_defaults(_report_missing=True)
        else:
            report.add_arguments(r)

    m = sub.add_parser("impact", help="matched difference-in-differences of community schools, with a 95%% "
                                      "interval, relative change, schools matched and balance")
    m.add_argument("--metric", required=True, help="chronic_absenteeism or suspension")
    m.add_argument("--spa", help="only community schools in this Service Planning Area (1-8)")
    m.add_argument("--cohort", help="only community schools of this CCSPP cohort")
    m.add_argument("--district", help="only this district (7-digit county+district code)")
    m.add_argument("--school-type", help="ES, MS, HS, K-12 or other")
    m.add_argument("--grant-type", default="implementation",
                   help="implementation (default), planning, coordination or all")
    m.add_argument("--baseline", help="one baseline year for every cohort, e.g. 2018-19 (default: each cohort's "
                                      "last non-pandemic year before its first grant)")
    m.add_argument("--format", default="table", help="table (default), json or csv")
    m.add_argument("--db", help="database file (default $CSI_DB or data/csi.duckdb)")

    pb = sub.add_parser("publish", help="publish a deck as a static attendee page (HTML, SVG, CSV; no JavaScript)")
    which = pb.add_mutually_exclusive_group(required=True)
    which.add_argument("--deck", type=Path, metavar="FILE", help="a deck file (.json, as the Presenter page saves)")
    which.add_argument("--standard", action="store_true", help="the standard deck")
    pb.add_argument("--out", type=Path, help=f"folder to write (replaced whole; default {config.ATTENDEE_DIR}, "
                                             f"which the dashboard serves at {config.ATTENDEE_SHORT_PATH})")
    pb.add_argument("--db", help="database file (default $CSI_DB or data/csi.duckdb)")

    # The benchmark is operations tooling (tools/bench): run as its own process, never imported.
    sub.add_parser("bench", add_help=False,
                   help="benchmark build, metrics, pages, browser and load (python -m tools.bench; docs/benchmarks.md)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "bench":
        import subprocess

        return subprocess.run([sys.executable, "-m", "tools.bench", *argv[1:]], cwd=config.PROJECT_ROOT).returncode
    args = parser(with_report=bool(argv) and argv[0] == "report").parse_args(argv)
    try:
        if args.command == "build":
            return cmd_build(args)
        if args.command == "info":
            return cmd_info(args)
        if args.command == "fetch-cde":
            return cmd_fetch_cde(args)
        if args.command == "fetch-boundaries":
            return cmd_fetch_boundaries(args)
        if args.command == "simplify-boundaries":
            return cmd_simplify_boundaries(args)
        if args.command == "impact":
            return cmd_impact(args)
        if args.command == "publish":
            return cmd_publish(args)
        if args.command == "report":
            if getattr(args, "_report_missing", False):
                print("report: csi_metrics/report.py is not available", file=sys.stderr)
                return 1
            from csi_metrics import report
            return report.run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1


def cmd_publish(args: argparse.Namespace) -> int:
    """Write the attendee page (csi_metrics.views.publish): public data only, atomically."""
    from csi_metrics.views import deck, publish

    if args.deck is not None and not args.deck.is_file():
        raise InputError(args.deck, "deck file not found")
    d = deck.from_json(args.deck.read_bytes(), source=str(args.deck)) if args.deck else deck.default_deck()
    out = args.out or config.ATTENDEE_DIR
    try:
        done = publish.publish_from_db(config.db_path(args.db), d, out)
    except FileNotFoundError as exc:
        print(f"error: --db: {exc}", file=sys.stderr)
        return 1
    _progress(f"{done.slides_n} slides ({done.withheld_n} not published: internal records) in {done.seconds:.1f} s; "
              f"{done.total_bytes / 1e3:,.0f} kB in all, a phone fetches {done.phone_bytes / 1e3:,.0f} kB")
    print(Path(out) / "index.html")
    return 0


class ImpactArgumentError(ValueError):
    """A bad `impact` option: the message names it; exit code 2."""


def _impact_filters(args: argparse.Namespace):
    from csi_metrics.rules import impact as rules
    from csi_metrics.vocabulary import codes, filters as flt

    if args.metric not in codes.METRICS:
        raise ImpactArgumentError(f"--metric {args.metric!r}: choose one of {', '.join(codes.METRICS)}")
    if args.grant_type not in rules.GRANT_TYPE_CHOICES:
        raise ImpactArgumentError(f"--grant-type {args.grant_type!r}: choose one of "
                                  f"{', '.join(rules.GRANT_TYPE_CHOICES)}")
    if args.format not in ("table", "json", "csv"):
        raise ImpactArgumentError(f"--format {args.format!r}: choose one of table, json, csv")
    if args.baseline is not None and not codes.is_academic_year(args.baseline):
        raise ImpactArgumentError(f"--baseline {args.baseline!r}: use an academic year such as 2018-19")
    raw = {"spa": args.spa, "cohort": args.cohort, "district": args.district, "school_type": args.school_type}
    f, problems = flt.parse({k: v for k, v in raw.items() if v is not None})
    if problems:
        p = problems[0]
        raise ImpactArgumentError(f"--{p.key.replace('_', '-')} {p.raw!r}: {p.why}")
    return f


def cmd_impact(args: argparse.Namespace, out=None) -> int:
    """Print the matched estimate, its interval, the relative change, the schools
    matched and the balance table (csi_metrics.metrics.impact)."""
    from csi_metrics.figures import downloads
    from csi_metrics.metrics import impact
    from csi_metrics.storage import db

    out = out or sys.stdout
    try:
        filters = _impact_filters(args)
    except ImpactArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        con = db.open_for_display(config.db_path(args.db))
    except FileNotFoundError as exc:
        print(f"error: --db: {exc}", file=sys.stderr)
        return 1
    try:
        try:
            est = impact.impact_estimate(con, args.metric, filters, args.grant_type, args.baseline)
        except ValueError as exc:
            print(f"error: --baseline: {exc}" if "baseline" in str(exc) else f"error: {exc}", file=sys.stderr)
            return 2
        bal = impact.balance(con, args.metric, filters, args.grant_type)
        reasons = impact.unmatched_reasons(con, args.metric, filters, args.grant_type)
    finally:
        con.close()
    e = est.row(0, named=True)
    if args.format == "json":
        out.write(json.dumps({"estimate": e, "balance": bal.to_dicts(), "unmatched": reasons.to_dicts()},
                             indent=2) + "\n")
        return 0
    if args.format == "csv":
        cols = ["section", "name", "value", "smd_before", "smd_after"]
        rows = [["estimate", k, "" if v is None else str(v), "", ""] for k, v in e.items()]
        rows += [["balance", r["variable"], "", _num(r["smd_before"]), _num(r["smd_after"])]
                 for r in bal.iter_rows(named=True)]
        rows += [["unmatched", r["reason"], str(r["schools_n"]), "", ""] for r in reasons.iter_rows(named=True)]
        out.write(downloads.csv_text(cols, rows))
        return 0
    out.write(_impact_table(e, bal, reasons))
    return 0


def _num(v: float | None, digits: int = 3) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _impact_table(e: dict, bal, reasons) -> str:
    from csi_metrics.vocabulary import formats

    lines = [f"{e['metric']}, {e['grant_type']} grantees: matched difference-in-differences"]
    if e["suppressed"] or e["effect_pp"] is None:
        lines.append("estimate: suppressed or not available (fewer than 11 students, or no matched cohort)")
    else:
        lines.append(f"effect: {formats.format_value(e['effect_pp'], 'pp')} "
                     f"(95% CI {formats.format_interval(e['ci_low_pp'], e['ci_high_pp'], 'pp')}, clustered by school)")
        lines.append(f"community change {formats.format_value(e['community_change_pp'], 'pp')}, matched schools "
                     f"{formats.format_value(e['matched_change_pp'], 'pp')}")
        rel = e["relative_change_rate"]
        lines.append("relative change: " + ("not defined (matched schools barely changed)" if rel is None else
                     f"{rel:+.0%} of the matched schools' change"))
    lines.append(f"schools: {e['treated_schools_n']} community, {e['control_schools_n']} matched comparison, "
                 f"{e['unmatched_schools_n']} community left unmatched; {e['cohorts_n']} cohorts")
    lines.append(e["baseline_rule"])
    for r in reasons.iter_rows(named=True):
        lines.append(f"  unmatched: {r['reason']}: {r['schools_n']}")
    lines.append("balance (standardised mean difference, before -> after matching):")
    for r in bal.iter_rows(named=True):
        lines.append(f"  {r['variable']:<16} {_num(r['smd_before']):>7} -> {_num(r['smd_after'])}")
    lines.append("An association with the grant relative to similar schools, not proof of cause.")
    return "\n".join(lines) + "\n"


def cmd_build(args: argparse.Namespace) -> int:
    from csi_metrics.ingest import build

    target = config.db_path(args.db)
    boundaries = config.boundary_path(args.boundaries)
    if boundaries is not None and not boundaries.exists():
        raise InputError(boundaries, "boundary file not found")
    if args.demo:
        report = build.build_demo(target, scale=args.scale, boundaries=boundaries, seed=args.seed,
                                  progress=_progress)
    else:
        if args.initiative_dir is None:
            print("error: --cde-dir needs --initiative-dir (see data/templates/README.md)", file=sys.stderr)
            return 2
        if boundaries is None:
            _progress("no --boundaries: schools take their SPA from spa_crosswalk.csv if present, "
                      "else stay unassigned")
        report = build.build(target, args.cde_dir, args.initiative_dir, boundaries, mode="real",
                             all_counties=args.all_counties, progress=_progress)
    print(report.summary())
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import duckdb

    from csi_metrics.ingest import build

    target = config.db_path(args.db)
    if not target.exists():
        print(f"no database at {target}: run `python -m csi_metrics build --demo` first", file=sys.stderr)
        return 1
    con = duckdb.connect(str(target), read_only=True)
    try:
        info = dict(con.execute("SELECT key, value FROM build_info ORDER BY key").fetchall())
        print(f"database: {target} ({target.stat().st_size / 1e6:.1f} MB)")
        for key in ("mode", "scale", "built_at", "county_filter", "schema_version", "boundary_source",
                    "schools_n", "unassigned_schools_n", "outside_la_schools_n", "demo_seed", "cells_n",
                    "hidden_cde_suppressed_n", "hidden_fewer_than_11_n", "hidden_complementary_n"):
            if key in info:
                print(f"{key}: {info[key]}")
        if info.get("schema_version") != build.schema_version():
            print("warning: built with a different schema.sql; rebuild", file=sys.stderr)
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        print("rows:")
        for t in build.COUNT_TABLES:
            if t in present:  # a database built before a table was added lacks it (the warning above)
                print(f"  {t}: {con.execute(f'SELECT count(*) FROM {t}').fetchone()[0]:,}")
        print("years:")
        for metric, years, n in con.execute(
            "SELECT metric, string_agg(DISTINCT academic_year, ', ' ORDER BY academic_year), count(*) "
            "FROM outcomes GROUP BY metric ORDER BY metric"
        ).fetchall():
            print(f"  {metric}: {years} ({n:,} rows)")
        if "dashboard_official" in present:
            official = con.execute(
                "SELECT indicator, dashboard_year, any_value(academic_year), count(*) FROM dashboard_official "
                "GROUP BY ALL ORDER BY ALL").fetchall()
            print("official Dashboard rows:" + ("" if official else
                  " none (optional: CDE's chronicdownloadYYYY.txt / suspdownloadYYYY.txt in the CDE folder)"))
            for indicator, year, data_year, n in official:
                print(f"  {indicator} {year} ({data_year} data): {n:,} rows")
            if official:
                _print_reconciliation(target)
        print("sources:")
        for path, kind, sha, rows_n, kept_n in con.execute(
            "SELECT path, kind, sha256, rows_n, rows_kept_n FROM build_sources ORDER BY kind, path"
        ).fetchall():
            print(f"  {kind}: {path} sha256 {sha[:16]} rows {rows_n:,} kept {kept_n:,}")
        rej = con.execute("SELECT path, reason, rows_n, example_line_n FROM build_rejections ORDER BY path").fetchall()
        if rej:
            print("rejected or flagged rows:")
            for path, reason, n, line in rej:
                print(f"  {Path(path).name}: {n:,} {reason}" + (f" (e.g. line {line})" if line else ""))
    finally:
        con.close()
    _print_operator_notes()
    return 0


def _print_operator_notes() -> None:
    """What the pages leave to the operator: the map's boundary file and the cut scores'
    provenance (leaders see only that the map is tiles, and the colours' labels)."""
    from csi_metrics.rules import levels
    from csi_metrics.views import catalogue

    path = config.boundary_path()
    geojson, error = catalogue.default_boundaries()
    print("map boundaries:")
    if geojson is not None:
        print(f"  drawn from {path}")
    else:
        print(f"  {'cannot read ' + str(path) + ': ' + error if error else 'no boundary file'}: the Map page "
              "draws tiles and no school points")
        print("  install: `python -m csi_metrics fetch-boundaries` (the full LA County eGIS layer), or set "
              "CSI_BOUNDARIES to a Service Planning Areas file (2022 or 2012, GeoJSON or shapefile)")
    print("cut sets (Dashboard-style colours):")
    for c in levels.CUT_SETS.values():
        print(f"  {c.label}: status {' / '.join(c.status_max)} %, change {' / '.join(c.change_max)} pp; "
              f"source: {c.source}")
    print(f"  {levels.CUT_SET_NOTES}")


def _print_reconciliation(target: Path) -> None:
    """Where our computed colour (csi_metrics.rules.levels on DataQuest's counts) differs from
    CDE's official one: the check that the cut sets and the placement rules are right."""
    from csi_metrics.storage import db
    from csi_metrics.metrics import placement

    con = db.open_for_display(target)
    try:
        summary, diffs = placement.reconcile(con)
    finally:
        con.close()
    print("computed vs official Dashboard colours:" + ("" if summary.height else " no school in both"))
    for r in summary.iter_rows(named=True):
        print(f"  {r['indicator']} {r['dashboard_year']}: {r['schools_compared_n']:,} schools compared, "
              f"{r['same_colour_n']:,} the same, {r['different_colour_n']:,} different")
    shown = 20
    for r in diffs.head(shown).iter_rows(named=True):
        print(f"    {r['cds_code']} {r['school_name'] or ''}: {r['indicator']} {r['dashboard_year']} "
              f"official {r['official_color']}, computed {r['computed_color']}")
    if diffs.height > shown:
        print(f"    ... and {diffs.height - shown:,} more (csi_metrics.metrics.placement.reconcile)")


def cmd_fetch_cde(args: argparse.Namespace) -> int:
    from csi_metrics.ingest import fetch

    out = config.cde_dir(args.out)
    years = args.years or fetch.KNOWN_YEARS
    try:
        wanted = fetch.wanted_files(years, config.cde_base_url(args.base_url),
                                    config.cde_directory_url(args.directory_url), args.url,
                                    dashboard_url=config.cde_dashboard_url(args.dashboard_url))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _progress(f"fetching {len(wanted)} CDE files into {out}")
    saved, failed = fetch.fetch_all(wanted, out, progress=_progress)
    for f in saved:
        _progress(f"saved {f.path.name}: {f.bytes_n:,} bytes, sha256 {f.sha256[:12]}")
    for msg in failed:
        print(f"error: {msg}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(wanted)} files not fetched; files already in {out} were left as they "
              "were. A 404 can mean CDE revised a file's name: see https://www.cde.ca.gov/ds/ad/filesabd.asp "
              "and filessd.asp (Dashboard files: https://www.cde.ca.gov/ta/ac/cm/chronicdatafiles.asp and "
              "suspdatafiles.asp), and pass the new address with --url.", file=sys.stderr)
        return 1
    print(out)
    return 0


def cmd_fetch_boundaries(args: argparse.Namespace) -> int:
    from csi_metrics.ingest import boundaries as bnd
    from csi_metrics.ingest import fetch

    url = config.boundaries_url(args.url)
    out = Path(args.out) if args.out else config.DEFAULT_BOUNDARIES
    _progress(f"downloading {url}")
    layer: dict = {}

    def check(tmp: Path) -> None:
        gdf = bnd.load_spa_boundaries(tmp)
        missing = bnd.missing_spas(gdf)
        if missing:
            raise InputError(url, f"downloaded layer lacks SPA {', '.join(map(str, missing))}", column="SPA_NUM")
        layer["gdf"] = gdf

    try:
        fetch.download(url, out, check=check, timeout_s=60)
    except fetch.DownloadError as exc:
        print(f"error: cannot download SPA boundaries from {exc.url}: {exc.reason}", file=sys.stderr)
        return 1
    except InputError as exc:
        print(f"error: downloaded file is not an SPA boundary layer: {exc}", file=sys.stderr)
        return 2
    gdf = layer["gdf"]
    _source_record(out).write_text(json.dumps({
        "source_url": url, "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "bytes": out.stat().st_size, "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}, indent=2) + "\n")
    _progress(f"saved {len(gdf)} SPAs to {out}")
    if args.simplify:
        return _simplify(out, config.SHIPPED_BOUNDARIES, url, None, None)
    print(out)
    return 0


def _source_record(layer: Path) -> Path:
    """fetch-boundaries' note beside the full layer: where and when it was fetched."""
    return layer.with_name(layer.name + ".source.json")


def cmd_simplify_boundaries(args: argparse.Namespace) -> int:
    source = Path(args.source) if args.source else config.DEFAULT_BOUNDARIES
    if not source.exists():
        raise InputError(source, "full boundary layer not found: run `python -m csi_metrics fetch-boundaries` "
                                 "first, or pass --source")
    return _simplify(source, Path(args.out) if args.out else config.SHIPPED_BOUNDARIES, args.source_url,
                     args.fetched, args.obtained_from)


# As published with the layer (its ArcGIS service description); no licence is stated there.
SPA_LAYER_TERMS = (
    "No licence is stated in the layer's published service description. Its copyright text reads: "
    "'This data is maintained by the Los Angeles County Department of Public Health. Other Credits: "
    "U.S. Census Bureau; Los Angeles County Internal Services Department, Registrar Recorder/County Clerk, "
    "Department of Public Works'. The County publishes the layer openly on its eGIS services."
)


def _simplify(source: Path, out: Path, source_url: str | None, fetched: str | None, obtained_from: str | None) -> int:
    from csi_metrics.ingest import boundaries as bnd

    record = _source_record(source)
    seen = json.loads(record.read_text()) if record.exists() else {}
    provenance = {
        "layer": "Service Planning Areas (2022), LA County eGIS",
        "publisher": "County of Los Angeles (eGIS); maintained by the Department of Public Health",
        "vintage": "2022",
        "source_url": source_url or seen.get("source_url") or config.DEFAULT_BOUNDARIES_URL,
        "fetched": fetched or str(seen.get("fetched_at", ""))[:10] or None,
        "terms": SPA_LAYER_TERMS,
    }
    if obtained_from:
        provenance["obtained_from"] = obtained_from
    rec = bnd.write_display_layer(source, out, provenance)
    s = rec["simplification"]
    _progress(f"{rec['source_vertices_n']:,} -> {s['vertices_n']:,} vertices at {s['tolerance_deg']} degrees "
              f"(max shift {s['max_hausdorff_deg']:.4f} degrees, max area change {s['max_area_change_pct']:.3f}%)")
    print(out)
    return 0
