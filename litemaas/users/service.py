"""Users: first-login creation, roles (group-derived and manual), activation."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.access import service as access
from litemaas.audit.service import Actor, SystemActor, record
from litemaas.auth.errors import TokenEscalation
from litemaas.auth.identity import LoginIdentity
from litemaas.auth.permissions import ROLE_PERMISSIONS, Role
from litemaas.auth.principal import Principal, highest_role
from litemaas.db import after_commit
from litemaas.kit.time import utcnow
from litemaas.litellm_admin import LiteLLMAdminClient
from litemaas.models.user import User
from litemaas.users import limits, repository
from litemaas.users.cache import UserStateCache
from litemaas.users.errors import (
    AccountDeactivated,
    AmbiguousUser,
    InvalidIdentity,
    SelfLockout,
    UsernameTaken,
    UserNotFound,
)
from litemaas.users.schemas import UserDefaults

_NAME_MAX = 255  # users.username and users.subject columns
_EMAIL_MAX = 320  # the longest valid e-mail address (RFC 3696 errata)

log = structlog.get_logger("litemaas.users")


def role_from_groups(groups: tuple[str, ...] | list[str], mapping: Mapping[str, str]) -> Role | None:
    roles = [Role(mapping[g]) for g in groups if g in mapping]
    if not roles:
        return None
    best = highest_role(*roles)
    return best if best is not Role.USER else None


def _view(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "group_role": user.group_role,
        "manual_role": user.manual_role,
        "is_active": user.is_active,
    }


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User
    created: bool


async def login(
    session: AsyncSession,
    identity: LoginIdentity,
    *,
    group_role_map: Mapping[str, str],
    cache: UserStateCache,
    litellm: LiteLLMAdminClient | None,
    source_ip: str | None = None,
) -> LoginResult:
    """Create or refresh the user for ``identity``; refuse deactivated users.

    Concurrent first logins of one person converge on one row: the insert is an upsert on
    the (provider, subject) unique constraint. The user's LiteLLM counterpart is created here
    when LiteLLM is configured and reachable; otherwise the next login, key creation or
    reconcile does it.
    """
    group_role = (
        identity.dev_role if identity.dev_role is not None else role_from_groups(identity.groups, group_role_map)
    )
    group_role_value = group_role.value if group_role not in (None, Role.USER) else None
    if not 0 < len(identity.username) <= _NAME_MAX or not 0 < len(identity.subject) <= _NAME_MAX:
        raise InvalidIdentity("the identity provider sent an unusable user name or subject")
    email = identity.email if identity.email and len(identity.email) <= _EMAIL_MAX else None
    existing = await repository.get_by_identity(session, provider=identity.provider, subject=identity.subject)
    if existing is not None and not existing.is_active:
        raise AccountDeactivated("this account is deactivated")
    before = _view(existing) if existing is not None else None
    now = utcnow()
    values = {
        "id": uuid.uuid4(),
        "username": identity.username,
        "email": email,
        "display_name": identity.display_name,
        "identity_provider": identity.provider,
        "subject": identity.subject,
        "groups": list(identity.groups),
        "group_role": group_role_value,
        "manual_role": None,
        "role": highest_role(group_role_value).value,
        "is_active": True,
        "last_login_at": now,
        "created_at": now,
        "updated_at": now,
    }
    try:
        row = await repository.upsert_login(session, values)
    except IntegrityError:
        raise UsernameTaken(f"the username '{identity.username}' belongs to another identity") from None
    if row is None:
        raise AccountDeactivated("this account is deactivated")
    user_id, created = row
    user = await repository.get_fresh(session, user_id)
    if user is None:
        raise RuntimeError("invariant broken: user is not None")
    actor = SystemActor(label=user.username, via="login", user_id=user.id)
    if created:
        # The defaults for new users, in our row now and in LiteLLM's user created below from it.
        await limits.give_new_user_defaults(session, user.id)
        await record(
            session,
            actor=actor,
            action="user.create",
            target_type="user",
            target_id=user.id,
            after=_view(user),
            reason=f"first login via {identity.provider}",
            source_ip=source_ip,
        )
    elif before is not None and before["role"] != user.role:
        await record(
            session,
            actor=actor,
            action="user.role.change",
            target_type="user",
            target_id=user.id,
            before=before,
            after=_view(user),
            reason="identity provider groups changed",
            source_ip=source_ip,
        )
    await record(
        session,
        actor=actor,
        action="auth.login",
        target_type="user",
        target_id=user.id,
        after={"provider": identity.provider},
        source_ip=source_ip,
    )
    await cache.invalidate(user.id)
    after_commit(session, lambda: cache.invalidate(user.id))
    if litellm is not None:
        await access.try_ensure_litellm_user(session, litellm, user)
    log.info("users.login.done", user_id=str(user.id), created=created, role=user.role)
    return LoginResult(user=user, created=created)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """The user with this id; ``UserNotFound`` when there is none."""
    user = await repository.get(session, user_id)
    if user is None:
        raise UserNotFound("user not found")
    return user


async def find_user(session: AsyncSession, ref: str) -> User:
    """A user by id, username or e-mail (case-insensitive); exactly one must match."""
    try:
        user = await repository.get(session, uuid.UUID(ref))
        if user is not None:
            return user
    except ValueError:
        pass
    matches = await repository.by_username_or_email(session, ref.strip().lower())
    exact = [u for u in matches if u.username == ref]
    if len(exact) == 1:
        return exact[0]
    if not matches:
        raise UserNotFound(f"no user '{ref}' (users exist once they have logged in)")
    if len(matches) > 1:
        raise AmbiguousUser(f"'{ref}' matches {len(matches)} users; use the username or id")
    return matches[0]


async def set_manual_role(
    session: AsyncSession,
    *,
    actor: Actor,
    user: User,
    role: Role | None,
    cache: UserStateCache,
    reason: str | None = None,
) -> User:
    """Grant (``admin``/``admin_readonly``) or revoke (``None``/``user``) a manually granted role."""
    if isinstance(actor, Principal) and actor.user_id == user.id and role is not Role.ADMIN:
        # Keeps at least the acting admin in place; another admin (or the CLI) can do it.
        raise SelfLockout("admins cannot demote themselves; ask another admin", field="role")
    if isinstance(actor, Principal) and actor.via == "token" and role not in (None, Role.USER):
        # A scoped token (say users:write only) must not make someone an admin whose session
        # could then mint unscoped tokens: a token grants only roles it holds itself.
        extra = sorted(p.value for p in ROLE_PERMISSIONS[role] - actor.permissions)
        if extra:
            raise TokenEscalation(f"a token cannot grant a role with permissions it does not hold ({', '.join(extra)})")
    before = _view(user)
    user.manual_role = role.value if role not in (None, Role.USER) else None
    user.role = highest_role(user.group_role, user.manual_role).value
    await session.flush()
    await record(
        session,
        actor=actor,
        action="user.role.change",
        target_type="user",
        target_id=user.id,
        before=before,
        after=_view(user),
        reason=reason,
    )
    await cache.invalidate(user.id)
    after_commit(session, lambda: cache.invalidate(user.id))
    log.info("users.role.changed", user_id=str(user.id), role=user.role)
    return user


async def set_active(
    session: AsyncSession,
    *,
    actor: Actor,
    user: User,
    active: bool,
    cache: UserStateCache,
    reason: str | None = None,
    litellm: LiteLLMAdminClient | None,
) -> User:
    """Deactivate (no login, sessions and tokens dead, keys blocked in LiteLLM) or reactivate.

    The LiteLLM calls run inside the transaction: if they fail, nothing changes here. Without
    LiteLLM configured (``litellm`` None) the keys there are left as they are.
    """
    if isinstance(actor, Principal) and actor.user_id == user.id and not active:
        raise SelfLockout("you cannot deactivate yourself", field="is_active")
    if user.is_active == active:
        return user
    before = _view(user)
    user.is_active = active
    user.deactivated_at = None if active else utcnow()
    await session.flush()
    after: dict[str, object] = _view(user)
    if litellm is not None:
        touched = await access.set_user_keys_blocked(session, litellm, user.id, blocked=not active)
        after["litellm_keys_" + ("unblocked" if active else "blocked")] = touched
    await record(
        session,
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        target_type="user",
        target_id=user.id,
        before=before,
        after=after,
        reason=reason,
    )
    await cache.invalidate(user.id)
    after_commit(session, lambda: cache.invalidate(user.id))
    return user


async def list_users(
    session: AsyncSession,
    *,
    search: str | None = None,
    role: Role | None = None,
    active: bool | None = None,
    provider: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[User], int]:
    return await repository.search(
        session,
        text=search,
        role=role.value if role is not None else None,
        active=active,
        provider=provider,
        limit=limit,
        offset=offset,
    )


async def identity_providers(session: AsyncSession) -> list[str]:
    """The identity providers users came from (the list filter's choices)."""
    return await repository.providers(session)


async def get_user_defaults(session: AsyncSession) -> UserDefaults:
    """The limits a new user gets at first login (the ``user_defaults`` setting)."""
    return await limits.user_defaults(session)


async def set_user_defaults(session: AsyncSession, *, actor: Actor, defaults: UserDefaults) -> UserDefaults:
    """Change the defaults for new users (existing users keep theirs unless they are applied to all)."""
    return await limits.set_user_defaults(session, actor=actor, defaults=defaults)


LAB_PROVIDER = "event"


async def ensure_lab_user(session: AsyncSession, *, actor: Actor, username: str) -> User:
    """The user a lab environment's seat belongs to (identity provider ``event``: no one logs in as it).

    Created once, with the defaults for new users, and audited; an existing lab user is reused.
    A username held by a person (another identity) is refused.
    """
    existing = await repository.get_by_identity(session, provider=LAB_PROVIDER, subject=username)
    if existing is not None:
        return existing
    now = utcnow()
    values = {
        "id": uuid.uuid4(),
        "username": username,
        "email": None,
        "display_name": username,
        "identity_provider": LAB_PROVIDER,
        "subject": username,
        "groups": [],
        "group_role": None,
        "manual_role": None,
        "role": Role.USER.value,
        "is_active": True,
        "last_login_at": None,
        "created_at": now,
        "updated_at": now,
    }
    try:
        row = await repository.upsert_login(session, values)
    except IntegrityError:
        raise UsernameTaken(f"the username '{username}' belongs to another identity") from None
    if row is None:
        raise AccountDeactivated(f"the lab user '{username}' is deactivated")
    user = await repository.get_fresh(session, row[0])
    if user is None:
        raise RuntimeError("invariant broken: user is not None")
    if row[1]:
        await limits.give_new_user_defaults(session, user.id)
        await record(
            session,
            actor=actor,
            action="user.create",
            target_type="user",
            target_id=user.id,
            after=_view(user),
            reason="lab seat of an event",
        )
    return user
