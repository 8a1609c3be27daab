"""SQL of the jobs: reads of the shared key, user and limit tables; job runs; cleanup exemptions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from litemaas.kit.time import utcnow
from litemaas.models.api_key import ApiKey
from litemaas.models.api_key_token import ApiKeyToken
from litemaas.models.job_run import JobRun
from litemaas.models.key_cleanup_exemption import KeyCleanupExemption
from litemaas.models.user import User
from litemaas.models.user_limit import UserLimit


@dataclass(frozen=True, slots=True)
class CleanupRow:
    key: ApiKey
    username: str
    user_exempt: bool
    key_exempt: bool


async def token_owners(session: AsyncSession) -> dict[str, tuple[uuid.UUID, uuid.UUID, bool]]:
    """Every token hash we ever issued → (key id, user id, is it the key's current live secret)."""
    rows = await session.execute(
        select(ApiKeyToken.token_hash, ApiKeyToken.key_id, ApiKeyToken.user_id, ApiKey.token_hash, ApiKey.status).join(
            ApiKey, ApiKey.id == ApiKeyToken.key_id
        )
    )
    return {
        token: (key_id, user_id, current == token and status == "active")
        for token, key_id, user_id, current, status in rows
    }


async def active_keys(session: AsyncSession, user_ids: Iterable[uuid.UUID] | None) -> list[ApiKey]:
    """Active keys (of ``user_ids``, or of everyone)."""
    statement = select(ApiKey).where(ApiKey.status == "active")
    if user_ids is not None:
        statement = statement.where(ApiKey.user_id.in_(list(user_ids)))
    return list((await session.scalars(statement)).all())


async def owners(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, str, bool]]:
    """(id, username, is_active) of the given users."""
    rows = await session.execute(select(User.id, User.username, User.is_active).where(User.id.in_(set(user_ids))))
    return [(user_id, username, is_active) for user_id, username, is_active in rows]


async def existing_user_ids(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = set(user_ids)
    if not wanted:
        return set()
    return set((await session.scalars(select(User.id).where(User.id.in_(wanted)))).all())


async def usernames(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(set(user_ids))))
    return [(user_id, username) for user_id, username in rows]


async def users_missing_in_litellm(session: AsyncSession) -> Sequence[User]:
    """Active users whose LiteLLM user could not be created yet."""
    return (await session.scalars(select(User).where(User.litellm_synced_at.is_(None), User.is_active.is_(True)))).all()


async def users_with_limits(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """(id, username) of users with per-user limits and a LiteLLM user to hold them."""
    rows = await session.execute(
        select(UserLimit.user_id, User.username)
        .join(User, User.id == UserLimit.user_id)
        .where(User.litellm_synced_at.is_not(None))
    )
    return [(user_id, username) for user_id, username in rows]


async def user_limit(session: AsyncSession, user_id: uuid.UUID) -> UserLimit | None:
    return await session.get(UserLimit, user_id)


# --------------------------------------------------------------------------- job runs


async def insert_run(
    session: AsyncSession, *, job: str, dry_run: bool, triggered_by: str, triggered_by_id: uuid.UUID | None
) -> JobRun:
    run = JobRun(
        id=uuid.uuid4(),
        job=job,
        started_at=utcnow(),
        status="running",
        counts={},
        dry_run=dry_run,
        triggered_by=triggered_by,
        triggered_by_id=triggered_by_id,
    )
    session.add(run)
    await session.flush()
    return run


async def finish_run(
    session: AsyncSession, run_id: uuid.UUID, *, status: str, counts: dict[str, Any], error: str | None
) -> None:
    await session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(status=status, counts=counts, error=error, finished_at=utcnow())
    )


async def list_runs(session: AsyncSession, *, job: str | None, limit: int, offset: int) -> tuple[list[JobRun], int]:
    """Newest first, with the total count of the filter."""
    statement = select(JobRun)
    counting = select(func.count()).select_from(JobRun)
    if job is not None:
        statement = statement.where(JobRun.job == job)
        counting = counting.where(JobRun.job == job)
    rows = await session.scalars(statement.order_by(JobRun.started_at.desc(), JobRun.id).limit(limit).offset(offset))
    return list(rows.all()), int(await session.scalar(counting) or 0)


async def get_run(session: AsyncSession, run_id: uuid.UUID) -> JobRun | None:
    return await session.get(JobRun, run_id)


async def last_success_times(session: AsyncSession) -> dict[str, datetime]:
    """Per job: when its latest successful real (not dry) run finished."""
    rows = await session.execute(
        select(JobRun.job, func.max(JobRun.finished_at))
        .where(JobRun.status == "succeeded", JobRun.dry_run.is_(False))
        .group_by(JobRun.job)
    )
    return {job: finished for job, finished in rows if finished is not None}


async def last_finished_statuses(session: AsyncSession) -> dict[str, str]:
    """Per job: the status of its latest finished real (not dry) run."""
    rows = await session.execute(
        select(JobRun.job, JobRun.status)
        .where(JobRun.finished_at.is_not(None), JobRun.dry_run.is_(False))
        .ext(distinct_on(JobRun.job))
        .order_by(JobRun.job, JobRun.finished_at.desc())
    )
    return {job: status for job, status in rows}


# --------------------------------------------------------------------------- key cleanup


async def cleanup_candidates(session: AsyncSession, user_ids: Iterable[uuid.UUID] | None = None) -> list[CleanupRow]:
    """Active keys (of ``user_ids``, or all) with their owner's name and exemption flags."""
    user_exempt = (
        select(KeyCleanupExemption.id).where(KeyCleanupExemption.user_id == ApiKey.user_id).exists().label("ue")
    )
    key_exempt = select(KeyCleanupExemption.id).where(KeyCleanupExemption.key_id == ApiKey.id).exists().label("ke")
    statement = (
        select(ApiKey, User.username, user_exempt, key_exempt)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.status == "active")
        .order_by(ApiKey.user_id, ApiKey.created_at, ApiKey.id)
    )
    if user_ids is not None:
        statement = statement.where(ApiKey.user_id.in_(list(user_ids)))
    rows = await session.execute(statement)
    return [CleanupRow(key, username, bool(ue), bool(ke)) for key, username, ue, ke in rows]


async def list_exemptions(session: AsyncSession) -> list[tuple[KeyCleanupExemption, str | None, str | None]]:
    """Every exemption with the exempt user's name, or the exempt key's alias and owner."""
    owner = aliased(User)
    key_owner = aliased(User)
    rows = await session.execute(
        select(KeyCleanupExemption, owner.username, ApiKey.alias, key_owner.username)
        .outerjoin(owner, owner.id == KeyCleanupExemption.user_id)
        .outerjoin(ApiKey, ApiKey.id == KeyCleanupExemption.key_id)
        .outerjoin(key_owner, key_owner.id == ApiKey.user_id)
        .order_by(KeyCleanupExemption.created_at.desc(), KeyCleanupExemption.id)
    )
    result: list[tuple[KeyCleanupExemption, str | None, str | None]] = []
    for exemption, username, alias, key_username in rows:
        name = username if exemption.user_id is not None else key_username
        result.append((exemption, name, alias))
    return result


async def find_exemption(
    session: AsyncSession, *, user_id: uuid.UUID | None = None, key_id: uuid.UUID | None = None
) -> KeyCleanupExemption | None:
    statement = select(KeyCleanupExemption)
    if user_id is not None:
        statement = statement.where(KeyCleanupExemption.user_id == user_id)
    else:
        statement = statement.where(KeyCleanupExemption.key_id == key_id)
    return await session.scalar(statement)


async def add_exemption(
    session: AsyncSession,
    *,
    user_id: uuid.UUID | None,
    key_id: uuid.UUID | None,
    reason: str | None,
    created_by_id: uuid.UUID | None,
) -> bool:
    """Insert the exemption; ``False`` when it already exists (concurrent adds are harmless)."""
    index = [KeyCleanupExemption.user_id] if user_id is not None else [KeyCleanupExemption.key_id]
    result = await session.execute(
        insert(KeyCleanupExemption)
        .values(id=uuid.uuid4(), user_id=user_id, key_id=key_id, reason=reason, created_by_id=created_by_id)
        .on_conflict_do_nothing(index_elements=index)
        .returning(KeyCleanupExemption.id)
    )
    return result.scalar() is not None


async def delete_exemption(session: AsyncSession, exemption: KeyCleanupExemption) -> None:
    await session.delete(exemption)
    await session.flush()


async def user_exists(session: AsyncSession, user_id: uuid.UUID) -> bool:
    return await session.scalar(select(User.id).where(User.id == user_id)) is not None


async def key_exists(session: AsyncSession, key_id: uuid.UUID) -> bool:
    return await session.scalar(select(ApiKey.id).where(ApiKey.id == key_id)) is not None
