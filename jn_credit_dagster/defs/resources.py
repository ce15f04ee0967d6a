"""Resources: the warehouse (PostgreSQL), the inbox folder and the alerts channel, and the retry
policy and concurrency pool of the steps that use the warehouse."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dagster as dg

from jn_credit_dagster.lib.common import alerts, database, paths


# Transient database trouble (a restart, a dropped connection) is worth another try; anything else is
# turned into Failure(allow_retries=False) by defs/failures.py, which this policy then does not repeat.
DB_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)
# Steps that write the warehouse share one concurrency pool. Its limit is the instance's, not the
# code's: deploy/dagster.yaml sets `concurrency: pools: default_limit` (2), and
# `dagster instance concurrency set warehouse N` changes it; a laptop's default instance has none.
WAREHOUSE_POOL = "warehouse"


class Warehouse(dg.ConfigurableResource):
    """PostgreSQL: `database_url`, else DATABASE_URL, else the embedded server under JN_CREDIT_HOME."""

    database_url: str | None = None

    def url(self) -> str:
        return database.resolve_url(self.database_url)

    @contextlib.contextmanager
    def transaction(self):
        with database.transaction(self.url()) as cursor:
            yield cursor

    def archive_dir(self) -> Path:
        return paths.home() / "archive"


class Inbox(dg.ConfigurableResource):
    """The inbox folder of FEEDS.md: `path`, else JN_CREDIT_INBOX."""

    path: str | None = None

    def root(self) -> Path:
        folder = self.path or os.environ.get("JN_CREDIT_INBOX")
        if not folder:
            raise dg.Failure("no inbox: set JN_CREDIT_INBOX or pass --inbox", allow_retries=False)
        root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise dg.Failure(f"inbox {root} is not a folder", allow_retries=False)
        return root


class Alerts(dg.ConfigurableResource):
    """Where alerts go: `log_path` (else JN_CREDIT_ALERT_LOG), a file of JSON lines, and `webhook_url`
    (else JN_CREDIT_ALERT_WEBHOOK), POSTed as JSON. Neither set: alerts only reach the Dagster log.
    Sending never raises; texts are scrubbed of personal ID numbers (lib/common/alerts.py)."""

    log_path: str | None = None
    webhook_url: str | None = None
    timeout_seconds: float = alerts.DEFAULT_TIMEOUT

    def send(self, title: str, text: str, *, kind: str = "info", month: str | None = None,
             units=(), details: dict | None = None) -> alerts.Delivery:
        alert = alerts.Alert(title=title, text=text, kind=kind, month=month, units=tuple(units),
                             details=details or {})
        return alerts.send(alert, self.log_path or os.environ.get(alerts.LOG_ENV) or None,
                           self.webhook_url or os.environ.get(alerts.WEBHOOK_ENV) or None, self.timeout_seconds)


@dg.definitions
def resources() -> dg.Definitions:
    # All three read their environment when used, not here: the same definitions serve a laptop
    # (embedded PostgreSQL) and production (DATABASE_URL).
    return dg.Definitions(resources={"warehouse": Warehouse(), "inbox": Inbox(), "alerts": Alerts()})
