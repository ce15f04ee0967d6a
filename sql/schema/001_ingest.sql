-- Schemas and the ingest ledger. Per-feed tables (raw.<feed>, quarantine.<feed>) are
-- generated from assets/feeds/<feed>.yaml, so a new feed needs no DDL here.
CREATE SCHEMA IF NOT EXISTS jn;          -- shared SQL functions
CREATE SCHEMA IF NOT EXISTS ingest;      -- ledger, expectation results, the delivered-rows views GX validates
CREATE SCHEMA IF NOT EXISTS raw;         -- correct rows, typed, one table per feed, partitioned by month
CREATE SCHEMA IF NOT EXISTS quarantine;  -- incorrect rows as delivered, with every reason, likewise
CREATE SCHEMA IF NOT EXISTS ingest_months;  -- the month partitions of raw.* and quarantine.*

-- One entry per delivery: (unit, feed, month folder, SHA-256) — FEEDS.md. The same bytes in another
-- month's folder are that month's delivery; a byte-identical copy in the same folder only adds its
-- path to `redeliveries`. A path with no content to deliver (a link, a pipe, a folder named like a
-- file) gets an entry of its own with no sha256: it is never opened.
CREATE TABLE IF NOT EXISTS ingest.ledger (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256        text,
    asset         text NOT NULL,          -- the asset that owns the entry: a feed id or 'inbox'
    path          text NOT NULL,          -- relative to the inbox
    unit          text,
    feed          text,
    month         date,
    delivery_date date,
    seq           integer,
    format        text,
    encoding      text,
    bytes         bigint,
    rows          bigint NOT NULL DEFAULT 0,
    accepted      bigint NOT NULL DEFAULT 0,
    quarantined   bigint NOT NULL DEFAULT 0,
    status        text NOT NULL,
    reason_code   text,
    reason        text,
    archived_path text,
    redeliveries  text[] NOT NULL DEFAULT '{}',
    ingested_at   timestamptz NOT NULL DEFAULT now()
);

-- Ledgers of earlier versions were keyed by the SHA-256 alone.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = 'ingest' AND table_name = 'ledger' AND column_name = 'id') THEN
        ALTER TABLE ingest.ledger DROP CONSTRAINT IF EXISTS ledger_pkey;
        ALTER TABLE ingest.ledger ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
        ALTER TABLE ingest.ledger ALTER COLUMN sha256 DROP NOT NULL;
        ALTER TABLE ingest.ledger ALTER COLUMN rows TYPE bigint, ALTER COLUMN accepted TYPE bigint,
                                  ALTER COLUMN quarantined TYPE bigint;
        -- copies in another unit's or month's folder were taken for re-deliveries; they are deliveries
        -- of their own: the next run of that month loads them
        UPDATE ingest.ledger l SET redeliveries = ARRAY(
            SELECT p FROM unnest(l.redeliveries) p
            WHERE split_part(p, '/', 1) = l.unit AND split_part(p, '/', 2) = to_char(l.month, 'YYYY-MM'))
        WHERE cardinality(l.redeliveries) > 0;
    END IF;
END $$;
ALTER TABLE ingest.ledger DROP CONSTRAINT IF EXISTS ledger_status_check;
ALTER TABLE ingest.ledger ADD CONSTRAINT ledger_status_check CHECK (status IN ('loaded', 'rejected', 'pending'));
CREATE UNIQUE INDEX IF NOT EXISTS ledger_delivery ON ingest.ledger (unit, feed, month, sha256) NULLS NOT DISTINCT
    WHERE sha256 IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_asset_month ON ingest.ledger (asset, month);
CREATE INDEX IF NOT EXISTS ledger_sha256 ON ingest.ledger (sha256);

-- Each expectation of a feed's suite on a month, counted by the ingest's own pass, in the shape of
-- a GX validation result (the asset check reports it; the weekly deep check compares GX with it).
CREATE TABLE IF NOT EXISTS ingest.expectation_results (
    feed             text NOT NULL,
    month            date NOT NULL,
    position         integer NOT NULL,    -- the expectation's place in expectations/<feed>.json
    expectation_type text NOT NULL,
    kwargs           jsonb NOT NULL,
    reason           text NOT NULL,
    severity         text NOT NULL,
    element_count    bigint NOT NULL,
    unexpected_count bigint NOT NULL,
    success          boolean NOT NULL,
    PRIMARY KEY (feed, month, position)
);
