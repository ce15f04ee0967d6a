"""Prefetched: items in order, the producer's failure where the items are taken, an early stop
that ends the producer's thread and runs its generator's cleanup there."""

from __future__ import annotations

import threading

import pytest

from jn_credit_dagster.lib.ingest.prefetch import Prefetched


def test_items_in_order_then_the_failure():
    def produce():
        yield from range(5)
        raise ValueError("torn record")

    taken = []
    with Prefetched(produce()) as ahead, pytest.raises(ValueError, match="torn record"):
        for item in ahead:
            taken.append(item)
    assert taken == [0, 1, 2, 3, 4]


def test_an_early_stop_ends_the_producer_and_runs_its_cleanup():
    made, cleaned = [], threading.Event()

    def produce():
        try:
            for n in range(1_000_000):
                made.append(n)
                yield n
        finally:
            cleaned.set()

    ahead = Prefetched(produce(), depth=1)
    for item in ahead:
        if item == 2:
            break
    ahead.close()
    assert cleaned.is_set()
    assert not ahead._thread.is_alive()
    assert len(made) <= 5  # bounded look-ahead: the item taken, one waiting, one being offered
