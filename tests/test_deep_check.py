"""The weekly deep check: Great Expectations itself re-validates stored months and the job fails
loudly where GX's counts differ from what the ingest's own pass recorded."""

import dagster as dg
import yaml
from pathlib import Path

from jn_credit_dagster.defs.ingest.checks import weekly_deep_check
from jn_credit_dagster.defs.resources import Warehouse

PENALTY = yaml.safe_load((Path(__file__).parent / "cases" / "penalty.yaml").read_text(encoding="utf-8"))["good"]


def _run():
    return weekly_deep_check.execute_in_process(
        resources={"warehouse": Warehouse()}, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        run_config={"ops": {"deep_check_months": {"config": {"months_back": 600}}}})


def test_gx_agrees_with_the_recorded_counts_and_a_difference_fails(deliver, ingest, query):
    rows = [dict(PENALTY), dict(PENALTY, 行政处罚决定书文号="济任市监罚〔2020〕2号", 处罚决定日期="2020-09-30"),
            dict(PENALTY, 行政处罚决定书文号="济任市监罚〔2020〕3号", 处罚决定日期="2020-13-01")]
    deliver("amr", "2020-08", "penalty.20200820.csv", rows)
    ingest("penalty", "2020-08")
    result = _run()
    assert result.success
    assert result.output_for_node("deep_check_months") == 1
    # what the pass recorded no longer matches the stored rows: GX sees it
    query("UPDATE ingest.expectation_results SET unexpected_count = 0, success = true "
          "WHERE feed = 'penalty' AND reason = 'date_after_delivery:处罚决定日期'")
    result = _run()
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "date_after_delivery:处罚决定日期: recorded 0, GX 1" in failure.step_failure_data.error.message
