"""Sensors: new files in the inbox, the deadline of the 25th, failed runs.

- `inbox_sensor` hashes every file of the inbox's month folders (SHA-256 of the content; the file's
  mtime is never the test of change) and requests one `warehouse_refresh` run per month that has files
  it has not requested before, selecting the inbox scan, the feeds of those files and every asset
  downstream of them (no reports: they wait for the final of the 26th). Requested hashes live in the cursor (JSON, per month, the most recent
  KEEP_MONTHS months); a file already in `ingest.ledger` (e.g. loaded by `jn-credit run`) counts as
  known too. The run key is derived from the files' hashes, so Dagster itself never launches the
  same request twice.
- `deadline_sensor` on the 25th (Asia/Shanghai) of month M looks for the deliveries due for M
  (INDICATORS.md, lib/ingest/deliveries_due.py) and flags every unit with one missing: an AssetObservation
  of `ingest/inbox` for partition M (visible in the UI on the asset's events) and an alert. Once per
  month (the cursor holds the last month flagged).
- `run_failure_alert` sends one alert per failed run of this code location (a run Dagster will retry
  is not reported; its last retry is).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.jobs import REFRESH_JOB, refresh_selection
from jn_credit_dagster.defs.ingest.steps import INBOX_KEY, feed_key
from jn_credit_dagster.lib.common import city
from jn_credit_dagster.lib.ingest import deliveries_due
from jn_credit_dagster.lib.common.city import UNITS
from jn_credit_dagster.lib.ingest.inbox import scan
from jn_credit_dagster.lib.common.present import markdown_table, scrub
from jn_credit_dagster.lib.ingest.readers import fingerprint
from jn_credit_dagster.lib.ingest.specs import load_specs
from jn_credit_dagster.defs.resources import Alerts, Inbox, Warehouse

from .schedules import SHANGHAI, run_tags

WILL_RETRY_TAG = "dagster/will_retry"  # set by the daemon on a failed run it is going to retry
KEEP_MONTHS = 36  # months of requested hashes the inbox sensor's cursor keeps; older ones: the ledger
SHORT_HASH = 16  # hex characters of a file's SHA-256 kept in the cursor (64 bits)
SETTLE_ENV = "JN_CREDIT_INBOX_SETTLE_SECONDS"  # ignore files written less than this long ago (uploads in progress)

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


def _status(always_on: bool = False) -> dg.DefaultSensorStatus:
    on = always_on or city.automation_on()
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED


# --- the inbox sensor ----------------------------------------------------------------------------------

# (path, size, mtime_ns, inode) -> sha256: a file is hashed again only when its stat changes. The
# sensor's code server lives across ticks, so a quiet inbox costs one stat per file per tick.
_hash_memo: dict[tuple, str] = {}


def _sha256(path: Path) -> tuple[str, float]:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _hash_memo:
        if len(_hash_memo) > 200_000:
            _hash_memo.clear()
        _hash_memo[key] = fingerprint(path, text=False).sha256
    return _hash_memo[key], st.st_mtime


def read_cursor(cursor: str | None) -> dict[str, set[str]]:
    """month -> short hashes already requested."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        return {m: set(hs) for m, hs in data.get("months", {}).items()}
    except (ValueError, AttributeError, TypeError):
        return {}  # an unreadable cursor: start over; the ledger and run keys still prevent repeats


def write_cursor(months: dict[str, set[str]]) -> str:
    kept = sorted(months)[-KEEP_MONTHS:]
    return json.dumps({"v": 1, "months": {m: sorted(months[m]) for m in kept}}, separators=(",", ":"))


def _in_ledger(warehouse: Warehouse, hashes: set[str], log) -> set[tuple[str, str, str]]:
    """(unit, month key, sha256) of the deliveries the ledger has: a delivery is (unit, feed, month
    folder, bytes), so the same bytes in another month's folder are new (FEEDS.md)."""
    if not hashes:
        return set()
    try:
        with warehouse.transaction() as cur:
            cur.execute("SELECT unit, month, sha256 FROM ingest.ledger WHERE sha256 = ANY(%s) AND month IS NOT NULL",
                        (sorted(hashes),))
            return {(unit, partitions.key_of(month), sha) for unit, month, sha in cur.fetchall()}
    except Exception as e:  # noqa: BLE001 - the warehouse down must not stop the sensor: the cursor still holds
        log.warning(f"ingest.ledger not readable ({type(e).__name__}); deciding on the cursor alone")
        return set()


def changed_selection(feeds: list[str], asset_graph) -> list[dg.AssetKey]:
    """The inbox scan (a new file may be a bad name it rejects), the changed feeds and everything
    downstream of them that the refresh job holds (the reports are not in it)."""
    known = [feed_key(f) for f in feeds if f in load_specs()]
    selection = dg.AssetSelection.assets(INBOX_KEY) | dg.AssetSelection.assets(*known).downstream()
    return sorted((selection & refresh_selection()).resolve(asset_graph), key=lambda k: k.to_user_string())


def inbox_run_requests(root: Path, cursor: str | None, warehouse: Warehouse, now: dt.datetime,
                       settle_seconds: float, log, asset_graph=None) -> tuple[list[dg.RunRequest], str]:
    """The work of one tick: run requests for months with new content, and the next cursor. With the
    asset graph, each request selects what the new files change (else the whole refresh job)."""
    known = read_cursor(cursor)
    valid = set(partitions.monthly().get_partition_keys(current_time=now))
    found: dict[str, dict[str, str]] = {}  # month -> {relative path: sha256} of files not requested before
    outside, settling = set(), 0
    for d in scan(root, set(load_specs())):
        if d.month is None or not d.has_content:
            continue  # outside month folders: every month's inbox scan records it; a link is never read
        if d.still_arriving:
            settling += 1
            continue
        month = partitions.key_of(d.month)
        if month not in valid:
            outside.add(month)
            continue
        sha, mtime = _sha256(d.path)
        if settle_seconds and time.time() - mtime < settle_seconds:
            settling += 1
            continue
        if sha[:SHORT_HASH] not in known.get(month, ()):
            found.setdefault(month, {})[d.rel] = sha
    if outside:
        log.info(f"month folders outside the partitions ignored: {', '.join(sorted(outside))}")
    if settling:
        log.info(f"{settling} files written in the last {settle_seconds:g}s left for the next tick")
    ingested = _in_ledger(warehouse, {sha for files in found.values() for sha in files.values()}, log)
    requests = []
    for month, files in sorted(found.items()):
        hashes = {sha[:SHORT_HASH] for sha in files.values()}
        known.setdefault(month, set()).update(hashes)  # ingested ones too: no need to ask the ledger again
        new = {rel: sha for rel, sha in files.items() if (rel.split("/", 1)[0], month, sha) not in ingested}
        if not new:
            continue
        digest = hashlib.sha256("\n".join(sorted(set(new.values()))).encode()).hexdigest()[:20]
        feeds = sorted({rel.rsplit("/", 1)[-1].split(".", 1)[0] for rel in new})
        requests.append(dg.RunRequest(
            run_key=f"inbox:{month}:{digest}", partition_key=month,
            asset_selection=changed_selection(feeds, asset_graph) if asset_graph is not None else None,
            tags=run_tags(month, "inbox_sensor", files=str(len(new)), feeds=",".join(feeds)[:200])))
        log.info(f"{month}: {len(new)} new or changed files ({', '.join(sorted(new)[:5])}"
                 f"{' …' if len(new) > 5 else ''}) → run {REFRESH_JOB}")
    return requests, write_cursor(known)


def inbox_sensor(clock: Clock | None = None, settle_seconds: float | None = None) -> dg.SensorDefinition:
    @dg.sensor(
        name="inbox_sensor",
        job_name=REFRESH_JOB,
        minimum_interval_seconds=60,
        default_status=_status(),
        description="New or changed files in inbox/<unit>/<YYYY-MM>/ (by SHA-256 of the content) → one "
                    f"{REFRESH_JOB} run of that month (the inbox scan, the changed feeds and what reads them), "
                    "tagged trigger=inbox_sensor; never twice for one file.",
    )
    def _inbox(context: dg.SensorEvaluationContext, inbox: Inbox, warehouse: Warehouse) -> dg.SensorResult:
        settle = settle_seconds if settle_seconds is not None else float(os.environ.get(SETTLE_ENV, "0") or 0)
        requests, cursor = inbox_run_requests(inbox.root(), context.cursor, warehouse, (clock or _now)(),
                                              settle, context.log,
                                              context.repository_def.asset_graph if context.repository_def else None)
        if not requests:
            return dg.SensorResult(skip_reason="no new or changed files in the inbox", cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _inbox


# --- the deadline sensor -------------------------------------------------------------------------------

def deadline_sensor(clock: Clock | None = None) -> dg.SensorDefinition:
    @dg.sensor(
        name="deadline_sensor",
        minimum_interval_seconds=3600,
        default_status=_status(),
        description=f"On the {deliveries_due.DUE_DAY}th (Asia/Shanghai): every unit whose due deliveries of the "
                    "month (INDICATORS.md) are missing is flagged — an observation of ingest/inbox for the "
                    "month and an alert. Once per month.",
    )
    def _deadline(context: dg.SensorEvaluationContext, inbox: Inbox, alerts: Alerts) -> dg.SensorResult:
        today = (clock or _now)().astimezone(SHANGHAI).date()
        month = partitions.key_of(today)
        if today.day < deliveries_due.DUE_DAY:
            return dg.SensorResult(skip_reason=f"{month}: deadline is the {deliveries_due.DUE_DAY}th",
                                   cursor=context.cursor)
        if context.cursor == month:
            return dg.SensorResult(skip_reason=f"{month}: already flagged", cursor=month)
        gaps = deliveries_due.gaps(inbox.root(), today.replace(day=1))
        missing: dict[str, list[str]] = {}
        for gap in gaps:
            if gap.status == "missing":
                missing.setdefault(gap.unit, []).append(gap.feed)
        rows = [(g.unit, UNITS.get(g.unit, g.unit), g.feed, g.status_zh,
                 g.delivered or "") for g in gaps]
        observation = dg.AssetObservation(
            asset_key=INBOX_KEY,
            partition=month,
            description=(f"{month} 报送截止（{deliveries_due.deadline(today)}）：{len(missing)} 个单位缺报"
                         if missing else f"{month} 报送截止：应报数据均已报送"),
            metadata={
                "deadline": dg.MetadataValue.text(str(deliveries_due.deadline(today))),
                "units_missing": dg.MetadataValue.int(len(missing)),
                "deliveries_missing": dg.MetadataValue.int(sum(len(f) for f in missing.values())),
                "missing_units": dg.MetadataValue.text(", ".join(missing) or "—"),
                "gaps": dg.MetadataValue.md(markdown_table(["单位", "名称", "数据项", "状态", "报送日期"], rows)),
            },
            tags={"trigger": "deadline_sensor", "month": month},
        )
        if missing:
            text = "；".join(f"{UNITS.get(u, u)}（{u}）：{', '.join(feeds)}" for u, feeds in missing.items())
            context.log.warning(f"{month}: due deliveries missing — {scrub(text)}")
            alerts.send(f"{month} 报送截止：{len(missing)} 个单位缺报", f"截至 {deliveries_due.deadline(today)} 未报送：{text}",
                        kind="deadline", month=month, units=list(missing),
                        details={"missing": {u: ", ".join(f) for u, f in missing.items()}})
        else:
            context.log.info(f"{month}: every due delivery is in the inbox")
        return dg.SensorResult(asset_events=[observation], cursor=month)

    return _deadline


# --- failed runs ---------------------------------------------------------------------------------------

def run_failure_alert_sensor() -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="run_failure_alert",
        default_status=_status(always_on=True),  # it launches nothing; without alert settings it only logs
        description="An alert (log file / webhook, see the Alerts resource) for every failed run.",
    )
    def _failed(context: dg.RunFailureSensorContext, alerts: Alerts) -> None:
        run = context.dagster_run
        if run.tags.get(WILL_RETRY_TAG) == "true":  # one alert per failed run: the retry's outcome, not each try
            context.log.info(f"run {run.run_id} will be retried: no alert yet")
            return
        month = run.tags.get("month") or run.tags.get("dagster/partition")
        trigger = (run.tags.get("trigger") or run.tags.get("dagster/schedule_name")
                   or run.tags.get("dagster/sensor_name") or "manual")
        steps = [f"{e.step_key}: {e.step_failure_data.error.message.strip() if e.step_failure_data.error else ''}"
                 for e in context.get_step_failure_events()][:5]
        text = "\n".join([context.failure_event.message or "run failed", *steps])[:4000]
        alerts.send(f"运行失败：{run.job_name}" + (f" {month}" if month else ""), text, kind="run_failure",
                    month=month, details={"run_id": run.run_id, "job": run.job_name, "trigger": trigger})
        context.log.info(f"alert sent for failed run {run.run_id}")

    return _failed


@dg.definitions
def sensors() -> dg.Definitions:
    return dg.Definitions(sensors=[inbox_sensor(), deadline_sensor(), run_failure_alert_sensor()])
