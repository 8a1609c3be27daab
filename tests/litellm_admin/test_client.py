"""The LiteLLM admin client against the real proxy: request/response shapes, errors, idempotency."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx
import openai
import pytest

from litemaas.litellm_admin import (
    NO_MODELS_SENTINEL,
    GenerateKeyRequest,
    LiteLLMAdminClient,
    LiteLLMNotFound,
    LiteLLMRejected,
    LiteLLMUnavailable,
    NewModelRequest,
    UserLimits,
    token_hash,
)
from tests.support.backend import free_port
from tests.support.stack import CHAT, CHAT_2, EMBED, GUARD, CuttableTransport, chat, sdk

pytestmark = pytest.mark.asyncio


def _secret() -> str:
    return "sk-" + secrets.token_urlsafe(32)


async def _key(client: LiteLLMAdminClient, user_id: str, models: list[str], **limits: Any) -> tuple[str, str]:
    secret = _secret()
    generated = await client.generate_key(
        GenerateKeyRequest(
            key=secret,
            user_id=user_id,
            models=models,
            key_alias=f"{user_id}/k-{uuid.uuid4().hex[:6]}",
            metadata={"managed_by": "litemaas", "litemaas_key_id": str(uuid.uuid4()), "litemaas_user_id": user_id},
            **limits,
        )
    )
    assert generated.key == secret
    assert generated.token_hash == token_hash(secret)
    return secret, token_hash(secret)


async def test_ensure_user_is_idempotent_and_sets_limits(litellm_admin: LiteLLMAdminClient) -> None:
    user_id = str(uuid.uuid4())
    await litellm_admin.ensure_user(user_id, alias="alice", email=f"{user_id}@example.com")
    await litellm_admin.ensure_user(user_id, alias="alice", email=f"{user_id}@example.com")
    info = await litellm_admin.user_info(user_id)
    assert info.user_id == user_id
    assert info.metadata.get("managed_by") == "litemaas"

    # Another user with a taken e-mail is still created (without it).
    other = str(uuid.uuid4())
    await litellm_admin.ensure_user(other, email=f"{user_id}@example.com")
    assert (await litellm_admin.user_info(other)).user_id == other

    await litellm_admin.update_user_limits(user_id, UserLimits(max_budget=5.0, tpm_limit=1000, rpm_limit=10))
    info = await litellm_admin.user_info(user_id)
    assert (info.max_budget, info.tpm_limit, info.rpm_limit) == (5.0, 1000, 10)
    # No key was auto-created for the user.
    assert await litellm_admin.list_user_keys(user_id) == []


async def test_users_are_created_with_a_role_that_cannot_manage_keys(litellm_admin: LiteLLMAdminClient) -> None:
    from litemaas.litellm_admin import LITELLM_USER_ROLE

    user_id = str(uuid.uuid4())
    await litellm_admin.ensure_user(user_id, alias="viewer")
    assert (await litellm_admin.user_info(user_id)).user_role == LITELLM_USER_ROLE == "internal_user_viewer"

    await litellm_admin.set_user_role(user_id, "internal_user")
    listed = {u.user_id: u.user_role async for u in litellm_admin.iter_users()}
    assert listed[user_id] == "internal_user"
    await litellm_admin.set_user_role(user_id, LITELLM_USER_ROLE)
    assert (await litellm_admin.user_info(user_id)).user_role == LITELLM_USER_ROLE


async def test_user_info_unknown_is_not_found(litellm_admin: LiteLLMAdminClient) -> None:
    with pytest.raises(LiteLLMNotFound):
        await litellm_admin.user_info(str(uuid.uuid4()))


async def test_key_lifecycle_shapes(litellm_admin: LiteLLMAdminClient, litellm_stack: Any) -> None:
    user_id = str(uuid.uuid4())
    await litellm_admin.ensure_user(user_id)
    secret, hashed = await _key(litellm_admin, user_id, [CHAT], rpm_limit=100, max_budget=3.0, soft_budget=1.0)

    info = await litellm_admin.key_info(hashed)
    assert info.models == [CHAT]
    assert info.user_id == user_id
    assert info.rpm_limit == 100 and info.max_budget == 3.0
    assert info.effective_soft_budget == 1.0
    assert info.metadata["managed_by"] == "litemaas"

    listed = await litellm_admin.list_user_keys(user_id)
    assert [k.token for k in listed] == [hashed]
    assert listed[0].metadata["litemaas_user_id"] == user_id

    client = sdk(litellm_stack, secret)
    assert (await chat(client)).choices[0].message.content
    with pytest.raises(openai.APIStatusError):
        await chat(client, model=CHAT_2)

    await litellm_admin.update_key(hashed, models=[CHAT_2], tpm_limit=5000)
    info = await litellm_admin.key_info(hashed)
    assert info.models == [CHAT_2] and info.tpm_limit == 5000
    assert (await chat(client, model=CHAT_2)).choices[0].message.content

    await litellm_admin.block_key(hashed)
    assert (await litellm_admin.key_info(hashed)).blocked is True
    with pytest.raises(openai.APIStatusError):
        await chat(client, model=CHAT_2)
    await litellm_admin.unblock_key(hashed)
    assert (await chat(client, model=CHAT_2)).choices[0].message.content

    await litellm_admin.delete_key(hashed)
    await litellm_admin.delete_key(hashed)  # already gone: still fine
    with pytest.raises(LiteLLMNotFound):
        await litellm_admin.key_info(hashed)
    assert not await litellm_admin.key_exists(hashed)
    with pytest.raises(openai.APIStatusError) as refused:
        await chat(client, model=CHAT_2)
    assert refused.value.status_code in (400, 401, 403)


async def test_empty_model_list_grants_nothing(litellm_admin: LiteLLMAdminClient, litellm_stack: Any) -> None:
    # LiteLLM reads models=[] as "every model": the client stores the no-models sentinel instead.
    user_id = str(uuid.uuid4())
    secret, hashed = await _key(litellm_admin, user_id, [CHAT])
    await litellm_admin.set_key_models(hashed, [])
    info = await litellm_admin.key_info(hashed)
    assert info.models == [NO_MODELS_SENTINEL] and info.granted_models == []
    client = sdk(litellm_stack, secret)
    for model in (CHAT, CHAT_2, EMBED, GUARD):
        with pytest.raises(openai.APIStatusError) as refused:
            await chat(client, model=model)
        assert refused.value.status_code in (401, 403)
    await litellm_admin.delete_key(hashed)


async def test_delete_keys_batch_with_missing_ones(litellm_admin: LiteLLMAdminClient) -> None:
    user_id = str(uuid.uuid4())
    _, first = await _key(litellm_admin, user_id, [CHAT])
    _, second = await _key(litellm_admin, user_id, [CHAT])
    await litellm_admin.delete_keys([first, token_hash(_secret()), second])
    assert await litellm_admin.list_user_keys(user_id) == []


async def test_reset_spend(litellm_admin: LiteLLMAdminClient, litellm_stack: Any) -> None:
    user_id = str(uuid.uuid4())
    _, hashed = await _key(litellm_admin, user_id, [CHAT])
    await litellm_admin.update_key(hashed, spend=1.25)
    assert (await litellm_admin.key_info(hashed)).spend == pytest.approx(1.25)
    await litellm_admin.reset_key_spend(hashed, 0.0)
    assert (await litellm_admin.key_info(hashed)).spend == 0.0
    await litellm_admin.delete_key(hashed)


async def test_list_pages_through_all_keys(litellm_admin: LiteLLMAdminClient) -> None:
    user_id = str(uuid.uuid4())
    hashes = {(await _key(litellm_admin, user_id, [CHAT]))[1] for _ in range(3)}
    page = await litellm_admin.list_keys_page(user_id=user_id, size=2)
    assert page.total_count == 3 and page.total_pages == 2 and len(page.keys) == 2
    seen = {k.token async for k in litellm_admin.iter_keys()}
    assert hashes <= seen
    await litellm_admin.delete_keys(sorted(hashes))


async def test_model_info_carries_catalog_metadata(litellm_admin: LiteLLMAdminClient) -> None:
    deployments = {d.model_name: d for d in await litellm_admin.model_info()}
    assert {CHAT, CHAT_2, EMBED, GUARD} <= set(deployments)
    guard = deployments[GUARD]
    assert guard.model_info["restricted"] is True
    assert guard.model_info["capabilities"] == ["safety"]
    assert guard.deployment_id
    assert "api_key" not in guard.litellm_params


async def test_model_create_update_delete(litellm_admin: LiteLLMAdminClient, litellm_stack: Any) -> None:
    name = f"client-test-{uuid.uuid4().hex[:8]}"
    created = await litellm_admin.new_model(
        NewModelRequest(
            model_name=name,
            litellm_params={"model": "hosted_vllm/x/y", "api_base": f"{litellm_stack.simulator_url}/v1"},
            model_info={"capabilities": ["chat"], "display_name": "X"},
        )
    )
    assert created.deployment_id
    listed = [d for d in await litellm_admin.model_info() if d.model_name == name]
    assert len(listed) == 1 and listed[0].stored_in_db
    await litellm_admin.update_model(created.deployment_id, model_info={"capabilities": ["chat"], "display_name": "Y"})
    listed = [d for d in await litellm_admin.model_info() if d.model_name == name]
    assert listed[0].model_info.get("display_name") == "Y"
    await litellm_admin.delete_model(created.deployment_id)
    await litellm_admin.delete_model(created.deployment_id)  # idempotent
    assert name not in {d.model_name for d in await litellm_admin.model_info()}


async def test_errors_map_to_the_exception_tree(litellm_admin: LiteLLMAdminClient, litellm_stack: Any) -> None:
    with pytest.raises(LiteLLMRejected) as rejected:
        await litellm_admin.generate_key(GenerateKeyRequest(key="not-an-sk-key-at-all", user_id="x", models=[CHAT]))
    assert rejected.value.status == 400
    with pytest.raises(LiteLLMNotFound):
        await litellm_admin.update_key(token_hash(_secret()), rpm_limit=1)

    bad_master = LiteLLMAdminClient(litellm_stack.proxy_url, "sk-wrong-master-key")
    try:
        with pytest.raises(LiteLLMRejected) as denied:
            await bad_master.list_keys_page()
        assert denied.value.status in (401, 403)
    finally:
        await bad_master.aclose()

    nowhere = LiteLLMAdminClient(f"http://127.0.0.1:{free_port()}", "sk-x", retries=1, retry_backoff=0.01)
    try:
        with pytest.raises(LiteLLMUnavailable):
            await nowhere.model_info()
        assert not await nowhere.ping()
    finally:
        await nowhere.aclose()
    assert await litellm_admin.ping()


async def test_idempotent_calls_are_retried_once_connection_returns(litellm_stack: Any) -> None:
    transport = CuttableTransport()
    client = LiteLLMAdminClient(
        litellm_stack.proxy_url, litellm_stack.master_key, transport=transport, retries=2, retry_backoff=0.01
    )
    try:
        # Down for good: exactly 1 + 2 retries, none of which reached the proxy.
        transport.cut()
        with pytest.raises(LiteLLMUnavailable):
            await client.model_info()
        assert transport.attempts == ["GET /model/info"] * 3
        assert transport.calls == []
        transport.restore()

        # A blip: the first two attempts fail, the connection is back for the third, which succeeds.
        transport.attempts.clear()
        transport.cut_after("/model/info", times=0, failures=2)
        assert CHAT in {d.model_name for d in await client.model_info()}
        assert transport.attempts == ["GET /model/info"] * 3
        assert transport.calls == ["GET /model/info"]

        # A call that is not idempotent is tried once only, even when a retry would have worked.
        transport.attempts.clear()
        transport.cut_after("/key/generate", times=0, failures=1)
        with pytest.raises(LiteLLMUnavailable):
            await client.generate_key(GenerateKeyRequest(key=_secret(), user_id=str(uuid.uuid4()), models=[CHAT]))
        assert transport.attempts == ["POST /key/generate"]
    finally:
        await client.aclose()
        await transport.aclose()


async def test_secret_never_in_client_repr() -> None:
    secret = _secret()
    request = GenerateKeyRequest(key=secret, user_id="u", models=[CHAT])
    assert secret not in repr(request)
    assert isinstance(httpx.Timeout(1.0), httpx.Timeout)
