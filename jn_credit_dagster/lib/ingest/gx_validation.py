"""Run a feed's Great Expectations suite (GX 1.x) on a month of its delivered rows.

dagster-ge supports only GX < 1.0, so the asset checks call GX themselves: an ephemeral
context, a PostgreSQL datasource on the warehouse, the view ingest.<feed>_delivered (accepted
and quarantined rows, typed alike) batched by month, and the suite loaded from expectations/.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

from psycopg2 import sql

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.ingest import tables
from jn_credit_dagster.lib.ingest.specs import FeedSpec
from jn_credit_dagster.lib.ingest.suites import Suite


@dataclass(frozen=True)
class Outcome:
    expectation: str  # type and column, e.g. expect_column_values_to_not_be_null(uscc)
    reason: str
    severity: str  # critical | warning | info
    success: bool
    unexpected: int | None


def validate_month(url: str, spec: FeedSpec, suite: Suite, month: dt.date) -> list[Outcome]:
    import great_expectations as gx  # heavy: imported when a check runs, not when defs load
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    with warnings.catch_warnings():
        # the generic SQL datasource on purpose: GX's Postgres one rejects the embedded server's socket URL
        warnings.simplefilter("ignore")
        source = context.data_sources.add_sql("warehouse", connection_string=database.sqlalchemy_url(url))
    try:
        asset = source.add_query_asset(spec.id, query=_render(url, sql.SQL("SELECT * FROM {}").format(tables.delivered_view(spec))))
        batch = asset.add_batch_definition_monthly("by_month", column="month")
        expectation_suite = context.suites.add(gx.ExpectationSuite(**{k: v for k, v in suite.document.items() if k != "id"}))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{spec.id}_monthly", data=batch, suite=expectation_suite))
        result = validation.run(batch_parameters={"year": month.year, "month": month.month})
    finally:
        # each datasource opens its own engine; a long run of many checks must not keep their pools
        source.get_engine().dispose()
    outcomes = []
    for r in result.results:
        config = r.expectation_config
        column = config.kwargs.get("column")
        label = config.type + (f"({column})" if column else "")
        unexpected = r.result.get("unexpected_count", r.result.get("observed_value"))
        outcomes.append(Outcome(label, (config.meta or {}).get("reason", ""), str(getattr(config.severity, "value", config.severity)),
                                bool(r.success), int(unexpected) if isinstance(unexpected, (int, float)) else None))
    return outcomes


def _render(url: str, statement: sql.Composable) -> str:
    """GX takes SQL text: quote identifiers the way the server would."""
    connection = database.engine(url).raw_connection()
    try:
        return statement.as_string(connection.driver_connection)
    finally:
        connection.close()
