"""Print the bulletin's HTML to PDF with headless Chromium, and its first page to PNG with pdftoppm."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT = 120


def chromium() -> str:
    explicit = os.environ.get("JN_CREDIT_CHROMIUM")
    for name in ([explicit] if explicit else []) + list(CHROMIUM_CANDIDATES):
        found = shutil.which(name) if name else None
        if found:
            return found
    raise RuntimeError("Chromium is not installed (apt-get install chromium): the bulletin PDF cannot be printed")


def html_to_pdf(html: Path, pdf: Path) -> Path:
    browser = chromium()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jn-credit-chromium-") as profile:
        done = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
             html.resolve().as_uri()],
            capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"Chromium could not print {html.name} to PDF (exit {done.returncode}): {tail}")
    return pdf


def first_page_png(pdf: Path, png: Path, dpi: int = 80) -> Path:
    """Page 1 of the PDF as a PNG (poppler-utils' pdftoppm)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RuntimeError("pdftoppm is not installed (apt-get install poppler-utils): no PNG of the bulletin")
    png.parent.mkdir(parents=True, exist_ok=True)
    stem = png.with_suffix("")
    subprocess.run([tool, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem)],
                   check=True, capture_output=True, timeout=TIMEOUT)
    return png
