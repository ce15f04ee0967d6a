"""统一社会信用代码 (GB 32100-2015) and 身份证号 (GB 11643) check characters.

The same rules exist in SQL (sql/schema/010_functions.sql) for set-based validation;
tests keep the two in agreement.
"""

from __future__ import annotations

import datetime as dt

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def normalise_uscc(value: str) -> str:
    """Lower case and surrounding spaces are normalised, nothing else (FEEDS.md)."""
    return value.strip().upper()


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_valid(value: str | None) -> bool:
    if value is None:
        return False
    code = normalise_uscc(value)
    return (
        len(code) == 18
        and all(c in _USCC_VALUE for c in code)
        and code[2:8].isdigit()
        and uscc_check_char(code[:17]) == code[17]
    )


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def id_card_valid(value: str | None, today: dt.date | None = None) -> bool:
    """18 characters: area code, a real birth date not in the future, 3 digits, check char."""
    if value is None:
        return False
    code = value.strip().upper()
    if len(code) != 18 or not code[:17].isdigit():
        return False
    try:
        birth = dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    if birth > (today or dt.date.today()):
        return False
    return id_check_char(code[:17]) == code[17]
