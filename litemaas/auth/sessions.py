"""Browser sessions: a short-lived signed token (PyJWT, HS256) in an HttpOnly cookie.

The token carries identity only (user id, session id, CSRF secret) — never the role, which
is read per request. CSRF is a signed double submit: the CSRF value is inside the signed
token and also in a readable cookie that the page echoes in ``X-CSRF-Token``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.responses import Response

from litemaas.kit.crypto import random_token

log = structlog.get_logger("litemaas.auth.sessions")

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
        redis: Redis | None,
        redis_prefix: str,
    ) -> None:
        self._secret = secret
        self.ttl = ttl_seconds
        self.cookie_name = cookie_name
        self.csrf_cookie_name = csrf_cookie_name
        self._secure = secure
        self._redis = redis
        self._prefix = redis_prefix
        self._revoked_memory: dict[str, float] = {}

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

    def _revoked_key(self, session_id: str) -> str:
        return f"{self._prefix}session-revoked:{session_id}"

    async def revoke(self, claims: SessionClaims) -> None:
        remaining = max(claims.expires_at - int(time.time()), 1)
        self._revoked_memory[claims.session_id] = time.time() + remaining
        if self._redis is not None:
            try:
                await self._redis.set(self._revoked_key(claims.session_id), "1", ex=remaining)
            except RedisError:
                log.warning("auth.session.redis_unavailable")

    async def is_revoked(self, session_id: str) -> bool:
        expiry = self._revoked_memory.get(session_id)
        if expiry is not None:
            if expiry > time.time():
                return True
            self._revoked_memory.pop(session_id, None)
        if self._redis is not None:
            try:
                return bool(await self._redis.exists(self._revoked_key(session_id)))
            except RedisError:
                log.warning("auth.session.redis_unavailable")
        return False
