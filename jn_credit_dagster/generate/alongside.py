"""Generate the sample city in a child process, month by month, while the caller runs its months.

The demo's first month can start once that month's folders are written, not all twelve: generating
is one core's work, a month's run mostly the other's. The child writes exactly what `generate` writes
(same seed, same files); the caller waits for a month only when it needs it.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from pathlib import Path

from .run import generate


class Alongside:
    def __init__(self, inbox: Path, first_month: str, last_month: str, **options):
        context = mp.get_context("fork")
        self._messages, write = context.Pipe(duplex=False)
        self._child = context.Process(target=_generate, args=(write, Path(inbox), first_month, last_month, options),
                                      name="jn-credit-generate", daemon=True)
        self._child.start()
        write.close()  # the child holds the only writing end: its death is our EOF
        self.ready: set[str] = set()
        self.seconds: float | None = None  # the child's, from start to manifest

    def wait(self, month: str) -> None:
        """Return once `month`'s folders are complete; raise if the generator failed or died first."""
        while month not in self.ready:
            self._receive(f"before {month}")

    def finish(self) -> float:
        """Wait for the whole sample (its manifest included); the seconds it took."""
        while self.seconds is None:
            self._receive("before its manifest")
        return self.seconds

    def _receive(self, when: str) -> None:
        try:
            kind, value = self._messages.recv()
        except EOFError:
            self._child.join()
            raise RuntimeError(f"the sample generator ended {when} (exit code {self._child.exitcode})") from None
        if kind == "month":
            self.ready.add(value)
        elif kind == "done":
            self.seconds = value
        else:
            raise RuntimeError(f"generating the sample city failed: {value}")

    def close(self) -> None:
        if self._child.is_alive():
            self._child.terminate()
        self._child.join()
        self._messages.close()


def _generate(write, inbox: Path, first_month: str, last_month: str, options: dict) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the caller, which stops us (close)
    started = time.monotonic()
    try:
        generate(inbox, first_month, last_month, workers=1, month_done=lambda m: write.send(("month", m)), **options)
        write.send(("done", time.monotonic() - started))
    except Exception as exc:  # noqa: BLE001 - reported to the caller, which raises it
        write.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        write.close()
