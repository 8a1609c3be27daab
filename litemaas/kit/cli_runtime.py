"""Running one async unit of work from a CLI command (engine, Redis, one transaction)."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import typer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.config import Settings, get_settings
from litemaas.db import create_engine, create_sessionmaker, session_scope
from litemaas.errors import LiteMaaSError
from litemaas.redis import create_redis

T = TypeVar("T")


@dataclass
class CliContext:
    settings: Settings
    session: AsyncSession
    redis: Redis | None
    operator: str


@asynccontextmanager
async def cli_context(settings: Settings | None = None) -> AsyncIterator[CliContext]:
    settings = settings or get_settings()
    if not settings.database_url:
        raise typer.BadParameter("LITEMAAS_DATABASE_URL is not set")
    engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
    redis = create_redis(settings.redis_url)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            yield CliContext(settings=settings, session=session, redis=redis, operator=f"cli:{getpass.getuser()}")
    finally:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()


def run(work: Callable[[CliContext], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` in one transaction; a LiteMaaSError becomes a clean CLI error (exit 1)."""

    async def main() -> T:
        async with cli_context(settings) as ctx:
            return await work(ctx)

    try:
        return asyncio.run(main())
    except LiteMaaSError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
