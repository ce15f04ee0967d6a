"""Fixtures: a real PostgreSQL database per test worker, an inbox folder, and file writers.

The server is DATABASE_URL when set (CI sets it to the machine's PostgreSQL), else the local
server on 127.0.0.1:5432. Each xdist worker gets its own database; each test starts from
empty feed tables and an empty ledger.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
from pathlib import Path

import openpyxl
import psycopg2
import pytest
from psycopg2 import sql

from jn_credit_dagster.defs.warehouse.assets import district_rows
from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.warehouse import facts, subjects
from jn_credit_dagster.lib.ingest import loader
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.lib.ingest.suites import load_suite

SERVER = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def scratch_database(label: str):
    """A fresh database on the server, named for `label` and this run (two runs at once don't
    collide), dropped again at the end; yields its URL."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]
    name = f"jn_credit_test_{label}_{run}"
    admin = psycopg2.connect(SERVER)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{SERVER.rsplit('/', 1)[0]}/{name}"
    try:
        yield url
    finally:
        database.engine(url).dispose()
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture(scope="session")
def database_url(worker_id) -> str:
    """A fresh database for this worker of this run."""
    with scratch_database(worker_id) as url:
        yield url


@pytest.fixture(autouse=True)
def files_settled(monkeypatch):
    """Tests write a delivery and ingest it at once: no settle window (jn-credit's default is 60 s).
    A test of the window sets JN_CREDIT_SETTLE_SECONDS itself; child processes inherit this."""
    monkeypatch.setenv("JN_CREDIT_SETTLE_SECONDS", "0")


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture
def db(database_url, monkeypatch, tmp_path):
    """An empty warehouse; DATABASE_URL and JN_CREDIT_HOME point at it and a temporary home."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("JN_CREDIT_HOME", str(tmp_path / "home"))
    database.ensure_schema(database_url)
    with database.transaction(database_url) as cur:
        tables = [sql.Identifier(schema, feed) for feed in load_specs() for schema in ("raw", "quarantine")]
        tables += [facts.fact_table(spec) for spec in facts.state_specs()]
        cur.execute(sql.SQL("TRUNCATE {}, ingest.ledger, ingest.expectation_results, wh.fact_builds, ingest.materialized_months").format(sql.SQL(", ").join(tables)))
    return database_url


@pytest.fixture
def query(db):
    def run(statement, params=()):
        with database.transaction(db) as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None
    return run


@pytest.fixture
def inbox(tmp_path) -> Path:
    root = tmp_path / "inbox"
    root.mkdir()
    return root


def write_file(path: Path, header: list[str], rows: list[list], fmt: str, encoding: str = "utf-8") -> Path:
    """A delivery as a unit makes it: CSV in an encoding, .xlsx by openpyxl, or JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with open(path, "w", encoding=encoding, newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    elif fmt == "xlsx":
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        workbook.save(path)
    elif fmt == "json":
        objects = [{h: v for h, v in zip(header, row)} for row in rows]
        path.write_text(json.dumps(objects, ensure_ascii=False), encoding=encoding)
    return path


@pytest.fixture
def deliver(inbox):
    """deliver(unit, month, name, rows_as_dicts, fmt=..., encoding=..., header=...) -> Path."""
    def write(unit, month, name, rows, fmt="csv", encoding="utf-8", header=None):
        header = header or list(dict.fromkeys(h for row in rows for h in row))
        body = [[row.get(h, "") for h in header] for row in rows]
        return write_file(inbox / unit / month / name, header, body, fmt, encoding)
    return write


@pytest.fixture
def ingest(db, inbox, tmp_path):
    """ingest(feed, "YYYY-MM") loads that month of the feed as the asset does; returns the MonthResult."""
    def run(feed, month):
        spec = load_specs()[feed]
        return loader.load_month(db, spec, load_suite(feed), inbox, dt.date.fromisoformat(month + "-01"),
                                 tmp_path / "archive")
    return run


@pytest.fixture
def build_facts(db):
    """build_facts("YYYY-MM") builds that month's latest state of every state feed, as wh/<feed> does, and
    its subjects, as wh/subjects does: what the indicators read."""
    def run(month):
        with database.transaction(db) as cur:
            built = facts.build_latest_states(cur, dt.date.fromisoformat(month + "-01"))
            subjects.build_month(cur, dt.date.fromisoformat(month + "-01"), [code for code, _, _ in district_rows()])
            return built
    return run
