"""The embedded demo: a deterministic generator that writes plainly fictional
data in the real CDE layouts (chronic absenteeism, suspension, pubschls.txt)
plus the initiative CSVs, so the build ingests it through the same readers as
real data.

    generate(out_dir, scale="county", seed=2024)
    python -m csi_metrics.ingest.demo OUT_DIR [--scale state] [--seed N]

Layout of out_dir:
    cde/chronicabsenteeism{19,21,22,23,24,25}.txt   (no 2019-20: CDE published none)
    cde/suspension{19..25}.txt                      (suspension24.txt is UTF-8 with a BOM, the rest cp1252)
    cde/chronicdownload{2019,2022..2025}.txt        CDE's Dashboard files (official placements), cp1252
    cde/suspdownload{2019,2022..2025}.txt
    cde/pubschls.txt
    initiative/roster.csv, grants.csv, activities.csv, attendance.csv, spa_crosswalk.csv

How the numbers are made (so they behave like the real files):
- Each school-year's students are drawn into race x gender x grade-span cells
  (multinomial); chronic absence and suspension are drawn per cell from a
  logistic model (year, school, SPA, school type, community-school effect,
  student group). Race, gender and grade rows are sums of the same cells, so
  they partition TA exactly; program groups (SD..SS) are drawn as subsets of TA.
- The yearly intercept is calibrated so LA County's expected pooled rate hits
  the real shape: chronic 12% (2018-19), 15%, the 30% surge of 2021-22, then
  25/21/18%; suspension 2.5, 1.5, 0.2 (distance learning), 2.3, 2.7, 2.6, 2.5%.
- Community schools are chosen among higher-need schools and improve faster
  after their first grant year (a negative difference-in-differences).
- D, C and T rows are exact sums of school rows before suppression. At county
  scale the state (T) row is LA's cell totals scaled by 4.6 with its own rates.
- Suppression as CDE: every numeric cell `*` when the denominator is 10 or
  less; race "Not Reported" (RD) also `*` whenever another race row of the same
  entity is.
- Dashboard files (the Dashboards reporting 2018-19 and 2021-22..2024-25): all
  students of every school, LEA and the state, placed with csi_metrics.rules.levels
  (status = rate rounded half up to 0.1, change from unrounded rates, no colour
  under 30 students, smalldenom under 150; a status level from 11 students, and
  numerator and status blank under 11, as CDE does). Chronic absenteeism is
  placed on the same GRTK8 (grades TK-8) counts as the DataQuest files, so a
  school without TK-8 students has no row. Suspension uses the school-type /
  LEA-type cut sets (ES/MS/HS by SOC; UD for K-12 and other schools, unified
  districts and county offices; ED/HD for elementary/high districts) and the
  Dashboard's own definition: only students suspended a combined full day or
  more count, so each school's numerator is a fixed 92-97% share (drawn per
  school) of its DataQuest one. Some official suspension colours therefore
  differ from the colour the same placement gives on DataQuest's counts, as
  real ones do. 2022 is status only; 2019 has no prior year (the demo has no
  2017-18), so no change or colour.
- Grants: one row per award; an implementation award's amount is its 5-year
  total. LA grantees total exactly $660M of $2.8B awarded statewide (23.6%; LACOE: "nearly 24%
  of all CCSPP grant funding"). The $4.1B is the appropriation, not what was awarded.
- Schools sit around real LA County places (CENTRES) within a radius checked
  against both official SPA layers (2022 and 2012), so no boundary file is
  needed here; tests/ingest/test_demo.py re-checks every point and every radius.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from csi_metrics.vocabulary import codes
from csi_metrics.rules import levels

DEFAULT_SEED = 2024
DEMO_MARKER = "Demo"

YEAR_STARTS = list(range(2018, 2025))
YEARS = [codes.academic_year(y) for y in YEAR_STARTS]
NO_CHRONIC_YEARS = {"2019-20"}  # CDE published no chronic absenteeism file for 2019-20.
CHRONIC_YEARS = [y for y in YEARS if y not in NO_CHRONIC_YEARS]

CHRONIC_HEADER = [
    "Academic Year", "Aggregate Level", "County Code", "District Code", "School Code", "County Name",
    "District Name", "School Name", "Charter School", "DASS", "Reporting Category",
    "ChronicAbsenteeismEligibleCumulativeEnrollment", "ChronicAbsenteeismCount", "ChronicAbsenteeismRate",
]
SUSPENSION_HEADER = [
    "AcademicYear", "AggregateLevel", "CountyCode", "DistrictCode", "SchoolCode", "CountyName",
    "DistrictName", "SchoolName", "CharterYN", "ReportingCategory", "CumulativeEnrollment",
    "Total Suspensions", "Unduplicated Count of Students Suspended (Total)",
    "Unduplicated Count of Students Suspended (Defiance-Only)", "Suspension Rate (Total)",
    "Suspension Count Violent Incident (Injury)", "Suspension Count Violent Incident (No Injury)",
    "Suspension Count Weapons Possession", "Suspension Count Illicit Drug-Related",
    "Suspension Count Defiance-Only", "Suspension Count Other Reasons",
]
DIRECTORY_HEADER = (
    "CDSCode NCESDist NCESSchool StatusType County District School Street StreetAbr City Zip State "
    "MailStreet MailStrAbr MailCity MailZip MailState Phone Ext FaxNumber WebSite OpenDate ClosedDate "
    "Charter CharterNum FundingType DOC DOCType SOC SOCType EdOpsCode EdOpsName EILCode EILName "
    "GSoffered GSserved Virtual Magnet YearRoundYN FederalDFCDistrictID Latitude Longitude AdmFName "
    "AdmLName LastUpDate Multilingual"
).split()
ROSTER_HEADER = ["cds_code", "cohort", "grant_type", "first_grant_year"]
GRANTS_HEADER = ["grant_id", "grantee_cds", "grantee_name", "grantee_level", "county_code", "cohort",
                 "grant_type", "award_year", "amount_usd", "funding_source"]
ACTIVITIES_HEADER = ["activity_id", "activity_date", "activity_type", "spa_n", "cds_code", "attendees_n", "items_n"]
ATTENDANCE_HEADER = ["activity_id", "person_key"]
CROSSWALK_HEADER = ["cds_code", "spa_n"]

NO_DATA = "No Data"
SUPPRESSED = "*"
MAX_SUPPRESSED_N = 10  # CDE: `*` when the denominator is 10 or less.

# ------------------------------------------------------------------ places

@dataclass(frozen=True)
class Centre:
    """A real LA County place; schools are jittered within radius_m of it.

    lat/lon were moved (at most ~1.5 km) from the place's centre to a point deep
    inside its SPA on both the 2022 and 2012 eGIS layers; radius_m is 60% of
    that point's distance to the SPA edge (capped at 3 km)."""

    place: str
    spa_n: int
    lat: float
    lon: float
    radius_m: int
    city: str
    zip: str


def _c(place: str, spa: int, lat: float, lon: float, r: int, zip_: str, city: str | None = None) -> Centre:
    return Centre(place, spa, lat, lon, r, city or place, zip_)


LA = "Los Angeles"
CENTRES: tuple[Centre, ...] = (
    _c("Lancaster", 1, 34.6868, -118.1542, 3000, "93534"),
    _c("Palmdale", 1, 34.5794, -118.1165, 3000, "93550"),
    _c("Quartz Hill", 1, 34.6453, -118.2181, 3000, "93536"),
    _c("Littlerock", 1, 34.5211, -117.9837, 3000, "93543"),
    _c("Lake Los Angeles", 1, 34.6122, -117.8281, 3000, "93535"),
    _c("Van Nuys", 2, 34.1899, -118.4514, 3000, "91405"),
    _c("North Hollywood", 2, 34.1870, -118.3813, 3000, "91601"),
    _c("Burbank", 2, 34.1946, -118.3250, 2350, "91502"),
    _c("Glendale", 2, 34.1559, -118.2494, 1250, "91203"),
    _c("Santa Clarita", 2, 34.3917, -118.5426, 2700, "91355"),
    _c("Canoga Park", 2, 34.2011, -118.5981, 3000, "91303"),
    _c("Northridge", 2, 34.2283, -118.5367, 3000, "91324"),
    _c("Pacoima", 2, 34.2560, -118.4298, 2400, "91331"),
    _c("Sylmar", 2, 34.2943, -118.4547, 2350, "91342"),
    _c("Reseda", 2, 34.2011, -118.5365, 3000, "91335"),
    _c("Sherman Oaks", 2, 34.1645, -118.4433, 2150, "91403"),
    _c("San Fernando", 2, 34.2821, -118.4526, 2400, "91340"),
    _c("Woodland Hills", 2, 34.1683, -118.6059, 3000, "91367"),
    _c("Sun Valley", 2, 34.2175, -118.3703, 3000, "91352"),
    _c("Panorama City", 2, 34.2247, -118.4494, 3000, "91402"),
    _c("La Crescenta", 2, 34.2117, -118.2566, 2400, "91214"),
    _c("Pasadena", 3, 34.1545, -118.1389, 2350, "91101"),
    _c("Pomona", 3, 34.0599, -117.7661, 2400, "91766"),
    _c("El Monte", 3, 34.0686, -118.0276, 2350, "91731"),
    _c("West Covina", 3, 34.0686, -117.9390, 3000, "91790"),
    _c("Alhambra", 3, 34.0883, -118.1136, 2350, "91801"),
    _c("Arcadia", 3, 34.1397, -118.0353, 3000, "91006"),
    _c("Covina", 3, 34.0900, -117.8903, 3000, "91723"),
    _c("Baldwin Park", 3, 34.0853, -117.9609, 3000, "91706"),
    _c("Diamond Bar", 3, 34.0310, -117.8157, 2400, "91765"),
    _c("Rosemead", 3, 34.0806, -118.0728, 2550, "91770"),
    _c("Monterey Park", 3, 34.0760, -118.1198, 2150, "91754"),
    _c("Azusa", 3, 34.1336, -117.9076, 3000, "91702"),
    _c("Claremont", 3, 34.1105, -117.7357, 1950, "91711"),
    _c("Rowland Heights", 3, 33.9893, -117.8887, 2000, "91748"),
    _c("La Puente", 3, 34.0200, -117.9495, 2850, "91744"),
    _c("Glendora", 3, 34.1361, -117.8653, 3000, "91740"),
    _c("Monrovia", 3, 34.1442, -118.0019, 3000, "91016"),
    _c("Hacienda Heights", 3, 34.0065, -117.9602, 2050, "91745"),
    _c("Downtown Los Angeles", 4, 34.0589, -118.2381, 2400, "90012", LA),
    _c("Hollywood", 4, 34.0837, -118.3235, 2400, "90028", LA),
    _c("Koreatown", 4, 34.0753, -118.3001, 2350, "90005", LA),
    _c("Boyle Heights", 4, 34.0409, -118.2214, 1600, "90033", LA),
    _c("Silver Lake", 4, 34.0846, -118.2702, 2400, "90026", LA),
    _c("Echo Park", 4, 34.0782, -118.2606, 2700, "90026", LA),
    _c("Highland Park", 4, 34.1140, -118.2085, 1700, "90042", LA),
    _c("West Hollywood", 4, 34.0876, -118.3482, 1900, "90069"),
    _c("Westlake", 4, 34.0731, -118.2691, 2300, "90057", LA),
    _c("Lincoln Heights", 4, 34.0815, -118.2230, 2400, "90031", LA),
    _c("Eagle Rock", 4, 34.1256, -118.2076, 1250, "90041", LA),
    _c("Santa Monica", 5, 34.0328, -118.4747, 1950, "90404"),
    _c("Culver City", 5, 34.0303, -118.4126, 1950, "90034", LA),
    _c("Westwood", 5, 34.0635, -118.4455, 3000, "90024", LA),
    _c("Venice", 5, 33.9983, -118.4530, 1450, "90066", LA),
    _c("Beverly Hills", 5, 34.0603, -118.4169, 1600, "90064", LA),
    _c("Mar Vista", 5, 34.0028, -118.4300, 2650, "90066", LA),
    _c("West Los Angeles", 5, 34.0450, -118.4450, 3000, "90025", LA),
    _c("Pacific Palisades", 5, 34.0613, -118.5100, 2150, "90049", LA),
    _c("Compton", 6, 33.9072, -118.2307, 2050, "90222"),
    _c("Watts", 6, 33.9422, -118.2592, 1700, "90002", LA),
    _c("South Los Angeles", 6, 33.9937, -118.2887, 2200, "90037", LA),
    _c("Florence", 6, 33.9855, -118.2805, 1800, "90001", LA),
    _c("Lynwood", 6, 33.9165, -118.2118, 1350, "90262"),
    _c("Crenshaw", 6, 34.0148, -118.3312, 1500, "90008", LA),
    _c("Willowbrook", 6, 33.9214, -118.2495, 1650, "90059", LA),
    _c("Paramount", 6, 33.8962, -118.1650, 950, "90723"),
    _c("Downey", 7, 33.9468, -118.1303, 2400, "90241"),
    _c("Whittier", 7, 33.9771, -118.0437, 2400, "90601"),
    _c("Norwalk", 7, 33.9022, -118.0817, 3000, "90650"),
    _c("Bellflower", 7, 33.8792, -118.1008, 2400, "90706"),
    _c("Huntington Park", 7, 33.9882, -118.2087, 1450, "90255"),
    _c("South Gate", 7, 33.9680, -118.1955, 1800, "90280"),
    _c("Bell Gardens", 7, 33.9653, -118.1514, 2650, "90201"),
    _c("Pico Rivera", 7, 33.9831, -118.0967, 2400, "90660"),
    _c("Montebello", 7, 34.0032, -118.1304, 2000, "90640"),
    _c("East Los Angeles", 7, 34.0102, -118.1615, 1650, "90022", LA),
    _c("Cerritos", 7, 33.8721, -118.0807, 2050, "90703"),
    _c("Lakewood", 7, 33.8669, -118.1175, 1350, "90712"),
    _c("La Mirada", 7, 33.9241, -118.0199, 2350, "90638"),
    _c("Santa Fe Springs", 7, 33.9472, -118.0853, 3000, "90670"),
    _c("Torrance", 8, 33.8358, -118.3406, 2750, "90501"),
    _c("Long Beach", 8, 33.7813, -118.1880, 1150, "90813"),
    _c("Carson", 8, 33.8317, -118.2820, 2850, "90745"),
    _c("Inglewood", 8, 33.9481, -118.3453, 1350, "90301"),
    _c("Hawthorne", 8, 33.9049, -118.3366, 2350, "90250"),
    _c("Gardena", 8, 33.8863, -118.3253, 2350, "90247"),
    _c("Redondo Beach", 8, 33.8625, -118.3719, 1600, "90278"),
    _c("San Pedro", 8, 33.7409, -118.3084, 1650, "90731"),
    _c("Lomita", 8, 33.7922, -118.3151, 2500, "90717"),
    _c("Lawndale", 8, 33.8872, -118.3526, 2900, "90260"),
    _c("Wilmington", 8, 33.7938, -118.2622, 1800, "90744"),
    _c("El Segundo", 8, 33.9100, -118.4005, 1250, "90245"),
    _c("North Long Beach", 8, 33.8609, -118.1875, 1150, "90805", "Long Beach"),
)
CENTRE_INDEX = {c.place: i for i, c in enumerate(CENTRES)}
METRES_PER_DEG_LAT = 111_320.0


def jitter(rng: np.random.Generator, centre_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in each centre's disk (radius_m), as (lat, lon) degrees."""
    lat0 = np.array([CENTRES[i].lat for i in centre_idx])
    lon0 = np.array([CENTRES[i].lon for i in centre_idx])
    r = np.array([CENTRES[i].radius_m for i in centre_idx], dtype=float)
    rho = r * np.sqrt(rng.random(len(centre_idx)))
    theta = rng.random(len(centre_idx)) * 2 * math.pi
    lat = lat0 + rho * np.sin(theta) / METRES_PER_DEG_LAT
    lon = lon0 + rho * np.cos(theta) / (METRES_PER_DEG_LAT * np.cos(np.radians(lat0)))
    return lat, lon


# ------------------------------------------------------------------ LEAs

# LA County LEAs other than the county office and the big city district:
# (DOC, centres, schools). 52 elementary, 54 unified, 56 high school district.
LA_DISTRICTS: tuple[tuple[str, str, int], ...] = (
    ("52", "Lancaster", 24), ("52", "Palmdale", 26), ("52", "Quartz Hill", 11), ("52", "Littlerock", 8),
    ("52", "Lake Los Angeles", 6), ("56", "Lancaster|Palmdale|Quartz Hill|Littlerock", 14), ("52", "Palmdale", 5),
    ("54", "Littlerock", 4),
    ("54", "Burbank", 21), ("54", "Glendale", 31), ("54", "La Crescenta", 10), ("52", "Santa Clarita", 20),
    ("52", "Santa Clarita", 16), ("56", "Santa Clarita", 17), ("52", "Santa Clarita", 9), ("52", "Santa Clarita", 6),
    ("54", "Pasadena", 25), ("54", "Pomona", 35), ("52", "El Monte", 17), ("56", "El Monte|Rosemead|Baldwin Park", 10),
    ("54", "West Covina", 14), ("54", "Alhambra|Monterey Park", 18), ("54", "Arcadia", 10), ("54", "Covina", 16),
    ("54", "Baldwin Park", 21), ("54", "Diamond Bar", 15), ("52", "Rosemead", 5), ("52", "Rosemead", 12),
    ("54", "Azusa", 15), ("54", "Claremont", 10), ("54", "Rowland Heights", 19),
    ("54", "La Puente|Hacienda Heights", 29), ("54", "Glendora", 11), ("54", "Monrovia", 9), ("52", "El Monte", 12),
    ("54", "Claremont|Pomona", 12), ("54", "Monrovia", 8), ("54", "Arcadia|Rosemead", 8), ("54", "Alhambra", 8),
    ("54", "Pasadena", 5), ("54", "Pasadena", 4), ("54", "Covina", 8), ("52", "El Monte", 3), ("54", "La Puente", 6),
    ("52", "West Hollywood", 4),
    ("54", "Santa Monica", 16), ("54", "Culver City", 9), ("54", "Beverly Hills", 6),
    ("54", "Compton", 35), ("54", "Lynwood", 17), ("54", "Paramount", 18),
    ("54", "Downey", 22), ("52", "Whittier", 13), ("54", "Norwalk|La Mirada", 26), ("54", "Bellflower", 15),
    ("54", "Cerritos", 28), ("54", "Montebello|East Los Angeles|Bell Gardens", 28), ("54", "Pico Rivera", 14),
    ("56", "Whittier|La Mirada|Santa Fe Springs", 10), ("52", "Whittier", 6), ("52", "Whittier", 13),
    ("52", "Santa Fe Springs", 8), ("52", "Santa Fe Springs", 4), ("52", "La Mirada", 6),
    ("54", "Long Beach|North Long Beach|Lakewood", 82), ("54", "Torrance", 34), ("54", "Inglewood", 17),
    ("52", "Hawthorne", 12), ("56", "Hawthorne|Lawndale", 6), ("52", "Lawndale", 7), ("52", "Hawthorne", 5),
    ("54", "El Segundo", 5), ("54", "Redondo Beach", 13), ("54", "Redondo Beach|Torrance", 9), ("54", "Lomita", 15),
    ("52", "Inglewood", 6), ("54", "Glendale|La Crescenta", 6), ("52", "Covina|West Covina", 7),
)
METRO_CENTRES = (
    "Van Nuys|North Hollywood|Canoga Park|Northridge|Pacoima|Sylmar|Reseda|Sherman Oaks|San Fernando|"
    "Woodland Hills|Sun Valley|Panorama City|Downtown Los Angeles|Hollywood|Koreatown|Boyle Heights|Silver Lake|"
    "Echo Park|Highland Park|West Hollywood|Westlake|Lincoln Heights|Eagle Rock|Westwood|Venice|Mar Vista|"
    "West Los Angeles|Pacific Palisades|South Los Angeles|Florence|Watts|Crenshaw|Willowbrook|Huntington Park|"
    "South Gate|East Los Angeles|San Pedro|Wilmington|Carson|Gardena"
)
METRO_SCHOOLS = 1000
COE_SCHOOLS = 90
LA_COE_DISTRICT = "10199"
NO_COORDINATE_SCHOOLS = 5

DOC_TYPE = {"00": "County Office of Education (COE)", "52": "Elementary School District",
            "54": "Unified School District", "56": "High School District"}
DISTRICT_SUFFIX = {"52": "Elementary", "54": "Unified", "56": "Union High"}

# SOC code -> (SOCType, EdOpsCode, EdOpsName, EILCode, EILName, GSoffered, name suffix, DASS)
SOC_INFO: dict[str, tuple[str, str, str, str, str, str, str, bool]] = {
    "60": ("Elementary Schools (Public)", "TRAD", "Traditional", "ELEM", "Elementary", "K-5", "Elementary", False),
    "62": ("Intermediate/Middle Schools (Public)", "TRAD", "Traditional", "INTMIDJR",
           "Intermediate/Middle/Junior High", "6-8", "Middle", False),
    "66": ("High Schools (Public)", "TRAD", "Traditional", "HS", "High School", "9-12", "High", False),
    "65": ("K-12 Schools (Public)", "TRAD", "Traditional", "ELEMHIGH", "Elementary-High Combination", "K-12",
           "K-12 Academy", False),
    "68": ("Continuation High Schools", "CON", "Continuation School", "HS", "High School", "9-12",
           "Continuation High", True),
    "69": ("District Community Day Schools", "COMMDAY", "Community Day School", "HS", "High School", "7-12",
           "Community Day", True),
    "09": ("Special Education Schools (Public)", "SPEC", "Special Education School", "ELEMHIGH",
           "Elementary-High Combination", "K-12", "Special Education Center", False),
    "14": ("Juvenile Court Schools", "JUV", "Juvenile Court School", "HS", "High School", "7-12",
           "Juvenile Court School", True),
}
SOC_CODES = list(SOC_INFO)
# SOC mix by DOC (probabilities in SOC_CODES order).
SOC_MIX = {
    "52": [0.79, 0.19, 0.0, 0.0, 0.0, 0.0, 0.02, 0.0],
    "54": [0.62, 0.15, 0.12, 0.03, 0.045, 0.02, 0.015, 0.0],
    "56": [0.0, 0.0, 0.66, 0.0, 0.2, 0.08, 0.06, 0.0],
    "00": [0.22, 0.12, 0.14, 0.1, 0.0, 0.0, 0.22, 0.2],
}
CHARTER_SHARE = {"52": 0.05, "54": 0.12, "56": 0.08, "00": 0.55}
METRO_CHARTER_SHARE = 0.2
ENROL_MEDIAN = {"60": 450, "62": 760, "66": 1450, "65": 560, "68": 140, "69": 28, "09": 70, "14": 55}
ENROL_SIGMA = {"60": 0.35, "62": 0.35, "66": 0.45, "65": 0.5, "68": 0.5, "69": 0.5, "09": 0.6, "14": 0.5}
# Grade-span shares (TK-K, 1-3, 4-6, 7-8, 9-12) by SOC.
GRADE_MIX = {
    "60": [0.2, 0.45, 0.35, 0, 0], "62": [0, 0, 0.3, 0.7, 0], "66": [0, 0, 0, 0, 1],
    "65": [0.08, 0.2, 0.2, 0.17, 0.35], "68": [0, 0, 0, 0, 1], "69": [0, 0, 0, 0.3, 0.7],
    "09": [0.15, 0.2, 0.2, 0.15, 0.3], "14": [0, 0, 0, 0.15, 0.85],
}

WORDS = (
    "Sycamore Juniper Manzanita Larkspur Bluebird Sagebrush Meadowlark Ironwood Quail Buckeye Chaparral Toyon "
    "Yarrow Poppy Lupine Sparrow Heron Kestrel Plover Wren Finch Oriole Tanager Thrasher Alder Aspen Birch Cedar "
    "Cypress Elm Hawthorn Laurel Linden Magnolia Maple Myrtle Olive Pine Redbud Rowan Spruce Walnut Willow Acorn "
    "Amber Aurora Beacon Cobalt Compass Coral Crescent Crystal Dawn Ember Garnet Harbor Horizon Indigo Jade "
    "Lantern Lark Meridian Mesa Mosaic Nova Opal Orchard Pebble Prairie Quarry Quill Radiant Saffron Sequoia "
    "Sierra Solstice Summit Thistle Topaz Trellis Tumbleweed Vista Zephyr Canyon Brook Hollow Ridge Grove Hilltop "
    "Sunrise Starlight Moonstone Riverbend Clearwater Fernwood Foxglove Goldfinch Greenleaf Hummingbird Kingfisher "
    "Marigold Nightingale Oakmoss Pinecone Rainshadow Rosewood Silverleaf Skylark Snowberry Sunflower Thunderbird "
    "Twinpeak Wildrose Windmill Piñon Cañada"
).split()
NAME_TAILS = ("", "", "", " Park", " Hills", " Ridge", " Valley", " Grove", " Heights", " Meadows", " Springs",
              " Creek", " Canyon", " Gardens", " Terrace", " Point")

_NON_ASCII = sorted({ch for w in WORDS for ch in w if ord(ch) > 127})
COUNTY_NAMES = [n.replace("_", " ") for n in (
    "Alameda Alpine Amador Butte Calaveras Colusa Contra_Costa Del_Norte El_Dorado Fresno Glenn Humboldt Imperial "
    "Inyo Kern Kings Lake Lassen Los_Angeles Madera Marin Mariposa Mendocino Merced Modoc Mono Monterey Napa Nevada "
    "Orange Placer Plumas Riverside Sacramento San_Benito San_Bernardino San_Diego San_Francisco San_Joaquin "
    "San_Luis_Obispo San_Mateo Santa_Barbara Santa_Clara Santa_Cruz Shasta Sierra Siskiyou Solano Sonoma "
    "Stanislaus Sutter Tehama Trinity Tulare Tuolumne Ventura Yolo Yuba").split()]
COUNTY_CODES = [f"{i:02d}" for i in range(1, 59)]
STATE_SCHOOLS = 10_000  # about, all counties together at scale="state"
STATE_DISTRICTS = 1_000

# ------------------------------------------------------------------ outcome model

RACES = ["RA", "RB", "RD", "RF", "RH", "RI", "RP", "RT", "RW"]
GENDERS = ["GF", "GM", "GX"]
GRADES = ["GRTKKN", "GR13", "GR46", "GR78", "GR912"]
PROGRAMS = ["SD", "SE", "SF", "SH", "SM", "SS"]
CATEGORIES = list(codes.REPORTING_CATEGORIES)  # TA, races, genders, programs, GRTKKN..GR78, GRTK8, GR912
CAT_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
N_CELLS = len(RACES) * len(GENDERS) * len(GRADES)

CHRONIC_TARGET = [0.12, 0.13, 0.15, 0.30, 0.25, 0.21, 0.18]  # 2019-20 is drawn but never written
SUSPENSION_TARGET = [0.025, 0.015, 0.002, 0.023, 0.027, 0.026, 0.025]
ENROL_TREND = [1.0, 0.99, 0.96, 0.94, 0.925, 0.91, 0.895]
GX_SHARE = [0.0, 0.0004, 0.0008, 0.0012, 0.0018, 0.0024, 0.003]
CHRONIC_ELIGIBLE_SHARE = 0.96
REPEAT_SUSPENSIONS = 0.55  # extra suspensions per suspended student
# Suspension reasons: injury, no injury, weapons, drugs, defiance-only, other.
REASON_SHARES = [
    [0.17, 0.40, 0.07, 0.16, 0.12, 0.08], [0.17, 0.41, 0.07, 0.17, 0.10, 0.08], [0.15, 0.45, 0.08, 0.16, 0.08, 0.08],
    [0.18, 0.44, 0.08, 0.17, 0.06, 0.07], [0.18, 0.43, 0.08, 0.18, 0.06, 0.07], [0.18, 0.43, 0.08, 0.18, 0.06, 0.07],
    [0.18, 0.43, 0.08, 0.18, 0.06, 0.07],
]
# log-odds effects, chronic then suspension
RACE_EFF = (np.array([-0.9, 0.65, 0.1, -0.45, 0.15, 0.55, 0.5, 0.05, -0.15]),
            np.array([-1.2, 1.0, 0.0, -0.8, 0.05, 0.6, 0.4, 0.25, -0.1]))
GENDER_EFF = (np.array([0.0, 0.03, 0.35]), np.array([-0.65, 0.55, 0.3]))
GRADE_EFF = (np.array([0.35, 0.0, -0.15, 0.05, 0.3]), np.array([-1.6, -1.0, -0.35, 0.6, 0.35]))
PROGRAM_EFF = (np.array([0.55, 0.05, 1.0, 0.85, 0.1, 0.3]), np.array([0.75, 0.1, 1.4, 0.8, -0.1, 0.35]))
PROGRAM_SHARE = np.array([0.13, 0.20, 0.006, 0.03, 0.004, 0.68])
SPA_EFF = (np.array([0, 0.35, -0.1, -0.2, 0.1, -0.35, 0.45, 0.0, 0.05]),
           np.array([0, 0.6, -0.15, -0.2, 0.0, -0.35, 0.35, -0.05, 0.1]))
SPA_NEED = np.array([0, 0.5, 0.0, -0.2, 0.4, -0.6, 0.7, 0.2, 0.1])
SOC_EFF = ({"60": 0, "62": -0.05, "66": 0.2, "65": 0.15, "68": 1.0, "69": 1.2, "09": 0.6, "14": 0.8},
           {"60": -0.3, "62": 0.2, "66": 0.0, "65": 0.0, "68": 0.5, "69": 1.0, "09": 0.2, "14": 0.3})
CHARTER_EFF = (-0.1, -0.3)
COMMUNITY_GAIN = (-0.14, -0.12)  # extra log-odds per year after the first grant year (capped at 3 years)
# The planted effect in words, for the demo banner next to the impact estimate.
IMPACT_NOTE = ("This fictional demo plants a true effect: after their first grant, community schools' odds of "
               "chronic absence fall by 0.14 and of suspension by 0.12 on the log-odds scale each year, for up to "
               "three years (about 2 and 0.3 percentage points a year), beyond what similar schools do; the "
               "matched estimate should find it.")
# Race shares by SPA (RA RB RD RF RH RI RP RT RW); index 0 = outside LA.
RACE_MIX = np.array([
    [0.12, 0.05, 0.01, 0.03, 0.55, 0.005, 0.005, 0.04, 0.19],
    [0.04, 0.14, 0.01, 0.03, 0.55, 0.005, 0.005, 0.04, 0.18],
    [0.08, 0.04, 0.01, 0.04, 0.60, 0.003, 0.002, 0.03, 0.19],
    [0.22, 0.02, 0.01, 0.03, 0.60, 0.002, 0.002, 0.02, 0.09],
    [0.10, 0.05, 0.01, 0.05, 0.70, 0.002, 0.002, 0.02, 0.05],
    [0.13, 0.07, 0.02, 0.03, 0.30, 0.003, 0.002, 0.08, 0.36],
    [0.01, 0.22, 0.01, 0.005, 0.74, 0.002, 0.003, 0.01, 0.005],
    [0.06, 0.03, 0.01, 0.02, 0.82, 0.002, 0.002, 0.01, 0.04],
    [0.09, 0.13, 0.01, 0.06, 0.52, 0.003, 0.01, 0.05, 0.12],
])
RACE_MIX = RACE_MIX / RACE_MIX.sum(axis=1, keepdims=True)
STATE_SCALE_FACTOR = 4.6  # county scale: the state row is LA's totals times this
STATE_RATE_FACTOR = (0.96, 1.3)

# Value columns carried per cell / row.
V_ENROL, V_CA_DEN, V_CA_NUM, V_SU_UNDUP, V_SU_TOTAL, V_SU_DEF = range(6)
V_REASONS = list(range(6, 12))
N_VALUES = 12

# ------------------------------------------------------------------ initiative

COHORT_SIZES = {1: 140, 2: 175, 3: 205}
COHORT_FIRST_YEAR = {1: "2021-22", 2: "2022-23", 3: "2023-24"}
COMMUNITY_PLANNING_SHARE = 0.07
IMPLEMENTATION_YEARS = 5
LA_GRANTS_USD = 660_000_000
STATE_GRANTS_USD = 2_800_000_000  # awarded statewide (not the $4.1B appropriated)
LA_IMPLEMENTATION_USD = 630_000_000
PLANNING_GRANT_USD = 200_000
FUNDING_SOURCE = "CCSPP (Prop 98)"
# Per year: learning opportunities, attendees, unique individuals, support sessions,
# referrals, engagement events, item distributions, items.
ACTIVITY_PLAN = {
    "2023-24": (52, 2050, 480, 301, 268, 371, 85, 6200),
    "2024-25": (77, 3100, 745, 459, 436, 582, 140, 10450),
}


def _rng(seed: int, *keys: int) -> np.random.Generator:
    """An independent stream per (seed, county, purpose): LA draws the same at either scale."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


# ------------------------------------------------------------------ schools

def _names(rng: np.random.Generator, n: int, used: set[str]) -> list[str]:
    """n fictional stems not in `used`."""
    out = []
    while len(out) < n:
        w, t = rng.integers(0, len(WORDS)), rng.integers(0, len(NAME_TAILS))
        stem = WORDS[w] + NAME_TAILS[t]
        if stem not in used:
            used.add(stem)
            out.append(stem)
    return out


def _county_plan(county: str, seed: int) -> list[tuple[str, str, list[int], int]]:
    """(district_code, DOC, centre indices, school count) for one county; the county office first."""
    if county == codes.LA_COUNTY_CODE:
        rng = _rng(seed, 19, 1)
        # The county office sits in Downey (its first centre is where the district row goes).
        coe = [CENTRE_INDEX["Downey"]] + [i for i in range(len(CENTRES)) if CENTRES[i].place != "Downey"]
        specs = [("00", coe, COE_SCHOOLS), ("54", _idx(METRO_CENTRES), METRO_SCHOOLS)]
        specs += [(doc, _idx(cs), n) for doc, cs, n in LA_DISTRICTS]
        dcodes = sorted((rng.choice(16999, len(specs) - 1, replace=False) + 61000).tolist())
        order = rng.permutation(len(specs) - 1)  # codes not in list order, as in real life
        codes_ = [LA_COE_DISTRICT] + [f"{dcodes[i]:05d}" for i in order]
        return [(c, d, cs, n) for c, (d, cs, n) in zip(codes_, specs)]
    rng = _rng(seed, int(county), 1)
    n_schools, n_districts = _other_county_size(county, seed)
    docs = rng.choice(["52", "54", "56"], n_districts - 1, p=[0.45, 0.45, 0.10])
    sizes = rng.lognormal(0, 0.9, n_districts - 1)
    sizes = np.maximum(1, np.round(sizes / sizes.sum() * (n_schools - 4))).astype(int)
    dcodes = sorted((rng.choice(16999, n_districts - 1, replace=False) + 61000).tolist())
    out = [(f"10{county}0", "00", [-1], 4)]
    out += [(f"{c:05d}", str(d), [-1], int(s)) for c, d, s in zip(dcodes, docs, sizes)]
    return out


def _idx(places: str) -> list[int]:
    return [CENTRE_INDEX[p] for p in places.split("|")]


def _other_county_size(county: str, seed: int) -> tuple[int, int]:
    """Schools and districts of a county other than LA, so the state totals come to ~10,000 / ~1,000."""
    rng = _rng(seed, 0, 2)
    w = rng.lognormal(0, 1.3, 58)
    w[int(codes.LA_COUNTY_CODE) - 1] = 0
    i = int(county) - 1
    la_schools = COE_SCHOOLS + METRO_SCHOOLS + sum(n for _, _, n in LA_DISTRICTS)
    schools = max(8, int(round(w[i] / w.sum() * (STATE_SCHOOLS - la_schools))))
    districts = max(2, int(round(schools / (STATE_SCHOOLS - la_schools) * (STATE_DISTRICTS - 80))))
    return schools, districts


def make_schools(county: str, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, np.ndarray]]:
    """(districts, schools, model arrays) for one county. Schools sorted by district then school code."""
    rng = _rng(seed, int(county), 3)
    county_name = COUNTY_NAMES[int(county) - 1]
    is_la = county == codes.LA_COUNTY_CODE
    plan = _county_plan(county, seed)
    used: set[str] = set()
    d_rows, s_cols = [], {k: [] for k in ("district_code", "doc", "centre", "soc", "charter")}
    d_stems = _names(rng, len(plan), used)
    for (dcode, doc, centres, n), stem in zip(plan, d_stems):
        if doc == "00":
            dname = f"{DEMO_MARKER} {county_name} County Office of Education"
        else:
            dname = f"{DEMO_MARKER} {stem} {DISTRICT_SUFFIX[doc]}"
        d_rows.append((dcode, doc, dname, centres[0]))
        socs = rng.choice(SOC_CODES, n, p=SOC_MIX[doc])
        share = METRO_CHARTER_SHARE if (is_la and dcode == plan[1][0]) else CHARTER_SHARE[doc]
        charter = (rng.random(n) < share) & np.isin(socs, ["60", "62", "66", "65"])
        s_cols["district_code"] += [dcode] * n
        s_cols["doc"] += [doc] * n
        s_cols["centre"] += rng.choice(centres, n).tolist()
        s_cols["soc"] += socs.tolist()
        s_cols["charter"] += charter.tolist()
    n = len(s_cols["soc"])
    soc = np.array(s_cols["soc"])
    doc = np.array(s_cols["doc"])
    centre = np.array(s_cols["centre"])
    charter = np.array(s_cols["charter"], dtype=bool)
    dist = np.array(s_cols["district_code"])
    school_code = np.empty(n, dtype=object)
    for d in np.unique(dist):
        m = np.flatnonzero(dist == d)
        school_code[m] = [f"{c:07d}" for c in sorted(rng.choice(9_899_999, len(m), replace=False) + 100_000)]
    # status: a few closed (data through their last year), a few opened after 2018-19
    u = rng.random(n)
    closed = u < 0.025
    last_start = np.where(closed, rng.integers(2018, 2024, n), 9999)
    opened_late = (u > 0.985)
    first_start = np.where(opened_late, rng.integers(2019, 2023, n), rng.integers(1960, 2018, n))
    # places
    if is_la:
        lat, lon = jitter(rng, centre)
        spa = np.array([CENTRES[c].spa_n for c in centre])
        city = np.array([CENTRES[c].city for c in centre], dtype=object)
        zip_ = np.array([CENTRES[c].zip for c in centre], dtype=object)
        # a handful with no coordinates, so the 'unassigned' path is exercised
        metro = np.flatnonzero((dist == plan[1][0]) & (soc == "60") & ~charter & ~closed & ~opened_late)
        nocoord = rng.choice(metro, NO_COORDINATE_SCHOOLS, replace=False)
        lat[nocoord] = np.nan
        lon[nocoord] = np.nan
        spa[nocoord] = 0
    else:
        # Far north of LA County: these rows only matter for statewide benchmarks.
        k = int(county)
        lat = 36.0 + (k % 10) * 0.45 + rng.random(n) * 0.3
        lon = -122.4 + (k // 10) * 0.5 + rng.random(n) * 0.3
        spa = np.zeros(n, dtype=int)
        city = np.full(n, f"{county_name} Demo City", dtype=object)
        zip_ = np.full(n, NO_DATA, dtype=object)
    # names: unique within a district, as real ones are (different districts share "Lincoln Elementary")
    stems = np.empty(n, dtype=object)
    for d in np.unique(dist):
        m = np.flatnonzero(dist == d)
        stems[m] = _names(rng, len(m), set())
    suffix = np.array([SOC_INFO[s][6] for s in soc], dtype=object)
    school_name = [f"{DEMO_MARKER} {st} {'Charter ' if ch else ''}{sf}" for st, ch, sf in zip(stems, charter, suffix)]
    # model arrays
    z = rng.normal(0, 1, n)
    sigma = np.array([ENROL_SIGMA[s] for s in soc])
    enrol = np.array([ENROL_MEDIAN[s] for s in soc]) * np.exp(rng.normal(0, 1, n) * sigma)
    enrol = np.where(charter, enrol * 0.6, enrol)
    race_p = np.vstack([rng.dirichlet(RACE_MIX[s] * 40 + 1e-3) for s in spa])
    grade_p = np.array([GRADE_MIX[s] for s in soc], dtype=float)
    prog_share = _expit(_logit(PROGRAM_SHARE)[None, :] + rng.normal(0, 0.3, (n, 6))
                        + np.outer(z, [0.1, 0.35, 0.2, 0.3, 0.2, 0.8]))
    model = {
        "z": z,
        "enrol": enrol,
        "trend": rng.normal(0, 0.02, n),
        "u_ca": 0.35 * z + rng.normal(0, 0.3, n),
        "u_su": 0.35 * z + rng.normal(0, 0.45, n),
        "race_p": race_p,
        "grade_p": grade_p,
        "prog_share": prog_share,
        "first_start": first_start,
        "last_start": last_start,
    }
    dass = np.array([SOC_INFO[s][7] for s in soc])
    schools = pl.DataFrame({
        "county_code": np.full(n, county),
        "district_code": dist,
        "school_code": school_code.astype(str),
        "school_name": school_name,
        "soc": soc,
        "doc": doc,
        "charter": charter,
        "dass": dass,
        "closed": closed,
        "first_start": first_start,
        "last_start": last_start,
        "latitude": lat,
        "longitude": lon,
        "spa_n": spa,
        "city": city.astype(str),
        "zip": zip_.astype(str),
        "enrol": enrol,
        "z": z,
    }).with_columns((pl.col("county_code") + pl.col("district_code") + pl.col("school_code")).alias("cds_code"))
    order = schools.with_row_index("_i").sort("district_code", "school_code")["_i"].to_numpy()
    schools = schools[order]
    model = {k: v[order] for k, v in model.items()}
    districts = pl.DataFrame(d_rows, schema=["district_code", "doc", "district_name", "centre"], orient="row")
    districts = districts.with_columns(pl.lit(county).alias("county_code"), pl.lit(county_name).alias("county_name"))
    schools = schools.join(districts.select("district_code", "district_name"), on="district_code", how="left",
                           maintain_order="left")
    schools = schools.with_columns(pl.lit(county_name).alias("county_name"))
    return districts.sort("district_code"), schools, model


# ------------------------------------------------------------------ roster

def make_roster(schools: pl.DataFrame, model: dict[str, np.ndarray], seed: int) -> pl.DataFrame:
    """About 520 LA community schools over CCSPP cohorts 1-3, picked among higher-need schools."""
    rng = _rng(seed, 19, 4)
    eligible = (
        ~schools["closed"].to_numpy() & (schools["first_start"].to_numpy() <= 2018)
        & (schools["spa_n"].to_numpy() > 0) & np.isin(schools["soc"].to_numpy(), ["60", "62", "66", "65", "68"])
    )
    idx = np.flatnonzero(eligible)
    w = np.exp(1.1 * model["z"][idx] + SPA_NEED[schools["spa_n"].to_numpy()[idx]])
    total = sum(COHORT_SIZES.values())
    pick = rng.choice(idx, total, replace=False, p=w / w.sum())
    cohort = np.repeat(list(COHORT_SIZES), list(COHORT_SIZES.values()))
    gtype = np.where(rng.random(total) < COMMUNITY_PLANNING_SHARE, "planning", "implementation")
    roster = pl.DataFrame({
        "_i": pick,
        "cds_code": schools["cds_code"].to_numpy()[pick],
        "cohort": cohort,
        "grant_type": gtype,
        "first_grant_year": [COHORT_FIRST_YEAR[c] for c in cohort],
    })
    return roster.sort("cds_code")


# ------------------------------------------------------------------ outcomes

def _cells(rng: np.random.Generator, n_sy: np.ndarray, race_p: np.ndarray, grade_p: np.ndarray,
           year_i: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Students of each school-year into race x gender x grade cells: (row, cell, count) of non-empty cells."""
    gx = np.array(GX_SHARE)[year_i]
    gender_p = np.column_stack([0.487 * (1 - gx), 0.513 * (1 - gx), gx])
    p = race_p[:, :, None, None] * gender_p[:, None, :, None] * grade_p[:, None, None, :]
    p = p.reshape(len(n_sy), N_CELLS)
    p = p / p.sum(axis=1, keepdims=True) * (1 - 1e-9)
    counts = rng.multinomial(n_sy, p)
    row, cell = np.nonzero(counts)
    return row, cell, counts[row, cell]


def _calibrate(weights: np.ndarray, offsets: np.ndarray, target: float) -> float:
    """Intercept a with sum(w * expit(a + o)) / sum(w) == target (Newton)."""
    a = float(_logit(np.array(target)))
    wsum = weights.sum()
    for _ in range(30):
        p = _expit(a + offsets)
        f = (weights * p).sum() / wsum - target
        if abs(f) < 1e-7:
            break
        a -= f / ((weights * p * (1 - p)).sum() / wsum)
    return a


def _split(rng: np.random.Generator, total: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Multinomial split of each total over columns of shares (rows sum to 1), vectorised."""
    out = np.zeros(shares.shape, dtype=np.int64)
    left = total.astype(np.int64)
    rest = np.ones(len(total))
    for j in range(shares.shape[1] - 1):
        q = np.clip(np.divide(shares[:, j], rest, out=np.zeros(len(total)), where=rest > 0), 0, 1)
        out[:, j] = rng.binomial(left, q)
        left = left - out[:, j]
        rest = rest - shares[:, j]
    out[:, -1] = left
    return out


def _marginals(row: np.ndarray, cell: np.ndarray, vals: np.ndarray, n_rows: int) -> np.ndarray:
    """(n_rows, 25 categories, N_VALUES) sums: TA, race, gender, grade spans and GRTK8; program slots left 0.
    (row, cell) pairs are unique."""
    cells = np.zeros((n_rows, N_CELLS, N_VALUES), dtype=np.int64)
    cells[row, cell] = vals
    cells = cells.reshape(n_rows, len(RACES), len(GENDERS), len(GRADES), N_VALUES)
    out = np.zeros((n_rows, len(CATEGORIES), N_VALUES), dtype=np.int64)
    by_race = cells.sum(axis=(2, 3))
    out[:, CAT_INDEX["TA"]] = by_race.sum(axis=1)
    out[:, [CAT_INDEX[c] for c in RACES]] = by_race
    out[:, [CAT_INDEX[c] for c in GENDERS]] = cells.sum(axis=(1, 3))
    out[:, [CAT_INDEX[c] for c in GRADES]] = cells.sum(axis=(1, 2))
    g = [CAT_INDEX[c] for c in ("GRTKKN", "GR13", "GR46", "GR78")]
    out[:, CAT_INDEX["GRTK8"], :] = out[:, g, :].sum(axis=1)
    return out


def _programs(rng: np.random.Generator, dense: np.ndarray, share: np.ndarray) -> None:
    """Fill program rows (SD..SS) of dense in place as subsets of TA."""
    ta = dense[:, CAT_INDEX["TA"], :]
    for j, code in enumerate(PROGRAMS):
        out = np.zeros((len(ta), N_VALUES), dtype=np.int64)
        for m, (den_v, num_v) in enumerate(((V_CA_DEN, V_CA_NUM), (V_ENROL, V_SU_UNDUP))):
            den, num = ta[:, den_v], ta[:, num_v]
            d = rng.binomial(den, share[:, j])
            p_ta = (num + 0.5) / (den + 1.0)
            p_in = _expit(_logit(p_ta) + PROGRAM_EFF[m][j])
            x = rng.binomial(d, p_in)
            x = np.clip(x, np.maximum(0, num - (den - d)), np.minimum(d, num))
            out[:, den_v], out[:, num_v] = d, x
        undup, total = ta[:, V_SU_UNDUP], ta[:, V_SU_TOTAL]
        frac = np.divide(out[:, V_SU_UNDUP], undup, out=np.zeros(len(ta)), where=undup > 0)
        out[:, V_SU_TOTAL] = out[:, V_SU_UNDUP] + rng.binomial(total - undup, np.clip(frac, 0, 1))
        reasons = ta[:, V_REASONS]
        shares = np.divide(reasons, total[:, None], out=np.full(reasons.shape, 1 / 6), where=total[:, None] > 0)
        out[:, V_REASONS] = _split(rng, out[:, V_SU_TOTAL], shares)
        out[:, V_SU_DEF] = np.minimum(out[:, V_SU_UNDUP], rng.binomial(out[:, V_REASONS[4]], 0.9))
        dense[:, CAT_INDEX[code], :] = out


def _draw_cells(rng: np.random.Generator, n: np.ndarray, p_ca: np.ndarray, p_su: np.ndarray,
                year_i: np.ndarray) -> np.ndarray:
    vals = np.zeros((len(n), N_VALUES), dtype=np.int64)
    vals[:, V_ENROL] = n
    vals[:, V_CA_DEN] = rng.binomial(n, CHRONIC_ELIGIBLE_SHARE)
    vals[:, V_CA_NUM] = rng.binomial(vals[:, V_CA_DEN], p_ca)
    undup = rng.binomial(n, p_su)
    vals[:, V_SU_UNDUP] = undup
    vals[:, V_SU_TOTAL] = undup + rng.poisson(undup * REPEAT_SUSPENSIONS)
    vals[:, V_REASONS] = _split(rng, vals[:, V_SU_TOTAL], np.array(REASON_SHARES)[year_i])
    vals[:, V_SU_DEF] = np.minimum(undup, rng.binomial(vals[:, V_REASONS[4]], 0.9))
    return vals


@dataclass
class CountyOutcomes:
    dense: np.ndarray            # (schools, years, 25, N_VALUES)
    county_cells: np.ndarray     # (years, N_CELLS, N_VALUES): county totals by cell, for a scaled state row


def make_outcomes(schools: pl.DataFrame, model: dict[str, np.ndarray], community: pl.DataFrame | None,
                  county: str, seed: int) -> CountyOutcomes:
    """Every school's 25 category rows for 7 years, both metrics (before suppression)."""
    rng = _rng(seed, int(county), 5)
    S, Y = schools.height, len(YEAR_STARTS)
    ys = np.array(YEAR_STARTS)
    open_ = (model["first_start"][:, None] <= ys[None, :]) & (ys[None, :] <= model["last_start"][:, None])
    trend = np.array(ENROL_TREND)[None, :] * np.exp(model["trend"][:, None] * (ys - 2018)[None, :])
    n_sy = np.rint(model["enrol"][:, None] * trend * np.exp(rng.normal(0, 0.03, (S, Y))))
    n_sy = np.where(open_, np.maximum(n_sy, 1), 0).astype(np.int64)

    spa = schools["spa_n"].to_numpy()
    soc = schools["soc"].to_numpy()
    charter = schools["charter"].to_numpy()
    comm_k = np.zeros((S, Y))
    if community is not None and community.height:
        first = np.array([codes.year_start(y) for y in community["first_grant_year"]])
        k = np.clip(ys[None, :] - first[:, None], 0, 3)
        comm_k[community["_i"].to_numpy()] = k
    county_eff = rng.normal(0, 0.15, 2) if county != codes.LA_COUNTY_CODE else np.zeros(2)
    sy_off = []
    for m, u in enumerate((model["u_ca"], model["u_su"])):
        base = (u + SPA_EFF[m][spa] + np.array([SOC_EFF[m][s] for s in soc]) + CHARTER_EFF[m] * charter
                + county_eff[m])
        sy_off.append(base[:, None] + COMMUNITY_GAIN[m] * comm_k + rng.normal(0, 0.12, (S, Y)))

    flat = n_sy.reshape(-1)
    live = np.flatnonzero(flat > 0)
    s_of, y_of = np.divmod(live, Y)
    row, cell, n = _cells(rng, flat[live], model["race_p"][s_of], model["grade_p"][s_of], y_of)
    race, rem = np.divmod(cell, len(GENDERS) * len(GRADES))
    gender, grade = np.divmod(rem, len(GRADES))
    sy = live[row]
    cell_y = y_of[row]
    probs = []
    targets = (CHRONIC_TARGET, SUSPENSION_TARGET)
    for m in range(2):
        off = sy_off[m].reshape(-1)[sy] + RACE_EFF[m][race] + GENDER_EFF[m][gender] + GRADE_EFF[m][grade]
        a = np.zeros(Y)
        for yi in range(Y):
            sel = cell_y == yi
            a[yi] = _calibrate(n[sel].astype(float), off[sel], targets[m][yi])
        probs.append(_expit(a[cell_y] + off))
    vals = _draw_cells(rng, n, probs[0], probs[1], cell_y)

    dense = _marginals(sy, cell, vals, S * Y)
    share = np.repeat(model["prog_share"], Y, axis=0)
    _programs(rng, dense, share)
    county_cells = np.zeros((Y * N_CELLS, N_VALUES), dtype=np.int64)
    for v in range(N_VALUES):
        county_cells[:, v] = np.bincount(cell_y * N_CELLS + cell, weights=vals[:, v], minlength=Y * N_CELLS).round()
    return CountyOutcomes(dense.reshape(S, Y, len(CATEGORIES), N_VALUES), county_cells.reshape(Y, N_CELLS, N_VALUES))


def scaled_state(county_cells: np.ndarray, county_programs: np.ndarray, seed: int) -> np.ndarray:
    """A state row (years, 25, N_VALUES) from LA's cell totals: 4.6x the students, different rates.
    Scaling cells (not rows) keeps the partitions exact."""
    rng = _rng(seed, 0, 6)
    Y = county_cells.shape[0]
    c = county_cells.reshape(-1, N_VALUES).astype(float)
    out = np.zeros_like(c, dtype=np.int64)
    f_ca = STATE_RATE_FACTOR[0] * np.exp(rng.normal(0, 0.03, Y))
    f_su = STATE_RATE_FACTOR[1] * np.exp(rng.normal(0, 0.05, Y))
    y = np.repeat(np.arange(Y), N_CELLS)
    out[:, V_ENROL] = np.rint(c[:, V_ENROL] * STATE_SCALE_FACTOR)
    out[:, V_CA_DEN] = np.minimum(np.rint(c[:, V_CA_DEN] * STATE_SCALE_FACTOR), out[:, V_ENROL])
    out[:, V_CA_NUM] = np.minimum(np.rint(c[:, V_CA_NUM] * STATE_SCALE_FACTOR * f_ca[y]), out[:, V_CA_DEN])
    for v in V_REASONS:
        out[:, v] = np.rint(c[:, v] * STATE_SCALE_FACTOR * f_su[y])
    out[:, V_SU_TOTAL] = out[:, V_REASONS].sum(axis=1)
    undup = np.rint(c[:, V_SU_UNDUP] * STATE_SCALE_FACTOR * f_su[y])
    out[:, V_SU_UNDUP] = np.minimum.reduce([undup, out[:, V_SU_TOTAL], out[:, V_ENROL]])
    out[:, V_SU_DEF] = np.minimum.reduce([np.rint(c[:, V_SU_DEF] * STATE_SCALE_FACTOR * f_su[y]),
                                          out[:, V_SU_UNDUP], out[:, V_REASONS[4]]])
    cells = np.tile(np.arange(N_CELLS), Y)
    dense = _marginals(y, cells, out, Y)
    ta = dense[:, CAT_INDEX["TA"], :]
    for code in PROGRAMS:
        j = CAT_INDEX[code]
        p = county_programs[:, j, :].astype(float)
        prog = np.zeros((Y, N_VALUES), dtype=np.int64)
        prog[:, V_ENROL] = np.minimum(np.rint(p[:, V_ENROL] * STATE_SCALE_FACTOR), ta[:, V_ENROL])
        prog[:, V_CA_DEN] = np.minimum(np.rint(p[:, V_CA_DEN] * STATE_SCALE_FACTOR), ta[:, V_CA_DEN])
        prog[:, V_CA_NUM] = np.minimum.reduce([np.rint(p[:, V_CA_NUM] * STATE_SCALE_FACTOR * f_ca),
                                               prog[:, V_CA_DEN], ta[:, V_CA_NUM]])
        for v in V_REASONS:
            prog[:, v] = np.minimum(np.rint(p[:, v] * STATE_SCALE_FACTOR * f_su), ta[:, v])
        prog[:, V_SU_TOTAL] = prog[:, V_REASONS].sum(axis=1)
        prog[:, V_SU_UNDUP] = np.minimum.reduce([np.rint(p[:, V_SU_UNDUP] * STATE_SCALE_FACTOR * f_su),
                                                 prog[:, V_SU_TOTAL], prog[:, V_ENROL], ta[:, V_SU_UNDUP]])
        prog[:, V_SU_DEF] = np.minimum.reduce([np.rint(p[:, V_SU_DEF] * STATE_SCALE_FACTOR * f_su),
                                               prog[:, V_SU_UNDUP], prog[:, V_REASONS[4]]])
        dense[:, j, :] = prog
    return dense


# ------------------------------------------------------------------ rows

_ROW_SCHEMA = {
    "year_i": pl.Int32, "level": pl.Utf8, "county_code": pl.Utf8, "district_code": pl.Utf8, "school_code": pl.Utf8,
    "county_name": pl.Utf8, "district_name": pl.Utf8, "school_name": pl.Utf8, "charter": pl.Utf8, "dass": pl.Utf8,
    "cat_i": pl.Int32,
}


def _suppressed(dense: np.ndarray, den_v: int) -> np.ndarray:
    """CDE's rule on (..., 25, V): denominator 10 or less; RD also whenever another race row of the entity is."""
    den = dense[..., den_v]
    small = (den > 0) & (den <= MAX_SUPPRESSED_N)
    others = [CAT_INDEX[c] for c in RACES if c != "RD"]
    small[..., CAT_INDEX["RD"]] |= small[..., others].any(axis=-1)
    return small


def _long(dense: np.ndarray, ident: pl.DataFrame) -> pl.DataFrame:
    """(entities, years, 25, V) -> one row per entity x year x category with any students, in
    (entity, year, category) order, with both metrics' suppression flags.
    `ident` has one row per entity with the identity columns of _ROW_SCHEMA (minus year_i, cat_i)."""
    # program rows draw each metric's denominator separately, so either may be the non-zero one
    e, y, c = np.nonzero((dense[:, :, :, V_ENROL] > 0) | (dense[:, :, :, V_CA_DEN] > 0))
    v = dense[e, y, c, :]
    frame = pl.DataFrame({
        "_e": e.astype(np.int32), "year_i": y.astype(np.int32), "cat_i": c.astype(np.int32),
        "category": np.array(CATEGORIES)[c],
        "sup_ca": _suppressed(dense, V_CA_DEN)[e, y, c],
        "sup_su": _suppressed(dense, V_ENROL)[e, y, c],
    })
    frame = frame.with_columns(pl.Series(f"v{i}", v[:, i]) for i in range(N_VALUES))
    ident = ident.with_row_index("_e").with_columns(pl.col("_e").cast(pl.Int32))
    return frame.join(ident, on="_e", how="left", maintain_order="left").drop("_e")


def outcome_rows(county_data: list[tuple[pl.DataFrame, pl.DataFrame, CountyOutcomes]],
                 state_dense: np.ndarray) -> pl.DataFrame:
    """Long rows at S, D, C and T level for every county given, before suppression."""
    t_ident = pl.DataFrame({"level": ["T"], "county_code": ["00"], "county_name": ["State"],
                            "charter": ["All"], "dass": ["All"]})
    parts = [_long(state_dense[None], t_ident)]
    for districts, schools, out in county_data:
        dense = out.dense
        s_ident = schools.select(
            pl.lit("S").alias("level"), "county_code", "district_code", "school_code", "county_name",
            "district_name", "school_name",
            pl.when(pl.col("charter")).then(pl.lit("Yes")).otherwise(pl.lit("No")).alias("charter"),
            pl.when(pl.col("dass")).then(pl.lit("Yes")).otherwise(pl.lit("No")).alias("dass"),
        )
        dcodes = schools["district_code"].to_numpy()
        starts = np.flatnonzero(np.r_[True, dcodes[1:] != dcodes[:-1]])
        d_of = dcodes[starts]
        dnames = dict(zip(districts["district_code"], districts["district_name"]))
        charter = schools["charter"].to_numpy()
        county, cname = schools["county_code"][0], schools["county_name"][0]

        def d_ident(scope: str, keep: list[str]) -> pl.DataFrame:
            return pl.DataFrame({
                "level": "D", "county_code": county, "district_code": keep, "school_code": None,
                "county_name": cname, "district_name": [dnames[d] for d in keep], "school_name": None,
                "charter": scope, "dass": "All",
            }, schema={k: v for k, v in _ROW_SCHEMA.items() if k not in ("year_i", "cat_i")})

        parts.append(_long(np.add.reduceat(dense, starts, axis=0), d_ident("All", list(d_of))))
        has_charter = np.add.reduceat(charter.astype(int), starts) > 0
        for scope, mask in (("Yes", charter), ("No", ~charter)):
            sub = np.add.reduceat(dense * mask[:, None, None, None], starts, axis=0)[has_charter]
            parts.append(_long(sub, d_ident(scope, list(d_of[has_charter]))))
        c_ident = pl.DataFrame({"level": ["C"], "county_code": [county], "county_name": [cname],
                                "charter": ["All"], "dass": ["All"]})
        parts.insert(-3, _long(dense.sum(axis=0, keepdims=True), c_ident))
        parts.append(_long(dense, s_ident))
    return pl.concat(parts, how="diagonal_relaxed")


def _rate(num: str, den: str) -> pl.Expr:
    """num/den x 100 to one decimal, rounded half up, as text (integer arithmetic: no float ties)."""
    tenths = (pl.col(num) * 2000 + pl.col(den)) // (2 * pl.col(den))
    return pl.format("{}.{}", tenths // 10, tenths % 10)


def _identity(names: list[str]) -> list[pl.Expr]:
    """Aggregate Level .. School Name under this layout's header names (year is added per file)."""
    cols = ["level", "county_code", "district_code", "school_code", "county_name", "district_name", "school_name"]
    return [pl.col(c).alias(n) for c, n in zip(cols, names[1:8])]


def format_chronic(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows in the Chronic Absenteeism layout (all text), with a year_i column to split files on."""
    rows = rows.filter(pl.col("v1") > 0)
    sup = pl.col("sup_ca")
    cat = pl.col("category")

    def cell(expr: pl.Expr) -> pl.Expr:
        return pl.when(pl.col("_sup")).then(pl.lit(SUPPRESSED)).otherwise(expr)

    h = CHRONIC_HEADER
    return rows.with_columns(sup.alias("_sup")).select(
        "year_i", *_identity(h),
        pl.col("charter").alias(h[8]), pl.col("dass").alias(h[9]), cat.alias(h[10]),
        cell(pl.col("v1").cast(pl.Utf8)).alias(h[11]),
        cell(pl.col("v2").cast(pl.Utf8)).alias(h[12]),
        cell(_rate("v2", "v1")).alias(h[13]),
    )


def format_suspension(rows: pl.DataFrame) -> pl.DataFrame:
    rows = rows.filter(pl.col("v0") > 0)
    sup = pl.col("sup_su")
    cat = pl.col("category")

    def cell(expr: pl.Expr) -> pl.Expr:
        return pl.when(pl.col("_sup")).then(pl.lit(SUPPRESSED)).otherwise(expr)

    h = SUSPENSION_HEADER
    return rows.with_columns(sup.alias("_sup")).select(
        "year_i", *_identity(h),
        pl.col("charter").alias(h[8]), cat.alias(h[9]),
        cell(pl.col("v0").cast(pl.Utf8)).alias(h[10]),
        cell(pl.col("v4").cast(pl.Utf8)).alias(h[11]),
        cell(pl.col("v3").cast(pl.Utf8)).alias(h[12]),
        cell(pl.col("v5").cast(pl.Utf8)).alias(h[13]),
        cell(_rate("v3", "v0")).alias(h[14]),
        *[cell(pl.col(f"v{v}").cast(pl.Utf8)).alias(h[15 + i]) for i, v in enumerate(V_REASONS)],
    )


def _write_table(frame: pl.DataFrame, path: Path, encoding: str, line_end: str = "\r\n") -> None:
    """Tab-delimited, no quoting (CDE files never quote), in the given encoding."""
    data = frame.write_csv(separator="\t", line_terminator=line_end, quote_style="never", null_value="").encode()
    if encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + data
    elif encoding == "cp1252":
        # str.encode('cp1252') is slow on tens of MB; the only non-ASCII text is the demo's own words.
        for ch in _NON_ASCII:
            data = data.replace(ch.encode("utf-8"), ch.encode("cp1252"))
    else:
        raise ValueError(encoding)
    path.write_bytes(data)


def write_outcome_files(rows: pl.DataFrame, cde_dir: Path) -> None:
    """One file per metric and year; formatted a year at a time to keep the state scale's memory down."""
    by_year = rows.partition_by("year_i", as_dict=True, maintain_order=True)
    del rows
    for yi, year in enumerate(YEARS):
        year_rows = by_year.pop((yi,))
        for fmt, prefix, header in ((format_chronic, "chronicabsenteeism", CHRONIC_HEADER),
                                    (format_suspension, "suspension", SUSPENSION_HEADER)):
            if prefix == "chronicabsenteeism" and year in NO_CHRONIC_YEARS:
                continue
            part = fmt(year_rows).drop("year_i").with_columns(pl.lit(year).alias(header[0])).select(header)
            encoding = "utf-8-sig" if (prefix == "suspension" and year == "2023-24") else "cp1252"
            _write_table(part, cde_dir / f"{prefix}{year[-2:]}.txt", encoding)


# ------------------------------------------------------------------ Dashboard files

# The Dashboard years this data supports: each reports the year before (2024 = 2023-24).
# 2018 would need 2017-18 data; there was no 2020 or 2021 Dashboard; 2022 is status only.
DASHBOARD_YEARS = (2019, 2022, 2023, 2024, 2025)
DASHBOARD_STATUS_ONLY = (2022,)
# The Dashboard counts a student as suspended only after a combined full day or
# more; DataQuest counts any suspension. Each school's Dashboard numerator is this
# share of its DataQuest one (drawn once per school), so official colours can
# differ from colours computed on the DataQuest counts.
FULL_DAY_SHARE = (0.92, 0.97)
STATE_FULL_DAY_SHARE = 0.945

_DASH_ID = ["cds", "rtype", "schoolname", "districtname", "countyname", "charter_flag", "coe_flag", "dass_flag"]
_DASH_CURRENT = ["studentgroup", "currnumer", "currdenom", "currstatus"]
_DASH_PRIOR = ["priornumer", "priordenom", "priorstatus"]
_DASH_LEVELS = ["statuslevel", "changelevel", "color", "box"]
# Field order as CDE's record layout pages give it (chronic19/22/24.asp,
# suspindicator19/22/24.asp); after currnsizemet (2023 on) and after change
# (2019) the order is third-party code's, not confirmed from CDE.
_DASH_2023_TAIL = ["smalldenom", "currnsizemet", "priornsizemet", "accountabilitymet", "certifyflag"]
DASHBOARD_HEADERS: dict[tuple[str, str], list[str]] = {
    ("chronic_absenteeism", "2019"): _DASH_ID + _DASH_CURRENT + _DASH_PRIOR
    + ["change", "safetynet"] + _DASH_LEVELS + ["certifyflag", "dataerrorflag", "reportingyear"],
    ("chronic_absenteeism", "2022"): _DASH_ID + _DASH_CURRENT + ["statuslevel", "certifyflag", "dataerrorflag",
                                                                 "reportingyear"],
    # The chronic file is said to spell changeLevel with a capital L (third-party report).
    ("chronic_absenteeism", "2023"): _DASH_ID + _DASH_CURRENT + _DASH_PRIOR + ["change", "statuslevel", "changeLevel",
                                                                              "color", "box"]
    + _DASH_2023_TAIL + ["dataerrorflag", "indicator", "reportingyear"],
    ("suspension", "2019"): ["cdscode"] + _DASH_ID[1:] + ["type"] + _DASH_CURRENT + _DASH_PRIOR
    + ["safetynet", "change"] + _DASH_LEVELS + ["certifyflag", "dataerrorflag", "reportingyear"],
    ("suspension", "2022"): _DASH_ID + ["type"] + _DASH_CURRENT + ["statuslevel", "certifyflag", "dataerrorflag",
                                                                   "reportingyear"],
    ("suspension", "2023"): _DASH_ID + ["type"] + _DASH_CURRENT + _DASH_PRIOR + ["change"] + _DASH_LEVELS
    + _DASH_2023_TAIL + ["priorcertifyflag", "indicator", "reportingyear"],
}
DASHBOARD_PREFIX = {"chronic_absenteeism": "chronicdownload", "suspension": "suspdownload"}
DASHBOARD_INDICATOR_CODE = {"chronic_absenteeism": "CHRO", "suspension": "SUSP"}  # unconfirmed codes
_SCHOOL_DASH_TYPE = {"ES": "ES", "MS": "MS", "HS": "HS"}   # K-12 and other schools: the unified set (UD)
_LEA_DASH_TYPE = {"elementary": "ED", "high": "HD"}        # unified districts and county offices: UD
_STATUS_CODE = {name: str(5 - i) for i, name in enumerate(levels.STATUS_LEVELS)}
_CHANGE_CODE = {name: str(5 - i) for i, name in enumerate(levels.CHANGE_LEVELS)}
_COLOR_CODE = {name: str(i + 1) for i, name in enumerate(levels.COLORS)}


def dashboard_header(indicator: str, dashboard_year: int) -> list[str]:
    layout = "2019" if dashboard_year < 2022 else "2022" if dashboard_year in DASHBOARD_STATUS_ONLY else "2023"
    return DASHBOARD_HEADERS[(indicator, layout)]


@dataclass
class DashboardEntities:
    """Every entity the Dashboard files describe, with the counts they are placed on,
    by academic year (the YEARS index): schools, then districts, then the state."""

    ident: pl.DataFrame     # the identity columns, plus `type` and `cut_set` (suspension)
    ca_num: np.ndarray      # (entities, years): GRTK8 chronically absent
    ca_den: np.ndarray      # GRTK8 eligible enrolment
    su_num: np.ndarray      # all students suspended a full day or more (Dashboard definition)
    su_den: np.ndarray      # all students' cumulative enrolment


def dashboard_entities(county_data: list[tuple[pl.DataFrame, pl.DataFrame, "CountyOutcomes"]],
                       state_dense: np.ndarray, seed: int) -> DashboardEntities:
    """The Dashboard's all-students rows from the same counts as the DataQuest files:
    chronic absenteeism on GRTK8 (TK-8, the Dashboard's population), suspension on
    TA with the full-day definition (FULL_DAY_SHARE)."""
    g, t = CAT_INDEX["GRTK8"], CAT_INDEX["TA"]
    idents, ca_num, ca_den, su_num, su_den = [], [], [], [], []
    for districts, schools, out in county_data:
        county = schools["county_code"][0]
        dense = out.dense
        share = FULL_DAY_SHARE[0] + (FULL_DAY_SHARE[1] - FULL_DAY_SHARE[0]) * _rng(seed, int(county), 11).random(
            schools.height)
        s_susp = np.floor(dense[:, :, t, V_SU_UNDUP] * share[:, None] + 0.5).astype(np.int64)
        s_vals = [dense[:, :, g, V_CA_NUM], dense[:, :, g, V_CA_DEN], s_susp, dense[:, :, t, V_ENROL]]
        dcodes = schools["district_code"].to_numpy()
        starts = np.flatnonzero(np.r_[True, dcodes[1:] != dcodes[:-1]])
        d_vals = [np.add.reduceat(v, starts, axis=0) for v in s_vals]
        s_type = [codes.school_type_from_soc(x) for x in schools["soc"]]
        coe = schools["doc"].to_numpy() == "00"
        idents.append(pl.DataFrame({
            "cds": schools["cds_code"], "rtype": "S", "schoolname": schools["school_name"],
            "districtname": schools["district_name"], "countyname": schools["county_name"],
            "charter_flag": np.where(schools["charter"].to_numpy(), "Y", ""), "coe_flag": np.where(coe, "Y", ""),
            "dass_flag": np.where(schools["dass"].to_numpy(), "Y", ""),
            "type": [_SCHOOL_DASH_TYPE.get(x, "UD") for x in s_type],
            "cut_set": [levels.suspension_cut_set(school_type=x) for x in s_type],
        }))
        dinfo = districts.filter(pl.col("district_code").is_in(list(dcodes[starts]))).sort("district_code")
        assert dinfo["district_code"].to_list() == list(dcodes[starts])
        lea = [codes.lea_type_from_doc(x) for x in dinfo["doc"]]
        idents.append(pl.DataFrame({
            "cds": [f"{county}{d}0000000" for d in dinfo["district_code"]], "rtype": "D", "schoolname": "",
            "districtname": dinfo["district_name"], "countyname": dinfo["county_name"], "charter_flag": "",
            "coe_flag": np.where(dinfo["doc"].to_numpy() == "00", "Y", ""), "dass_flag": "",
            "type": [_LEA_DASH_TYPE.get(x, "UD") for x in lea],
            "cut_set": [levels.suspension_cut_set(lea_type=x) for x in lea],
        }))
        for acc, s_v, d_v in zip((ca_num, ca_den, su_num, su_den), s_vals, d_vals):
            acc += [s_v, d_v]
    idents.append(pl.DataFrame({
        "cds": ["00000000000000"], "rtype": ["X"], "schoolname": [""], "districtname": [""], "countyname": [""],
        "charter_flag": [""], "coe_flag": [""], "dass_flag": [""], "type": ["UD"],
        "cut_set": [levels.suspension_cut_set(lea_type="unified")],
    }))
    state_susp = np.floor(state_dense[:, t, V_SU_UNDUP] * STATE_FULL_DAY_SHARE + 0.5).astype(np.int64)
    for acc, v in zip((ca_num, ca_den, su_num, su_den), (state_dense[:, g, V_CA_NUM], state_dense[:, g, V_CA_DEN],
                                                         state_susp, state_dense[:, t, V_ENROL])):
        acc.append(v[None, :])
    return DashboardEntities(pl.concat(idents), *(np.concatenate(a).astype(np.int64)
                                                   for a in (ca_num, ca_den, su_num, su_den)))


def _tenths(num: np.ndarray, den: np.ndarray) -> list[str]:
    """num/den x 100 to one decimal, half up, as text (integer arithmetic, as _rate)."""
    t = (num * 2000 + den) // (2 * np.maximum(den, 1))
    return [f"{a // 10}.{a % 10}" for a in t.tolist()]


def _placement(metric: str, num: int, den: int, pnum: int | None, pden: int | None, cut_set: str | None) -> tuple:
    """(statuslevel, change, changelevel, color, box) as the file writes them, from
    csi_metrics.rules.levels: a status level from 11 students (below that CDE publishes
    none), change from the unrounded rates, a colour from 30 (the 3x5 grid under 150)."""
    rate = num / den
    prior = pnum / pden if pden else None
    a = levels.assess(metric, rate, den, prior, cut_set)
    if a["status_level"] is None:  # 11-29 students: status and change, never a colour
        status = levels.status_level(metric, rate * 100, cut_set)
        ch = None if prior is None else (rate - prior) * 100
        change_pp = None if ch is None else float(levels.round1(ch))
        change = levels.change_level(metric, ch, cut_set) if ch is not None else None
    else:
        status, change_pp, change = a["status_level"], a["change_pp"], a["change_level"]
    color = a["color"]
    box = ""
    if color is not None:
        s_i, c_i = levels.STATUS_LEVELS.index(status), 4 - levels.CHANGE_LEVELS.index(change)
        box = str(10 * (5 * s_i + c_i + 1))  # 10 = Very Low / Increased Significantly .. 250
    return (_STATUS_CODE[status], "" if change_pp is None else f"{change_pp:.1f}",
            _CHANGE_CODE[change] if change else "0", _COLOR_CODE[color] if color else "0", box)


def dashboard_frame(ent: DashboardEntities, indicator: str, dashboard_year: int) -> pl.DataFrame:
    """One Dashboard file's rows (all text, in its layout's order): the entities with
    students in the year (chronic: in grades TK-8), all students (ALL)."""
    yi = YEARS.index(codes.academic_year(dashboard_year - 1))
    status_only = dashboard_year in DASHBOARD_STATUS_ONLY
    has_prior = not status_only and yi > 0
    num_a, den_a = (ent.ca_num, ent.ca_den) if indicator == "chronic_absenteeism" else (ent.su_num, ent.su_den)
    rows = np.flatnonzero(den_a[:, yi] > 0)
    num, den = num_a[rows, yi], den_a[rows, yi]
    shown = den > MAX_SUPPRESSED_N  # CDE: numerator and status blank when the denominator is under 11
    if has_prior:
        pnum, pden = num_a[rows, yi - 1], den_a[rows, yi - 1]
    else:
        pnum = pden = np.zeros_like(num)
    pshown = pden > MAX_SUPPRESSED_N
    cuts = ent.ident["cut_set"].to_numpy()[rows] if indicator == "suspension" else [None] * len(rows)
    placed = [
        _placement(indicator, n, d, pn if ps else None, pd if ps else None, c) if ok else ("0", "", "0", "0", "")
        for n, d, pn, pd, ps, c, ok in zip(num.tolist(), den.tolist(), pnum.tolist(), pden.tolist(),
                                           pshown.tolist(), cuts, shown.tolist())
    ]
    status, change, changelevel, color, box = (list(x) for x in zip(*placed)) if placed else ([],) * 5

    def blank_unless(mask: np.ndarray, values: list[str]) -> list[str]:
        return [v if m else "" for v, m in zip(values, mask.tolist())]

    cols: dict[str, object] = {c: ent.ident[c].to_numpy()[rows] for c in _DASH_ID + ["type"]}
    cols.update({
        "cdscode": cols["cds"], "studentgroup": "ALL",
        "currnumer": blank_unless(shown, [str(x) for x in num.tolist()]),
        "currdenom": [str(x) for x in den.tolist()],
        "currstatus": blank_unless(shown, _tenths(num, den)),
        "priornumer": blank_unless(pshown, [str(x) for x in pnum.tolist()]),
        "priordenom": blank_unless(pden > 0, [str(x) for x in pden.tolist()]),
        "priorstatus": blank_unless(pshown, _tenths(pnum, pden)),
        "change": change, "statuslevel": status, "changelevel": changelevel, "changeLevel": changelevel,
        "color": color, "box": box,
        "smalldenom": np.where(den < levels.SMALL_POPULATION_N, "Y", "N"),
        "safetynet": np.where(den < levels.SMALL_POPULATION_N, "Y", "N"),
        "currnsizemet": np.where(den >= levels.COLOR_MIN_N, "Y", "N"),
        "priornsizemet": np.where(pden >= levels.COLOR_MIN_N, "Y", "N"),
        "accountabilitymet": np.where(den >= levels.COLOR_MIN_N, "Y", "N"),
        "certifyflag": "", "priorcertifyflag": "", "dataerrorflag": "",
        "indicator": DASHBOARD_INDICATOR_CODE[indicator], "reportingyear": str(dashboard_year),
    })
    header = dashboard_header(indicator, dashboard_year)
    n = len(rows)
    return pl.DataFrame({c: (cols[c] if not isinstance(cols[c], str) else [cols[c]] * n) for c in header},
                        schema={c: pl.Utf8 for c in header})


def write_dashboard_files(ent: DashboardEntities, cde_dir: Path) -> None:
    """chronicdownloadYYYY.txt and suspdownloadYYYY.txt for DASHBOARD_YEARS (cp1252, CRLF:
    CDE states no encoding for these files)."""
    for year in DASHBOARD_YEARS:
        for indicator, prefix in DASHBOARD_PREFIX.items():
            _write_table(dashboard_frame(ent, indicator, year), cde_dir / f"{prefix}{year}.txt", "cp1252")


# ------------------------------------------------------------------ directory

def _date(year: np.ndarray, month: int, day: int) -> list[str]:
    return [f"{month:02d}/{day:02d}/{y}" for y in year]


def directory_frame(districts: pl.DataFrame, schools: pl.DataFrame, seed: int) -> pl.DataFrame:
    """pubschls.txt rows (46 text columns) for one county: its district rows and its schools."""
    county = schools["county_code"][0]
    rng = _rng(seed, int(county), 7)
    is_la = county == codes.LA_COUNTY_CODE
    n = schools.height
    soc = schools["soc"].to_numpy()
    info = [SOC_INFO[s] for s in soc]
    charter = schools["charter"].to_numpy()
    doc = schools["doc"].to_numpy()
    words = rng.choice(WORDS, n)
    num = rng.integers(100, 19999, n)
    street = [f"{k} {DEMO_MARKER} {w} Avenue" for k, w in zip(num, words)]
    street_abr = [f"{k} {DEMO_MARKER} {w} Ave." for k, w in zip(num, words)]
    first = schools["first_start"].to_numpy()
    last = schools["last_start"].to_numpy()
    lat = schools["latitude"].to_numpy()
    lon = schools["longitude"].to_numpy()
    has_xy = ~np.isnan(lat)
    nces_d = {d: f"06{int(rng.integers(10000, 99999)):05d}" for d in districts["district_code"]}
    s = pl.DataFrame({
        "CDSCode": schools["cds_code"],
        "NCESDist": [nces_d[d] for d in schools["district_code"]],
        "NCESSchool": [f"{k:05d}" for k in rng.integers(1000, 99999, n)],
        "StatusType": np.where(schools["closed"].to_numpy(), "Closed", "Active"),
        "County": schools["county_name"],
        "District": schools["district_name"],
        "School": schools["school_name"],
        "Street": street,
        "StreetAbr": street_abr,
        "City": schools["city"],
        "Zip": schools["zip"],
        "State": "CA",
        "MailStreet": street,
        "MailStrAbr": street_abr,
        "MailCity": schools["city"],
        "MailZip": schools["zip"],
        "MailState": "CA",
        "Phone": [f"(555) 01{k:01d}-{m:04d}" for k, m in zip(rng.integers(0, 9, n), rng.integers(0, 9999, n))],
        "Ext": NO_DATA,
        "FaxNumber": NO_DATA,
        "WebSite": NO_DATA,
        "OpenDate": _date(np.where(first < 1980, 1980, first), 7, 1),
        "ClosedDate": [f"06/30/{y + 1}" if y < 9999 else NO_DATA for y in last],
        "Charter": np.where(charter, "Y", "N"),
        "CharterNum": [f"{k:04d}" if c else NO_DATA for k, c in zip(rng.integers(100, 2400, n), charter)],
        "FundingType": np.where(charter, np.where(rng.random(n) < 0.8, "Directly funded", "Locally funded"), NO_DATA),
        "DOC": doc,
        "DOCType": [DOC_TYPE[d] for d in doc],
        "SOC": soc,
        "SOCType": [i[0] for i in info],
        "EdOpsCode": [i[1] for i in info],
        "EdOpsName": [i[2] for i in info],
        "EILCode": [i[3] for i in info],
        "EILName": [i[4] for i in info],
        "GSoffered": [i[5] for i in info],
        "GSserved": [i[5] for i in info],
        "Virtual": np.where(rng.random(n) < 0.1, "C", "N"),
        "Magnet": np.where(rng.random(n) < 0.08, "Y", "N"),
        "YearRoundYN": "N",
        "FederalDFCDistrictID": NO_DATA,
        "Latitude": [f"{v:.6f}" if ok else NO_DATA for v, ok in zip(lat, has_xy)],
        "Longitude": [f"{v:.5f}" if ok else NO_DATA for v, ok in zip(lon, has_xy)],
        "AdmFName": NO_DATA,
        "AdmLName": NO_DATA,
        "LastUpDate": [f"{m:02d}/{d:02d}/2025" for m, d in zip(rng.integers(1, 10, n), rng.integers(1, 28, n))],
        "Multilingual": np.where(rng.random(n) < 0.15, "Y", "N"),
    })
    dn = districts.height
    d_lat, d_lon = [], []
    for c in districts["centre"]:
        if is_la:
            d_lat.append(f"{CENTRES[c].lat:.6f}")
            d_lon.append(f"{CENTRES[c].lon:.5f}")
        else:
            d_lat.append(NO_DATA)
            d_lon.append(NO_DATA)
    d_city = [CENTRES[c].city if is_la else f"{districts['county_name'][0]} Demo City" for c in districts["centre"]]
    d_zip = [CENTRES[c].zip if is_la else NO_DATA for c in districts["centre"]]
    d_street = [f"{k} {DEMO_MARKER} Civic Center Drive" for k in rng.integers(100, 9999, dn)]
    d = pl.DataFrame({
        "CDSCode": [f"{county}{dc}0000000" for dc in districts["district_code"]],
        "NCESDist": [nces_d[x] for x in districts["district_code"]],
        "NCESSchool": NO_DATA,
        "StatusType": "Active",
        "County": districts["county_name"],
        "District": districts["district_name"],
        "School": NO_DATA,
        "Street": d_street,
        "StreetAbr": [x.replace(" Drive", " Dr.") for x in d_street],
        "City": d_city,
        "Zip": d_zip,
        "State": "CA",
        "MailStreet": d_street,
        "MailStrAbr": [x.replace(" Drive", " Dr.") for x in d_street],
        "MailCity": d_city,
        "MailZip": d_zip,
        "MailState": "CA",
        "DOC": districts["doc"],
        "DOCType": [DOC_TYPE[x] for x in districts["doc"]],
        "Latitude": d_lat,
        "Longitude": d_lon,
        "LastUpDate": "07/01/2025",
    })
    d = d.with_columns(pl.lit(NO_DATA).alias(c) for c in DIRECTORY_HEADER if c not in d.columns)
    return pl.concat([d.select(DIRECTORY_HEADER), s.select(DIRECTORY_HEADER)]).sort("CDSCode")


# ------------------------------------------------------------------ grants

def make_grants(la_schools: pl.DataFrame, la_districts: pl.DataFrame, roster: pl.DataFrame, seed: int) -> pl.DataFrame:
    """One row per award. Implementation: 5-year total, $150k-$500k a year by enrolment;
    planning: $200k to each LEA with community schools; coordination: the county office.
    LA totals LA_GRANTS_USD; fictional grantees elsewhere bring the state to STATE_GRANTS_USD."""
    rng = _rng(seed, 0, 8)
    r = roster.join(la_schools.select("cds_code", "school_name", "district_code", "enrol"), on="cds_code")
    impl = r.filter(pl.col("grant_type") == "implementation").sort("cds_code")
    enrol = impl["enrol"].to_numpy()

    def annual(k: float) -> np.ndarray:
        return np.clip(150_000 + k * enrol, 150_000, 500_000)

    lo, hi = 0.0, 2000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if annual(mid).sum() * IMPLEMENTATION_YEARS < LA_IMPLEMENTATION_USD:
            lo = mid
        else:
            hi = mid
    amounts = np.round(annual(lo) / 1000).astype(np.int64) * 1000 * IMPLEMENTATION_YEARS
    rows = []
    for (cds, name, cohort), amt in zip(impl.select("cds_code", "school_name", "cohort").iter_rows(), amounts):
        rows.append([cds, name, "school", "19", cohort, "implementation", COHORT_FIRST_YEAR[cohort], int(amt)])
    lea = (r.group_by("district_code").agg(pl.col("cohort").min()).sort("district_code")
           .filter(pl.col("district_code") != LA_COE_DISTRICT))
    dnames = dict(zip(la_districts["district_code"], la_districts["district_name"]))
    for dcode, cohort in lea.iter_rows():
        rows.append([f"19{dcode}0000000", dnames[dcode], "LEA", "19", cohort, "planning",
                     COHORT_FIRST_YEAR[cohort], PLANNING_GRANT_USD])
    left = LA_GRANTS_USD - sum(x[-1] for x in rows)
    coe_cds, coe_name = f"19{LA_COE_DISTRICT}0000000", dnames[LA_COE_DISTRICT]
    split = [int(left * 0.4) // 1000 * 1000, int(left * 0.3) // 1000 * 1000]
    split.append(left - sum(split))
    for cohort, amt in zip((1, 2, 3), split):
        rows.append([coe_cds, coe_name, "LEA", "19", cohort, "coordination", COHORT_FIRST_YEAR[cohort], amt])
    # Other counties: fictional grantees, shares by a made-up weight.
    others = [c for c in COUNTY_CODES if c != codes.LA_COUNTY_CODE]
    w = rng.lognormal(0, 1.0, len(others))
    budget = np.floor(w / w.sum() * (STATE_GRANTS_USD - LA_GRANTS_USD) / 1000).astype(np.int64) * 1000
    budget[-1] += STATE_GRANTS_USD - LA_GRANTS_USD - budget.sum()
    for county, b in zip(others, budget):
        cname = COUNTY_NAMES[int(county) - 1]
        n_lea = int(rng.integers(1, 6))
        impl_budget = b * 0.95 - n_lea * PLANNING_GRANT_USD
        n_impl = max(1, int(impl_budget // 1_600_000))
        a = rng.uniform(150_000, 500_000, n_impl) * IMPLEMENTATION_YEARS
        a = np.floor(a / a.sum() * impl_budget / 1000).astype(np.int64) * 1000
        cohorts = rng.integers(1, 4, n_impl)
        for i, (amt, coh) in enumerate(zip(a, cohorts)):
            rows.append([f"{county}9{i // 100:04d}{i % 100 + 1:07d}", f"{DEMO_MARKER} Grantee School {i + 1:04d} "
                         f"({cname} County)", "school", county, int(coh), "implementation",
                         COHORT_FIRST_YEAR[int(coh)], int(amt)])
        for j in range(n_lea):
            coh = int(rng.integers(1, 4))
            rows.append([f"{county}8{j:04d}0000000", f"{DEMO_MARKER} Grantee District {j + 1:03d} ({cname} County)",
                         "LEA", county, coh, "planning", COHORT_FIRST_YEAR[coh], PLANNING_GRANT_USD])
        rest = int(b - a.sum() - n_lea * PLANNING_GRANT_USD)
        rows.append([f"{county}10{county}00000000", f"{DEMO_MARKER} {cname} County Office of Education", "LEA",
                     county, 1, "coordination", COHORT_FIRST_YEAR[1], rest])
    df = pl.DataFrame(rows, schema=["grantee_cds", "grantee_name", "grantee_level", "county_code", "cohort",
                                    "grant_type", "award_year", "amount_usd"], orient="row")
    df = df.with_columns(
        pl.format("CCSPP-{}-{}-{}", pl.col("cohort"), pl.col("county_code"),
                  (pl.int_range(pl.len()) + 1).cast(pl.Utf8).str.zfill(5)).alias("grant_id"),
        pl.lit(FUNDING_SOURCE).alias("funding_source"),
    )
    return df.select(GRANTS_HEADER)


# ------------------------------------------------------------------ activities

def _school_days(rng: np.random.Generator, year: str, n: int) -> list[str]:
    """n weekday dates in the academic year (mid-August to mid-June), fewer in December."""
    start = np.datetime64(f"{year[:4]}-08-15")
    end = np.datetime64(f"{int(year[:4]) + 1}-06-15")
    days = np.arange(start, end, dtype="datetime64[D]")
    wd = (days.astype("int64") + 3) % 7  # 0 = Monday
    days = days[wd < 5]
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    w = np.where(month == 12, 0.4, 1.0)
    return [str(d) for d in np.sort(rng.choice(days, n, p=w / w.sum()))]


def make_activities(la_schools: pl.DataFrame, roster: pl.DataFrame, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """R-TAC activities for 2023-24 and 2024-25 (ACTIVITY_PLAN) and learning-opportunity attendance."""
    rng = _rng(seed, 0, 9)
    comm = roster.join(la_schools.select("cds_code", "spa_n"), on="cds_code").sort("cds_code")
    comm_cds = comm["cds_code"].to_numpy()
    comm_spa = comm["spa_n"].to_numpy()
    spa_w = np.bincount(comm_spa, minlength=9)[1:].astype(float)
    acts, att = [], []
    person_next = 1
    returning: list[str] = []
    for year, (n_lo, n_att, n_people, n_sup, n_ref, n_eng, n_items, items) in ACTIVITY_PLAN.items():
        yy = year[2:4] + year[5:7]
        types = (["learning_opportunity"] * n_lo + ["support_session"] * n_sup + ["referral"] * n_ref
                 + ["engagement_event"] * n_eng + ["items_distributed"] * n_items)
        n = len(types)
        dates = _school_days(rng, year, n)
        order = rng.permutation(n)
        types = [types[i] for i in order]
        at_school = rng.random(n) < np.where(np.array(types) == "learning_opportunity", 0.3, 0.7)
        pick = rng.integers(0, len(comm_cds), n)
        spa = np.where(at_school, comm_spa[pick], rng.choice(np.arange(1, 9), n, p=spa_w / spa_w.sum()))
        cds = np.where(at_school, comm_cds[pick], None)
        # items: a whole number per distribution, summing exactly to the plan
        items_n = np.full(n, None, dtype=object)
        it = np.flatnonzero(np.array(types) == "items_distributed")
        w = rng.lognormal(0, 0.6, len(it))
        q = np.floor(w / w.sum() * items).astype(int) + 1
        q[np.argmax(q)] += items - q.sum()
        items_n[it] = q
        # learning opportunities: sizes summing to n_att, people drawn from a pool of n_people
        lo = np.flatnonzero(np.array(types) == "learning_opportunity")
        w = rng.lognormal(0, 0.5, len(lo))
        size = np.maximum(8, np.floor(w / w.sum() * n_att)).astype(int)
        while size.sum() != n_att:
            k = int(rng.integers(0, len(lo)))
            size[k] += 1 if size.sum() < n_att else (-1 if size[k] > 8 else 0)
        n_back = min(len(returning), int(n_people * 0.35))
        pool = list(rng.choice(returning, n_back, replace=False)) if n_back else []
        pool += [f"P{person_next + i:06d}" for i in range(n_people - n_back)]
        person_next += n_people - n_back
        pool_arr = np.array(pool)
        pop = rng.lognormal(0, 1.0, n_people)
        # everyone attends at least once: deal the pool over the activities first
        first_slot = rng.permutation(np.repeat(np.arange(len(lo)), size))[:n_people]
        members: list[set[int]] = [set() for _ in lo]
        for person, a in enumerate(first_slot):
            members[a].add(person)
        for a in range(len(lo)):
            need = size[a] - len(members[a])
            if need > 0:
                p = pop.copy()
                p[list(members[a])] = 0
                members[a].update(rng.choice(n_people, need, replace=False, p=p / p.sum()).tolist())
        attendees_n = np.full(n, None, dtype=object)
        ids = [f"A{yy}-{i + 1:04d}" for i in range(n)]
        for a, i in enumerate(lo):
            attendees_n[i] = len(members[a])
            att += [(ids[i], pool_arr[m]) for m in sorted(members[a])]
        returning = pool
        for i in range(n):
            acts.append((ids[i], dates[i], types[i], int(spa[i]), cds[i], attendees_n[i], items_n[i]))
    activities = pl.DataFrame(acts, schema={"activity_id": pl.Utf8, "activity_date": pl.Utf8,
                                            "activity_type": pl.Utf8, "spa_n": pl.Int64, "cds_code": pl.Utf8,
                                            "attendees_n": pl.Int64, "items_n": pl.Int64}, orient="row")
    attendance = pl.DataFrame(att, schema=["activity_id", "person_key"], orient="row")
    return activities, attendance


# ------------------------------------------------------------------ generate

def _scale_counties(scale: str) -> list[str]:
    if scale == "county":
        return [codes.LA_COUNTY_CODE]
    if scale == "state":
        return COUNTY_CODES
    raise ValueError(f"scale must be 'county' or 'state', not {scale!r}")


def generate(out_dir: Path, scale: str = "county", seed: int = DEFAULT_SEED) -> None:
    """Write the demo's CDE files (out_dir/cde) and initiative CSVs (out_dir/initiative).

    Deterministic: the same (scale, seed) gives byte-identical files. LA County
    (code 19) is the same at both scales; `state` adds every other county."""
    out_dir = Path(out_dir)
    counties = _scale_counties(scale)
    cde_dir, ini_dir = out_dir / "cde", out_dir / "initiative"
    cde_dir.mkdir(parents=True, exist_ok=True)
    ini_dir.mkdir(parents=True, exist_ok=True)

    county_data, directory_parts = [], []
    la = None
    for county in counties:
        districts, schools, model = make_schools(county, seed)
        roster = make_roster(schools, model, seed) if county == codes.LA_COUNTY_CODE else None
        out = make_outcomes(schools, model, roster, county, seed)
        if roster is not None:
            la = (districts, schools, roster, out)
        county_data.append((districts, schools, out))
        directory_parts.append(directory_frame(districts, schools, seed))
    assert la is not None
    la_districts, la_schools, roster, la_out = la

    if scale == "county":
        state = scaled_state(la_out.county_cells, la_out.dense.sum(axis=0), seed)
    else:
        state = sum(o.dense.sum(axis=0) for _, _, o in county_data)
    dashboard = dashboard_entities(county_data, state, seed)
    write_outcome_files(outcome_rows(county_data, state), cde_dir)
    del county_data
    write_dashboard_files(dashboard, cde_dir)
    _write_table(pl.concat(directory_parts), cde_dir / "pubschls.txt", "cp1252", line_end="\n")

    roster.select(ROSTER_HEADER).write_csv(ini_dir / "roster.csv")
    make_grants(la_schools, la_districts, roster, seed).write_csv(ini_dir / "grants.csv")
    activities, attendance = make_activities(la_schools, roster, seed)
    activities.select(ACTIVITIES_HEADER).write_csv(ini_dir / "activities.csv")
    attendance.select(ATTENDANCE_HEADER).write_csv(ini_dir / "attendance.csv")
    # every school with coordinates, at its intended SPA; the five without get no row
    la_schools.filter(pl.col("spa_n") > 0).select(CROSSWALK_HEADER).sort("cds_code").write_csv(
        ini_dir / "spa_crosswalk.csv")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write the CSI demo files (CDE layouts + initiative CSVs).")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--scale", choices=["county", "state"], default="county")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    generate(args.out_dir, args.scale, args.seed)
    size = sum(p.stat().st_size for p in args.out_dir.rglob("*") if p.is_file())
    print(f"wrote {args.out_dir} ({args.scale}, seed {args.seed}) in {time.perf_counter() - t0:.1f} s, "
          f"{size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
