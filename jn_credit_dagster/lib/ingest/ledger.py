"""The ingest ledger: one entry per delivery — (unit, feed, month folder, SHA-256), FEEDS.md — and
one per path that holds no content to deliver (a link, a pipe, a folder named like a file)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from jn_credit_dagster.lib.ingest.inbox import Delivery


def archive(root: Path, d: Delivery, sha: str) -> str:
    """Rejected files are kept, content-addressed, whatever later happens to the inbox. Opened
    without following links: only the regular file that was hashed is copied."""
    target = root / sha[:2] / sha / d.path.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(d.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
    return str(target)


def record(cur, *, asset: str, d: Delivery, sha: str | None, status: str, archive_root: Path,
           encoding: str | None = None, size: int | None = None, rows: int = 0, accepted: int = 0,
           quarantined: int = 0, reason_code: str | None = None, reason: str | None = None,
           redeliveries: list[str] | None = None) -> bool:
    """Add the entry; False when the ledger has that delivery already."""
    archived = archive(archive_root, d, sha) if status == "rejected" and sha else None
    cur.execute(
        """INSERT INTO ingest.ledger (sha256, asset, path, unit, feed, month, delivery_date, seq, format, encoding,
               bytes, rows, accepted, quarantined, status, reason_code, reason, archived_path, redeliveries)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (unit, feed, month, sha256) WHERE sha256 IS NOT NULL DO NOTHING""",
        (sha, asset, d.rel, d.unit, d.feed, d.month, d.delivery_date, d.seq, d.fmt, encoding, size,
         rows, accepted, quarantined, status, reason_code, reason, archived, redeliveries or []))
    return cur.rowcount == 1


def earlier_redeliveries(cur, asset: str, month) -> dict[tuple, list[str]]:
    """Drop the month's entries of an asset before it is rebuilt, keeping the copies they noted."""
    cur.execute("DELETE FROM ingest.ledger WHERE asset = %s AND month IS NOT DISTINCT FROM %s "
                "RETURNING unit, feed, sha256, redeliveries", (asset, month))
    return {(unit, feed, sha): list(paths) for unit, feed, sha, paths in cur.fetchall() if sha}
