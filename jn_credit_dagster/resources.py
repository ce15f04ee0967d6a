"""Resources: the warehouse (PostgreSQL) and the inbox folder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dagster as dg

from .lib import database, paths


class Warehouse(dg.ConfigurableResource):
    """PostgreSQL: `database_url`, else DATABASE_URL, else the embedded server under JN_CREDIT_HOME."""

    database_url: str | None = None

    def url(self) -> str:
        return database.resolve_url(self.database_url)

    @contextlib.contextmanager
    def transaction(self):
        with database.transaction(self.url()) as cursor:
            yield cursor

    def archive_dir(self) -> Path:
        return paths.home() / "archive"


class Inbox(dg.ConfigurableResource):
    """The inbox folder of FEEDS.md: `path`, else JN_CREDIT_INBOX."""

    path: str | None = None

    def root(self) -> Path:
        folder = self.path or os.environ.get("JN_CREDIT_INBOX")
        if not folder:
            raise dg.Failure("no inbox: set JN_CREDIT_INBOX or pass --inbox", allow_retries=False)
        root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise dg.Failure(f"inbox {root} is not a folder", allow_retries=False)
        return root
