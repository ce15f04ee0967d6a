-- The indicators of a month (INDICATORS.md; the asset indicators/results, lib/indicators/compute.py).
-- One month is rebuilt whole in one transaction: its rows are deleted and inserted again.
CREATE SCHEMA IF NOT EXISTS wh;

-- One row per indicator per scope: always the city (scope 'city', scope_key '370800'), plus what an
-- indicator's SQL breaks down per unit / per district, plus each reporting unit for a self-report.
CREATE TABLE IF NOT EXISTS wh.indicator_results (
    month       date NOT NULL,     -- first day of M
    indicator   text NOT NULL,     -- I01…I39, D1, D2
    scope       text NOT NULL CHECK (scope IN ('city', 'unit', 'district')),
    scope_key   text NOT NULL,     -- '370800' for the city, a unit code, a district code
    value       numeric,           -- NULL: no data (status n/a)
    numerator   numeric,
    denominator numeric,
    score       numeric,           -- points × f(value); a deduction: its (negative) points when it applies, else 0
    max_score   numeric,           -- the catalog's points; 0 for a deduction
    status      text NOT NULL CHECK (status IN ('green', 'yellow', 'red', 'n/a')),
    source      text NOT NULL CHECK (source IN ('data', 'self_report')),
    evidence    jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (month, indicator, scope, scope_key)
);

-- The month's total: Σ city scores of I01…I39 (a null score counts 0) minus the deductions.
CREATE TABLE IF NOT EXISTS wh.indicator_totals (
    month       date PRIMARY KEY,
    total_score numeric,
    max_score   numeric,           -- Σ points of I01…I39 (100)
    deductions  jsonb NOT NULL DEFAULT '[]'::jsonb  -- [{"id", "name", "points", "months"}] of the deductions that apply
);
