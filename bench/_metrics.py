"""A service's ``/metrics`` read by a benchmark: counter totals, and histogram
quantiles over a measured window (the difference of two scrapes' buckets,
interpolated within a bucket as Prometheus's ``histogram_quantile`` does)."""

from __future__ import annotations

import math

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Buckets = list[tuple[float, float]]
"""(upper bound, cumulative count), in the exposition's order (ending with +Inf)."""


async def scrape(session: aiohttp.ClientSession) -> str:
    async with session.get("/metrics") as answer:
        answer.raise_for_status()
        return await answer.text()


def total(text: str, family_name: str, sample_name: str) -> float:
    """The sum of a family's samples of one name over every label set."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == family_name
        for sample in family.samples
        if sample.name == sample_name
    )


def histograms(text: str, family_name: str, by: str) -> dict[str, Buckets]:
    """A histogram's buckets per value of the label ``by``."""
    found: dict[str, Buckets] = {}
    for family in text_string_to_metric_families(text):
        if family.name != family_name:
            continue
        for sample in family.samples:
            if sample.name == f"{family_name}_bucket":
                bound = float(sample.labels["le"])
                found.setdefault(sample.labels[by], []).append((bound, sample.value))
    return found


def window_quantile(before: Buckets | None, after: Buckets, q: float) -> float:
    """The ``q`` quantile of what was observed between two scrapes (NaN: nothing)."""
    earlier = dict(before or [])
    counts = [(bound, count - earlier.get(bound, 0.0)) for bound, count in after]
    observed = counts[-1][1]
    if observed <= 0:
        return math.nan
    rank = q * observed
    lower, below = 0.0, 0.0
    for bound, count in counts:
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its bound is all we know
            share = (rank - below) / (count - below) if count > below else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return lower
