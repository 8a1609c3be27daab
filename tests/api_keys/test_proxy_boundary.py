"""Deny by default at the proxy: a LiteMaaS-issued key reaches the model API and nothing else.

Keys are issued through the backend (``POST /api/v1/keys``), exactly as a user gets them, and
used against the session's real LiteLLM proxy. The route matrix enumerates every route the
running proxy registers (its ``/openapi.json``), so a LiteLLM upgrade that adds a route is
checked without anyone listing it here.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from typing import Any

import httpx
import openai
import pytest

from litemaas.litellm_admin import (
    KEY_ALLOWED_ROUTES,
    LITELLM_USER_ROLE,
    USER_KEY_ROUTES,
    GenerateKeyRequest,
)
from tests.support.stack import CHAT, CHAT_2, GUARD, Api, api, chat, sdk, token_hash

pytestmark = pytest.mark.asyncio

Op = tuple[str, str]  # (method, path template as the proxy registers it)
_METHODS = ("get", "post", "put", "patch", "delete")
_CONCURRENCY = 16
_TIMEOUT_S = 10.0  # a refusal takes milliseconds; only a route that let the key in runs longer


async def _issued_key(login: Any, alias: str = "laptop", **limits: Any) -> tuple[Api, dict[str, Any], str]:
    user = api(await login())
    await user.subscribe(CHAT)
    created = await user.create_key([CHAT], alias=alias, **limits)
    return user, created, (await user.me())["user_id"]


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message", ""))
        return str(body.get("detail", body))
    return str(body)


def _error_type(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return str(error.get("type")) if isinstance(error, dict) else None


def refused(response: httpx.Response) -> bool:
    """LiteLLM turned the key away: 401/403, or a 400 LiteLLM itself labels an auth failure
    (it validates some pass-through bodies while authenticating, before the route check)."""
    return response.status_code in (401, 403) or (response.status_code == 400 and _error_type(response) == "auth_error")


def refused_for_the_route(response: httpx.Response) -> bool:
    """Refused because of who is calling (key, role, route) rather than what was asked."""
    text = _message(response).lower()
    return response.status_code == 401 or (
        response.status_code == 403
        and ("not allowed to call this route" in text or "only proxy admin" in text or "not allowed to access" in text)
    )


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


async def _registered_routes(proxy: httpx.AsyncClient, master_key: str) -> set[Op]:
    response = await proxy.get("/openapi.json", headers={"Authorization": f"Bearer {master_key}"})
    assert response.status_code == 200, response.text
    paths: dict[str, dict[str, Any]] = response.json()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item if method in _METHODS}


async def _call(proxy: httpx.AsyncClient, op: Op, key: str | None) -> httpx.Response:
    method, path = op
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {} if method in ("POST", "PUT", "PATCH") else None
    failure: httpx.HTTPError | None = None
    # A lazily loaded LiteLLM feature may drop the connections that raced its first import:
    # no answer yet, so ask again. A route still working after the timeout let the key in.
    for _ in range(3):
        try:
            return await proxy.request(method, _concrete(path), headers=headers, json=body, timeout=_TIMEOUT_S)
        except httpx.TimeoutException as exc:
            failure = exc
            break
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            failure = exc
    return httpx.Response(599, text=f"no answer: {type(failure).__name__}")


async def _call_all(proxy: httpx.AsyncClient, ops: set[Op], key: str | None) -> dict[Op, httpx.Response]:
    semaphore = asyncio.Semaphore(_CONCURRENCY)

    async def one(op: Op) -> tuple[Op, httpx.Response]:
        async with semaphore:
            return op, await _call(proxy, op, key)

    return dict(await asyncio.gather(*(one(op) for op in sorted(ops, key=lambda o: (o[1], o[0])))))


def _under_allowed_prefix(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in KEY_ALLOWED_ROUTES)


def _listing(responses: dict[Op, httpx.Response]) -> str:
    return "\n".join(
        f"  {status} {method} {path}: {text}"
        for (method, path), status, text in sorted(
            ((op, r.status_code, _message(r)[:120]) for op, r in responses.items()), key=lambda row: row[0][1]
        )
    )


async def test_every_proxy_route_outside_the_allowlist_refuses_a_user_key(login: Any, litellm_stack: Any) -> None:
    _, created, _ = await _issued_key(login, alias="matrix")
    async with httpx.AsyncClient(base_url=litellm_stack.proxy_url, timeout=30.0) as proxy:
        registered = await _registered_routes(proxy, litellm_stack.master_key)
        assert len(registered) > 300  # the whole table, not a stub

        # The allowlist names real routes, and LiteLLM's prefix matching of allowed_routes lets
        # nothing else through: a route an upgrade adds below an allowed prefix fails here.
        assert registered >= USER_KEY_ROUTES, sorted(USER_KEY_ROUTES - registered)
        below_prefixes = {op for op in registered if _under_allowed_prefix(op[1])}
        assert below_prefixes <= USER_KEY_ROUTES, sorted(below_prefixes - USER_KEY_ROUTES)

        started = time.monotonic()
        answers = await _call_all(proxy, registered, created["key"])
        got_through = {op: r for op, r in answers.items() if op not in USER_KEY_ROUTES and not refused(r)}
        # Routes that do not take LiteLLM keys at all (health, OAuth discovery, public model
        # hub, docs, services with their own credential) answer a key nobody issued just the
        # same: our key unlocks nothing there. Checked with a second call, with such a key,
        # only for the routes that let our key through.
        stranger = await _call_all(proxy, set(got_through), "sk-" + secrets.token_urlsafe(32))
        elapsed = time.monotonic() - started

    unlocked = {op: r for op, r in got_through.items() if refused(stranger[op])}
    assert not unlocked, f"a user key reaches routes outside the allowlist:\n{_listing(unlocked)}"
    blocked = {op: answers[op] for op in USER_KEY_ROUTES if refused_for_the_route(answers[op])}
    assert not blocked, f"allowlisted routes refuse a user key:\n{_listing(blocked)}"
    assert elapsed < 120, f"route matrix took {elapsed:.0f} s"


async def test_a_user_key_can_neither_mint_keys_nor_read_the_proxy(
    login: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    _, created, user_id = await _issued_key(login, rpm_limit=5, max_budget=0.5)
    other = api(await login())
    other_name = (await other.me())["username"]
    key = created["key"]
    attempts = [
        ("POST", "/key/generate", {}),
        ("POST", "/key/generate", {"models": [GUARD]}),  # restricted, never approved
        ("POST", "/key/generate", {"key_alias": f"{other_name}/laptop"}),  # squatting another user's alias
        ("POST", "/key/regenerate", {"key": key}),
        ("POST", "/key/update", {"key": key, "models": [], "rpm_limit": None}),
        ("GET", "/key/list", None),
        ("GET", "/key/info", None),
        ("GET", "/global/activity", None),
        ("GET", "/global/spend/keys", None),
        ("GET", "/spend/logs", None),
        ("GET", "/user/info", None),
        ("POST", "/user/new", {"user_id": "mallory"}),
        ("GET", "/user/daily/activity", None),
        ("POST", "/team/new", {}),
        ("POST", "/model/new", {"model_name": "x", "litellm_params": {"model": "openai/x"}}),
    ]
    async with httpx.AsyncClient(
        base_url=litellm_stack.proxy_url, timeout=30.0, headers={"Authorization": f"Bearer {key}"}
    ) as proxy:
        for method, path, body in attempts:
            response = await proxy.request(method, path, json=body)
            assert response.status_code in (401, 403), f"{method} {path}: {response.status_code} {response.text}"

    live = await litellm_admin.list_user_keys(user_id)
    assert [k.token for k in live] == [token_hash(key)]  # nothing was minted
    assert (await chat(sdk(litellm_stack, key))).choices  # and the key still does its job
    # The other user's own key creation is not disturbed by anything the first one tried.
    await other.subscribe(CHAT)
    await other.create_key([CHAT], alias="laptop")


async def test_keys_carry_the_allowlist_and_users_the_role_that_cannot_manage_keys(
    login: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    user, created, user_id = await _issued_key(login)
    assert sorted((await litellm_admin.key_info(token_hash(created["key"]))).allowed_routes) == sorted(
        KEY_ALLOWED_ROUTES
    )
    assert (await litellm_admin.user_info(user_id)).user_role == LITELLM_USER_ROLE

    rotated = (await user.call("POST", f"/keys/{created['id']}/rotate", 200)).json()
    assert sorted((await litellm_admin.key_info(token_hash(rotated["key"]))).allowed_routes) == sorted(
        KEY_ALLOWED_ROUTES
    )

    # Second line of defence: even a key of this user without allowed_routes (one issued before
    # the allowlist, until reconcile repairs it) cannot manage keys, because of the user's role.
    bare = "sk-" + secrets.token_urlsafe(32)
    await litellm_admin.generate_key(GenerateKeyRequest(key=bare, user_id=user_id, models=[CHAT], allowed_routes=[]))
    async with httpx.AsyncClient(
        base_url=litellm_stack.proxy_url, timeout=30.0, headers={"Authorization": f"Bearer {bare}"}
    ) as proxy:
        for method, path in (("POST", "/key/generate"), ("GET", "/global/activity"), ("POST", "/key/update")):
            response = await proxy.request(method, path, json={} if method == "POST" else None)
            assert response.status_code in (401, 403), f"{method} {path}: {response.status_code} {response.text}"
    assert (await chat(sdk(litellm_stack, bare))).choices
    await litellm_admin.delete_key(token_hash(bare))


async def test_capability_routes_still_work_for_user_keys(login: Any, litellm_stack: Any) -> None:
    _, created, _ = await _issued_key(login)
    client = sdk(litellm_stack, created["key"])
    assert [m.id for m in (await client.models.list()).data] == [CHAT]
    async with httpx.AsyncClient(
        base_url=litellm_stack.proxy_url, timeout=30.0, headers={"Authorization": f"Bearer {created['key']}"}
    ) as proxy:
        tokenized = await proxy.post("/v1/tokenize", json={"model": CHAT, "prompt": "hello world"})
        assert tokenized.status_code == 200, tokenized.text
        assert tokenized.json()["count"] > 0
        # Model access still applies on the capability routes.
        other = await proxy.post("/v1/tokenize", json={"model": CHAT_2, "prompt": "hello"})
        assert other.status_code in (401, 403), other.text


def _leaks(text: str, secrets_: list[str]) -> list[str]:
    found = []
    for secret in secrets_:
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if secret in text:
            found.append(f"secret …{secret[-4:]}")
        if digest in text:
            found.append(f"hash of …{secret[-4:]}")
    return found


async def test_error_bodies_never_carry_a_key_its_hash_or_the_master_key(
    login: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    admin = api(await login(role="admin"))
    user, limited, user_id = await _issued_key(login, alias="rpm", rpm_limit=1)
    revoked = await user.create_key([CHAT], alias="revoked")
    await user.call("POST", f"/keys/{revoked['id']}/revoke", 200)
    poor = await user.create_key([CHAT], alias="poor", max_budget=0.000001)
    master = litellm_stack.master_key
    keys = [limited["key"], revoked["key"], poor["key"]]
    answers: dict[str, httpx.Response] = {}
    async with httpx.AsyncClient(base_url=litellm_stack.proxy_url, timeout=30.0) as proxy:

        async def ask(
            label: str, key: str, method: str = "POST", path: str = "/v1/chat/completions", **kw: Any
        ) -> None:
            kw.setdefault("json", {"model": CHAT, "messages": [{"role": "user", "content": "hello " * 20}]})
            answers[label] = await proxy.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kw)

        await ask("ok", limited["key"])
        await ask("rate limited", limited["key"])
        await ask("route refused", poor["key"], "GET", "/key/info", json=None)
        await ask("model refused", poor["key"], json={"model": CHAT_2, "messages": [{"role": "user", "content": "x"}]})
        await ask("bad request", poor["key"], json={"model": CHAT})
        await ask("revoked key", revoked["key"])
        await ask("hash replayed", token_hash(poor["key"]))
        await ask("unknown key", "sk-" + secrets.token_urlsafe(32))
        await ask("master key in body", poor["key"], json={"model": CHAT, "api_key": master})
        await ask("spend", poor["key"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            await ask("budget", poor["key"])
            if answers["budget"].status_code == 429:
                break
            await asyncio.sleep(0.3)
        await admin.call("PUT", f"/admin/users/{user_id}/active", 200, json={"is_active": False})
        await ask("deactivated", poor["key"])

    expected = {
        "ok": 200,
        "rate limited": 429,
        "route refused": 403,
        "model refused": 403,
        "bad request": 400,
        "revoked key": 401,
        "hash replayed": 401,
        "unknown key": 401,
        "budget": 429,
        "deactivated": 401,
    }
    assert {label: answers[label].status_code for label in expected} == expected
    for label, response in answers.items():
        assert not _leaks(response.text, [*keys, master]), f"{label}: {response.status_code} {response.text}"
    # The refusals still say what happened.
    assert "rate limit" in _message(answers["rate limited"]).lower()
    assert "budget" in _message(answers["budget"]).lower()


async def test_exhausted_budget_raises_the_sdks_rate_limit_error(login: Any, litellm_stack: Any) -> None:
    _, created, _ = await _issued_key(login, alias="budget", max_budget=0.000001)
    client = sdk(litellm_stack, created["key"])
    await chat(client, text="spend " * 50)  # goes through and costs more than the budget
    deadline = time.monotonic() + 15
    error: openai.APIStatusError | None = None
    while error is None and time.monotonic() < deadline:
        try:
            await chat(client)
            await asyncio.sleep(0.3)
        except openai.APIStatusError as exc:
            error = exc
    assert isinstance(error, openai.RateLimitError), repr(error)
    assert error.status_code == 429
    assert "budget" in error.message.lower()


async def test_deactivation_blocks_keys_litemaas_did_not_issue(
    login: Any, litellm_stack: Any, litellm_admin: Any
) -> None:
    _, created, user_id = await _issued_key(login)
    # A key of this user that LiteMaaS never issued (minted at the proxy before the allowlist).
    minted = "sk-" + secrets.token_urlsafe(32)
    await litellm_admin.generate_key(GenerateKeyRequest(key=minted, user_id=user_id, models=[], allowed_routes=[]))
    assert (await chat(sdk(litellm_stack, minted))).choices

    admin = api(await login(role="admin"))
    await admin.call("PUT", f"/admin/users/{user_id}/active", 200, json={"is_active": False})
    for key in (created["key"], minted):
        with pytest.raises(openai.AuthenticationError):
            await chat(sdk(litellm_stack, key))
    audit = (
        await admin.call("GET", "/admin/audit", 200, params={"target_id": user_id, "action": "user.deactivate"})
    ).json()
    assert audit["items"][0]["after"]["litellm_keys_blocked"] == 2

    # Reactivation gives back only what LiteMaaS issued; reconcile then removes the other one.
    await admin.call("PUT", f"/admin/users/{user_id}/active", 200, json={"is_active": True})
    assert (await chat(sdk(litellm_stack, created["key"]))).choices
    with pytest.raises(openai.AuthenticationError):
        await chat(sdk(litellm_stack, minted))
    await admin.call("POST", "/admin/reconcile", 200)
    assert not await litellm_admin.key_exists(token_hash(minted))
