"""The month's reports (issue 5) on a real warehouse: deliveries through `deliver`/`ingest`, indicators
through lib/indicators.compute_month, the report code on top. The bulletin's PDF is printed by Debian's
Chromium; the PNG of its first page is written to artifacts/reports/ (gitignored) for a person to look at."""

import datetime as dt
import os
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from jn_credit_dagster.defs.warehouse.assets import district_rows
from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.warehouse import facts, subjects
from jn_credit_dagster.lib.indicators import compute as indicators
from jn_credit_dagster.lib.indicators.catalog import IDS
from jn_credit_dagster.lib.ingest.deliveries_due import DUE
from jn_credit_dagster.reports import bulletin, data, package, rectification, write_all

DISTRICTS = [code for code, _, _ in district_rows()]  # wh/subjects' known districts

CASES = Path(__file__).parent / "cases"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "reports"


def good(feed):
    return yaml.safe_load((CASES / f"{feed}.yaml").read_text(encoding="utf-8"))["good"]


def id_number(body17: str) -> str:
    """A valid 18-character 身份证号 (GB 11643 check character) for the 17 digits given."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights)) % 11]


PERSON = id_number("37081119850302123")
BAD_PERSON = "370811198503021230" if PERSON[-1] != "0" else "370811198503021231"  # wrong check character


@pytest.fixture
def month(db, query, deliver, ingest, inbox):
    """2020-07 and 2020-08 ingested and computed; returns the URL of the warehouse."""
    query("DELETE FROM wh.indicator_results; DELETE FROM wh.indicator_totals")
    lic, pen = good("license"), good("penalty")
    person = dict(lic, 行政相对人名称="王某", 行政相对人类别="自然人", 统一社会信用代码="", 法定代表人="",
                  证件类型="身份证", 证件号码=PERSON, 行政许可决定文书号="济任审批食许〔2020〕457号")
    broken = dict(person, 证件号码=BAD_PERSON, 行政许可决定文书号="济任审批食许〔2020〕458号")
    deliver("approval", "2020-07", "license.20200720.csv", [dict(lic, 行政许可决定文书号="济任审批食许〔2020〕400号",
                                                                 许可决定日期="2020-07-14", 有效期自="2020-07-14")])
    deliver("approval", "2020-08", "license.20200820.csv", [lic, person, broken])
    deliver("amr", "2020-08", "penalty.20200820.csv", [pen, dict(pen, 行政处罚决定书文号="X-2", 处罚机关统一社会信用代码="bad")])
    deliver("water", "2020-08", "water_bill.20200827.csv", [good("water_bill")])  # after the 25th: late
    deliver("power", "2020-08", "power_bill.20200820.csv", [dict(good("water_bill"), 户号="P-001")])  # on time
    deliver("fgw", "2020-08", "joint_case.20200820.csv", [good("joint_case")])
    deliver("fgw", "2020-08", "self_report.20200820.csv", [good("self_report")])
    os.symlink("/etc/passwd", inbox / "fgw" / "2020-08" / "joint_case.20200821.csv")  # a path with no content
    for feed in ("license", "penalty", "water_bill", "power_bill", "joint_case", "self_report"):
        for m in ("2020-07", "2020-08"):
            ingest(feed, m)
    with database.transaction(db) as cur:
        for month in (dt.date(2020, 7, 1), dt.date(2020, 8, 1)):
            facts.build_latest_states(cur, month)
            subjects.build_month(cur, month, DISTRICTS)
            indicators.compute_month(cur, month)
    return db


def load(url, month=dt.date(2020, 8, 1)):
    with database.transaction(url) as cur:
        return data.load(cur, month)


def test_national_package_verifies_and_is_byte_identical(month, tmp_path):
    with database.transaction(month) as cur:
        first = package.build(cur, data.load(cur, dt.date(2020, 8, 1)), tmp_path / "a")
        second = package.build(cur, data.load(cur, dt.date(2020, 8, 1)), tmp_path / "b")
    assert first["path"].read_bytes() == second["path"].read_bytes()
    assert package.verify(first["path"]) == []
    with zipfile.ZipFile(first["path"]) as archive:
        names = archive.namelist()
        assert names == ["license.csv", "penalty.csv", "joint_case.csv", "self_report.csv", "manifest.json"]
        assert {i.date_time for i in archive.infolist()} == {(2020, 8, 1, 0, 0, 0)}
        manifest = json.loads(archive.read("manifest.json"))
        for f in manifest["files"]:
            assert hashlib.sha256(archive.read(f["name"])).hexdigest() == f["sha256"]
        assert {f["name"]: f["rows"] for f in manifest["files"]} == {
            "license.csv": 2, "penalty.csv": 1, "joint_case.csv": 1, "self_report.csv": 15}
        lic = archive.read("license.csv").decode("utf-8")
        header = lic.splitlines()[0].split(",")
        assert header[:6] == ["行政相对人名称", "行政相对人类别", "统一社会信用代码", "法定代表人", "证件类型", "证件号码"]
        assert header[-1] == "备注" and len(header) == 21
        assert PERSON not in lic and PERSON[:3] + "*" * 13 + PERSON[-2:] in lic
        pen = archive.read("penalty.csv").decode("utf-8").splitlines()
        assert pen[0].split(",")[6] == "行政处罚决定书文号" and "警告;罚款" in pen[1]
        assert "LJ-2020-08-001" in archive.read("joint_case.csv").decode("utf-8")
        assert "I02" in archive.read("self_report.csv").decode("utf-8")
    assert manifest["month"] == "2020-08" and manifest["source"]["ledger_files"] == 7


def test_rectification_workbook_sheets_and_rows(month, tmp_path):
    d = load(month)
    result = rectification.build(d, tmp_path)
    workbook = openpyxl.load_workbook(result["path"])
    assert workbook.sheetnames[0] == "汇总"
    # every due unit has something missing or late except power (on time); approval has quarantined rows
    expected = {u for u in DUE if u != "power"} | {"approval"}
    assert expected <= set(workbook.sheetnames[1:])
    rows = {name: [r for r in workbook[name].iter_rows(min_row=4, values_only=True)] for name in workbook.sheetnames[1:]}
    # power delivered on time: only the indicators it owns below target (I07) can be on its sheet
    assert {r[1] for r in rows.get("power", [])} <= {"未达标指标"}
    assert any(r[2].startswith("I07 ") for r in rows["power"])
    assert {r[1] for r in rows["water"]} >= {"迟报"} and any(r[2] == "water_bill" for r in rows["water"])
    assert any(r[1] == "缺报" and r[2] == "registry" for r in rows["amr"])
    quarantined = [r for r in rows["approval"] if r[1] == "隔离行"]
    assert len(quarantined) == 1 and "invalid_id:证件号码" in quarantined[0][4]
    assert BAD_PERSON not in quarantined[0][3] and BAD_PERSON[:3] + "*" * 13 in quarantined[0][3]
    assert any(r[1] == "隔离行" for r in rows["amr"])
    assert all(r[6] == "2020-09-25" for sheet in rows.values() for r in sheet)
    assert result["sheets"] == {name: len(r) for name, r in rows.items()}
    everything = " ".join(str(c) for ws in workbook for row in ws.iter_rows(values_only=True) for c in row if c)
    assert PERSON not in everything and BAD_PERSON not in everything


def test_bulletin_html_pdf_and_png(month, tmp_path):
    if shutil.which("chromium") is None or shutil.which("pdftotext") is None:
        pytest.fail("the bulletin needs Debian's chromium and poppler-utils (.ci/run installs them)")
    out = tmp_path / "reports"
    result = write_all(month, dt.date(2020, 8, 1), out)
    html = result["bulletin"]["path"].read_text(encoding="utf-8")
    for ind_id in IDS:
        assert f"<td>{ind_id}</td>" in html
    for unit in DUE:
        assert f"（{unit}）" in html
    assert "rectification_2020-08.xlsx#'water'!A1" in html
    assert "邹城市（370883）" in html and "曲阜市（370881）" in html
    assert PERSON not in html and BAD_PERSON not in html
    assert html.index("预警指标") < html.index("三、全部指标")
    for name in ("bulletin_2020-08_trend.png", "bulletin_2020-08_groups.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f'src="{name}"' in html
    pdf = out / "bulletin_2020-08.pdf"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "双公示" in text and "月度通报" in text and "I39" in text
    png = out / "bulletin_2020-08_page1.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, ARTIFACTS / "bulletin_2020-08_page1.png")
    shutil.copy(pdf, ARTIFACTS / "bulletin_2020-08.pdf")
    # the ledger's files and checksums are in the appendix
    with database.transaction(month) as cur:
        cur.execute("SELECT sha256 FROM ingest.ledger WHERE month = '2020-08-01' AND sha256 IS NOT NULL")
        assert all(sha in html for (sha,) in cur.fetchall())
    assert "fgw/2020-08/joint_case.20200821.csv" in html and "outside_inbox" in html  # the link, by path


def test_bulletin_previous_month_and_warnings(month, tmp_path):
    d = load(month)
    ctx = bulletin.context(d, "w.xlsx", {"trend": "t.png", "groups": "g.png"})
    statuses = [w["status"] for w in ctx["warnings"]]
    assert statuses == sorted(statuses, key=lambda s: s != "red") and set(statuses) <= {"red", "yellow"}
    assert [m for m, _ in d.history][0] == dt.date(2019, 9, 1) and d.history[-2][1] is not None
    assert d.previous is not None and d.previous["month"] == "2020-07"


def test_cli_report(month, tmp_path):
    out = tmp_path / "cli"
    env_url = month
    done = subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", "report", "--month", "2020-08",
                           "--out", str(out), "--database-url", env_url], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} >= {"national_2020-08.zip", "rectification_2020-08.xlsx",
                                               "bulletin_2020-08.html", "bulletin_2020-08.pdf"}
    again = subprocess.run([sys.executable, "-m", "jn_credit_dagster.cli", "report", "--month", "2020-05",
                            "--out", str(out), "--database-url", env_url], capture_output=True, text=True)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "2020-05 has no indicators" in again.stderr


def test_report_assets_materialize_into_the_home(month, tmp_path):
    import dagster as dg

    from jn_credit_dagster.defs.reports.assets import PACKAGE_KEY, report_assets_list
    from jn_credit_dagster.lib.common import paths
    from jn_credit_dagster.defs.resources import Warehouse

    result = dg.materialize(report_assets_list(), partition_key="2020-08", resources={"warehouse": Warehouse()},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    folder = paths.home() / "reports" / "2020-08"
    meta = {m.asset_key.to_user_string(): m.metadata for m in result.get_asset_materialization_events() and
            [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()]}
    zip_path = folder / "national_2020-08.zip"
    assert meta["reports/national_package"]["sha256"].value == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert meta["reports/rectification"]["sheets"].value["water"] >= 1
    assert (folder / "bulletin_2020-08.pdf").is_file() and (folder / "bulletin_2020-08.html").is_file()
    # not computed: a clear failure
    # one load of the month's data for the three
    loads = [e for e in result.all_events if e.is_step_success]
    assert len(loads) == 1
    # not computed: a clear failure, for one report alone too (the multi-asset subsets)
    failed = dg.materialize(report_assets_list(), partition_key="2020-05", resources={"warehouse": Warehouse()},
                            selection=[PACKAGE_KEY], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    (failure,) = [e for e in failed.all_events if e.is_step_failure]
    assert not failed.success and "2020-05 has no indicators" in failure.step_failure_data.error.message
