-- The months `jn-credit run` materialized completely, and from which inputs (lib/warehouse/month_state.py): a
-- range run skips a month whose fingerprint (its inbox listing up to that month + the code version)
-- is unchanged. Written only after the month's run succeeded; dropped when the month runs again.
CREATE TABLE IF NOT EXISTS ingest.materialized_months (
    month         date PRIMARY KEY,
    fingerprint   text NOT NULL,
    code_version  text NOT NULL,
    files         integer NOT NULL,      -- paths in the listing the fingerprint hashes
    run_id        text NOT NULL,         -- the Dagster run that materialized it
    reports       boolean NOT NULL,      -- whether that run (or a later one) wrote the month's reports
    finished_at   timestamptz NOT NULL DEFAULT now()
);
