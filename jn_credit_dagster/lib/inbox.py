"""The inbox layout of FEEDS.md: <inbox>/<unit>/<YYYY-MM>/<feed>.<YYYYMMDD>[.<n>].<csv|xlsx|json>."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = re.compile(r"^(?P<feed>[a-z][a-z0-9_]*)\.(?P<date>\d{8})(?:\.(?P<n>[1-9]\d*))?\.(?P<ext>csv|xlsx|json)$")
MONTH_FOLDER = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Delivery:
    path: Path
    rel: str  # path relative to the inbox, as the ledger and reports show it
    unit: str
    month: dt.date | None  # the month folder; None for a file outside any month folder
    feed: str | None = None
    delivery_date: dt.date | None = None
    seq: int = 1  # `.n`; a name without it counts as 1
    fmt: str | None = None
    problem: tuple[str, str] | None = None  # (reason code, one-line reason) when the name breaks the contract

    @property
    def order(self):
        """Deliveries are ordered by delivery date, then month folder, then .n (FEEDS.md)."""
        return (self.delivery_date or dt.date.min, self.month or dt.date.min, self.seq, self.unit, self.rel)


def parse_month(text: str) -> dt.date:
    if not MONTH_FOLDER.match(text):
        raise ValueError(f"month must be YYYY-MM, got {text!r}")
    return dt.date(int(text[:4]), int(text[5:7]), 1)


def describe(path: Path, inbox: Path, known_feeds: set[str]) -> Delivery:
    """What a file's place and name say about it."""
    rel_parts = path.relative_to(inbox).parts
    rel = "/".join(rel_parts)
    unit = rel_parts[0]
    month = parse_month(rel_parts[1]) if len(rel_parts) == 3 and MONTH_FOLDER.match(rel_parts[1]) else None
    if month is None:
        return Delivery(path, rel, unit, None, problem=("bad_name", "not in a <unit>/<YYYY-MM>/ folder"))
    match = FILE_NAME.match(path.name)
    if not match:
        return Delivery(path, rel, unit, month,
                        problem=("bad_name", "name is not <feed>.<YYYYMMDD>[.<n>].<csv|xlsx|json>"))
    try:
        delivered = dt.datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError:
        return Delivery(path, rel, unit, month, problem=("bad_name", f"delivery date {match['date']} is not a date"))
    delivery = Delivery(path, rel, unit, month, match["feed"], delivered, int(match["n"] or 1), match["ext"])
    if delivery.feed not in known_feeds:
        return Delivery(path, rel, unit, month, delivery.feed, delivered, delivery.seq, delivery.fmt,
                        problem=("unknown_feed", f"unknown feed {delivery.feed!r}"))
    return delivery


def scan(inbox: Path, known_feeds: set[str], month: dt.date | None = None) -> list[Delivery]:
    """Every file in unit folders (files at the inbox root, like manifest.json, are not deliveries).

    With `month`, only that month's folders; else everything. Sorted in delivery order.
    """
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} is not a folder")
    found = []
    for unit_dir in sorted(p for p in inbox.iterdir() if p.is_dir()):
        if month is not None:
            candidates = (unit_dir / f"{month:%Y-%m}").rglob("*")
        else:
            candidates = unit_dir.rglob("*")
        found += [describe(p, inbox, known_feeds) for p in candidates if p.is_file()]
    return sorted(found, key=lambda d: d.order)


def stray(inbox: Path, known_feeds: set[str]) -> list[Delivery]:
    """Files of unit folders that no month folder holds: no month partition will ever read them."""
    return [d for d in scan(inbox, known_feeds) if d.month is None]
