"""Regenerate the malformed-input corpus from the valid fixtures in tests/fixtures.

    python3 tests/malformed/make_corpus.py

Each broken file is one valid fixture with one defect, so the error it must
raise is known exactly; CASES.md lists file -> line, column, message fragment
(tests/ingest/test_malformed_corpus.py reads that table). The generated files are
committed: the corpus is data, this script only documents how it was made.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIX = HERE.parent / "fixtures"

CA, SU24, SU23, PS = "chronicabsenteeism24.txt", "suspension24.txt", "suspension23.txt", "pubschls.txt"
SU19 = "suspension19.txt"  # an older layout (tests/fixtures/cde_old): school rows repeated under CharterYN 'All'
ENCODING = {CA: "cp1252", SU24: "utf-8-sig", SU23: "cp1252", PS: "utf-8", SU19: "cp1252"}


def fixture_lines(name: str) -> tuple[list[str], str]:
    """(lines, newline) of a fixture, decoded in its own encoding."""
    sub = "cde_old" if name == SU19 else "cde" if name.endswith(".txt") else "initiative"
    raw = (FIX / sub / name).read_bytes()
    text = raw.decode(ENCODING.get(name, "utf-8"))
    nl = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(nl)
    return lines, nl


def join(lines: list[str], nl: str, name: str, encoding: str | None = None) -> bytes:
    return nl.join(lines).encode(encoding or ENCODING.get(name, "utf-8"))


def edit_cell(name: str, line: int, column: str, value: str, sep: str = "\t") -> bytes:
    """The fixture with one cell (1-based file line, header name) replaced."""
    lines, nl = fixture_lines(name)
    header = lines[0].split(sep)
    cells = lines[line - 1].split(sep)
    cells[header.index(column)] = value
    lines[line - 1] = sep.join(cells)
    return join(lines, nl, name)


def edit_lines(name: str, fn) -> bytes:
    lines, nl = fixture_lines(name)
    return join(fn(lines), nl, name)


def drop_column(name: str, column: str, sep: str = "\t") -> bytes:
    lines, nl = fixture_lines(name)
    i = lines[0].split(sep).index(column)
    out = [sep.join(c for j, c in enumerate(l.split(sep)) if j != i) if l else l for l in lines]
    return join(out, nl, name)


def rename_column(name: str, column: str, new: str, sep: str = "\t") -> bytes:
    lines, nl = fixture_lines(name)
    lines[0] = sep.join(new if c == column else c for c in lines[0].split(sep))
    return join(lines, nl, name)


def resep(name: str, old: str, new: str) -> bytes:
    lines, nl = fixture_lines(name)
    return join([l.replace(old, new) for l in lines], nl, name)


def truncate_mid_last_row(name: str) -> bytes:
    """Cut the file partway through its last data row, as an interrupted download would."""
    raw = join(*fixture_lines(name), name).rstrip(b"\r\n")
    last = raw.rfind(b"\n") + 1
    return raw[: last + (len(raw) - last) // 2]


def zipped(name: str) -> bytes:
    """The fixture inside a zip archive (CDE's downloads page also offers zips), fixed date: reproducible."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), join(*fixture_lines(name), name))
    return buf.getvalue()


def add_column(name: str, column: str, value: str, sep: str = "\t") -> bytes:
    """The fixture with one more column at the end (header `column`, every row `value`)."""
    lines, nl = fixture_lines(name)
    return join([l + (sep + column if i == 0 else sep + value) if l else l for i, l in enumerate(lines)], nl, name)


def mixed_encoding_cp1252_file() -> bytes:
    """The cp1252 chronic file with one school name saved as UTF-8 (a hand edit in another editor)."""
    lines, nl = fixture_lines(CA)
    out = [l.encode("cp1252") for l in lines]
    out[10] = lines[10].replace("Cedar Grove High", "Cedar Grove High \u2013 Año").encode("utf-8")
    return nl.encode().join(out)


# ------------------------------------------------------------------ boundaries

def strip_layer(crs: str | None = "EPSG:4326") -> dict:
    """Eight lon bands over LA County, SPA 1..8 west to east: a small valid layer in
    the 2022 layout (SPA_NUM, SPA_NAME), so broken variants stay readable."""
    feats = []
    for i in range(8):
        x0, x1 = -119.0 + 0.2 * i, -119.0 + 0.2 * (i + 1)
        feats.append({
            "type": "Feature",
            "properties": {"OBJECTID": i + 1, "SPA": str(i + 1), "SPA_NUM": i + 1, "SPA_NAME": f"Band {i + 1}"},
            "geometry": {"type": "Polygon",
                         "coordinates": [[[x0, 32.8], [x1, 32.8], [x1, 34.85], [x0, 34.85], [x0, 32.8]]]},
        })
    doc: dict = {"type": "FeatureCollection", "features": feats}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return doc


def geo(doc: dict) -> bytes:
    return json.dumps(doc, indent=1).encode()


def boundary_cases() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    out["valid_bands.geojson"] = geo(strip_layer())

    out["bnd_wrong_crs_3857.geojson"] = geo(strip_layer("EPSG:3857"))   # lon/lat labelled web mercator

    feet = strip_layer(None)  # State Plane V feet with no CRS: read as degrees
    for f in feet["features"]:
        f["geometry"]["coordinates"] = [[[6_400_000 + 60_000 * x, 1_800_000 + 60_000 * y]
                                         for x, y in f["geometry"]["coordinates"][0]]]
    out["bnd_unknown_crs_feet.geojson"] = geo(feet)

    collapsed = strip_layer()
    collapsed["features"][3]["geometry"]["coordinates"] = [[[-118.4, 32.8], [-118.2, 32.8], [-118.4, 32.8]]]
    out["bnd_invalid_geometry_collapsed_ring.geojson"] = geo(collapsed)

    unclosed = strip_layer()
    unclosed["features"][5]["geometry"]["coordinates"][0].pop()
    out["bnd_unclosed_ring.geojson"] = geo(unclosed)

    nullg = strip_layer()
    nullg["features"][4]["geometry"] = None
    out["bnd_null_geometry.geojson"] = geo(nullg)

    missing = strip_layer()
    del missing["features"][7]
    out["bnd_missing_spa_8.geojson"] = geo(missing)

    renamed = strip_layer()
    for f in renamed["features"]:
        f["properties"]["SPA_NO"] = f["properties"].pop("SPA_NUM")
    out["bnd_no_spa_number_field.geojson"] = geo(renamed)

    nine = strip_layer()
    nine["features"][2]["properties"]["SPA_NUM"] = 9
    out["bnd_spa_number_9.geojson"] = geo(nine)

    out["bnd_truncated.geojson"] = geo(strip_layer())[:700]
    out["bnd_empty.geojson"] = b""

    grown = strip_layer()  # band 3 reaches 0.05 degrees into band 4
    grown["features"][2]["geometry"]["coordinates"] = [
        [[-118.6, 32.8], [-118.35, 32.8], [-118.35, 34.85], [-118.6, 34.85], [-118.6, 32.8]]]
    out["bnd_overlapping_spas.geojson"] = geo(grown)

    out["bnd_utf16.geojson"] = geo(strip_layer()).decode().encode("utf-16")
    out["bnd_gzip.geojson"] = gzip.compress(geo(strip_layer()), mtime=0)

    enclave = strip_layer()  # a detached part of band 2 inside band 6, which has no hole for it: accepted
    band2 = copy.deepcopy(enclave["features"][1]["geometry"]["coordinates"])
    enclave["features"][1]["geometry"] = {"type": "MultiPolygon", "coordinates": [band2, [
        [[-117.95, 34.0], [-117.9, 34.0], [-117.9, 34.05], [-117.95, 34.05], [-117.95, 34.0]]]]}
    out["ok_enclave_without_hole.geojson"] = geo(enclave)

    bowtie = strip_layer()  # self-intersecting, but repairable: accepted (see CASES.md)
    bowtie["features"][2]["geometry"]["coordinates"] = [
        [[-118.6, 32.8], [-118.4, 34.85], [-118.4, 32.8], [-118.6, 34.85], [-118.6, 32.8]]]
    out["ok_bowtie_repaired.geojson"] = geo(bowtie)
    return out


# ------------------------------------------------------------------ CDE and initiative

def cde_cases() -> dict[str, bytes]:
    o: dict[str, bytes] = {}
    # chronic absenteeism (cp1252, CRLF)
    o["ca_truncated.txt"] = truncate_mid_last_row(CA)
    o["ca_comma_delimited.txt"] = resep(CA, "\t", ",")
    o["ca_missing_column.txt"] = drop_column(CA, "ChronicAbsenteeismCount")
    o["ca_renamed_column.txt"] = rename_column(CA, "Reporting Category", "ReportingCategory")
    o["ca_duplicate_key.txt"] = edit_lines(CA, lambda ls: ls[:9] + [ls[8]] + ls[9:])
    o["ca_non_numeric_count.txt"] = edit_cell(CA, 12, "ChronicAbsenteeismCount", "18O")
    o["ca_negative_count.txt"] = edit_cell(CA, 9, "ChronicAbsenteeismEligibleCumulativeEnrollment", "-400")
    o["ca_numerator_above_denominator.txt"] = edit_cell(CA, 10, "ChronicAbsenteeismCount", "301")
    o["ca_rate_disagrees.txt"] = edit_cell(CA, 13, "ChronicAbsenteeismRate", "2.0")
    o["ca_school_code_6_digits.txt"] = edit_cell(CA, 12, "School Code", "600002")
    o["ca_year_2023-2024.txt"] = edit_cell(CA, 5, "Academic Year", "2023-2024")
    o["ca_year_not_consecutive.txt"] = edit_cell(CA, 7, "Academic Year", "2023-25")
    o["ca_unknown_aggregate_level.txt"] = edit_cell(CA, 6, "Aggregate Level", "D1")
    o["ca_scope_value.txt"] = edit_cell(CA, 8, "DASS", "Y")
    o["ca_mixed_encoding.txt"] = mixed_encoding_cp1252_file()
    o["ca_empty.txt"] = b""
    o["ca_header_only.txt"] = edit_lines(CA, lambda ls: ls[:1] + [""])
    o["ca_enormous_line.txt.gz"] = gzip.compress(b"2023-24\t" + b"9" * 8_000_000, mtime=0)
    o["ca_blank_year.txt"] = edit_cell(CA, 6, "Academic Year", "")
    o["ca_utf16.txt"] = join(*fixture_lines(CA), CA, "utf-16")        # saved as "Unicode" by a spreadsheet
    o["ca_gzip_named_txt.txt"] = gzip.compress(join(*fixture_lines(CA), CA), mtime=0)
    o["ca_duplicate_used_column.txt"] = add_column(CA, "ChronicAbsenteeismCount", "0")
    o["ca_nul_in_school_name.txt"] = edit_cell(CA, 11, "School Name", "Cedar Grove\x00High")
    # suspension (utf-8-sig, LF)
    o["su_semicolon_delimited.txt"] = resep(SU24, "\t", ";")
    o["su_renamed_rate_column.txt"] = rename_column(SU24, "Suspension Rate (Total)", "Suspension Rate")
    o["su_non_numeric_enrollment.txt"] = edit_cell(SU24, 4, "CumulativeEnrollment", "2,100")
    o["su_numerator_above_denominator.txt"] = edit_cell(
        SU24, 6, "Unduplicated Count of Students Suspended (Total)", "411")
    o["su_rate_disagrees.txt"] = edit_cell(SU24, 8, "Suspension Rate (Total)", "55.0")
    o["su_county_code_3_digits.txt"] = edit_cell(SU24, 3, "CountyCode", "190")
    o["su_truncated.txt"] = truncate_mid_last_row(SU24)
    o["su_bom_then_cp1252.txt"] = edit_lines(SU24, lambda ls: ls).replace(
        b"Cedar Grove High", "Cedar Grove High – Año".encode("cp1252"), 1)
    o["su_same_year_as_suspension24.txt"] = edit_lines(SU23, lambda ls: [l.replace("2022-23", "2023-24") for l in ls])
    o["su_cr_line_endings.txt"] = edit_lines(SU24, lambda ls: ls).replace(b"\n", b"\r")
    # older layout: the 'All' repeat of a school row disagrees with the school's own row
    o["su19_repeated_row_disagrees.txt"] = edit_cell(SU19, 6, "CumulativeEnrollment", "441")
    # directory (utf-8, LF)
    o["ps_cds_15_digits.txt"] = edit_cell(PS, 5, "CDSCode", "197530960000021")
    o["ps_duplicate_cds.txt"] = edit_cell(PS, 7, "CDSCode", "19753096000002")
    o["ps_non_numeric_latitude.txt"] = edit_cell(PS, 4, "Latitude", "34,035321")
    o["ps_latitude_without_longitude.txt"] = edit_cell(PS, 7, "Longitude", "No Data")
    o["ps_missing_latitude_column.txt"] = drop_column(PS, "Latitude")
    o["ps_school_without_name.txt"] = edit_cell(PS, 8, "School", "No Data")
    o["ps_truncated.txt"] = truncate_mid_last_row(PS)
    o["ps_empty.txt"] = b""
    o["ps_latitude_340.txt"] = edit_cell(PS, 5, "Latitude", "340.35")   # a slipped decimal point
    o["ps_longitude_beyond_180.txt"] = edit_cell(PS, 6, "Longitude", "-1182.6241")
    o["ps_zip_named_txt.txt"] = zipped(PS)
    return o


def initiative_cases() -> dict[str, bytes]:
    o: dict[str, bytes] = {}
    o["roster_duplicate_cds.csv"] = edit_lines("roster.csv", lambda ls: ls[:2] + [ls[1].replace(",1,", ",3,")] + ls[2:])
    o["roster_cds_13_digits.csv"] = edit_cell("roster.csv", 3, "cds_code", "1975309010004", ",")
    o["roster_year_slash.csv"] = edit_cell("roster.csv", 2, "first_grant_year", "2022/23", ",")
    o["roster_negative_cohort.csv"] = edit_cell("roster.csv", 3, "cohort", "-2", ",")
    o["grants_amount_with_dollar_sign.csv"] = edit_cell("grants.csv", 2, "amount_usd", "$1500000", ",")
    o["grants_missing_column.csv"] = drop_column("grants.csv", "award_year", ",")
    o["grants_tab_delimited.csv"] = resep("grants.csv", ",", "\t")
    o["activities_bad_date.csv"] = edit_cell("activities.csv", 3, "activity_date", "2024-02-30", ",")
    o["activities_negative_attendees.csv"] = edit_cell("activities.csv", 2, "attendees_n", "-25", ",")
    o["activities_spa_9.csv"] = edit_cell("activities.csv", 2, "spa_n", "9", ",")
    o["activities_empty.csv"] = b""
    o["attendance_duplicate_row.csv"] = edit_lines("attendance.csv", lambda ls: ls[:3] + [ls[2]] + ls[3:])
    o["crosswalk_spa_0.csv"] = edit_cell("spa_crosswalk.csv", 2, "spa_n", "0", ",")
    o["activities_date_1899.csv"] = edit_cell("activities.csv", 3, "activity_date", "1899-12-30", ",")  # Excel's day 0
    o["activities_date_2199.csv"] = edit_cell("activities.csv", 4, "activity_date", "2199-06-20", ",")
    o["roster_first_grant_2035.csv"] = edit_cell("roster.csv", 3, "first_grant_year", "2035-36", ",")
    o["grants_award_year_2035.csv"] = edit_cell("grants.csv", 2, "award_year", "2035-36", ",")
    o["grants_nul_in_name.csv"] = edit_lines(  # inside the quoted name, after its comma
        "grants.csv", lambda ls: [l.replace("District Office", "District\x00Office") for l in ls])
    o["roster_utf16.csv"] = join(*fixture_lines("roster.csv"), "roster.csv", "utf-16")  # Excel's "Unicode Text"
    o["ok_roster_extra_column.csv"] = edit_lines(
        "roster.csv", lambda ls: [l + (",notes" if i == 0 else ",free text") if l else l for i, l in enumerate(ls)])
    return o


def main() -> None:
    groups = {"cde": cde_cases(), "initiative": initiative_cases(), "boundaries": boundary_cases()}
    lines_ca, nl = fixture_lines(CA)
    groups["cde"]["ok_ca_extra_column.txt"] = join(
        [l + ("\tNote" if i == 0 else "\tx") if l else l for i, l in enumerate(lines_ca)], nl, CA)
    groups["cde"]["ok_ca_unused_duplicate_column.txt"] = add_column(CA, "County Name", "Los Angeles")
    for sub, files in groups.items():
        d = HERE / sub
        d.mkdir(exist_ok=True)
        for name, data in files.items():
            (d / name).write_bytes(data)
    print(sum(len(f) for f in groups.values()), "files")


if __name__ == "__main__":
    main()
