"""The generator's main loop: months × feeds × units → files in the inbox, defects → manifest."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import multiprocessing as mp
import os
import shutil
import time
from pathlib import Path
from typing import Callable

from .months import add_workdays, month_str, months_between, workdays_between, workdays_in_month
from .context import Ctx
from .deliveries import Batch, choose_format, choose_headers, choose_style
from .dirt import BULK_FEEDS, FILE_BREAKAGES, Env, Manifest, Rates, has_prohibited, inject
from .feeds import BUILDERS, DELIVERING, _bill_row
from .identities import Population
from .seeding import rng
from .spec import DUE, FEEDS
from .writers import FORMATS, Style, write, write_csv, write_xlsx

SCALES = {"small": 0.01, "city": 1.0}


def generate(inbox: Path, first_month: str, last_month: str, *, scale: str = "small", seed: int = 0,
             progress: Callable[[str], None] | None = None, rates: Rates | dict | None = None,
             workers: int | None = None, overwrite: bool = False,
             month_done: Callable[[str], None] | None = None) -> dict:
    """Write every feed of FEEDS.md for every month of the range into `inbox`; returns the manifest.
    `month_done(YYYY-MM)` is called, in month order, as soon as a month's folders are complete.

    Months are independent of each other (state feeds recompute their history from the seed), so
    `workers` processes may generate them side by side; the files and manifest are the same either
    way. Default: one process for a short `small` range, else up to four.
    The inbox must be new or empty; with `overwrite`, an inbox this generator wrote before (it has
    our manifest.json) is emptied first.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r} (small or city)")
    inbox = Path(inbox)
    if inbox.exists() and any(inbox.iterdir()):
        if not (overwrite and _generated_here(inbox)):
            raise FileExistsError(f"inbox {inbox} is not empty; generate into a new directory"
                                  + ("" if overwrite else " (or pass overwrite=True over an earlier sample)"))
        for child in inbox.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    inbox.mkdir(parents=True, exist_ok=True)
    rates = Rates.from_any(rates)
    months = months_between(first_month, last_month)
    ctx = Ctx(seed, scale, SCALES[scale], Population(seed, scale), months[0], rates)
    manifest = Manifest(seed, scale, [month_str(m) for m in months], rates)
    say = progress or (lambda _msg: None)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if scale == "city" or len(months) >= 6 else 1
    workers = max(1, min(workers, len(months)))
    if workers > 1 and "fork" in mp.get_all_start_methods():
        global _JOB
        _JOB = (ctx, inbox, say, time.monotonic())  # inherited by the forked workers
        try:
            with mp.get_context("fork").Pool(workers) as pool:
                for ym, part in zip(months, pool.imap(_month_job, months)):  # in month order: the manifest is the same
                    manifest.merge(part)
                    if month_done:
                        month_done(month_str(ym))
        finally:
            _JOB = None
    else:
        started = time.monotonic()
        for ym in months:
            manifest.merge(_generate_month(ctx, inbox, ym, say, started))
            if month_done:
                month_done(month_str(ym))
    with open(inbox / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest.data, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    return manifest.data


def _generated_here(inbox: Path) -> bool:
    try:
        with open(inbox / "manifest.json", encoding="utf-8") as fh:
            return json.load(fh).get("generator") == "jn_credit_dagster.generate"
    except (OSError, ValueError, AttributeError):
        return False


_JOB = None


def _month_job(ym):
    ctx, inbox, say, started = _JOB
    return _generate_month(ctx, inbox, ym, say, started)


def _generate_month(ctx: Ctx, inbox: Path, ym, say, started: float) -> dict:
    """One month: every feed from every unit, then the month's whole-file breakage."""
    part = Manifest(ctx.seed, ctx.scale, [], ctx.rates)
    namer = _Namer()
    files = rows = 0
    for feed in FEEDS.values():
        for unit in DELIVERING.get(feed.name, feed.units):
            batches = BUILDERS[feed.name](ctx, unit, ym, rng(ctx.seed, "plan", ym, unit, feed.name))
            if not batches:
                continue
            n_files, n_rows = _deliver(ctx, part, namer, inbox, ym, unit, feed, sorted(batches, key=lambda b: b.date))
            files, rows = files + n_files, rows + n_rows
            if n_rows >= 100_000:
                say(f"{month_str(ym)} {unit}/{feed.name}: {n_rows:,} rows ({time.monotonic() - started:.0f}s)")
    files += _break_files(ctx, part, namer, inbox, ym)
    say(f"{month_str(ym)}: {files} files, {rows:,} rows ({time.monotonic() - started:.0f}s)")
    return part.data


class _Namer:
    """<feed>.<YYYYMMDD>[.<n>].<ext>, n counting deliveries of a feed on one day."""

    def __init__(self):
        self.used: dict = {}

    def name(self, folder: Path, feed: str, day: dt.date, ext: str) -> Path:
        key = (folder, feed, day)
        n = self.used.get(key, 0) + 1
        self.used[key] = n
        return folder / (f"{feed}.{day:%Y%m%d}.{ext}" if n == 1 else f"{feed}.{day:%Y%m%d}.{n}.{ext}")


def _deliver(ctx: Ctx, manifest: Manifest, namer: _Namer, inbox: Path, ym, unit: str, feed, batches: list[Batch]) -> tuple[int, int]:
    seed, rates, month = ctx.seed, ctx.rates, month_str(ym)
    folder = inbox / unit / month
    keyed_event = feed.kind == "event" and bool(feed.key)
    dup_within = keyed_event or feed.name == "service_item"
    r_dirt = rng(seed, "dirt", ym, unit, feed.name)
    dirty_p = rates.bulk_dirty_row if feed.name in BULK_FEEDS else rates.dirty_row
    prohibited_p = rates.prohibited if has_prohibited(feed.name) else 0.0
    # bulk feeds: duplicates as rare as their other defects
    dup_p = rates.duplicate * (dirty_p / rates.dirty_row if rates.dirty_row else 1.0)
    carry: list[dict] = []  # clean rows to repeat in the next delivery (duplicate_key)
    to_correct: list[tuple] = []  # (clean row, file, row_no) quarantined here, re-sent later
    files = total = 0
    last_date = batches[-1].date
    queue = list(batches)
    while queue:
        batch = queue.pop(0)
        r_fmt = rng(seed, "format", ym, unit, feed.name, batch.date, len(queue))
        habit = list(FORMATS)[hash_unit(unit) % len(FORMATS)]
        expected = batch.expected_rows + len(carry) + len(to_correct)
        fmt = choose_format(r_fmt, habit, expected)
        style = choose_style(r_fmt, feed, ym, fmt)
        headers, columns = choose_headers(r_fmt, feed, rates.ascii_brackets)
        folder.mkdir(parents=True, exist_ok=True)
        path = namer.name(folder, feed.name, batch.date, FORMATS[fmt][0])
        rel = path.relative_to(inbox).as_posix()
        env = Env(r_dirt, batch.date, ym, unit)
        pending_in = [(row, {"correction_of": (f, n), "clean": True}) for row, f, n in to_correct] + \
                     [(row, {"duplicate": True, "clean": True}) for row in carry]
        carry, to_correct = [], []
        stats = {"rows": 0, "late_rows": 0}

        def stream():
            seen_later: list[tuple[int, dict]] = []  # (emit at row_no, row) duplicates within the file
            row_no = 0
            source = itertools.chain(pending_in, batch.rows())
            for row, meta in source:
                while seen_later and seen_later[0][0] <= row_no:
                    row_no += 1
                    yield _dup_row(manifest, seen_later.pop(0)[1], rel, row_no, month, unit, feed, columns)
                row_no += 1
                meta = meta or {}
                if meta.get("duplicate"):
                    manifest.add("row_defects", {"month": month, "unit": unit, "feed": feed.name, "file": rel,
                                                 "row_no": row_no, "kind": "duplicate_key",
                                                 "expected_reasons": ["duplicate_key"]}, "duplicate_key")
                elif meta.get("correction_of"):
                    f, n = meta["correction_of"]
                    manifest.add("corrections", {"month": month, "unit": unit, "feed": feed.name,
                                                 "key": {k: _plain(row.get(k)) for k in feed.key},
                                                 "original": {"file": f, "row_no": n},
                                                 "correction": {"file": rel, "row_no": row_no}}, "correction")
                elif not meta.get("clean"):
                    p = r_dirt.random()
                    if p < dirty_p + prohibited_p:
                        original = dict(row)
                        got = inject(feed.name, row, env, prohibited_only=p < prohibited_p)
                        if got:
                            kind, reasons = got
                            manifest.add("row_defects", {"month": month, "unit": unit, "feed": feed.name, "file": rel,
                                                         "row_no": row_no, "kind": kind,
                                                         "expected_reasons": reasons}, kind)
                            if keyed_event and all(original.get(k) == row.get(k) for k in feed.key) \
                                    and r_dirt.random() < rates.correction:
                                to_correct.append((original, rel, row_no))
                            meta["dirty"] = True
                    if not meta.get("dirty") and dup_within and r_dirt.random() < dup_p:
                        copy = dict(row)
                        if feed.name == "service_item":
                            copy["事项名称"] = copy["事项名称"] + "（重复）"
                        if keyed_event and r_dirt.random() < 0.4:
                            carry.append(copy)  # repeated in the next delivery
                        else:
                            seen_later.append((row_no + r_dirt.randint(0, 5), copy))
                if meta.get("state_update"):
                    entry = {"month": month, "unit": unit, "feed": feed.name, "kind": meta["state_update"],
                             "key": meta["key"], "file": rel, "row_no": row_no}
                    if meta.get("of_unit"):
                        entry["of_unit"] = meta["of_unit"]
                    manifest.add("state_updates", entry, meta["state_update"])
                if meta.get("finding"):
                    manifest.add("findings", {"month": month, "unit": unit, "feed": feed.name, "file": rel,
                                              "row_no": row_no, "kind": meta["finding"],
                                              "uscc": row["统一社会信用代码"], "same_code_as_row": row_no - 1},
                                 meta["finding"])
                if feed.name in ("license", "penalty"):
                    decided = row.get("许可决定日期" if feed.name == "license" else "处罚决定日期")
                    if isinstance(decided, dt.date) and decided <= batch.date and workdays_between(decided, batch.date) > 7:
                        stats["late_rows"] += 1
                row["__seq__"] = row_no
                yield row
            for _, copy in seen_later:
                row_no += 1
                yield _dup_row(manifest, copy, rel, row_no, month, unit, feed, columns)
            stats["rows"] = row_no

        gen = stream()
        first = next(gen, None)
        if first is None:  # nothing to deliver this time
            continue
        write(path, fmt, headers, columns, itertools.chain([first], gen), style)
        files += 1
        total += stats["rows"]
        entry = {"month": month, "unit": unit, "feed": feed.name, "file": rel, "format": fmt,
                 "encoding": FORMATS[fmt][1], "delivered": batch.date.isoformat(), "rows": stats["rows"],
                 "late": batch.date > dt.date(ym[0], ym[1], 25) if (unit, feed.name) in DUE else None}
        if feed.name in ("license", "penalty"):
            entry["rows_over_7_workdays"] = stats["late_rows"]
        manifest.add("deliveries", entry)
        if r_dirt.random() < rates.redelivery:
            again_day = batch.date if r_dirt.random() < 0.5 else add_workdays(batch.date, r_dirt.randint(1, 3))
            again = namer.name(folder, feed.name, again_day, FORMATS[fmt][0])
            shutil.copyfile(path, again)
            again_rel = again.relative_to(inbox).as_posix()
            manifest.add("redeliveries", {"month": month, "unit": unit, "feed": feed.name, "file": again_rel,
                                          "redelivery_of": rel}, "redelivery")
            manifest.add("deliveries", dict(entry, file=again_rel, delivered=again_day.isoformat(), redelivery_of=rel,
                                            late=(again_day > dt.date(ym[0], ym[1], 25)) if entry["late"] is not None else None))
            files += 1
        if not queue and to_correct:  # corrections of this month's quarantined rows: one more delivery
            day = add_workdays(max(batch.date, last_date), r_dirt.randint(1, 3))
            queue.append(Batch(day, lambda: iter(()), 0))
    return files, total


def _dup_row(manifest, copy, rel, row_no, month, unit, feed, columns):
    manifest.add("row_defects", {"month": month, "unit": unit, "feed": feed.name, "file": rel, "row_no": row_no,
                                 "kind": "duplicate_key", "expected_reasons": ["duplicate_key"]}, "duplicate_key")
    copy = dict(copy)
    copy["__seq__"] = row_no
    return copy


def _plain(v):
    return v.isoformat() if isinstance(v, dt.date) else v


def hash_unit(unit: str) -> int:
    return sum(ord(c) * (i + 7) for i, c in enumerate(unit))


# ---------------------------------------------------------------- whole-file breakage

def _break_files(ctx: Ctx, manifest: Manifest, namer: _Namer, inbox: Path, ym) -> int:
    r = rng(ctx.seed, "breakage", ym)
    month = month_str(ym)
    days = workdays_in_month(ym)
    n = 0
    for kind in FILE_BREAKAGES:
        if r.random() >= ctx.rates.file_breakage:
            continue
        day = r.choice(days)
        maker = _BREAKERS[kind]
        unit, feed, rel = maker(ctx, namer, inbox, ym, day, r)
        manifest.add("file_defects", {"month": month, "unit": unit, "feed": feed, "file": rel,
                                      "expected_rejection": kind}, kind)
        manifest.add("deliveries", {"month": month, "unit": unit, "feed": feed, "file": rel, "format": None,
                                    "encoding": None, "delivered": day.isoformat(), "rows": None, "late": None,
                                    "expected_rejection": kind})
        n += 1
    return n


def _folder(inbox, unit, ym):
    folder = inbox / unit / month_str(ym)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sample_bills(ctx, ym, n=5):
    return [_bill_row(ctx, "water_bill", ym, f"SW77{k:07d}", f"测试户{k}", None, 80.0, False) for k in range(n)]


def _sample_registry(ctx, ym, n=5):
    rows = []
    for j in range(n):
        s = ctx.pop.subject("91", j)
        rows.append({"统一社会信用代码": s.uscc, "主体名称": s.name, "主体类型": s.type_label, "法定代表人": s.rep,
                     "成立日期": s.established, "登记状态": "存续", "注销日期": None, "所属区县": s.district})
    return rows


def _style(ym):
    return Style(stamp=dt.datetime(ym[0], ym[1], 1, 8, 30))


def _unit_not_allowed(ctx, namer, inbox, ym, day, r):
    unit, feed, rows = r.choice((("gas", "water_bill", _sample_bills(ctx, ym)),
                                 ("approval", "registry", _sample_registry(ctx, ym)),
                                 ("power", "water_bill", _sample_bills(ctx, ym))))
    path = namer.name(_folder(inbox, unit, ym), feed, day, "csv")
    cols = list(FEEDS[feed].columns)
    write_csv(path, "utf-8", cols, cols, rows, _style(ym))
    return unit, feed, path.relative_to(inbox).as_posix()


def _unknown_feed(ctx, namer, inbox, ym, day, r):
    unit = r.choice(("fgw", "amr", "370883"))
    path = namer.name(_folder(inbox, unit, ym), r.choice(("credit_rating", "housing_fund", "license_old")), day, "csv")
    rows = [{"统一社会信用代码": s["统一社会信用代码"], "企业名称": s["主体名称"], "评级": "AAA"} for s in _sample_registry(ctx, ym, 3)]
    cols = ["统一社会信用代码", "企业名称", "评级"]
    write_csv(path, "utf-8-sig", cols, cols, rows, _style(ym))
    return unit, None, path.relative_to(inbox).as_posix()


def _unreadable(ctx, namer, inbox, ym, day, r):
    unit, feed = "amr", "registry"
    path = namer.name(_folder(inbox, unit, ym), feed, day, "xlsx")
    cols = list(FEEDS[feed].columns)
    tmp = path.with_name(path.name + ".tmp")
    write_xlsx(tmp, cols, cols, _sample_registry(ctx, ym), _style(ym))
    data = tmp.read_bytes()
    tmp.unlink()
    path.write_bytes(data[: len(data) // 2])  # an upload cut off half way
    return unit, feed, path.relative_to(inbox).as_posix()


def _empty(ctx, namer, inbox, ym, day, r):
    unit, feed = r.choice((("amr", "commitment"), ("370811", "activity"), ("civil", "commitment")))
    path = namer.name(_folder(inbox, unit, ym), feed, day, "csv")
    cols = list(FEEDS[feed].columns)
    write_csv(path, "gbk", cols, cols, [], _style(ym))
    return unit, feed, path.relative_to(inbox).as_posix()


def _missing_columns(ctx, namer, inbox, ym, day, r):
    unit, feed = "commerce", "logistics"
    path = namer.name(_folder(inbox, unit, ym), feed, day, "csv")
    cols = [c for c in FEEDS[feed].columns if c != "记录类型"]
    rows = [{"统一社会信用代码": s["统一社会信用代码"], "企业名称": s["主体名称"], "业务类型": "仓储",
             "记录日期": dt.date(ym[0], ym[1], 1), "记录内容": "取得仓储经营资质", "涉及金额（元）": None}
            for s in _sample_registry(ctx, ym, 4)]
    write_csv(path, "utf-8", cols, cols, rows, _style(ym))
    return unit, feed, path.relative_to(inbox).as_posix()


def _bad_name(ctx, namer, inbox, ym, day, r):
    unit, feed = "gas", "gas_bill"
    folder = _folder(inbox, unit, ym)
    name = r.choice((f"{feed}_{day:%Y%m%d}.csv", f"{feed}.{day:%Y-%m-%d}.csv", f"燃气缴费{day:%Y%m}.csv",
                     f"{feed}.{day:%Y%m}32.csv"))
    path = folder / name
    cols = list(FEEDS[feed].columns)
    write_csv(path, "utf-8", cols, cols, _sample_bills(ctx, ym, 3), _style(ym))
    return unit, feed, path.relative_to(inbox).as_posix()


_BREAKERS = {"unit_not_allowed": _unit_not_allowed, "unknown_feed": _unknown_feed, "unreadable": _unreadable,
             "empty": _empty, "missing_columns": _missing_columns, "bad_name": _bad_name}
