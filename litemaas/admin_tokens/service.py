"""Admin API tokens: scoped, expiring, hashed at rest, shown once.

A token acts for the user who created it and never above that user's *current* role, so
demoting or deactivating the owner disarms their tokens at once.

A token acting on tokens never hands out more than it holds: a token it creates has no
permission the creating token lacks and never outlives it, and it can revoke only tokens whose
permissions it holds itself. Browser sessions of admins and the CLI operator keep full power.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from litemaas.admin_tokens import repository
from litemaas.admin_tokens.errors import InvalidTokenRequest, TokenAboveOwner, TokenNotFound
from litemaas.audit.service import Actor, record
from litemaas.auth.errors import TokenEscalation
from litemaas.auth.permissions import ROLE_PERMISSIONS, Permission, Role, TokenRole, effective_permissions
from litemaas.auth.principal import Principal
from litemaas.kit.crypto import random_token, sha256_hex
from litemaas.kit.time import utcnow
from litemaas.models.admin_token import AdminToken

NAME_MAX_LENGTH = 100  # the admin_tokens.name column

TOKEN_PREFIX = "lmt_"  # noqa: S105  the public prefix that marks admin tokens, not a secret
TOKEN_ROLES = tuple(Role(r.value) for r in TokenRole)
# last_used_at is a hint, not an audit trail: write it at most this often per token.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewToken:
    token: AdminToken
    secret: str


def looks_like_admin_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def _token_view(token: AdminToken) -> dict[str, object]:
    return {
        "name": token.name,
        "role": token.role,
        "scopes": token.scopes,
        "display_prefix": token.display_prefix,
        "owner_id": str(token.owner_id),
        "expires_at": token.expires_at.isoformat(),
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def validate_scopes(role: Role, scopes: list[str] | None) -> list[str] | None:
    if scopes is None:
        return None
    allowed = ROLE_PERMISSIONS[role]
    parsed: list[str] = []
    for scope in scopes:
        try:
            permission = Permission(scope)
        except ValueError:
            raise InvalidTokenRequest(f"unknown permission '{scope}'", field="scopes") from None
        if permission not in allowed:
            raise InvalidTokenRequest(f"role {role.value} does not grant '{scope}'", field="scopes")
        parsed.append(permission.value)
    return sorted(set(parsed))


def token_permissions(token: AdminToken) -> frozenset[Permission]:
    """What ``token`` grants at most (its owner's current role may grant less)."""
    scopes = frozenset(Permission(s) for s in token.scopes) if token.scopes is not None else None
    return effective_permissions(Role(token.role), scopes)


def _acting_token(actor: Actor) -> Principal | None:
    return actor if isinstance(actor, Principal) and actor.via == "token" else None


def _bounded_by_creator(
    creator: Principal,
    *,
    role: Role,
    scopes: list[str] | None,
    expires_at: datetime,
    expires_in_days: int | None,
) -> datetime:
    """The new token's expiry, after refusing anything the creating token does not hold itself."""
    wanted = effective_permissions(role, frozenset(Permission(s) for s in scopes) if scopes is not None else None)
    extra = sorted(p.value for p in wanted - creator.permissions)
    if extra:
        held = "unscoped" if creator.scopes is None else ", ".join(sorted(p.value for p in creator.scopes))
        raise TokenEscalation(
            f"a token cannot create a token with permissions it does not hold ({', '.join(extra)}); "
            f"this token has role {creator.role.value} and scopes: {held}"
        )
    limit = creator.token_expires_at
    if limit is None:
        raise RuntimeError("invariant broken: limit is not None")
    if expires_in_days is not None:
        # Whole days: a token with 20 hours left may still ask for 1 day (and gets 20 hours).
        days_left = max(math.ceil((limit - utcnow()) / timedelta(days=1)), 1)
        if expires_in_days > days_left:
            raise TokenEscalation(
                f"a token cannot create a token that outlives it: this token expires "
                f"{limit:%Y-%m-%d %H:%M} UTC, so expires_in_days may be at most {days_left}"
            )
    return min(expires_at, limit)


async def create_token(  # noqa: PLR0913  keyword-only fields of one token plus the limits that bound them
    session: AsyncSession,
    *,
    actor: Actor,
    owner_id: uuid.UUID,
    owner_role: Role,
    name: str,
    role: Role,
    expires_in_days: int | None,
    default_days: int,
    max_days: int,
    scopes: list[str] | None = None,
) -> NewToken:
    """Create a token; ``expires_in_days=None`` means ``default_days`` (never beyond ``max_days``).

    Created by a token, the new one gets no permission the creator lacks and expires no later
    than the creator (an omitted expiry is cut to the creator's).
    """
    requested_days = expires_in_days
    if expires_in_days is None:
        expires_in_days = min(default_days, max_days)
    if role not in TOKEN_ROLES:
        raise InvalidTokenRequest("a token's role is admin or admin_readonly", field="role")
    if owner_role is Role.USER or (owner_role is Role.ADMIN_READONLY and role is Role.ADMIN):
        raise TokenAboveOwner("a token cannot grant more than its owner's role")
    if not 1 <= expires_in_days <= max_days:
        raise InvalidTokenRequest(f"expiry must be between 1 and {max_days} days", field="expires_in_days")
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise InvalidTokenRequest("name must be 1-100 characters", field="name")
    valid_scopes = validate_scopes(role, scopes)
    expires_at = utcnow() + timedelta(days=expires_in_days)
    creator = _acting_token(actor)
    if creator is not None:
        expires_at = _bounded_by_creator(
            creator, role=role, scopes=valid_scopes, expires_at=expires_at, expires_in_days=requested_days
        )
    secret = TOKEN_PREFIX + random_token(32)
    token = await repository.add(
        session,
        AdminToken(
            name=name,
            token_hash=sha256_hex(secret),
            display_prefix=secret[:8],
            role=role.value,
            scopes=valid_scopes,
            owner_id=owner_id,
            expires_at=expires_at,
        ),
    )
    await record(
        session,
        actor=actor,
        action="admin_token.create",
        target_type="admin_token",
        target_id=str(token.id),
        after=_token_view(token),
    )
    return NewToken(token=token, secret=secret)


async def list_tokens(session: AsyncSession, *, actor: Actor, include_revoked: bool = False) -> list[AdminToken]:
    """The token inventory; who looked at it is itself audited (SPEC §2), from the API or the CLI."""
    rows = await repository.list_all(session, include_revoked=include_revoked)
    await record(
        session,
        actor=actor,
        action="admin_token.list",
        target_type="admin_token",
        target_id=None,
        after={"count": len(rows), "include_revoked": include_revoked},
    )
    return rows


async def get_token(session: AsyncSession, token_id: uuid.UUID) -> AdminToken:
    token = await repository.get(session, token_id)
    if token is None:
        raise TokenNotFound("token not found")
    return token


async def find_token(session: AsyncSession, token_ref: str) -> AdminToken:
    """A token by id, or by its unique name among non-revoked tokens."""
    try:
        token_id = uuid.UUID(token_ref)
    except ValueError:
        matches = await repository.active_by_name(session, token_ref)
        if len(matches) != 1:
            raise TokenNotFound(f"no single active token named '{token_ref}'") from None
        return matches[0]
    return await get_token(session, token_id)


async def revoke_token(
    session: AsyncSession, *, actor: Actor, token: AdminToken, reason: str | None = None
) -> AdminToken:
    acting = _acting_token(actor)
    if acting is not None and acting.token_id != token.id:
        extra = sorted(p.value for p in token_permissions(token) - acting.permissions)
        if extra:
            raise TokenEscalation(
                f"a token cannot revoke a token holding permissions it does not hold ({', '.join(extra)})"
            )
    if token.revoked_at is not None:
        return token
    before = _token_view(token)
    token.revoked_at = utcnow()
    await session.flush()
    await record(
        session,
        actor=actor,
        action="admin_token.revoke",
        target_type="admin_token",
        target_id=str(token.id),
        before=before,
        after=_token_view(token),
        reason=reason,
    )
    return token


async def authenticate_token(session: AsyncSession, secret: str) -> AdminToken | None:
    """The live token matching ``secret``, or None (unknown, revoked or expired)."""
    token = await repository.by_hash(session, sha256_hex(secret))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        await repository.set_last_used(session, token.id, now)
    return token


def token_expiry_in_past(expires_at: datetime) -> bool:
    return expires_at <= utcnow()
