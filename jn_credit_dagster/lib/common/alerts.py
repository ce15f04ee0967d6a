"""Alerts: one JSON message, appended to a log file and POSTed to a webhook.

Plain code, no Dagster: the `Alerts` resource (resources.py) wraps it. An alert never breaks the
work that raises it: delivery errors are logged and reported back, not raised. Every text is
scrubbed of personal ID numbers before it leaves the process; messages carry no links.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jn_credit_dagster.lib.common.present import scrub

LOG_ENV = "JN_CREDIT_ALERT_LOG"  # a file: one JSON object per line
WEBHOOK_ENV = "JN_CREDIT_ALERT_WEBHOOK"  # an http(s) URL: the same object, POSTed as JSON
DEFAULT_TIMEOUT = 5.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    title: str
    text: str
    kind: str = "info"  # e.g. deadline, run_failure
    month: str | None = None  # YYYY-MM
    units: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)  # small, flat, JSON-serialisable
    at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def payload(self) -> dict:
        """The message as sent: every string scrubbed (ID numbers masked)."""
        return _scrubbed(asdict(self) | {"units": list(self.units), "source": "jn-credit-dagster"})


@dataclass
class Delivery:
    """What became of one alert: channels that took it, and the errors of those that did not."""
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def send(alert: Alert, log_path: str | os.PathLike | None = None, webhook_url: str | None = None,
         timeout: float = DEFAULT_TIMEOUT) -> Delivery:
    """Append the alert to `log_path` and POST it to `webhook_url` (either may be None)."""
    body = alert.payload()
    result = Delivery()
    if log_path:
        try:
            path = Path(log_path).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(body, ensure_ascii=False) + "\n")
            result.sent.append("log")
        except OSError as e:
            result.errors.append(f"log {log_path}: {e}")
    if webhook_url:
        try:
            request = urllib.request.Request(
                webhook_url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), method="POST",
                headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "jn-credit-dagster"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(1024)
            result.sent.append("webhook")
        except (urllib.error.URLError, OSError, ValueError) as e:  # HTTPError is a URLError
            result.errors.append(f"webhook: {e}")
    for error in result.errors:
        log.warning("alert %r not delivered: %s", alert.title, error)
    return result


def _scrubbed(value):
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v) for v in value]
    return value
