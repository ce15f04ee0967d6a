"""sql/schema/036_privacy.sql against lib/common/privacy.py: the SQL functions that mask the cells a server
renders itself (`jn-credit explain --format csv`, the bulletin's explanation files) give exactly what the
Python gives, on hand-picked tricky values and on a seeded fuzz of the characters the rules turn on; and
the character classes the SQL spells out are Python's `re` classes, code point by code point."""

from __future__ import annotations

import csv
import io
import random
import re

import pytest

from jn_credit_dagster.lib.common import database
from jn_credit_dagster.lib.common.identifiers import id_check_char, uscc_valid
from jn_credit_dagster.lib.common.privacy import mask_ids, mask_personal, mask_url, scrub
from jn_credit_dagster.lib.indicators import explain


def id_number(body17: str, valid: bool = True) -> str:
    check = id_check_char(body17)
    return body17 + (check if valid else "0" if check != "0" else "1")


def full_width(text: str) -> str:
    return text.translate(str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ"))


ID_X = next(id_number(f"3708111990030{n:04d}") for n in range(1000) if id_check_char(f"3708111990030{n:04d}") == "X")
ID = id_number("37081119850302123")
# a valid USCC of 18 digits that is shaped like an ID but has the wrong ID check character: readable
USCC_LIKE_ID = next(b + a + c for b in ["1211011919900101"] for a in "0123456789" for c in "0123456789"
                    if uscc_valid(b + a + c) and id_check_char(b + a) != c)

TRICKY = [
    None, "", " ", "\u3000", "\xa0", "abc", "2020-08-20", "中文",
    ID, ID_X, ID_X[:-1] + "x", id_number("37083019620101005", valid=False), USCC_LIKE_ID,
    "370811850302123",                      # 15 digits, old form
    "37081185030212X",                      # 14 digits and X: not the old form
    "370811851302123", "370811850232123",   # 15 digits, no month 13, no day 32
    "1234567890123456", "12345678901234567",  # 16, 17 digits
    "91370811MA3C5K7X06", "913708111043445881", "11370800004186532G",
    f"ID{ID}号", f"X{ID_X}X", f"{ID}{ID}", f"9{ID}", f"{ID}9", f"{ID[:10]} {ID[10:]}",
    f"a{ID}b{ID_X.lower()}c", f"amr/2020-08/penalty.{ID}.csv", "1" * 40, "12" + ID + "345",
    full_width(ID), full_width(ID_X), full_width(ID_X[:-1] + "x"), ID[:9] + full_width(ID[9:]),
    f"证件{full_width(ID)}；号", full_width("370811850302123"),
    "postgresql://user:s3cr%40t@db:5432/x", "postgresql://user@db/x", "x://a:b@c and y://d:e@f",
    "中postgresql://u:p@h", "_http://u:p@h", "é+http://u:p@h", "²http://u:p@h", "\u0301http://u:p@h",
    "host=db password=s3cret dbname=x", "PASSWORD = 'a b' x", "password='abc';", "password='abc",
    "password='abc def", "password=", "password=  ", "xpassword=1", "_password=1", "中password=1",
    "²password=1", "\u0301password=1", "paſſword=1", "PaSsWoRd\u3000=\u3000v", "password='a'password=b",
    "password=\xa0v", "password=1 password=2", f"password={ID}", f"postgresql://a:b@h/{ID}",
    "\t" + ID + "\n", "  G12345678 ", "AB1", "ABCD", "ABCDE", " \u3000x\u3000 ", "😀" * 6, "a\nb\r\nc",
]

ALPHABET = list("0123456789") * 4 + list("０１２３４５６７８９Xxｘ Ｘ=:/@'\"\t\n_-.+中é²\u0301\u3000\xa0ſa") + [
    "password", "PASSWORD", "://", "postgresql", ID, ID_X, "19900307", "370811"]


def fuzz(n: int, seed: int = 11) -> list[str]:
    r = random.Random(seed)
    return ["".join(r.choice(ALPHABET) for _ in range(r.randint(0, 12))) for _ in range(n)]


@pytest.fixture(scope="module")
def cur(database_url):
    database.ensure_schema(database_url)
    with database.transaction(database_url) as c:
        yield c


def sql_results(cur, function: str, values: list[str | None]) -> list[str | None]:
    cur.execute(f"SELECT jn.{function}(v) FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n", (values,))
    return [r[0] for r in cur.fetchall()]


@pytest.mark.parametrize("function, python", [
    ("scrub", scrub),
    ("mask_ids", lambda v: None if v is None else mask_ids(v)),
    ("mask_url", lambda v: None if v is None else mask_url(v)),
    ("mask_personal", lambda v: None if v is None else mask_personal(v)),
])
def test_the_sql_masks_as_python_does(cur, function, python):
    values = TRICKY + fuzz(4000)
    got = sql_results(cur, function, values)
    wrong = [(v, g, python(v)) for v, g in zip(values, got) if g != python(v)]
    assert not wrong, wrong[:10]
    assert any(python(v) != v for v in values if v)  # the corpus does exercise the masking


@pytest.mark.parametrize("function, pattern", [("privacy_word_chars", r"\w"), ("privacy_space_chars", r"\s")])
def test_the_spelled_out_classes_are_pythons(cur, function, pattern):
    cur.execute(f"SELECT array_agg(i ORDER BY i) FROM generate_series(1, 1114111) i "
                f"WHERE (i < 55296 OR i > 57343) AND chr(i) ~ ('[' || jn.{function}() || ']')")
    assert cur.fetchone()[0] == [i for i in range(1, 0x110000)
                                 if not 0xD800 <= i <= 0xDFFF and re.match(pattern, chr(i))]


def test_the_stripped_spaces_are_pythons(cur):
    cur.execute("SELECT jn.privacy_spaces()")
    assert sorted(cur.fetchone()[0]) == [chr(i) for i in range(0x110000) if chr(i).isspace()]


def _record(cells) -> bytes:
    """One CSV record as COPY sends it: quoted where needed, ended by a newline."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()[:-2].encode("utf-8") + b"\n"


def test_every_explanation_record_that_needs_a_scrub_is_found():
    """explain.scrub_candidates, the explanation CSV's search for the records to scrub: every record with
    a value scrub changes has a candidate, most others none; and CsvRecords, scrubbing the candidates'
    cells, writes what csv.writer writes of the values scrubbed, in pieces cut anywhere."""
    # and ASCII digits with a full-width check character (the run's end is not the ID's)
    shaped_x = next(b + "X" for n in range(1000) if id_check_char(b := f"37081119850302{n:03d}") == "X")
    values = TRICKY + [shaped_x[:-1] + "Ｘ", shaped_x[:-1] + "ｘ", f"证{shaped_x[:-1]}Ｘ号"] + fuzz(4000, seed=12)
    r = random.Random(5)
    lines = [[r.choice(values) for _ in range(4)] for _ in range(3000)]  # a file's records are of one width
    records = [_record(line) for line in lines]
    found = [bool(list(explain.scrub_candidates(record))) for record in records]
    changed = [any(scrub(v) != (v or "") for v in line) for line in lines]
    assert not [line for line, f, c in zip(lines, found, changed) if c and not f]
    assert any(changed) and sum(found) < len(found)
    data = b"".join(records)
    for chunk in (1, 300, 1 << 20):
        out = io.BytesIO()
        writer = explain.CsvRecords(out, scrubbed=list(range(4)))
        for at in range(0, len(data), chunk):
            writer.write(data[at:at + chunk])
        writer.finish()
        expected = io.StringIO(newline="")
        csv.writer(expected).writerows([scrub(v) for v in line] for line in lines)
        assert out.getvalue() == expected.getvalue().encode("utf-8"), chunk
