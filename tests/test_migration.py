"""A warehouse of the previous version is migrated when the schema is applied: unpartitioned
raw/quarantine tables become month partitions (rows kept, indexes on the partitioned table), and the
ledger keyed by SHA-256 alone becomes one keyed by delivery (unit, feed, month, SHA-256)."""

import psycopg2
import pytest
from psycopg2 import sql

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.ingest.specs import load_specs

from conftest import scratch_database

OLD_LEDGER = """
CREATE SCHEMA ingest; CREATE SCHEMA raw; CREATE SCHEMA quarantine;
CREATE TABLE ingest.ledger (
    sha256 text PRIMARY KEY, asset text NOT NULL, path text NOT NULL, unit text, feed text, month date,
    delivery_date date, seq integer, format text, encoding text, bytes bigint,
    rows integer NOT NULL DEFAULT 0, accepted integer NOT NULL DEFAULT 0, quarantined integer NOT NULL DEFAULT 0,
    status text NOT NULL CHECK (status IN ('loaded', 'rejected')), reason_code text, reason text,
    archived_path text, redeliveries text[] NOT NULL DEFAULT '{}', ingested_at timestamptz NOT NULL DEFAULT now());
"""


@pytest.fixture
def old_warehouse():
    with scratch_database("migration") as url:
        yield url


def test_an_old_warehouse_is_migrated(old_warehouse):
    spec = load_specs()["penalty"]
    meta = sql.SQL(", ").join(sql.SQL("{} " + t).format(sql.Identifier(n)) for n, t in tables.META_COLUMNS)
    with psycopg2.connect(old_warehouse) as conn, conn.cursor() as cur:
        cur.execute(OLD_LEDGER)
        cur.execute(sql.SQL("CREATE TABLE raw.penalty ({}, {}, extra jsonb)").format(
            meta, sql.SQL(", ").join(tables.typed_columns(spec))))
        cur.execute("CREATE INDEX penalty_key ON raw.penalty (decision_no, authority_uscc)")
        cur.execute(sql.SQL("CREATE TABLE quarantine.penalty ({}, reasons text[] NOT NULL, {}, extra jsonb, "
                            "malformed jsonb)").format(meta, sql.SQL(", ").join(
                                sql.SQL("{} text").format(sql.Identifier(c.name)) for c in spec.columns)))
        for month, no in (("2020-07-01", "A-1"), ("2020-08-01", "A-2")):
            cur.execute("INSERT INTO raw.penalty (month, unit, file_sha256, delivery_date, seq, row_no, decision_no, "
                        "authority_uscc) VALUES (%s, 'amr', 'f' || %s, %s, 1, 1, %s, '11370811MB28562132')",
                        (month, month, month, no))
        cur.execute("INSERT INTO quarantine.penalty (month, unit, file_sha256, delivery_date, seq, row_no, reasons) "
                    "VALUES ('2020-08-01', 'amr', 'f2', '2020-08-20', 1, 2, '{duplicate_key}')")
        cur.execute("INSERT INTO ingest.ledger (sha256, asset, path, unit, feed, month, status, redeliveries) VALUES "
                    "('s1', 'penalty', 'amr/2020-08/penalty.20200820.csv', 'amr', 'penalty', '2020-08-01', 'loaded', "
                    "ARRAY['amr/2020-08/penalty.20200825.csv', 'amr/2020-09/penalty.20200903.csv'])")

    database.ensure_schema(old_warehouse)

    with database.transaction(old_warehouse) as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE oid IN ('raw.penalty'::regclass, 'quarantine.penalty'::regclass)")
        assert [k for (k,) in cur.fetchall()] == ["p", "p"]
        cur.execute("SELECT month::text, decision_no FROM raw.penalty ORDER BY month")
        assert cur.fetchall() == [("2020-07-01", "A-1"), ("2020-08-01", "A-2")]
        cur.execute("SELECT to_regclass('ingest_months.raw_penalty_2020_07'), to_regclass('raw.penalty__unpartitioned')")
        assert cur.fetchone() == ("ingest_months.raw_penalty_2020_07", None)
        cur.execute("SELECT count(*) FROM quarantine.penalty WHERE month = '2020-08-01'")
        assert cur.fetchone() == (1,)
        cur.execute("SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = 'raw.penalty_key'::regclass")
        assert cur.fetchone() == ("raw.penalty",)  # the key index is the partitioned table's now
        cur.execute("SELECT id IS NOT NULL, path, redeliveries FROM ingest.ledger")
        # the copy in September's folder was taken for a re-delivery: it is September's own delivery
        assert cur.fetchall() == [(True, "amr/2020-08/penalty.20200820.csv", ["amr/2020-08/penalty.20200825.csv"])]
        cur.execute("INSERT INTO ingest.ledger (sha256, asset, path, unit, feed, month, status) VALUES "
                    "('s1', 'penalty', 'amr/2020-09/penalty.20200903.csv', 'amr', 'penalty', '2020-09-01', 'pending')")
