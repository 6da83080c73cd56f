"""bench._metrics: a histogram's quantile over a measured window, from two scrapes."""

from __future__ import annotations

import math

from bench._metrics import histograms, total, window_quantile
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

BOUNDS = (0.001, 0.002, 0.005)


def exposition(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_the_window_leaves_out_what_came_before_it() -> None:
    registry = CollectorRegistry()
    stages = Histogram("demo_seconds", "demo", ["stage"], buckets=BOUNDS, registry=registry)
    for _ in range(100):
        stages.labels("fast").observe(0.0045)  # before the window: all slow
    before = exposition(registry)
    for seconds in (0.0012, 0.0014, 0.0016, 0.0018):
        stages.labels("fast").observe(seconds)
    stages.labels("new").observe(0.0015)
    after = histograms(exposition(registry), "demo_seconds", "stage")
    earlier = histograms(before, "demo_seconds", "stage")

    # four observations in (1, 2] ms: the median is the bucket's middle
    assert math.isclose(window_quantile(earlier["fast"], after["fast"], 0.5), 0.0015)
    assert math.isclose(window_quantile(earlier["fast"], after["fast"], 1.0), 0.002)
    # a label first seen inside the window
    assert window_quantile(earlier.get("new"), after["new"], 0.5) <= 0.002
    # the same scrape twice: nothing observed
    assert math.isnan(window_quantile(earlier["fast"], earlier["fast"], 0.5))


def test_beyond_the_last_bucket_the_bound_is_all_that_is_known() -> None:
    registry = CollectorRegistry()
    late = Histogram("late_seconds", "demo", ["stage"], buckets=BOUNDS, registry=registry)
    late.labels("slow").observe(1.0)
    buckets = histograms(exposition(registry), "late_seconds", "stage")
    assert window_quantile(None, buckets["slow"], 0.5) == 0.005


def test_total_sums_every_label_set() -> None:
    registry = CollectorRegistry()
    calls = Counter("demo_calls", "demo", ["api_id"], registry=registry)
    calls.labels("kt10000").inc(3)
    calls.labels("ka10001").inc(2)
    assert total(exposition(registry), "demo_calls", "demo_calls_total") == 5
