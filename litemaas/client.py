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

import mimetypes
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
from litemaas.events.schemas import EventOut as Event
from litemaas.events.schemas import HostViewOut as EventHostView
from litemaas.events.schemas import SeatKeyOut as EventSeat
from litemaas.jobs.schemas import CleanupReportOut as CleanupReport
from litemaas.jobs.schemas import ExemptionOut as CleanupExemption
from litemaas.jobs.schemas import JobRunOut as JobRun
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


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


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


class Subscription(_Model):
    id: uuid.UUID
    user_id: uuid.UUID
    username: str
    model: dict[str, Any]
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def model_name(self) -> str:
        return str(self.model["name"])


class DecisionResult(_Model):
    id: uuid.UUID
    ok: bool
    status: str | None = None
    error: str | None = None
    detail: str | None = None


class BulkDecision(_Model):
    action: str
    succeeded: int
    failed: int
    keys_updated: int = 0
    results: list[DecisionResult]


class ApprovalCounters(_Model):
    pending: int
    approved_today: int
    denied_today: int


class UserLimits(_Model):
    user_id: uuid.UUID
    max_budget: float | None = None
    budget_duration: str | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    max_active_keys: int | None = None
    spend: float | None = None


class UserDefaults(_Model):
    max_budget: float | None = None
    budget_duration: str | None = None
    tpm_limit: int | None = None
    rpm_limit: int | None = None
    max_active_keys: int | None = None


class ApplyDefaultsResult(_Model):
    defaults: UserDefaults
    applied: int
    unchanged: int
    failed: int
    completed: bool
    results: list[dict[str, Any]]


class Key(_Model):
    id: uuid.UUID
    user_id: uuid.UUID
    alias: str
    display: str
    models: list[str]
    status: str
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_budget: float | None = None
    expires_at: datetime | None = None


class CreatedKey(Key):
    # The secret, returned once: write it where it is needed, never to a log.
    key: str


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
        provider: str | None = None,
    ) -> tuple[list[User], int]:
        params = {"search": search, "role": role, "active": active, "limit": limit, "offset": offset}
        params["provider"] = provider
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

    # --- approvals (subscription requests) --------------------------------------------
    def list_subscriptions(
        self,
        *,
        statuses: list[str] | None = None,
        models: list[str] | None = None,
        users: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Subscription], int]:
        """One page of the approval queue (every filter is "any of"); returns (items, total)."""
        params: list[tuple[str, str]] = [("limit", str(limit)), ("offset", str(offset))]
        for name, values in (("status", statuses), ("model", models), ("user", users)):
            params.extend((name, v) for v in values or [])
        params.extend((name, v.isoformat()) for name, v in (("since", since), ("until", until)) if v is not None)
        page = Page.model_validate(self.request("GET", "/admin/subscriptions", params=tuple(params)))
        return [Subscription.model_validate(item) for item in page.items], page.total

    def iter_subscriptions(self, **filters: Any) -> Iterator[Subscription]:
        """Every subscription matching ``filters`` (as ``list_subscriptions``), page by page."""
        offset = 0
        while True:
            items, total = self.list_subscriptions(**filters, limit=200, offset=offset)
            yield from items
            offset += len(items)
            if not items or offset >= total:
                return

    def approval_counters(self) -> ApprovalCounters:
        return ApprovalCounters.model_validate(self.request("GET", "/admin/subscriptions/counters"))

    def subscription_history(self, subscription_id: uuid.UUID | str) -> list[dict[str, Any]]:
        return list(self.request("GET", f"/admin/subscriptions/{subscription_id}/history"))

    def decide(
        self, action: str, ids: list[uuid.UUID] | list[str] | list[uuid.UUID | str], *, reason: str | None = None
    ) -> BulkDecision:
        """Approve or deny many requests (1,000 per call at most); each item's outcome is in ``results``."""
        body = {"action": action, "ids": [str(i) for i in ids], "reason": reason}
        return BulkDecision.model_validate(self.request("POST", "/admin/subscriptions/bulk", json=body))

    def approve(
        self, ids: list[uuid.UUID] | list[str] | list[uuid.UUID | str], *, reason: str | None = None
    ) -> BulkDecision:
        return self.decide("approve", ids, reason=reason)

    def deny(self, ids: list[uuid.UUID] | list[str] | list[uuid.UUID | str], *, reason: str) -> BulkDecision:
        return self.decide("deny", ids, reason=reason)

    def revert_decision(self, subscription_id: uuid.UUID | str, *, reason: str | None = None) -> Subscription:
        return Subscription.model_validate(
            self.request("POST", f"/admin/subscriptions/{subscription_id}/revert", json={"reason": reason})
        )

    # --- backups ----------------------------------------------------------------------
    def list_backups(self) -> dict[str, Any]:
        """Every complete backup, newest first, with its latest verification (``items``, ``total``)."""
        data: dict[str, Any] = self.request("GET", "/admin/backups")
        return data

    def get_backup(self, backup_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.request("GET", f"/admin/backups/{backup_id}")
        return data

    def create_backup(self, *, verify: bool = True, timeout: float = 900.0) -> dict[str, Any]:
        """Back up both databases now; answers when the backup is stored (and checked): allow minutes."""
        data: dict[str, Any] = self.request("POST", "/admin/backups", json={"verify": verify}, timeout=timeout)
        return data

    def verify_backup(self, backup_id: str, *, restore: bool = False, timeout: float = 900.0) -> dict[str, Any]:
        """Checksums and readability; ``restore=True`` runs a test restore comparing row counts."""
        data: dict[str, Any] = self.request(
            "POST", f"/admin/backups/{backup_id}/verify", json={"restore": restore}, timeout=timeout
        )
        return data

    def prune_backups(self, *, dry_run: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = self.request("POST", "/admin/backups/prune", json={"dry_run": dry_run})
        return data

    # --- jobs ---------------------------------------------------------------------------
    def run_reconcile(self, *, dry_run: bool = False) -> dict[str, Any]:
        """Reconcile LiteMaaS with LiteLLM (``dry_run``: report the drift only); recorded as a job run."""
        result: dict[str, Any] = self.request("POST", "/admin/jobs/reconcile", params={"dry_run": dry_run})
        return result

    def cleanup_keys(self, *, dry_run: bool = False, max_age_days: int | None = None) -> CleanupReport:
        """Run the key cleanup (``dry_run``: list what would go); recorded as a job run."""
        params: dict[str, Any] = {"dry_run": dry_run}
        if max_age_days is not None:
            params["max_age_days"] = max_age_days
        return CleanupReport.model_validate(self.request("POST", "/admin/jobs/cleanup-keys", params=params))

    def job_runs(self, *, job: str | None = None, limit: int = 20, offset: int = 0) -> tuple[list[JobRun], int]:
        """Recorded job runs, newest first, and the total count."""
        return self._page("/admin/jobs/runs", JobRun, {"job": job, "limit": limit, "offset": offset})

    def cleanup_exemptions(self) -> list[CleanupExemption]:
        return [CleanupExemption.model_validate(e) for e in self.request("GET", "/admin/jobs/cleanup-keys/exemptions")]

    def set_cleanup_exempt(
        self,
        *,
        exempt: bool,
        user_id: uuid.UUID | str | None = None,
        key_id: uuid.UUID | str | None = None,
        reason: str | None = None,
    ) -> None:
        """Keep a user's keys (or one key) out of the key cleanup, or stop doing so."""
        if (user_id is None) == (key_id is None):
            raise ValueError("give exactly one of user_id and key_id")
        path = (
            f"/admin/jobs/cleanup-keys/exemptions/users/{user_id}"
            if user_id
            else (f"/admin/jobs/cleanup-keys/exemptions/keys/{key_id}")
        )
        if exempt:
            self.request("PUT", path, json={"reason": reason})
        else:
            self.request("DELETE", path)

    # --- models (admin console) -------------------------------------------------------
    def list_models(self, *, capability: str | None = None, search: str | None = None) -> list[dict[str, Any]]:
        """Every catalog model, deleted ones included, with subscriber counts."""
        params = {k: v for k, v in {"capability": capability, "search": search}.items() if v is not None}
        rows: list[dict[str, Any]] = self.request("GET", "/admin/models", params=params)
        return rows

    def create_model(self, name: str, litellm_params: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Create a model in LiteLLM and the catalog (``capabilities``, prices, ``restricted``, ...)."""
        created: dict[str, Any] = self.request(
            "POST", "/admin/models", json={"name": name, "litellm_params": litellm_params, **fields}
        )
        return created

    def update_model(self, model: str, **fields: Any) -> dict[str, Any]:
        updated: dict[str, Any] = self.request("PATCH", f"/admin/models/{model}", json=fields)
        return updated

    def model_impact(self, model: str) -> dict[str, Any]:
        """Subscriptions and keys a delete would end and strip."""
        impact: dict[str, Any] = self.request("GET", f"/admin/model-impact/{model}")
        return impact

    def delete_model(self, model: str, *, reason: str | None = None) -> dict[str, Any]:
        params = {"reason": reason} if reason else {}
        deleted: dict[str, Any] = self.request("DELETE", f"/admin/models/{model}", params=params)
        return deleted

    def restore_model(self, model: str) -> dict[str, Any]:
        restored: dict[str, Any] = self.request("POST", f"/admin/models/{model}/restore")
        return restored

    def sync_models(self, *, dry_run: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", "/admin/models/sync", params={"dry_run": dry_run})
        return result

    def test_model_connection(
        self, api_base: str, model: str, *, api_key: str | None = None, model_type: str = "chat"
    ) -> dict[str, Any]:
        """``{"status": "found" | "not_found" | "auth_error" | "timeout" | ..., ...}``; a refused URL raises 400."""
        body = {"api_base": api_base, "model": model, "api_key": api_key, "model_type": model_type}
        verdict: dict[str, Any] = self.request("POST", "/admin/models/test-connection", json=body)
        return verdict

    # --- settings (admin console) -----------------------------------------------------
    def portal_settings(self) -> dict[str, Any]:
        """``{"effective": ..., "overrides": ..., "defaults": ...}``: playground limits, public proxy URL, currency."""
        current: dict[str, Any] = self.request("GET", "/admin/settings/portal")
        return current

    def set_portal_settings(self, **overrides: Any) -> dict[str, Any]:
        """Replace the overrides (a field left out or ``None`` goes back to the environment's value)."""
        current: dict[str, Any] = self.request("PUT", "/admin/settings/portal", json=overrides)
        return current

    def api_key_settings(self) -> dict[str, Any]:
        current: dict[str, Any] = self.request("GET", "/admin/settings/api-keys")
        return current

    def set_api_key_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        current: dict[str, Any] = self.request("PUT", "/admin/settings/api-keys", json=settings)
        return current

    # --- branding and banners (admin console) -----------------------------------------
    def branding(self) -> dict[str, Any]:
        """Title, subtitle, footer text and the images (``{slot: {url, content_type, size, sha256} | None}``)."""
        current: dict[str, Any] = self.request("GET", "/admin/branding")
        return current

    def set_branding(
        self, *, title: str | None = None, subtitle: str | None = None, footer_text: str | None = None
    ) -> dict[str, Any]:
        """Replace the texts (``None`` goes back to the portal's default)."""
        body = {"title": title, "subtitle": subtitle, "footer_text": footer_text}
        current: dict[str, Any] = self.request("PUT", "/admin/branding", json=body)
        return current

    def upload_branding_image(
        self, slot: str, image: bytes | str | os.PathLike[str], *, content_type: str | None = None
    ) -> dict[str, Any]:
        """Store an image in ``slot`` (``login_logo``, ``logo_light``, ``logo_dark``): bytes or a file path.

        ``content_type`` defaults to the file name's type (``application/octet-stream`` for bytes:
        the server then goes by content alone). A refused image raises ``LiteMaaSAPIError`` whose
        ``code`` names the problem (``image_too_large``, ``image_type_mismatch``, ``svg_refused``, ...).
        """
        if isinstance(image, bytes):
            data = image
            guessed = None
        else:
            with open(image, "rb") as source:
                data = source.read()
            guessed = mimetypes.guess_type(os.fspath(image))[0]
        label = content_type or guessed or "application/octet-stream"
        stored: dict[str, Any] = self.request(
            "PUT", f"/admin/branding/images/{slot}", content=data, headers={"Content-Type": label}
        )
        return stored

    def delete_branding_image(self, slot: str) -> None:
        self.request("DELETE", f"/admin/branding/images/{slot}")

    def list_banners(self) -> list[dict[str, Any]]:
        """Every banner in display order, with its status (active, scheduled, expired, disabled)."""
        banners: list[dict[str, Any]] = self.request("GET", "/admin/banners")
        return banners

    def create_banner(self, message: str, **fields: Any) -> dict[str, Any]:
        """Create a banner: ``severity``, ``message_format`` ("text"/"markdown"), ``link_url``, ``link_text``,
        ``starts_at``/``ends_at`` (datetimes or ISO text), ``target_roles``, ``dismissible``, ``enabled``."""
        body = {"message": message, **{k: _jsonable(v) for k, v in fields.items()}}
        created: dict[str, Any] = self.request("POST", "/admin/banners", json=body)
        return created

    def update_banner(self, banner_id: uuid.UUID | str, message: str, **fields: Any) -> dict[str, Any]:
        """Replace a banner's fields (a field left out takes its default)."""
        body = {"message": message, **{k: _jsonable(v) for k, v in fields.items()}}
        updated: dict[str, Any] = self.request("PUT", f"/admin/banners/{banner_id}", json=body)
        return updated

    def delete_banner(self, banner_id: uuid.UUID | str) -> None:
        self.request("DELETE", f"/admin/banners/{banner_id}")

    def reorder_banners(self, ids: list[uuid.UUID] | list[str] | list[uuid.UUID | str]) -> list[dict[str, Any]]:
        """Show these banners first, in this order (the others follow)."""
        banners: list[dict[str, Any]] = self.request("PUT", "/admin/banners/order", json={"ids": [str(i) for i in ids]})
        return banners

    def my_banners(self) -> list[dict[str, Any]]:
        """The banners the token's user sees now (their role, in the window, not dismissed)."""
        banners: list[dict[str, Any]] = self.request("GET", "/banners")
        return banners

    # --- audit export -----------------------------------------------------------------
    def audit_event(self, event_id: uuid.UUID | str) -> AuditEvent:
        return AuditEvent.model_validate(self.request("GET", f"/admin/audit/{event_id}"))

    def export_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
    ) -> Iterator[bytes]:
        """The matching events as CSV, as the server streams them."""
        params = {
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "q": text,
        }
        query = {k: v for k, v in params.items() if v is not None}
        with self._http.stream("GET", "/admin/audit/export", params=query) as response:
            if response.status_code >= HTTPStatus.BAD_REQUEST:
                response.read()
                raise _api_error(response)
            yield from response.iter_bytes()

    def export_audit_to(self, destination: str | os.PathLike[str], **filters: Any) -> int:
        """Stream the audit export into a file; returns the bytes written."""
        written = 0
        with open(destination, "wb") as sink:
            for chunk in self.export_audit(**filters):
                sink.write(chunk)
                written += len(chunk)
        return written

    # --- users: limits, defaults, grants, keys (admin console) ---------------------------
    def get_user_limits(self, user_id: uuid.UUID | str) -> UserLimits:
        return UserLimits.model_validate(self.request("GET", f"/admin/users/{user_id}/limits"))

    def set_user_limits(self, user_id: uuid.UUID | str, **limits: Any) -> UserLimits:
        """Replace a user's limits (``max_budget``, ``budget_duration``, ``tpm_limit``, ``rpm_limit``,
        ``max_active_keys``); a limit left out is cleared."""
        return UserLimits.model_validate(self.request("PUT", f"/admin/users/{user_id}/limits", json=limits))

    def user_defaults(self) -> UserDefaults:
        return UserDefaults.model_validate(self.request("GET", "/admin/settings/user-defaults"))

    def set_user_defaults(self, **defaults: Any) -> UserDefaults:
        """Replace the defaults for new users (a field left out takes its built-in default)."""
        return UserDefaults.model_validate(self.request("PUT", "/admin/settings/user-defaults", json=defaults))

    def apply_user_defaults(self, *, reason: str | None = None) -> ApplyDefaultsResult:
        """Give every active user the defaults for new users; per-user results."""
        body = {"confirm": True, "reason": reason}
        return ApplyDefaultsResult.model_validate(self.request("POST", "/admin/users/apply-defaults", json=body))

    def grant_subscription(self, user_id: uuid.UUID | str, model: str, *, reason: str | None = None) -> Subscription:
        """Give a user a model directly, bypassing approval (idempotent)."""
        body = {"model": model, "reason": reason}
        return Subscription.model_validate(self.request("POST", f"/admin/users/{user_id}/subscriptions", json=body))

    def list_keys(self, *, user_id: uuid.UUID | str | None = None, status: str | None = None) -> Iterator[Key]:
        return self._iterate("/admin/keys", Key, {"user_id": user_id, "status": status})

    def create_key_for(self, user_id: uuid.UUID | str, alias: str, models: list[str], **limits: Any) -> CreatedKey:
        """A key for a user; the answer carries its secret once."""
        body = {"alias": alias, "models": models, **limits}
        return CreatedKey.model_validate(self.request("POST", f"/admin/users/{user_id}/keys", json=body))

    def update_key(self, key_id: uuid.UUID | str, **changes: Any) -> Key:
        return Key.model_validate(self.request("PATCH", f"/admin/keys/{key_id}", json=changes))

    def rotate_key(self, key_id: uuid.UUID | str) -> CreatedKey:
        return CreatedKey.model_validate(self.request("POST", f"/admin/keys/{key_id}/rotate"))

    def revoke_key(self, key_id: uuid.UUID | str, *, reason: str | None = None) -> Key:
        return Key.model_validate(self.request("POST", f"/admin/keys/{key_id}/revoke", json={"reason": reason}))

    def reset_key_spend(self, key_id: uuid.UUID | str) -> Key:
        return Key.model_validate(self.request("POST", f"/admin/keys/{key_id}/reset-spend"))

    def reset_user_spend(self, user_id: uuid.UUID | str) -> UserLimits:
        return UserLimits.model_validate(self.request("POST", f"/admin/users/{user_id}/reset-spend"))

    # --- workshop events ----------------------------------------------------------------
    def create_event(
        self, name: str, models: list[str], starts_at: datetime, ends_at: datetime, capacity: int, **fields: Any
    ) -> Event:
        """A new event (``description``, ``rpm_limit``, ``tpm_limit``, ``max_budget``, ``hosts`` in ``fields``)."""
        body = {
            "name": name,
            "models": models,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "capacity": capacity,
            **{k: _jsonable(v) for k, v in fields.items()},
        }
        return Event.model_validate(self.request("POST", "/admin/events", json=body))

    def list_events(self) -> list[Event]:
        return [Event.model_validate(e) for e in self.request("GET", "/admin/events")]

    def get_event(self, event_id: uuid.UUID | str) -> Event:
        return Event.model_validate(self.request("GET", f"/admin/events/{event_id}"))

    def update_event(self, event_id: uuid.UUID | str, **changes: Any) -> Event:
        """Change fields; a new ``ends_at`` extends every seat's key."""
        body = {k: _jsonable(v) for k, v in changes.items()}
        return Event.model_validate(self.request("PATCH", f"/admin/events/{event_id}", json=body))

    def end_event(self, event_id: uuid.UUID | str) -> Event:
        return Event.model_validate(self.request("POST", f"/admin/events/{event_id}/end"))

    def add_event_seats(
        self, event_id: uuid.UUID | str, *, count: int | None = None, usernames: list[str] | None = None
    ) -> list[EventSeat]:
        """Seats for lab environments; each new seat's ``key`` is in this answer only."""
        body = {"count": count} if usernames is None else {"usernames": usernames}
        answer = self.request("POST", f"/admin/events/{event_id}/seats", json=body)
        return [EventSeat.model_validate(item) for item in answer["items"]]

    def event_host_view(self, event_id: uuid.UUID | str) -> EventHostView:
        return EventHostView.model_validate(self.request("GET", f"/events/{event_id}/host"))
