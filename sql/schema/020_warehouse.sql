-- The warehouse's reference tables: the calendar of working days, the responsible units and the
-- districts. The assets in group `warehouse` (defs/warehouse/assets.py) fill them; rows are
-- replaced whole on every materialization, so the DDL only creates.
CREATE SCHEMA IF NOT EXISTS wh;

-- One row per day of the years the assets build (INDICATORS.md "Working days").
CREATE TABLE IF NOT EXISTS wh.calendar (
    day          date PRIMARY KEY,
    workday      boolean NOT NULL,
    workday_seq  integer NOT NULL,  -- running count of working days up to and including `day`
    source       text NOT NULL CHECK (source IN ('chinesecalendar', 'override', 'weekends')),
    holiday_name text               -- the holiday; on an adjusted working day (调休), the holiday it makes up for
);

CREATE TABLE IF NOT EXISTS wh.units (
    unit     text PRIMARY KEY,  -- the unit code of the inbox folders (FEEDS.md)
    name     text NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('department', 'county', 'zone')),
    district text               -- a county unit's own district code; NULL for zones and city departments
);

CREATE TABLE IF NOT EXISTS wh.districts (
    code      text PRIMARY KEY,  -- FEEDS.md "区县": 370800, the GB/T 2260 county codes, 370871
    name      text NOT NULL,
    monitored boolean NOT NULL   -- monitored by the nation on its own (邹城市, 曲阜市)
);

-- wd(a, b): working days w with a < w <= b (INDICATORS.md); 0 when b <= a; NULL when either date
-- lies outside the calendar. Two primary-key lookups on the running count. STABLE, not IMMUTABLE:
-- it reads a table that the calendar asset rewrites.
CREATE OR REPLACE FUNCTION wh.wd(a date, b date) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN b <= a THEN 0
        ELSE (SELECT c.workday_seq FROM wh.calendar c WHERE c.day = b)
           - (SELECT c.workday_seq FROM wh.calendar c WHERE c.day = a)
    END
$$;

-- The builds of the state feeds' fact tables wh.<feed> (lib/warehouse/facts.py): one row per feed and month, so
-- "built, no rows" differs from "never built".
CREATE TABLE IF NOT EXISTS wh.fact_builds (
    feed        text NOT NULL,
    as_of_month date NOT NULL,
    rows        bigint NOT NULL,
    built_at    timestamptz NOT NULL,
    PRIMARY KEY (feed, as_of_month)
);
