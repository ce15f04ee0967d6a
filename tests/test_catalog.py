"""The indicator catalog against the contract (INDICATORS.md), and the scoring rules by kind."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from jn_credit_dagster.lib.indicators import catalog
from jn_credit_dagster.lib.indicators.catalog import IDS, load_catalog, parse_catalog, score, status
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.lib.indicators.sql_reads import sql_reads

CONTRACT = Path(__file__).parents[2] / "shared" / "INDICATORS.md"
# INDICATORS.md's words for the responsible units that are not one unit code
SYMBOLIC = {"every 双公示 unit": "double_publicity", "blacklist owners": "blacklist_owners",
            "source units": "source_units", "all": "all"}


def _cells(line: str) -> list[str]:
    # a cell may hold an escaped pipe (\|E(M)\|)
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


@pytest.fixture(scope="module")
def contract() -> dict:
    """The catalog table of INDICATORS.md: {"groups": {G: (name, points)}, "rows": {id: cells}}."""
    if not CONTRACT.exists():
        pytest.skip(f"{CONTRACT} is absent: the shared contract is not checked out next to the repo")
    groups, rows, current = {}, {}, None
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\| \*\*(G\d+) (\S+)\*\* \|.*?\| \*\*(\d+)\*\* \|", line):
            current = m.group(1)
            groups[current] = (m.group(2), int(m.group(3)))
        elif re.match(r"^\| (I\d\d|D\d) \|", line):
            cells = _cells(line)
            rows[cells[0]] = {"seed": cells[1], "name": cells[2], "points": cells[3], "kind": cells[4],
                              "value": cells[5], "units": cells[6], "group": current if cells[0][0] == "I" else None}
    return {"groups": groups, "rows": rows}


def test_catalog_loads_and_is_cached():
    cat = load_catalog()
    assert list(cat.indicators) == list(IDS)
    assert len(cat.groups) == 15
    assert load_catalog() is cat


def test_every_contract_row_is_in_the_catalog(contract):
    cat = load_catalog()
    assert set(contract["rows"]) == set(cat.indicators) == set(IDS)
    kinds = {"target-1": "target_1", "higher-better": "higher_better", "lower-better": "lower_better",
             "yes/no": "yes_no", "count": "count", "": "deduction"}
    for iid, row in contract["rows"].items():
        ind = cat[iid]
        assert (ind.seed, ind.name, ind.group) == (row["seed"], row["name"], row["group"]), iid
        if iid.startswith("D"):  # "−20 × 3 months", "−10"
            points = int(row["points"].replace("−", "-").split()[0])
            months = int(m.group(1)) if (m := re.search(r"× (\d+) months", row["points"])) else 1
            assert (ind.points, ind.months) == (points, months), iid
        else:
            assert ind.points == int(row["points"]), iid
        kind, _, ref = row["kind"].partition(" (ref ")
        assert ind.kind == kinds[kind], iid
        if ref:  # a published ref is the catalog's
            assert ind.ref == float(ref.rstrip(")")), iid
        assert ind.units == tuple(SYMBOLIC.get(u, u) for u in row["units"].split(", ")), iid
        assert ind.source == ("self_report" if row["value"].startswith("self-report") else "data"), iid
        assert ind.description == row["value"], iid
        if ind.source == "data":
            assert ind.sql == f"sql/indicators/{iid}.sql"


def test_groups_match_the_contract(contract):
    cat = load_catalog()
    assert {g.id: (g.name, g.points) for g in cat.groups.values()} == contract["groups"]


def test_point_sums():
    cat = load_catalog()
    for g in cat.groups.values():
        assert sum(i.points for i in cat.in_group(g.id)) == g.points, g.id
    by_level = {}
    for g in cat.groups.values():
        by_level[g.first_level] = by_level.get(g.first_level, 0) + g.points
    assert by_level == {"信用制度和基础建设": 20, "营商环境": 21, "信用监管": 43, "权益保护": 16}
    assert sum(i.points for i in cat.indicators.values() if not i.is_deduction) == 100
    assert [(d.id, d.points, d.months) for d in cat.deductions] == [("D1", -20, 3), ("D2", -10, 1)]


def _with(iid, **changes):
    """A catalog indicator with its ref/tol pinned here, so the arithmetic below does not move when
    the office changes a default."""
    return dataclasses.replace(load_catalog()[iid], **changes)


@pytest.mark.parametrize("iid, changes, value, expected_score, expected_status", [
    # target-1, I03 (3 points): 3 × 0.9871 = 2.9613; f = 0.9871 ≥ 0.9
    ("I03", {}, 0.9871, 2.9613, "green"),
    # target-1 exactly on the green line: 3 × 0.9 = 2.7; f = 2.7 / 3 = 0.9 (float noise tolerated)
    ("I03", {}, 0.9, 2.7, "green"),
    # target-1, I16 (2 points): 2 × 0.5 = 1.0; f = 0.5 < 0.6
    ("I16", {}, 0.5, 1.0, "red"),
    # higher-better, I07 (2 points, ref 4): 2 × min(3.2 / 4, 1) = 2 × 0.8 = 1.6; f = 0.8 → yellow
    ("I07", {"ref": 4.0}, 3.2, 1.6, "yellow"),
    # higher-better above ref: 2 × min(5 / 4, 1) = 2 × 1 = 2.0
    ("I07", {"ref": 4.0}, 5.0, 2.0, "green"),
    # higher-better, I12 (3 points, ref 0.3): 3 × min(0.06 / 0.3, 1) = 3 × 0.2 = 0.6; f = 0.2 → red
    ("I12", {"ref": 0.3}, 0.06, 0.6, "red"),
    # lower-better, I24 (6 points, tol 0.05): 6 × max(0, 1 − 0.01 / 0.05) = 6 × 0.8 = 4.8 → yellow
    ("I24", {"tol": 0.05}, 0.01, 4.8, "yellow"),
    # lower-better past tol: 6 × max(0, 1 − 0.08 / 0.05) = 6 × max(0, −0.6) = 0
    ("I24", {"tol": 0.05}, 0.08, 0.0, "red"),
    # lower-better at 0: 2 × (1 − 0 / 10) = 2 (I27, 2 points)
    ("I27", {"tol": 10.0}, 0.0, 2.0, "green"),
    # yes/no, I02 (2 points): 是 → 2 × 1 = 2; 否 → 2 × 0 = 0
    ("I02", {}, 1, 2.0, "green"),
    ("I02", {}, 0, 0.0, "red"),
    # count, I01 (3 points, ref 10): 3 × min(7 / 10, 1) = 2.1; f = 0.7 → yellow
    ("I01", {"ref": 10.0}, 7, 2.1, "yellow"),
    # count beyond ref, I15 (2 points, ref 6): 2 × min(9 / 6, 1) = 2
    ("I15", {"ref": 6.0}, 9, 2.0, "green"),
    # deduction D1 (−20): applies → −20 × 1 = −20, red; does not → −20 × 0 = 0, green
    ("D1", {}, 1, -20.0, "red"),
    ("D1", {}, 0, 0.0, "green"),
    # D2 (−10) applies: −10
    ("D2", {}, 1, -10.0, "red"),
])
def test_score_and_status(iid, changes, value, expected_score, expected_status):
    ind = _with(iid, **changes)
    got = score(ind, value)
    assert got == pytest.approx(expected_score)
    assert status(ind, value, got) == expected_status


@pytest.mark.parametrize("iid", ["I03", "I07", "I24", "I02", "I01", "D1"])
def test_null_value_is_not_applicable(iid):
    ind = load_catalog()[iid]
    assert score(ind, None) is None
    assert status(ind, None, None) == "n/a"


def test_thresholds_can_be_overridden_per_indicator(tmp_path):
    doc = yaml.safe_load(catalog.CATALOG.read_text(encoding="utf-8"))
    next(i for i in doc["indicators"] if i["id"] == "I03")["status"] = {"green": 1.0, "yellow": 0.95}
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    ind = parse_catalog(path)["I03"]
    # 3 × 0.97 = 2.91: f = 0.97 is green by the default 0.9, yellow under this override (0.95 ≤ f < 1)
    assert status(ind, 0.97, score(ind, 0.97)) == "yellow"
    assert status(ind, 0.9, score(ind, 0.9)) == "red"
    assert parse_catalog(path)["I04"].thresholds == catalog.Thresholds(0.9, 0.6)


def _broken(tmp_path, change) -> Path:
    doc = yaml.safe_load(catalog.CATALOG.read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _indicator(doc, iid):
    return next(i for i in doc["indicators"] if i["id"] == iid)


def test_wrong_group_sum_is_a_clear_error(tmp_path):
    path = _broken(tmp_path, lambda doc: _indicator(doc, "I02").update(points=3))  # G1: 3 + 3 = 6 ≠ 5
    with pytest.raises(ValueError, match=r"group G1 信用制度落实情况: its indicators sum to 6 points, the group has 5"):
        parse_catalog(path)


@pytest.mark.parametrize("change, message", [
    (lambda doc: doc["groups"]["G5"].update(points=14), r"first level 营商环境: its groups sum to 22 points, not 21"),
    (lambda doc: doc["indicators"].pop(), r"missing \['D2'\]"),
    (lambda doc: doc["indicators"].append(dict(doc["indicators"][0])), r"duplicate ids \['I01'\]"),
    (lambda doc: _indicator(doc, "I05").update(group="G99"), r"indicator I05: group 'G99' does not exist"),
    (lambda doc: _indicator(doc, "I01").update(units=["fgw", "nobody"]),
     r"I01: unknown or no responsible units \['nobody'\]"),
    (lambda doc: _indicator(doc, "I07").update(kind="best"), r"I07: kind 'best' not in"),
    (lambda doc: _indicator(doc, "I24").pop("tol"), r"I24: kind lower_better needs a positive tol"),
    (lambda doc: _indicator(doc, "I03").pop("sql"), r"I03: a data indicator names its SQL file"),
    (lambda doc: _indicator(doc, "I03").update(source="guess"), r"I03: source 'guess' not in"),
    (lambda doc: _indicator(doc, "I03").update(unit="percent"), r"I03: unit 'percent' not in"),
    (lambda doc: _indicator(doc, "I03").pop("name"), r"malformed catalog"),
    (lambda doc: _indicator(doc, "I10").pop("reads"), r"I10: reads: none declared"),
    (lambda doc: _indicator(doc, "I10").update(reads={"raw.nothing": "month"}), r"I10: reads 'raw.nothing': not raw"),
    (lambda doc: _indicator(doc, "I10").update(reads={"wh.license": "month"}), r"I10: reads 'wh.license'"),  # an event feed
    (lambda doc: _indicator(doc, "I04").update(reads={"wh.calendar": "month"}), r"I04: reads wh.calendar: a reference"),
    (lambda doc: _indicator(doc, "I10").update(reads={"wh.uscc_issue": "forever"}), r"window 'forever' is not"),
    (lambda doc: _indicator(doc, "D1").update(reads={"raw.self_report": "month"}), r"D1: reads: a deduction reads"),
])
def test_broken_catalogs_are_rejected(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        parse_catalog(_broken(tmp_path, change))


# --- lineage: the catalog's `reads:` against the SQL --------------------------------------------------

def test_every_data_indicator_reads_what_its_sql_names():
    """The tables (and the months, where the SQL text says) each SQL file reads, the warehouse functions it
    calls expanded (lib/indicators/sql_reads.py), are exactly the catalog's `reads:`."""
    problems = []
    for ind in load_catalog().data_indicators:
        named = sql_reads((catalog.paths.PROJECT_ROOT / ind.sql).read_text(encoding="utf-8"))
        declared = ind.read_windows
        if set(named) != set(declared):
            problems.append(f"{ind.id}: SQL reads {sorted(set(named) - set(declared))} not declared, "
                            f"declares {sorted(set(declared) - set(named))} the SQL does not read")
        problems += [f"{ind.id}: {t} read {named[t]} by the SQL, declared {declared[t]}"
                     for t in set(named) & set(declared) if named[t] is not None and named[t] != declared[t]]
    assert not problems, "\n".join(problems)


def test_the_sql_reader_sees_windows_and_functions():
    text = """-- raw.ignored in a comment
        WITH a AS (SELECT * FROM raw.penalty WHERE month <= %(month)s),
             b AS (SELECT * FROM quarantine.penalty WHERE month = %(month)s AND x IN (SELECT 1))
        SELECT wh.snapshot_file('registry', %(month)s), * FROM wh.blacklist b JOIN wh.xyd_loan_share(%(month)s) x
        WHERE b.as_of_month = %(month)s"""
    assert sql_reads(text) == {"raw.penalty": "to_date", "quarantine.penalty": "month", "raw.registry": "to_date",
                               "wh.blacklist": None, "raw.xyd_loan": "to_date", "wh.city_stats": "month"}
    with pytest.raises(ValueError, match="wh.mystery"):
        sql_reads("SELECT * FROM wh.mystery(%(month)s)")


def test_i39_reads_every_feeds_quarantine():
    """I39's quarantine tables come from the feed specs (`quarantine.*`), so a new feed is counted."""
    reads = load_catalog()["I39"].read_windows
    assert reads == {f"quarantine.{feed}": "month" for feed in load_specs()}


def test_feed_indicator_map_comes_from_the_reads():
    cat = load_catalog()
    feeds = cat.feed_indicators()
    for ind in cat.indicators.values():
        for table, _ in ind.reads:
            if table.startswith(("raw.", "wh.")) and catalog.table_feed(table):
                assert ind.id in feeds[catalog.table_feed(table)], (ind.id, table)
    assert set(feeds) <= set(load_specs())
    assert "I39" not in feeds["penalty"] and "I03" in cat.quarantine_readers()["penalty"]


def test_widest_window():
    assert catalog.widest("month", "to_date") == "to_date"
    assert catalog.widest("last_3_months", "month") == "last_3_months"
    assert catalog.widest("last_3_months", "last_12_months") == "last_12_months"
