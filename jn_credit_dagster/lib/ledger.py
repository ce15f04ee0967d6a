"""The ingest ledger: one entry per distinct file content (SHA-256), loaded or rejected."""

from __future__ import annotations

import shutil
from pathlib import Path

from .inbox import Delivery


def first_path(cur, sha: str) -> str | None:
    cur.execute("SELECT path FROM ingest.ledger WHERE sha256 = %s", (sha,))
    row = cur.fetchone()
    return row[0] if row else None


def add_redelivery(cur, sha: str, rel: str) -> None:
    """A byte-identical copy is a no-op: only its path is noted on the original's entry."""
    cur.execute(
        "UPDATE ingest.ledger SET redeliveries = array_append(redeliveries, %s) "
        "WHERE sha256 = %s AND NOT %s = ANY(redeliveries) AND path <> %s", (rel, sha, rel, rel))


def archive(root: Path, d: Delivery, sha: str) -> str:
    """Rejected files are kept, content-addressed, whatever later happens to the inbox."""
    target = root / sha[:2] / sha / d.path.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(d.path, target)
    return str(target)


def record(cur, *, asset: str, d: Delivery, sha: str, status: str, archive_root: Path, encoding: str | None = None,
           rows: int = 0, accepted: int = 0, quarantined: int = 0, reason_code: str | None = None,
           reason: str | None = None, redeliveries: list[str] | None = None) -> None:
    archived = archive(archive_root, d, sha) if status == "rejected" else None
    cur.execute(
        """INSERT INTO ingest.ledger (sha256, asset, path, unit, feed, month, delivery_date, seq, format, encoding,
               bytes, rows, accepted, quarantined, status, reason_code, reason, archived_path, redeliveries)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (sha256) DO NOTHING""",
        (sha, asset, d.rel, d.unit, d.feed, d.month, d.delivery_date, d.seq, d.fmt, encoding, d.path.stat().st_size,
         rows, accepted, quarantined, status, reason_code, reason, archived, redeliveries or []))

