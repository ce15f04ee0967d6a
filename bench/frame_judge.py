"""Speed of the vectorised judge alone: FrameJudge.judge (and copy_text) on N penalty rows.

Writes the N-row GBK `penalty` CSV of bench/ingest.py, reads it into Polars as text, then
judges it in chunks as the loader would. No database. Last line:
rows_per_s=<judge, wall> rows_per_cpu_s=<…> copy_text_rows_per_s=<…>
(the CPU figure holds when other work shares the machine)

    python bench/frame_judge.py --rows 1000000 --chunk 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from ingest import MONTH, UNIT, write_csv  # noqa: E402  (bench/ is a folder of scripts)

from jn_credit_dagster.lib.ingest.frame_judge import FrameJudge  # noqa: E402
from jn_credit_dagster.lib.ingest.specs import load_specs  # noqa: E402
from jn_credit_dagster.lib.ingest.suites import load_suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    args = parser.parse_args()
    spec = load_specs()["penalty"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "penalty.csv"
        t = time.perf_counter()
        write_csv(path, args.rows)
        print(f"wrote {args.rows} rows in {time.perf_counter() - t:.1f}s")
        text = path.read_bytes().decode("gbk").encode("utf-8")
    frame = pl.read_csv(io.BytesIO(text), infer_schema=False)
    frame = frame.rename({h: spec.match_header(h).name for h in frame.columns}).with_columns(
        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("row_no"), pl.lit(None, pl.String).alias("_malformed"))
    t = time.perf_counter()
    judge = FrameJudge(spec, load_suite("penalty"), dt.date.today())
    print(f"compiled in {time.perf_counter() - t:.2f}s")
    judge_s = copy_s = cpu_s = 0.0
    rejected = 0
    for offset in range(0, frame.height, args.chunk):
        chunk = frame.slice(offset, args.chunk)
        t, c = time.perf_counter(), time.process_time()
        judged = judge.judge(chunk, month=MONTH, delivery_date=dt.date(2099, 12, 20), unit=UNIT)
        judge_s += time.perf_counter() - t
        cpu_s += time.process_time() - c
        rejected += judged.filter(pl.col("_reasons").list.len() > 0).height
        t = time.perf_counter()
        judge.copy_text(judged.filter(pl.col("_reasons").list.len() == 0))
        copy_s += time.perf_counter() - t
    print(f"judged {frame.height} rows in {judge_s:.2f}s wall, {cpu_s:.2f}s CPU ({rejected} with reasons); "
          f"copy_text {copy_s:.2f}s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"rows_per_s={frame.height / judge_s:.0f} rows_per_cpu_s={frame.height / cpu_s:.0f} "
          f"copy_text_rows_per_s={frame.height / copy_s:.0f}")


if __name__ == "__main__":
    main()
