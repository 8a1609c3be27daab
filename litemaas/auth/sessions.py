"""Browser sessions: a short-lived signed token (PyJWT, HS256) in an HttpOnly cookie.

The token carries identity only (user id, session id, CSRF secret) — never the role, which
is read per request. CSRF is a signed double submit: the CSRF value is inside the signed
token and also in a readable cookie that the page echoes in ``X-CSRF-Token``.

Logout revokes the session id in the database (``revoked_sessions``), which every replica and
every restart sees, with or without Redis. The check is one primary-key lookup per request.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from litemaas.auth import repository
from litemaas.kit.crypto import random_token
from litemaas.kit.time import utcnow

CSRF_HEADER = "X-CSRF-Token"
_ISSUER = "litemaas"
_AUDIENCE = "litemaas-session"
# A session can be slid forward up to this long after the login itself.
MAX_SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class SessionClaims:
    user_id: uuid.UUID
    session_id: str
    csrf: str
    issued_at: int
    expires_at: int
    auth_time: int
    provider: str


class SessionManager:
    """Issues, verifies and revokes session tokens, and sets their cookies."""

    def __init__(
        self,
        secret: str,
        *,
        ttl_seconds: int,
        cookie_name: str,
        csrf_cookie_name: str,
        secure: bool,
    ) -> None:
        self._secret = secret
        self.ttl = ttl_seconds
        self.cookie_name = cookie_name
        self.csrf_cookie_name = csrf_cookie_name
        self._secure = secure

    def issue(
        self,
        user_id: uuid.UUID,
        *,
        provider: str,
        session_id: str | None = None,
        csrf: str | None = None,
        auth_time: int | None = None,
    ) -> tuple[str, SessionClaims]:
        now = int(time.time())
        auth_time = auth_time or now
        expires = min(now + self.ttl, auth_time + MAX_SESSION_SECONDS)
        claims = SessionClaims(
            user_id=user_id,
            session_id=session_id or random_token(16),
            csrf=csrf or random_token(24),
            issued_at=now,
            expires_at=expires,
            auth_time=auth_time,
            provider=provider,
        )
        token = jwt.encode(
            {
                "iss": _ISSUER,
                "aud": _AUDIENCE,
                "sub": str(user_id),
                "sid": claims.session_id,
                "csrf": claims.csrf,
                "iat": now,
                "exp": expires,
                "auth_time": auth_time,
                "idp": provider,
            },
            self._secret,
            algorithm="HS256",
        )
        return token, claims

    def decode(self, token: str) -> SessionClaims | None:
        try:
            data = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "sid", "csrf"]},
            )
            return SessionClaims(
                user_id=uuid.UUID(data["sub"]),
                session_id=str(data["sid"]),
                csrf=str(data["csrf"]),
                issued_at=int(data["iat"]),
                expires_at=int(data["exp"]),
                auth_time=int(data.get("auth_time", data["iat"])),
                provider=str(data.get("idp", "")),
            )
        except (jwt.InvalidTokenError, ValueError, KeyError):
            return None

    def needs_refresh(self, claims: SessionClaims) -> bool:
        now = int(time.time())
        can_extend = claims.auth_time + MAX_SESSION_SECONDS > claims.expires_at
        return can_extend and now - claims.issued_at > self.ttl // 2

    def refresh(self, claims: SessionClaims) -> tuple[str, SessionClaims]:
        return self.issue(
            claims.user_id,
            provider=claims.provider,
            session_id=claims.session_id,
            csrf=claims.csrf,
            auth_time=claims.auth_time,
        )

    def set_cookies(self, response: Response, token: str, claims: SessionClaims) -> None:
        max_age = max(claims.expires_at - int(time.time()), 0)
        response.set_cookie(
            self.cookie_name, token, max_age=max_age, httponly=True, secure=self._secure, samesite="lax", path="/"
        )
        # Readable by the page (double submit), useless without the signed session cookie.
        response.set_cookie(
            self.csrf_cookie_name,
            claims.csrf,
            max_age=max_age,
            httponly=False,
            secure=self._secure,
            samesite="lax",
            path="/",
        )

    def clear_cookies(self, response: Response) -> None:
        for name in (self.cookie_name, self.csrf_cookie_name):
            response.delete_cookie(name, path="/", secure=self._secure, samesite="lax")

    async def revoke(self, db: AsyncSession, claims: SessionClaims) -> None:
        """Revoke the session id for as long as any token of it could live (renewals included)."""
        until = max(claims.expires_at, claims.auth_time + MAX_SESSION_SECONDS)
        await repository.revoke_session(db, session_id=claims.session_id, until=datetime.fromtimestamp(until, UTC))
        # Logouts are rare: pruning here keeps the table at the sessions of the last 12 hours.
        await repository.prune_revoked_sessions(db, before=utcnow())

    async def is_revoked(self, db: AsyncSession, session_id: str) -> bool:
        return await repository.is_session_revoked(db, session_id)
