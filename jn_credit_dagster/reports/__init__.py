"""The month's reports (issue 5), built from the warehouse alone: the national-platform package
(package.py), the rectification workbook (rectification.py) and the bulletin (bulletin.py: HTML with
charts.py's PNGs, then pdf.py's PDF). data.py reads everything they need in one place."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from jn_credit_dagster.lib.common import database, paths

from . import bulletin, data, explanations, package, rectification


def out_dir(month: dt.date) -> Path:
    """JN_CREDIT_HOME/reports/<YYYY-MM>/, where the assets write."""
    return paths.home() / "reports" / f"{month:%Y-%m}"


def write_all(url: str, month: dt.date, out: Path, with_pdf: bool = True) -> dict:
    """All three reports of the month into `out`, with the explanation files of its red and yellow
    indicators (out/explain/<ID>.csv); data.NotComputed when its indicators are missing."""
    with database.transaction(url) as cur:
        d = data.load(cur, month)
        national = package.build(cur, d, out)
    workbook = rectification.build(d, out)
    explained = explanations.build(url, month, d.indicators, out)  # the bulletin links each red / yellow indicator to its lines
    bulletin_result = bulletin.build(d, out, workbook["path"].name, with_pdf=with_pdf,
                                     explanations=explanations.planned(d.indicators, out))
    return {"national_package": national, "rectification": workbook, "bulletin": bulletin_result,
            "explanations": {"path": out / explanations.FOLDER, "files": {i: f["path"] for i, f in explained.items()}}}
