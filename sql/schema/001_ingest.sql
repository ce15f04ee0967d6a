-- Schemas and the ingest ledger. Per-feed tables (raw.<feed>, quarantine.<feed>) are
-- generated from assets/feeds/<feed>.yaml, so a new feed needs no DDL here.
CREATE SCHEMA IF NOT EXISTS jn;          -- shared SQL functions
CREATE SCHEMA IF NOT EXISTS ingest;      -- ledger and the delivered-rows views GX validates
CREATE SCHEMA IF NOT EXISTS raw;         -- correct rows, typed, one table per feed
CREATE SCHEMA IF NOT EXISTS quarantine;  -- incorrect rows as delivered, with every reason

-- One row per distinct file content (SHA-256). A byte-identical re-delivery only adds its
-- path to `redeliveries`; it never adds rows.
CREATE TABLE IF NOT EXISTS ingest.ledger (
    sha256        text PRIMARY KEY,
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
    rows          integer NOT NULL DEFAULT 0,
    accepted      integer NOT NULL DEFAULT 0,
    quarantined   integer NOT NULL DEFAULT 0,
    status        text NOT NULL CHECK (status IN ('loaded', 'rejected')),
    reason_code   text,
    reason        text,
    archived_path text,
    redeliveries  text[] NOT NULL DEFAULT '{}',
    ingested_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_asset_month ON ingest.ledger (asset, month);
