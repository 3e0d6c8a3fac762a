-- CSI Dashboard: the one declaration of the database. The build applies it to a
-- fresh file; tests build their databases from it. Units are in column names:
-- _n counts, _usd dollars, _pct 0-100 as CDE publishes, _rate 0-1.

CREATE TABLE spas (
    spa_n        INTEGER PRIMARY KEY CHECK (spa_n BETWEEN 1 AND 8),
    spa_name     VARCHAR NOT NULL,          -- 'Antelope Valley'
    spa_abbv     VARCHAR NOT NULL,          -- 'ATV' (2022 layer's ABBV)
    spa_label    VARCHAR NOT NULL           -- 'SPA 1 Antelope Valley'
);

-- Local educational agencies, from directory rows whose school code is 0000000.
CREATE TABLE districts (
    district_code  VARCHAR PRIMARY KEY CHECK (length(district_code) = 7),  -- county(2)+district(5)
    county_code    VARCHAR NOT NULL CHECK (length(county_code) = 2),
    district_name  VARCHAR NOT NULL,
    doc_code       VARCHAR,                 -- CDE District Ownership Code
    lea_type       VARCHAR NOT NULL CHECK (lea_type IN ('elementary', 'high', 'unified', 'coe', 'other'))
);

CREATE TABLE schools (
    cds_code        VARCHAR PRIMARY KEY CHECK (length(cds_code) = 14),
    county_code     VARCHAR NOT NULL CHECK (length(county_code) = 2),
    district_code   VARCHAR NOT NULL CHECK (length(district_code) = 7),
    school_name     VARCHAR NOT NULL,
    district_name   VARCHAR NOT NULL,
    city            VARCHAR,
    zip             VARCHAR,
    latitude        DOUBLE,
    longitude       DOUBLE,
    spa_n           INTEGER,                -- NULL = unassigned (no coordinates, or outside every SPA)
    spa_source      VARCHAR CHECK (spa_source IN ('boundary', 'crosswalk')),
    soc_code        VARCHAR,
    school_type     VARCHAR NOT NULL CHECK (school_type IN ('ES', 'MS', 'HS', 'K-12', 'other')),
    charter         BOOLEAN NOT NULL,
    status          VARCHAR NOT NULL,       -- Active / Closed / Merged
    is_community    BOOLEAN NOT NULL DEFAULT FALSE,
    ccspp_cohort    INTEGER,                -- 1..n for community schools
    grant_type      VARCHAR,                -- planning / implementation / coordination
    first_grant_year VARCHAR                -- academic year of the school's first CCSPP award
);

-- Long form: one row per entity x year x scope x reporting category x metric,
-- exactly as CDE publishes it. cds_code is the 14-digit code CDE's three code
-- columns make: district rows end 0000000, county rows 000000000, state 00000000000000.
CREATE TABLE outcomes (
    metric             VARCHAR NOT NULL CHECK (metric IN ('chronic_absenteeism', 'suspension')),
    academic_year      VARCHAR NOT NULL,    -- '2023-24'
    aggregate_level    VARCHAR NOT NULL CHECK (aggregate_level IN ('S', 'D', 'C', 'T')),
    cds_code           VARCHAR NOT NULL CHECK (length(cds_code) = 14),
    charter_scope      VARCHAR NOT NULL CHECK (charter_scope IN ('All', 'Yes', 'No')),
    dass_scope         VARCHAR NOT NULL CHECK (dass_scope IN ('All', 'Yes', 'No')),  -- 'All' for suspension (no DASS column)
    reporting_category VARCHAR NOT NULL,
    numerator_n        INTEGER,             -- chronically absent / unduplicated students suspended; NULL when suppressed
    denominator_n      INTEGER,             -- eligible cumulative enrollment / cumulative enrollment; NULL when suppressed
    published_rate_pct DOUBLE,              -- CDE's own one-decimal rate
    suppressed         BOOLEAN NOT NULL,    -- CDE printed '*'
    -- The dashboard's suppression pattern, decided once by the build
    -- (csi_metrics.privacy.cell_visibility) and read by every view: a cell that is
    -- not visible is never shown nor added into a pooled figure. The dashboard's
    -- connection masks the counts of hidden cells (csi_metrics.db.open_for_display).
    visible            BOOLEAN NOT NULL,
    hidden_reason      VARCHAR CHECK (hidden_reason IN ('cde_suppressed', 'fewer_than_11', 'complementary'))
    -- Unique on (metric, academic_year, aggregate_level, cds_code, charter_scope,
    -- dass_scope, reporting_category): cde.read_outcomes refuses a repeated key by
    -- line and the build refuses a metric-year in two files. No PRIMARY KEY here:
    -- its index made the state demo 514 MB instead of 30 MB and the load 3x slower.
);

-- CDE's own California School Dashboard placements, read from its indicator
-- files (chronicdownloadYYYY.txt, suspdownloadYYYY.txt; csi_metrics.dashboard_files).
-- Optional: a build without those files leaves it empty. One row per file row kept:
-- Dashboard year x record type x entity x student group (x suspension type).
-- The files' numerators and denominators are never stored (the dashboard does not
-- show them): status figures only, and none for a group of fewer than 11 students.
-- Chronic absenteeism rows describe grades TK-8 (the Dashboard's population), not
-- DataQuest's all-grade TA. Level and colour names are csi_metrics.levels'.
CREATE TABLE dashboard_official (
    indicator          VARCHAR NOT NULL CHECK (indicator IN ('chronic_absenteeism', 'suspension')),
    dashboard_year     INTEGER NOT NULL CHECK (dashboard_year >= 2018),  -- 2024 = the Fall 2024 Dashboard
    academic_year      VARCHAR NOT NULL,    -- its data year: Dashboard 2024 = '2023-24'
    rtype              VARCHAR NOT NULL CHECK (rtype IN ('S', 'D', 'X')),  -- school / district (LEA) / state
    cds_code           VARCHAR NOT NULL CHECK (length(cds_code) = 14),     -- state rows 00000000000000
    student_group      VARCHAR NOT NULL,    -- the DataQuest reporting category: ALL -> TA, HI -> RH, SED -> SS, ...;
                                            -- LTEL and RFP (no DataQuest category) keep CDE's code
    dashboard_group    VARCHAR NOT NULL,    -- CDE's own code: ALL, AA, AI, AS, FI, HI, PI, WH, MR, EL, LTEL, SED, SWD, FOS, HOM, RFP
    school_or_lea_type VARCHAR CHECK (school_or_lea_type IN ('ES', 'MS', 'HS', 'ED', 'HD', 'UD')),
                                            -- suspension `type` (picks the cut set); NULL for chronic absenteeism
    status_pct         DOUBLE,              -- currstatus, one decimal as CDE published it
    prior_status_pct   DOUBLE,              -- priorstatus; NULL in 2022 (status only)
    change_pp          DOUBLE,              -- change, percentage points; NULL in 2022
    status_level       VARCHAR CHECK (status_level IN ('Very Low', 'Low', 'Medium', 'High', 'Very High')),
    change_level       VARCHAR CHECK (change_level IN
                        ('Declined Significantly', 'Declined', 'Maintained', 'Increased', 'Increased Significantly')),
    color              VARCHAR CHECK (color IN ('Red', 'Orange', 'Yellow', 'Green', 'Blue')),  -- NULL: no colour
    box                INTEGER,             -- CDE's 5x5 grid position when a colour was given
    small_population   BOOLEAN,             -- smalldenom / safetynet = 'Y': the 3x5 grid (under 150 students); NULL in 2022
    n_size_met         BOOLEAN              -- currnsizemet = 'Y' (30 or more students); from currdenom where the layout lacks it
    -- Unique on (indicator, dashboard_year, rtype, cds_code, dashboard_group,
    -- school_or_lea_type): the reader refuses a repeated row, the build a second
    -- file for an indicator's Dashboard year.
);

CREATE TABLE reporting_categories (
    code        VARCHAR PRIMARY KEY,        -- 'TA', 'RH', 'SE', 'GR13', ...
    label       VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('total', 'race', 'gender', 'program', 'grade')),
    sort_order  INTEGER NOT NULL
);

CREATE TABLE grants (
    grant_id        VARCHAR PRIMARY KEY,
    grantee_cds     VARCHAR NOT NULL CHECK (length(grantee_cds) = 14),  -- LEA code ends 0000000
    grantee_name    VARCHAR NOT NULL,
    grantee_level   VARCHAR NOT NULL CHECK (grantee_level IN ('LEA', 'school')),
    county_code     VARCHAR NOT NULL CHECK (length(county_code) = 2),
    cohort          INTEGER NOT NULL,
    grant_type      VARCHAR NOT NULL CHECK (grant_type IN ('planning', 'implementation', 'coordination')),
    award_year      VARCHAR NOT NULL,       -- academic year of the award
    amount_usd      BIGINT NOT NULL CHECK (amount_usd >= 0),
    funding_source  VARCHAR NOT NULL
);

CREATE TABLE activities (
    activity_id          VARCHAR PRIMARY KEY,
    activity_date        DATE NOT NULL,
    academic_year        VARCHAR NOT NULL,
    activity_type        VARCHAR NOT NULL CHECK (activity_type IN
                          ('learning_opportunity', 'support_session', 'referral', 'engagement_event', 'items_distributed')),
    spa_n                INTEGER,
    cds_code             VARCHAR CHECK (cds_code IS NULL OR length(cds_code) = 14),
    attendees_n          INTEGER CHECK (attendees_n >= 0),
    items_n              INTEGER CHECK (items_n >= 0)
);

-- Who came to what, by a pseudonymous key, so unique individuals can be counted
-- across activities (attendee counts cannot be summed into people).
CREATE TABLE attendance (
    activity_id  VARCHAR NOT NULL,
    person_key   VARCHAR NOT NULL,
    PRIMARY KEY (activity_id, person_key)
);

CREATE TABLE build_info (
    key    VARCHAR PRIMARY KEY,             -- built_at, mode (demo/real), scale, county_filter, schema_version, ...
    value  VARCHAR NOT NULL
);

CREATE TABLE build_sources (
    path       VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,            -- chronic_absenteeism / suspension / dashboard_chronic_absenteeism / dashboard_suspension / directory / roster / grants / activities / attendance / boundaries / crosswalk
    sha256     VARCHAR NOT NULL,
    rows_n     BIGINT NOT NULL,
    rows_kept_n BIGINT NOT NULL
);

CREATE TABLE build_rejections (
    path     VARCHAR NOT NULL,
    reason   VARCHAR NOT NULL,              -- e.g. 'outside county filter', 'no coordinates: SPA unassigned'
    rows_n   BIGINT NOT NULL,
    example_line_n BIGINT
);

-- The impact study's matched comparison schools, chosen by the build
-- (csi_metrics.ingest.matching: nearest neighbour 1:3 with replacement on standardised
-- baseline covariates, exact on school type, caliper 0.5). One row per community
-- school x metric x matched comparison school. Every community school of every grant
-- type is matched; the estimator selects by grant_type.
CREATE TABLE impact_matches (
    metric            VARCHAR NOT NULL CHECK (metric IN ('chronic_absenteeism', 'suspension')),
    treated_cds       VARCHAR NOT NULL CHECK (length(treated_cds) = 14),
    control_cds       VARCHAR NOT NULL CHECK (length(control_cds) = 14),
    grant_type        VARCHAR CHECK (grant_type IN ('planning', 'implementation', 'coordination')),
    first_grant_year  VARCHAR NOT NULL,
    baseline_year     VARCHAR NOT NULL,     -- never 2019-20 or 2020-21 (csi_metrics.rules.impact)
    distance          DOUBLE NOT NULL,      -- root mean square standardised difference over the covariates
    rank              INTEGER NOT NULL      -- 1 = nearest
);

-- Community schools the matching could not match, with why (csi_metrics.ingest.matching.REASONS).
CREATE TABLE impact_unmatched (
    metric            VARCHAR NOT NULL CHECK (metric IN ('chronic_absenteeism', 'suspension')),
    treated_cds       VARCHAR NOT NULL CHECK (length(treated_cds) = 14),
    grant_type        VARCHAR CHECK (grant_type IN ('planning', 'implementation', 'coordination')),
    first_grant_year  VARCHAR,
    baseline_year     VARCHAR,              -- NULL when there is no baseline year
    reason            VARCHAR NOT NULL
);

-- The matching variables of every school with a visible all-students row in a
-- baseline year the matching used (for the balance table). Built from visible cells only.
CREATE TABLE impact_covariates (
    metric            VARCHAR NOT NULL CHECK (metric IN ('chronic_absenteeism', 'suspension')),
    baseline_year     VARCHAR NOT NULL,
    cds_code          VARCHAR NOT NULL CHECK (length(cds_code) = 14),
    school_type       VARCHAR NOT NULL,
    is_community      BOOLEAN NOT NULL,
    eligible_control  BOOLEAN NOT NULL,     -- not on the roster and no CCSPP grant
    level_rate        DOUBLE NOT NULL,
    trend_pp          DOUBLE,               -- NULL: no visible row the year before
    ss_share_rate     DOUBLE,               -- NULL: SS count suppressed
    log_enrollment    DOUBLE NOT NULL
);
