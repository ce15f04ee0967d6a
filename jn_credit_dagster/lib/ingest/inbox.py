"""The inbox layout of FEEDS.md: <inbox>/<unit>/<YYYY-MM>/<feed>.<YYYYMMDD>[.<n>].<csv|xlsx|json>.

The inbox is a boundary. Only regular files under it are deliveries with content; the scan looks
at every path with lstat alone and never follows a link, opens a pipe or a device, or descends
into a linked folder. Such a path is still listed, as a Delivery without content (`kind` other
than "file") and a problem, so that nothing in the inbox goes unreported.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from jn_credit_dagster.lib.ingest import limits as limits_

FILE_NAME = re.compile(r"^(?P<feed>[a-z][a-z0-9_]*)\.(?P<date>\d{8})(?:\.(?P<n>[1-9]\d*))?\.(?P<ext>csv|xlsx|json)$")
MONTH_FOLDER = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_SEQ = 2**31 - 1  # the ledger's seq is a PostgreSQL integer

# kind of a path, from its lstat: only "file" has content that may be read
KINDS = ((stat.S_ISREG, "file"), (stat.S_ISLNK, "link"), (stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "pipe"),
         (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device"))
NOT_A_FILE = {"link": "a link, not a regular file", "folder": "a folder, not a file",
              "pipe": "a named pipe, not a regular file", "socket": "a socket, not a regular file",
              "device": "a device, not a regular file", "other": "not a regular file"}


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
    problem: tuple[str, str] | None = None  # (reason code, one-line reason) when the path breaks the contract
    kind: str = "file"  # file | link | folder | pipe | socket | device | other (from lstat)

    @property
    def has_content(self) -> bool:
        """Only a regular file may be opened, hashed or archived."""
        return self.kind == "file"

    @property
    def still_arriving(self) -> bool:
        return self.problem is not None and self.problem[0] == "still_arriving"

    @property
    def order(self):
        """Deliveries are ordered by delivery date, then month folder, then .n (FEEDS.md)."""
        return (self.delivery_date or dt.date.min, self.month or dt.date.min, self.seq, self.unit, self.rel)


def parse_month(text: str) -> dt.date:
    if not MONTH_FOLDER.match(text):
        raise ValueError(f"month must be YYYY-MM, got {text!r}")
    return dt.date(int(text[:4]), int(text[5:7]), 1)


def kind_of(mode: int) -> str:
    return next((kind for test, kind in KINDS if test(mode)), "other")


def _place(path: Path, inbox: Path) -> tuple[str, str, dt.date | None]:
    rel_parts = path.relative_to(inbox).parts
    month = parse_month(rel_parts[1]) if len(rel_parts) == 3 and MONTH_FOLDER.match(rel_parts[1]) else None
    return "/".join(rel_parts), rel_parts[0], month


def describe(path: Path, inbox: Path, known_feeds: set[str]) -> Delivery:
    """What a file's place and name say about it."""
    rel, unit, month = _place(path, inbox)
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
    if len(match["n"] or "") > 10 or int(match["n"] or 1) > MAX_SEQ:
        return Delivery(path, rel, unit, month, match["feed"], delivered, fmt=match["ext"],
                        problem=("bad_name", f"delivery number too large (at most {MAX_SEQ})"))
    delivery = Delivery(path, rel, unit, month, match["feed"], delivered, int(match["n"] or 1), match["ext"])
    if delivery.feed not in known_feeds:
        return Delivery(path, rel, unit, month, delivery.feed, delivered, delivery.seq, delivery.fmt,
                        problem=("unknown_feed", f"unknown feed {delivery.feed!r}"))
    return delivery


def _not_a_file(path: Path, inbox: Path, kind: str, known_feeds: set[str]) -> Delivery:
    """A path that is not a regular file: never opened; a link's target is read, never followed."""
    named = describe(path, inbox, known_feeds)  # the name still says which feed and month it claims
    parts = path.relative_to(inbox).parts
    month = named.month
    if len(parts) == 2 and MONTH_FOLDER.match(parts[1]):  # a month folder that is not a real folder
        month = parse_month(parts[1])
    problem = ("not_a_file", NOT_A_FILE[kind])
    if kind == "link":
        try:
            target = Path(os.path.realpath(path))  # resolves names only; opens nothing
        except (OSError, RuntimeError):
            target = None
        if target is None or not target.is_relative_to(inbox):
            problem = ("outside_inbox", "a link to a path outside the inbox")
    return Delivery(named.path, named.rel, named.unit, month, named.feed, named.delivery_date, named.seq,
                    named.fmt, problem, kind)


def _entries(folder: Path):
    """(path, lstat) of a folder's entries, sorted by name; a folder that vanished has none."""
    try:
        with os.scandir(folder) as it:
            found = sorted((e.name, e) for e in it)
    except (FileNotFoundError, NotADirectoryError):
        return
    for _, entry in found:
        try:
            yield Path(entry.path), entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue


def tree(folder: Path):
    """(path, lstat) of every path under `folder`, depth first in name order; links never followed."""
    for path, st in _entries(folder):
        yield path, st
        if stat.S_ISDIR(st.st_mode):
            yield from tree(path)


def _walk(folder: Path, inbox: Path, known_feeds: set[str], settle: float):
    """Every path under a real (not linked) folder, none of them followed."""
    for path, st in _entries(folder):
        kind = kind_of(st.st_mode)
        if kind == "folder":
            if FILE_NAME.match(path.name):  # a folder named like a delivery is reported, then looked into
                yield _not_a_file(path, inbox, kind, known_feeds)
            yield from _walk(path, inbox, known_feeds, settle)
        elif kind != "file":
            yield _not_a_file(path, inbox, kind, known_feeds)
        else:
            d = describe(path, inbox, known_feeds)
            if settle > 0 and abs(time.time() - st.st_mtime) < settle:
                d = Delivery(d.path, d.rel, d.unit, d.month, d.feed, d.delivery_date, d.seq, d.fmt,
                             ("still_arriving", f"modified less than {settle:g} s ago: left for the next run"))
            yield d


def scan(inbox: Path, known_feeds: set[str], month: dt.date | None = None,
         settle_seconds: float | None = None) -> list[Delivery]:
    """Every path in unit folders (files at the inbox root, like manifest.json, are not deliveries;
    a link at the root may be a linked unit folder and is reported).

    With `month`, only that month's folders; else everything. A regular file modified less than
    `settle_seconds` ago (default: Limits.settle_seconds, JN_CREDIT_SETTLE_SECONDS) has the problem
    `still_arriving`. Sorted in delivery order.
    """
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} is not a folder")
    inbox = Path(os.path.realpath(inbox))  # the configured root itself may be reached through a link
    settle = limits_.current().settle_seconds if settle_seconds is None else settle_seconds
    found = []
    for unit_dir, st in _entries(inbox):
        kind = kind_of(st.st_mode)
        if kind == "link":
            found.append(_not_a_file(unit_dir, inbox, kind, known_feeds))
        if kind != "folder":
            continue
        if month is None:
            found += _walk(unit_dir, inbox, known_feeds, settle)
            continue
        month_dir = unit_dir / f"{month:%Y-%m}"
        try:
            month_kind = kind_of(month_dir.lstat().st_mode)
        except FileNotFoundError:
            continue
        if month_kind == "folder":
            found += _walk(month_dir, inbox, known_feeds, settle)
        else:
            found.append(_not_a_file(month_dir, inbox, month_kind, known_feeds))
    return sorted(found, key=lambda d: d.order)


def stray(inbox: Path, known_feeds: set[str]) -> list[Delivery]:
    """Paths of unit folders that no month folder holds: no month partition will ever read them."""
    return [d for d in scan(inbox, known_feeds) if d.month is None]
