"""Issue 11, "no ID number escapes": lib/common/privacy.py on its own, then real reports built from a warehouse
into which a hostile unit planted 身份证号 everywhere it could (备注, a quarantined row, a file name, a
unit folder's name, full-width digits), each output read back as a person or a machine would read it."""

import datetime as dt
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from jn_credit_dagster.defs.ingest.steps import record_inbox_month
from jn_credit_dagster.defs.warehouse.assets import district_rows
from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.warehouse import facts, subjects
from jn_credit_dagster.lib.indicators import compute as indicators
from jn_credit_dagster.lib.common.identifiers import id_check_char, uscc_valid
from jn_credit_dagster.lib.common.privacy import mask_ids, mask_personal, mask_url, scrub
from jn_credit_dagster.reports import write_all
from jn_credit_dagster.defs.resources import Inbox, Warehouse

DISTRICTS = [code for code, _, _ in district_rows()]  # wh/subjects' known districts

CASES = Path(__file__).parent / "cases"


def id_number(body17: str, valid: bool = True) -> str:
    check = id_check_char(body17)
    return body17 + (check if valid else "0" if check != "0" else "1")


P_NOTE = id_number("37081119850302123")              # in 备注 of an accepted row, glued to letters
P_FULL = id_number("37082619770615004")              # in 备注, full-width digits
P_QUAR = id_number("37083019620101005", valid=False)  # a quarantined row, after an X
P_FILE = id_number("37088119991231006")              # in a file name
P_UNIT = id_number("37088320010228007")              # a unit folder's name
PLANTED = (P_NOTE, P_FULL, P_QUAR, P_FILE, P_UNIT)
FULL = P_FULL.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))


def leaks(text: str) -> list[str]:
    """The planted IDs whose birth date and sequence (characters 4-16) can be read in `text`."""
    plain = unicodedata.normalize("NFKC", text)
    return [p for p in PLANTED if p[3:16] in plain]


# --- the rule ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("370811198503021235", "370*************35"),
    ("ID37081119850302123x", "ID370*************3x"),                      # touches letters
    ("X370811196201010050号", "X370*************50号"),
    ("amr/2020-08/license.20200820.370811198503021235.csv", "amr/2020-08/license.20200820.370*************35.csv"),
    ("370811198503021235/2020-08/penalty.20200820.csv", "370*************35/2020-08/penalty.20200820.csv"),
    ("３７０８１１１９８５０３０２１２３５", "３７０*************３５"),  # full-width
    ("37081119850302123X", "370*************3X"),
    ("370811198503021230", "370*************30"),                           # wrong check character: still masked
    ("370811850302123", "370**********23"),                                 # the old 15-digit form
    ("13800138000370811198503021235", "138************************35"),    # inside a longer digit run: all of it
])
def test_mask_ids_finds_every_id(text, expected):
    assert mask_ids(text) == expected


@pytest.mark.parametrize("text", [
    "91370811MA3C5K7X06", "11370800004186532G", "11370811MB28573041",   # USCCs stay readable
    "许可编号 JY13708110012345", "LJ-2020-08-001", "2020-08-20", "1234567890123456789012",
    "9f2c4e0b7d1a", "12345678901234567",                                 # 17 digits: not an ID
])
def test_mask_ids_leaves_other_codes_alone(text):
    assert mask_ids(text) == text


def test_an_all_digit_uscc_that_is_no_valid_id_stays_readable():
    # a 机构编制 USCC whose admin code happens to end in 19 (110119) and whose org code looks like a date
    body = "1211011919900101"
    code = next(body + a + b for a in "0123456789" for b in "0123456789"
                if uscc_valid(body + a + b) and id_check_char(body + a) != b)
    assert mask_ids(code) == code


def test_mask_personal_and_urls():
    assert mask_personal(" G12345678 ") == "G12****78" and mask_personal("AB1") == "***"
    assert mask_url("postgresql://user:s3cr%40t@db:5432/x") == "postgresql://user:***@db:5432/x"
    assert mask_url("postgresql://user@db/x") == "postgresql://user@db/x"
    assert mask_url("host=db password=s3cret dbname=x") == "host=db password=*** dbname=x"
    assert scrub(None) == "" and scrub("postgresql://a:b@h/370811198503021235") == "postgresql://a:***@h/370*************35"


# --- every output format -------------------------------------------------------------------------------------

def good(feed):
    return yaml.safe_load((CASES / f"{feed}.yaml").read_text(encoding="utf-8"))["good"]


FORMULA = '=HYPERLINK("http://evil.example/x","点此")'


@pytest.fixture
def planted(db, query, deliver, ingest, inbox):
    query("DELETE FROM wh.indicator_results; DELETE FROM wh.indicator_totals")
    lic = good("license")
    deliver("approval", "2020-08", "license.20200820.csv", [
        dict(lic, 备注=f"核验ID{P_NOTE[:-1]}{P_NOTE[-1].lower()}号"),
        dict(lic, 行政许可决定文书号="济任审批食许〔2020〕460号", 备注=f"证件{FULL}；{FORMULA}"),
        dict(lic, 行政许可决定文书号="济任审批食许〔2020〕461号", 行政相对人名称="王某", 行政相对人类别="自然人",
             统一社会信用代码="", 法定代表人="", 证件类型="身份证", 证件号码="X" + P_QUAR, 备注=f"X{P_QUAR} {FORMULA}"),
    ])
    deliver("approval", "2020-08", f"license.20200820.ID{P_FILE}.csv", [lic])      # a bad name: rejected
    deliver(P_UNIT, "2020-08", "license.20200821.csv", [dict(lic, 备注="x")])     # an unknown unit: rejected
    ingest("license", "2020-08")
    record_inbox_month(dt.date(2020, 8, 1), Warehouse(), Inbox(path=str(inbox)))
    assert {r[0] for r in query("SELECT reason_code FROM ingest.ledger")} >= {"bad_name", "unknown_unit"}
    with database.transaction(db) as cur:
        facts.build_latest_states(cur, dt.date(2020, 8, 1))
        subjects.build_month(cur, dt.date(2020, 8, 1), DISTRICTS)
        indicators.compute_month(cur, dt.date(2020, 8, 1))
    return db


def test_no_planted_id_reaches_html_workbook_or_package(planted, tmp_path):
    out = tmp_path / "reports"
    done = write_all(planted, dt.date(2020, 8, 1), out, with_pdf=False)

    html = done["bulletin"]["path"].read_text(encoding="utf-8")
    assert leaks(html) == []
    assert "ID370*************" in html and "370*************" in html  # file name and unit folder, masked

    with zipfile.ZipFile(done["rectification"]["path"]) as xlsx:
        xml = {n: xlsx.read(n).decode("utf-8") for n in xlsx.namelist() if n.endswith((".xml", ".rels"))}
    assert leaks("".join(xml.values())) == []
    sheets = [body for name, body in xml.items() if name.startswith("xl/worksheets/sheet")]
    assert sheets and not any("<f>" in body or "<f " in body for body in sheets), "a delivered value became a formula"
    workbook = openpyxl.load_workbook(done["rectification"]["path"])
    texts = [c for ws in workbook for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(FORMULA in t for t in texts)  # shown as typed, as text

    with zipfile.ZipFile(done["national_package"]["path"]) as package:
        members = {n: package.read(n).decode("utf-8") for n in package.namelist()}
    assert leaks("".join(members.values())) == []
    lic = members["license.csv"]
    assert "ID370*************" in lic and "３７０*************" in lic
    # the package is for a machine: a formula-looking value is carried verbatim (CSV-quoted, no prefix)
    assert FORMULA.replace('"', '""') in lic and "'=HYPERLINK" not in lic


def test_no_planted_id_reaches_the_pdf(planted, tmp_path):
    if shutil.which("chromium") is None or shutil.which("pdftotext") is None:
        pytest.fail("the bulletin needs Debian's chromium and poppler-utils (.ci/run installs them)")
    out = tmp_path / "reports"
    write_all(planted, dt.date(2020, 8, 1), out)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out / "bulletin_2020-08.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "月度通报" in text and "370*" in text and leaks(text) == []
