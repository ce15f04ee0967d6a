"""`jn-credit explain` (DESIGN.md "Command-line contract") on a generated small city, materialized once for
the module: for every data indicator, at city scope and at a sample of its unit and district scopes, the
weights of the lines add up to the stored numerator and denominator; the csv, json and table formats
through the real CLI; a quarantined row with its reason, path and row number, its ID masked; the
bulletin's links to the explanation files; the command in the indicator asset's metadata."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
import yaml

from conftest import scratch_database, write_file
from jn_credit_dagster.defs.indicators.assets import results_asset
from jn_credit_dagster.defs.warehouse.assets import calendar_asset, units_asset
from jn_credit_dagster.generate import generate
from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.indicators import explain, compute as indicators
from jn_credit_dagster.lib.warehouse import facts
from jn_credit_dagster.lib.ingest import loader
from jn_credit_dagster.lib.indicators.catalog import load_catalog
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.lib.ingest.suites import load_suite
from jn_credit_dagster.defs.resources import Warehouse

try:  # the subject master the indicators read on main since the speed-month merge; absent on this branch
    from jn_credit_dagster.lib.warehouse import subjects
    from jn_credit_dagster.lib.common.city import district_rows
except ImportError:
    subjects = None

MONTHS = ["2020-07", "2020-08"]  # two months: state feeds have rows a later month replaced
MONTH = dt.date(2020, 8, 1)
DATA = [i.id for i in load_catalog().indicators.values() if i.source == "data"]
# A penalty row whose USCC field holds a 身份证号: quarantined (invalid_uscc), the ID shown masked.
PERSON_ID = "370811199003071234"
EXTRA = "amr/2020-08/penalty.20200828.csv"


def _penalty_row() -> dict:
    row = yaml.safe_load((Path(__file__).parent / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]
    return {**row, "统一社会信用代码": PERSON_ID, "行政处罚决定书文号": "济任市监罚〔2020〕9999号",
            "处罚决定日期": "2020-08-20"}


@pytest.fixture(scope="module")
def city(tmp_path_factory, worker_id):
    """A small generated city, two months ingested and computed (as `jn-credit run` does, without the
    step overhead), in a database of its own per test worker; yields (database URL, environment for the CLI)."""
    root = tmp_path_factory.mktemp("explain")
    inbox = root / "inbox"
    with scratch_database(f"explain_{worker_id}") as url, pytest.MonkeyPatch.context() as mp:
        env = {"DATABASE_URL": url, "JN_CREDIT_HOME": str(root / "home"), "JN_CREDIT_SETTLE_SECONDS": "0"}
        for k, v in env.items():
            mp.setenv(k, v)
        generate(inbox, MONTHS[0], MONTHS[-1], scale="small", seed=7)
        row = _penalty_row()
        write_file(inbox / EXTRA, list(row), [list(row.values())], "csv")
        database.ensure_schema(url)
        assert dg.materialize([calendar_asset(), units_asset()], resources={"warehouse": Warehouse()},
                              instance=dg.DagsterInstance.ephemeral()).success
        for m in MONTHS:
            month = dt.date.fromisoformat(m + "-01")
            for spec in load_specs().values():
                loader.load_month(url, spec, load_suite(spec.id), inbox, month, root / "archive")
            with database.transaction(url) as cur:
                facts.build_latest_states(cur, month)
                if subjects is not None:
                    subjects.build_month(cur, month, [code for code, _, _ in district_rows()])
                indicators.compute_month(cur, month)
        yield url, env


def _scopes(url: str, ind_id: str) -> list[explain.Scope]:
    """City, and the first and last key of each other scope the indicator stores."""
    with database.transaction(url) as cur:
        cur.execute("SELECT scope, scope_key FROM wh.indicator_results WHERE month = %s AND indicator = %s "
                    "ORDER BY scope, scope_key", (MONTH, ind_id))
        rows = cur.fetchall()
    scopes = [explain.Scope("city", indicators.CITY)]
    for kind in ("unit", "district"):
        keys = [k for s, k in rows if s == kind]
        scopes += [explain.Scope(kind, k) for k in dict.fromkeys(keys[:1] + keys[-1:])]
    return scopes


def _close(stored, total) -> bool:
    return abs(Decimal(str(stored)) - Decimal(total)) <= Decimal("1e-9") * max(1, abs(Decimal(total)))


@pytest.mark.parametrize("ind_id", DATA)
def test_the_lines_add_up_to_the_stored_value(city, ind_id):
    url, _ = city
    ind = explain.indicator(ind_id)
    for scope in _scopes(url, ind_id):
        with database.transaction(url) as cur:
            kept = explain.stored(cur, ind, MONTH, scope)
            numerator, denominator, n_lines, d_lines, columns = Decimal(0), Decimal(0), 0, 0, None
            for columns, line in explain.lines(cur.connection, ind, MONTH, scope):
                row = dict(zip(columns, line))
                assert row["in_numerator"] in (0, 1) and row["in_denominator"] in (0, 1)
                if row["in_numerator"]:
                    numerator += row["weight"]
                    n_lines += 1
                if row["in_denominator"]:
                    denominator += row["weight"]
                    d_lines += 1
                if row["in_numerator"] or row["in_denominator"]:
                    assert row["reason"] == "", row
                    assert row["feed"] and row["path"] and row["row_no"], row  # every counted line names its file
                else:
                    assert row["reason"], row  # a line left out says why
        if scope.scope == "city":
            assert kept.value is not None, f"{ind_id}: a generated city has data for every data indicator"
        assert columns is None or columns[:9] == list(explain.LEADING)
        if kept.numerator is None:
            assert n_lines == 0
        else:
            assert _close(kept.numerator, numerator), (ind_id, str(scope), kept.numerator, numerator)
        if kept.denominator is None:
            assert d_lines == 0
        else:
            assert _close(kept.denominator, denominator), (ind_id, str(scope), kept.denominator, denominator)


def jn_credit(env, *args):
    return subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_csv_lists_a_quarantined_row_with_reason_path_and_masked_id(city):
    url, env = city
    done = jn_credit(env, "explain", "I04", "--month", "2020-08", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert PERSON_ID not in done.stdout
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0])[:9] == list(explain.LEADING)
    ours = [r for r in rows if r["path"] == EXTRA]
    assert len(ours) == 1
    assert ours[0]["in_numerator"] == ours[0]["in_denominator"] == "0"
    assert ours[0]["reason"] == "quarantined: invalid_uscc:统一社会信用代码"
    assert ours[0]["row_no"] == "1" and ours[0]["feed"] == "penalty" and ours[0]["unit"] == "amr"
    with database.transaction(url) as cur:
        kept = explain.stored(cur, explain.indicator("I04"), MONTH, explain.Scope.parse("city"))
    assert sum(Decimal(r["weight"]) for r in rows if r["in_numerator"] == "1") == kept.numerator
    assert sum(Decimal(r["weight"]) for r in rows if r["in_denominator"] == "1") == kept.denominator
    # I03 counts the same row in its denominator; the ID it put in the USCC column is masked
    done = jn_credit(env, "explain", "I03", "--month", "2020-08", "--format", "csv")
    ours = [r for r in csv.DictReader(io.StringIO(done.stdout)) if r["path"] == EXTRA]
    assert [(r["in_numerator"], r["in_denominator"], r["uscc"]) for r in ours] == [("0", "1", "370*************34")]
    assert PERSON_ID not in done.stdout


def test_json_and_table(city):
    _, env = city
    done = jn_credit(env, "explain", "I24", "--month", "2020-08", "--scope", "district:370811", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["indicator"] == "I24" and doc["scope"] == "district:370811" and doc["adds_up"] is True
    counted = [x for x in doc["lines"] if x["in_numerator"] or x["in_denominator"]]
    assert sum(x["weight"] for x in doc["lines"] if x["in_numerator"]) == doc["numerator"]
    assert sum(x["weight"] for x in doc["lines"] if x["in_denominator"]) == doc["denominator"]
    assert len(doc["lines"]) - len(counted) == sum(doc["left_out"].values())
    assert {x["district"] for x in doc["lines"] if x["in_numerator"]} == {"370811"}

    table = jn_credit(env, "explain", "I24", "--month", "2020-08", "--limit", "5")
    assert table.returncode == 0, table.stderr
    assert "与存储值一致" in table.stdout and "未计入" in table.stdout
    header = next(line for line in table.stdout.splitlines() if line.startswith("in_numerator"))
    body = table.stdout.splitlines()[table.stdout.splitlines().index(header) + 1:]
    assert len(body) == 5


@pytest.mark.parametrize("args, message", [
    (["I10", "--scope", "unit:amr"], "computed at: city"),
    (["I01"], "self-report"),
    (["I99"], "unknown indicator"),
    (["I03", "--scope", "county:1"], "bad scope"),
    (["I03", "--month", "2019-01"], "not computed"),
])
def test_what_cannot_be_explained_says_why(city, args, message):
    _, env = city
    month = [] if "--month" in args else ["--month", "2020-08"]
    done = jn_credit(env, "explain", *args, *month)
    assert done.returncode == 1 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_report_writes_the_explanations_the_bulletin_links(city, tmp_path):
    url, env = city
    from jn_credit_dagster.reports import bulletin, data, explanations

    with database.transaction(url) as cur:
        d = data.load(cur, MONTH)
    out = tmp_path / "out"
    written = {i: f["path"] for i, f in explanations.build(url, MONTH, d.indicators, out).items()}
    warned = [i["id"] for i in d.indicators if i["source"] == "data" and i["status"] in ("red", "yellow")]
    assert warned and sorted(written) == sorted(warned) and explanations.planned(d.indicators, out) == written
    html = bulletin.build_html(d, out, "rectification_2020-08.xlsx", explanations.planned(d.indicators, out))["html"]
    for ind_id, path in written.items():
        assert path == out / "explain" / f"{ind_id}.csv"
        assert f'href="explain/{ind_id}.csv"' in html
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        city_row = next(i for i in d.indicators if i["id"] == ind_id)
        if city_row["numerator"] is not None:
            assert _close(city_row["numerator"], sum(Decimal(r["weight"]) for r in rows if r["in_numerator"] == "1"))


def test_the_indicator_asset_shows_the_command(city):
    url, _ = city
    asset = results_asset()
    assert "jn-credit explain ID --month" in str(asset.specs_by_key[asset.key].metadata["explain"])
    result = dg.materialize([asset], partition_key="2020-08", resources={"warehouse": Warehouse(database_url=url)},
                            instance=dg.DagsterInstance.ephemeral())
    text = result.asset_materializations_for_node(asset.node_def.name)[0].metadata["explain"].value
    with database.transaction(url) as cur:
        cur.execute("SELECT indicator, status FROM wh.indicator_results WHERE month = %s AND scope = 'city' "
                    "AND source = 'data'", (MONTH,))
        statuses = dict(cur.fetchall())
    for ind_id, status in statuses.items():
        shown = f"jn-credit explain {ind_id} --month 2020-08 --format csv" in text
        assert shown == (status in ("red", "yellow")), (ind_id, status)


def _printed(value) -> str:
    """A value of lines() as the CSV prints it: numbers in PostgreSQL's plain digits (never 1.2E-7)."""
    if value is None:
        return ""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


@pytest.mark.parametrize("ind_id", explain.explainable())
def test_the_csv_is_the_lines_masked_as_python_masks_them(city, ind_id):
    """The server-rendered CSV (COPY, masked by sql/schema/036_privacy.sql) against lines() masked by
    lib/common/privacy.py and written by Python's csv module, byte for byte, at every scope of _scopes."""
    url, _ = city
    ind = explain.indicator(ind_id)
    for scope in _scopes(url, ind_id):
        with database.transaction(url) as cur:
            rendered = io.BytesIO()
            n = explain.write_csv(cur.connection, ind, MONTH, scope, rendered)
            found = list(explain.lines(cur.connection, ind, MONTH, scope))
        expected = io.StringIO(newline="")
        writer = csv.writer(expected)
        header = rendered.getvalue().split(b"\r\n", 1)[0].decode()
        writer.writerow(found[0][0] if found else header.split(","))
        writer.writerows([_printed(v) for v in line] for _, line in found)
        assert n == len(found)
        assert rendered.getvalue() == expected.getvalue().encode("utf-8"), (ind_id, str(scope))


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_crlf_records_end_records_not_quoted_newlines_at_any_chunk_size(chunk):
    """COPY's records, in pieces cut anywhere, come out as csv.writer writes the same rows: CRLF between
    records, a newline inside a quoted value kept, whatever the piece boundaries."""
    rows = [["1", "a"], ["2", 'say "hi"\nthen go'], ["3", "x,y"], ["4", "two\nlines\n"], ["5", '"'], ["6", ""]]
    records = []
    for row in rows:  # COPY's CSV: LF record ends, quoted where csv needs it
        line = io.StringIO(newline="")
        csv.writer(line, lineterminator="\n").writerow(row)
        records.append(line.getvalue().encode())
    expected = io.StringIO(newline="")
    csv.writer(expected).writerows(rows)
    out = io.BytesIO()
    converter = explain.CsvRecords(out)
    data = b"".join(records)
    for at in range(0, len(data), chunk):
        converter.write(data[at:at + chunk])
    converter.finish()
    assert out.getvalue() == expected.getvalue().encode()


def test_the_explanations_asset_writes_the_files_the_bulletin_links(city):
    """reports/explanations of M: one file per red / yellow data indicator beside the bulletin, its lines
    in the metadata, each file the bytes `jn-credit explain ID --format csv` prints."""
    url, env = city
    from jn_credit_dagster import reports
    from jn_credit_dagster.defs.reports.assets import explanations_asset
    from jn_credit_dagster.reports import data, explanations

    result = dg.materialize([explanations_asset()], partition_key="2020-08",
                            resources={"warehouse": Warehouse(database_url=url)}, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    (event,) = result.get_asset_materialization_events()
    meta = event.step_materialization_data.materialization.metadata
    with database.transaction(url) as cur:
        linked = explanations.planned(data.load(cur, MONTH).indicators, reports.out_dir(MONTH))
    files = meta["files"].value
    assert linked and sorted(files) == sorted(linked)
    for ind_id, path in linked.items():
        body = path.read_bytes()
        assert files[ind_id]["path"] == str(path) and files[ind_id]["lines"] == body.count(b"\r\n") - 1
        assert not path.with_suffix(".csv.part").exists()
    assert meta["dagster/row_count"].value == sum(f["lines"] for f in files.values())
    ind_id = max(files, key=lambda i: files[i]["lines"])
    done = subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", "explain", ind_id, "--month", "2020-08",
                           "--format", "csv"], capture_output=True, env={**os.environ, **env}, timeout=300)
    assert done.returncode == 0 and done.stdout == linked[ind_id].read_bytes()


def test_the_estimate_puts_the_longest_explanations_first(city):
    """reports/explanations writes the files largest first by the planner's estimate: on this month the
    estimate's order puts the files of the most lines ahead of the least (checked against the real counts)."""
    url, _ = city
    month, scope = MONTH, explain.Scope.parse("city")
    with database.transaction(url) as cur:
        lines = {i: explain.write_csv(cur.connection, explain.indicator(i), month, scope, io.BytesIO())
                 for i in explain.explainable()}
        estimate = {i: explain.estimated_lines(cur, explain.indicator(i), month, scope) for i in lines}
    ranked = sorted(lines, key=lambda i: -estimate[i])
    half = len(ranked) // 2
    assert min(lines[i] for i in ranked[:3]) > max(lines[i] for i in ranked[half:])


def test_rows_of_a_month_s_earlier_registry_delivery_are_left_out_as_superseded(db, deliver, ingest, query):
    """wh.explain_other_deliveries: every row (correct and quarantined) of M's folder that is not in M's
    snapshot delivery, with why, found from the ledger's deliveries; nothing of the snapshot, nothing of
    another month's folder."""
    good = yaml.safe_load((Path(__file__).parent / "cases" / "registry.yaml").read_text(encoding="utf-8"))["good"]
    first = [good, {**good, "统一社会信用代码": good["统一社会信用代码"][:-1] + "0"}]  # the second: a wrong check character
    deliver("amr", "2020-07", "registry.20200720.csv", [good])
    deliver("amr", "2020-08", "registry.20200805.csv", first)
    deliver("amr", "2020-08", "registry.20200806.csv", first + [good])  # other bytes, delivered the same month
    deliver("amr", "2020-08", "registry.20200820.csv", [{**good, "主体名称": "后来的名称"}])  # the snapshot
    for month in ("2020-07", "2020-08"):
        ingest("registry", month)
    assert query("SELECT count(*) FROM raw.registry WHERE month = '2020-08-01'") == [(4,)]
    assert query("SELECT count(*) FROM quarantine.registry WHERE month = '2020-08-01'") == [(2,)]

    lines = query("SELECT o.feed, l.path, o.row_no, o.key, o.reason FROM wh.explain_other_deliveries('registry', "
                  "'2020-08-01', ARRAY['uscc']) o JOIN ingest.ledger l ON l.sha256 = o.file_sha256 AND l.month = o.month "
                  "AND l.unit = o.unit AND l.feed = o.feed ORDER BY 2, 3")
    why = "superseded: a later delivery of the month is the snapshot"
    assert lines == [
        ("registry", "amr/2020-08/registry.20200805.csv", 1, good["统一社会信用代码"], why),
        ("registry", "amr/2020-08/registry.20200805.csv", 2, first[1]["统一社会信用代码"], why),
        ("registry", "amr/2020-08/registry.20200806.csv", 1, good["统一社会信用代码"], why),
        ("registry", "amr/2020-08/registry.20200806.csv", 2, first[1]["统一社会信用代码"], why),
        ("registry", "amr/2020-08/registry.20200806.csv", 3, good["统一社会信用代码"], why),
    ]
    assert query("SELECT count(*) FROM wh.explain_other_deliveries('registry', '2020-07-01', ARRAY['uscc'])") == [(0,)]
