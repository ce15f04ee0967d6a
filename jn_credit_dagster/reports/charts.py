"""The bulletin's charts as PNG files (matplotlib, Agg), labelled in Chinese with an installed CJK font."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

CJK_FONTS = ("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
             "SimHei", "Microsoft YaHei")


@cache
def cjk_font() -> str:
    """The first installed CJK font (Debian: fonts-wqy-zenhei); a clear error when there is none."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    for path in font_manager.findSystemFonts():
        if "wqy" in path.lower() or "cjk" in path.lower():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    raise RuntimeError("no CJK font installed for the charts (apt-get install fonts-wqy-zenhei)")


def _style():
    plt.rcParams["font.family"] = [cjk_font(), "sans-serif"]
    # WenQuanYi Zen Hei has one weight ("medium"): matplotlib uses it for "normal" text, and would say so
    # on stderr for every label
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["svg.hashsalt"] = "jn-credit"


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def trend(history: list[tuple], path: Path) -> Path:
    """The total score over the last 12 months (a gap where a month is not computed)."""
    _style()
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    labels = [f"{m:%Y-%m}" for m, _ in history]
    values = [float("nan") if v is None else v for _, v in history]
    xs = list(range(len(labels)))
    ax.plot(xs, values, marker="o", color="#1f5fa8")
    ax.set_xticks(xs, labels)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    for x, v in zip(xs, values):
        if v == v:
            ax.annotate(f"{v:.1f}", (x, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("总分")
    ax.set_title("近 12 个月城市信用监测总分走势")
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _save(fig, path)


def groups(rows: list[dict], path: Path) -> Path:
    """Each second-level group: score against its points."""
    _style()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    names = [f"{r['id']} {r['name']}" for r in rows]
    ax.barh(names, [r["points"] for r in rows], color="#dde6f0", label="满分")
    ax.barh(names, [r["score"] for r in rows], color="#1f5fa8", label="得分")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title("二级指标得分")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def districts(rows: list[tuple[str, float | None]], title: str, path: Path) -> Path:
    """One indicator across the districts (a bar each; none where there is no value)."""
    _style()
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    ax.bar([n for n, _ in rows], [0 if v is None else v for _, v in rows], color="#4a8f5a")
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _save(fig, path)
