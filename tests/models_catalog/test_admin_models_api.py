"""Admin model API for the console: test connection (SSRF rule), subscriber counts, delete cascade preview."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from litemaas.kit.url_policy import SourcePolicy
from litemaas.models_catalog.connection import probe_server
from litemaas.models_catalog.schemas import ConnectionTestIn
from tests.support.backend import free_port
from tests.support.stack import api, new_model

pytestmark = pytest.mark.asyncio

BACKEND_MODEL = "hosted_vllm/ibm-granite/granite-3.2-8b-instruct"


async def _probe(admin: Any, expect: int = 200, **body: Any) -> dict[str, Any]:
    response = await admin.call("POST", "/admin/models/test-connection", expect, json=body)
    result: dict[str, Any] = response.json()
    return result


async def test_connection_finds_the_model_on_the_simulator(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    base = f"{litellm_stack.simulator_url}/v1"
    found = await _probe(admin, api_base=base, model=BACKEND_MODEL)
    assert found == {"status": "found", "checked": "models", "http_status": 200}
    # Without the provider prefix too, and with a trailing slash.
    assert (await _probe(admin, api_base=base + "/", model="ibm-granite/granite-3.2-8b-instruct"))["status"] == "found"
    missing = await _probe(admin, api_base=base, model="hosted_vllm/nobody/no-such-model")
    assert missing["status"] == "not_found" and missing["checked"] == "models"
    # A wrong path: no model list there, no health check either.
    wrong = await _probe(admin, api_base=f"{litellm_stack.simulator_url}/nothing-here", model=BACKEND_MODEL)
    assert wrong["status"] == "not_found" and wrong["checked"] == "health"
    # Document conversion servers are checked through their health endpoint.
    docling = await _probe(admin, api_base=base, model="docling", model_type="document_conversion")
    assert docling["status"] == "reachable" and docling["checked"] == "health"


async def test_connection_reports_auth_errors_and_never_echoes_the_key(login: Any, litellm_stack: Any) -> None:
    """The real proxy is an OpenAI-compatible server that wants a key: a wrong one is an auth error."""
    admin = api(await login(role="admin"))
    secret = "sk-test-connection-secret-0123456789"
    verdict = await admin.call(
        "POST",
        "/admin/models/test-connection",
        200,
        json={"api_base": f"{litellm_stack.proxy_url}/v1", "model": BACKEND_MODEL, "api_key": secret},
    )
    assert verdict.json()["status"] == "auth_error"
    assert secret not in verdict.text


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "http://localhost:8100/v1",  # a local name, refused without a lookup
        "http://10.1.2.3:8000/v1",  # private
        "http://[::1]:8000/v1",  # loopback IPv6
        "http://0x7f.1:8000/v1",  # 127.0.0.1 as WHATWG parsers read it... allowed only through the allowlist
        "file:///etc/passwd",
        "http://user:pw@example.com/v1",
        "http://granite.models.svc:8000/v1",  # cluster-internal unless the operator allows *.svc
    ],
)
async def test_connection_refuses_what_the_ssrf_rule_refuses(login: Any, url: str) -> None:
    admin = api(await login(role="admin"))
    response = await admin.call("POST", "/admin/models/test-connection", json={"api_base": url, "model": "m"})
    if url.startswith("http://0x7f"):
        # In development the simulator's host (127.0.0.1) is allowed, whatever way it is written.
        assert response.status_code == 200, response.text
        assert response.json()["status"] in ("unreachable", "not_found")
        return
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "url_refused" and body["field"] == "api_base"


async def test_timeout_and_unreachable_are_told_apart() -> None:
    policy = SourcePolicy.from_entries(["127.0.0.1"])
    with socket.socket() as silent:
        # Accepts connections (backlog) and never answers.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        data = ConnectionTestIn(api_base=f"http://127.0.0.1:{port}/v1", model="m")
        started = asyncio.get_running_loop().time()
        verdict = await probe_server(data, source_policy=policy, timeout_s=0.5)
        assert verdict.status == "timeout"
        assert asyncio.get_running_loop().time() - started < 5
    closed = ConnectionTestIn(api_base=f"http://127.0.0.1:{free_port()}/v1", model="m")
    assert (await probe_server(closed, source_policy=policy, timeout_s=0.5)).status == "unreachable"


async def test_only_admins_may_test_connections(login: Any, litellm_stack: Any) -> None:
    body = {"api_base": f"{litellm_stack.simulator_url}/v1", "model": BACKEND_MODEL}
    for role in ("user", "admin_readonly"):
        who = api(await login(role=role))
        refused = await who.call("POST", "/admin/models/test-connection", 403, json=body)
        assert refused.json()["error"] == "forbidden"


async def test_counts_and_the_delete_cascade_are_shown_first(login: Any, litellm_stack: Any) -> None:
    admin = api(await login(role="admin"))
    readonly = api(await login(role="admin_readonly"))
    name = await new_model(admin, litellm_stack, prefix="cascade")
    user = api(await login())
    await user.subscribe(name)
    await user.create_key([name])

    listed = {m["name"]: m for m in (await admin.call("GET", "/admin/models", 200)).json()}
    assert listed[name]["subscribers"] == 1 and listed[name]["pending_subscriptions"] == 0
    assert (await admin.call("GET", f"/admin/models/{name}", 200)).json()["subscribers"] == 1

    impact = (await readonly.call("GET", f"/admin/model-impact/{name}", 200)).json()
    assert impact == {
        "name": name,
        "active_subscriptions": 1,
        "pending_subscriptions": 0,
        "denied_subscriptions": 0,
        "keys": 1,
    }
    await readonly.call("DELETE", f"/admin/models/{name}", 403)
    await admin.call("DELETE", f"/admin/models/{name}", 200)
    after = (await admin.call("GET", f"/admin/model-impact/{name}", 200)).json()
    # Subscriptions ended; the key keeps asking for the model, which LiteLLM no longer grants it.
    assert after["active_subscriptions"] == 0 and after["pending_subscriptions"] == 0
    await admin.call("GET", "/admin/model-impact/no-such-model", 404)
