"""An iterator run ahead on a thread of its own: the next item is made while this one is used.

The file reader (Arrow's parse, releasing the GIL) then works on one core while the judge works
on the other. At most `depth` items wait, so memory stays bounded. Whatever the iterator raises
is raised where the items are taken, in order; closing stops the thread and closes the iterator
on it (a generator's `finally` runs on the thread that ran it).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

_ITEM, _END, _ERROR = range(3)


class Prefetched:
    def __init__(self, items: Iterable, depth: int = 1, name: str = "prefetch"):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iter(items),), name=name, daemon=True)
        self._thread.start()

    def _run(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._offer((_ITEM, item)):
                    return
            self._offer((_END, None))
        except BaseException as e:  # noqa: BLE001 - handed to the taking side
            self._offer((_ERROR, e))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _offer(self, entry: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator:
        while True:
            kind, value = self._queue.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value

    def close(self) -> None:
        """Stop early (or after the end): the thread and the iterator finish before this returns."""
        self._stop.set()
        while self._thread.is_alive():
            try:  # make room for an item the thread is offering
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.05)
        while not self._queue.empty():  # an error left untaken keeps the iterator's frames alive
            self._queue.get_nowait()

    def __enter__(self) -> Prefetched:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
