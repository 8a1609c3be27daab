"""Database engine, declarative base and the request-scoped session dependency."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, ClassVar

import structlog
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Uuid, func, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from litemaas.kit.app_state import AppSlot
from litemaas.kit.time import utcnow

# Stable constraint names so Alembic autogenerate and hand-written migrations agree.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every LiteMaaS table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True), uuid.UUID: Uuid(as_uuid=True)}


class UUIDPk:
    """A random UUID primary key named ``id``."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    """Timezone-aware UTC ``created_at`` / ``updated_at``."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=func.now())


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    options.update(kwargs)
    return create_async_engine(database_url, **options)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "litemaas_after_commit"


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction has committed (cache invalidation, ...).

    Dropped if the transaction rolls back. Runs for sessions opened by ``get_session`` or
    ``session_scope``.
    """
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


async def commit(session: AsyncSession) -> None:
    """Commit and run the ``after_commit`` callbacks (failures there are logged, not raised)."""
    await session.commit()
    callbacks: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        try:
            await callback()
        except Exception as exc:  # noqa: BLE001 — the change is committed; a hook must not undo the answer
            structlog.get_logger("litemaas.db").warning("db.after_commit.failed", error_type=type(exc).__name__)


@asynccontextmanager
async def session_scope(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A unit of work outside a request (CLI, jobs): committed on success, rolled back on error."""
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            session.info.pop(_AFTER_COMMIT, None)
            await session.rollback()
            raise
        await commit(session)


ENGINE = AppSlot[AsyncEngine]("engine")
SESSIONMAKER = AppSlot[async_sessionmaker[AsyncSession]]("sessionmaker")


def get_engine(request: Request) -> AsyncEngine:
    return ENGINE.get(request.app)


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    return SESSIONMAKER.get(request.app)


DatabaseEngine = Annotated[AsyncEngine, Depends(get_engine)]
# For work that commits on its own schedule (e.g. reconcile, one transaction per user).
Sessionmaker = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_session(sessionmaker: Sessionmaker) -> AsyncIterator[AsyncSession]:
    """The request's session: committed once here when the route returns, rolled back on error."""
    async with session_scope(sessionmaker) as session:
        yield session


# scope="function": the commit happens before the response is sent, so a client never sees
# a success whose transaction then fails, nor reads its own write before it is committed.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]

READ_ONLY_ATTR = "__litemaas_read_only__"


async def get_read_only_session(sessionmaker: Sessionmaker) -> AsyncIterator[AsyncSession]:
    """A session whose transaction PostgreSQL refuses to let write (``READ ONLY``), on one snapshot
    taken at its first query (``REPEATABLE READ``: the figures of one answer agree with each other).

    For queries that need a request body (``POST .../analytics``): the route × role test counts a
    route built on this session as a view, which a read-only admin may call.
    """
    async with sessionmaker() as session:
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        try:
            yield session
        finally:
            await session.rollback()


setattr(get_read_only_session, READ_ONLY_ATTR, True)
ReadOnlySession = Annotated[AsyncSession, Depends(get_read_only_session, scope="function")]


def is_read_only_dependency(call: Any) -> bool:
    return getattr(call, READ_ONLY_ATTR, False) is True
