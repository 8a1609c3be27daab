"""The one runner for work outside a request: ``litemaas users|tokens|reconcile|models sync``.

It checks the settings the work needs, builds the database engine, Redis and (when asked)
the LiteLLM admin client once, runs the work in one transaction, and closes everything.
It wires LiteMaaS's own pieces together, so it lives here and not in the domain-free ``kit``.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar

import typer
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from litemaas.config import MissingSettings, Settings, get_settings, require_settings
from litemaas.db import create_engine, create_sessionmaker, session_scope
from litemaas.errors import LiteMaaSError
from litemaas.litellm_admin.client import LiteLLMAdminClient
from litemaas.litellm_admin.dependencies import create_client
from litemaas.logging import configure_logging
from litemaas.redis import create_redis

T = TypeVar("T")

# none: no LiteLLM client; optional: one when LITEMAAS_MASTER_KEY is set; required: refuse to start without.
LiteLLMNeed = Literal["none", "optional", "required"]

__all__ = ["CliContext", "LiteLLMNeed", "cli_context", "run"]


@dataclass(frozen=True)
class CliContext:
    """What one unit of command work gets."""

    settings: Settings
    # The work's transaction: committed when the work returns, rolled back if it raises.
    session: AsyncSession
    # For work that commits on its own schedule (reconcile: one transaction per user).
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    litellm: LiteLLMAdminClient | None
    operator: str

    @property
    def litellm_admin(self) -> LiteLLMAdminClient:
        """The LiteLLM admin client of work run with ``litellm="required"``."""
        if self.litellm is None:
            raise RuntimeError('this work needs LiteLLM: run it with litellm="required"')
        return self.litellm


@asynccontextmanager
async def cli_context(
    settings: Settings | None = None,
    *,
    litellm: LiteLLMNeed = "none",
    pool_size: int = 1,
    max_overflow: int = 0,
) -> AsyncIterator[CliContext]:
    """Engine, Redis and LiteLLM client for one command; ``MissingSettings`` before anything opens."""
    settings = settings or get_settings()
    required = ["database_url"] + (["master_key"] if litellm == "required" else [])
    require_settings(settings, *required, purpose="this command")
    database_url = settings.database_url or ""
    async with AsyncExitStack() as stack:
        engine = create_engine(database_url, pool_size=pool_size, max_overflow=max_overflow)
        stack.push_async_callback(engine.dispose)
        redis = create_redis(settings.redis_url)
        if redis is not None:
            stack.push_async_callback(redis.aclose)
        client = None
        if litellm != "none" and settings.master_key is not None:
            client = await stack.enter_async_context(create_client(settings))
        sessionmaker = create_sessionmaker(engine)
        session = await stack.enter_async_context(session_scope(sessionmaker))
        yield CliContext(
            settings=settings,
            session=session,
            sessionmaker=sessionmaker,
            redis=redis,
            litellm=client,
            operator=f"cli:{getpass.getuser()}",
        )


def run(
    work: Callable[[CliContext], Awaitable[T]],
    settings: Settings | None = None,
    *,
    litellm: LiteLLMNeed = "none",
    pool_size: int = 1,
    max_overflow: int = 0,
) -> T:
    """Run ``work`` in one transaction; missing settings exit 2, a LiteMaaSError exits 1, both with one line."""

    try:
        effective = settings or get_settings()
    except ValidationError as exc:
        typer.echo(f"invalid settings: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    configure_logging(effective.log_level, effective.log_json, stream="stderr")
    settings = effective

    async def main() -> T:
        async with cli_context(settings, litellm=litellm, pool_size=pool_size, max_overflow=max_overflow) as ctx:
            return await work(ctx)

    try:
        return asyncio.run(main())
    except MissingSettings as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except LiteMaaSError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
