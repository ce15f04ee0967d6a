"""The explanation files of a month's bulletin: for each red or yellow data indicator, every line
behind its city value (`jn-credit explain ID --month M --format csv`, the same bytes) as explain/<ID>.csv
beside the bulletin, which links to them. The bulletin only needs `planned` (which files, where); the
files are written by `build` — the `reports/explanations` asset, or `jn-credit report`."""

from __future__ import annotations

import datetime as dt
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.common.status import BELOW_TARGET
from jn_credit_dagster.lib.indicators import compute as indicators
from jn_credit_dagster.lib.indicators import explain

from .data import NotComputed

FOLDER = "explain"
# Files written side by side: the work is the server's (queries, sorts, masking, CSV), one backend
# per file, so as many as the machine has cores.
WORKERS = min(4, os.cpu_count() or 1)


def wanted(city_indicators: list[dict]) -> list[str]:
    """The red and yellow data indicators (rows as lib.indicators.compute.read_month gives them, or
    ReportData.indicators) that have an explanation file."""
    have = set(explain.explainable())
    return [i["id"] for i in city_indicators
            if i["status"] in BELOW_TARGET and i["source"] == "data" and i["id"] in have]


def planned(city_indicators: list[dict], out: Path) -> dict[str, Path]:
    """id → out/explain/<ID>.csv for each wanted indicator: what the bulletin links."""
    return {ind_id: Path(out) / FOLDER / f"{ind_id}.csv" for ind_id in wanted(city_indicators)}


def wanted_in(cur, month: dt.date) -> list[dict]:
    """The month's city indicator rows, read from the warehouse; NotComputed when it has none."""
    doc = indicators.read_month(cur, month)
    if doc is None:
        raise NotComputed(f"{month:%Y-%m} has no indicators yet: run `jn-credit run --inbox DIR --month {month:%Y-%m}` first")
    return doc["indicators"]


def build(url: str, month: dt.date, city_indicators: list[dict], out: Path,
          workers: int = WORKERS) -> dict[str, dict]:
    """Write out/explain/<ID>.csv for each wanted indicator, `workers` files at a time, every one read
    from the same snapshot of the warehouse; returns id → {path, lines, seconds}."""
    folder = Path(out) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    files = planned(city_indicators, out)
    with database.transaction(url) as lead:  # holds the snapshot the writers share until they are done
        database.repeatable_read(lead)
        snapshot = database.export_snapshot(lead)

        def write(item: tuple[str, Path]) -> tuple[str, dict]:
            ind_id, path = item
            started = time.perf_counter()
            with database.reading_snapshot(url, snapshot) as cur:
                part = path.with_suffix(".csv.part")  # a reader never sees half a file
                with open(part, "wb") as f:
                    n = explain.write_csv(cur.connection, explain.indicator(ind_id), month,
                                          explain.Scope.parse("city"), f)
            part.replace(path)
            return ind_id, {"path": path, "lines": n, "seconds": time.perf_counter() - started}

        # The largest first, by the planner's estimate: the writers then finish together, rather than one
        # writing the last million-line file alone while the other core idles (~4 s of a city month).
        city = explain.Scope.parse("city")
        largest_first = sorted(files.items(), key=lambda item: -explain.estimated_lines(
            lead, explain.indicator(item[0]), month, city))
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="explain") as pool:
            written = dict(pool.map(write, largest_first))
        return {ind_id: written[ind_id] for ind_id in files}
