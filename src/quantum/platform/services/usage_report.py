"""Reading the usage log: the admin's paged call log and the per-day, per-api-id
summary (calls, success rate, average and p95 latency, errors)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from quantum.platform.db.models import ApiUsage


@dataclass(frozen=True)
class UsageFilter:
    since: datetime | None = None
    until: datetime | None = None
    user_id: str | None = None
    api_id: str | None = None
    success: bool | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.since is not None:
            query = query.where(ApiUsage.usage_timestamp >= self.since)
        if self.until is not None:
            query = query.where(ApiUsage.usage_timestamp < self.until)
        if self.user_id is not None:
            query = query.where(ApiUsage.user_id == self.user_id)
        if self.api_id is not None:
            query = query.where(ApiUsage.api_id == self.api_id)
        if self.success is not None:
            query = query.where(ApiUsage.success.is_(self.success))
        return query


@dataclass
class UsageGroup:
    day: date
    api_id: str
    calls: int = 0
    successes: int = 0
    latencies: list[float] = field(default_factory=list)
    error_codes: Counter[str] = field(default_factory=Counter)

    @property
    def success_rate(self) -> float:
        return self.successes / self.calls if self.calls else 0.0

    @property
    def average_ms(self) -> float:
        return sum(self.latencies) / len(self.latencies) if self.latencies else 0.0

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies, 95.0)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the value at or above ``pct`` % of the samples)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


class UsageReports:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def log(
        self, where: UsageFilter, *, offset: int, limit: int
    ) -> tuple[list[ApiUsage], int]:
        async with self._sessions() as session:
            total = await session.scalar(where.apply(select(func.count(ApiUsage.id))))
            rows = await session.scalars(
                where.apply(select(ApiUsage))
                .order_by(ApiUsage.usage_timestamp.desc(), ApiUsage.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [row for row in rows if isinstance(row, ApiUsage)], int(total or 0)

    async def summary(self, where: UsageFilter) -> list[UsageGroup]:
        """Groups by UTC day and api-id, newest day first."""
        groups: dict[tuple[date, str], UsageGroup] = defaultdict(lambda: UsageGroup(date.min, ""))
        query = where.apply(select(ApiUsage)).with_only_columns(
            ApiUsage.usage_timestamp,
            ApiUsage.api_id,
            ApiUsage.response_time_ms,
            ApiUsage.success,
            ApiUsage.error_code,
        )
        async with self._sessions() as session:
            result = await session.stream(query)
            async for stamp, api_id, latency, success, error_code in result:
                key = (stamp.date(), api_id)
                group = groups[key]
                if group.calls == 0:
                    group.day, group.api_id = key
                group.calls += 1
                group.latencies.append(float(latency))
                if success:
                    group.successes += 1
                else:
                    group.error_codes[error_code or "unknown"] += 1
        return sorted(groups.values(), key=lambda g: (-g.day.toordinal(), g.api_id))
