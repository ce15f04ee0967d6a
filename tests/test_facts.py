"""The state feeds' fact tables wh/<feed> (lib/warehouse/facts.py): the latest state as of each month, materialized
through Dagster from files ingested for real."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.warehouse.facts import fact_asset
from jn_credit_dagster.lib.warehouse import facts
from jn_credit_dagster.lib.ingest import specs
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.defs.resources import Warehouse

CASES = Path(__file__).resolve().parent / "cases"


def good(feed: str, **changes) -> dict:
    row = dict(yaml.safe_load((CASES / f"{feed}.yaml").read_text(encoding="utf-8"))["good"])
    row.update(changes)
    return row


def materialize(feed: str, month: str) -> dg.MaterializeResult:
    result = dg.materialize([fact_asset(load_specs()[feed])], partition_key=month,
                            resources={"warehouse": Warehouse()}, instance=dg.DagsterInstance.ephemeral())
    return result.asset_materializations_for_node(f"wh__{feed}")[0]


def test_every_state_feed_and_only_those_has_a_fact_asset():
    kinds = {feed: spec.kind for feed, spec in load_specs().items()}
    assert sorted(s.id for s in facts.state_specs()) == sorted(f for f, k in kinds.items() if k == "state")
    assert len(facts.state_specs()) == 12


def test_a_month_depends_on_every_earlier_month_of_its_feed():
    """August's state reads every folder up to August: the UI marks it stale when July is ingested again."""
    asset = fact_asset(load_specs()["blacklist"])
    months = partitions.monthly()
    mapping = asset.get_partition_mapping(dg.AssetKey(["raw", "blacklist"]))
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        months.empty_subset().with_partition_keys(["2020-08"]), months, months)
    keys = sorted(upstream.partitions_subset.get_partition_keys())
    assert keys[0] == months.get_first_partition_key() and keys[-1] == "2020-08"
    assert len(keys) == len(set(keys)) == 12 * (2020 - int(keys[0][:4])) + 8 - int(keys[0][5:]) + 1
    assert not upstream.required_but_nonexistent_subset.get_partition_keys()


def test_blacklist_latest_state_per_month(deliver, ingest, query):
    """July lists two subjects; August's delivery exits one of them (same key, a 移出日期) and a later
    file of August lists it again under another key. July's state stays as it was."""
    listed = good("blacklist", 列入日期="2020-07-03")
    other = dict(listed, 统一社会信用代码="91370811MA3C5K7X06", 主体名称="济宁任城某公司")
    deliver("court", "2020-07", "blacklist.20200720.csv", [listed, other])
    deliver("court", "2020-08", "blacklist.20200818.csv", [dict(listed, 移出日期="2020-08-15", 移出事由="履行完毕")])
    deliver("court", "2020-08", "blacklist.20200821.csv", [dict(listed, 列入日期="2020-08-19")])
    ingest("blacklist", "2020-07")
    ingest("blacklist", "2020-08")

    july = materialize("blacklist", "2020-07")
    august = materialize("blacklist", "2020-08")
    assert july.metadata["dagster/row_count"].value == 2
    assert august.metadata["dagster/row_count"].value == 3  # the exited listing, the relisting, the other
    rows = query("SELECT as_of_month::text, uscc, listed_on::text, removed_on::text, delivery_date::text "
                 "FROM wh.blacklist ORDER BY as_of_month, uscc, listed_on")
    assert rows == [
        ("2020-07-01", "91370811MA3C5K7X06", "2020-07-03", None, "2020-07-20"),
        ("2020-07-01", "91370883MA3F7H2L52", "2020-07-03", None, "2020-07-20"),
        ("2020-08-01", "91370811MA3C5K7X06", "2020-07-03", None, "2020-07-20"),
        ("2020-08-01", "91370883MA3F7H2L52", "2020-07-03", "2020-08-15", "2020-08-18"),
        ("2020-08-01", "91370883MA3F7H2L52", "2020-08-19", None, "2020-08-21"),
    ]
    # rebuilding a month replaces it: same rows, no duplicates
    assert materialize("blacklist", "2020-08").metadata["dagster/row_count"].value == 3
    assert query("SELECT count(*) FROM wh.blacklist WHERE as_of_month = '2020-08-01'") == [(3,)]
    assert query("SELECT feed, as_of_month::text, rows FROM wh.fact_builds ORDER BY as_of_month") == [
        ("blacklist", "2020-07-01", 2), ("blacklist", "2020-08-01", 3)]


@pytest.mark.parametrize("later_unit", ["fgw", "finance"])
def test_self_report_latest_state_is_per_unit(deliver, ingest, query, later_unit):
    """self_report's key is 指标编号 + the delivering unit: another unit's later row does not replace fgw's."""
    deliver("fgw", "2020-08", "self_report.20200810.csv", [good("self_report", 填报值="否")])
    deliver(later_unit, "2020-08", "self_report.20200820.csv", [good("self_report", 填报值="是")])
    ingest("self_report", "2020-08")
    materialize("self_report", "2020-08")
    rows = query("SELECT unit, reported_value FROM wh.self_report WHERE as_of_month = '2020-08-01' ORDER BY unit")
    assert rows == ([("fgw", "是")] if later_unit == "fgw" else [("fgw", "否"), ("finance", "是")])


@pytest.mark.parametrize("kind, key, problem", [
    ("state", None, "a state feed needs a key"),
    ("state", "[unit, item]", None),  # per delivering unit, as self_report
    ("event", "[unit, item]", "names unknown columns"),  # ingest checks event keys among the columns
])
def test_a_state_feed_spec_needs_a_key_which_may_name_the_unit(tmp_path, kind, key, problem):
    path = tmp_path / "probe.yaml"
    path.write_text("\n".join([
        "id: probe", "name: 探针", f"kind: {kind}", "units: any", *([f"key: {key}"] if key else []),
        "columns:", "  - {name: item, header: 项目, type: text, required: true}"]), encoding="utf-8")
    if problem is None:
        assert specs._parse(path).key == ("unit", "item")
    else:
        with pytest.raises(ValueError, match=problem):
            specs._parse(path)
