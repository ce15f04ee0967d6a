"""Where the project's declarative files and its local state live."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
FEED_SPECS = PROJECT_ROOT / "assets" / "feeds"
SUITES = PROJECT_ROOT / "expectations"
SQL = PROJECT_ROOT / "sql"


def home() -> Path:
    """Local state (embedded PostgreSQL, archive, Dagster instance): JN_CREDIT_HOME or ./.jn_credit."""
    return Path(os.environ.get("JN_CREDIT_HOME") or Path.cwd() / ".jn_credit").resolve()
