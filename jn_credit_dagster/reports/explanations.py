"""The explanation files of a month's bulletin: for each red or yellow data indicator, every line
behind its city value (`jn-credit explain ID --month M --format csv`) as explain/<ID>.csv beside the
bulletin, which links to them."""

from __future__ import annotations

from pathlib import Path

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.indicators import explain

from jn_credit_dagster.lib.common.status import BELOW_TARGET

from .data import ReportData

FOLDER = "explain"


def wanted(d: ReportData) -> list[str]:
    """The red and yellow data indicators of M that have an explanation file."""
    have = set(explain.explainable())
    return [i["id"] for i in d.indicators if i["status"] in BELOW_TARGET and i["source"] == "data" and i["id"] in have]


def build(url: str, d: ReportData, out: Path) -> dict[str, Path]:
    """Write out/explain/<ID>.csv for each wanted indicator; returns id → path."""
    folder = Path(out) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    with database.transaction(url) as cur:
        for ind_id in wanted(d):
            path = folder / f"{ind_id}.csv"
            part = path.with_suffix(".csv.part")  # a reader never sees half a file
            with open(part, "w", encoding="utf-8", newline="") as f:
                explain.write_csv(cur.connection, explain.indicator(ind_id), d.month, explain.Scope.parse("city"), f)
            part.replace(path)
            written[ind_id] = path
    return written
