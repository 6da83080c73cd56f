"""The local Redis the scale-out tests use (127.0.0.1:6379, or ``QTP_TEST_REDIS_URL``);
a test that needs it is skipped loudly when it cannot be reached. Each test gets its
own key prefix, deleted afterwards, so tests never see each other's keys."""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as redis

REDIS_URL = os.environ.get("QTP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def reachable_redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        message = f"Redis at {REDIS_URL} cannot be reached ({exc!r}): test SKIPPED"
        warnings.warn(message, stacklevel=2)
        pytest.skip(message)
    return client


async def delete_prefix(client: redis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


@pytest_asyncio.fixture
async def redis_client() -> AsyncIterator[redis.Redis]:
    client = await reachable_redis()
    try:
        yield client
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def redis_prefix(redis_client: redis.Redis) -> AsyncIterator[str]:
    prefix = f"qtp-test-{secrets.token_hex(4)}:"
    try:
        yield prefix
    finally:
        await delete_prefix(redis_client, prefix)
