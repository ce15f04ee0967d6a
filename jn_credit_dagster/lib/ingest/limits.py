"""What one delivered file may cost: every guard of the readers and the inbox, with its setting.

Each limit has a sane default and an environment override `JN_CREDIT_<FIELD NAME IN CAPITALS>`
(e.g. JN_CREDIT_MAX_FILE_BYTES=2147483648, JN_CREDIT_SETTLE_SECONDS=0). A file over a limit is
rejected with the limit's own reason code; no limit ever fails more than that one file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    # the inbox: a file modified less than this long ago is still arriving and left for the next run
    settle_seconds: float = 60.0
    # too_large: bytes of a delivered file
    max_file_bytes: int = 1024 * MiB
    # too_wide: columns of a header, empty trailing cells not counted (PostgreSQL allows 1,600 per
    # table, and the staging table adds its own columns to the feed's)
    max_columns: int = 1000
    # field_too_large: characters of one CSV field or .xlsx cell, encoded bytes of one JSON string
    # or bare JSON token (a JSON string's bytes are never fewer than its characters)
    max_field_size: int = 1 * MiB
    # row_too_large: characters of one CSV record (all its lines), or values in one JSON object
    max_row_size: int = 32 * MiB
    max_item_values: int = 100_000
    # too_deep: nesting of a JSON file (the array of objects is 2)
    max_json_depth: int = 32
    # xlsx_bomb: from the zip directory, before any XML is parsed. openpyxl holds the shared strings
    # in memory as Python objects (several times their XML size); a big member must not inflate
    # more than max_xlsx_ratio times its compressed size.
    max_xlsx_uncompressed: int = 1024 * MiB
    max_xlsx_shared_strings: int = 96 * MiB
    max_xlsx_ratio: int = 100
    xlsx_ratio_from: int = 16 * MiB  # members smaller than this may compress as well as they like
    # too_many_rows: data records of one file
    max_rows: int = 10_000_000
    # memory_guard: growth of the process's resident memory while one file is read, checked every
    # memory_check_rows records
    max_read_memory: int = 512 * MiB
    memory_check_rows: int = 2000

    @classmethod
    def from_env(cls, environ=None) -> Limits:
        """Defaults, each overridden by JN_CREDIT_<NAME> when set (a bad value is a loud error)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"JN_CREDIT_{f.name.upper()}")
            if raw is not None and raw.strip():
                kind = float if f.type in ("float", float) else int
                try:
                    values[f.name] = kind(raw)
                except ValueError:
                    raise ValueError(f"JN_CREDIT_{f.name.upper()}={raw!r} is not a number") from None
        return cls(**values)


def current() -> Limits:
    """The limits in force now (read from the environment at each call: tests and runs set it)."""
    return Limits.from_env()
