"""A small typed client for admin scripts, authenticated with an admin API token.

    from litemaas.client import LiteMaaSClient

    with LiteMaaSClient("https://litemaas.example.com", token="lmt_...") as api:
        for user in api.iter_users(role="admin"):
            print(user.username)
        api.set_role(user_id, "admin_readonly", reason="rotation")

``LiteMaaSClient.from_env()`` reads ``LITEMAAS_URL`` and ``LITEMAAS_TOKEN``. Usage:
``api.usage_analytics("2026-01-01", "2026-01-31", models=[...])`` and
``api.export_usage_to("usage.csv", "2026-01-01", "2026-01-31", view="keys")``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from litemaas.auth.permissions import Role
from litemaas.usage.schemas import AnalyticsOut as UsageAnalytics

M = TypeVar("M", bound=BaseModel)


class LiteMaaSAPIError(Exception):
    """An error answer from the API, with its HTTP status and stable error code."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field


def _api_error(response: httpx.Response) -> LiteMaaSAPIError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return LiteMaaSAPIError(
        response.status_code,
        str(body.get("error", "error")),
        str(body.get("detail", response.reason_phrase)),
        body.get("field"),
    )


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Me(_Model):
    user_id: uuid.UUID
    username: str
    role: Role
    via: str
    permissions: list[str]


class User(_Model):
    id: uuid.UUID
    username: str
    email: str | None
    display_name: str | None
    role: Role
    group_role: Role | None
    manual_role: Role | None
    groups: list[str]
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class AuditEvent(_Model):
    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_label: str
    actor_via: str
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    source_ip: str | None


class AdminToken(_Model):
    id: uuid.UUID
    name: str
    role: Role
    scopes: list[str] | None
    display_prefix: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class CreatedAdminToken(AdminToken):
    token: str


class Page(_Model):
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


class LiteMaaSClient:
    """Synchronous client for ``/api/v1`` with ``Authorization: Bearer lmt_...``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_env(cls) -> Self:
        return cls(os.environ["LITEMAAS_URL"], os.environ["LITEMAAS_TOKEN"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- generic ----------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call any ``/api/v1`` route; returns the decoded JSON, raises ``LiteMaaSAPIError``."""
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            raise _api_error(response)
        return response.json() if response.content else None

    def _page(self, path: str, model: type[M], params: dict[str, Any]) -> tuple[list[M], int]:
        page = Page.model_validate(self.request("GET", path, params={k: v for k, v in params.items() if v is not None}))
        return [model.model_validate(item) for item in page.items], page.total

    def _iterate(self, path: str, model: type[M], params: dict[str, Any], page_size: int = 200) -> Iterator[M]:
        offset = 0
        while True:
            items, total = self._page(path, model, {**params, "limit": page_size, "offset": offset})
            yield from items
            offset += len(items)
            if not items or offset >= total:
                return

    # --- session ----------------------------------------------------------------------
    def me(self) -> Me:
        return Me.model_validate(self.request("GET", "/auth/me"))

    # --- users ------------------------------------------------------------------------
    def list_users(
        self,
        *,
        search: str | None = None,
        role: Role | str | None = None,
        active: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[User], int]:
        params = {"search": search, "role": role, "active": active, "limit": limit, "offset": offset}
        return self._page("/admin/users", User, params)

    def iter_users(self, *, search: str | None = None, role: Role | str | None = None) -> Iterator[User]:
        return self._iterate("/admin/users", User, {"search": search, "role": role})

    def get_user(self, user_id: uuid.UUID | str) -> User:
        return User.model_validate(self.request("GET", f"/admin/users/{user_id}"))

    def set_role(self, user_id: uuid.UUID | str, role: Role | str, *, reason: str | None = None) -> User:
        body = {"role": str(role), "reason": reason}
        return User.model_validate(self.request("PUT", f"/admin/users/{user_id}/role", json=body))

    def set_active(self, user_id: uuid.UUID | str, active: bool, *, reason: str | None = None) -> User:
        body = {"is_active": active, "reason": reason}
        return User.model_validate(self.request("PUT", f"/admin/users/{user_id}/active", json=body))

    # --- audit ------------------------------------------------------------------------
    def audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[AuditEvent], int]:
        params = {
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "limit": limit,
            "offset": offset,
        }
        return self._page("/admin/audit", AuditEvent, params)

    # --- admin tokens -----------------------------------------------------------------
    def create_token(
        self,
        name: str,
        *,
        role: Role | str = Role.ADMIN_READONLY,
        expires_in_days: int | None = None,
        scopes: list[str] | None = None,
    ) -> CreatedAdminToken:
        """``expires_in_days=None`` takes the server's LITEMAAS_ADMIN_TOKEN_DEFAULT_DAYS."""
        body = {"name": name, "role": str(role), "expires_in_days": expires_in_days, "scopes": scopes}
        return CreatedAdminToken.model_validate(self.request("POST", "/admin/tokens", json=body))

    def list_tokens(self, *, include_revoked: bool = False) -> list[AdminToken]:
        rows = self.request("GET", "/admin/tokens", params={"include_revoked": include_revoked})
        return [AdminToken.model_validate(r) for r in rows]

    def revoke_token(self, token_id: uuid.UUID | str) -> AdminToken:
        return AdminToken.model_validate(self.request("DELETE", f"/admin/tokens/{token_id}"))

    # --- usage ------------------------------------------------------------------------
    def usage_analytics(  # noqa: PLR0913  keyword-only filters mirroring the API's
        self,
        start_date: date | str,
        end_date: date | str,
        *,
        users: list[str] | None = None,
        models: list[str] | None = None,
        providers: list[str] | None = None,
        keys: list[str] | None = None,
        sort: str = "spend",
        order: str = "desc",
        limit: int = 50,
        offset: int = 0,
        own: bool = False,
    ) -> UsageAnalytics:
        """System-wide analytics (``own=True``: only the token owner's usage, without ``users``)."""
        body: dict[str, Any] = {
            "start_date": str(start_date),
            "end_date": str(end_date),
            "models": models or [],
            "providers": providers or [],
            "keys": keys or [],
            "sort": sort,
            "order": order,
            "limit": limit,
            "offset": offset,
        }
        if not own:
            body["users"] = users or []
        path = "/usage/analytics" if own else "/admin/usage/analytics"
        return UsageAnalytics.model_validate(self.request("POST", path, json=body))

    def export_usage(  # noqa: PLR0913  keyword-only filters mirroring the API's
        self,
        start_date: date | str,
        end_date: date | str,
        *,
        view: str = "daily",
        format: str = "csv",
        users: list[str] | None = None,
        models: list[str] | None = None,
        providers: list[str] | None = None,
        keys: list[str] | None = None,
        own: bool = False,
    ) -> Iterator[bytes]:
        """The export as it streams from the server (CSV or JSON bytes); nothing is held in memory."""
        params: list[tuple[str, str]] = [
            ("start_date", str(start_date)),
            ("end_date", str(end_date)),
            ("view", view),
            ("format", format),
        ]
        for name, values in (("user", users), ("model", models), ("provider", providers), ("key", keys)):
            params.extend((name, v) for v in values or [])
        if own and users:
            raise ValueError("users filters only the system-wide export")
        path = "/usage/export" if own else "/admin/usage/export"
        with self._http.stream("GET", path, params=tuple(params)) as response:
            if response.status_code >= HTTPStatus.BAD_REQUEST:
                response.read()
                raise _api_error(response)
            yield from response.iter_bytes()

    def export_usage_to(
        self, destination: str | os.PathLike[str], start_date: date | str, end_date: date | str, **filters: Any
    ) -> int:
        """Stream an export into a file; returns the bytes written."""
        written = 0
        with open(destination, "wb") as sink:
            for chunk in self.export_usage(start_date, end_date, **filters):
                sink.write(chunk)
                written += len(chunk)
        return written
