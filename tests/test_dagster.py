"""The Dagster side, through Dagster's own machinery: the definitions as the UI shows them,
a partition materialized with `materialize`, and the GX suites' results as asset checks reported
by the ingest's own pass."""

import json
import os
import re
from pathlib import Path

import dagster as dg
import yaml

from jn_credit_dagster.definitions import defs
from jn_credit_dagster.defs.ingest.assets import feed_asset, inbox_asset
from jn_credit_dagster.defs.lineage import every_earlier_month
from jn_credit_dagster.lib.common import paths
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.defs.resources import Inbox, Warehouse

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"
PENALTY = yaml.safe_load((Path(__file__).parent / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]


def _months(mapping) -> str:
    """A partition mapping as the months it reads: M, M-1, M-11…M, …M (every earlier month), all."""
    if isinstance(mapping, dg.TimeWindowPartitionMapping):
        start, end = mapping.start_offset, mapping.end_offset
        at = lambda n: "M" if n == 0 else f"M{n:+d}"  # noqa: E731
        if start == end:
            return at(start)
        # every earlier month: back to the first partition (the offset grows with today's date)
        reaches_first = start <= every_earlier_month().start_offset
        return f"…{at(end)}" if reaches_first else f"{at(start)}…{at(end)}"
    return type(mapping).__name__.removesuffix("PartitionMapping").lower()


def _shape(d: dg.Definitions) -> dict:
    graph = d.resolve_asset_graph()
    keys = sorted(graph.get_all_asset_keys())
    return {
        "assets": {k.to_user_string(): graph.get(k).group_name for k in keys},
        # the lineage: every dependency with the months it reads
        "deps": {k.to_user_string(): sorted(f"{p.to_user_string()} {_months(graph.get_partition_mapping(k, p))}"
                                            for p in graph.get(k).parent_keys)
                 for k in keys if graph.get(k).parent_keys},
        "checks": sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys),
        "jobs": sorted(j.name for j in d.resolve_all_job_defs() if not j.name.startswith("__")),
        "resources": sorted(d.resources or {}),
        "schedules": sorted(f"{s.name}: {s.cron_schedule} {s.execution_timezone} → {s.job_name}" for s in d.schedules or ()),
        "sensors": sorted(s.name for s in d.sensors or ()),
    }


def test_definitions_snapshot():
    """Asset keys, groups, checks and jobs as committed; UPDATE_SNAPSHOTS=1 rewrites the file."""
    shape = _shape(defs())
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(shape, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert shape == json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    # one asset per feed spec on disk: a new YAML spec is a new asset with no Python
    on_disk = {p.stem for p in (paths.PROJECT_ROOT / "assets" / "feeds").glob("*.yaml")}
    assert {k for k in shape["assets"] if k.startswith("raw/")} == {f"raw/{f}" for f in on_disk} and on_disk


def test_every_feed_is_monthly_partitioned_and_owned():
    graph = defs().resolve_asset_graph()
    for feed, spec in load_specs().items():
        node = graph.get(dg.AssetKey(["raw", feed]))
        assert node.partitions_def.get_first_partition_key() == "2019-01"
        assert set(node.owners) == {f"team:{u}" for u in spec.units or ()}
        assert "postgres" in node.kinds


def _materialize(inbox, month="2020-08"):
    spec = load_specs()["penalty"]
    return dg.materialize(
        [inbox_asset(), feed_asset(spec)],
        partition_key=month,
        resources={"warehouse": Warehouse(), "inbox": Inbox(path=str(inbox))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _checks(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_clean_month_passes_its_checks(db, deliver, inbox):
    deliver("amr", "2020-08", "penalty.20200820.csv", [dict(PENALTY)])
    result = _materialize(inbox)
    assert result.success
    meta = result.asset_materializations_for_node("raw__penalty")[0].metadata
    assert meta["accepted_rows"].value == 1 and meta["quarantined_rows"].value == 0
    checks = _checks(result)
    assert checks["expectations"].passed and checks["file_contract"].passed


def test_quarantined_rows_warn_with_masked_sample(db, deliver, inbox):
    person = dict(PENALTY, 行政相对人类别="自然人", 行政相对人名称="李娜", 统一社会信用代码="", 法定代表人="",
                  证件类型="身份证", 证件号码="370811198503120016")
    bad = dict(person, 行政处罚决定书文号="济任市监罚〔2020〕9号", 违法事实="因信访问题")
    deliver("amr", "2020-08", "penalty.20200820.csv", [person, bad])
    result = _materialize(inbox)
    assert result.success
    check = _checks(result)["expectations"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    meta = check.metadata
    assert meta["quarantined_rows"].value == 1 and meta["delivered_rows"].value == 2
    assert "prohibited_category" in meta["top_reasons"].value
    sample = meta["quarantine_sample"].value
    assert "李娜" in sample and "370811198503120016" not in sample and re.search(r"370\*+16", sample)
    assert "prohibited_category" in meta["failed_expectations"].value
    # the suite's result in Great Expectations' shape, from the ingest's own counts
    validation = meta["validation_result"].value
    assert validation["statistics"]["evaluated_expectations"] == len(validation["results"]) > 30
    prohibited = next(r for r in validation["results"] if r["expectation_config"]["meta"]["reason"] == "prohibited_category")
    assert prohibited["result"]["unexpected_count"] == 1 and prohibited["result"]["element_count"] == 2
    assert not prohibited["success"] and not validation["success"]


def test_rejected_files_are_errors(db, deliver, inbox):
    deliver("amr", "2020-08", "penalty.20200820.csv", [{k: v for k, v in PENALTY.items() if k != "处罚机关"}])
    (inbox / "amr" / "2020-08" / "处罚清单.csv").write_text("x", encoding="utf-8")
    result = _materialize(inbox)
    assert result.success  # contract breakage is reported by the checks, it does not crash the run
    checks = _checks(result)
    assert checks["expectations"].severity == dg.AssetCheckSeverity.ERROR and not checks["expectations"].passed
    assert "missing_columns" in checks["expectations"].metadata["rejected_files"].value
    assert checks["file_contract"].severity == dg.AssetCheckSeverity.ERROR and not checks["file_contract"].passed
    assert "bad_name" in checks["file_contract"].metadata["rejected_files"].value


def test_missing_inbox_fails_the_run_with_a_clear_reason(db, tmp_path):
    result = _materialize(tmp_path / "nowhere")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "is not a folder" in failure.step_failure_data.error.message
