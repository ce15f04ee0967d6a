import dagster as dg

from jn_credit_dagster.resources import Alerts, Inbox, Warehouse


@dg.definitions
def resources() -> dg.Definitions:
    # All three read their environment when used, not here: the same definitions serve a laptop
    # (embedded PostgreSQL) and production (DATABASE_URL).
    return dg.Definitions(resources={"warehouse": Warehouse(), "inbox": Inbox(), "alerts": Alerts()})
