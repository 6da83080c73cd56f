"""settle_heap: what start-up built is left out of later full collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from quantum.eventloop import settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_start_up_objects_are_frozen_and_young_collections_are_rarer(restored_gc: None) -> None:
    kept = [{"listing": n} for n in range(1000)]  # what a server keeps from start-up
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold()[0] > 700  # CPython's default: a collection every 700 allocations
