"""Benchmark the sample-data generator: wall time, size on disk, peak RSS.

    python bench/generate.py --scale city --months 2020-01:2020-12 [--seed 0] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from jn_credit_dagster.generate import generate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=("small", "city"), default="small")
    ap.add_argument("--months", default="2020-01:2020-12", help="YYYY-MM:YYYY-MM")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, help="processes generating months side by side (default: auto)")
    ap.add_argument("--out", type=Path, help="inbox to write (default: a temporary directory, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary inbox")
    args = ap.parse_args()
    first, last = args.months.split(":")
    base = Path(tempfile.mkdtemp(prefix="jn-gen-"))
    inbox = args.out or base / "inbox"

    # sample RSS while running, this process plus its month workers together
    proc, peak, stop = psutil.Process(), [0], threading.Event()

    def sample():
        while not stop.wait(0.5):
            total = 0
            for p in [proc, *proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total)
    threading.Thread(target=sample, daemon=True).start()

    started = time.monotonic()
    manifest = generate(inbox, first, last, scale=args.scale, seed=args.seed, workers=args.workers,
                        progress=lambda msg: print(f"  {msg}", flush=True))
    elapsed = time.monotonic() - started
    stop.set()
    files = [p for p in inbox.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    rows = sum(d["rows"] or 0 for d in manifest["deliveries"])
    max_rss = max(peak[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    print(f"scale={args.scale} months={args.months} seed={args.seed}")
    print(f"time        {elapsed:,.1f} s")
    print(f"files       {len(files):,}  rows {rows:,}  row defects {len(manifest['row_defects']):,}")
    print(f"size        {size / 2**20:,.1f} MiB on disk")
    print(f"peak RSS    {max_rss / 2**20:,.0f} MiB (all processes together)")
    if args.out is None and not args.keep:
        shutil.rmtree(base)
    elif args.out is None:
        print(f"inbox       {inbox}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
