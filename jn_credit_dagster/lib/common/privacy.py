"""What may leave the warehouse: personal ID numbers masked, passwords in URLs hidden.

The whole API (every report, export, CLI line, alert and Dagster metadata text goes through it):

- `mask_ids(text)`: every 身份证号-shaped run in `text` masked, wherever it stands.
- `mask_personal(value)`: a personal column's value (any 证件号码, not only a 身份证号) masked whole.
- `mask_url(text)`: the password of every `scheme://user:password@host` in `text` replaced by `***`.
- `scrub(value)`: both of the above on any value (None → ""); what free text should pass.

The rule (README "Privacy"): a run of digits (ASCII or full-width `０-９`), optionally ending in `X`/`x`,
is a 身份证号 when it has GB 11643's shape — an 18-character run: area code `[1-8]ddddd`, birth date
`(18|19|20)YYMMDD` with month 01-12 and day 01-31, 3 digits, a digit or X; the check character may be
wrong (a mistyped ID is still someone's) — or a 15-digit run of the old form (area code, `YYMMDD`, 3
digits). Letters around the run do not protect it (`ID370811…1039x`, `X370811…`, file and folder
names). A run longer than 18 that contains an ID-shaped window is masked whole (an ID glued to other
digits is still an ID). Only the first 3 and the last 2 characters are kept: `370*************1X`.
An 18-character run that is a valid 统一社会信用代码 and not a valid 身份证号 stays readable (USCCs are
not personal data); most USCCs (those starting `9`, or with letters) never match the shape anyway.
"""

from __future__ import annotations

import re
import unicodedata

from jn_credit_dagster.lib.common.identifiers import id_check_char, uscc_valid

_DIGIT = r"[0-9\uff10-\uff19]"
_RUN = re.compile(rf"{_DIGIT}+[Xx\uff38\uff58]?")
# Some run of 15 or more: only then can mask_ids change anything (most values, dates and amounts, have none).
_LONG_RUN = re.compile(rf"{_DIGIT}{{15}}|{_DIGIT}{{14}}[Xx\uff38\uff58]")
_ID18 = re.compile(r"[1-8]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]")
_ID15 = re.compile(r"[1-8]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}")
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)([^\s@/]+)(@)")
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def _ascii(run: str) -> str:
    if run.isascii():  # NFKC leaves ASCII as it is: only full-width digits need it
        return run.upper()
    return "".join(unicodedata.normalize("NFKC", c) for c in run).upper()


def _keep(run: str) -> str:
    return run[:3] + "*" * (len(run) - 5) + run[-2:]


def is_id_run(run: str) -> bool:
    """`run` (ASCII, upper case) is or contains a 身份证号 of either form."""
    if len(run) == 15:
        return bool(_ID15.fullmatch(run))
    if len(run) == 18 and _ID18.fullmatch(run):
        return not (uscc_valid(run) and id_check_char(run[:17]) != run[17])
    return len(run) > 18 and any(_ID18.fullmatch(run, i, i + 18) for i in range(len(run) - 17))


def mask_ids(text: str) -> str:
    """`text` with every 身份证号-shaped run masked to its first 3 and last 2 characters."""
    if not text or not _LONG_RUN.search(text):
        return text
    return _RUN.sub(lambda m: _keep(m.group(0)) if len(m.group(0)) >= 15 and is_id_run(_ascii(m.group(0)))
                    else m.group(0), text)


def mask_personal(value: str) -> str:
    """A personal identifier shown at all: first 3 and last 2 characters kept (4 or fewer: all hidden)."""
    value = value.strip()
    if len(value) <= 4:
        return "*" * len(value)
    return _keep(value)


def mask_url(text: str) -> str:
    """Passwords in URLs (`postgresql://u:***@host/db`) and in `password=…` keywords replaced by ***."""
    if not text:
        return text
    if "://" in text:  # each pattern needs its literal: ':/' and '=' have no case variants
        text = _URL_PASSWORD.sub(r"\1***\3", text)
    return _KEYWORD_PASSWORD.sub(r"\1***", text) if "=" in text else text


def scrub(value) -> str:
    """Any value as text that may leave the warehouse: IDs masked, passwords hidden."""
    text = "" if value is None else str(value)
    return mask_ids(mask_url(text))
