"""The one client for LiteLLM's admin API (master key, explicit timeouts, bounded retries)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

import httpx
import structlog

from litemaas.litellm_admin.access import LITELLM_USER_ROLE
from litemaas.litellm_admin.errors import (
    LiteLLMError,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
)
from litemaas.litellm_admin.schemas import (
    NO_MODELS_SENTINEL,
    GeneratedKey,
    GenerateKeyRequest,
    KeyInfo,
    KeyListPage,
    ModelDeployment,
    NewModelRequest,
    UserInfo,
    UserLimits,
)

log = structlog.get_logger("litemaas.litellm_admin")

# Tags written into the metadata of every key / user LiteMaaS creates, so calls are
# idempotent and reconcile can tell our objects (and orphans) from anyone else's.
META_MANAGED_BY = "managed_by"
MANAGED_BY_VALUE = "litemaas"
META_KEY_ID = "litemaas_key_id"
META_USER_ID = "litemaas_user_id"

_RETRY_STATUSES = frozenset({502, 503, 504})
_LIST_PAGE_SIZE = 100  # LiteLLM caps /key/list page size at 100.


def token_hash(secret: str) -> str:
    """LiteLLM's token id for a virtual key: the sha256 hex digest of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _error_message(response: httpx.Response) -> str:
    # LiteLLM answers errors as {"error": {"message": ...}}, {"detail": {"error": ...}} or {"detail": "..."}.
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    for field in ("error", "detail"):
        value = body.get(field) if isinstance(body, dict) else None
        if isinstance(value, dict):
            inner = value.get("message") or value.get("error") or value.get("detail")
            if inner is not None:
                return str(inner)[:500]
        elif value is not None:
            return str(value)[:500]
    return str(body)[:500]


class LiteLLMAdminClient:
    """Async client for LiteLLM's admin endpoints; one instance (one connection pool) per process."""

    def __init__(
        self,
        base_url: str,
        master_key: str,
        *,
        timeout: float = 15.0,
        connect_timeout: float = 3.0,
        retries: int = 2,
        retry_backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._retries = retries
        self._retry_backoff = retry_backoff
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {master_key}"},
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ transport

    async def _request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        idempotent: bool,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        attempts = 1 + (self._retries if idempotent else 0)
        last: LiteLLMError | None = None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self._retry_backoff * (2 ** (attempt - 1)))
            try:
                response = await self._http.request(method, path, json=json, params=params)
            except httpx.TimeoutException:
                last = LiteLLMUnavailable(f"LiteLLM timed out ({operation})", operation=operation)
                continue
            except httpx.TransportError as exc:
                last = LiteLLMUnavailable(
                    f"LiteLLM unreachable ({operation}): {type(exc).__name__}", operation=operation
                )
                continue
            if response.status_code < HTTPStatus.BAD_REQUEST:
                if not response.content:
                    return None
                try:
                    return response.json()
                except ValueError:
                    return response.text
            message = _error_message(response)
            status = response.status_code
            if status == HTTPStatus.NOT_FOUND:
                raise LiteLLMNotFound(message, status=status, operation=operation)
            if status < HTTPStatus.INTERNAL_SERVER_ERROR:
                raise LiteLLMRejected(message, status=status, operation=operation)
            last = LiteLLMUnavailable(
                f"LiteLLM error {status} ({operation}): {message}", status=status, operation=operation
            )
            if status not in _RETRY_STATUSES and status != HTTPStatus.INTERNAL_SERVER_ERROR:
                break
        if last is None:
            raise RuntimeError("invariant broken: last is not None")
        log.warning("litellm_admin.call.failed", operation=operation, status=last.status, attempts=attempts)
        raise last

    # ------------------------------------------------------------------ keys

    async def generate_key(self, request: GenerateKeyRequest) -> GeneratedKey:
        """Create a virtual key with a secret chosen by us (so its hash is known before the call)."""
        body = request.model_dump(exclude_none=True)
        # Not retried: a lost answer is repaired by the caller (key_exists) or by reconcile.
        data = await self._request("POST", "/key/generate", operation="key.generate", idempotent=False, json=body)
        generated = GeneratedKey.model_validate(data)
        if generated.token_hash is None:
            generated.token_hash = token_hash(request.key)
        return generated

    async def update_key(self, key_hash: str, **fields: Any) -> KeyInfo:
        """Set fields of a key (absolute values, so the call is safe to retry)."""
        body = {"key": key_hash, **fields}
        data = await self._request("POST", "/key/update", operation="key.update", idempotent=True, json=body)
        info = KeyInfo.model_validate(data or {})
        info.token = key_hash
        return info

    async def set_key_models(self, key_hash: str, models: Sequence[str]) -> None:
        """Replace the models a key may call (``[]`` is stored as LiteLLM's "no models" sentinel)."""

        await self.update_key(key_hash, models=list(models) or [NO_MODELS_SENTINEL])

    async def delete_keys(self, key_hashes: Sequence[str]) -> None:
        """Delete keys; keys LiteLLM no longer has are treated as already deleted."""
        if not key_hashes:
            return
        try:
            await self._request(
                "POST", "/key/delete", operation="key.delete", idempotent=True, json={"keys": list(key_hashes)}
            )
        except LiteLLMNotFound:
            return
        except LiteLLMRejected as exc:
            # Mixed batches (some already gone) are refused as a whole: fall back to one by one.
            if len(key_hashes) == 1:
                raise
            log.info("litellm_admin.key.delete.split", count=len(key_hashes), status=exc.status)
            for key_hash in key_hashes:
                await self.delete_keys([key_hash])

    async def delete_key(self, key_hash: str) -> None:
        await self.delete_keys([key_hash])

    async def block_key(self, key_hash: str) -> None:
        await self._request("POST", "/key/block", operation="key.block", idempotent=True, json={"key": key_hash})

    async def unblock_key(self, key_hash: str) -> None:
        await self._request("POST", "/key/unblock", operation="key.unblock", idempotent=True, json={"key": key_hash})

    async def reset_key_spend(self, key_hash: str, reset_to: float = 0.0) -> None:
        await self._request(
            "POST",
            f"/key/{key_hash}/reset_spend",
            operation="key.reset_spend",
            idempotent=True,
            json={"reset_to": reset_to},
        )

    async def key_info(self, key_hash: str) -> KeyInfo:
        """The live key (``LiteLLMNotFound`` when it does not exist or has been deleted)."""
        data = await self._request("GET", "/key/info", operation="key.info", idempotent=True, params={"key": key_hash})
        info = KeyInfo.model_validate((data or {}).get("info") or {})
        if info.status == "deleted":
            raise LiteLLMNotFound("key deleted", status=404, operation="key.info")
        info.token = key_hash
        return info

    async def key_exists(self, key_hash: str) -> bool:
        try:
            await self.key_info(key_hash)
        except LiteLLMNotFound:
            return False
        return True

    async def list_keys_page(
        self, *, user_id: str | None = None, page: int = 1, size: int = _LIST_PAGE_SIZE
    ) -> KeyListPage:
        params: dict[str, Any] = {"page": page, "size": size, "return_full_object": "true"}
        if user_id is not None:
            params["user_id"] = user_id
        data = await self._request("GET", "/key/list", operation="key.list", idempotent=True, params=params)
        return KeyListPage.model_validate(data or {})

    async def iter_keys(self, *, user_id: str | None = None) -> AsyncIterator[KeyInfo]:
        """Every live key (of one user, or all), paging through ``/key/list``."""
        page = 1
        while True:
            result = await self.list_keys_page(user_id=user_id, page=page)
            for key in result.keys:
                yield key
            total_pages = result.total_pages or 1
            if page >= total_pages or not result.keys:
                return
            page += 1

    async def list_user_keys(self, user_id: str) -> list[KeyInfo]:
        """All live keys of one user in as few calls as LiteLLM's page size allows (one for ≤100 keys)."""
        return [key async for key in self.iter_keys(user_id=user_id)]

    # ------------------------------------------------------------------ users

    async def user_info(self, user_id: str) -> UserInfo:
        data = await self._request(
            "GET", "/user/info", operation="user.info", idempotent=True, params={"user_id": user_id}
        )
        body = data or {}
        user = body.get("user_info") or {}
        if not user:
            raise LiteLLMNotFound(f"user {user_id} not found", status=404, operation="user.info")
        return UserInfo.model_validate({**user, "user_id": body.get("user_id") or user_id})

    async def ensure_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        alias: str | None = None,
        metadata: dict[str, Any] | None = None,
        limits: UserLimits | None = None,
    ) -> None:
        """Create the LiteLLM user if it does not exist (idempotent; no key is auto-created).

        ``limits`` (budget, TPM, RPM) are set on a user this call creates; an existing user keeps its own.
        """
        body: dict[str, Any] = {
            "user_id": user_id,
            # Never "internal_user": that role may manage its own keys on the proxy.
            "user_role": LITELLM_USER_ROLE,
            "auto_create_key": False,
            "metadata": {META_MANAGED_BY: MANAGED_BY_VALUE, META_USER_ID: user_id, **(metadata or {})},
        }
        if alias is not None:
            body["user_alias"] = alias
        if email is not None:
            body["user_email"] = email
        if limits is not None:
            body.update({name: value for name, value in limits.model_dump().items() if value is not None})
        try:
            await self._request("POST", "/user/new", operation="user.new", idempotent=False, json=body)
            return
        except LiteLLMRejected as exc:
            if exc.status != HTTPStatus.CONFLICT:
                raise
        # 409: the id exists (done) — or only the e-mail is taken by another LiteLLM user.
        try:
            await self.user_info(user_id)
            return
        except LiteLLMNotFound:
            pass
        body.pop("user_email", None)
        try:
            await self._request("POST", "/user/new", operation="user.new", idempotent=False, json=body)
        except LiteLLMRejected as exc:
            if exc.status != HTTPStatus.CONFLICT:
                raise

    async def iter_users(self) -> AsyncIterator[UserInfo]:
        """Every LiteLLM user, paging through ``/user/list``."""
        page = 1
        while True:
            data = await self._request(
                "GET",
                "/user/list",
                operation="user.list",
                idempotent=True,
                params={"page": page, "page_size": _LIST_PAGE_SIZE},
            )
            body = data or {}
            users = body.get("users") or []
            for row in users:
                yield UserInfo.model_validate(row)
            if page >= (body.get("total_pages") or 1) or not users:
                return
            page += 1

    async def set_user_role(self, user_id: str, role: str) -> None:
        await self._request(
            "POST",
            "/user/update",
            operation="user.update",
            idempotent=True,
            json={"user_id": user_id, "user_role": role},
        )

    async def update_user_limits(self, user_id: str, limits: UserLimits) -> None:
        """Set a user's budget / TPM / RPM in LiteLLM (explicit ``None`` clears a limit)."""
        body: dict[str, Any] = {"user_id": user_id, **limits.model_dump()}
        await self._request("POST", "/user/update", operation="user.update", idempotent=True, json=body)

    async def reset_user_spend(self, user_id: str) -> None:
        """Set a user's spend back to 0 (their budget starts again; keys keep their own spend)."""
        await self._request(
            "POST", "/user/update", operation="user.update", idempotent=True, json={"user_id": user_id, "spend": 0}
        )

    # ------------------------------------------------------------------ models

    async def model_info(self) -> list[ModelDeployment]:
        """Every deployment LiteLLM serves (``/model/info``)."""
        data = await self._request("GET", "/model/info", operation="model.info", idempotent=True)
        return [ModelDeployment.model_validate(row) for row in (data or {}).get("data", [])]

    async def new_model(self, request: NewModelRequest) -> ModelDeployment:
        data = await self._request(
            "POST", "/model/new", operation="model.new", idempotent=False, json=request.model_dump()
        )
        body = data if isinstance(data, dict) else {}
        model_id = body.get("model_id") or (body.get("model_info") or {}).get("id")
        model_info = {**request.model_info, **({"id": model_id} if model_id else {}), "db_model": True}
        return ModelDeployment(
            model_name=request.model_name, litellm_params=request.litellm_params, model_info=model_info
        )

    async def update_model(
        self,
        model_id: str,
        *,
        model_name: str | None = None,
        litellm_params: dict[str, Any] | None = None,
        model_info: dict[str, Any] | None = None,
    ) -> None:
        body: dict[str, Any] = {}
        if model_name is not None:
            body["model_name"] = model_name
        if litellm_params is not None:
            body["litellm_params"] = litellm_params
        if model_info is not None:
            body["model_info"] = model_info
        await self._request("PATCH", f"/model/{model_id}/update", operation="model.update", idempotent=True, json=body)

    async def delete_model(self, model_id: str) -> None:
        """Delete a database-stored deployment; one LiteLLM no longer has counts as deleted."""
        try:
            await self._request(
                "POST", "/model/delete", operation="model.delete", idempotent=True, json={"id": model_id}
            )
        except LiteLLMRejected as exc:
            # LiteLLM answers 400 "not found in db" for an unknown id.
            if exc.status == HTTPStatus.NOT_FOUND or "not found" in exc.message.lower():
                return
            raise

    # ------------------------------------------------------------------ health

    async def ping(self) -> bool:
        """True when the proxy answers its liveness route."""
        try:
            await self._request("GET", "/health/liveliness", operation="health", idempotent=False)
        except LiteLLMError:
            return False
        return True
