"""月度通报: the month's bulletin as HTML (Jinja2, templates/bulletin.html.j2) laid out for print, its
charts as PNG files next to it, then a PDF (headless Chromium) and a PNG of its first page."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2

from jn_credit_dagster.lib.common.city import MONITORED, UNITS, unit_name
from jn_credit_dagster.lib.common.present import number as fmt, scrub
from jn_credit_dagster.lib.common.status import BELOW_TARGET, GREEN, NA, STATUS_ZH

from . import charts, pdf
from .data import ReportData

TEMPLATES = Path(__file__).parent / "templates"


def _delta(now, before) -> str:
    if now is None or before is None:
        return "—"
    d = float(now) - float(before)
    return "0" if abs(d) < 1e-9 else ("+" if d > 0 else "") + fmt(d)


def _finalize(value):
    """Every `{{ … }}` of the template passes lib/privacy.scrub: a 身份证号 in a path, a unit folder's
    name or a value is masked however it reached the context."""
    return scrub(value) if isinstance(value, str) else value


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=_finalize)
    env.filters["num"] = fmt
    env.filters["zh"] = lambda s: STATUS_ZH.get(s, s)
    env.filters["scrub"] = scrub
    return env


def context(data: ReportData, workbook_name: str, chart_names: dict[str, str],
            explanations: dict[str, Path] | None = None) -> dict:
    catalog = data.catalog
    rows = []
    for ind in catalog.indicators.values():
        i = data.indicator(ind.id)
        p = data.previous_of(ind.id)
        holding = [u for u, r in sorted(data.unit_rows.items()) if ind.id in r and r[ind.id]["status"] in BELOW_TARGET]
        rows.append({
            "id": ind.id, "seed": ind.seed, "name": ind.name, "group": ind.group, "value": i["value"],
            "score": i["score"], "max_score": i["max_score"], "status": i["status"],
            "previous_value": None if p is None else p["value"], "previous_score": None if p is None else p["score"],
            "delta_value": _delta(i["value"], None if p is None else p["value"]),
            "delta_score": _delta(i["score"], None if p is None else p["score"]),
            "responsible": data.responsible_text(ind),
            "holding": "、".join(f"{unit_name(u)}（{u}，{fmt(data.unit_rows[u][ind.id]['value'])}）" for u in holding),
            "missing_sql": "missing" in i["_evidence"], "error": "error" in i["_evidence"],
            # the explanation file beside the bulletin, linked relatively so the folder can move
            "explain": f"explain/{Path(explanations[ind.id]).name}" if ind.id in (explanations or {}) else None,
        })
    by_id = {r["id"]: r for r in rows}
    groups = []
    for g in catalog.groups.values():
        members = [by_id[i.id] for i in catalog.in_group(g.id)]
        groups.append({"id": g.id, "name": g.name, "points": g.points, "first_level": g.first_level,
                       "score": sum(m["score"] or 0.0 for m in members), "indicators": members})
    first_level = []
    for name in dict.fromkeys(g["first_level"] for g in groups):
        members = [g for g in groups if g["first_level"] == name]
        first_level.append({"name": name, "points": sum(g["points"] for g in members),
                            "score": sum(g["score"] for g in members), "groups": members})
    warnings = ([r for r in rows if r["status"] == "red"] + [r for r in rows if r["status"] == "yellow"])
    district_ids = [i for i in catalog.indicators if any(i in v for v in data.district_rows.values())]
    districts = [{"code": code, "name": name, "monitored": monitored,
                  "cells": [data.district_rows.get(code, {}).get(i) for i in district_ids]}
                 for code, name, monitored in data.districts]
    pages = []
    for code in MONITORED:  # a page each
        unit = data.units.get(code)
        own = data.district_rows.get(code, {})
        as_unit = data.unit_rows.get(code, {})
        page_rows = []
        for ind in catalog.indicators.values():
            for scope, r in (("区县", own.get(ind.id)), ("单位", as_unit.get(ind.id))):
                if r is not None:
                    page_rows.append({"id": ind.id, "name": ind.name, "scope": scope, **r})
        pages.append({"code": code, "name": UNITS[code], "rows": page_rows, "unit": unit})
    previous_total = data.previous["total_score"] if data.previous else None
    return {
        "d": data, "month": data.month, "key": data.key, "rows": rows, "groups": groups, "first_level": first_level,
        "warnings": warnings, "units": list(data.units.values()), "district_ids": district_ids,
        "districts": districts, "pages": pages, "workbook": workbook_name, "charts": chart_names,
        "total": data.doc["total_score"], "previous_total": previous_total,
        "delta_total": _delta(data.doc["total_score"], previous_total), "deductions": data.doc["deductions"],
        "counts": {s: sum(1 for r in rows if r["status"] == s) for s in (*BELOW_TARGET, GREEN, NA)},
        "fingerprint": data.source_fingerprint, "UNITS": UNITS,
    }


def build_html(data: ReportData, out_dir: Path, workbook_name: str, explanations: dict[str, Path] | None = None) -> dict:
    """Write bulletin_<YYYY-MM>.html and its chart PNGs into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = {"trend": f"bulletin_{data.key}_trend.png", "groups": f"bulletin_{data.key}_groups.png"}
    charts.trend(data.history, out_dir / names["trend"])
    ctx = context(data, workbook_name, names, explanations)
    charts.groups([{"id": g["id"], "name": g["name"], "points": g["points"], "score": g["score"]}
                   for g in ctx["groups"]], out_dir / names["groups"])
    if "I03" in ctx["district_ids"]:
        names["districts"] = f"bulletin_{data.key}_districts.png"
        charts.districts([(d["name"], (data.district_rows.get(d["code"], {}).get("I03") or {}).get("value"))
                          for d in ctx["districts"]], "各区县双公示信息质量（I03）", out_dir / names["districts"])
    html = _environment().get_template("bulletin.html.j2").render(**ctx)
    path = out_dir / f"bulletin_{data.key}.html"
    path.write_text(html, encoding="utf-8")
    return {"path": path, "charts": [out_dir / n for n in names.values()], "html": html}


def build(data: ReportData, out_dir: Path, workbook_name: str, with_pdf: bool = True,
          explanations: dict[str, Path] | None = None) -> dict:
    """HTML, charts, PDF and the PNG of page 1; returns the paths with sizes and SHA-256s. `explanations`
    (id → explain/<ID>.csv, reports/explanations.py): the warnings link to them."""
    done = build_html(data, out_dir, workbook_name, explanations)
    files = [done["path"], *done["charts"]]
    if with_pdf:
        pdf_path = pdf.html_to_pdf(done["path"], out_dir / f"bulletin_{data.key}.pdf")
        png_path = pdf.first_page_png(pdf_path, out_dir / f"bulletin_{data.key}_page1.png")
        files += [pdf_path, png_path]
    return {"path": done["path"], "files": {p.name: {"path": p, "bytes": p.stat().st_size,
                                                      "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                                             for p in files}}
